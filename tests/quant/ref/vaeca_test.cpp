// VA-ECA: the integer descriptor (mean, std with an exact integer sqrt) and the 1-D conv across
// channels, against the naive integer definition and against the real-valued formula.
#include <cmath>

#include "test_util.hpp"

namespace {

using namespace fr_test;

struct DescCfg {
  float s_in, s_mean, s_std, eps;
  int zp_in, zp_mean, zp_std, frac;
};

/// Parameters from real scales, as the exporter will derive them (README, "VA-ECA").
flyref_vaeca_descriptor_params derive(const DescCfg& c, int npx, bool single) {
  flyref_vaeca_descriptor_params p{};
  p.input_offset = -c.zp_in;
  naive::quantize_multiplier(static_cast<double>(c.s_in) / (npx * static_cast<double>(c.s_mean)), single,
                             &p.mean_multiplier, &p.mean_shift);
  naive::quantize_multiplier(static_cast<double>(c.s_in) / (npx * std::ldexp(1.0, c.frac) * c.s_std), single,
                             &p.std_multiplier, &p.std_shift);
  p.mean_offset = c.zp_mean;
  p.std_offset = c.zp_std;
  p.eps_q = static_cast<uint64_t>(std::llround(static_cast<double>(c.eps) * npx * npx * std::ldexp(1.0, 2 * c.frac) /
                                               (static_cast<double>(c.s_in) * c.s_in)));
  p.sqrt_frac_bits = c.frac;
  p.rounding = rounding_of(single);
  return p;
}

TEST(VaecaDescriptorS8, RandomMatchesNaiveAndRealFormula) {
  naive::Rng r(900);
  for (int it = 0; it < 1500; ++it) {
    naive::Dims d = r.map(2, it % 50 == 0 ? 64 : 9, 6);
    const int npx = d.h * d.w;
    DescCfg c{std::ldexp(static_cast<float>(r.uni(1 << 20, 1 << 21)) / (1 << 21), static_cast<int>(r.uni(-6, -1))), 0, 0,
              1e-5f, zero_point(r), static_cast<int>(r.uni(-20, 20)), -128, static_cast<int>(r.uni(0, 8))};
    c.s_mean = c.s_in * static_cast<float>(r.uni(1, 3)) / 2;
    c.s_std = c.s_in * static_cast<float>(r.uni(1, 4)) / 4;
    const bool single = it & 1;
    const auto p = derive(c, npx, single);
    // Values clustered around a random centre so that mean and std are in range.
    const int centre = static_cast<int>(r.uni(-100, 100)), spread = static_cast<int>(r.uni(0, 60));
    std::vector<int8_t> z(d.count());
    for (auto& v : z) v = naive::clamp8(centre + r.uni(-spread, spread));
    std::vector<int8_t> gm, gs;
    ASSERT_TRUE(descriptor_matches_naive(p, d, z, &gm, &gs)) << "case " << it;
    // Real formula: mean = s_in * avg(z - zp), std = sqrt(s_in^2 var + eps); within 1 LSB.
    for (int b = 0; b < d.n; ++b)
      for (int ch = 0; ch < d.c; ++ch) {
        double s1 = 0, s2 = 0;
        for (int i = 0; i < npx; ++i) {
          const double v = static_cast<double>(c.s_in) * (z[(b * npx + i) * d.c + ch] - c.zp_in);
          s1 += v;
          s2 += v * v;
        }
        const double mean = s1 / npx, var = std::max(0.0, s2 / npx - mean * mean);
        const double qm = std::round(mean / c.s_mean) + c.zp_mean, qs = std::round(std::sqrt(var + c.eps) / c.s_std) + c.zp_std;
        ASSERT_LE(std::fabs(std::min(127.0, std::max(-128.0, qm)) - gm[b * d.c + ch]), 1.0) << "case " << it;
        ASSERT_LE(std::fabs(std::min(127.0, std::max(-128.0, qs)) - gs[b * d.c + ch]), 1.0) << "case " << it;
      }
  }
}

// Hand-worked: one 2x2 map [1, 3, 5, 7], zp 0, n = 4: S1 = 16, S2 = 1+9+25+49 = 84,
// D = 4*84 - 256 = 80 = n^2 var (var = 5). F = 0, eps_q = 0: R = isqrt(80) = 8 (8.94 floored).
// mean multiplier 1/4 (2^30, -1): 16/4 = 4. std multiplier 1/4 -> 8/4 = 2.
// With F = 4: R = isqrt(80 * 256) = 143 (143.1); std multiplier 1/(4*16) = 2^-6 (2^30, -5):
// 143/64 = 2.23 -> 2. With eps_q = 256*20 (eps = 1.25 in input units^2): isqrt(25600) = 160 ->
// 160/64 = 2.5 -> 3 (double; a tie rounds away from zero) -- sqrt(5 + 1.25) = 2.5 exactly.
TEST(VaecaDescriptorS8, HandWorked) {
  const std::vector<int8_t> z = {1, 3, 5, 7};
  const flyref_dims d = D(1, 2, 2, 1);
  flyref_vaeca_descriptor_params p{};
  p.mean_multiplier = 1 << 30;
  p.mean_shift = -1;
  p.std_multiplier = 1 << 30;
  p.std_shift = -1;
  p.std_offset = -128;
  int8_t m = 0, s = 0;
  ASSERT_EQ(flyref_vaeca_descriptor_s8(&p, &d, z.data(), &m, &s), FLYREF_OK);
  EXPECT_EQ(m, 4);
  EXPECT_EQ(s, 2 - 128);
  p.sqrt_frac_bits = 4;
  p.std_shift = -5;
  ASSERT_EQ(flyref_vaeca_descriptor_s8(&p, &d, z.data(), &m, &s), FLYREF_OK);
  EXPECT_EQ(s, 2 - 128);
  p.eps_q = 256 * 20;
  ASSERT_EQ(flyref_vaeca_descriptor_s8(&p, &d, z.data(), &m, &s), FLYREF_OK);
  EXPECT_EQ(s, 3 - 128);
  // Overflow guard: for 64x64 maps F = 8 passes (4^F * 4096^2 * 16257 < 2^62), F = 15 does not.
  const flyref_dims big = D(1, 64, 64, 1);
  std::vector<int8_t> zb(4096, 3);
  p.sqrt_frac_bits = 8;
  p.eps_q = 0;
  EXPECT_EQ(flyref_vaeca_descriptor_s8(&p, &big, zb.data(), &m, &s), FLYREF_OK);
  p.sqrt_frac_bits = 15;
  EXPECT_EQ(flyref_vaeca_descriptor_s8(&p, &big, zb.data(), &m, &s), FLYREF_ARG_ERROR);
}

TEST(VaecaDescriptorS8, ExtremeMapsStayExact) {
  // Worst-case variance: half -128, half 127 over a 64x64 map, zp 127 -> v in {-255, 0}.
  const flyref_dims d = D(1, 64, 64, 1);
  std::vector<int8_t> z(4096);
  for (int i = 0; i < 4096; ++i) z[i] = i & 1 ? 127 : -128;
  flyref_vaeca_descriptor_params p{};
  p.input_offset = -127;
  p.mean_multiplier = 1 << 30;
  p.mean_shift = -12;  // 1/4096 * 0.5 -> S1 / 8192
  p.std_multiplier = 1 << 30;
  p.std_shift = -12 - 8 + 0;  // F = 8: R / (4096 * 256) * 0.5
  p.sqrt_frac_bits = 8;
  int8_t m = 0, s = 0;
  ASSERT_EQ(flyref_vaeca_descriptor_s8(&p, &d, z.data(), &m, &s), FLYREF_OK);
  // S1 = -255 * 2048 = -522240 -> /8192 = -63.75 -> -64. std = 127.5 exactly: D = 4096^2 * 127.5^2,
  // R = 4096 * 127.5 * 256 = 133693440 -> / 2^21 = 63.75 -> 64.
  EXPECT_EQ(m, -64);
  EXPECT_EQ(s, 64);
}

TEST(EcaConv1dS8, RandomMatchesNaive) {
  naive::Rng r(901);
  for (int it = 0; it < 3000; ++it) {
    const int h = static_cast<int>(r.uni(1, 5)), e = static_cast<int>(r.uni(1, 12)), k = 2 * static_cast<int>(r.uni(0, 3)) + 1;
    const int n = static_cast<int>(r.uni(1, 2)), C = e * h;
    const auto mean = r.s8(n * C), sd = r.s8(n * C), w = r.s8(2 * k, -127, 127);
    flyref_eca_conv1d_params p{};
    p.heads = h;
    p.mean_offset = -zero_point(r);
    p.std_offset = -zero_point(r);
    p.mean_multiplier = r.mult();
    p.mean_shift = static_cast<int32_t>(r.uni(-12, 0));
    p.std_multiplier = r.mult();
    p.std_shift = static_cast<int32_t>(r.uni(-12, 0));
    p.sum_shift = static_cast<int32_t>(r.uni(0, 8));
    p.output_offset = zero_point(r);
    clamps(r, &p.activation.min, &p.activation.max);
    const bool single = it & 1;
    p.rounding = rounding_of(single);
    const auto want = naive::eca_conv1d(eca_cfg(p), {n, 1, 1, C}, mean, sd, w);
    std::vector<int8_t> got(n * C, 0x55);
    const flyref_dims d = D(n, 1, 1, C), f = D(1, 1, k, 2);
    ASSERT_EQ(flyref_eca_conv1d_s8(&p, &d, mean.data(), sd.data(), &f, w.data(), got.data()), FLYREF_OK);
    ASSERT_TRUE(same(got, want)) << "case " << it;
  }
}

// Hand-worked: E = 3 channels, h = 2 heads (i = c*2 + j), k = 3, zps 0, weights mean [1, 2, 1],
// std [0, -1, 0]; multipliers 1.0 (2^30, shift 1), sum_shift 0.
// mean = [1, 10, 2, 20, 3, 30], std = [0, 1, 0, 2, 0, 3].
// head 0 (values 1, 2, 3): c0 = 2*1 + 2 = 4; c1 = 1 + 4 + 3 = 8; c2 = 2 + 6 = 8; std head 0 all 0.
// head 1 (10, 20, 30 / std 1, 2, 3): c0 = 20 + 20 - 1 = 39; c1 = 10 + 40 + 30 - 2 = 78; c2 = 20 + 60 - 3 = 77.
TEST(EcaConv1dS8, HandWorked) {
  const std::vector<int8_t> mean = {1, 10, 2, 20, 3, 30}, sd = {0, 1, 0, 2, 0, 3}, w = {1, 0, 2, -1, 1, 0};
  flyref_eca_conv1d_params p{};
  p.heads = 2;
  p.mean_multiplier = p.std_multiplier = 1 << 30;
  p.mean_shift = p.std_shift = 1;
  p.activation = {-128, 127};
  const flyref_dims d = D(1, 1, 1, 6), f = D(1, 1, 3, 2), bad = D(1, 1, 2, 2);
  std::vector<int8_t> y(6);
  ASSERT_EQ(flyref_eca_conv1d_s8(&p, &d, mean.data(), sd.data(), &f, w.data(), y.data()), FLYREF_OK);
  EXPECT_TRUE(same(y, {4, 39, 8, 78, 8, 77}));
  EXPECT_EQ(flyref_eca_conv1d_s8(&p, &d, mean.data(), sd.data(), &bad, w.data(), y.data()), FLYREF_SHAPE_ERROR);
}

}  // namespace
