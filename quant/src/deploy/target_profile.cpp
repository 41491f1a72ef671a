#include "flynet/quant/target_profile.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>

#include "flynet/formats/error.hpp"
#include "flynet/quant/fly_runner.hpp"

namespace flynet {

namespace {

const char* op_name(int32_t op) {
  static const char* const names[] = {"invalid", "conv2d", "depthwise", "fully_connected", "add", "mul", "maximum",
                                      "avg_pool", "max_pool", "softmax", "hard_swish", "logistic", "hard_sigmoid",
                                      "concat", "channel_gather", "requantize", "vaeca_descriptor", "eca_conv1d",
                                      "max_group", "leaky_relu"};
  static_assert(sizeof names / sizeof names[0] == FLYNET_OP_COUNT, "one name per flynet_op");
  return op >= 0 && op < FLYNET_OP_COUNT ? names[op] : "unknown";
}

int64_t elements(const flyref_dims& d) { return int64_t(d.n) * d.h * d.w * d.c; }

const flyref_dims& in_dims(const flyref_graph& g, const flyref_node& n, int i) { return g.tensors[n.inputs[i]].dims; }
const flyref_dims& out_dims(const flyref_graph& g, const flyref_node& n) { return g.tensors[n.outputs[0]].dims; }

int64_t node_macs(const flyref_graph& g, const flyref_node& n) {
  switch (n.op) {
    case FLYNET_OP_CONV2D: {
      const flyref_dims& w = in_dims(g, n, 1);  // [C_OUT, KH, KW, C_IN / groups]
      return elements(out_dims(g, n)) * w.h * w.w * w.c;
    }
    case FLYNET_OP_DEPTHWISE_CONV2D: {
      const flyref_dims& w = in_dims(g, n, 1);  // [1, KH, KW, C_OUT]
      return elements(out_dims(g, n)) * w.h * w.w;
    }
    case FLYNET_OP_FULLY_CONNECTED: {
      const flyref_dims& w = in_dims(g, n, 1);  // [C_OUT, 1, 1, K]
      return elements(out_dims(g, n)) * w.h * w.w * w.c;
    }
    case FLYNET_OP_ECA_CONV1D: {
      const flyref_dims& w = in_dims(g, n, 2);  // [1, 1, K, 2]: a K-tap kernel for mean and for std
      return elements(out_dims(g, n)) * w.w * w.c;
    }
    default:
      return 0;
  }
}

std::string kind_of(const flyref_graph& g, const flyref_node& n) {
  std::string s = op_name(n.op);
  if (n.op == FLYNET_OP_CONV2D || n.op == FLYNET_OP_DEPTHWISE_CONV2D) {
    const flyref_dims& w = in_dims(g, n, 1);
    s += " " + std::to_string(w.h) + "x" + std::to_string(w.w);
    if (n.op == FLYNET_OP_DEPTHWISE_CONV2D) {
      const int32_t cin = in_dims(g, n, 0).c;
      s += " m" + std::to_string(cin > 0 ? out_dims(g, n).c / cin : 0);
    }
  }
  return s;
}

std::string layer_of(const flyref_graph& g, const flyref_node& n) {
  const flyref_dims& o = out_dims(g, n);
  std::string s = kind_of(g, n);
  if (n.op == FLYNET_OP_CONV2D || n.op == FLYNET_OP_DEPTHWISE_CONV2D) {
    const auto* p = static_cast<const flynet_conv2d_params*>(n.params);
    s += " s" + std::to_string(p ? p->stride_h : 0) + " " + std::to_string(o.h) + "x" + std::to_string(o.w) + " " +
         std::to_string(in_dims(g, n, 0).c) + "->" + std::to_string(o.c);
  } else if (n.op == FLYNET_OP_FULLY_CONNECTED) {
    s += " " + std::to_string(elements(in_dims(g, n, 0)) / std::max(1, o.n)) + "->" + std::to_string(o.c);
  } else {
    const flyref_dims& i = in_dims(g, n, 0);
    s += " " + std::to_string(i.h) + "x" + std::to_string(i.w) + "x" + std::to_string(i.c);
    if (i.h != o.h || i.w != o.w || i.c != o.c)
      s += "->" + std::to_string(o.h) + "x" + std::to_string(o.w) + "x" + std::to_string(o.c);
  }
  return s;
}

// "key=<unsigned>" in `line` after position `from`; false when absent or not a number.
bool field(const std::string& line, const char* key, uint64_t* v) {
  const std::string k = std::string(" ") + key + "=";
  const size_t p = line.find(k);
  if (p == std::string::npos) return false;
  const char* s = line.c_str() + p + k.size();
  char* end = nullptr;
  *v = std::strtoull(s, &end, 10);
  return end != s;
}

// The leading unsigned number after `prefix` ("node 12 ..." -> 12).
bool index_after(const std::string& line, const char* prefix, uint64_t* v) {
  const size_t n = std::char_traits<char>::length(prefix);
  if (line.compare(0, n, prefix) != 0) return false;
  const char* s = line.c_str() + n;
  char* end = nullptr;
  *v = std::strtoull(s, &end, 10);
  return end != s;
}

}  // namespace

int64_t fly_node_macs(std::string_view model, int32_t node) {
  FlyRunner r(model);
  const flyref_graph& g = r.graph();
  if (node < 0 || node >= g.num_nodes)
    throw Error(ErrorCode::usage, "node " + std::to_string(node) + " out of range (the model has " +
                                      std::to_string(g.num_nodes) + " nodes)");
  return node_macs(g, g.nodes[node]);
}

TargetProfile parse_target_profile(std::string_view transcript, std::string_view model, double instructions_per_tick,
                                   const std::vector<uint64_t>& whole) {
  FlyRunner runner(model);
  const flyref_graph& g = runner.graph();
  const size_t nn = size_t(g.num_nodes);
  std::vector<double> node_ticks(nn, 0.0);
  double empty_ticks = 0;
  int64_t samples = 0;
  size_t next = nn;  // the node line expected next; nn: a "profile" line
  auto bad = [](const std::string& what) {
    throw Error(ErrorCode::format, "the firmware's profile does not match the model: " + what);
  };

  std::istringstream in{std::string(transcript)};
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    uint64_t idx = 0, v = 0, op = 0;
    if (index_after(line, "profile ", &idx)) {
      if (next != nn) bad("image " + std::to_string(samples - 1) + " has " + std::to_string(next) + " of " +
                          std::to_string(nn) + " node lines");
      if (idx != uint64_t(samples) || !field(line, "empty_ticks", &v)) bad("line '" + line + "'");
      empty_ticks += double(v);
      ++samples;
      next = 0;
    } else if (index_after(line, "node ", &idx)) {
      if (next >= nn || idx != next || !field(line, "op", &op) || !field(line, "ticks", &v))
        bad("line '" + line + "'");
      if (int64_t(op) != g.nodes[next].op)
        bad("node " + std::to_string(next) + " is " + op_name(int32_t(op)) + " on the target, " +
            op_name(g.nodes[next].op) + " in the file");
      node_ticks[next] += double(v);
      ++next;
    }
  }
  if (samples == 0) bad("no profile lines");
  if (next != nn) bad("the last image has " + std::to_string(next) + " of " + std::to_string(nn) + " node lines");

  TargetProfile p;
  p.samples = samples;
  const double per_image = instructions_per_tick / double(samples);
  p.overhead = empty_ticks * per_image;
  std::map<std::string, KindProfile> kinds;
  for (size_t k = 0; k < nn; ++k) {
    const flyref_node& n = g.nodes[k];
    NodeProfile np;
    np.node = int32_t(k);
    np.op = n.op;
    np.kind = kind_of(g, n);
    np.layer = layer_of(g, n);
    // Each node's ticks include one empty call's worth; its mean is subtracted per image.
    np.instructions = (node_ticks[k] - empty_ticks) * per_image;
    np.macs = node_macs(g, n);
    KindProfile& kp = kinds[np.kind];
    kp.kind = np.kind;
    kp.nodes += 1;
    kp.instructions += np.instructions;
    kp.macs += np.macs;
    p.node_instructions += np.instructions;
    p.macs += np.macs;
    p.nodes.push_back(std::move(np));
  }
  for (auto& [k, v] : kinds) p.kinds.push_back(v);
  std::stable_sort(p.kinds.begin(), p.kinds.end(),
                   [](const KindProfile& a, const KindProfile& b) { return a.instructions > b.instructions; });
  if (!whole.empty()) {
    double s = 0;
    for (uint64_t w : whole) s += double(w);
    p.whole = s / double(whole.size());
  }
  return p;
}

std::string format_target_profile(const TargetProfile& p) {
  std::string out;
  char b[256];
  auto per_mac = [](double instr, int64_t macs) {
    char s[32] = "-";
    if (macs > 0) std::snprintf(s, sizeof s, "%.2f", instr / double(macs));
    return std::string(s);
  };
  const double total = p.node_instructions > 0 ? p.node_instructions : 1;
  std::snprintf(b, sizeof b,
                "  per-op profile, instructions per inference (mean of %lld images; each node without the "
                "%.0f of a call's graph check):\n",
                (long long)p.samples, p.overhead);
  out += b;
  std::snprintf(b, sizeof b, "  %5s  %-36s %13s %7s %11s %10s\n", "node", "layer", "instructions", "share", "MACs",
                "instr/MAC");
  out += b;
  for (const NodeProfile& n : p.nodes) {
    std::snprintf(b, sizeof b, "  %5d  %-36s %13.0f %6.1f%% %11lld %10s\n", n.node, n.layer.c_str(), n.instructions,
                  100 * n.instructions / total, (long long)n.macs, per_mac(n.instructions, n.macs).c_str());
    out += b;
  }
  out += "  by op kind:\n";
  std::snprintf(b, sizeof b, "  %-24s %5s %13s %7s %11s %10s\n", "op kind", "nodes", "instructions", "share", "MACs",
                "instr/MAC");
  out += b;
  for (const KindProfile& k : p.kinds) {
    std::snprintf(b, sizeof b, "  %-24s %5d %13.0f %6.1f%% %11lld %10s\n", k.kind.c_str(), k.nodes, k.instructions,
                  100 * k.instructions / total, (long long)k.macs, per_mac(k.instructions, k.macs).c_str());
    out += b;
  }
  std::snprintf(b, sizeof b,
                "  whole model: %.0f instructions per inference (nodes %.0f + graph check %.0f), %lld MACs, %s "
                "instructions per MAC\n",
                p.whole, p.node_instructions, p.overhead, (long long)p.macs, per_mac(p.whole, p.macs).c_str());
  out += b;
  return out;
}

}  // namespace flynet
