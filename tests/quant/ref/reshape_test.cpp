// Concat, channel gather (MDW-Concat shortcut) and requantize s8.
#include "test_util.hpp"

namespace {

using namespace fr_test;

TEST(ConcatS8, RandomMatchesNaiveAndHandWorked) {
  naive::Rng r(800);
  for (int it = 0; it < 1000; ++it) {
    const int k = static_cast<int>(r.uni(1, 4)), outer = static_cast<int>(r.uni(1, 20));
    std::vector<std::vector<int8_t>> xs;
    std::vector<const int8_t*> ptrs;
    std::vector<int32_t> ch;
    int total = 0;
    for (int i = 0; i < k; ++i) {
      ch.push_back(static_cast<int32_t>(r.uni(1, 5)));
      total += ch.back();
      xs.push_back(r.s8(outer * ch.back()));
    }
    for (auto& x : xs) ptrs.push_back(x.data());
    std::vector<int8_t> want;
    for (int p = 0; p < outer; ++p)
      for (int i = 0; i < k; ++i)
        for (int c = 0; c < ch[i]; ++c) want.push_back(xs[i][p * ch[i] + c]);
    std::vector<int8_t> got(outer * total);
    ASSERT_EQ(flyref_concat_s8(k, ptrs.data(), ch.data(), outer, got.data()), FLYREF_OK);
    ASSERT_TRUE(same(got, want));
  }
  // [a0 a1 | b0] per pixel, two pixels: [1 2 | 9], [3 4 | 8] -> [1 2 9 3 4 8].
  const std::vector<int8_t> a = {1, 2, 3, 4}, b = {9, 8};
  const int8_t* in[2] = {a.data(), b.data()};
  const int32_t ch[2] = {2, 1};
  std::vector<int8_t> y(6);
  ASSERT_EQ(flyref_concat_s8(2, in, ch, 2, y.data()), FLYREF_OK);
  EXPECT_TRUE(same(y, {1, 2, 9, 3, 4, 8}));
}

TEST(ChannelGatherS8, RandomMatchesNaive) {
  naive::Rng r(802);
  for (int it = 0; it < 1000; ++it) {
    const int n = static_cast<int>(r.uni(1, 2)), hh = static_cast<int>(r.uni(1, 4)), ww = static_cast<int>(r.uni(1, 4));
    const int cin = static_cast<int>(r.uni(1, 12)), cout = static_cast<int>(r.uni(1, 16));
    const auto x = r.s8(n * hh * ww * cin);
    std::vector<int32_t> idx;
    for (int o = 0; o < cout; ++o) idx.push_back(static_cast<int32_t>(r.uni(0, cin - 1)));
    std::vector<int8_t> want, got(n * hh * ww * cout);
    for (int p = 0; p < n * hh * ww; ++p)
      for (int o = 0; o < cout; ++o) want.push_back(x[p * cin + idx[o]]);
    const flyref_dims in = D(n, hh, ww, cin), out = D(n, hh, ww, cout);
    ASSERT_EQ(flyref_channel_gather_s8(&in, x.data(), idx.data(), &out, got.data()), FLYREF_OK);
    ASSERT_TRUE(same(got, want));
  }
}

// MDW-Concat: C_in = 2, C_out = 5 -> m = ceil(5/2) = 3 heads; depthwise output channel ic*3 + j;
// shortcut channel o reads input channel o % 2 with head o / 2: index[o] = (o % 2) * 3 + o / 2
// = [0, 3, 1, 4, 2]. Depthwise output [d00 d01 d02 d10 d11 d12] = [10 11 12 20 21 22] ->
// [10, 20, 11, 21, 12].
TEST(ChannelGatherS8, MdwConcatIndexRule) {
  const std::vector<int8_t> dw = {10, 11, 12, 20, 21, 22};
  const int cin = 2, cout = 5, m = (cout + cin - 1) / cin;
  std::vector<int32_t> idx;
  for (int o = 0; o < cout; ++o) idx.push_back((o % cin) * m + o / cin);
  EXPECT_EQ(idx, (std::vector<int32_t>{0, 3, 1, 4, 2}));
  const flyref_dims in = D(1, 1, 1, 6), out = D(1, 1, 1, 5);
  std::vector<int8_t> y(5);
  ASSERT_EQ(flyref_channel_gather_s8(&in, dw.data(), idx.data(), &out, y.data()), FLYREF_OK);
  EXPECT_TRUE(same(y, {10, 20, 11, 21, 12}));
  idx[0] = 6;
  EXPECT_EQ(flyref_channel_gather_s8(&in, dw.data(), idx.data(), &out, y.data()), FLYREF_ARG_ERROR);
}

TEST(RequantizeS8, RandomMatchesNaiveAndHandWorked) {
  naive::Rng r(801);
  for (int it = 0; it < 3000; ++it) {
    const int in_off = -zero_point(r), out_off = zero_point(r);
    const int32_t m = r.mult();
    const int s = static_cast<int>(r.uni(-8, 3));
    const bool single = it & 1;
    int amin, amax;
    clamps(r, &amin, &amax);
    const auto x = r.s8(64);
    std::vector<int8_t> want(64), got(64);
    for (int i = 0; i < 64; ++i)
      want[i] = naive::clamp8(int64_t{naive::requant(x[i] + in_off, m, s, single)} + out_off, amin, amax);
    flyref_requantize_params p{in_off, out_off, m, s, {amin, amax}, rounding_of(single)};
    ASSERT_EQ(flyref_requantize_s8(&p, 64, x.data(), got.data()), FLYREF_OK);
    ASSERT_TRUE(same(got, want));
  }
  // Scale 0.1 zp 10 -> scale 0.4 zp -3 (x0.25 = 2^30, shift -1): x = 12 -> 2 -> 0.5 -> 1 in both
  // modes -> -2; x = 8 -> -2 -> -0.5 -> -1 (double: SRDHM gives -1 exactly, then -1/2 rounds away
  // from zero) or 0 (single: floor(-0.5 + 0.5)) -> -4 / -3.
  flyref_requantize_params p{-10, -3, 1 << 30, -1, {-128, 127}, FLYNET_ROUNDING_DOUBLE};
  const std::vector<int8_t> x = {12, 8};
  std::vector<int8_t> y(2);
  ASSERT_EQ(flyref_requantize_s8(&p, 2, x.data(), y.data()), FLYREF_OK);
  EXPECT_TRUE(same(y, {-2, -4}));
  p.rounding = FLYNET_ROUNDING_SINGLE;
  ASSERT_EQ(flyref_requantize_s8(&p, 2, x.data(), y.data()), FLYREF_OK);
  EXPECT_TRUE(same(y, {-2, -3}));
}

}  // namespace
