// Sigmoid (TFLM Logistic), hard-swish (TFLM), hard-sigmoid and leaky ReLU s8: all 256 inputs for thousands of
// random scale/zero-point sets, against the naive reference and a float sanity bound.
#include <cmath>

#include "test_util.hpp"

namespace {

using namespace fr_test;

float random_scale(naive::Rng& r, int lo, int hi) {
  return std::ldexp(static_cast<float>(r.uni(1 << 20, 1 << 21)) / (1 << 21), static_cast<int>(r.uni(lo, hi)));
}

std::vector<int8_t> all_codes() {
  std::vector<int8_t> v(256);
  for (int i = 0; i < 256; ++i) v[i] = static_cast<int8_t>(i - 128);
  return v;
}

TEST(LogisticS8, AllInputsMatchNaiveAndFloat) {
  naive::Rng r(700);
  const auto x = all_codes();
  for (int it = 0; it < 2000; ++it) {
    const float s = random_scale(r, -8, 0);
    const int zp = zero_point(r);
    const bool single = it & 1;
    flynet_logistic_params rec{};
    ASSERT_EQ(flyref_logistic_prepare(s, &rec), FLYREF_OK);
    // Prepare check: mult = round(q * 2^31) with (q, ls) = frexp(s * 2^27).
    int e;
    const double q = std::frexp(static_cast<double>(s) * (1 << 27), &e);
    ASSERT_EQ(rec.input_multiplier, static_cast<int32_t>(std::llround(q * 2147483648.0)));
    ASSERT_EQ(rec.input_left_shift, e);
    ASSERT_EQ(rec.input_range_radius, static_cast<int>(std::floor(15.0 * (1 << 27) / std::ldexp(1.0, e))));
    flyref_logistic_params p{zp, rec.input_multiplier, rec.input_left_shift, rec.input_range_radius,
                             rounding_of(single)};
    std::vector<int8_t> got(256), want(256);
    ASSERT_EQ(flyref_logistic_s8(&p, 256, x.data(), got.data()), FLYREF_OK);
    for (int i = 0; i < 256; ++i) {
      want[i] = naive::logistic(x[i], zp, rec.input_multiplier, rec.input_left_shift, rec.input_range_radius, single);
      const double f = 1.0 / (1.0 + std::exp(-static_cast<double>(s) * (x[i] - zp)));
      ASSERT_LE(std::fabs(std::min(127.0, std::round(f * 256) - 128) - got[i]), 1.0) << "x " << int(x[i]);
    }
    ASSERT_TRUE(same(got, want)) << "case " << it;
  }
}

// Hand-worked: x = zp -> a = 0 -> exactly 1/2 = 2^30 -> 2^30 / 2^23 = 128 -> 0.
TEST(LogisticS8, HandWorkedMidpointAndSaturation) {
  flynet_logistic_params rec{};
  ASSERT_EQ(flyref_logistic_prepare(0.1f, &rec), FLYREF_OK);
  flyref_logistic_params p{3, rec.input_multiplier, rec.input_left_shift, rec.input_range_radius, 0};
  const std::vector<int8_t> x = {3, -128, 127};
  std::vector<int8_t> y(3);
  ASSERT_EQ(flyref_logistic_s8(&p, 3, x.data(), y.data()), FLYREF_OK);
  // 3 - 3 = 0 -> 0.5 -> 0; (-131)*0.1 = -13.1 -> sigmoid 2e-6 -> -128; 12.4 -> ~1 -> 127.
  EXPECT_TRUE(same(y, {0, -128, 127}));
}

TEST(HardSwishS8, AllInputsMatchNaiveAndFloat) {
  naive::Rng r(701);
  const auto x = all_codes();
  int checked = 0;
  for (int it = 0; it < 3000; ++it) {
    const float si = random_scale(r, -7, 1), so = random_scale(r, -7, 1);
    const int zi = zero_point(r), zo = zero_point(r);
    flynet_hard_swish_params rec{};
    if (flyref_hard_swish_prepare(si, so, &rec) != FLYREF_OK) continue;  // output exponent > 0
    ++checked;
    flyref_hard_swish_params p{zi, zo, rec.output_multiplier_int16, rec.output_exponent, rec.reluish_multiplier_int16,
                               rec.reluish_exponent};
    std::vector<int8_t> got(256), want(256);
    ASSERT_EQ(flyref_hard_swish_s8(&p, 256, x.data(), got.data()), FLYREF_OK);
    for (int i = 0; i < 256; ++i) {
      want[i] = naive::hard_swish(x[i], zi, zo, rec.output_multiplier_int16, rec.output_exponent,
                                  rec.reluish_multiplier_int16, rec.reluish_exponent);
      const double v = static_cast<double>(si) * (x[i] - zi);
      const double f = v * std::min(std::max(v + 3, 0.0), 6.0) / 6.0;
      const double q = std::min(127.0, std::max(-128.0, std::round(f / so) + zo));
      // TFLM's 16-bit pipeline is off by a few LSB for large output ranges (TF issue #40781).
      ASSERT_LE(std::fabs(q - got[i]), 3.0 + 0.02 * std::fabs(f / so)) << "x " << int(x[i]);
    }
    ASSERT_TRUE(same(got, want)) << "case " << it;
  }
  EXPECT_GT(checked, 1000);
}

// Hand-worked hard-swish, scales 1/16 in and out, zps 0: x = 48 (3.0) -> 3*6/6 = 3 -> 48;
// x = -48 (-3.0) -> 0 -> 0; x = 0 -> 0; x = 127 (7.94) -> 7.94 -> 127.
TEST(HardSwishS8, HandWorked) {
  flynet_hard_swish_params rec{};
  ASSERT_EQ(flyref_hard_swish_prepare(1.0f / 16, 1.0f / 16, &rec), FLYREF_OK);
  flyref_hard_swish_params p{0, 0, rec.output_multiplier_int16, rec.output_exponent, rec.reluish_multiplier_int16,
                             rec.reluish_exponent};
  const std::vector<int8_t> x = {48, -48, 0, 127};
  std::vector<int8_t> y(4);
  ASSERT_EQ(flyref_hard_swish_s8(&p, 4, x.data(), y.data()), FLYREF_OK);
  EXPECT_TRUE(same(y, {48, 0, 0, 127}));
}

TEST(HardSigmoidS8, AllInputsMatchComposition) {
  naive::Rng r(702);
  const auto x = all_codes();
  for (int it = 0; it < 2000; ++it) {
    const float si = random_scale(r, -7, 0);
    const float so = it & 1 ? 1.0f / 256 : random_scale(r, -9, -5);
    const int zi = zero_point(r), zo = it & 1 ? -128 : zero_point(r);
    const bool single = it & 2;
    flynet_hard_sigmoid_params rec{};
    ASSERT_EQ(flyref_hard_sigmoid_prepare(si, so, zo, rounding_of(single), &rec), FLYREF_OK);
    flyref_hard_sigmoid_params p{zi, rec.reluish_multiplier_int16, rec.reluish_exponent, rec.output_multiplier,
                                 rec.output_shift, zo, {-128, 127}, rounding_of(single)};
    std::vector<int8_t> got(256);
    ASSERT_EQ(flyref_hard_sigmoid_s8(&p, 256, x.data(), got.data()), FLYREF_OK);
    for (int i = 0; i < 256; ++i) {
      const int16_t rl = naive::reluish(x[i] - zi, rec.reluish_multiplier_int16, rec.reluish_exponent);
      const int8_t want = naive::clamp8(int64_t{naive::requant(rl, rec.output_multiplier, rec.output_shift, single)} + zo);
      ASSERT_EQ(got[i], want) << "case " << it << " x " << int(x[i]);
      const double v = static_cast<double>(si) * (x[i] - zi);
      const double f = std::min(std::max(v + 3, 0.0), 6.0) / 6.0;
      const double q = std::min(127.0, std::max(-128.0, std::round(f / so) + zo));
      ASSERT_LE(std::fabs(q - got[i]), 2.0 + 0.01 / so) << "x " << int(x[i]);
    }
  }
}

// Hand-worked hard-sigmoid, input scale 1/16 zp 0, output 1/256 zp -128: x = 0 -> 0.5 -> 0;
// x = -48 (-3) -> 0 -> -128; x = 48 (3) -> 1.0 -> 256-128 = 128 -> 127 (r saturates at 32767/32768).
TEST(HardSigmoidS8, HandWorked) {
  flynet_hard_sigmoid_params rec{};
  ASSERT_EQ(flyref_hard_sigmoid_prepare(1.0f / 16, 1.0f / 256, -128, FLYNET_ROUNDING_DOUBLE, &rec), FLYREF_OK);
  flyref_hard_sigmoid_params p{0, rec.reluish_multiplier_int16, rec.reluish_exponent, rec.output_multiplier,
                               rec.output_shift, -128, {-128, 127}, FLYNET_ROUNDING_DOUBLE};
  const std::vector<int8_t> x = {0, -48, 48};
  std::vector<int8_t> y(3);
  ASSERT_EQ(flyref_hard_sigmoid_s8(&p, 3, x.data(), y.data()), FLYREF_OK);
  EXPECT_TRUE(same(y, {0, -128, 127}));
}

}  // namespace

namespace {

using namespace fr_test;

// Leaky ReLU from its definition: the identity or alpha requantization of v = x - zp_in by the
// sign of v (naive_ref's requantization, an independent formulation).
TEST(LeakyReluS8, AllInputsMatchNaiveAndFloat) {
  naive::Rng r(703);
  const auto x = all_codes();
  for (int it = 0; it < 2000; ++it) {
    const float si = random_scale(r, -7, 0), so = random_scale(r, -7, 0);
    const double alpha = double(r.uni(0, 1000)) / 1000.0;
    const int zi = zero_point(r), zo = zero_point(r);
    const bool single = it & 1;
    int32_t mi = 0, ma = 0;
    int shi = 0, sha = 0;
    naive::quantize_multiplier(double(si) / so, single, &mi, &shi);
    naive::quantize_multiplier(alpha * si / so, single, &ma, &sha);
    if (shi > 30 || sha < -31) continue;  // outside what the kernel admits; the lowering refuses these
    flyref_leaky_relu_params p{-zi, zo, mi, shi, ma, sha, {-128, 127}, rounding_of(single)};
    std::vector<int8_t> got(256);
    ASSERT_EQ(flyref_leaky_relu_s8(&p, 256, x.data(), got.data()), FLYREF_OK);
    for (int i = 0; i < 256; ++i) {
      const int32_t v = x[i] - zi;
      const int32_t q = v >= 0 ? naive::requant(v, mi, shi, single) : naive::requant(v, ma, sha, single);
      ASSERT_EQ(got[i], naive::clamp8(int64_t{q} + zo)) << "case " << it << " x " << int(x[i]);
      const double f = v >= 0 ? double(si) * v : alpha * si * v;
      const double want = std::min(127.0, std::max(-128.0, std::round(f / so) + zo));
      ASSERT_LE(std::fabs(want - got[i]), 1.0) << "case " << it << " x " << int(x[i]);
    }
  }
}

// Hand-worked, scales equal (identity multiplier 1 = 2^30 * 2^1), alpha 1/4 (2^30 * 2^-1),
// zp_in 0, zp_out 10: x = 5 -> 15; x = -8 -> -2 + 10 = 8; x = -128 -> -32 + 10 = -22; x = 127 ->
// 137 clamps to 127; x = -2 -> -0.5: single rounding takes halves toward +inf (0 -> 10), double
// rounding's exact high multiply gives -1, whose shift by one rounds away from zero (-1 -> 9).
TEST(LeakyReluS8, HandWorked) {
  const std::vector<int8_t> x = {5, -8, -128, 127, -2};
  std::vector<int8_t> y(5);
  flyref_leaky_relu_params p{0, 10, 1 << 30, 1, 1 << 30, -1, {-128, 127}, FLYNET_ROUNDING_SINGLE};
  ASSERT_EQ(flyref_leaky_relu_s8(&p, 5, x.data(), y.data()), FLYREF_OK);
  EXPECT_TRUE(same(y, {15, 8, -22, 127, 10}));
  p.rounding = FLYNET_ROUNDING_DOUBLE;
  ASSERT_EQ(flyref_leaky_relu_s8(&p, 5, x.data(), y.data()), FLYREF_OK);
  EXPECT_TRUE(same(y, {15, 8, -22, 127, 9}));
  p.alpha_multiplier = -1;  // a negative multiplier is refused
  EXPECT_EQ(flyref_leaky_relu_s8(&p, 5, x.data(), y.data()), FLYREF_ARG_ERROR);
}

}  // namespace
