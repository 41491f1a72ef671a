// Add, mul and maximum with 4-D broadcast, and max over groups of adjacent channels, in both
// arithmetics.
#include "sim_ops.hpp"

namespace flynet::sim_detail {

namespace {

// Index of a broadcast operand: each dim of `a` is the output's or 1.
size_t bidx(const Dims& a, int n, int y, int x, int c) {
  return ((size_t(a.n > 1 ? n : 0) * a.h + (a.h > 1 ? y : 0)) * a.w + (a.w > 1 ? x : 0)) * a.c + (a.c > 1 ? c : 0);
}

// out[i] = f(a[ia], b[ib]) over the output's elements in order, each operand broadcast.
template <class V, class R, class F>
void broadcast(const IntOp& o, const SimTensors& s, const std::vector<V>& a, const std::vector<V>& b,
               std::vector<R>& out, F f) {
  const Dims od = dims_of(s.tensor(o.outputs[0]));
  const Dims ad = dims_of(s.tensor(o.inputs[0])), bd = dims_of(s.tensor(o.inputs[1]));
  size_t i = 0;
  for (int n = 0; n < od.n; ++n)
    for (int y = 0; y < od.h; ++y)
      for (int x = 0; x < od.w; ++x)
        for (int c = 0; c < od.c; ++c, ++i) out[i] = f(a[bidx(ad, n, y, x, c)], b[bidx(bd, n, y, x, c)]);
}

// The integer variant of a binary op: f(code of a, code of b) -> output code.
template <class F>
void binary_integer(const IntOp& o, SimTensors& s, F f) {
  const int32_t y = o.outputs[0];
  std::vector<int32_t> out(s.numel(y));
  broadcast(o, s, s.codes(o.inputs[0]), s.codes(o.inputs[1]), out, f);
  s.set_codes(y, std::move(out));
}

// The real variant: f(value of a, value of b) -> output value, rounded once and clamped.
template <class F>
void binary_real(const IntOp& o, SimTensors& s, int32_t lo, int32_t hi, F f) {
  const int32_t y = o.outputs[0];
  std::vector<double> out(s.numel(y), 0.0);
  broadcast(o, s, s.real(o.inputs[0]), s.real(o.inputs[1]), out, f);
  s.store(y, out, lo, hi);
}

// Max over groups of g adjacent values: out[i] = max(x[i g], ..., x[i g + g - 1]).
template <class V>
void max_of_groups(const std::vector<V>& x, size_t g, std::vector<V>& out) {
  for (size_t i = 0; i < out.size(); ++i) {
    V m = x[i * g];
    for (size_t j = 1; j < g; ++j) m = std::max(m, x[i * g + j]);
    out[i] = m;
  }
}

}  // namespace

// Each operand to the common scale as (x - zp) 2^left_shift requantized, their sum requantized
// to the output.
void add_integer(const IntOp& o, SimTensors& s) {
  const auto p = o.get_params<flynet_add_params>();
  const int32_t za = s.tensor(o.inputs[0]).zero_point, zb = s.tensor(o.inputs[1]).zero_point;
  const int32_t zo = s.tensor(o.outputs[0]).zero_point;
  const int64_t up = int64_t(1) << p.left_shift;
  binary_integer(o, s, [&](int32_t a, int32_t b) {
    const int32_t sa = requant(wrap32((a - za) * up), p.input1_multiplier, p.input1_shift, p.rounding);
    const int32_t sb = requant(wrap32((b - zb) * up), p.input2_multiplier, p.input2_shift, p.rounding);
    const int32_t r = requant(wrap32(int64_t(sa) + sb), p.output_multiplier, p.output_shift, p.rounding);
    return clamp32(wrap32(int64_t(r) + zo), p.act_min, p.act_max);
  });
}

void add_real(const IntOp& o, SimTensors& s) {
  const auto p = o.get_params<flynet_add_params>();
  binary_real(o, s, p.act_min, p.act_max, [](double a, double b) { return a + b; });
}

void mul_integer(const IntOp& o, SimTensors& s) {
  const auto p = o.get_params<flynet_mul_params>();
  const int32_t za = s.tensor(o.inputs[0]).zero_point, zb = s.tensor(o.inputs[1]).zero_point;
  const int32_t zo = s.tensor(o.outputs[0]).zero_point;
  binary_integer(o, s, [&](int32_t a, int32_t b) {
    const int32_t r = requant(wrap32(int64_t(a - za) * (b - zb)), p.output_multiplier, p.output_shift, p.rounding);
    return clamp32(wrap32(int64_t(r) + zo), p.act_min, p.act_max);
  });
}

void mul_real(const IntOp& o, SimTensors& s) {
  const auto p = o.get_params<flynet_mul_params>();
  binary_real(o, s, p.act_min, p.act_max, [](double a, double b) { return a * b; });
}

// Raw codes: both inputs share the output's quantization.
void maximum_integer(const IntOp& o, SimTensors& s) {
  binary_integer(o, s, [](int32_t a, int32_t b) { return std::max(a, b); });
}

void maximum_real(const IntOp& o, SimTensors& s) {
  binary_real(o, s, -128, 127, [](double a, double b) { return std::max(a, b); });
}

void max_group_integer(const IntOp& o, SimTensors& s) {
  const int32_t y = o.outputs[0];
  std::vector<int32_t> out(s.numel(y));
  max_of_groups(s.codes(o.inputs[0]), size_t(o.get_params<flynet_max_group_params>().group_size), out);
  s.set_codes(y, std::move(out));
}

void max_group_real(const IntOp& o, SimTensors& s) {
  const int32_t y = o.outputs[0];
  std::vector<double> out(s.numel(y), 0.0);
  max_of_groups(s.real(o.inputs[0]), size_t(o.get_params<flynet_max_group_params>().group_size), out);
  s.store(y, out);
}

}  // namespace flynet::sim_detail
