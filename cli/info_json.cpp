// The JSON of flynet info (info_json.hpp).
#include "info_json.hpp"

#include <sstream>

namespace flynet::cli {

const char* const kStrictConvention =
    "strict: multiply-accumulates of conv, FC and the VA-ECA 1-D conv (MobileNetV3/MicroNet convention)";
const char* const kProfilerConvention =
    "profiler: strict + per element BN 2, activation 1, gate multiply 1, head reduction 2, add 1, "
    "global pool 1, SE scale 1 (flynet-architecture.md 4.1, fitted to the paper's tables)";

namespace {

// "KHxKW sS[xSW]", and the pads (top,left,bottom,right) when they are not the same on all sides.
std::string window_detail(const ConvGeom& c) {
  const bool even = c.pt == c.pl && c.pt == c.pb && c.pt == c.pr;
  return std::to_string(c.kh) + "x" + std::to_string(c.kw) + " s" + std::to_string(c.sh) +
         (c.sw != c.sh ? "x" + std::to_string(c.sw) : "") +
         (even ? "" : " p" + std::to_string(c.pt) + "," + std::to_string(c.pl) + "," + std::to_string(c.pb) + "," +
                          std::to_string(c.pr));
}

}  // namespace

std::string layer_detail(const Node& n) {
  switch (n.op) {
    case OpKind::conv2d: {
      const ConvGeom c = conv_geom(n);
      return window_detail(c) + (c.dil > 1 ? " d" + std::to_string(c.dil) : "") +
             (n.groups > 1 ? " g" + std::to_string(n.groups) : "");
    }
    case OpKind::max_pool: return window_detail(conv_geom(n));
    case OpKind::avg_pool: return window_detail(conv_geom(n)) + (n.count_pad ? " +pad" : "");
    case OpKind::dw_concat: return "3x3 s" + std::to_string(n.stride) + " x" + std::to_string(n.heads);
    case OpKind::activation:
      if (n.act == Act::leaky_relu) {
        std::ostringstream o;
        o << act_name(n.act) << ' ' << n.alpha;  // shortest form: "leaky_relu 0.1"
        return o.str();
      }
      return std::string(act_name(n.act));
    case OpKind::va_eca:
      return std::string(choice_name(kGateChoices, n.gate)) + " k" + std::to_string(n.eca_k) + " h" +
             std::to_string(n.heads);
    case OpKind::head_reduce: return std::string(choice_name(kReduceChoices, n.reduce)) + " h" + std::to_string(n.heads);
    default: return "";
  }
}

namespace {

nlohmann::json graph_json(const Graph& g, const GraphCount& c, const std::string& source) {
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
                      {"detail", layer_detail(n)},
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

nlohmann::json int8_json(const Int8ModelInfo& r, const std::string& source) {
  nlohmann::json ops = nlohmann::json::array();
  for (const Int8OpInfo& o : r.ops)
    ops.push_back({{"name", o.name}, {"op", o.op}, {"output", o.output}, {"weight_bytes", o.weight_bytes},
                   {"param_bytes", o.param_bytes}});
  nlohmann::json j{{"source", source}, {"kind", "int8"}, {"ops", ops}, {"weight_bytes", r.weight_bytes},
                   {"param_bytes", r.param_bytes}, {"arena_bytes", r.arena_bytes},
                   {"arena_lower_bound", r.arena_lower_bound}, {"meta", r.meta}};
  return j;
}

nlohmann::json fly_json(const FlyFileInfo& r, const std::string& source) {
  const FlyInfo& fi = r.file;
  const FlySizes& s = fi.sizes;
  nlohmann::json ops = nlohmann::json::array();
  for (const FlyOpInfo& o : r.ops)
    ops.push_back({{"name", o.name}, {"op", o.op}, {"output", o.output}, {"flash_bytes", o.flash_bytes},
                   {"weight_bits", o.weight_bits}, {"ram_bytes", o.ram_bytes}, {"scratch_bytes", o.scratch_bytes},
                   {"decode_bytes", o.decode_bytes}});
  nlohmann::json boxes = nlohmann::json::array(), by_bits = nlohmann::json::object();
  for (const FlyArenaBox& b : r.arena)
    boxes.push_back({{"name", b.name}, {"kind", b.kind}, {"first", b.first}, {"last", b.last}, {"offset", b.offset},
                     {"size", b.size}});
  for (const auto& [bits, bytes] : r.weight_bytes_by_bits) by_bits[std::to_string(bits)] = bytes;
  // ratio and within_budget are judged without the host info (FlySizes), as the text says.
  nlohmann::json j{{"source", source},
                   {"kind", "fly"},
                   {"ops", ops},
                   {"file_bytes", s.file},
                   {"flash", {{"weights", s.weights}, {"channel_params", s.channel_params},
                              {"other_constants", s.other_constants}, {"graph", s.graph}, {"plan", s.plan},
                              {"header", s.header}, {"padding", s.padding}, {"host_info", s.host_info},
                              {"weights_by_bits", by_bits}}},
                   {"lower_bound", s.lower_bound},
                   {"ratio", s.ratio()},
                   {"within_budget", s.within_budget()},
                   {"tflite_estimate_bytes", r.tflite.total()},
                   {"arena_bytes", fi.model.plan.arena_size},
                   {"arena_lower_bound", fi.model.plan.arena_lower_bound},
                   {"peak_live_bytes", r.peak_live_bytes},
                   {"table_bytes", fi.table_bytes},
                   {"plan", {{"buffers", boxes}}},
                   {"meta", fi.model.graph.meta}};
  return j;
}

}  // namespace

nlohmann::json info_json(const InfoReport& r) {
  if (const auto* f = std::get_if<FlyFileInfo>(&r.details)) return fly_json(*f, r.source);
  if (const auto* q = std::get_if<Int8ModelInfo>(&r.details)) return int8_json(*q, r.source);
  const GraphInfo& gi = std::get<GraphInfo>(r.details);
  return graph_json(gi.graph, gi.count, r.source);
}

}  // namespace flynet::cli
