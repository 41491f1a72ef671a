// Elementwise add / mul / max (with 4-D broadcast) and the max over head groups.
#include "test_util.hpp"

namespace {

using namespace fr_test;

naive::Dims broadcast_of(naive::Rng& r, const naive::Dims& o) {
  naive::Dims d = o;
  if (r.uni(0, 1)) d.n = 1;
  if (r.uni(0, 1)) d.h = 1;
  if (r.uni(0, 1)) d.w = 1;
  if (r.uni(0, 3) == 0) d.c = 1;
  return d;
}

float random_scale(naive::Rng& r) { return std::ldexp(static_cast<float>(r.uni(1 << 20, 1 << 21)) / (1 << 21), static_cast<int>(r.uni(-9, 0))); }

TEST(AddS8, PrepareMatchesIndependentDerivation) {
  naive::Rng r(400);
  for (int it = 0; it < 20000; ++it) {
    const float s1 = random_scale(r), s2 = random_scale(r), so = random_scale(r) * 2;
    flynet_add_params p{};
    const bool single = it & 1;
    const flyref_status st = flyref_add_prepare(s1, s2, so, rounding_of(single), &p);
    const double tm = 2.0 * static_cast<double>(std::max(s1, s2));
    int32_t m1, m2, mo;
    int e1, e2, eo;
    naive::quantize_multiplier(static_cast<double>(s1) / tm, single, &m1, &e1);
    naive::quantize_multiplier(static_cast<double>(s2) / tm, single, &m2, &e2);
    naive::quantize_multiplier(tm / (static_cast<double>(1 << 20) * static_cast<double>(so)), single, &mo, &eo);
    if (eo > 0) { EXPECT_EQ(st, FLYREF_ARG_ERROR); continue; }
    ASSERT_EQ(st, FLYREF_OK);
    ASSERT_EQ(p.left_shift, 20);
    ASSERT_EQ(p.input1_multiplier, m1);
    ASSERT_EQ(p.input1_shift, e1);
    ASSERT_EQ(p.input2_multiplier, m2);
    ASSERT_EQ(p.input2_shift, e2);
    ASSERT_EQ(p.output_multiplier, mo);
    ASSERT_EQ(p.output_shift, eo);
  }
}

TEST(AddS8, RandomBroadcastMatchesNaive) {
  naive::Rng r(401);
  for (int it = 0; it < 3000; ++it) {
    const naive::Dims o = r.map(2, 5, 6), a = broadcast_of(r, o), b = broadcast_of(r, o);
    const bool single = r.uni(0, 1) == 1;
    flynet_add_params rec{};
    ASSERT_EQ(flyref_add_prepare(random_scale(r), random_scale(r), random_scale(r) * 2, rounding_of(single), &rec), FLYREF_OK);
    const int off1 = -zero_point(r), off2 = -zero_point(r), offo = zero_point(r);
    int amin, amax;
    clamps(r, &amin, &amax);
    const auto x1 = r.s8(a.count()), x2 = r.s8(b.count());
    const auto want = naive::binary(a, b, o, [&](int i1, int i2) {
      const int32_t v1 = naive::requant((x1[i1] + off1) * (1 << 20), rec.input1_multiplier, rec.input1_shift, single);
      const int32_t v2 = naive::requant((x2[i2] + off2) * (1 << 20), rec.input2_multiplier, rec.input2_shift, single);
      return naive::clamp8(int64_t{naive::requant(v1 + v2, rec.output_multiplier, rec.output_shift, single)} + offo, amin, amax);
    });
    flyref_add_params p{off1, off2, 20, rec.input1_multiplier, rec.input1_shift, rec.input2_multiplier, rec.input2_shift,
                        rec.output_multiplier, rec.output_shift, offo, {amin, amax}, rounding_of(single)};
    const auto da = D(a), db = D(b), dout = D(o);
    std::vector<int8_t> got(o.count(), 0x55);
    ASSERT_EQ(flyref_add_s8(&p, &da, x1.data(), &db, x2.data(), &dout, got.data()), FLYREF_OK);
    ASSERT_TRUE(same(got, want)) << "case " << it;
  }
}

// Hand-worked add: both inputs scale 1, zp 0, output scale 1 -> m1 = m2 = 0.5 (2^30, shift 0),
// output multiplier 2 / 2^20 = 2^-19 (2^30, shift -18). 3 + 4: (3 << 20) * 0.5 = 1572864,
// (4 << 20) * 0.5 = 2097152, sum 3670016 * 2^-19 = 7 exactly. -3 + 1 = -2.
TEST(AddS8, HandWorked) {
  flynet_add_params rec{};
  ASSERT_EQ(flyref_add_prepare(1.0f, 1.0f, 1.0f, FLYNET_ROUNDING_DOUBLE, &rec), FLYREF_OK);
  EXPECT_EQ(rec.input1_multiplier, 1 << 30);
  EXPECT_EQ(rec.input1_shift, 0);
  EXPECT_EQ(rec.output_multiplier, 1 << 30);
  EXPECT_EQ(rec.output_shift, -18);
  flyref_add_params p{0, 0, 20, rec.input1_multiplier, rec.input1_shift, rec.input2_multiplier, rec.input2_shift,
                      rec.output_multiplier, rec.output_shift, 0, {-128, 127}, FLYNET_ROUNDING_DOUBLE};
  const std::vector<int8_t> a = {3, -3, 100}, b = {4, 1, 100};
  const flyref_dims d = D(1, 1, 1, 3);
  std::vector<int8_t> y(3);
  ASSERT_EQ(flyref_add_s8(&p, &d, a.data(), &d, b.data(), &d, y.data()), FLYREF_OK);
  EXPECT_TRUE(same(y, {7, -2, 127}));  // 200 saturates
}

TEST(MulS8, RandomBroadcastMatchesNaive) {
  naive::Rng r(402);
  for (int it = 0; it < 3000; ++it) {
    const naive::Dims o = r.map(2, 5, 6), a = broadcast_of(r, o), b = broadcast_of(r, o);
    const bool single = r.uni(0, 1) == 1;
    const int off1 = -zero_point(r), off2 = -zero_point(r), offo = zero_point(r);
    const int32_t m = r.mult();
    const int s = static_cast<int>(r.uni(-16, 2));
    int amin, amax;
    clamps(r, &amin, &amax);
    const auto x1 = r.s8(a.count()), x2 = r.s8(b.count());
    const auto want = naive::binary(a, b, o, [&](int i1, int i2) {
      return naive::clamp8(int64_t{naive::requant((x1[i1] + off1) * (x2[i2] + off2), m, s, single)} + offo, amin, amax);
    });
    flyref_mul_params p{off1, off2, m, s, offo, {amin, amax}, rounding_of(single)};
    const auto da = D(a), db = D(b), dout = D(o);
    std::vector<int8_t> got(o.count(), 0x55);
    ASSERT_EQ(flyref_mul_s8(&p, &da, x1.data(), &db, x2.data(), &dout, got.data()), FLYREF_OK);
    ASSERT_TRUE(same(got, want)) << "case " << it;
  }
}

// Hand-worked gate multiply: gate [1,1,1,2] = [-128+64, -128+192] with zp -128 -> 64, 192
// (0.25 and 0.75 at scale 1/256); map [1,1,2,2] = [8, 8, -8, 4], zp 0; output multiplier
// 1/256 (2^30, shift -7): 64*8/256 = 2, 192*8/256 = 6, 64*-8/256 = -2, 192*4/256 = 3.
TEST(MulS8, HandWorkedGateBroadcast) {
  const std::vector<int8_t> gate = {-64, 64}, map = {8, 8, -8, 4};
  flyref_mul_params p{128, 0, 1 << 30, -7, 0, {-128, 127}, FLYNET_ROUNDING_DOUBLE};
  const flyref_dims dg = D(1, 1, 1, 2), dm = D(1, 1, 2, 2);
  std::vector<int8_t> y(4);
  ASSERT_EQ(flyref_mul_s8(&p, &dg, gate.data(), &dm, map.data(), &dm, y.data()), FLYREF_OK);
  EXPECT_TRUE(same(y, {2, 6, -2, 3}));
  const flyref_dims bad = D(1, 1, 1, 3);
  EXPECT_EQ(flyref_mul_s8(&p, &bad, gate.data(), &dm, map.data(), &dm, y.data()), FLYREF_SHAPE_ERROR);
}

TEST(MaximumS8, RandomBroadcastMatchesNaive) {
  naive::Rng r(403);
  for (int it = 0; it < 2000; ++it) {
    const naive::Dims o = r.map(2, 5, 6), a = broadcast_of(r, o), b = broadcast_of(r, o);
    const auto x1 = r.s8(a.count()), x2 = r.s8(b.count());
    const auto want = naive::binary(a, b, o, [&](int i1, int i2) { return std::max(x1[i1], x2[i2]); });
    const auto da = D(a), db = D(b), dout = D(o);
    std::vector<int8_t> got(o.count(), 0x55);
    ASSERT_EQ(flyref_maximum_s8(&da, x1.data(), &db, x2.data(), &dout, got.data()), FLYREF_OK);
    ASSERT_TRUE(same(got, want));
  }
}

TEST(MaxGroupS8, RandomMatchesNaiveAndHandWorked) {
  naive::Rng r(404);
  for (int it = 0; it < 2000; ++it) {
    const int g = static_cast<int>(r.uni(1, 8));
    ASSERT_TRUE(max_group_matches_naive(r, g, r.map(2, 5, 6)));
  }
  // Two channels of three heads: [1, 7, -3 | -9, -2, -5] -> [7, -2].
  const std::vector<int8_t> x = {1, 7, -3, -9, -2, -5};
  const flyref_dims in = D(1, 1, 1, 6), out = D(1, 1, 1, 2), bad = D(1, 1, 1, 3);
  std::vector<int8_t> y(2);
  ASSERT_EQ(flyref_max_group_s8(3, &in, x.data(), &out, y.data()), FLYREF_OK);
  EXPECT_TRUE(same(y, {7, -2}));
  EXPECT_EQ(flyref_max_group_s8(3, &in, x.data(), &bad, y.data()), FLYREF_SHAPE_ERROR);
}

}  // namespace
