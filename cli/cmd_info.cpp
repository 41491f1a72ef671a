// flynet info: parameters, MAdds (two conventions), output shapes, layer by layer; for int8
// models and .fly files their bytes, flash and RAM. Thin: options -> model_info() / graph_info()
// -> the report as a table or JSON.
#include <array>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "flynet/formats/error.hpp"
#include "flynet/quant/info.hpp"

namespace flynet::cli {

namespace {

struct InfoOptions {
  std::string model;  // a .h5 model; empty: build from the architecture options
  ArchRequest arch;
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

std::string hwc_text(const std::array<int32_t, 3>& d) {
  return std::to_string(d[0]) + "x" + std::to_string(d[1]) + "x" + std::to_string(d[2]);
}

std::string detail(const Node& n) {
  switch (n.op) {
    case OpKind::conv2d: {
      const ConvGeom c = conv_geom(n);
      return std::to_string(c.kh) + "x" + std::to_string(c.kw) + " s" + std::to_string(c.sh) +
             (c.sw != c.sh ? "x" + std::to_string(c.sw) : "") + (c.dil > 1 ? " d" + std::to_string(c.dil) : "") +
             (n.groups > 1 ? " g" + std::to_string(n.groups) : "");
    }
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
void print_int8(const Int8ModelInfo& r, const std::string& source, bool json) {
  if (json) {
    nlohmann::json ops = nlohmann::json::array();
    for (const Int8OpInfo& o : r.ops)
      ops.push_back({{"name", o.name}, {"op", o.op}, {"output", o.output}, {"weight_bytes", o.weight_bytes},
                     {"param_bytes", o.param_bytes}});
    nlohmann::json j{{"source", source}, {"kind", "int8"}, {"ops", ops}, {"weight_bytes", r.weight_bytes},
                     {"param_bytes", r.param_bytes}, {"arena_bytes", r.arena_bytes},
                     {"arena_lower_bound", r.arena_lower_bound}, {"meta", r.meta}};
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::printf("int8 model: %s\n\n%-26s %-5s %-14s %10s %10s\n", source.c_str(), "op", "code", "output", "weights", "params");
  for (const Int8OpInfo& o : r.ops)
    std::printf("%-26s %-5d %-14s %10lld %10lld\n", o.name.c_str(), o.op, hwc_text(o.output).c_str(),
                (long long)o.weight_bytes, (long long)o.param_bytes);
  std::printf("\nweights (int8):                 %10lld bytes\n", (long long)r.weight_bytes);
  std::printf("bias, multipliers, shifts:      %10lld bytes\n", (long long)r.param_bytes);
  std::printf("activation arena (planned):     %10llu bytes (lower bound %llu)\n", (unsigned long long)r.arena_bytes,
              (unsigned long long)r.arena_lower_bound);
}

// A .fly file (flynet export): per op its stored constants and the RAM alive while it runs;
// the flash breakdown against the lower bound, the same model as .tflite, the arena plan.
void print_fly(const FlyFileInfo& r, const std::string& source, bool json) {
  const FlyInfo& fi = r.file;
  const FlySizes& s = fi.sizes;
  if (json) {
    nlohmann::json ops = nlohmann::json::array();
    for (const FlyOpInfo& o : r.ops)
      ops.push_back({{"name", o.name}, {"op", o.op}, {"output", o.output}, {"flash_bytes", o.flash_bytes},
                     {"weight_bits", o.weight_bits}, {"ram_bytes", o.ram_bytes}, {"scratch_bytes", o.scratch_bytes},
                     {"decode_bytes", o.decode_bytes}});
    // ratio and within_budget are judged without the host info (FlySizes), as the text says.
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
                     {"tflite_estimate_bytes", r.tflite.total()},
                     {"arena_bytes", fi.model.plan.arena_size},
                     {"arena_lower_bound", fi.model.plan.arena_lower_bound},
                     {"peak_live_bytes", r.peak_live_bytes},
                     {"table_bytes", fi.table_bytes},
                     {"meta", fi.model.graph.meta}};
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::printf(".fly model: %s (version %u.%u%s)\n\n%-28s %-4s %-12s %9s %5s %9s %9s\n", source.c_str(),
              fi.model.version_major, fi.model.version_minor, fi.model.host_info ? ", host info" : "", "op", "code",
              "output", "flash", "bits", "ram", "scratch");
  for (const FlyOpInfo& o : r.ops)
    std::printf("%-28s %-4d %-12s %9llu %5s %9llu %9llu\n", o.name.c_str(), o.op, hwc_text(o.output).c_str(),
                (unsigned long long)o.flash_bytes, o.weight_bits ? std::to_string(o.weight_bits).c_str() : "",
                (unsigned long long)o.ram_bytes, (unsigned long long)(o.scratch_bytes + o.decode_bytes));
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
  std::printf("  lower bound %llu bytes (weights %llu + per-channel %llu): ratio %.3f%s, %s 1.05 x bound + 4 KB\n",
              (unsigned long long)s.lower_bound, (unsigned long long)s.lower_bound_weights,
              (unsigned long long)s.lower_bound_channel_params, s.ratio(), s.host_info ? " without host info" : "",
              s.within_budget() ? "within" : "OVER");
  std::printf("  the same int8 model as .tflite: >= %llu bytes (estimate: weights at 8 bits, per-channel float scales "
              "and int64 zero points, FlatBuffer tables)\n",
              (unsigned long long)r.tflite.total());
  std::printf("RAM: arena %u bytes (plan), lower bound %u, peak live %llu; loader tables %llu bytes\n",
              fi.model.plan.arena_size, fi.model.plan.arena_lower_bound, (unsigned long long)r.peak_live_bytes,
              (unsigned long long)fi.table_bytes);
}

void run_info(const InfoOptions& o, const CLI::App& sub) {
  if (!o.model.empty() && arch_options_given(sub))
    throw Error(ErrorCode::usage, "give either a model file or architecture options, not both");
  const InfoReport r = o.model.empty() ? graph_info(build_graph(o.arch.spec()), "architecture options")
                                       : model_info(o.model);
  if (const auto* f = std::get_if<FlyFileInfo>(&r.details)) return print_fly(*f, r.source, o.json);
  if (const auto* q = std::get_if<Int8ModelInfo>(&r.details)) return print_int8(*q, r.source, o.json);
  const GraphInfo& gi = std::get<GraphInfo>(r.details);
  if (o.json)
    std::cout << to_json(gi.graph, gi.count, r.source).dump(2) << "\n";
  else
    print_table(gi.graph, gi.count, r.source);
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
