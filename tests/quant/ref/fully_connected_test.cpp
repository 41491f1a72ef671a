// Fully connected s8, per-tensor (incl. a non-zero weight zero point) and per-channel.
#include "test_util.hpp"

namespace {

using namespace fr_test;

TEST(FullyConnectedS8, RandomShapesMatchNaive) {
  naive::Rng r(300);
  for (int it = 0; it < 3000; ++it) {
    const int batches = static_cast<int>(r.uni(1, 3)), k = static_cast<int>(r.uni(1, 64)), co = static_cast<int>(r.uni(1, 12));
    const int in_off = -zero_point(r), out_off = zero_point(r);
    const int f_off = r.uni(0, 3) == 0 ? static_cast<int>(r.uni(-127, 128)) : 0;
    int amin, amax;
    clamps(r, &amin, &amax);
    const bool single = r.uni(0, 1) == 1, per_channel = r.uni(0, 1) == 1, has_bias = r.uni(0, 3) != 0;
    const auto x = r.s8(batches * k), w = r.s8(co * k, -127, 127);
    std::vector<int32_t> bias, m, s;
    for (int i = 0; i < co; ++i) bias.push_back(static_cast<int32_t>(r.uni(-100000, 100000)));
    for (int i = 0; i < (per_channel ? co : 1); ++i) {
      m.push_back(r.mult());
      s.push_back(static_cast<int32_t>(r.uni(-14, 0)));
    }
    const auto want = naive::fully_connected(in_off, f_off, out_off, amin, amax, single, batches, k, co, x, w,
                                             has_bias ? bias.data() : nullptr, m, s);
    flyref_fc_params p{in_off, f_off, out_off, {amin, amax}, rounding_of(single)};
    const flyref_quant_params q{m.data(), s.data(), static_cast<int32_t>(m.size())};
    // The input may have any NHWC shape with H*W*C = K.
    const flyref_dims in = D(batches, 1, 1, k), f = D(co, 1, 1, k), out = D(batches, 1, 1, co);
    std::vector<int8_t> got(batches * co, 0x55);
    ASSERT_EQ(flyref_fully_connected_s8(&p, &q, &in, x.data(), &f, w.data(), has_bias ? bias.data() : nullptr, &out,
                                        got.data()),
              FLYREF_OK);
    ASSERT_TRUE(same(got, want)) << "case " << it;
  }
}

// Hand-worked: x = [10, -10] (zp -2 -> offset 2 -> 12, -8), W = [[3, 1], [1, 1]], weight zp 1
// (filter_offset -1 -> [[2, 0], [0, 0]]): acc0 = 24, acc1 = 0; bias [1, -1] -> 25, -1.
// multiplier 2^30, shift -2 (x1/8): 3.125 -> 3, -0.125 -> 0; output zp -5 -> -2, -5.
TEST(FullyConnectedS8, HandWorkedWeightZeroPoint) {
  const std::vector<int8_t> x = {10, -10}, w = {3, 1, 1, 1};
  const int32_t bias[2] = {1, -1}, m = 1 << 30, s = -2;
  flyref_fc_params p{2, -1, -5, {-128, 127}, FLYNET_ROUNDING_DOUBLE};
  const flyref_quant_params q{&m, &s, 1};
  const flyref_dims in = D(1, 1, 1, 2), f = D(2, 1, 1, 2), out = D(1, 1, 1, 2);
  std::vector<int8_t> y(2);
  ASSERT_EQ(flyref_fully_connected_s8(&p, &q, &in, x.data(), &f, w.data(), bias, &out, y.data()), FLYREF_OK);
  EXPECT_TRUE(same(y, {-2, -5}));
  const flyref_dims bad = D(1, 1, 1, 3);
  EXPECT_EQ(flyref_fully_connected_s8(&p, &q, &bad, x.data(), &f, w.data(), bias, &out, y.data()), FLYREF_SHAPE_ERROR);
}

}  // namespace
