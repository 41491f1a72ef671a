// Softmax s8 (rows, and FlyNet's softmax over h heads): naive gemmlowp reference, float sanity,
// prepare against TFLM's formula and the CMSIS-NN stored parameters.
#include <cmath>

#include "test_util.hpp"

namespace {

using namespace fr_test;

TEST(SoftmaxS8, PrepareMatchesTflmFormula) {
  // CMSIS-NN TestData/softmax/config_data.h: left_shift 19, diff_min -3968 (31*2^26/2^19).
  flynet_softmax_params p{};
  // A scale that gives left shift 19: beta * s * 2^26 in [2^18, 2^19).
  ASSERT_EQ(flyref_softmax_prepare(1.0f, std::ldexp(1.5f, -8), FLYNET_ROUNDING_DOUBLE, &p), FLYREF_OK);
  EXPECT_EQ(p.input_left_shift, 19);
  EXPECT_EQ(p.diff_min, -3968);
  EXPECT_EQ(p.input_multiplier, 3 << 29);  // 1.5 * 2^18 = 0.75 * 2^19
  naive::Rng r(600);
  for (int it = 0; it < 5000; ++it) {
    const float s = std::ldexp(static_cast<float>(r.uni(1 << 20, 1 << 21)) / (1 << 21), static_cast<int>(r.uni(-10, 0)));
    const bool single = it & 1;
    ASSERT_EQ(flyref_softmax_prepare(1.0f, s, rounding_of(single), &p), FLYREF_OK);
    const double real = std::min(static_cast<double>(s) * (1 << 26), single ? 1073741823.0 : 2147483647.0);
    int32_t m;
    int e;
    naive::quantize_multiplier(real, false, &m, &e);
    ASSERT_EQ(p.input_multiplier, m);
    ASSERT_EQ(p.input_left_shift, e);
    ASSERT_EQ(p.diff_min, -static_cast<int>(std::floor(31.0 * (1 << 26) / std::ldexp(1.0, e))));
  }
}

TEST(SoftmaxS8, RandomRowsMatchNaiveAndFloat) {
  naive::Rng r(601);
  for (int it = 0; it < 3000; ++it) {
    const int rows = static_cast<int>(r.uni(1, 6)), len = static_cast<int>(r.uni(1, it % 10 == 0 ? 300 : 12));
    const float s = std::ldexp(static_cast<float>(r.uni(1 << 20, 1 << 21)) / (1 << 21), static_cast<int>(r.uni(-8, 0)));
    flynet_softmax_params rec{};
    ASSERT_EQ(flyref_softmax_prepare(1.0f, s, FLYNET_ROUNDING_DOUBLE, &rec), FLYREF_OK);
    const auto x = r.s8(rows * len);
    const auto want = naive::softmax(rec.input_multiplier, rec.input_left_shift, rec.diff_min, rows, len, x);
    flyref_softmax_params p{rec.input_multiplier, rec.input_left_shift, rec.diff_min};
    std::vector<int8_t> got(x.size(), 0x55);
    ASSERT_EQ(flyref_softmax_s8(&p, rows, len, x.data(), got.data()), FLYREF_OK);
    ASSERT_TRUE(same(got, want)) << "case " << it;
    // Sanity against float: within 2 LSB of round(256 p) - 128.
    for (int row = 0; row < rows; ++row) {
      double mx = -1e9, sum = 0;
      for (int i = 0; i < len; ++i) mx = std::max<double>(mx, x[row * len + i]);
      for (int i = 0; i < len; ++i) sum += std::exp(s * (x[row * len + i] - mx));
      for (int i = 0; i < len; ++i) {
        const double q = std::min(127.0, std::round(256.0 * std::exp(s * (x[row * len + i] - mx)) / sum) - 128);
        ASSERT_LE(std::fabs(q - got[row * len + i]), 2.0) << "case " << it;
      }
    }
  }
}

// Hand-worked: a row of h = 4 equal logits -> p = 1/4 -> 64 - 128 = -64 each; a row with one
// logit far above the rest (beyond diff_min) -> 1.0 -> 127 (saturated 256-128), others -128.
TEST(SoftmaxS8, HandWorkedHeads) {
  flynet_softmax_params rec{};
  ASSERT_EQ(flyref_softmax_prepare(1.0f, 1.0f / 16, FLYNET_ROUNDING_DOUBLE, &rec), FLYREF_OK);
  flyref_softmax_params p{rec.input_multiplier, rec.input_left_shift, rec.diff_min};
  const std::vector<int8_t> x = {5, 5, 5, 5, 127, -128, -128, -128};
  std::vector<int8_t> y(8);
  ASSERT_EQ(flyref_softmax_s8(&p, 2, 4, x.data(), y.data()), FLYREF_OK);
  EXPECT_TRUE(same(y, {-64, -64, -64, -64, 127, -128, -128, -128}));
  EXPECT_EQ(flyref_softmax_s8(&p, 1, 4096, x.data(), y.data()), FLYREF_ARG_ERROR);
}

}  // namespace
