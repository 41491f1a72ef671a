// The element-wise ops (logistic, hard-swish, hard-sigmoid, leaky ReLU, requantize) and softmax, in both
// arithmetics. The integer variants follow int8-semantics.md §8 and §8b: fixed-point exp and
// 1/(1+x) for logistic and softmax, TFLM's 16-bit pipeline for hard-swish and hard-sigmoid.
#include <bit>
#include <cmath>

#include "sim_ops.hpp"

namespace flynet::sim_detail {

namespace {

// x * 2^e saturated to int32 (gemmlowp SaturatingRoundingMultiplyByPOT, e >= 0).
int32_t sat_shl(int32_t x, int e) { return clamp32(int64_t(x) * (int64_t(1) << e), kMin32, kMax32); }

// exp(a) for a in [-1/4, 0), Q0.31 in and out: Taylor series around -1/8 to the 4th order.
int32_t exp_quarter(int32_t a) {
  constexpr int32_t kExpMinusEighth = 1895147668;  // exp(-1/8) * 2^31
  constexpr int32_t kThird = 715827883;            // 2^31 / 3
  const int32_t x = wrap32(int64_t(a) + (1 << 28));
  const int32_t x2 = high_mul(x, x), x3 = high_mul(x2, x), x4 = high_mul(x2, x2);
  const int32_t cubic = high_mul(wrap32(round_shift(x4, 2) + x3), kThird);
  const int32_t t = int32_t(round_shift(wrap32(int64_t(cubic) + x2), 1));
  return wrap32(int64_t(kExpMinusEighth) + high_mul(kExpMinusEighth, wrap32(int64_t(x) + t)));
}

// exp(a) for a <= 0 with `int_bits` integer bits (Q(int_bits).(31-int_bits)) -> Q0.31: the
// remainder in [-1/4, 0) by the series, then one multiply by exp(-2^E) per set bit of the rest.
int32_t exp_negative(int32_t a, int int_bits) {
  static constexpr int32_t kExpMinusPow2[7] = {1672461947, 1302514674, 790015084, 290630308,
                                               39332535,   720401,     242};  // exp(-2^E), E = -2..4
  const int frac = 31 - int_bits;
  const int32_t quarter = int32_t(1) << (frac - 2);
  const int32_t amq = wrap32(int64_t(a & (quarter - 1)) - quarter);
  int32_t r = exp_quarter(sat_shl(amq, int_bits));
  const int32_t rest = wrap32(int64_t(amq) - a);
  for (int E = -2; E <= 4; ++E)
    if (int_bits > E && ((rest >> (frac + E)) & 1)) r = high_mul(r, kExpMinusPow2[E + 2]);
  return a == 0 ? kMax32 : r;
}

// 1/(1+x) for x in [0, 1), Q0.31 in and out: three Newton-Raphson steps on the half
// denominator in Q2.29 from the 48/17 - 32/17 d starting point.
int32_t one_over_one_plus(int32_t x) {
  const int32_t half = int32_t(round_shift(int64_t(x) + kMax32, 1));
  int32_t r = wrap32(int64_t(1515870810) + high_mul(half, -1010580540));  // 48/17, -32/17 in Q2.29
  for (int i = 0; i < 3; ++i)
    r = wrap32(int64_t(r) + sat_shl(high_mul(r, wrap32((int64_t(1) << 29) - high_mul(half, r))), 2));
  return sat_shl(r, 1);
}

// The 16-bit steps of TFLM's hard-swish (§8b).
int32_t sat16(int64_t v) { return clamp32(v, -32768, 32767); }
int32_t high_mul16(int32_t a, int32_t b) {
  if (a == -32768 && b == -32768) return 32767;
  return (a * b + (1 << 14)) >> 15;
}
// relu6(x+3)/6 of v = x - zp as Q0.15 in [0, 32767], hard-swish's "reluish" half.
int32_t reluish(int32_t v, int32_t mult16, int32_t exponent) {
  int32_t r = v * 128;
  if (exponent > 0) r = sat16(int64_t(r) * (int64_t(1) << (exponent - 1)));
  r = high_mul16(r, mult16);
  if (exponent > 0) r = sat16(int64_t(r) * 2);
  if (exponent < 0) r = int32_t(round_shift(r, -exponent));
  return (r + 32768) >> 1;
}

// relu6(v + 3) / 6, the real hard-sigmoid.
double relu6_over_6(double v) { return std::clamp(v + 3.0, 0.0, 6.0) / 6.0; }

// out code i = f(input code i - input zero point).
template <class F>
void map_integer(const IntOp& o, SimTensors& s, F f) {
  const int32_t y = o.outputs[0];
  const std::vector<int32_t> x = s.centered(o.inputs[0]);
  std::vector<int32_t> out(s.numel(y));
  for (size_t i = 0; i < out.size(); ++i) out[i] = f(x[i]);
  s.set_codes(y, std::move(out));
}

// out value i = f(input value i), rounded once and clamped to [lo, hi].
template <class F>
void map_real(const IntOp& o, SimTensors& s, int32_t lo, int32_t hi, F f) {
  const int32_t y = o.outputs[0];
  const std::vector<double> x = s.real(o.inputs[0]);
  std::vector<double> out(s.numel(y), 0.0);
  for (size_t i = 0; i < x.size(); ++i) out[i] = f(x[i]);
  s.store(y, out, lo, hi);
}

// A softmax row: row_size values, or the channel dimension when it is 0.
size_t softmax_row(const IntOp& o, const SimTensors& s) {
  const int rs = o.get_params<flynet_softmax_params>().row_size;
  return size_t(rs > 0 ? rs : s.tensor(o.inputs[0]).dims[3]);
}

}  // namespace

void logistic_integer(const IntOp& o, SimTensors& s) {
  const auto p = o.get_params<flynet_logistic_params>();
  map_integer(o, s, [&](int32_t v) -> int32_t {
    if (v <= -p.input_range_radius) return -128;
    if (v >= p.input_range_radius) return 127;
    const int32_t a = requant(v, p.input_multiplier, p.input_left_shift, p.rounding);  // Q4.27
    // sigmoid(a) = 1/(1 + exp(-a)) for a > 0, 1 - 1/(1 + exp(a)) for a < 0 (Q0.31).
    const int32_t sig = a == 0 ? (1 << 30)
                        : a > 0 ? one_over_one_plus(exp_negative(-a, 4))
                                : wrap32(int64_t(kMax32) - one_over_one_plus(exp_negative(a, 4)));
    return clamp32(round_shift(sig, 23) - 128, -128, 127);
  });
}

void logistic_real(const IntOp& o, SimTensors& s) {
  map_real(o, s, -128, 127, [](double v) { return 1.0 / (1.0 + std::exp(-v)); });
}

void hard_swish_integer(const IntOp& o, SimTensors& s) {
  const auto p = o.get_params<flynet_hard_swish_params>();
  const int32_t zo = s.tensor(o.outputs[0]).zero_point;
  map_integer(o, s, [&](int32_t v) {
    const int32_t pre = high_mul16(v * 128, p.output_multiplier_int16);
    const int32_t r = reluish(v, p.reluish_multiplier_int16, p.reluish_exponent);
    const int32_t prod = (r * pre) / 32768;  // truncating: TFLM's SaturatingDoublingHighMul
    return clamp32(round_shift(prod, -p.output_exponent) + zo, -128, 127);
  });
}

void hard_swish_real(const IntOp& o, SimTensors& s) {
  map_real(o, s, -128, 127, [](double v) { return v * relu6_over_6(v); });
}

void hard_sigmoid_integer(const IntOp& o, SimTensors& s) {
  const auto p = o.get_params<flynet_hard_sigmoid_params>();
  const int32_t zo = s.tensor(o.outputs[0]).zero_point;
  map_integer(o, s, [&](int32_t v) {
    const int32_t r = reluish(v, p.reluish_multiplier_int16, p.reluish_exponent);
    const int32_t q = requant(r, p.output_multiplier, p.output_shift, p.rounding);
    return clamp32(wrap32(int64_t(q) + zo), p.act_min, p.act_max);
  });
}

void hard_sigmoid_real(const IntOp& o, SimTensors& s) {
  const auto p = o.get_params<flynet_hard_sigmoid_params>();
  map_real(o, s, p.act_min, p.act_max, relu6_over_6);
}

void leaky_relu_integer(const IntOp& o, SimTensors& s) {
  const auto p = o.get_params<flynet_leaky_relu_params>();
  const int32_t zo = s.tensor(o.outputs[0]).zero_point;
  map_integer(o, s, [&](int32_t v) {
    const int32_t r = v >= 0 ? requant(v, p.identity_multiplier, p.identity_shift, p.rounding)
                             : requant(v, p.alpha_multiplier, p.alpha_shift, p.rounding);
    return clamp32(wrap32(int64_t(r) + zo), p.act_min, p.act_max);
  });
}

// The slope below zero is the ratio of the two multipliers (the lowering's alpha).
void leaky_relu_real(const IntOp& o, SimTensors& s) {
  const auto p = o.get_params<flynet_leaky_relu_params>();
  const double alpha = std::ldexp(double(p.alpha_multiplier), p.alpha_shift) /
                       std::ldexp(double(p.identity_multiplier), p.identity_shift);
  map_real(o, s, p.act_min, p.act_max, [&](double v) { return v >= 0 ? v : alpha * v; });
}

void requantize_integer(const IntOp& o, SimTensors& s) {
  const auto p = o.get_params<flynet_requantize_params>();
  const int32_t zo = s.tensor(o.outputs[0]).zero_point;
  map_integer(o, s, [&](int32_t v) {
    return clamp32(wrap32(int64_t(requant(v, p.multiplier, p.shift, p.rounding)) + zo), p.act_min, p.act_max);
  });
}

void requantize_real(const IntOp& o, SimTensors& s) {
  const auto p = o.get_params<flynet_requantize_params>();
  map_real(o, s, p.act_min, p.act_max, [](double v) { return v; });
}

// exp(x - max) of each code in Q0.31, summed in Q12.19; 1/sum from 1/(1+f) of the sum's fraction
// f once normalised to [1, 2); the output in 1/256 steps from -128.
void softmax_integer(const IntOp& o, SimTensors& s) {
  const auto p = o.get_params<flynet_softmax_params>();
  const int32_t y = o.outputs[0];
  const std::vector<int32_t>& x = s.codes(o.inputs[0]);
  const size_t row = softmax_row(o, s);
  std::vector<int32_t> out(s.numel(y));
  // exp(d) of d = x - max <= 0 in Q0.31; the scaled difference is Q5.26.
  const auto exp_of = [&](int32_t d) {
    return exp_negative(high_mul(wrap32(int64_t(d) * (int64_t(1) << p.input_left_shift)), p.input_multiplier), 5);
  };
  for (size_t r0 = 0; r0 < x.size(); r0 += row) {
    const int32_t mx = *std::max_element(x.begin() + r0, x.begin() + r0 + row);
    int32_t sum = 0;  // Q12.19
    for (size_t j = 0; j < row; ++j) {
      const int32_t d = x[r0 + j] - mx;
      if (d >= p.diff_min) sum = wrap32(int64_t(sum) + round_shift(exp_of(d), 12));
    }
    const int lead = std::countl_zero(uint32_t(sum));
    const int32_t recip = one_over_one_plus(wrap32(int64_t(uint64_t(uint32_t(sum)) << lead) - (int64_t(1) << 31)));
    const int e = (12 - lead) + 23;  // to the output's 1/256 steps
    for (size_t j = 0; j < row; ++j) {
      const int32_t d = x[r0 + j] - mx;
      out[r0 + j] = d >= p.diff_min ? clamp32(round_shift(high_mul(recip, exp_of(d)), e) - 128, -128, 127) : -128;
    }
  }
  s.set_codes(y, std::move(out));
}

// The kernel writes each probability p in steps of 1/256 whatever the output's scale (h/256 for
// a head softmax, whose codes then read as h p), so the real value is p * 256 * scale.
void softmax_real(const IntOp& o, SimTensors& s) {
  const int32_t y = o.outputs[0];
  const std::vector<double> x = s.real(o.inputs[0]);
  const size_t row = softmax_row(o, s);
  const double gain = s.tensor(y).scale * 256.0;
  std::vector<double> out(s.numel(y), 0.0);
  for (size_t r0 = 0; r0 < x.size(); r0 += row) {
    double m = x[r0], sum = 0;
    for (size_t j = 1; j < row; ++j) m = std::max(m, x[r0 + j]);
    for (size_t j = 0; j < row; ++j) sum += std::exp(x[r0 + j] - m);
    for (size_t j = 0; j < row; ++j) out[r0 + j] = gain * std::exp(x[r0 + j] - m) / sum;
  }
  s.store(y, out);
}

}  // namespace flynet::sim_detail
