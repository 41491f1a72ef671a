// Average and max pooling s8 (raw codes, in-image taps only).
#include "test_util.hpp"

namespace {

using namespace fr_test;

TEST(PoolS8, RandomShapesMatchNaive) {
  naive::Rng r(500);
  for (int it = 0; it < 4000; ++it) {
    const bool avg = it & 1;
    naive::Dims in = r.map(2, 9, 5);
    const int fh = static_cast<int>(r.uni(1, 4)), fw = static_cast<int>(r.uni(1, 4));
    const int sh = static_cast<int>(r.uni(1, 3)), sw = static_cast<int>(r.uni(1, 3));
    const int ph = static_cast<int>(r.uni(0, fh - 1)), pw = static_cast<int>(r.uni(0, fw - 1));  // SAME-like
    naive::Dims out{in.n, std::max(1, (in.h + 2 * ph - fh) / sh + 1), std::max(1, (in.w + 2 * pw - fw) / sw + 1), in.c};
    if (in.h + 2 * ph < fh || in.w + 2 * pw < fw) continue;
    int amin, amax;
    clamps(r, &amin, &amax);
    const auto x = r.s8(in.count());
    const auto want = naive::pool(avg, in, x, out, fh, fw, sh, sw, ph, pw, amin, amax);
    flyref_pool_params p{fh, fw, sh, sw, ph, pw, {amin, amax}};
    const auto din = D(in), dout = D(out);
    std::vector<int8_t> got(out.count(), 0x55);
    ASSERT_EQ(avg ? flyref_avg_pool_s8(&p, &din, x.data(), &dout, got.data())
                  : flyref_max_pool_s8(&p, &din, x.data(), &dout, got.data()),
              FLYREF_OK);
    ASSERT_TRUE(same(got, want)) << "case " << it << (avg ? " avg" : " max");
  }
}

// Hand-worked 2x2 global average: [1, 2, 3, 5] -> 11/4 = 2.75 -> 3; [-1, -2, -3, -4] -> -2.5 -> -3
// (halves away from zero); [1, 1, 2, 2] -> 1.5 -> 2. Max: 5, -1, 2.
TEST(PoolS8, HandWorkedGlobal) {
  const std::vector<int8_t> x = {1, -1, 1, 2, -2, 1, 3, -3, 2, 5, -4, 2};  // 1x2x2x3
  flyref_pool_params p{2, 2, 1, 1, 0, 0, {-128, 127}};
  const flyref_dims in = D(1, 2, 2, 3), out = D(1, 1, 1, 3);
  std::vector<int8_t> y(3);
  ASSERT_EQ(flyref_avg_pool_s8(&p, &in, x.data(), &out, y.data()), FLYREF_OK);
  EXPECT_TRUE(same(y, {3, -3, 2}));
  ASSERT_EQ(flyref_max_pool_s8(&p, &in, x.data(), &out, y.data()), FLYREF_OK);
  EXPECT_TRUE(same(y, {5, -1, 2}));
  // Subsampling [::2, ::2] (Funnel Max-out at stride 2) = 1x1 max pool with stride 2.
  const std::vector<int8_t> u = {1, 2, 3, 4, 5, 6, 7, 8, 9};  // 1x3x3x1
  flyref_pool_params sub{1, 1, 2, 2, 0, 0, {-128, 127}};
  const flyref_dims uin = D(1, 3, 3, 1), uout = D(1, 2, 2, 1);
  std::vector<int8_t> us(4);
  ASSERT_EQ(flyref_max_pool_s8(&sub, &uin, u.data(), &uout, us.data()), FLYREF_OK);
  EXPECT_TRUE(same(us, {1, 3, 7, 9}));
  // A window entirely in padding: avg is an error, max gives clamp(-128).
  flyref_pool_params pad{1, 1, 1, 1, 1, 1, {-100, 127}};
  const flyref_dims in1 = D(1, 1, 1, 1), out1 = D(1, 1, 1, 1);
  int8_t one = 5, res = 0;
  EXPECT_EQ(flyref_avg_pool_s8(&pad, &in1, &one, &out1, &res), FLYREF_ARG_ERROR);
  EXPECT_EQ(flyref_max_pool_s8(&pad, &in1, &one, &out1, &res), FLYREF_OK);
  EXPECT_EQ(res, -100);
}

}  // namespace
