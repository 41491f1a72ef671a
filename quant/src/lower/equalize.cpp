#include "flynet/quant/equalize.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "flynet/core/fold_bn.hpp"
#include "flynet/core/model_state.hpp"
#include "flynet/formats/error.hpp"

namespace flynet {

namespace {

bool is_layer(const Node& n) { return n.op == OpKind::conv2d || n.op == OpKind::linear; }

// The weight as the int8 lowering sees it: folded with its BN if it has one.
Tensor folded_weight(const Model& m, int node) {
  if (bn_after(m.graph, node) >= 0) return fold_node(m, node).weight;
  return m.param(m.graph.nodes[size_t(node)].name + ".weight");
}

// Calls f(index into B's weight) for every weight element of B that reads input channel c.
template <class F>
void for_input_channel(const Node& b, int c, F&& f) {
  if (b.op == OpKind::linear) {
    for (int o = 0; o < b.cout; ++o) f(int64_t(o) * b.cin + c);
    return;
  }
  const int ci = b.cin / b.groups, co = b.cout / b.groups, g = c / ci, l = c % ci;
  const int64_t kk = int64_t(conv_geom(b).kh) * conv_geom(b).kw;
  for (int o = g * co; o < (g + 1) * co; ++o)
    for (int64_t t = 0; t < kk; ++t) f((int64_t(o) * ci + l) * kk + t);
}

}  // namespace

std::vector<EqualizePair> equalizable_pairs(const Graph& g) {
  std::vector<EqualizePair> pairs;
  for (size_t a = 0; a < g.nodes.size(); ++a) {
    if (!is_layer(g.nodes[a])) continue;
    EqualizePair p;
    p.first = g.nodes[a].name;
    int cur = int(a), group = 1;
    bool ok = false;
    for (;;) {
      p.rescaled.push_back(g.nodes[size_t(cur)].name);
      const std::vector<int> u = g.users(cur);
      if (u.size() != 1) break;
      const Node& n = g.nodes[size_t(u[0])];
      bool pass = false;
      switch (n.op) {
        case OpKind::batchnorm: pass = cur == int(a); break;  // A's own BN: folded into A
        case OpKind::activation: pass = n.act == Act::relu; break;
        case OpKind::dropout:
        case OpKind::max_pool:  // commutes with a positive per-channel scale
        case OpKind::avg_pool:
        case OpKind::global_avg_pool: pass = true; break;
        case OpKind::head_reduce:
          pass = n.reduce != Reduce::funnel_maxout;
          group *= n.heads;
          break;
        case OpKind::conv2d:
        case OpKind::linear:  // not on a flattened map, whose inputs are positions too
          ok = n.cin * group == g.nodes[a].cout && g.nodes[size_t(cur)].out.c == n.cin;
          p.second = n.name;
          p.channels = n.cin;
          break;
        default: break;
      }
      if (!pass) break;
      cur = u[0];
    }
    if (!ok) continue;
    p.group = group;
    pairs.push_back(std::move(p));
  }
  return pairs;
}

void pair_ranges(const Model& m, const EqualizePair& p, std::vector<double>& r1, std::vector<double>& r2) {
  const int a = m.graph.find(p.first), b = m.graph.find(p.second);
  if (a < 0 || b < 0) throw Error(ErrorCode::internal, "equalization pair " + p.first + " -> " + p.second + " not in the graph");
  const Tensor wa = folded_weight(m, a), wb = folded_weight(m, b);
  const int64_t oc = wa.shape[0], per = wa.numel() / oc;
  r1.assign(size_t(p.channels), 0.0);
  r2.assign(size_t(p.channels), 0.0);
  for (int64_t o = 0; o < oc; ++o)
    for (int64_t i = 0; i < per; ++i)
      r1[size_t(o / p.group)] = std::max(r1[size_t(o / p.group)], std::fabs(double(wa.data[size_t(o * per + i)])));
  const Node& nb = m.graph.nodes[size_t(b)];
  for (int c = 0; c < p.channels; ++c)
    for_input_channel(nb, c, [&](int64_t i) { r2[size_t(c)] = std::max(r2[size_t(c)], std::fabs(double(wb.data[size_t(i)]))); });
}

EqualizeResult equalize(Model& m, const EqualizeOptions& opt) {
  if (const QatState q = read_qat_state(m.meta); q.any()) {
    Meta stored;
    write_qat_state(stored, q);
    std::string keys;
    for (const auto& [k, v] : stored) keys += (keys.empty() ? "" : ", ") + k + " = " + v;
    throw Error(ErrorCode::unsupported,
                "cannot equalize a model trained with quantization (meta " + keys +
                    "): rescaling would move its weights off the trained grid and its activations off the trained ranges");
  }
  const Graph& g = m.graph;
  EqualizeResult r;
  r.pairs = equalizable_pairs(g);
  for (const EqualizePair& p : r.pairs) r.scales.emplace_back(size_t(p.channels), 1.0);
  std::vector<double> r1, r2;
  for (r.sweeps = 0; r.sweeps < opt.max_sweeps;) {
    ++r.sweeps;
    double worst = 0;
    for (size_t k = 0; k < r.pairs.size(); ++k) {
      const EqualizePair& p = r.pairs[k];
      pair_ranges(m, p, r1, r2);
      const int a = g.find(p.first), b = g.find(p.second);
      const Node& na = g.nodes[size_t(a)];
      const int bn = bn_after(g, a);
      std::vector<double> s(size_t(p.channels), 1.0);
      for (int c = 0; c < p.channels; ++c) {
        // A dead channel (all-zero weights on either side) has nothing to balance.
        if (r1[size_t(c)] > 0 && r2[size_t(c)] > 0) s[size_t(c)] = std::sqrt(r1[size_t(c)] / r2[size_t(c)]);
        worst = std::max(worst, std::fabs(s[size_t(c)] - 1.0));
        r.scales[k][size_t(c)] *= s[size_t(c)];
      }
      // A: output channel o -> o / s. Through BN, gamma and beta carry it (the running
      // statistics describe the conv's own output, which is unchanged).
      auto divide = [&](Tensor& t, int64_t per) {
        for (int64_t o = 0; o < int64_t(t.numel() / per); ++o)
          for (int64_t i = 0; i < per; ++i)
            t.data[size_t(o * per + i)] = float(double(t.data[size_t(o * per + i)]) / s[size_t(o / p.group)]);
      };
      if (bn >= 0) {
        const std::string& bname = g.nodes[size_t(bn)].name;
        divide(m.param(bname + ".gamma"), 1);
        divide(m.param(bname + ".beta"), 1);
      } else {
        Tensor& w = m.param(na.name + ".weight");
        divide(w, w.numel() / na.cout);
        if (na.bias) divide(m.param(na.name + ".bias"), 1);
      }
      // B: input channel c -> c * s.
      Tensor& wb = m.param(p.second + ".weight");
      const Node& nb = g.nodes[size_t(b)];
      for (int c = 0; c < p.channels; ++c)
        for_input_channel(nb, c, [&](int64_t i) { wb.data[size_t(i)] = float(double(wb.data[size_t(i)]) * s[size_t(c)]); });
    }
    if (worst <= opt.tolerance) break;
  }
  return r;
}

void remeasure_ranges(Model& m, const EqualizeResult& r, Calibration& cal, const BatchSource& batches) {
  if (r.pairs.empty()) return;
  if (cal.state.trained_ranges)
    throw Error(ErrorCode::unsupported, "cannot re-measure ranges of calibration method '" + cal.state.method_name() + "'");
  CalibrateOptions co;
  co.method = cal.state.method;
  co.percentile = cal.state.percentile;
  const CalibrationReport fresh = calibrate(m, batches, co);
  std::set<std::string> names;
  for (const EqualizePair& p : r.pairs) names.insert(p.rescaled.begin(), p.rescaled.end());
  for (const std::string& n : names) {
    auto it = fresh.calibration.ranges.find(n);
    if (it != fresh.calibration.ranges.end()) cal.ranges[n] = it->second;
  }
}

}  // namespace flynet
