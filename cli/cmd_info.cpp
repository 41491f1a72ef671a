// flynet info: parameters, MAdds (two conventions), output shapes, layer by layer.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "flynet/core/count.hpp"
#include "flynet/core/model.hpp"
#include "flynet/formats/error.hpp"
#include "flynet/formats/h5_store.hpp"
#include "flynet/formats/int_graph.hpp"
#include "flynet/formats/atomic_file.hpp"
#include "flynet/formats/tflite_size.hpp"
#include "flynet/quant/export.hpp"
#include "flynet/quant/fly_runner.hpp"
#include "flynet/quant/int_runner.hpp"
#include "flynet_format.h"

namespace flynet::cli {

namespace {

struct InfoOptions {
  std::string model;  // a .h5 model; empty: build from the architecture options
  ArchOptions arch;
  bool json = false;
};

constexpr const char* kStrictConvention =
    "strict: multiply-accumulates of conv, FC and the VA-ECA 1-D conv (MobileNetV3/MicroNet convention)";
constexpr const char* kProfilerConvention =
    "profiler: strict + per element BN 2, activation 1, gate multiply 1, head reduction 2, add 1, "
    "global pool 1, SE scale 1 (flynet-architecture.md 4.1, fitted to the paper's tables)";

std::string shape_text(const Shape& s) {
  return std::to_string(s.h) + "x" + std::to_string(s.w) + "x" + std::to_string(s.c);
}

std::string detail(const Node& n) {
  switch (n.op) {
    case OpKind::conv2d:
      return std::to_string(n.kernel) + "x" + std::to_string(n.kernel) + " s" + std::to_string(n.stride) +
             (n.groups > 1 ? " g" + std::to_string(n.groups) : "");
    case OpKind::dw_concat: return "3x3 s" + std::to_string(n.stride) + " x" + std::to_string(n.heads);
    case OpKind::activation: return std::string(act_name(n.act));
    case OpKind::va_eca:
      return std::string(choice_name(kGateChoices, n.gate)) + " k" + std::to_string(n.eca_k) + " h" +
             std::to_string(n.heads);
    case OpKind::head_reduce: return std::string(choice_name(kReduceChoices, n.reduce)) + " h" + std::to_string(n.heads);
    default: return "";
  }
}

nlohmann::json to_json(const Graph& g, const GraphCount& c, const std::string& source) {
  nlohmann::json j;
  j["source"] = source;
  j["arch"] = g.spec.to_map();
  j["summary"] = g.spec.summary();
  j["params"] = c.total.params;
  j["params_bn"] = c.total.params_bn;
  j["madds_strict"] = c.total.madds_strict;
  j["madds_profiler"] = c.total.madds_profiler;
  j["conventions"] = {{"params", "conv/FC weights + FC biases + VA-ECA weights, no BN (the paper's)"},
                      {"params_bn", "params + BN gamma and beta (torchvision's)"},
                      {"madds_strict", kStrictConvention},
                      {"madds_profiler", kProfilerConvention}};
  nlohmann::json layers = nlohmann::json::array();
  for (const LayerCount& l : c.layers) {
    const Node& n = g.nodes[size_t(l.node)];
    layers.push_back({{"name", n.name},
                      {"op", op_name(n.op)},
                      {"detail", detail(n)},
                      {"block", n.block},
                      {"output", {n.out.h, n.out.w, n.out.c}},
                      {"params", l.params},
                      {"params_bn", l.params_bn},
                      {"madds_strict", l.madds_strict},
                      {"madds_profiler", l.madds_profiler}});
  }
  j["layers"] = std::move(layers);
  return j;
}

void print_table(const Graph& g, const GraphCount& c, const std::string& source) {
  std::printf("model: %s\n", g.spec.summary().c_str());
  std::printf("source: %s\n\n", source.c_str());
  std::printf("%-18s %-16s %-16s %-11s %10s %10s %12s %12s\n", "layer", "op", "detail", "output", "params",
              "params+bn", "madds-strict", "madds-prof");
  for (const LayerCount& l : c.layers) {
    const Node& n = g.nodes[size_t(l.node)];
    std::printf("%-18s %-16s %-16s %-11s %10lld %10lld %12lld %12lld\n", n.name.c_str(),
                std::string(op_name(n.op)).c_str(), detail(n).c_str(), shape_text(n.out).c_str(),
                (long long)l.params, (long long)l.params_bn, (long long)l.madds_strict, (long long)l.madds_profiler);
  }
  std::printf("\n");
  std::printf("params (no BN, the paper's):   %12lld  (%.3f M)\n", (long long)c.total.params, c.total.params / 1e6);
  std::printf("params (with BN, torchvision): %12lld  (%.3f M)\n", (long long)c.total.params_bn,
              c.total.params_bn / 1e6);
  std::printf("MAdds strict:                  %12lld  (%.2f M)\n", (long long)c.total.madds_strict,
              c.total.madds_strict / 1e6);
  std::printf("MAdds profiler:                %12lld  (%.2f M)\n", (long long)c.total.madds_profiler,
              c.total.madds_profiler / 1e6);
  std::printf("\n%s\n%s\n", kStrictConvention, kProfilerConvention);
}

// An int8 model (flynet quantize): its ops, weight bytes and the planned arena.
void int8_info(const IntGraph& g, const std::string& source, bool json) {
  const IntRunner runner(g);
  const ArenaPlan& plan = runner.plan();
  int64_t weights = 0, params = 0;
  nlohmann::json ops = nlohmann::json::array();
  if (!json) std::printf("int8 model: %s\n\n%-26s %-5s %-14s %10s %10s\n", source.c_str(), "op", "code", "output", "weights", "params");
  for (const IntOp& op : g.ops) {
    int64_t w = 0, p = 0;
    for (int32_t t : op.inputs)
      if (t >= 0 && g.tensors[size_t(t)].constant())
        (g.tensors[size_t(t)].type == FLYNET_TYPE_INT8 ? w : p) += int64_t(g.tensors[size_t(t)].bytes());
    weights += w;
    params += p;
    const auto& d = g.tensors[size_t(op.outputs[0])].dims;
    const std::string out = std::to_string(d[1]) + "x" + std::to_string(d[2]) + "x" + std::to_string(d[3]);
    if (json)
      ops.push_back({{"name", op.name}, {"op", op.op}, {"output", {d[1], d[2], d[3]}}, {"weight_bytes", w}, {"param_bytes", p}});
    else
      std::printf("%-26s %-5d %-14s %10lld %10lld\n", op.name.c_str(), op.op, out.c_str(), (long long)w, (long long)p);
  }
  if (json) {
    nlohmann::json j{{"source", source}, {"kind", "int8"}, {"ops", ops}, {"weight_bytes", weights}, {"param_bytes", params},
                     {"arena_bytes", plan.arena_size}, {"arena_lower_bound", plan.lower_bound}, {"meta", g.meta}};
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::printf("\nweights (int8):                 %10lld bytes\n", (long long)weights);
  std::printf("bias, multipliers, shifts:      %10lld bytes\n", (long long)params);
  std::printf("activation arena (planned):     %10llu bytes (lower bound %llu)\n", (unsigned long long)plan.arena_size,
              (unsigned long long)plan.lower_bound);
}

// A .fly file (flynet export): per op its stored constants and the RAM alive while it runs;
// the flash breakdown against the lower bound, the same model as .tflite, the arena plan.
void fly_file_info(const std::string& bytes, const std::string& source, bool json) {
  const FlyInfo fi = fly_info(bytes, source);
  const IntGraph& g = fi.model.graph;
  const FlySizes& s = fi.sizes;
  const FlyRunner runner(bytes, source);  // the C reader's view: scratch and decode sizes
  const std::vector<ArenaBuffer> life = activation_lifetimes(g);
  auto stored = [&](int32_t t) -> uint64_t {
    const IntTensor& x = g.tensors[size_t(t)];
    const FlyStorage& st = fi.model.storage[size_t(t)];
    const uint64_t n = uint64_t(x.numel());
    switch (st.storage) {
      case FLYNET_STORAGE_PACKED: return (uint64_t(1) << st.bits) + (n * uint64_t(st.bits) + 7) / 8;
      case FLYNET_STORAGE_S8: return n;
      case FLYNET_STORAGE_S16: return 2 * n;
      case FLYNET_STORAGE_RAW: return x.bytes();
      default: return 0;
    }
  };
  nlohmann::json ops = nlohmann::json::array();
  if (!json)
    std::printf(".fly model: %s (version %u.%u%s)\n\n%-28s %-4s %-12s %9s %5s %9s %9s\n", source.c_str(),
                fi.model.version_major, fi.model.version_minor, fi.model.host_info ? ", host info" : "", "op", "code",
                "output", "flash", "bits", "ram", "scratch");
  uint64_t peak = 0;
  for (size_t k = 0; k < g.ops.size(); ++k) {
    const IntOp& op = g.ops[k];
    uint64_t flash = 0;
    int bits = 0;
    for (int32_t t : op.inputs)
      if (t >= 0 && g.tensors[size_t(t)].constant()) {
        flash += stored(t);
        if (g.tensors[size_t(t)].type == FLYNET_TYPE_INT8 && bits == 0)
          bits = fi.model.storage[size_t(t)].storage == FLYNET_STORAGE_PACKED ? fi.model.storage[size_t(t)].bits : 8;
      }
    const flyref_node& nd = runner.graph().nodes[k];
    uint64_t ram = uint64_t(nd.scratch_size) + nd.decode_size;
    for (const ArenaBuffer& b : life)
      if (b.size && b.first <= int(k) && int(k) <= b.last) ram += b.size;
    peak = std::max(peak, ram);
    const auto& d = g.tensors[size_t(op.outputs[0])].dims;
    const std::string name = op.name.empty() ? "op" + std::to_string(k) : op.name;
    const std::string out = std::to_string(d[1]) + "x" + std::to_string(d[2]) + "x" + std::to_string(d[3]);
    if (json)
      ops.push_back({{"name", name}, {"op", op.op}, {"output", {d[1], d[2], d[3]}}, {"flash_bytes", flash},
                     {"weight_bits", bits}, {"ram_bytes", ram}, {"scratch_bytes", nd.scratch_size},
                     {"decode_bytes", nd.decode_size}});
    else
      std::printf("%-28s %-4d %-12s %9llu %5s %9llu %9llu\n", name.c_str(), op.op, out.c_str(), (unsigned long long)flash,
                  bits ? std::to_string(bits).c_str() : "", (unsigned long long)ram,
                  (unsigned long long)(nd.scratch_size + nd.decode_size));
  }
  const TfliteSize tfl = estimate_tflite_size(g);
  if (json) {
    nlohmann::json j{{"source", source},
                     {"kind", "fly"},
                     {"ops", ops},
                     {"file_bytes", s.file},
                     {"flash", {{"weights", s.weights}, {"channel_params", s.channel_params},
                                {"other_constants", s.other_constants}, {"graph", s.graph}, {"plan", s.plan},
                                {"header", s.header}, {"padding", s.padding}, {"host_info", s.host_info}}},
                     {"lower_bound", s.lower_bound},
                     {"ratio", s.ratio()},
                     {"within_budget", s.within_budget()},
                     {"tflite_estimate_bytes", tfl.total()},
                     {"arena_bytes", fi.model.plan.arena_size},
                     {"arena_lower_bound", fi.model.plan.arena_lower_bound},
                     {"peak_live_bytes", peak},
                     {"table_bytes", fi.table_bytes},
                     {"meta", g.meta}};
    std::cout << j.dump(2) << "\n";
    return;
  }
  auto line = [](const char* what, uint64_t v) { std::printf("  %-34s %10llu bytes\n", what, (unsigned long long)v); };
  std::printf("\nflash: %llu bytes\n", (unsigned long long)s.file);
  line("weights (as stored)", s.weights);
  line("per-channel bias, multiplier, shift", s.channel_params);
  line("other constants", s.other_constants);
  line("graph (tensor and op records)", s.graph);
  line("plan", s.plan);
  line("header and section table", s.header);
  line("alignment padding", s.padding);
  if (s.host_info) line("host info (not read by the device)", s.host_info);
  // The budget is about what the device keeps in flash: host info is for host tools only.
  const uint64_t device = s.file - s.host_info;
  std::printf("  lower bound %llu bytes (weights %llu + per-channel %llu): ratio %.3f%s, %s 1.05 x bound + 4 KB\n",
              (unsigned long long)s.lower_bound, (unsigned long long)s.lower_bound_weights,
              (unsigned long long)s.lower_bound_channel_params,
              s.lower_bound ? double(device) / double(s.lower_bound) : 0.0, s.host_info ? " without host info" : "",
              double(device) <= 1.05 * double(s.lower_bound) + 4096.0 ? "within" : "OVER");
  std::printf("  the same int8 model as .tflite: >= %llu bytes (estimate: weights at 8 bits, per-channel float scales "
              "and int64 zero points, FlatBuffer tables)\n",
              (unsigned long long)tfl.total());
  std::printf("RAM: arena %u bytes (plan), lower bound %u, peak live %llu; loader tables %llu bytes\n",
              fi.model.plan.arena_size, fi.model.plan.arena_lower_bound, (unsigned long long)peak,
              (unsigned long long)fi.table_bytes);
}

void run_info(const InfoOptions& o, const CLI::App& sub) {
  Graph g;
  std::string source;
  if (!o.model.empty()) {
    if (o.arch.any_given(sub))
      throw Error(ErrorCode::usage, "give either a model file or architecture options, not both");
    {
      // A .fly file by its magic; everything else goes to the HDF5 store (which names the problem).
      std::ifstream f(o.model, std::ios::binary);
      char magic[4] = {};
      if (f.read(magic, 4) && std::string(magic, 4) == "FLYN") return fly_file_info(read_file_bytes(o.model), o.model, o.json);
    }
    const ModelRecord rec = load_model_h5(o.model);
    if (is_int_graph(rec)) return int8_info(int_graph_from_record(rec, o.model), o.model, o.json);
    g = Model::from_record(rec, o.model).graph;
    source = o.model;
  } else {
    g = build_graph(o.arch.spec());
    source = "architecture options";
  }
  const GraphCount c = count_graph(g);
  if (o.json)
    std::cout << to_json(g, c, source).dump(2) << "\n";
  else
    print_table(g, c, source);
}

}  // namespace

void setup_info(CLI::App& app) {
  auto opt = std::make_shared<InfoOptions>();
  CLI::App* sub = app.add_subcommand("info", "parameters, MAdds, shapes of a model, layer by layer");
  sub->add_option("model", opt->model, "a flynet model (.h5); without it, the architecture options describe the model")
      ->option_text("MODEL");
  add_arch_options(*sub, opt->arch);
  sub->add_flag("--json", opt->json, "print one JSON object instead of the table");
  sub->callback([opt, sub]() { run_info(*opt, *sub); });
}

}  // namespace flynet::cli
