#include "flynet/quant/fake_quant_sim.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "flynet/core/graph.hpp"
#include "flynet/formats/error.hpp"
#include "flynet_format.h"

namespace flynet {

namespace {
struct Dims {
  int n, h, w, c;
};
Dims dims_of(const IntTensor& t) { return {t.dims[0], t.dims[1], t.dims[2], t.dims[3]}; }
int32_t i32_at(const IntTensor& t, size_t i) {
  int32_t v;
  std::memcpy(&v, t.data.data() + i * 4, 4);
  return v;
}
// Index of a broadcast operand: each dim of `a` is the output's or 1.
size_t bidx(const Dims& a, int n, int y, int x, int c) {
  return ((size_t(a.n > 1 ? n : 0) * a.h + (a.h > 1 ? y : 0)) * a.w + (a.w > 1 ? x : 0)) * a.c + (a.c > 1 ? c : 0);
}

// ---- The kernels' integer arithmetic, from int8-semantics.md §1, §8, §8b. Everything is
// computed exactly in int64 and then brought back to int32, because the targets' int32 adds
// and shifts wrap modulo 2^32.
constexpr int32_t kMax32 = std::numeric_limits<int32_t>::max();
constexpr int32_t kMin32 = std::numeric_limits<int32_t>::min();

int32_t wrap32(int64_t v) { return int32_t(uint32_t(uint64_t(v))); }
int32_t clamp32(int64_t v, int32_t lo, int32_t hi) { return int32_t(std::clamp<int64_t>(v, lo, hi)); }

// x / 2^e rounded to nearest, halves away from zero (RDBPOT), on the magnitude.
int64_t round_shift(int64_t x, int e) {
  if (e <= 0) return x;
  const uint64_t m = x < 0 ? 0 - uint64_t(x) : uint64_t(x);
  const int64_t q = int64_t((m + (uint64_t(1) << (e - 1))) >> e);
  return x < 0 ? -q : q;
}

// a*b / 2^31 rounded to nearest with halves toward +inf (SRDHM); (-1)*(-1) saturates.
int32_t high_mul(int32_t a, int32_t b) {
  if (a == kMin32 && b == kMin32) return kMax32;
  return int32_t((int64_t(a) * b + (int64_t(1) << 30)) >> 31);  // >> of a negative is floor
}

// x * mult * 2^(shift-31) in the op's rounding mode (§1.3); DEFAULT is quant/ref's build
// default, double rounding.
int32_t requant(int32_t x, int32_t mult, int32_t shift, int32_t rounding) {
  if (rounding == FLYNET_ROUNDING_SINGLE) {
    const int total = 31 - shift;
    if (total <= 0) return wrap32(int64_t(x) * mult);
    return wrap32((int64_t(x) * mult + (int64_t(1) << (total - 1))) >> total);
  }
  const int32_t up = wrap32(int64_t(x) * (int64_t(1) << std::max(shift, 0)));
  return int32_t(round_shift(high_mul(up, mult), std::max(-shift, 0)));
}

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

// floor(sqrt(v)), exact: a floating estimate corrected with overflow-free integer tests.
uint64_t floor_sqrt(uint64_t v) {
  uint64_t r = uint64_t(std::sqrt(static_cast<long double>(v)));
  while (r > 0 && r > v / r) --r;                  // r*r > v
  while (r + 1 <= v / (r + 1)) ++r;                // (r+1)^2 <= v
  return r;
}

bool simulated_op(int32_t op) {
  switch (op) {
    case FLYNET_OP_CONV2D: case FLYNET_OP_DEPTHWISE_CONV2D: case FLYNET_OP_FULLY_CONNECTED:
    case FLYNET_OP_ADD: case FLYNET_OP_MUL: case FLYNET_OP_MAXIMUM: case FLYNET_OP_MAX_GROUP:
    case FLYNET_OP_AVG_POOL2D: case FLYNET_OP_MAX_POOL2D: case FLYNET_OP_SOFTMAX:
    case FLYNET_OP_LOGISTIC: case FLYNET_OP_HARD_SWISH: case FLYNET_OP_HARD_SIGMOID:
    case FLYNET_OP_REQUANTIZE: case FLYNET_OP_CHANNEL_GATHER: case FLYNET_OP_CONCAT:
    case FLYNET_OP_VAECA_DESCRIPTOR: case FLYNET_OP_ECA_CONV1D:
      return true;
    default:
      return false;
  }
}
}  // namespace

FakeQuantSim::FakeQuantSim(const IntGraph& g, SimArithmetic a) : g_(g), a_(a), q_(g.tensors.size()) {
  for (const IntOp& o : g.ops)
    if (!simulated_op(o.op))
      throw Error(ErrorCode::unsupported, "fake-quant simulation: no model of op " + std::to_string(o.op) + " ('" + o.name + "')");
  // Constants keep their values in codes() too, so the integer ops read every operand alike.
  for (size_t t = 0; t < g.tensors.size(); ++t) {
    const IntTensor& T = g.tensors[t];
    if (!T.constant()) continue;
    q_[t].resize(size_t(T.numel()));
    for (size_t i = 0; i < q_[t].size(); ++i) q_[t][i] = T.type == FLYNET_TYPE_INT32 ? i32_at(T, i) : int8_t(T.data[i]);
  }
}

std::vector<double> FakeQuantSim::real(int32_t t) const {
  const IntTensor& T = g_.tensors[size_t(t)];
  const std::vector<int32_t>& q = q_[size_t(t)];
  std::vector<double> v(q.size());
  if (T.constant()) {
    for (size_t i = 0; i < v.size(); ++i) v[i] = q[i];
    return v;
  }
  for (size_t i = 0; i < v.size(); ++i) v[i] = (q[i] - T.zero_point) * T.scale;
  return v;
}

double FakeQuantSim::value(int32_t t, size_t i) const {
  const IntTensor& T = g_.tensors[size_t(t)];
  return (q_[size_t(t)][i] - T.zero_point) * T.scale;
}

void FakeQuantSim::store(int32_t t, const std::vector<double>& v, int32_t lo, int32_t hi) {
  const IntTensor& T = g_.tensors[size_t(t)];
  std::vector<int32_t>& q = q_[size_t(t)];
  q.resize(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    const double c = std::round(v[i] / T.scale) + T.zero_point;
    q[i] = int32_t(std::clamp(c, double(std::max(lo, -128)), double(std::min(hi, 127))));
  }
}

void FakeQuantSim::run(const int8_t* input) {
  const IntTensor& in = g_.tensors[size_t(g_.input)];
  q_[size_t(g_.input)].assign(input, input + in.numel());
  for (const IntOp& o : g_.ops) run_op(o);
}

void FakeQuantSim::run_isolated(
    const std::function<const int8_t*(int32_t)>& codes_of,
    const std::function<void(const IntOp&, int32_t, const std::vector<int32_t>&)>& on_output) {
  for (const IntOp& o : g_.ops) {
    for (int32_t t : o.inputs) {
      if (t < 0 || g_.tensors[size_t(t)].constant()) continue;
      const int8_t* c = codes_of(t);
      q_[size_t(t)].assign(c, c + g_.tensors[size_t(t)].numel());
    }
    run_op(o);
    for (int32_t t : o.outputs) on_output(o, t, q_[size_t(t)]);
  }
}

void FakeQuantSim::run_op(const IntOp& o) {
  if (a_ == SimArithmetic::integer)
    run_op_integer(o);
  else
    run_op_real(o);
}

void FakeQuantSim::run_op_real(const IntOp& o) {
  {
    const int32_t y = o.outputs[0];
    const Dims od = dims_of(g_.tensors[size_t(y)]);
    std::vector<double> out(size_t(g_.tensors[size_t(y)].numel()), 0.0);
    switch (o.op) {
      case FLYNET_OP_CONV2D:
      case FLYNET_OP_DEPTHWISE_CONV2D: {
        const auto p = o.get_params<flynet_conv2d_params>();
        const std::vector<double> x = real(o.inputs[0]);
        const IntTensor& W = g_.tensors[size_t(o.inputs[1])];
        const Dims xd = dims_of(g_.tensors[size_t(o.inputs[0])]), wd = dims_of(W);
        const bool dw = o.op == FLYNET_OP_DEPTHWISE_CONV2D;
        const int KH = wd.h, KW = wd.w, ci = dw ? 1 : wd.c, mult = dw ? od.c / xd.c : 0;
        const int groups = dw ? xd.c : xd.c / ci, opg = od.c / groups;
        const double s_in = g_.tensors[size_t(o.inputs[0])].scale;
        const std::vector<int32_t>& w = q_[size_t(o.inputs[1])];
        std::vector<double> acc(size_t(od.c));  // in units of each channel's weight scale
        for (int oy = 0; oy < od.h; ++oy)
          for (int ox = 0; ox < od.w; ++ox) {
            std::fill(acc.begin(), acc.end(), 0.0);
            for (int ky = 0; ky < KH; ++ky)
              for (int kx = 0; kx < KW; ++kx) {
                const int iy = oy * p.stride_h - p.pad_h + ky * p.dilation_h;
                const int ix = ox * p.stride_w - p.pad_w + kx * p.dilation_w;
                if (iy < 0 || ix < 0 || iy >= xd.h || ix >= xd.w) continue;
                const double* xp = &x[size_t((iy * xd.w + ix) * xd.c)];
                if (dw) {
                  const int32_t* wp = &w[size_t((ky * KW + kx) * od.c)];
                  for (int oc = 0; oc < od.c; ++oc) acc[size_t(oc)] += xp[oc / mult] * wp[oc];
                } else {
                  for (int oc = 0; oc < od.c; ++oc) {
                    const double* xg = xp + (oc / opg) * ci;
                    const int32_t* wp = &w[size_t(((oc * KH + ky) * KW + kx) * ci)];
                    double a = 0;
                    for (int c = 0; c < ci; ++c) a += xg[c] * wp[c];
                    acc[size_t(oc)] += a;
                  }
                }
              }
            for (int oc = 0; oc < od.c; ++oc) {
              const double ws = W.channel_scales.size() > 1 ? W.channel_scales[size_t(oc)] : W.scale;
              const double bias = o.inputs[2] >= 0 ? q_[size_t(o.inputs[2])][size_t(oc)] * s_in : 0.0;
              out[size_t((oy * od.w + ox) * od.c + oc)] = (acc[size_t(oc)] + bias) * ws;
            }
          }
        store(y, out, p.act_min, p.act_max);
        break;
      }
      case FLYNET_OP_FULLY_CONNECTED: {
        const auto p = o.get_params<flynet_fully_connected_params>();
        const std::vector<double> x = real(o.inputs[0]);
        const IntTensor& W = g_.tensors[size_t(o.inputs[1])];
        const int K = W.dims[3];
        const double s_in = g_.tensors[size_t(o.inputs[0])].scale;
        for (int oc = 0; oc < od.c; ++oc) {
          const double ws = W.channel_scales.size() > 1 ? W.channel_scales[size_t(oc)] : W.scale;
          double acc = o.inputs[2] >= 0 ? q_[size_t(o.inputs[2])][size_t(oc)] * s_in * ws : 0.0;
          for (int k = 0; k < K; ++k) acc += x[size_t(k)] * int8_t(W.data[size_t(oc * K + k)]) * ws;
          out[size_t(oc)] = acc;
        }
        store(y, out, p.act_min, p.act_max);
        break;
      }
      case FLYNET_OP_ADD:
      case FLYNET_OP_MUL:
      case FLYNET_OP_MAXIMUM: {
        const std::vector<double> a = real(o.inputs[0]), b = real(o.inputs[1]);
        const Dims ad = dims_of(g_.tensors[size_t(o.inputs[0])]), bd = dims_of(g_.tensors[size_t(o.inputs[1])]);
        for (int n = 0; n < od.n; ++n)
          for (int yy = 0; yy < od.h; ++yy)
            for (int xx = 0; xx < od.w; ++xx)
              for (int c = 0; c < od.c; ++c) {
                const double va = a[bidx(ad, n, yy, xx, c)], vb = b[bidx(bd, n, yy, xx, c)];
                out[size_t(((n * od.h + yy) * od.w + xx) * od.c + c)] =
                    o.op == FLYNET_OP_ADD ? va + vb : o.op == FLYNET_OP_MUL ? va * vb : std::max(va, vb);
              }
        if (o.op == FLYNET_OP_ADD)
          store(y, out, o.get_params<flynet_add_params>().act_min, o.get_params<flynet_add_params>().act_max);
        else if (o.op == FLYNET_OP_MUL)
          store(y, out, o.get_params<flynet_mul_params>().act_min, o.get_params<flynet_mul_params>().act_max);
        else
          store(y, out);
        break;
      }
      case FLYNET_OP_MAX_GROUP: {
        const int gsz = o.get_params<flynet_max_group_params>().group_size;
        const std::vector<double> x = real(o.inputs[0]);
        for (size_t i = 0; i < out.size(); ++i) {
          double m = x[i * size_t(gsz)];
          for (int j = 1; j < gsz; ++j) m = std::max(m, x[i * size_t(gsz) + size_t(j)]);
          out[i] = m;
        }
        store(y, out);
        break;
      }
      case FLYNET_OP_AVG_POOL2D:
      case FLYNET_OP_MAX_POOL2D: {
        const auto p = o.get_params<flynet_pool2d_params>();
        const std::vector<double> x = real(o.inputs[0]);
        const Dims xd = dims_of(g_.tensors[size_t(o.inputs[0])]);
        for (int oy = 0; oy < od.h; ++oy)
          for (int ox = 0; ox < od.w; ++ox)
            for (int c = 0; c < od.c; ++c) {
              double acc = 0, m = -1e300;
              int cnt = 0;
              for (int ky = 0; ky < p.filter_h; ++ky)
                for (int kx = 0; kx < p.filter_w; ++kx) {
                  const int iy = oy * p.stride_h - p.pad_h + ky, ix = ox * p.stride_w - p.pad_w + kx;
                  if (iy < 0 || ix < 0 || iy >= xd.h || ix >= xd.w) continue;
                  const double v = x[size_t((iy * xd.w + ix) * xd.c + c)];
                  acc += v;
                  m = std::max(m, v);
                  ++cnt;
                }
              out[size_t((oy * od.w + ox) * od.c + c)] = o.op == FLYNET_OP_AVG_POOL2D ? acc / cnt : m;
            }
        store(y, out, p.act_min, p.act_max);
        break;
      }
      case FLYNET_OP_SOFTMAX: {
        const int rs = o.get_params<flynet_softmax_params>().row_size;
        const int row = rs > 0 ? rs : g_.tensors[size_t(o.inputs[0])].dims[3];  // 0: the C dimension
        const std::vector<double> x = real(o.inputs[0]);
        const double gain = g_.tensors[size_t(y)].scale * 256.0;  // h for the head softmax
        for (size_t r0 = 0; r0 < x.size(); r0 += size_t(row)) {
          double m = x[r0], s = 0;
          for (int j = 1; j < row; ++j) m = std::max(m, x[r0 + size_t(j)]);
          for (int j = 0; j < row; ++j) s += std::exp(x[r0 + size_t(j)] - m);
          for (int j = 0; j < row; ++j) out[r0 + size_t(j)] = gain * std::exp(x[r0 + size_t(j)] - m) / s;
        }
        store(y, out);
        break;
      }
      case FLYNET_OP_LOGISTIC:
      case FLYNET_OP_HARD_SWISH:
      case FLYNET_OP_HARD_SIGMOID:
      case FLYNET_OP_REQUANTIZE: {
        const std::vector<double> x = real(o.inputs[0]);
        int32_t lo = -128, hi = 127;
        if (o.op == FLYNET_OP_HARD_SIGMOID) {
          lo = o.get_params<flynet_hard_sigmoid_params>().act_min;
          hi = o.get_params<flynet_hard_sigmoid_params>().act_max;
        } else if (o.op == FLYNET_OP_REQUANTIZE) {
          lo = o.get_params<flynet_requantize_params>().act_min;
          hi = o.get_params<flynet_requantize_params>().act_max;
        }
        for (size_t i = 0; i < x.size(); ++i) {
          const double v = x[i], r6 = std::clamp(v + 3.0, 0.0, 6.0) / 6.0;
          out[i] = o.op == FLYNET_OP_LOGISTIC ? 1.0 / (1.0 + std::exp(-v))
                   : o.op == FLYNET_OP_HARD_SWISH ? v * r6
                   : o.op == FLYNET_OP_HARD_SIGMOID ? r6
                                                    : v;
        }
        store(y, out, lo, hi);
        break;
      }
      case FLYNET_OP_CHANNEL_GATHER: {
        const std::vector<double> x = real(o.inputs[0]);
        const IntTensor& idx = g_.tensors[size_t(o.inputs[1])];
        const int cin = g_.tensors[size_t(o.inputs[0])].dims[3];
        for (size_t p = 0; p < out.size() / size_t(od.c); ++p)
          for (int c = 0; c < od.c; ++c) out[p * size_t(od.c) + size_t(c)] = x[p * size_t(cin) + size_t(i32_at(idx, size_t(c)))];
        store(y, out);
        break;
      }
      case FLYNET_OP_CONCAT: {
        size_t at = 0;
        const size_t outer = out.size() / size_t(od.c);
        for (int32_t t : o.inputs) {
          const std::vector<double> x = real(t);
          const size_t c = size_t(g_.tensors[size_t(t)].dims[3]);
          for (size_t p = 0; p < outer; ++p)
            for (size_t k = 0; k < c; ++k) out[p * size_t(od.c) + at + k] = x[p * c + k];
          at += c;
        }
        store(y, out);
        break;
      }
      case FLYNET_OP_VAECA_DESCRIPTOR: {
        const std::vector<double> z = real(o.inputs[0]);
        const Dims zd = dims_of(g_.tensors[size_t(o.inputs[0])]);
        const size_t P = size_t(zd.h) * zd.w, C = size_t(zd.c);
        std::vector<double> mean(C * size_t(zd.n)), sd(mean.size());
        for (size_t n = 0; n < size_t(zd.n); ++n)
          for (size_t c = 0; c < C; ++c) {
            double s = 0, s2 = 0;
            for (size_t i = 0; i < P; ++i) {
              const double v = z[(n * P + i) * C + c];
              s += v;
              s2 += v * v;
            }
            const double m = s / double(P);
            mean[n * C + c] = m;
            sd[n * C + c] = std::sqrt(std::max(0.0, s2 / double(P) - m * m) + kVaEcaStdEps);
          }
        store(o.outputs[0], mean);
        store(o.outputs[1], sd);
        break;
      }
      case FLYNET_OP_ECA_CONV1D: {
        const auto p = o.get_params<flynet_eca_conv1d_params>();
        const std::vector<double> mean = real(o.inputs[0]), sd = real(o.inputs[1]);
        const IntTensor& W = g_.tensors[size_t(o.inputs[2])];
        const int k = W.dims[2], pad = (k - 1) / 2, h = p.heads, C = od.c, E = C / h;
        for (int n = 0; n < od.n; ++n)
          for (int c = 0; c < E; ++c)
            for (int j = 0; j < h; ++j) {
              double acc = 0;
              for (int t = 0; t < k; ++t) {
                const int cc = c + t - pad;
                if (cc < 0 || cc >= E) continue;
                const size_t i = size_t(n * C + cc * h + j);
                acc += int8_t(W.data[size_t(t * 2)]) * W.channel_scales[0] * mean[i] +
                       int8_t(W.data[size_t(t * 2 + 1)]) * W.channel_scales[1] * sd[i];
              }
              out[size_t(n * C + c * h + j)] = acc;
            }
        store(y, out, p.act_min, p.act_max);
        break;
      }
      default:
        throw Error(ErrorCode::unsupported, "fake-quant simulation: no model of op " + std::to_string(o.op) + " ('" + o.name + "')");
    }
  }
}

// The same ops in the kernels' integer arithmetic. Inputs are codes; zero points come from the
// tensors, multipliers and rounding modes from the op's record or its int32 operands, exactly
// what the reference interpreter hands its kernels.
void FakeQuantSim::run_op_integer(const IntOp& o) {
  const auto T = [&](int32_t t) -> const IntTensor& { return g_.tensors[size_t(t)]; };
  const auto Q = [&](int32_t t) -> const std::vector<int32_t>& { return q_[size_t(t)]; };
  const int32_t y = o.outputs[0];
  const Dims od = dims_of(T(y));
  const int32_t zo = T(y).zero_point;
  std::vector<int32_t> out(size_t(T(y).numel()));
  switch (o.op) {
    case FLYNET_OP_CONV2D:
    case FLYNET_OP_DEPTHWISE_CONV2D: {
      const auto p = o.get_params<flynet_conv2d_params>();
      const int32_t xt = o.inputs[0], zi = T(xt).zero_point;
      const Dims xd = dims_of(T(xt)), wd = dims_of(T(o.inputs[1]));
      std::vector<int32_t> x = Q(xt);
      for (int32_t& v : x) v -= zi;
      const std::vector<int32_t>& w = Q(o.inputs[1]);
      const std::vector<int32_t>& mult = Q(o.inputs[3]);
      const std::vector<int32_t>& shift = Q(o.inputs[4]);
      const bool dw = o.op == FLYNET_OP_DEPTHWISE_CONV2D, per_channel = mult.size() > 1;
      const int KH = wd.h, KW = wd.w, kc = dw ? 1 : wd.c;
      if (kc > 66000) throw Error(ErrorCode::unsupported, "fake-quant simulation: '" + o.name + "' has too many input channels");
      const int ch_mult = dw ? od.c / xd.c : 1, per_group = dw ? 1 : od.c / (xd.c / kc);
      std::vector<int64_t> acc(size_t(od.c));
      for (int n = 0; n < od.n; ++n)
        for (int oy = 0; oy < od.h; ++oy)
          for (int ox = 0; ox < od.w; ++ox) {
            std::fill(acc.begin(), acc.end(), 0);
            const auto tap_at = [&](int ky, int kx) -> const int32_t* {  // the input pixel, or null in the padding
              const int iy = oy * p.stride_h - p.pad_h + ky * p.dilation_h;
              const int ix = ox * p.stride_w - p.pad_w + kx * p.dilation_w;
              if (iy < 0 || iy >= xd.h || ix < 0 || ix >= xd.w) return nullptr;
              return &x[((size_t(n) * xd.h + iy) * xd.w + ix) * xd.c];
            };
            if (dw) {
              // Tap by tap over all channels: output channel ic * ch_mult + m reads input channel ic.
              for (int ky = 0; ky < KH; ++ky)
                for (int kx = 0; kx < KW; ++kx) {
                  const int32_t* xp = tap_at(ky, kx);
                  if (!xp) continue;
                  const int32_t* wp = &w[(size_t(ky) * KW + kx) * od.c];
                  for (int ic = 0; ic < xd.c; ++ic)
                    for (int m = 0; m < ch_mult; ++m) acc[size_t(ic * ch_mult + m)] += wp[ic * ch_mult + m] * xp[ic];
                }
            } else {
              for (int oc = 0; oc < od.c; ++oc)
                for (int ky = 0; ky < KH; ++ky)
                  for (int kx = 0; kx < KW; ++kx) {
                    const int32_t* xp = tap_at(ky, kx);
                    if (!xp) continue;
                    xp += (oc / per_group) * kc;
                    // One tap's channels in int32: |w (x - zp)| <= 127 * 255, so exact below 66311.
                    const int32_t* wp = &w[((size_t(oc) * KH + ky) * KW + kx) * kc];
                    int32_t tap = 0;
                    for (int c = 0; c < kc; ++c) tap += wp[c] * xp[c];
                    acc[size_t(oc)] += tap;
                  }
            }
            for (int oc = 0; oc < od.c; ++oc) {
              const int64_t a = acc[size_t(oc)] + (o.inputs[2] >= 0 ? Q(o.inputs[2])[size_t(oc)] : 0);
              const size_t qc = per_channel ? size_t(oc) : 0;
              const int32_t r = requant(wrap32(a), mult[qc], shift[qc], p.rounding);
              out[((size_t(n) * od.h + oy) * od.w + ox) * od.c + oc] = clamp32(wrap32(int64_t(r) + zo), p.act_min, p.act_max);
            }
          }
      break;
    }
    case FLYNET_OP_FULLY_CONNECTED: {
      const auto p = o.get_params<flynet_fully_connected_params>();
      const int32_t xt = o.inputs[0], zi = T(xt).zero_point;
      const std::vector<int32_t>& x = Q(xt);
      const std::vector<int32_t>& w = Q(o.inputs[1]);
      const std::vector<int32_t>& mult = Q(o.inputs[3]);
      const std::vector<int32_t>& shift = Q(o.inputs[4]);
      const int batches = T(xt).dims[0];
      const size_t K = x.size() / size_t(batches), C = out.size() / size_t(batches);
      for (int n = 0; n < batches; ++n)
        for (size_t oc = 0; oc < C; ++oc) {
          int64_t acc = o.inputs[2] >= 0 ? Q(o.inputs[2])[oc] : 0;
          for (size_t k = 0; k < K; ++k) acc += int64_t(w[oc * K + k] + p.filter_offset) * (x[n * K + k] - zi);
          const size_t qc = mult.size() > 1 ? oc : 0;
          const int32_t r = requant(wrap32(acc), mult[qc], shift[qc], p.rounding);
          out[n * C + oc] = clamp32(wrap32(int64_t(r) + zo), p.act_min, p.act_max);
        }
      break;
    }
    case FLYNET_OP_ADD:
    case FLYNET_OP_MUL:
    case FLYNET_OP_MAXIMUM: {
      const int32_t at = o.inputs[0], bt = o.inputs[1], za = T(at).zero_point, zb = T(bt).zero_point;
      const Dims ad = dims_of(T(at)), bd = dims_of(T(bt));
      const std::vector<int32_t>& a = Q(at);
      const std::vector<int32_t>& b = Q(bt);
      const auto add = o.get_params<flynet_add_params>();
      const auto mul = o.get_params<flynet_mul_params>();
      size_t i = 0;
      for (int n = 0; n < od.n; ++n)
        for (int yy = 0; yy < od.h; ++yy)
          for (int xx = 0; xx < od.w; ++xx)
            for (int c = 0; c < od.c; ++c, ++i) {
              const int32_t va = a[bidx(ad, n, yy, xx, c)], vb = b[bidx(bd, n, yy, xx, c)];
              if (o.op == FLYNET_OP_MAXIMUM) {
                out[i] = std::max(va, vb);  // raw codes: both inputs share the output's quantization
              } else if (o.op == FLYNET_OP_ADD) {
                const int64_t up = int64_t(1) << add.left_shift;
                const int32_t sa = requant(wrap32((va - za) * up), add.input1_multiplier, add.input1_shift, add.rounding);
                const int32_t sb = requant(wrap32((vb - zb) * up), add.input2_multiplier, add.input2_shift, add.rounding);
                const int32_t r = requant(wrap32(int64_t(sa) + sb), add.output_multiplier, add.output_shift, add.rounding);
                out[i] = clamp32(wrap32(int64_t(r) + zo), add.act_min, add.act_max);
              } else {
                const int32_t r = requant(wrap32(int64_t(va - za) * (vb - zb)), mul.output_multiplier, mul.output_shift, mul.rounding);
                out[i] = clamp32(wrap32(int64_t(r) + zo), mul.act_min, mul.act_max);
              }
            }
      break;
    }
    case FLYNET_OP_MAX_GROUP: {
      const size_t gsz = size_t(o.get_params<flynet_max_group_params>().group_size);
      const std::vector<int32_t>& x = Q(o.inputs[0]);
      for (size_t i = 0; i < out.size(); ++i) out[i] = *std::max_element(x.begin() + i * gsz, x.begin() + (i + 1) * gsz);
      break;
    }
    case FLYNET_OP_AVG_POOL2D:
    case FLYNET_OP_MAX_POOL2D: {
      const auto p = o.get_params<flynet_pool2d_params>();
      const std::vector<int32_t>& x = Q(o.inputs[0]);
      const Dims xd = dims_of(T(o.inputs[0]));
      for (int n = 0; n < od.n; ++n)
        for (int oy = 0; oy < od.h; ++oy)
          for (int ox = 0; ox < od.w; ++ox)
            for (int c = 0; c < od.c; ++c) {
              int64_t sum = 0;
              int32_t m = -128, count = 0;
              for (int ky = 0; ky < p.filter_h; ++ky)
                for (int kx = 0; kx < p.filter_w; ++kx) {
                  const int iy = oy * p.stride_h - p.pad_h + ky, ix = ox * p.stride_w - p.pad_w + kx;
                  if (iy < 0 || ix < 0 || iy >= xd.h || ix >= xd.w) continue;
                  const int32_t v = x[((size_t(n) * xd.h + iy) * xd.w + ix) * xd.c + c];
                  sum += v;
                  m = std::max(m, v);
                  ++count;
                }
              // Average of raw codes (no zero point), halves away from zero; the reference
              // rejects an empty window, which lowering never produces.
              int64_t r = m;
              if (o.op == FLYNET_OP_AVG_POOL2D) {
                const int64_t mag = ((sum < 0 ? -sum : sum) + std::max(count, 1) / 2) / std::max(count, 1);
                r = sum < 0 ? -mag : mag;
              }
              out[((size_t(n) * od.h + oy) * od.w + ox) * od.c + c] = clamp32(r, p.act_min, p.act_max);
            }
      break;
    }
    case FLYNET_OP_SOFTMAX: {
      const auto p = o.get_params<flynet_softmax_params>();
      const std::vector<int32_t>& x = Q(o.inputs[0]);
      const size_t row = size_t(p.row_size > 0 ? p.row_size : T(o.inputs[0]).dims[3]);
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
        // 1/sum: normalise sum to [1, 2) x 2^-lead, take 1/(1+f) of the fraction f.
        const int lead = std::countl_zero(uint32_t(sum));
        const int32_t recip = one_over_one_plus(wrap32(int64_t(uint64_t(uint32_t(sum)) << lead) - (int64_t(1) << 31)));
        const int e = (12 - lead) + 23;  // to the output's 1/256 steps
        for (size_t j = 0; j < row; ++j) {
          const int32_t d = x[r0 + j] - mx;
          out[r0 + j] = d >= p.diff_min ? clamp32(round_shift(high_mul(recip, exp_of(d)), e) - 128, -128, 127) : -128;
        }
      }
      break;
    }
    case FLYNET_OP_LOGISTIC: {
      const auto p = o.get_params<flynet_logistic_params>();
      const std::vector<int32_t>& x = Q(o.inputs[0]);
      const int32_t zi = T(o.inputs[0]).zero_point;
      for (size_t i = 0; i < out.size(); ++i) {
        const int32_t v = x[i] - zi;
        if (v <= -p.input_range_radius) {
          out[i] = -128;
        } else if (v >= p.input_range_radius) {
          out[i] = 127;
        } else {
          const int32_t a = requant(v, p.input_multiplier, p.input_left_shift, p.rounding);  // Q4.27
          // sigmoid(a) = 1/(1 + exp(-a)) for a > 0, 1 - 1/(1 + exp(a)) for a < 0 (Q0.31).
          const int32_t s = a == 0 ? (1 << 30)
                            : a > 0 ? one_over_one_plus(exp_negative(-a, 4))
                                    : wrap32(int64_t(kMax32) - one_over_one_plus(exp_negative(a, 4)));
          out[i] = clamp32(round_shift(s, 23) - 128, -128, 127);
        }
      }
      break;
    }
    case FLYNET_OP_HARD_SWISH: {
      const auto p = o.get_params<flynet_hard_swish_params>();
      const std::vector<int32_t>& x = Q(o.inputs[0]);
      const int32_t zi = T(o.inputs[0]).zero_point;
      for (size_t i = 0; i < out.size(); ++i) {
        const int32_t v = x[i] - zi;
        const int32_t pre = high_mul16(v * 128, p.output_multiplier_int16);
        const int32_t r = reluish(v, p.reluish_multiplier_int16, p.reluish_exponent);
        const int32_t prod = (r * pre) / 32768;  // truncating: TFLM's SaturatingDoublingHighMul
        out[i] = clamp32(round_shift(prod, -p.output_exponent) + zo, -128, 127);
      }
      break;
    }
    case FLYNET_OP_HARD_SIGMOID: {
      const auto p = o.get_params<flynet_hard_sigmoid_params>();
      const std::vector<int32_t>& x = Q(o.inputs[0]);
      const int32_t zi = T(o.inputs[0]).zero_point;
      for (size_t i = 0; i < out.size(); ++i) {
        const int32_t r = reluish(x[i] - zi, p.reluish_multiplier_int16, p.reluish_exponent);
        const int32_t s = requant(r, p.output_multiplier, p.output_shift, p.rounding);
        out[i] = clamp32(wrap32(int64_t(s) + zo), p.act_min, p.act_max);
      }
      break;
    }
    case FLYNET_OP_REQUANTIZE: {
      const auto p = o.get_params<flynet_requantize_params>();
      const std::vector<int32_t>& x = Q(o.inputs[0]);
      const int32_t zi = T(o.inputs[0]).zero_point;
      for (size_t i = 0; i < out.size(); ++i)
        out[i] = clamp32(wrap32(int64_t(requant(x[i] - zi, p.multiplier, p.shift, p.rounding)) + zo), p.act_min, p.act_max);
      break;
    }
    case FLYNET_OP_CHANNEL_GATHER: {
      const std::vector<int32_t>& x = Q(o.inputs[0]);
      const std::vector<int32_t>& idx = Q(o.inputs[1]);
      const size_t cin = size_t(T(o.inputs[0]).dims[3]), C = size_t(od.c);
      for (size_t px = 0; px < out.size() / C; ++px)
        for (size_t c = 0; c < C; ++c) out[px * C + c] = x[px * cin + size_t(idx[c])];
      break;
    }
    case FLYNET_OP_CONCAT: {
      size_t at = 0;
      const size_t C = size_t(od.c), outer = out.size() / C;
      for (int32_t t : o.inputs) {
        const std::vector<int32_t>& x = Q(t);
        const size_t c = size_t(T(t).dims[3]);
        for (size_t px = 0; px < outer; ++px) std::copy_n(x.begin() + px * c, c, out.begin() + px * C + at);
        at += c;
      }
      break;
    }
    case FLYNET_OP_VAECA_DESCRIPTOR: {
      const auto p = o.get_params<flynet_vaeca_descriptor_params>();
      const int32_t zt = o.inputs[0], zi = T(zt).zero_point;
      const std::vector<int32_t>& z = Q(zt);
      const Dims zd = dims_of(T(zt));
      const size_t P = size_t(zd.h) * zd.w, C = size_t(zd.c);
      const uint64_t eps_q = (uint64_t(p.eps_q_hi) << 32) | p.eps_q_lo;
      std::vector<int32_t> mean(C * zd.n), sd(C * zd.n);
      for (size_t n = 0; n < size_t(zd.n); ++n)
        for (size_t c = 0; c < C; ++c) {
          int64_t s1 = 0, s2 = 0;
          for (size_t i = 0; i < P; ++i) {
            const int64_t v = z[(n * P + i) * C + c] - zi;
            s1 += v;
            s2 += v * v;
          }
          // P^2 var in input steps^2, exact; its root with F fraction bits and the epsilon.
          const uint64_t D = uint64_t(int64_t(P) * s2 - s1 * s1);
          const uint64_t R = floor_sqrt((D << (2 * p.sqrt_frac_bits)) + eps_q);
          const int32_t zm = T(o.outputs[0]).zero_point, zs = T(o.outputs[1]).zero_point;
          mean[n * C + c] = clamp32(wrap32(int64_t(requant(int32_t(s1), p.mean_multiplier, p.mean_shift, p.rounding)) + zm), -128, 127);
          sd[n * C + c] = clamp32(wrap32(int64_t(requant(wrap32(int64_t(R)), p.std_multiplier, p.std_shift, p.rounding)) + zs), -128, 127);
        }
      q_[size_t(o.outputs[0])] = std::move(mean);
      q_[size_t(o.outputs[1])] = std::move(sd);
      return;
    }
    case FLYNET_OP_ECA_CONV1D: {
      const auto p = o.get_params<flynet_eca_conv1d_params>();
      const int32_t mt = o.inputs[0], st = o.inputs[1];
      const std::vector<int32_t>& mean = Q(mt);
      const std::vector<int32_t>& sd = Q(st);
      const std::vector<int32_t>& w = Q(o.inputs[2]);
      const int32_t zm = T(mt).zero_point, zs = T(st).zero_point;
      const int k = T(o.inputs[2]).dims[2], pad = (k - 1) / 2, h = p.heads, C = od.c, E = C / h;
      for (int n = 0; n < od.n; ++n)
        for (int c = 0; c < E; ++c)
          for (int j = 0; j < h; ++j) {
            int64_t am = 0, as = 0;
            for (int t = 0; t < k; ++t) {
              const int cc = c + t - pad;
              if (cc < 0 || cc >= E) continue;
              const size_t i = size_t(n) * C + size_t(cc) * h + j;
              am += int64_t(w[size_t(t) * 2]) * (mean[i] - zm);
              as += int64_t(w[size_t(t) * 2 + 1]) * (sd[i] - zs);
            }
            // Each partial sum to s_out / 2^sum_shift, then the sum rounded once more.
            const int32_t sum = wrap32(int64_t(requant(wrap32(am), p.mean_multiplier, p.mean_shift, p.rounding)) +
                                       requant(wrap32(as), p.std_multiplier, p.std_shift, p.rounding));
            out[size_t(n) * C + size_t(c) * h + j] =
                clamp32(wrap32(round_shift(sum, p.sum_shift) + zo), p.act_min, p.act_max);
          }
      break;
    }
    default:
      throw Error(ErrorCode::unsupported, "fake-quant simulation: no model of op " + std::to_string(o.op) + " ('" + o.name + "')");
  }
  q_[size_t(y)] = std::move(out);
}

}  // namespace flynet
