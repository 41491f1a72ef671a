#include "flynet/core/qat.hpp"

#include <cmath>
#include <string>

#include "flynet/core/fold_bn.hpp"
#include "flynet/formats/error.hpp"

namespace flynet {

namespace {

bool feeds_only_relu(const Graph& g, int i) {
  const auto u = g.users(i);
  return u.size() == 1 && is_clamp_activation(g.nodes[size_t(u[0])]);
}

const std::string kPrefix = "qat.", kSuffix = ".range";

}  // namespace

std::vector<ActPoint> act_quant_points(const Graph& g) {
  std::vector<ActPoint> pts;
  std::vector<int> point_of(g.nodes.size(), -1);
  for (size_t k = 1; k < g.nodes.size(); ++k) {
    const int i = int(k);
    const Node& n = g.nodes[k];
    ActPoint p;
    p.node = i;
    switch (n.op) {
      case OpKind::input:
      case OpKind::dropout:  // identity on the device: its input is the tensor
        continue;
      case OpKind::softmax:  // trained as a pass-through of the logits; int8 has a fixed output grid
        continue;
      case OpKind::conv2d:
      case OpKind::dw_concat:
        if (bn_after(g, i) >= 0) continue;  // folded: quantized after the BN
        if (feeds_only_relu(g, i)) continue;
        break;
      case OpKind::batchnorm:
      case OpKind::linear:
        if (feeds_only_relu(g, i)) continue;  // fused clamp: quantized after the ReLU
        break;
      case OpKind::activation:
        if (n.act == Act::sigmoid) {
          p.kind = ActPoint::fixed;
          p.fixed_q = ActQuant{1.f / 256.f, -128};
        }
        break;
      case OpKind::head_reduce:
      case OpKind::max_pool:
      case OpKind::avg_pool:
      case OpKind::global_avg_pool: {
        // Max-out and average pooling run on their input's grid (one scale and zero point).
        if (n.op == OpKind::head_reduce && n.reduce == Reduce::sum_relu) break;
        int src = n.inputs[0];
        while (src > 0 && point_of[size_t(src)] < 0 && g.nodes[size_t(src)].op == OpKind::dropout)
          src = g.nodes[size_t(src)].inputs[0];
        if (src > 0 && point_of[size_t(src)] >= 0) {
          p.kind = ActPoint::shared;
          p.share = src;
        }
        break;
      }
      case OpKind::va_eca:
      case OpKind::concat:
      case OpKind::mul:
      case OpKind::add:
      case OpKind::scale_channels:
        break;
    }
    point_of[k] = int(pts.size());
    pts.push_back(p);
  }
  return pts;
}

std::vector<ActRange> load_act_ranges(const Model& m) {
  const Graph& g = m.graph;
  std::vector<ActRange> r(g.nodes.size());
  for (const TensorRecord& t : m.extra) {
    if (t.name.size() <= kPrefix.size() + kSuffix.size() || t.name.rfind(kPrefix, 0) != 0 ||
        t.name.compare(t.name.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0)
      continue;
    const std::string node = t.name.substr(kPrefix.size(), t.name.size() - kPrefix.size() - kSuffix.size());
    const std::vector<float> v = t.to_f32();
    if (v.size() != 2 || !(v[0] <= v[1]))
      throw Error(ErrorCode::format, "activation range record '" + t.name + "' is malformed");
    for (size_t i = 0; i < g.nodes.size(); ++i)
      if (g.nodes[i].name == node) r[i] = ActRange{v[0], v[1], true};
  }
  return r;
}

void store_act_ranges(Model& m, const std::vector<ActRange>& ranges) {
  std::erase_if(m.extra, [](const TensorRecord& t) { return t.name.rfind(kPrefix, 0) == 0; });
  for (size_t i = 0; i < ranges.size() && i < m.graph.nodes.size(); ++i)
    if (ranges[i].initialised) {
      const float v[2] = {ranges[i].min, ranges[i].max};
      m.extra.push_back(TensorRecord::from_f32(kPrefix + m.graph.nodes[i].name + kSuffix, {2}, v));
    }
}

std::vector<double> bn_scale(const Model& m, int bn) {
  const Node& n = m.graph.nodes.at(size_t(bn));
  const Tensor& gamma = m.param(n.name + ".gamma");
  const Tensor& var = m.param(n.name + ".running_var");
  std::vector<double> s(size_t(gamma.numel()));
  for (size_t c = 0; c < s.size(); ++c) s[c] = double(gamma.data[c]) / std::sqrt(double(var.data[c]) + n.bn_eps);
  return s;
}

void folded_fake_quant(const float* w, float* eff, int64_t out_channels, int64_t per_channel,
                       const std::vector<double>& s, int levels) {
  if (int64_t(s.size()) != out_channels) throw Error(ErrorCode::internal, "BN scale does not match the conv's channels");
  std::vector<float> t(static_cast<size_t>(per_channel));
  for (int64_t c = 0; c < out_channels; ++c) {
    const float* wc = w + c * per_channel;
    float* ec = eff + c * per_channel;
    const double sc = s[size_t(c)];
    if (levels == kFloatLevels || sc == 0.0) {
      for (int64_t i = 0; i < per_channel; ++i) ec[i] = wc[i];
      continue;
    }
    for (int64_t i = 0; i < per_channel; ++i) t[size_t(i)] = float(double(wc[i]) * sc);
    fake_quant_weights(t.data(), t.data(), 1, per_channel, levels);
    for (int64_t i = 0; i < per_channel; ++i) ec[i] = float(double(t[size_t(i)]) / sc);
  }
}

void bake_folded_weights(Model& m, int levels) {
  const Graph& g = m.graph;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if (n.op != OpKind::conv2d && n.op != OpKind::dw_concat) continue;
    const int bn = bn_after(g, int(i));
    if (bn < 0) continue;
    Tensor& w = m.param(n.name + ".weight");
    folded_fake_quant(w.ptr(), w.ptr(), w.shape[0], w.numel() / w.shape[0], bn_scale(m, bn), levels);
  }
}

}  // namespace flynet
