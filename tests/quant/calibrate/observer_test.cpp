#include "flynet/quant/observer.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "flynet/core/fake_quant.hpp"

namespace flynet {
namespace {

TensorObserver observe(const std::vector<float>& x, int batch = 100) {
  TensorObserver o;
  for (size_t i = 0; i < x.size(); i += size_t(batch))
    o.observe_range(x.data() + i, int64_t(std::min(x.size() - i, size_t(batch))));
  for (size_t i = 0; i < x.size(); i += size_t(batch))
    o.observe_histogram(x.data() + i, int64_t(std::min(x.size() - i, size_t(batch))));
  return o;
}

// Naive mean squared quantize-dequantize error over the raw values.
double raw_mse(const std::vector<float>& x, const RangeChoice& r) {
  const ActQuant q = act_quant_params(r.min, r.max);
  double e = 0;
  for (float v : x) {
    float d;
    fake_quant_act(&v, &d, 1, q);
    e += (double(v) - d) * (double(v) - d);
  }
  return e / double(x.size());
}

TEST(Observer, MinMaxAndEmaByHand) {
  TensorObserver o(0.1f);
  const float a[3] = {-1, 0, 2}, b[2] = {-3, 1}, c[2] = {0.5f, 5};
  o.observe_range(a, 3);
  o.observe_range(b, 2);
  o.observe_range(c, 2);
  EXPECT_EQ(o.min(), -3.f);
  EXPECT_EQ(o.max(), 5.f);
  // ema_min: -1 -> 0.9*-1 + 0.1*-3 = -1.2 -> 0.9*-1.2 + 0.1*0.5 = -1.03
  // ema_max:  2 -> 0.9*2 + 0.1*1 = 1.9 -> 0.9*1.9 + 0.1*5 = 2.21
  EXPECT_FLOAT_EQ(o.ema_min(), -1.03f);
  EXPECT_FLOAT_EQ(o.ema_max(), 2.21f);
  const RangeChoice r = o.choose_range(CalibMethod::minmax);
  // [-3, 5]: scale 8/255, zp = round(-128 + 3 * 255/8) = round(-32.375) = -32
  EXPECT_FLOAT_EQ(r.min, (-128.f + 32.f) * (8.f / 255.f));
  EXPECT_FLOAT_EQ(r.max, (127.f + 32.f) * (8.f / 255.f));
}

TEST(Observer, KlDivergenceByHand) {
  // p = (0.5, 0.5), q = (0.25, 0.75): 0.5 ln 2 + 0.5 ln(2/3)
  EXPECT_NEAR(kl_divergence({1, 1}, {1, 3}), 0.5 * std::log(2.0) + 0.5 * std::log(2.0 / 3.0), 1e-12);
  EXPECT_DOUBLE_EQ(kl_divergence({1, 2}, {2, 4}), 0.0);
}

TEST(Observer, PercentileOfAUniformRamp) {
  std::vector<float> x(10000);
  for (int i = 0; i < 10000; ++i) x[size_t(i)] = float(i) / 1000.f;  // 0 .. 9.999
  const TensorObserver o = observe(x);
  const RangeChoice r = o.choose_range(CalibMethod::percentile, 99.0);
  // 99% of the mass lies below 9.9; one histogram bin is 9.999/2048 wide and the int8 grid
  // adds at most one step (9.9/255).
  EXPECT_NEAR(r.max, 9.9, 9.999 / 2048 + 9.9 / 255);
  EXPECT_NEAR(r.clipped_fraction, 0.01, 0.002);
}

TEST(Observer, KlClipsRareFarOutliers) {
  // N(0, 1) plus 4 values at 1000: over the full range the whole bulk falls into about two
  // int8 levels, so its shape is lost (large KL); clipping loses only 2e-5 of the mass.
  std::mt19937 rng(3);
  std::normal_distribution<float> d(0.f, 1.f);
  std::vector<float> x(200000);
  for (float& v : x) v = d(rng);
  for (int i = 0; i < 4; ++i) x[size_t(i * 9973)] = 1000.f;
  const TensorObserver o = observe(x, 1000);
  EXPECT_GE(o.choose_range(CalibMethod::minmax).max, 999.f);
  const RangeChoice kl = o.choose_range(CalibMethod::kl);
  EXPECT_LT(kl.max, 1000.f / 16 * 1.1f);  // the smallest candidate range
  // The outliers are clipped, and at most a sliver of the Gaussian's tails with them.
  EXPECT_GE(kl.clipped_fraction, 4.0 / 200000);
  EXPECT_LT(kl.clipped_fraction, 1e-3);
  EXPECT_LT(kl.min, -3.f);
  // Far, rare outliers cost more squared error clipped than kept: mse keeps them.
  const RangeChoice mse = o.choose_range(CalibMethod::mse);
  EXPECT_LE(raw_mse(x, mse), raw_mse(x, o.choose_range(CalibMethod::minmax)) * 1.0001);
}

TEST(Observer, MseClipsAHeavyTail) {
  // Laplace(0, 1): the 8-bit MSE-optimal clip is well inside the sample maximum of 200k draws.
  std::mt19937 rng(11);
  std::exponential_distribution<float> e(1.f);
  std::bernoulli_distribution sign(0.5);
  std::vector<float> x(200000);
  for (float& v : x) v = sign(rng) ? e(rng) : -e(rng);
  const TensorObserver o = observe(x, 1000);
  const RangeChoice mm = o.choose_range(CalibMethod::minmax);
  const RangeChoice mse = o.choose_range(CalibMethod::mse);
  EXPECT_LT(mse.max, mm.max * 0.95f);
  // Checked on the raw values, not the histogram: the clipped range is better.
  EXPECT_LT(raw_mse(x, mse), raw_mse(x, mm));
  EXPECT_NEAR(mse.mse, raw_mse(x, mse), 0.1 * raw_mse(x, mse));
  // The search starts with the upper end: no range clipped at the top only does better.
  for (int j = 8; j <= 128; j += 7)
    EXPECT_LE(mse.mse, o.evaluate(o.min(), o.max() * j / 128.f).mse * (1 + 1e-9));
}

TEST(Observer, CleanUniformDataKeepsTheFullRange) {
  std::mt19937 rng(4);
  std::uniform_real_distribution<float> d(-1.f, 3.f);
  std::vector<float> x(20000);
  for (float& v : x) v = d(rng);
  const TensorObserver o = observe(x);
  for (CalibMethod m : {CalibMethod::mse, CalibMethod::kl}) {
    const RangeChoice r = o.choose_range(m);
    EXPECT_GT(r.max, 2.8f);
    EXPECT_LT(r.min, -0.9f);
    EXPECT_LT(r.clipped_fraction, 0.01);
  }
}

TEST(Observer, KlKeepsTheRangeOfAReluOutput) {
  // Half the mass exactly at 0 (a ReLU output), the rest a half-normal: the zero spike is
  // exactly representable and must not push KL to a tiny range.
  std::mt19937 rng(8);
  std::normal_distribution<float> d(0.f, 1.f);
  std::vector<float> x(100000);
  for (float& v : x) v = std::max(0.f, d(rng));
  const TensorObserver o = observe(x, 1000);
  const RangeChoice kl = o.choose_range(CalibMethod::kl);
  EXPECT_GT(kl.max, 2.5f);
  EXPECT_LT(kl.clipped_fraction, 0.01);
}

TEST(Observer, AllZeroTensor) {
  const std::vector<float> x(100, 0.f);
  const TensorObserver o = observe(x);
  for (CalibMethod m : {CalibMethod::minmax, CalibMethod::ema, CalibMethod::percentile, CalibMethod::kl, CalibMethod::mse}) {
    const RangeChoice r = o.choose_range(m);
    EXPECT_LE(r.min, 0.f);
    EXPECT_GE(r.max, 0.f);
    EXPECT_TRUE(std::isfinite(r.max));
  }
}

}  // namespace
}  // namespace flynet
