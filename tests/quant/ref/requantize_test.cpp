// Fixed-point primitives, requantization and multiplier derivation against the independent
// formulations of naive_ref.hpp, on millions of random cases and on every boundary we know.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "flyref.h"
#include "naive_ref.hpp"

namespace {

constexpr int32_t kMin = std::numeric_limits<int32_t>::min();
constexpr int32_t kMax = std::numeric_limits<int32_t>::max();

std::vector<int32_t> edge_values() {
  std::vector<int32_t> v = {kMin, kMin + 1, kMin + 2, -(1 << 30) - 1, -(1 << 30), -(1 << 30) + 1, -65537, -65536,
                            -32769, -32768, -256, -255, -129, -128, -3, -2, -1, 0, 1, 2, 3, 127, 128, 255, 256,
                            32767, 32768, 65535, 65536, (1 << 30) - 1, 1 << 30, (1 << 30) + 1, kMax - 1, kMax};
  for (int e = 0; e < 31; ++e) {  // ties of every shift: +-(2k+1) * 2^(e-1)
    if (e > 0) { v.push_back(1 << (e - 1)); v.push_back(-(1 << (e - 1))); v.push_back(3 << (e - 1) & 0x7FFFFFFF); }
    v.push_back((1 << e) - 1);
    v.push_back(-(1 << e) + 1);
  }
  return v;
}

TEST(FixedPoint, SrdhmMatchesNudgeFormulation) {
  naive::Rng r(1);
  const auto edges = edge_values();
  for (int32_t a : edges)
    for (int32_t b : edges) ASSERT_EQ(flyref_srdhm(a, b), naive::srdhm(a, b)) << a << " " << b;
  for (int i = 0; i < 2000000; ++i) {
    const int32_t a = r.i32(), b = r.i32();
    ASSERT_EQ(flyref_srdhm(a, b), naive::srdhm(a, b)) << a << " " << b;
  }
}

TEST(FixedPoint, SrdhmHandWorked) {
  // 2^30 * 2^30 = 2^60; (2^60 + 2^30) / 2^31 = 2^29 + 0.5 -> floor 2^29.
  EXPECT_EQ(flyref_srdhm(1 << 30, 1 << 30), 1 << 29);
  // The only saturation: INT32_MIN * INT32_MIN = 2^62 -> 2^31 does not fit -> INT32_MAX.
  EXPECT_EQ(flyref_srdhm(kMin, kMin), kMax);
  // 3 * 2^30 = 1.5 * 2^31 -> 1.5 rounds up (halves toward +inf) -> 2; -3 * 2^30 -> -1.5 -> -1.
  EXPECT_EQ(flyref_srdhm(3, 1 << 30), 2);
  EXPECT_EQ(flyref_srdhm(-3, 1 << 30), -1);
}

TEST(FixedPoint, RdbpotMatchesMaskFormulation) {
  naive::Rng r(2);
  for (int32_t x : edge_values())
    for (int e = 0; e <= 31; ++e) ASSERT_EQ(flyref_rdbpot(x, e), naive::rdbpot(x, e)) << x << " " << e;
  for (int i = 0; i < 2000000; ++i) {
    const int32_t x = r.i32();
    const int e = static_cast<int>(r.uni(0, 31));
    ASSERT_EQ(flyref_rdbpot(x, e), naive::rdbpot(x, e)) << x << " " << e;
  }
  // Hand-worked: 5/2 = 2.5 -> 3; -5/2 -> -3 (away from zero); 7/4 = 1.75 -> 2; -6/4 = -1.5 -> -2.
  EXPECT_EQ(flyref_rdbpot(5, 1), 3);
  EXPECT_EQ(flyref_rdbpot(-5, 1), -3);
  EXPECT_EQ(flyref_rdbpot(7, 2), 2);
  EXPECT_EQ(flyref_rdbpot(-6, 2), -2);
  EXPECT_EQ(flyref_rdbpot(kMin, 31), -1);  // -2^31 / 2^31 = -1 exactly
  EXPECT_EQ(flyref_rdbpot(kMax, 31), 1);   // (2^31-1)/2^31 -> 1
}

TEST(Requantize, DoubleAndSingleMatchIndependentFormulations) {
  naive::Rng r(3);
  const auto edges = edge_values();
  const int32_t mults[] = {0, 1, 1 << 30, (1 << 30) + 1, 1518500250, kMax - 1, kMax};
  for (int32_t x : edges)
    for (int32_t m : mults)
      for (int s = -31; s <= 30; ++s) {
        ASSERT_EQ(flyref_requantize_double(x, m, s), naive::requant_double(x, m, s)) << x << " " << m << " " << s;
        ASSERT_EQ(flyref_requantize_single(x, m, s), naive::requant_single(x, m, s)) << x << " " << m << " " << s;
      }
  for (int i = 0; i < 3000000; ++i) {
    // Accumulator-like values most of the time, full range otherwise.
    const int32_t x = (i & 3) ? static_cast<int32_t>(r.uni(-(1 << 22), 1 << 22)) : r.i32();
    const int32_t m = (i & 7) ? r.mult() : static_cast<int32_t>(r.uni(0, kMax));
    const int s = static_cast<int>(r.uni(-31, 30));
    ASSERT_EQ(flyref_requantize_double(x, m, s), naive::requant_double(x, m, s)) << x << " " << m << " " << s;
    ASSERT_EQ(flyref_requantize_single(x, m, s), naive::requant_single(x, m, s)) << x << " " << m << " " << s;
    ASSERT_EQ(flyref_requantize(x, m, s, FLYNET_ROUNDING_DOUBLE), naive::requant_double(x, m, s));
    ASSERT_EQ(flyref_requantize(x, m, s, FLYNET_ROUNDING_SINGLE), naive::requant_single(x, m, s));
  }
}

TEST(Requantize, HandWorkedTrapsOfSection11) {
  // x=-2, mult=2^30 (0.5), shift=-1: real value -2 * 0.5 / 2 = -0.5.
  // Double: SRDHM(-2, 2^30) = -1 exactly, then RDBPOT(-1, 1) = -0.5 -> away from zero = -1.
  // Single: (-2*2^30 + 2^31) >> 32 = 0 -> 0 (midpoints round up).
  EXPECT_EQ(flyref_requantize_double(-2, 1 << 30, -1), -1);
  EXPECT_EQ(flyref_requantize_single(-2, 1 << 30, -1), 0);
  // Positive tie: x=2: 0.5 -> double 1, single 1.
  EXPECT_EQ(flyref_requantize_double(2, 1 << 30, -1), 1);
  EXPECT_EQ(flyref_requantize_single(2, 1 << 30, -1), 1);
  // First rounding landing on a midpoint: x=3, mult=2^30+1, shift=-1: exact 3*(2^30+1)/2^32 =
  // 0.7500000007; double: SRDHM = round(1.5000000014) = 2 then 2/2 = 1; single: round(0.75) = 1.
  EXPECT_EQ(flyref_requantize_double(3, (1 << 30) + 1, -1), 1);
  EXPECT_EQ(flyref_requantize_single(3, (1 << 30) + 1, -1), 1);
  // x=5, mult=2^30, shift=-2: exact 5/8 = 0.625 -> 1 both. Double: SRDHM=round(2.5)=3 -> 3/4 -> 1.
  EXPECT_EQ(flyref_requantize_double(5, 1 << 30, -2), 1);
  // x=-5: -0.625 -> -1 both. Double: SRDHM(-5, 2^30) = floor(-2.5 + .5) = -2 -> -2/4 = -0.5 -> -1.
  EXPECT_EQ(flyref_requantize_double(-5, 1 << 30, -2), -1);
  EXPECT_EQ(flyref_requantize_single(-5, 1 << 30, -2), -1);
  // x=-3, mult=2^30, shift=-1: -0.75; double: SRDHM = floor(-1.5+0.5) = -1 -> -0.5 -> -1;
  // single: floor(-0.75 + 0.5) = -1.
  EXPECT_EQ(flyref_requantize_double(-3, 1 << 30, -1), -1);
  // Left shift is identical in both modes when it does not overflow: 100 * 0.75 * 2^3 = 600.
  EXPECT_EQ(flyref_requantize_double(100, 3 << 29, 3), 600);
  EXPECT_EQ(flyref_requantize_single(100, 3 << 29, 3), 600);
  // Left-shift overflow wraps (as the targets): 2^30 << 1 = INT32_MIN; SRDHM(INT32_MIN, 2^30) = -2^30.
  EXPECT_EQ(flyref_requantize_double(1 << 30, 1 << 30, 1), -(1 << 30));
  // Default rounding is double unless built with FLYREF_USE_SINGLE_ROUNDING.
#ifndef FLYREF_USE_SINGLE_ROUNDING
  EXPECT_EQ(flyref_requantize(-2, 1 << 30, -1, FLYNET_ROUNDING_DEFAULT), -1);
#endif
  // Out-of-range shift / mode are rejected, not UB.
  EXPECT_EQ(flyref_requantize(5, 1 << 30, 31, FLYNET_ROUNDING_DOUBLE), 0);
  EXPECT_EQ(flyref_requantize(5, 1 << 30, -1, 7), 0);
}

TEST(Requantize, DoubleAndSingleDifferByAtMostOne) {
  naive::Rng r(4);
  int diffs = 0;
  for (int i = 0; i < 200000; ++i) {
    const int32_t x = static_cast<int32_t>(r.uni(-(1 << 20), 1 << 20));
    const int32_t m = r.mult();
    const int s = static_cast<int>(r.uni(-12, -1));
    const int32_t d = flyref_requantize_double(x, m, s) - flyref_requantize_single(x, m, s);
    ASSERT_LE(std::abs(d), 1);
    diffs += d != 0;
  }
  EXPECT_GT(diffs, 0);  // the switch matters
}

TEST(QuantizeMultiplier, MatchesBitLevelFormulation) {
  naive::Rng r(5);
  auto check = [](double d) {
    for (int mode : {FLYNET_ROUNDING_DOUBLE, FLYNET_ROUNDING_SINGLE}) {
      int32_t m = -1, s = -99, nm = 0;
      int ns = 0;
      naive::quantize_multiplier(d, mode == FLYNET_ROUNDING_SINGLE, &nm, &ns);
      const flyref_status st = flyref_quantize_multiplier(d, mode, &m, &s);
      if (ns > 30) {
        ASSERT_EQ(st, FLYREF_ARG_ERROR) << d;
        continue;
      }
      ASSERT_EQ(st, FLYREF_OK) << d;
      ASSERT_EQ(m, nm) << d;
      ASSERT_EQ(s, ns) << d;
      if (m != 0 && !(mode == FLYNET_ROUNDING_SINGLE && s == 30 && m == kMax)) {  // not capped
        ASSERT_GE(m, 1 << 30);
        // Round trip: m * 2^(s-31) is within half a Q31 ulp of d (relative 2^-31).
        const double back = std::ldexp(static_cast<double>(m), s - 31);
        ASSERT_LE(std::fabs(back - d), std::ldexp(1.0, s - 32) * 1.0000001 + 0.0) << std::hexfloat << d << " m " << m << " s " << s << " mode " << mode;
      }
    }
  };
  for (int i = 0; i < 1000000; ++i) {
    const double q = std::uniform_real_distribution<double>(0.5, 1.0)(r.g);
    check(std::ldexp(q, static_cast<int>(r.uni(-40, 35))));
  }
  // Boundaries: exact powers of two, ties in the 22 dropped bits, the 2^31 round-up, flush to zero.
  for (int e = -40; e <= 35; ++e) {
    check(std::ldexp(1.0, e));
    check(std::ldexp(1.0, e) * (1.0 - std::ldexp(1.0, -53)));                 // rounds up to 2^31 -> fix
    check(std::ldexp(0.5 + std::ldexp(1.0, -32), e));                           // exact tie: 2^30 + 0.5
    check(std::ldexp(0.5 + std::ldexp(1.0, -32) - std::ldexp(1.0, -53), e));    // just below the tie
    check(std::ldexp(0.75, e));
  }
  check(0.0);
  int32_t m = 0, s = 0;
  // Hand-worked: 0.75 = 0.75 * 2^0 -> q*2^31 = 1610612736, shift 0.
  ASSERT_EQ(flyref_quantize_multiplier(0.75, FLYNET_ROUNDING_DOUBLE, &m, &s), FLYREF_OK);
  EXPECT_EQ(m, 1610612736);
  EXPECT_EQ(s, 0);
  // 2^-33 = 0.5 * 2^-32: shift -32 < -31 -> flushed to (0, 0).
  ASSERT_EQ(flyref_quantize_multiplier(std::ldexp(1.0, -33), FLYNET_ROUNDING_DOUBLE, &m, &s), FLYREF_OK);
  EXPECT_EQ(m, 0);
  EXPECT_EQ(s, 0);
  // 2^-32 = 0.5 * 2^-31 -> (2^30, -31) is kept.
  ASSERT_EQ(flyref_quantize_multiplier(std::ldexp(1.0, -32), FLYNET_ROUNDING_DOUBLE, &m, &s), FLYREF_OK);
  EXPECT_EQ(m, 1 << 30);
  EXPECT_EQ(s, -31);
  // Single rounding caps shift at 30: 2^31 -> (2^31-1, 30); double rejects (shift 32 out of range).
  ASSERT_EQ(flyref_quantize_multiplier(std::ldexp(1.0, 31), FLYNET_ROUNDING_SINGLE, &m, &s), FLYREF_OK);
  EXPECT_EQ(m, kMax);
  EXPECT_EQ(s, 30);
  EXPECT_EQ(flyref_quantize_multiplier(-1.0, FLYNET_ROUNDING_DOUBLE, &m, &s), FLYREF_ARG_ERROR);
}

// Trap 6 of section 11 (apache/tvm #10817): per-tensor FC multiplies the scales in float, conv
// in double. Find scale triples where the two orders give different multipliers and check each
// helper follows its own TFLM formula.
TEST(ParamDerivation, FloatVsDoubleScaleProductOrder) {
  naive::Rng r(7);
  int differing = 0;
  for (int i = 0; i < 200000 && differing < 50; ++i) {
    const float si = std::ldexp(static_cast<float>(r.uni(1 << 23, (1 << 24) - 1)), -30);
    const float sw = std::ldexp(static_cast<float>(r.uni(1 << 23, (1 << 24) - 1)), -31);
    const float so = std::ldexp(static_cast<float>(r.uni(1 << 23, (1 << 24) - 1)), -27);
    int32_t mc, ms, mf, mfs, nm;
    int ns;
    ASSERT_EQ(flyref_conv_multiplier(si, sw, so, FLYNET_ROUNDING_DOUBLE, &mc, &ms), FLYREF_OK);
    ASSERT_EQ(flyref_fc_multiplier(si, sw, so, FLYNET_ROUNDING_DOUBLE, &mf, &mfs), FLYREF_OK);
    naive::quantize_multiplier(static_cast<double>(si) * static_cast<double>(sw) / static_cast<double>(so), false, &nm, &ns);
    ASSERT_EQ(mc, nm);
    ASSERT_EQ(ms, ns);
    const float prod = si * sw;
    naive::quantize_multiplier(static_cast<double>(prod) / static_cast<double>(so), false, &nm, &ns);
    ASSERT_EQ(mf, nm);
    ASSERT_EQ(mfs, ns);
    differing += mc != mf;
  }
  EXPECT_GE(differing, 10);  // the order does matter for some scales
}

TEST(ParamDerivation, ActivationRange) {
  int32_t lo = 0, hi = 0;
  // scale 0.05, zp -10: RELU6 -> [max(-128, -10), min(127, -10 + round(6/0.05) = 110)].
  ASSERT_EQ(flyref_activation_range(FLYNET_ACT_RELU6, 0.05f, -10, &lo, &hi), FLYREF_OK);
  EXPECT_EQ(lo, -10);
  EXPECT_EQ(hi, 110);
  ASSERT_EQ(flyref_activation_range(FLYNET_ACT_RELU, 0.05f, -10, &lo, &hi), FLYREF_OK);
  EXPECT_EQ(lo, -10);
  EXPECT_EQ(hi, 127);
  // RELU_N1_TO_1 with scale 0.25, zp 3: [3 - 4, 3 + 4] = [-1, 7].
  ASSERT_EQ(flyref_activation_range(FLYNET_ACT_RELU_N1_TO_1, 0.25f, 3, &lo, &hi), FLYREF_OK);
  EXPECT_EQ(lo, -1);
  EXPECT_EQ(hi, 7);
  ASSERT_EQ(flyref_activation_range(FLYNET_ACT_NONE, 0.25f, 3, &lo, &hi), FLYREF_OK);
  EXPECT_EQ(lo, -128);
  EXPECT_EQ(hi, 127);
  // RELU6 with a tiny scale: Q(6) is far above 127 -> clamped.
  ASSERT_EQ(flyref_activation_range(FLYNET_ACT_RELU6, 0.001f, 0, &lo, &hi), FLYREF_OK);
  EXPECT_EQ(hi, 127);
  EXPECT_EQ(flyref_activation_range(99, 0.25f, 3, &lo, &hi), FLYREF_ARG_ERROR);
  EXPECT_EQ(flyref_activation_range(FLYNET_ACT_RELU, 0.0f, 3, &lo, &hi), FLYREF_ARG_ERROR);
  // Round half away from zero in float: 0.5/0.25... 6/4 = 1.5 -> 2 (scale 4, zp 0).
  ASSERT_EQ(flyref_activation_range(FLYNET_ACT_RELU6, 4.0f, 0, &lo, &hi), FLYREF_OK);
  EXPECT_EQ(hi, 2);
}

TEST(Isqrt, ExactAgainstBitwiseSquares) {
  for (uint64_t v = 0; v < 200000; ++v) ASSERT_EQ(flyref_isqrt_u64(v), naive::isqrt(v)) << v;
  naive::Rng r(6);
  for (int i = 0; i < 300000; ++i) {
    const uint64_t v = r.g() >> r.uni(0, 63);
    ASSERT_EQ(flyref_isqrt_u64(v), naive::isqrt(v)) << v;
    const uint64_t k = static_cast<uint64_t>(r.uni(0, 0xFFFFFFFFll));
    for (uint64_t sq : {k * k, k * k - 1, k * k + 1, k * k + 2 * k, k * k + 2 * k + 1})
      ASSERT_EQ(flyref_isqrt_u64(sq), naive::isqrt(sq)) << sq;
  }
  EXPECT_EQ(flyref_isqrt_u64(~uint64_t{0}), 0xFFFFFFFFu);
  EXPECT_EQ(flyref_isqrt_u64(uint64_t{0xFFFFFFFE00000001}), 0xFFFFFFFFu);  // (2^32-1)^2
  EXPECT_EQ(flyref_isqrt_u64(uint64_t{0xFFFFFFFE00000000}), 0xFFFFFFFEu);
  EXPECT_EQ(flyref_isqrt_u64(99), 9u);
  EXPECT_EQ(flyref_isqrt_u64(100), 10u);
}

TEST(Status, Strings) {
  EXPECT_STREQ(flyref_status_str(FLYREF_OK), "FLYREF_OK");
  EXPECT_STREQ(flyref_status_str(FLYREF_ARENA_TOO_SMALL), "FLYREF_ARENA_TOO_SMALL");
  EXPECT_STREQ(flyref_status_str(static_cast<flyref_status>(42)), "FLYREF_UNKNOWN_STATUS");
}

}  // namespace
