#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <set>

#include "flyref.h"
#include "flynet/core/fake_quant.hpp"
#include "flynet/core/fold_bn.hpp"
#include "flynet/core/model_state.hpp"
#include "flynet/core/qdq.hpp"
#include "flynet/formats/error.hpp"
#include "flynet/quant/quantize.hpp"
#include "flynet/quant/flyref_status_text.hpp"
#include "flynet_format.h"

namespace flynet {

namespace {

constexpr int kEcaSumShift = 8;    // fraction bits of the ECA conv's combined sum

void check(flyref_status st, const std::string& what) {
  if (st != FLYREF_OK)
    throw Error(ErrorCode::unsupported, what + ": the int8 kernels reject its parameters (" +
                                            flyref_status_text(st) + ")");
}

template <class T>
std::vector<uint8_t> bytes_of(const std::vector<T>& v) {
  std::vector<uint8_t> b(v.size() * sizeof(T));
  if (!v.empty()) std::memcpy(b.data(), v.data(), b.size());
  return b;
}

class Lowering {
 public:
  Lowering(const Model& m, Calibration cal, const QuantizeOptions& o)
      : m_(m), g_(m.graph), cal_(std::move(cal)), o_(o), qdq_(read_qdq(m)), calibrated_(!cal_.ranges.empty()) {}

  IntGraph run() {
    unify_ranges();
    value_.assign(g_.nodes.size(), -1);
    for (size_t i = 0; i < g_.nodes.size(); ++i)
      if (value_[i] < 0) lower(int(i));
    check_code_ranges_applied();
    out_.output = value_.back();
    for (const auto& [k, v] : m_.meta) out_.meta.emplace(k, v);
    erase_calibration_state(out_.meta);  // the int8 graph records its calibration as quant.calibration
    for (const auto& [k, v] : g_.spec.to_map()) out_.meta["arch." + k] = v;
    out_.meta["quant.rounding"] = o_.rounding == FLYNET_ROUNDING_SINGLE ? "single" : "double";
    out_.meta["quant.weights"] = o_.per_tensor ? "per-tensor" : "per-channel";
    out_.meta["quant.calibration"] = cal_.state.method_name();
    if (qdq_) out_.meta["quant.calibration"] = calibrated_ ? cal_.state.method_name() + "+qdq" : "qdq";
    if (o_.weight_levels > 0) out_.meta["quant.weight_levels"] = std::to_string(o_.weight_levels);
    return std::move(out_);
  }

 private:
  // ---- ranges ---------------------------------------------------------------------------
  // A QDQ model's grid (qdq.hpp) stands for a range where the calibration has none; act_tensor
  // takes the grid itself.
  const ActQuant* qdq_grid(const std::string& node) const {
    if (!qdq_) return nullptr;
    auto it = qdq_->acts.find(node);
    return it == qdq_->acts.end() ? nullptr : &it->second;
  }
  TensorRange& range(const std::string& key) {
    auto it = cal_.ranges.find(key);
    if (it == cal_.ranges.end() && qdq_grid(key)) {
      const ActQuant& q = *qdq_grid(key);
      it = cal_.ranges.emplace(key, TensorRange{float(-128 - q.zero_point) * q.scale, float(127 - q.zero_point) * q.scale}).first;
    }
    if (it == cal_.ranges.end() && qdq_)
      throw Error(ErrorCode::format, "no range for '" + key + "': the QDQ model does not quantize it; run flynet calibrate");
    if (it == cal_.ranges.end())
      throw Error(ErrorCode::format, "no calibration range for '" + key + "': run flynet calibrate first");
    return it->second;
  }
  static void widen(TensorRange& a, const TensorRange& b) {
    a.min = std::min(a.min, b.min);
    a.max = std::max(a.max, b.max);
  }

  // Max-out is exact in int8 only when its inputs and output share one scale and zero point
  // (design 3.2), so the reduce output uses its input's range, and a funnel's candidate U is
  // brought into the same range.
  void unify_ranges() {
    for (const Node& n : g_.nodes) {
      if (n.op != OpKind::head_reduce || n.reduce == Reduce::sum_relu) continue;
      TensorRange& z = range(g_.nodes[size_t(n.inputs[0])].name);
      if (n.reduce == Reduce::funnel_maxout) widen(z, range(g_.nodes[size_t(n.inputs[1])].name));
      range(n.name) = z;
    }
  }

  // ---- tensors --------------------------------------------------------------------------
  static std::array<int32_t, 4> dims(const Shape& s) { return {1, s.h, s.w, s.c}; }

  int32_t act_tensor(const std::string& name, const Shape& s, const TensorRange& r) {
    const ActQuant q = qdq_grid(name) ? *qdq_grid(name) : act_quant_params(r.min, r.max);
    IntTensor t;
    t.name = name;
    t.dims = dims(s);
    t.scale = q.scale;
    t.zero_point = q.zero_point;
    return out_.add_tensor(std::move(t));
  }
  int32_t like_tensor(const std::string& name, const std::array<int32_t, 4>& d, int32_t like) {
    IntTensor t;
    t.name = name;
    t.dims = d;
    t.scale = out_.tensors[size_t(like)].scale;
    t.zero_point = out_.tensors[size_t(like)].zero_point;
    return out_.add_tensor(std::move(t));
  }
  int32_t fixed_tensor(const std::string& name, const std::array<int32_t, 4>& d, double scale, int32_t zp) {
    IntTensor t;
    t.name = name;
    t.dims = d;
    t.scale = scale;
    t.zero_point = zp;
    return out_.add_tensor(std::move(t));
  }
  int32_t const_i8(const std::string& name, const std::array<int32_t, 4>& d, const std::vector<int8_t>& v,
                   std::vector<double> scales = {}, int levels = 0) {
    IntTensor t;
    t.name = name;
    t.dims = d;
    t.type = FLYNET_TYPE_INT8;
    t.data = bytes_of(v);
    t.channel_scales = std::move(scales);
    t.levels = levels;
    if (t.channel_scales.size() == 1) t.scale = t.channel_scales[0];
    return out_.add_tensor(std::move(t));
  }
  int32_t const_i32(const std::string& name, const std::vector<int32_t>& v) {
    IntTensor t;
    t.name = name;
    t.dims = {1, 1, 1, int32_t(v.size())};
    t.type = FLYNET_TYPE_INT32;
    t.data = bytes_of(v);
    return out_.add_tensor(std::move(t));
  }
  const IntTensor& T(int32_t i) const { return out_.tensors[size_t(i)]; }

  void op(const std::string& name, int32_t code, std::vector<int32_t> in, std::vector<int32_t> out,
          std::vector<int32_t> params) {
    out_.ops.push_back(IntOp{name, code, std::move(in), std::move(out), std::move(params)});
  }
  template <class P>
  void op(const std::string& name, int32_t code, std::vector<int32_t> in, std::vector<int32_t> out, const P& p) {
    IntOp o{name, code, std::move(in), std::move(out), {}};
    o.set_params(p);
    out_.ops.push_back(std::move(o));
  }

  // The ReLU or ReLU6 that is the sole consumer of node i, to fuse as a clamp; -1 if none.
  int fusable_relu(int i) const {
    const auto u = g_.users(i);
    if (u.size() == 1 && is_clamp_activation(g_.nodes[size_t(u[0])])) return u[0];
    return -1;
  }
  static int32_t clamp_code(const Node& act) { return act.act == Act::relu6 ? FLYNET_ACT_RELU6 : FLYNET_ACT_RELU; }
  void clamp_of(int fused_act, int32_t out, int32_t& lo, int32_t& hi) {
    lo = -128;
    hi = 127;
    if (fused_act >= 0)
      check(flyref_activation_range(clamp_code(g_.nodes[size_t(fused_act)]), float(T(out).scale), T(out).zero_point,
                                    &lo, &hi),
            g_.nodes[size_t(fused_act)].name);
    narrow_codes(out, lo, hi);
  }
  // A QDQ model's reduced code range of tensor y (PyTorch's quant_min / quant_max) as the
  // clamp of the op writing it.
  void narrow_codes(int32_t y, int32_t& lo, int32_t& hi) {
    if (!qdq_) return;
    auto it = qdq_->code_ranges.find(T(y).name);
    if (it == qdq_->code_ranges.end()) return;
    lo = std::max(lo, it->second.lo);
    hi = std::min(hi, it->second.hi);
    narrowed_.insert(it->first);
  }
  void check_code_ranges_applied() const {
    if (!qdq_) return;
    for (const auto& [name, r] : qdq_->code_ranges) {
      const std::string& node = name;  // clang 14 cannot capture a structured binding
      if (!narrowed_.count(node) && std::any_of(g_.nodes.begin(), g_.nodes.end(), [&](const Node& x) { return x.name == node; }))
        throw Error(ErrorCode::unsupported, "the QDQ model clips the codes of '" + node + "' to [" + std::to_string(r.lo) +
                                                ", " + std::to_string(r.hi) + "], which its int8 kernel cannot");
    }
  }

  // ---- weights --------------------------------------------------------------------------
  struct QuantWeights {
    std::vector<int32_t> codes;   // same layout as the float weight (OIHW / [out, in])
    std::vector<double> scales;   // per output channel (or one, per tensor)
    int levels = 0;
  };
  // Per-channel symmetric codes in [-127, 127] of folded weights w' = w * s (s: BN scale).
  // A model trained with L levels keeps the codes of its grid: w' = code * step * s exactly
  // (lower_to_int8 admits only level counts whose codes fit int8).
  QuantWeights quantize_weights(const Tensor& raw, const std::vector<float>& s, const Tensor& folded, bool quantizable) {
    const int64_t oc = folded.shape[0], per = folded.numel() / oc;
    QuantWeights q;
    q.codes.resize(size_t(folded.numel()));
    if (o_.weight_levels > 0 && quantizable && !o_.per_tensor) {
      std::vector<float> fq(size_t(raw.numel()));
      const auto grids = fake_quant_weights(raw.ptr(), fq.data(), oc, per, o_.weight_levels);
      weight_codes(fq.data(), q.codes.data(), oc, per, grids);
      q.levels = o_.weight_levels;
      for (int64_t c = 0; c < oc; ++c) {
        const double sc = s.empty() ? 1.0 : double(s[size_t(c)]);
        double step = double(grids[size_t(c)].step) * std::fabs(sc);
        if (step == 0) step = 1.0;
        q.scales.push_back(step);
        if (sc < 0)
          for (int64_t i = 0; i < per; ++i) q.codes[size_t(c * per + i)] = -q.codes[size_t(c * per + i)];
      }
      return q;
    }
    auto amax = [&](int64_t c0, int64_t c1) {
      double a = 0;
      for (int64_t i = c0 * per; i < c1 * per; ++i) a = std::max(a, std::fabs(double(folded.data[size_t(i)])));
      return a > 0 ? a / 127.0 : 1.0;
    };
    if (o_.per_tensor) q.scales.assign(size_t(oc), amax(0, oc));
    else
      for (int64_t c = 0; c < oc; ++c) q.scales.push_back(amax(c, c + 1));
    for (int64_t c = 0; c < oc; ++c)
      for (int64_t i = 0; i < per; ++i) {
        const double v = std::round(double(folded.data[size_t(c * per + i)]) / q.scales[size_t(c)]);
        q.codes[size_t(c * per + i)] = int32_t(std::clamp(v, -127.0, 127.0));
      }
    return q;
  }
  // A QDQ model's weights: its int8 codes on its channel scales, exactly (no BN to fold in).
  QuantWeights weights_of(const Node& n, const Tensor& raw, const std::vector<float>& s, const Tensor& folded) {
    const QdqWeights* w = qdq_weights(n.name);
    if (!w) return quantize_weights(raw, s, folded, true);
    if (!s.empty())
      throw Error(ErrorCode::unsupported, "QDQ conv '" + n.name + "' is followed by a batch norm: cannot fold it into int8 codes");
    QuantWeights q;
    q.codes = qdq_weight_codes(m_, n.name, *w);
    q.scales.assign(w->scales.begin(), w->scales.end());
    return q;
  }
  const QdqWeights* qdq_weights(const std::string& node) const {
    if (!qdq_) return nullptr;
    auto it = qdq_->weights.find(node);
    return it == qdq_->weights.end() ? nullptr : &it->second;
  }
  // A QDQ model's int32 bias codes replace the rounded float bias; requantized (in double)
  // only when their scale is not in_scale * w_scale[c].
  void qdq_bias(const std::string& node, int32_t bias_t, double in_scale, const std::vector<double>& w_scale) {
    const QdqWeights* w = qdq_weights(node);
    if (!w || w->bias.empty()) return;
    std::vector<int32_t> b(w->bias.size());
    for (size_t c = 0; c < b.size(); ++c) {
      const double have = w->bias_scale[w->bias_scale.size() == 1 ? 0 : c], want = in_scale * w_scale[c];
      b[c] = std::fabs(have / want - 1) <= 1e-6
                 ? w->bias[c]
                 : int32_t(std::clamp(std::round(w->bias[c] * have / want), double(INT32_MIN), double(INT32_MAX)));
    }
    out_.tensors[size_t(bias_t)].data = bytes_of(b);
  }
  // A pooled or sigmoid output that a QDQ model puts on another grid than the kernel's: requantized onto it.
  int32_t onto_qdq_grid(const Node& n, int32_t y) {
    const ActQuant* q = qdq_grid(n.name);
    if (!q || (double(q->scale) == T(y).scale && q->zero_point == T(y).zero_point)) return y;
    out_.tensors[size_t(y)].name += ".kernel";
    const int32_t z = act_tensor(n.name, n.out, range(n.name));
    requantize(n.name + ".requantize", y, z, FLYNET_ACT_NONE);
    return z;
  }

  // Bias int32 at scale in_scale * w_scale[c], and the requantization multipliers.
  void bias_and_multipliers(const std::string& name, double in_scale, const std::vector<double>& w_scale,
                            const std::vector<float>& bias, double out_scale, int32_t& bias_t, int32_t& mult_t,
                            int32_t& shift_t) {
    const size_t oc = w_scale.size();
    std::vector<int32_t> b(oc), m(oc), sh(oc);
    for (size_t c = 0; c < oc; ++c) {
      const double v = std::round(double(bias[c]) / (in_scale * w_scale[c]));
      b[c] = int32_t(std::clamp(v, double(INT32_MIN), double(INT32_MAX)));
      check(flyref_conv_multiplier(float(in_scale), float(w_scale[c]), float(out_scale), o_.rounding, &m[c], &sh[c]),
            name);
    }
    if (o_.per_tensor) {
      m.resize(1);
      sh.resize(1);
    }
    bias_t = const_i32(name + ".bias", b);
    mult_t = const_i32(name + ".mult", m);
    shift_t = const_i32(name + ".shift", sh);
  }

  // ---- layers ---------------------------------------------------------------------------
  void lower(int i) {
    const Node& n = g_.nodes[size_t(i)];
    switch (n.op) {
      case OpKind::input: return lower_input(i);
      case OpKind::conv2d:
      case OpKind::dw_concat: return lower_conv(i);
      case OpKind::batchnorm:
        throw Error(ErrorCode::unsupported, "batch norm '" + n.name + "' does not follow a conv: cannot fold it");
      case OpKind::activation: return lower_activation(i);
      case OpKind::va_eca: return lower_va_eca(i);
      case OpKind::head_reduce: return lower_reduce(i);
      case OpKind::add: return lower_add(i);
      case OpKind::global_avg_pool: return lower_pool(i);
      case OpKind::linear: return lower_linear(i);
      case OpKind::scale_channels: return lower_scale(i);
      case OpKind::dropout: value_[size_t(i)] = in(n, 0); return;
      case OpKind::max_pool: return lower_max_pool(i);
      case OpKind::avg_pool: return lower_avg_pool(i);
      case OpKind::concat: return lower_concat(i);
      case OpKind::mul: return lower_scale(i);  // the MUL kernel broadcasts either input
      case OpKind::softmax: return lower_softmax(i);
    }
  }
  int32_t in(const Node& n, int k) const { return value_[size_t(n.inputs[size_t(k)])]; }

  void lower_input(int i) {
    const Node& n = g_.nodes[size_t(i)];
    const InputNormalisation norm = read_input_normalisation(m_).per_channel(m_.spec().in_c);
    // The exact range of normalised pixels: firmware quantizes camera pixels with it.
    TensorRange r{std::numeric_limits<float>::max(), -std::numeric_limits<float>::max()};
    for (size_t c = 0; c < norm.mean.size(); ++c) {
      r.min = std::min(r.min, (0.f - norm.mean[c]) / norm.std[c]);
      r.max = std::max(r.max, (1.f - norm.mean[c]) / norm.std[c]);
    }
    value_[size_t(i)] = out_.input = act_tensor(n.name, n.out, r);
    out_.meta["input.scale"] = std::to_string(T(out_.input).scale);
    out_.meta["input.zero_point"] = std::to_string(T(out_.input).zero_point);
    if (qdq_ && qdq_->code_ranges.count(n.name)) {
      // A reduced code range of the input: an identity requantization clips the codes.
      out_.tensors[size_t(out_.input)].name = n.name + ".codes";
      value_[size_t(i)] = like_tensor(n.name, dims(n.out), out_.input);
      requantize(n.name + ".clip", out_.input, value_[size_t(i)], FLYNET_ACT_NONE);
    }
  }

  void lower_conv(int i) {
    const Node& n = g_.nodes[size_t(i)];
    const int b = bn_after(g_, i);
    FoldedConv f;
    std::string out_node = n.name;
    if (b >= 0) {
      f = fold_node(m_, i);
      out_node = g_.nodes[size_t(b)].name;
    } else {
      f.weight = m_.param(n.name + ".weight");
      f.bias.assign(size_t(n.cout), 0.f);
      if (n.bias) f.bias.assign(m_.param(n.name + ".bias").data.begin(), m_.param(n.name + ".bias").data.end());
    }
    const int relu = fusable_relu(b >= 0 ? b : i);
    if (relu >= 0) out_node = g_.nodes[size_t(relu)].name;
    const QuantWeights q = weights_of(n, m_.param(n.name + ".weight"), f.scale, f.weight);
    const int32_t x = in(n, 0);
    const ConvGeom geom = conv_geom(n);
    const int K = n.kernel, KH = geom.kh, KW = geom.kw;
    flynet_conv2d_params p{};
    p.stride_h = geom.sh;
    p.stride_w = geom.sw;
    p.pad_h = geom.pt;  // the end pads follow from the output size
    p.pad_w = geom.pl;
    p.dilation_h = p.dilation_w = geom.dil;
    p.rounding = o_.rounding;

    if (n.op == OpKind::dw_concat) {
      // Depthwise with multiplier m: dw channel c*m + j computes head j of input channel c,
      // which is output o = j * cin + c of the concat (o reads o % cin); channels past C_out
      // get zero weights, and a gather puts the rest in concat order.
      const int cin = n.cin, mlt = n.heads, cdw = cin * mlt;
      std::vector<int8_t> w(size_t(K * K * cdw), 0);
      std::vector<double> ws(size_t(cdw), 1.0);
      std::vector<float> bias(size_t(cdw), 0.f);
      std::vector<int32_t> index(size_t(n.cout));
      for (int o = 0; o < n.cout; ++o) {
        const int dwc = (o % cin) * mlt + o / cin;
        index[size_t(o)] = dwc;
        ws[size_t(dwc)] = q.scales[size_t(o)];
        bias[size_t(dwc)] = f.bias[size_t(o)];
        for (int t = 0; t < K * K; ++t) w[size_t(t * cdw + dwc)] = int8_t(q.codes[size_t(o * K * K + t)]);
      }
      const int32_t y_dw = act_tensor(out_node + ".heads", Shape{n.out.h, n.out.w, cdw}, range(out_node));
      clamp_of(relu, y_dw, p.act_min, p.act_max);
      const int32_t wt = const_i8(n.name + ".weight", {1, K, K, cdw}, w, ws, q.levels);
      int32_t bt, mt, st;
      bias_and_multipliers(n.name, T(x).scale, ws, bias, T(y_dw).scale, bt, mt, st);
      op(n.name, FLYNET_OP_DEPTHWISE_CONV2D, {x, wt, bt, mt, st}, {y_dw}, p);
      const int32_t y = like_tensor(out_node, dims(n.out), y_dw);
      op(n.name + ".gather", FLYNET_OP_CHANNEL_GATHER, {y_dw, const_i32(n.name + ".index", index)}, {y},
         flynet_channel_gather_params{0});
      finish(i, b, relu, y);
      return;
    }

    const int32_t y = act_tensor(out_node, n.out, range(out_node));
    clamp_of(relu, y, p.act_min, p.act_max);
    int32_t bt, mt, st;
    bias_and_multipliers(n.name, T(x).scale, q.scales, f.bias, T(y).scale, bt, mt, st);
    qdq_bias(n.name, bt, T(x).scale, q.scales);
    if (n.groups == n.cin && n.cout % n.cin == 0) {
      // Depthwise with multiplier cout/cin (the MDW heads): weights [1, KH, KW, C_OUT].
      std::vector<int8_t> w(size_t(KH * KW * n.cout));
      for (int o = 0; o < n.cout; ++o)
        for (int t = 0; t < KH * KW; ++t) w[size_t(t * n.cout + o)] = int8_t(q.codes[size_t(o * KH * KW + t)]);
      const int32_t wt = const_i8(n.name + ".weight", {1, KH, KW, n.cout}, w, q.scales, q.levels);
      op(n.name, FLYNET_OP_DEPTHWISE_CONV2D, {x, wt, bt, mt, st}, {y}, p);
    } else {
      // OIHW -> [C_OUT, KH, KW, C_IN / groups].
      const int ci = n.cin / n.groups;
      std::vector<int8_t> w(size_t(n.cout * KH * KW * ci));
      for (int o = 0; o < n.cout; ++o)
        for (int c = 0; c < ci; ++c)
          for (int t = 0; t < KH * KW; ++t)
            w[size_t((o * KH * KW + t) * ci + c)] = int8_t(q.codes[size_t((o * ci + c) * KH * KW + t)]);
      const int32_t wt = const_i8(n.name + ".weight", {n.cout, KH, KW, ci}, w, q.scales, q.levels);
      op(n.name, FLYNET_OP_CONV2D, {x, wt, bt, mt, st}, {y}, p);
    }
    finish(i, b, relu, y);
  }
  void finish(int conv, int bn, int relu, int32_t y) {
    value_[size_t(conv)] = y;
    if (bn >= 0) value_[size_t(bn)] = y;
    if (relu >= 0) value_[size_t(relu)] = y;
  }

  void lower_activation(int i) {
    const Node& n = g_.nodes[size_t(i)];
    const int32_t x = in(n, 0);
    const double s_in = T(x).scale;
    switch (n.act) {
      case Act::hswish: {
        const int32_t y = act_tensor(n.name, n.out, range(n.name));
        flynet_hard_swish_params p{};
        check(flyref_hard_swish_prepare(float(s_in), float(T(y).scale), &p), n.name);
        op(n.name, FLYNET_OP_HARD_SWISH, {x}, {y}, p);
        value_[size_t(i)] = y;
        return;
      }
      case Act::hsigmoid: {
        const int32_t y = act_tensor(n.name, n.out, range(n.name));
        flynet_hard_sigmoid_params p{};
        check(flyref_hard_sigmoid_prepare(float(s_in), float(T(y).scale), T(y).zero_point, o_.rounding, &p), n.name);
        op(n.name, FLYNET_OP_HARD_SIGMOID, {x}, {y}, p);
        value_[size_t(i)] = y;
        return;
      }
      case Act::sigmoid: {
        const int32_t y = fixed_tensor(n.name, dims(n.out), 1.0 / 256, -128);
        flynet_logistic_params p{};
        check(flyref_logistic_prepare(float(s_in), &p), n.name);
        p.rounding = o_.rounding;
        op(n.name, FLYNET_OP_LOGISTIC, {x}, {y}, p);
        value_[size_t(i)] = onto_qdq_grid(n, y);
        return;
      }
      case Act::leaky_relu: return lower_leaky_relu(i);
      case Act::relu:
      case Act::relu6: {
        // A ReLU not fused into its producer: requantize with the ReLU clamp.
        const int32_t y = act_tensor(n.name, n.out, range(n.name));
        requantize(n.name, x, y, clamp_code(n));
        value_[size_t(i)] = y;
        return;
      }
    }
  }
  void lower_leaky_relu(int i) {
    const Node& n = g_.nodes[size_t(i)];
    const int32_t x = in(n, 0);
    const int32_t y = act_tensor(n.name, n.out, range(n.name));
    if (!(n.alpha >= 0)) throw Error(ErrorCode::unsupported, "leaky ReLU '" + n.name + "' with a negative slope");
    const double ratio = T(x).scale / T(y).scale;
    flynet_leaky_relu_params p{};
    check(flyref_quantize_multiplier(ratio, o_.rounding, &p.identity_multiplier, &p.identity_shift), n.name);
    check(flyref_quantize_multiplier(double(n.alpha) * ratio, o_.rounding, &p.alpha_multiplier, &p.alpha_shift), n.name);
    p.act_min = -128;
    p.act_max = 127;
    p.rounding = o_.rounding;
    op(n.name, FLYNET_OP_LEAKY_RELU, {x}, {y}, p);
    value_[size_t(i)] = y;
  }
  void requantize(const std::string& name, int32_t x, int32_t y, int32_t act) {
    flynet_requantize_params p{};
    check(flyref_quantize_multiplier(T(x).scale / T(y).scale, o_.rounding, &p.multiplier, &p.shift), name);
    check(flyref_activation_range(act, float(T(y).scale), T(y).zero_point, &p.act_min, &p.act_max), name);
    narrow_codes(y, p.act_min, p.act_max);
    p.rounding = o_.rounding;
    op(name, FLYNET_OP_REQUANTIZE, {x}, {y}, p);
  }

  void lower_va_eca(int i) {
    const Node& n = g_.nodes[size_t(i)];
    const int32_t z = in(n, 0);
    const int h = n.heads, C = n.out.c, k = n.eca_k;
    const int64_t npx = int64_t(n.out.h) * n.out.w;
    const double s_in = T(z).scale;
    const std::array<int32_t, 4> vd{1, 1, 1, C};
    const int32_t mean = act_tensor(n.name + ":mean", Shape{1, 1, C}, range(n.name + ":mean"));
    const int32_t sd = act_tensor(n.name + ":std", Shape{1, 1, C}, range(n.name + ":std"));

    // Descriptor. The largest sqrt fraction F whose products stay below 2^62 (quant/ref README).
    flynet_vaeca_descriptor_params d{};
    int F = 15;
    uint64_t eps_q = 0;
    for (; F >= 0; --F) {
      const long double scale4 = std::ldexp(1.0L, 2 * F);
      const long double epsq = std::round(kVaEcaStdEps * npx * npx * scale4 / (s_in * s_in));
      if (scale4 * npx * npx * 16257.0L + epsq < std::ldexp(1.0L, 62)) {
        eps_q = uint64_t(epsq);
        break;
      }
    }
    if (F < 0) throw Error(ErrorCode::unsupported, "VA-ECA '" + n.name + "': feature map too large for the int8 descriptor");
    check(flyref_quantize_multiplier(s_in / (double(npx) * T(mean).scale), o_.rounding, &d.mean_multiplier, &d.mean_shift), n.name);
    check(flyref_quantize_multiplier(s_in / (double(npx) * std::ldexp(1.0, F) * T(sd).scale), o_.rounding,
                                     &d.std_multiplier, &d.std_shift), n.name);
    d.eps_q_lo = uint32_t(eps_q & 0xffffffffu);
    d.eps_q_hi = uint32_t(eps_q >> 32);
    d.sqrt_frac_bits = F;
    d.rounding = o_.rounding;
    op(n.name + ".descriptor", FLYNET_OP_VAECA_DESCRIPTOR, {z}, {mean, sd}, d);

    // 1-D conv over channels: int8 weights [1, 1, k, 2], one scale for the mean taps and one
    // for the std taps.
    const Tensor& w = m_.param(n.name + ".weight");  // [2, k]: row 0 mean, row 1 std
    double wmax[2] = {0, 0};
    for (int r = 0; r < 2; ++r)
      for (int t = 0; t < k; ++t) wmax[r] = std::max(wmax[r], std::fabs(double(w.data[size_t(r * k + t)])));
    const double ws[2] = {wmax[0] > 0 ? wmax[0] / 127 : 1.0, wmax[1] > 0 ? wmax[1] / 127 : 1.0};
    std::vector<int8_t> wq(size_t(2 * k));
    for (int t = 0; t < k; ++t)
      for (int r = 0; r < 2; ++r)
        wq[size_t(t * 2 + r)] = int8_t(std::clamp(std::round(double(w.data[size_t(r * k + t)]) / ws[r]), -127.0, 127.0));
    const int32_t wt = const_i8(n.name + ".weight", {1, 1, k, 2}, wq, {ws[0], ws[1]});
    const int32_t logit = act_tensor(n.name + ":logit", Shape{1, 1, C}, range(n.name + ":logit"));
    flynet_eca_conv1d_params e{};
    e.heads = h;
    e.sum_shift = kEcaSumShift;
    const double two_s = std::ldexp(1.0, kEcaSumShift);
    check(flyref_quantize_multiplier(T(mean).scale * ws[0] / T(logit).scale * two_s, o_.rounding, &e.mean_multiplier,
                                     &e.mean_shift), n.name);
    check(flyref_quantize_multiplier(T(sd).scale * ws[1] / T(logit).scale * two_s, o_.rounding, &e.std_multiplier,
                                     &e.std_shift), n.name);
    e.act_min = -128;
    e.act_max = 127;
    e.rounding = o_.rounding;
    op(n.name + ".conv1d", FLYNET_OP_ECA_CONV1D, {mean, sd, wt}, {logit}, e);

    // Gate: sigmoid, or h * softmax over the heads of each channel (T = 1 at inference). The
    // softmax kernel's output is softmax * 256 - 128; the factor h goes into the gate's scale.
    int32_t gate;
    if (n.gate == Gate::sigmoid) {
      gate = fixed_tensor(n.name + ":gate", vd, 1.0 / 256, -128);
      flynet_logistic_params p{};
      check(flyref_logistic_prepare(float(T(logit).scale), &p), n.name);
      p.rounding = o_.rounding;
      op(n.name + ".gate", FLYNET_OP_LOGISTIC, {logit}, {gate}, p);
    } else {
      gate = fixed_tensor(n.name + ":gate", vd, double(h) / 256, -128);
      flynet_softmax_params p{};
      check(flyref_softmax_prepare(1.0f, float(T(logit).scale), o_.rounding, &p), n.name);
      p.row_size = h;
      op(n.name + ".gate", FLYNET_OP_SOFTMAX, {logit}, {gate}, p);
    }
    const int32_t y = act_tensor(n.name, n.out, range(n.name));
    mul(n.name + ".mul", z, gate, y);
    value_[size_t(i)] = y;
  }
  void mul(const std::string& name, int32_t a, int32_t b, int32_t y) {
    flynet_mul_params p{};
    check(flyref_quantize_multiplier(T(a).scale * T(b).scale / T(y).scale, o_.rounding, &p.output_multiplier,
                                     &p.output_shift), name);
    p.act_min = -128;
    p.act_max = 127;
    p.rounding = o_.rounding;
    op(name, FLYNET_OP_MUL, {a, b}, {y}, p);
  }

  void lower_reduce(int i) {
    const Node& n = g_.nodes[size_t(i)];
    const int32_t z = in(n, 0);
    const int h = n.heads;
    if (n.reduce == Reduce::sum_relu) {
      // Sum over the h heads of each channel = grouped 1x1 conv with all-ones weights.
      const int32_t y = act_tensor(n.name, n.out, range(n.name));
      const int E = n.out.c;
      const std::vector<int8_t> ones(size_t(E * h), 1);
      const int32_t wt = const_i8(n.name + ".ones", {E, 1, 1, h}, ones, std::vector<double>(size_t(E), 1.0));
      int32_t bt, mt, st;
      bias_and_multipliers(n.name, T(z).scale, std::vector<double>(size_t(E), 1.0), std::vector<float>(size_t(E), 0.f),
                           T(y).scale, bt, mt, st);
      flynet_conv2d_params p{1, 1, 0, 0, 1, 1, 0, 0, o_.rounding};
      check(flyref_activation_range(FLYNET_ACT_RELU, float(T(y).scale), T(y).zero_point, &p.act_min, &p.act_max), n.name);
      op(n.name, FLYNET_OP_CONV2D, {z, wt, bt, mt, st}, {y}, p);
      value_[size_t(i)] = y;
      return;
    }
    const int32_t mx = like_tensor(n.name + (n.reduce == Reduce::funnel_maxout ? ".heads" : ""), dims(n.out), z);
    op(n.name + ".max", FLYNET_OP_MAX_GROUP, {z}, {mx}, flynet_max_group_params{h});
    if (n.reduce == Reduce::maxout) {
      value_[size_t(i)] = mx;
      return;
    }
    // Funnel: U, sampled at the block's stride, requantized into the heads' range.
    int32_t u = in(n, 1);
    if (n.funnel_stride > 1) {
      const int32_t us = like_tensor(n.name + ".u_sub", dims(n.out), u);
      const int s = n.funnel_stride;
      op(n.name + ".subsample", FLYNET_OP_MAX_POOL2D, {u}, {us}, flynet_pool2d_params{1, 1, s, s, 0, 0, -128, 127});
      u = us;
    }
    const int32_t ur = like_tensor(n.name + ".u", dims(n.out), z);
    requantize(n.name + ".u_requant", u, ur, FLYNET_ACT_NONE);
    const int32_t y = like_tensor(n.name, dims(n.out), z);
    op(n.name, FLYNET_OP_MAXIMUM, {mx, ur}, {y}, std::vector<int32_t>{0});  // no parameters: one reserved word
    value_[size_t(i)] = y;
  }

  void lower_add(int i) {
    const Node& n = g_.nodes[size_t(i)];
    const int32_t a = in(n, 0), b = in(n, 1);
    const int32_t y = act_tensor(n.name, n.out, range(n.name));
    flynet_add_params p{};
    check(flyref_add_prepare(float(T(a).scale), float(T(b).scale), float(T(y).scale), o_.rounding, &p), n.name);
    p.act_min = -128;
    p.act_max = 127;
    narrow_codes(y, p.act_min, p.act_max);
    op(n.name, FLYNET_OP_ADD, {a, b}, {y}, p);
    value_[size_t(i)] = y;
  }

  void lower_pool(int i) {
    const Node& n = g_.nodes[size_t(i)];
    const int32_t x = in(n, 0);
    const Shape& s = g_.nodes[size_t(n.inputs[0])].out;
    const int32_t y = like_tensor(n.name, dims(n.out), x);
    op(n.name, FLYNET_OP_AVG_POOL2D, {x}, {y}, flynet_pool2d_params{s.h, s.w, 1, 1, 0, 0, -128, 127});
    value_[size_t(i)] = onto_qdq_grid(n, y);
  }

  // A max of int8 codes is the max of the values on one grid: the output keeps the input's.
  void lower_max_pool(int i) {
    const Node& n = g_.nodes[size_t(i)];
    const int32_t x = in(n, 0);
    const ConvGeom c = conv_geom(n);
    const int32_t y = like_tensor(n.name, dims(n.out), x);
    op(n.name, FLYNET_OP_MAX_POOL2D, {x}, {y}, flynet_pool2d_params{c.kh, c.kw, c.sh, c.sw, c.pt, c.pl, -128, 127});
    value_[size_t(i)] = onto_qdq_grid(n, y);
  }

  // On the input's grid, as the QAT point shares it. Without counted pads the avg pool kernel
  // divides by the taps inside the map, as the float op; with them (ONNX count_include_pad) the
  // divisor is the whole window: a depthwise conv of ones, whose padding adds zero, with the
  // weight scale 1 / window folded into its multiplier.
  void lower_avg_pool(int i) {
    const Node& n = g_.nodes[size_t(i)];
    const int32_t x = in(n, 0);
    const ConvGeom c = conv_geom(n);
    const int32_t y = like_tensor(n.name, dims(n.out), x);
    value_[size_t(i)] = y;
    if (!n.count_pad || !(c.pt || c.pl || c.pb || c.pr)) {
      op(n.name, FLYNET_OP_AVG_POOL2D, {x}, {y}, flynet_pool2d_params{c.kh, c.kw, c.sh, c.sw, c.pt, c.pl, -128, 127});
      return;
    }
    const int C = n.out.c;
    const std::vector<double> ws(size_t(C), 1.0 / (c.kh * c.kw));
    const int32_t wt = const_i8(n.name + ".ones", {1, c.kh, c.kw, C}, std::vector<int8_t>(size_t(c.kh * c.kw * C), 1), ws);
    int32_t bt, mt, st;
    bias_and_multipliers(n.name, T(x).scale, ws, std::vector<float>(size_t(C), 0.f), T(y).scale, bt, mt, st);
    const flynet_conv2d_params p{c.sh, c.sw, c.pt, c.pl, 1, 1, -128, 127, o_.rounding};
    op(n.name, FLYNET_OP_DEPTHWISE_CONV2D, {x, wt, bt, mt, st}, {y}, p);
  }

  // The concat kernel copies codes: an input on another grid is requantized to the output's.
  void lower_concat(int i) {
    const Node& n = g_.nodes[size_t(i)];
    const int32_t y = act_tensor(n.name, n.out, range(n.name));
    std::vector<int32_t> xs;
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      int32_t x = in(n, int(k));
      if (T(x).scale != T(y).scale || T(x).zero_point != T(y).zero_point) {
        const std::string name = n.name + ".in" + std::to_string(k);
        const int32_t r = like_tensor(name, T(x).dims, y);
        requantize(name, x, r, FLYNET_ACT_NONE);
        x = r;
      }
      xs.push_back(x);
    }
    op(n.name, FLYNET_OP_CONCAT, xs, {y}, flynet_concat_params{3});
    value_[size_t(i)] = y;
  }

  // The softmax kernel's output grid is fixed: scale 1/256, zero point -128.
  void lower_softmax(int i) {
    const Node& n = g_.nodes[size_t(i)];
    const int32_t x = in(n, 0);
    const int32_t y = fixed_tensor(n.name, dims(n.out), 1.0 / 256, -128);
    flynet_softmax_params p{};
    check(flyref_softmax_prepare(1.0f, float(T(x).scale), o_.rounding, &p), n.name);
    p.row_size = 0;
    op(n.name, FLYNET_OP_SOFTMAX, {x}, {y}, p);
    value_[size_t(i)] = y;
  }

  void lower_linear(int i) {
    const Node& n = g_.nodes[size_t(i)];
    const int32_t x = in(n, 0);
    const int relu = fusable_relu(i);
    const std::string out_node = relu >= 0 ? g_.nodes[size_t(relu)].name : n.name;
    const int32_t y = act_tensor(out_node, n.out, range(out_node));
    const Tensor& w = m_.param(n.name + ".weight");
    const QuantWeights q = weights_of(n, w, {}, w);
    std::vector<int8_t> codes(q.codes.begin(), q.codes.end());
    const int32_t wt = const_i8(n.name + ".weight", {n.cout, 1, 1, n.cin}, codes, q.scales, q.levels);
    const std::vector<float> bias(m_.param(n.name + ".bias").data.begin(), m_.param(n.name + ".bias").data.end());
    int32_t bt, mt, st;
    bias_and_multipliers(n.name, T(x).scale, q.scales, bias, T(y).scale, bt, mt, st);
    qdq_bias(n.name, bt, T(x).scale, q.scales);
    flynet_fully_connected_params p{};
    clamp_of(relu, y, p.act_min, p.act_max);
    p.rounding = o_.rounding;
    op(n.name, FLYNET_OP_FULLY_CONNECTED, {x, wt, bt, mt, st}, {y}, p);
    value_[size_t(i)] = y;
    if (relu >= 0) value_[size_t(relu)] = y;
  }

  void lower_scale(int i) {
    const Node& n = g_.nodes[size_t(i)];
    const int32_t y = act_tensor(n.name, n.out, range(n.name));
    mul(n.name, in(n, 0), in(n, 1), y);
    value_[size_t(i)] = y;
  }

  const Model& m_;
  const Graph& g_;
  Calibration cal_;
  QuantizeOptions o_;
  IntGraph out_;
  std::vector<int32_t> value_;  // float node -> int tensor holding its value
  std::optional<QdqRecord> qdq_;  // a QDQ model's grids and int8 weights (flynet import)
  bool calibrated_;               // ranges from flynet calibrate (else only the QDQ grids)
  std::set<std::string> narrowed_;  // nodes whose reduced code range an op's clamp applies
};

}  // namespace

IntGraph lower_to_int8(const Model& m, Calibration cal, const QuantizeOptions& opt) {
  // Refused here rather than re-rounded: the graph would record L levels its codes do not have.
  if (opt.weight_levels < 0 || !valid_weight_levels(opt.weight_levels))
    throw Error(ErrorCode::usage, "weight levels " + std::to_string(opt.weight_levels) + ": " +
                                      (opt.weight_levels < 0 ? "not a level count" : weight_levels_problem(opt.weight_levels)));
  return Lowering(m, std::move(cal), opt).run();
}

}  // namespace flynet
