// Independent naive int8 reference for the flyref tests, written from
// shared/design/int8-semantics.md in C++: int64/__int128 arithmetic, the *original* (nudge / mask)
// formulations of the rounding primitives rather than the closed forms the C library uses, and
// plain loops. Nothing here calls quant/ref.
#ifndef FLYNET_TESTS_QUANT_REF_NAIVE_REF_HPP_
#define FLYNET_TESTS_QUANT_REF_NAIVE_REF_HPP_

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

namespace naive {

using i128 = __int128;

inline int32_t wrap32(int64_t v) { return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(v))); }

/// gemmlowp-style SRDHM: nudge toward the sign, then C (truncating) division by 2^31.
inline int32_t srdhm(int32_t a, int32_t b) {
  if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
  const int64_t ab = static_cast<int64_t>(a) * b;
  const int64_t nudge = ab >= 0 ? (int64_t{1} << 30) : (1 - (int64_t{1} << 30));
  return static_cast<int32_t>((ab + nudge) / (int64_t{1} << 31));
}

/// Mask/threshold rounding divide by 2^e (halves away from zero).
inline int32_t rdbpot(int32_t x, int e) {
  const int64_t mask = (int64_t{1} << e) - 1;
  const int64_t rem = static_cast<int64_t>(x) & mask;
  const int64_t thr = (mask >> 1) + (x < 0 ? 1 : 0);
  return static_cast<int32_t>((static_cast<int64_t>(x) >> e) + (rem > thr ? 1 : 0));
}

/// floor(a / 2^e) for a 128-bit value, written as an explicit division.
inline i128 floor_div_pow2(i128 a, int e) {
  const i128 d = static_cast<i128>(1) << e;
  i128 q = a / d;
  if ((a % d) != 0 && a < 0) q -= 1;
  return q;
}

inline int32_t requant_double(int32_t x, int32_t m, int s) {
  const int ls = s > 0 ? s : 0, rs = s > 0 ? 0 : -s;
  const int32_t shifted = wrap32(static_cast<int64_t>(x) * (int64_t{1} << ls));
  return rdbpot(srdhm(shifted, m), rs);
}

/// Single rounding as the exact rational floor(x*m / 2^(31-s) + 1/2).
inline int32_t requant_single(int32_t x, int32_t m, int s) {
  const int total = 31 - s;
  const i128 num = static_cast<i128>(x) * m + (static_cast<i128>(1) << (total - 1));
  return wrap32(static_cast<int64_t>(floor_div_pow2(num, total)));
}

inline int32_t requant(int32_t x, int32_t m, int s, bool single) {
  return single ? requant_single(x, m, s) : requant_double(x, m, s);
}

/// QuantizeMultiplier from the IEEE-754 bits: d = M * 2^E with a 53-bit M, so q * 2^31 = M / 2^22
/// and the rounded Q31 value is (M + 2^21) >> 22 (half away from zero for positive M).
inline void quantize_multiplier(double d, bool single, int32_t* mult, int* shift) {
  if (d == 0.0) { *mult = 0; *shift = 0; return; }
  uint64_t bits;
  std::memcpy(&bits, &d, 8);
  const int biased = static_cast<int>((bits >> 52) & 0x7FF);
  uint64_t man = bits & ((uint64_t{1} << 52) - 1);
  int s;
  if (biased == 0) {  // subnormal: normalise
    int lz = 0;
    while ((man & (uint64_t{1} << 52)) == 0) { man <<= 1; ++lz; }
    s = -1022 - lz + 1;
  } else {
    man |= uint64_t{1} << 52;
    s = biased - 1022;  // d in [2^(s-1), 2^s)
  }
  int64_t qf = static_cast<int64_t>((man + (uint64_t{1} << 21)) >> 22);
  if (qf == (int64_t{1} << 31)) { qf >>= 1; ++s; }
  if (s < -31) { s = 0; qf = 0; }
  if (single && s > 30) { s = 30; qf = (int64_t{1} << 31) - 1; }
  *mult = static_cast<int32_t>(qf);
  *shift = s;
}

inline uint64_t isqrt(uint64_t v) {
  uint64_t r = 0;
  for (int b = 31; b >= 0; --b) {  // build the root bit by bit, checking squares in 128 bits
    const uint64_t c = r | (uint64_t{1} << b);
    if (static_cast<unsigned __int128>(c) * c <= v) r = c;
  }
  return r;
}

inline int8_t clamp8(int64_t v, int lo = -128, int hi = 127) {
  return static_cast<int8_t>(std::min<int64_t>(std::max<int64_t>(v, lo), hi));
}

// ---------------------------------------------------------------- kernels

struct Dims { int n = 1, h = 1, w = 1, c = 1; int count() const { return n * h * w * c; } };

struct ConvCfg {
  int in_off = 0, out_off = 0, sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1, amin = -128, amax = 127;
  bool single = false;
};

/// Conv: filter [co, kh, kw, kc], groups = in.c / kc.
inline std::vector<int8_t> conv(const ConvCfg& p, const Dims& in, const std::vector<int8_t>& x, const Dims& f,
                                const std::vector<int8_t>& w, const int32_t* bias, const std::vector<int32_t>& m,
                                const std::vector<int32_t>& s, const Dims& out) {
  std::vector<int8_t> y(out.count());
  const int groups = in.c / f.c, per_group = f.n / groups;
  for (int b = 0; b < out.n; ++b)
    for (int oy = 0; oy < out.h; ++oy)
      for (int ox = 0; ox < out.w; ++ox)
        for (int oc = 0; oc < out.c; ++oc) {
          const int g = oc / per_group;
          int64_t acc = 0;
          for (int ky = 0; ky < f.h; ++ky)
            for (int kx = 0; kx < f.w; ++kx) {
              const int iy = oy * p.sh - p.ph + ky * p.dh, ix = ox * p.sw - p.pw + kx * p.dw;
              if (iy < 0 || iy >= in.h || ix < 0 || ix >= in.w) continue;
              for (int ic = 0; ic < f.c; ++ic)
                acc += int64_t{w[((oc * f.h + ky) * f.w + kx) * f.c + ic]} *
                       (x[((b * in.h + iy) * in.w + ix) * in.c + g * f.c + ic] + p.in_off);
            }
          if (bias) acc += bias[oc];
          const size_t qi = m.size() == 1 ? 0 : oc;
          y[((b * out.h + oy) * out.w + ox) * out.c + oc] =
              clamp8(int64_t{requant(wrap32(acc), m[qi], s[qi], p.single)} + p.out_off, p.amin, p.amax);
        }
  return y;
}

/// Depthwise: filter [1, kh, kw, in.c*mult], oc = ic*mult + j. That is the grouped conv with one
/// input channel per group and mult filters each, its weights in the conv layout [oc, kh, kw, 1].
inline std::vector<int8_t> depthwise(const ConvCfg& p, int mult, const Dims& in, const std::vector<int8_t>& x,
                                     const Dims& f, const std::vector<int8_t>& w, const int32_t* bias,
                                     const std::vector<int32_t>& m, const std::vector<int32_t>& s, const Dims& out) {
  (void)mult;  // out.c = in.c * mult
  const int taps = f.h * f.w;
  std::vector<int8_t> per_filter(w.size());
  for (int k = 0; k < taps; ++k)
    for (int oc = 0; oc < out.c; ++oc) per_filter[oc * taps + k] = w[k * out.c + oc];
  return conv(p, in, x, Dims{out.c, f.h, f.w, 1}, per_filter, bias, m, s, out);
}

/// Max over groups of g adjacent channels: x [N, H, W, C*g] -> [N, H, W, C] (out).
inline std::vector<int8_t> max_group(const std::vector<int8_t>& x, const Dims& out, int g) {
  std::vector<int8_t> y(out.count());
  for (int px = 0; px < out.n * out.h * out.w; ++px)
    for (int c = 0; c < out.c; ++c) {
      int m = -128;
      for (int j = 0; j < g; ++j) m = std::max<int>(m, x[(px * out.c + c) * g + j]);
      y[px * out.c + c] = static_cast<int8_t>(m);
    }
  return y;
}

inline std::vector<int8_t> fully_connected(int in_off, int f_off, int out_off, int amin, int amax, bool single,
                                           int batches, int k, int co, const std::vector<int8_t>& x,
                                           const std::vector<int8_t>& w, const int32_t* bias,
                                           const std::vector<int32_t>& m, const std::vector<int32_t>& s) {
  std::vector<int8_t> y(batches * co);
  for (int b = 0; b < batches; ++b)
    for (int oc = 0; oc < co; ++oc) {
      int64_t acc = bias ? bias[oc] : 0;
      for (int i = 0; i < k; ++i) acc += int64_t{w[oc * k + i] + f_off} * (x[b * k + i] + in_off);
      const size_t qi = m.size() == 1 ? 0 : oc;
      y[b * co + oc] = clamp8(int64_t{requant(wrap32(acc), m[qi], s[qi], single)} + out_off, amin, amax);
    }
  return y;
}

/// Index of input element for output (n,h,w,c) under broadcasting.
inline int bidx(const Dims& d, int n, int h, int w, int c) {
  return ((std::min(n, d.n - 1) * d.h + std::min(h, d.h - 1)) * d.w + std::min(w, d.w - 1)) * d.c + std::min(c, d.c - 1);
}

template <class F>
std::vector<int8_t> binary(const Dims& a, const Dims& b, const Dims& o, F f) {
  std::vector<int8_t> y(o.count());
  int i = 0;
  for (int n = 0; n < o.n; ++n)
    for (int h = 0; h < o.h; ++h)
      for (int w = 0; w < o.w; ++w)
        for (int c = 0; c < o.c; ++c) y[i++] = f(bidx(a, n, h, w, c), bidx(b, n, h, w, c));
  return y;
}

/// Pools: avg (raw codes, halves away from zero, in-image taps) or max.
inline std::vector<int8_t> pool(bool avg, const Dims& in, const std::vector<int8_t>& x, const Dims& out, int fh, int fw,
                                int sh, int sw, int ph, int pw, int amin, int amax) {
  std::vector<int8_t> y(out.count());
  for (int b = 0; b < out.n; ++b)
    for (int oy = 0; oy < out.h; ++oy)
      for (int ox = 0; ox < out.w; ++ox)
        for (int c = 0; c < out.c; ++c) {
          int64_t sum = 0, cnt = 0, mx = -128;
          for (int ky = 0; ky < fh; ++ky)
            for (int kx = 0; kx < fw; ++kx) {
              const int iy = oy * sh - ph + ky, ix = ox * sw - pw + kx;
              if (iy < 0 || iy >= in.h || ix < 0 || ix >= in.w) continue;
              const int v = x[((b * in.h + iy) * in.w + ix) * in.c + c];
              sum += v;
              ++cnt;
              mx = std::max<int64_t>(mx, v);
            }
          int64_t v = mx;
          if (avg) {  // exact rational rounding, halves away from zero
            const int64_t a = sum < 0 ? -sum : sum;
            int64_t q = a / cnt;
            if (2 * (a % cnt) >= cnt) ++q;
            v = sum < 0 ? -q : q;
          }
          y[((b * out.h + oy) * out.w + ox) * out.c + c] = clamp8(v, amin, amax);
        }
  return y;
}

// ---------------------------------------------------------------- VA-ECA

struct VaecaCfg {
  int in_off = 0, mean_off = 0, std_off = 0;  // -zp of the map, zp of mean and std
  int32_t mean_m = 0, mean_s = 0, std_m = 0, std_s = 0;
  int frac = 0;        // F: fraction bits of the root
  uint64_t eps_q = 0;  // eps in units of the sum D below, times 4^F
  bool single = false;
};

/// VA-ECA descriptor from its definition: per image and channel, v = z + in_off over the n
/// pixels, S1 = sum v, S2 = sum v^2 (int64), D = n S2 - S1^2; mean = requant(S1) + mean_off,
/// std = requant(isqrt(D 4^F + eps_q)) + std_off (the exact 128-bit root). d: the map.
inline void vaeca_descriptor(const VaecaCfg& p, const Dims& d, const std::vector<int8_t>& z, std::vector<int8_t>* mean,
                             std::vector<int8_t>* sd) {
  const int64_t npx = int64_t{d.h} * d.w;
  mean->assign(static_cast<size_t>(d.n) * d.c, 0);
  sd->assign(static_cast<size_t>(d.n) * d.c, 0);
  for (int b = 0; b < d.n; ++b)
    for (int c = 0; c < d.c; ++c) {
      int64_t s1 = 0, s2 = 0;
      for (int64_t i = 0; i < npx; ++i) {
        const int64_t v = z[(b * npx + i) * d.c + c] + p.in_off;
        s1 += v;
        s2 += v * v;
      }
      const uint64_t dd = static_cast<uint64_t>(npx * s2 - s1 * s1);
      const uint64_t root = isqrt((dd << (2 * p.frac)) + p.eps_q);
      (*mean)[b * d.c + c] = clamp8(int64_t{requant(static_cast<int32_t>(s1), p.mean_m, p.mean_s, p.single)} + p.mean_off);
      (*sd)[b * d.c + c] = clamp8(int64_t{requant(static_cast<int32_t>(root), p.std_m, p.std_s, p.single)} + p.std_off);
    }
}

struct EcaCfg {
  int heads = 1;
  int mean_off = 0, std_off = 0;  // -zp of mean and std
  int32_t mean_m = 0, mean_s = 0, std_m = 0, std_s = 0;
  int sum_shift = 0;
  int out_off = 0, amin = -128, amax = 127;
  bool single = false;
};

/// VA-ECA 1-D conv across channels from its definition: channel i = c*heads + j; for each head
/// j a k-tap conv over c (zero padded, k = w.size() / 2, tap t weights w[2t] on the mean and
/// w[2t+1] on the std), each sum requantized, added, divided by 2^sum_shift. d: [n, 1, 1, C].
inline std::vector<int8_t> eca_conv1d(const EcaCfg& p, const Dims& d, const std::vector<int8_t>& mean,
                                      const std::vector<int8_t>& sd, const std::vector<int8_t>& w) {
  std::vector<int8_t> y(d.count());
  const int h = p.heads, e = d.c / h, k = static_cast<int>(w.size() / 2), pad = (k - 1) / 2;
  for (int b = 0; b < d.n; ++b)
    for (int i = 0; i < d.c; ++i) {
      const int c = i / h, j = i % h;
      int64_t am = 0, as = 0;
      for (int t = 0; t < k; ++t) {
        const int cc = c + t - pad;
        if (cc < 0 || cc >= e) continue;
        am += int64_t{w[t * 2]} * (mean[b * d.c + cc * h + j] + p.mean_off);
        as += int64_t{w[t * 2 + 1]} * (sd[b * d.c + cc * h + j] + p.std_off);
      }
      const int64_t sum = int64_t{requant(static_cast<int32_t>(am), p.mean_m, p.mean_s, p.single)} +
                          requant(static_cast<int32_t>(as), p.std_m, p.std_s, p.single);
      const int32_t v = rdbpot(wrap32(sum), p.sum_shift);
      y[b * d.c + i] = clamp8(int64_t{v} + p.out_off, p.amin, p.amax);
    }
  return y;
}

// ---------------------------------------------------------------- gemmlowp fixed point, literally

inline int32_t sat_mul_pot(int32_t x, int e) {  // SaturatingRoundingMultiplyByPOT<e>
  if (e < 0) return rdbpot(x, -e);
  const int64_t thr = (int64_t{1} << (31 - e)) - 1;
  if (x > thr) return INT32_MAX;
  if (x < -thr) return INT32_MIN;
  return wrap32(static_cast<int64_t>(x) * (int64_t{1} << e));
}

inline int32_t exp_on_interval(int32_t a) {
  const int32_t c = 1895147668, third = 715827883;
  const int32_t x = wrap32(int64_t{a} + (1 << 28));
  const int32_t x2 = srdhm(x, x), x3 = srdhm(x2, x), x4 = srdhm(x2, x2);
  const int32_t x4_over_4 = rdbpot(x4, 2);
  const int32_t t = rdbpot(wrap32(int64_t{srdhm(wrap32(int64_t{x4_over_4} + x3), third)} + x2), 1);
  return wrap32(int64_t{c} + srdhm(c, wrap32(int64_t{x} + t)));
}

inline int32_t exp_on_negative(int32_t a, int ib) {
  const int fb = 31 - ib;
  const int32_t quarter = int32_t{1} << (fb - 2);
  const int32_t amq = wrap32(int64_t{a & (quarter - 1)} - quarter);
  int32_t r = exp_on_interval(sat_mul_pot(amq, ib));
  const int32_t rem = wrap32(int64_t{amq} - a);
  const int32_t mults[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
  for (int E = -2; E <= 4; ++E)
    if (ib > E && (rem & (int32_t{1} << (fb + E)))) r = srdhm(r, mults[E + 2]);
  if (a == 0) r = INT32_MAX;
  return r;
}

inline int32_t one_over_one_plus_x(int32_t a) {
  const int64_t sum = int64_t{a} + INT32_MAX;
  const int32_t half = static_cast<int32_t>((sum + (sum >= 0 ? 1 : -1)) / 2);
  int32_t x = wrap32(int64_t{1515870810} + srdhm(half, -1010580540));
  for (int i = 0; i < 3; ++i) {
    const int32_t hx = srdhm(half, x);
    const int32_t om = wrap32((int64_t{1} << 29) - hx);
    x = wrap32(int64_t{x} + sat_mul_pot(srdhm(x, om), 2));
  }
  return sat_mul_pot(x, 1);
}

inline int clz(uint32_t v) { int n = 0; for (uint32_t b = 0x80000000u; b && !(v & b); b >>= 1) ++n; return n; }

inline std::vector<int8_t> softmax(int32_t mult, int ls, int diff_min, int rows, int len, const std::vector<int8_t>& x) {
  std::vector<int8_t> y(x.size());
  for (int r = 0; r < rows; ++r) {
    const int8_t* in = &x[r * len];
    int mx = -128;
    for (int i = 0; i < len; ++i) mx = std::max<int>(mx, in[i]);
    int64_t sum = 0;
    for (int i = 0; i < len; ++i) {
      const int d = in[i] - mx;
      if (d >= diff_min) sum += rdbpot(exp_on_negative(srdhm(d * (1 << ls), mult), 5), 12);
    }
    const int hp1 = clz(static_cast<uint32_t>(sum));
    const int nbou = 12 - hp1;
    const int32_t shifted = wrap32(static_cast<int64_t>((static_cast<uint64_t>(sum) << hp1) & 0xFFFFFFFFu) - (int64_t{1} << 31));
    const int32_t recip = one_over_one_plus_x(shifted);
    for (int i = 0; i < len; ++i) {
      const int d = in[i] - mx;
      if (d < diff_min) { y[r * len + i] = -128; continue; }
      const int32_t e = exp_on_negative(srdhm(d * (1 << ls), mult), 5);
      const int32_t p = srdhm(recip, e);
      const int sh = nbou + 23;
      int64_t v = sh > 31 ? static_cast<int64_t>(floor_div_pow2(static_cast<i128>(p) + (static_cast<i128>(1) << (sh - 1)) - (p < 0), sh))
                          : rdbpot(p, sh);
      y[r * len + i] = clamp8(v - 128);
    }
  }
  return y;
}

inline int8_t logistic(int8_t x, int zp, int32_t mult, int ls, int radius, bool single) {
  const int v = x - zp;
  if (v <= -radius) return -128;
  if (v >= radius) return 127;
  const int32_t a = requant(v, mult, ls, single);
  int32_t l;
  if (a == 0) l = 1 << 30;
  else {
    const int32_t pos = one_over_one_plus_x(exp_on_negative(a > 0 ? -a : a, 4));
    l = a > 0 ? pos : INT32_MAX - pos;
  }
  return clamp8(rdbpot(l, 23) - 128);
}

inline int16_t srdhm16(int16_t a, int16_t b) {
  if (a == b && a == INT16_MIN) return INT16_MAX;
  const int32_t ab = int32_t{a} * b;
  const int32_t nudge = ab >= 0 ? (1 << 14) : (1 - (1 << 14));
  return static_cast<int16_t>((ab + nudge) / (1 << 15));
}
inline int16_t sat16(int64_t v) { return static_cast<int16_t>(std::min<int64_t>(std::max<int64_t>(v, INT16_MIN), INT16_MAX)); }

inline int16_t reluish(int v, int rm, int rexp) {
  const int16_t hv = static_cast<int16_t>(v * 128);
  int16_t r = hv;
  if (rexp > 0) r = sat16(int64_t{r} * (int64_t{1} << (rexp - 1)));
  r = srdhm16(r, static_cast<int16_t>(rm));
  if (rexp > 0) r = sat16(int64_t{r} * 2);
  if (rexp < 0) r = static_cast<int16_t>(rdbpot(r, -rexp));
  return static_cast<int16_t>((r + 32768) >> 1);
}

inline int8_t hard_swish(int8_t x, int in_zp, int out_zp, int om, int oexp, int rm, int rexp) {
  const int v = x - in_zp;
  const int16_t hv = static_cast<int16_t>(v * 128);
  const int16_t pre = srdhm16(hv, static_cast<int16_t>(om));
  const int16_t r = reluish(v, rm, rexp);
  const int16_t p = static_cast<int16_t>((int32_t{r} * pre) / (1 << 15));
  return clamp8(int64_t{rdbpot(p, -oexp)} + out_zp);
}

// ---------------------------------------------------------------- random helpers

struct Rng {
  std::mt19937_64 g;
  explicit Rng(uint64_t seed) : g(seed) {}
  int64_t uni(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(g); }
  int32_t i32() { return static_cast<int32_t>(static_cast<uint32_t>(g())); }
  std::vector<int8_t> s8(size_t n, int lo = -128, int hi = 127) {
    std::vector<int8_t> v(n);
    for (auto& e : v) e = static_cast<int8_t>(uni(lo, hi));
    return v;
  }
  int32_t mult() { return static_cast<int32_t>(uni(int64_t{1} << 30, (int64_t{1} << 31) - 1)); }
  /// A map of 1..n_hi images of 1..hw_hi x 1..hw_hi pixels and 1..c_hi channels, drawn n, h, w, c.
  Dims map(int n_hi, int hw_hi, int c_hi) {
    Dims d;
    d.n = static_cast<int>(uni(1, n_hi));
    d.h = static_cast<int>(uni(1, hw_hi));
    d.w = static_cast<int>(uni(1, hw_hi));
    d.c = static_cast<int>(uni(1, c_hi));
    return d;
  }
};

}  // namespace naive

#endif  // FLYNET_TESTS_QUANT_REF_NAIVE_REF_HPP_
