#include "flynet/core/fake_quant.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

namespace flynet {
namespace {

TEST(FakeQuantWeights, FourLevelsByHand) {
  // One channel, a = max|w| = 1.5, L = 4: D = 2a/3 = 1, grid {-1.5, -0.5, 0.5, 1.5}.
  // -1.2: (w+a)/D = 0.3 -> i 0 -> -1.5;  0.1: 1.6 -> 2 -> 0.5;  -0.05: 1.45 -> 1 -> -0.5;
  // 0.9: 2.4 -> 2 -> 0.5;  1.5: 3 -> 1.5.  Even L: step D/2 = 0.5, codes 2i - 3.
  const float w[5] = {-1.2f, 0.1f, -0.05f, 0.9f, 1.5f};
  float q[5];
  auto grids = fake_quant_weights(w, q, 1, 5, 4);
  const float want[5] = {-1.5f, 0.5f, -0.5f, 0.5f, 1.5f};
  for (int i = 0; i < 5; ++i) EXPECT_FLOAT_EQ(q[i], want[i]) << i;
  EXPECT_FLOAT_EQ(grids[0].step, 0.5f);
  EXPECT_EQ(grids[0].max_code, 3);
  int32_t codes[5];
  weight_codes(q, codes, 1, 5, grids);
  const int32_t want_codes[5] = {-3, 1, -1, 1, 3};
  for (int i = 0; i < 5; ++i) EXPECT_EQ(codes[i], want_codes[i]) << i;
}

TEST(FakeQuantWeights, ThreeLevelsByHand) {
  // a = 2, L = 3: D = 2, grid {-2, 0, 2}; odd L: step D, codes i - 1.
  // 0.9: (0.9+2)/2 = 1.45 -> 1 -> 0;  1.1: 1.55 -> 2 -> 2;  -1.0: 0.5 -> half away -> 1 -> 0.
  const float w[4] = {0.9f, 1.1f, -1.0f, -2.f};
  float q[4];
  auto grids = fake_quant_weights(w, q, 1, 4, 3);
  EXPECT_FLOAT_EQ(q[0], 0.f);
  EXPECT_FLOAT_EQ(q[1], 2.f);
  EXPECT_FLOAT_EQ(q[2], 0.f);
  EXPECT_FLOAT_EQ(q[3], -2.f);
  EXPECT_FLOAT_EQ(grids[0].step, 2.f);
  EXPECT_EQ(grids[0].max_code, 1);
}

TEST(FakeQuantWeights, PerChannelAndAllZeroChannel) {
  const float w[6] = {1.f, -0.5f, 0.25f, 0.f, 0.f, 0.f};
  float q[6];
  auto grids = fake_quant_weights(w, q, 2, 3, 8);
  EXPECT_FLOAT_EQ(grids[0].step, float(2.0 / 7 / 2));
  EXPECT_EQ(grids[1].step, 0.f);
  for (int i = 3; i < 6; ++i) EXPECT_EQ(q[i], 0.f);
  EXPECT_FLOAT_EQ(q[0], 1.f);  // the extreme is always on the grid
}

TEST(FakeQuantWeights, AtMostLDistinctValuesAndExactInt8Codes) {
  std::mt19937 rng(5);
  std::normal_distribution<float> d(0.f, 0.3f);
  for (int levels : {2, 3, 4, 6, 8, 16, 31, 128, 255}) {
    SCOPED_TRACE(levels);
    const int64_t oc = 7, per = 75;
    std::vector<float> w(size_t(oc * per)), q(w.size());
    for (float& v : w) v = d(rng);
    auto grids = fake_quant_weights(w.data(), q.data(), oc, per, levels);
    std::vector<int32_t> codes(w.size());
    weight_codes(q.data(), codes.data(), oc, per, grids);
    for (int64_t c = 0; c < oc; ++c) {
      std::set<float> distinct(q.begin() + c * per, q.begin() + (c + 1) * per);
      EXPECT_LE(int(distinct.size()), levels);
      for (int64_t i = 0; i < per; ++i) {
        const size_t k = size_t(c * per + i);
        // Exact: the code times the step gives back the fake-quantized weight bit for bit.
        EXPECT_EQ(float(codes[k]) * grids[size_t(c)].step, q[k]);
        EXPECT_LE(std::abs(codes[k]), 127);
        // Nearest grid point: error at most half a grid spacing D.
        const double D = (levels % 2 ? 1.0 : 2.0) * grids[size_t(c)].step;
        EXPECT_LE(std::fabs(double(q[k]) - w[k]), D / 2 * (1 + 1e-6));
      }
      // Quantizing again changes nothing (the grid is a fixed point).
      std::vector<float> again(static_cast<size_t>(per));
      fake_quant_weights(q.data() + c * per, again.data(), 1, per, levels);
      for (int64_t i = 0; i < per; ++i) EXPECT_EQ(again[size_t(i)], q[size_t(c * per + i)]);
    }
  }
}

TEST(FakeQuantWeights, StraightThroughGradient) {
  const float g[3] = {0.5f, -1.f, 2.f};
  float out[3];
  fake_quant_weights_backward(g, out, 3);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(out[i], g[i]);
}

TEST(FakeQuantAct, ParamsByHand) {
  // [-1, 3]: scale 4/255; zp = round(-128 + 1/(4/255)) = round(-128 + 63.75) = -64.
  ActQuant q = act_quant_params(-1.f, 3.f);
  EXPECT_FLOAT_EQ(q.scale, 4.f / 255.f);
  EXPECT_EQ(q.zero_point, -64);
  // A positive-only range is widened to include 0: [0, 2.55] -> scale 0.01, zp -128.
  q = act_quant_params(0.5f, 2.55f);
  EXPECT_FLOAT_EQ(q.scale, 0.01f);
  EXPECT_EQ(q.zero_point, -128);
}

TEST(FakeQuantAct, RoundTripClampAndGradient) {
  const ActQuant q{0.1f, -28};  // representable: [(-128+28)*0.1, (127+28)*0.1] = [-10, 15.5]
  const float x[6] = {0.f, 0.04f, 0.05f, -0.05f, 20.f, -11.f};
  float y[6];
  fake_quant_act(x, y, 6, q);
  EXPECT_FLOAT_EQ(y[0], 0.f);
  EXPECT_FLOAT_EQ(y[1], 0.f);      // 0.4 -> 0
  EXPECT_NEAR(y[2], 0.1f, 1e-6f);  // 0.05/0.1 = 0.5 (in float slightly above or at) -> 1
  EXPECT_NEAR(y[3], -0.1f, 1e-6f); // -0.5 -> half away from zero -> -1
  EXPECT_FLOAT_EQ(y[4], 15.5f);    // clamped to 127
  EXPECT_FLOAT_EQ(y[5], -10.f);    // clamped to -128
  const float g[6] = {1, 1, 1, 1, 1, 1};
  float gi[6];
  fake_quant_act_backward(x, g, gi, 6, q);
  const float want[6] = {1, 1, 1, 1, 0, 0};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(gi[i], want[i]) << i;
}

TEST(FakeQuantAct, EmaRange) {
  ActRange r;
  const float a[2] = {-1.f, 2.f}, b[2] = {-3.f, 4.f};
  ema_update(r, a, 2, 0.1f);
  EXPECT_EQ(r.min, -1.f);
  EXPECT_EQ(r.max, 2.f);
  ema_update(r, b, 2, 0.1f);
  EXPECT_FLOAT_EQ(r.min, 0.9f * -1.f + 0.1f * -3.f);
  EXPECT_FLOAT_EQ(r.max, 0.9f * 2.f + 0.1f * 4.f);
}

TEST(FakeQuantAct, RoundHalfAwayIsExactNearHalves) {
  EXPECT_EQ(round_half_away(0.49999997f), 0.f);
  EXPECT_EQ(round_half_away(0.5f), 1.f);
  EXPECT_EQ(round_half_away(-0.5f), -1.f);
  EXPECT_EQ(round_half_away(2.5f), 3.f);
}

}  // namespace
}  // namespace flynet
