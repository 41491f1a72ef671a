// Convolution s8: generic path, 1x1 fast path and wrapper against the naive reference, plus
// hand-worked goldens in both rounding modes.
#include "test_util.hpp"

namespace {

using namespace fr_test;

struct Case {
  naive::ConvCfg cfg;
  naive::Dims in, f, out;
  std::vector<int8_t> x, w;
  std::vector<int32_t> bias, m, s;
  bool has_bias = true;
};

Case random_case(naive::Rng& r, bool force_1x1) {
  Case c;
  const int groups = static_cast<int>(r.uni(1, 3));
  const int kc = static_cast<int>(r.uni(1, 4));
  const int per_group = static_cast<int>(r.uni(1, 4));
  c.in = {static_cast<int>(r.uni(1, 2)), static_cast<int>(r.uni(1, 8)), static_cast<int>(r.uni(1, 8)), groups * kc};
  const int kh = force_1x1 ? 1 : static_cast<int>(r.uni(1, 4)), kw = force_1x1 ? 1 : static_cast<int>(r.uni(1, 4));
  c.f = {groups * per_group, kh, kw, kc};
  auto& p = c.cfg;
  p.sh = static_cast<int>(r.uni(1, 3));
  p.sw = static_cast<int>(r.uni(1, 3));
  p.dh = force_1x1 ? 1 : static_cast<int>(r.uni(1, 3));
  p.dw = force_1x1 ? 1 : static_cast<int>(r.uni(1, 3));
  p.ph = force_1x1 ? 0 : static_cast<int>(r.uni(0, 2));
  p.pw = force_1x1 ? 0 : static_cast<int>(r.uni(0, 2));
  const int eh = (kh - 1) * p.dh + 1, ew = (kw - 1) * p.dw + 1;
  const int oh = (c.in.h + 2 * p.ph - eh) / p.sh + 1, ow = (c.in.w + 2 * p.pw - ew) / p.sw + 1;
  c.out = {c.in.n, std::max(oh, 1), std::max(ow, 1), c.f.n};
  if (c.in.h + 2 * p.ph < eh || c.in.w + 2 * p.pw < ew) {  // kernel larger than padded input: shrink
    c.out.h = 1;
    c.out.w = 1;
  }
  p.in_off = -zero_point(r);
  p.out_off = zero_point(r);
  clamps(r, &p.amin, &p.amax);
  p.single = r.uni(0, 1) == 1;
  c.x = r.s8(c.in.count());
  c.w = r.s8(c.f.count(), -127, 127);
  c.has_bias = r.uni(0, 3) != 0;
  for (int i = 0; i < c.f.n; ++i) c.bias.push_back(static_cast<int32_t>(r.uni(-40000, 40000)));
  const bool per_channel = r.uni(0, 3) != 0;
  for (int i = 0; i < (per_channel ? c.f.n : 1); ++i) {
    c.m.push_back(r.mult());
    c.s.push_back(static_cast<int32_t>(r.uni(-14, 1)));
  }
  return c;
}

TEST(Conv2dS8, RandomShapesMatchNaive) {
  naive::Rng r(100);
  for (int it = 0; it < 4000; ++it) {
    const bool one = it % 4 == 0;
    Case c = random_case(r, one);
    const auto want = naive::conv(c.cfg, c.in, c.x, c.f, c.w, c.has_bias ? c.bias.data() : nullptr, c.m, c.s, c.out);
    const flyref_conv_params p = conv_params(c.cfg);
    const flyref_quant_params q{c.m.data(), c.s.data(), static_cast<int32_t>(c.m.size())};
    const auto in = D(c.in), f = D(c.f), out = D(c.out);
    const int32_t* b = c.has_bias ? c.bias.data() : nullptr;

    std::vector<int8_t> scratch(flyref_conv2d_s8_buffer_size(&in, &f));
    flyref_context ctx{scratch.data(), static_cast<int32_t>(scratch.size())};
    std::vector<int8_t> got(c.out.count(), 0x55);
    ASSERT_EQ(flyref_conv2d_s8(&ctx, &p, &q, &in, c.x.data(), &f, c.w.data(), b, &out, got.data()), FLYREF_OK);
    ASSERT_TRUE(same(got, want)) << "generic, case " << it;

    std::vector<int8_t> scratch2(flyref_conv2d_wrapper_s8_buffer_size(&p, &in, &f) + 1);
    flyref_context ctx2{scratch2.data(), static_cast<int32_t>(scratch2.size() - 1)};
    std::vector<int8_t> got2(c.out.count(), 0x55);
    ASSERT_EQ(flyref_conv2d_wrapper_s8(&ctx2, &p, &q, &in, c.x.data(), &f, c.w.data(), b, &out, got2.data()), FLYREF_OK);
    ASSERT_TRUE(same(got2, want)) << "wrapper, case " << it;

    if (one) {
      ASSERT_EQ(flyref_conv2d_wrapper_s8_buffer_size(&p, &in, &f), 0);
      std::vector<int8_t> got3(c.out.count(), 0x55);
      ASSERT_EQ(flyref_conv2d_1x1_s8(&p, &q, &in, c.x.data(), &f, c.w.data(), b, &out, got3.data()), FLYREF_OK);
      ASSERT_TRUE(same(got3, want)) << "1x1, case " << it;
    }
  }
}

// Hand-worked: x = [[1,2,3],[4,5,6],[7,8,9]] (1x3x3x1), input zero point -1 so x+offset =
// [[2,3,4],[5,6,7],[8,9,10]]; 3x3 all-ones filter, pad 1, stride 2 -> 2x2 outputs at centres
// (0,0),(0,2),(2,0),(2,2): sums 2+3+5+6=16, 3+4+6+7=20, 5+6+8+9=28, 6+7+9+10=32.
// bias -18 -> -2, 2, 10, 14; multiplier 2^30 shift -1 (x0.25) -> -0.5, 0.5, 2.5, 3.5.
// double: -1, 1, 3, 4 (halves away from zero); single: 0, 1, 3, 4 (halves up). +3 output offset.
TEST(Conv2dS8, HandWorkedBothRoundings) {
  HandWorkedConv c;
  std::vector<int8_t> y;
  ASSERT_EQ(c.run(FLYNET_ROUNDING_DOUBLE, &y), FLYREF_OK);
  EXPECT_TRUE(same(y, {2, 4, 6, 7}));
  ASSERT_EQ(c.run(FLYNET_ROUNDING_SINGLE, &y), FLYREF_OK);
  EXPECT_TRUE(same(y, {3, 4, 6, 7}));
  // ReLU-style clamp at the output zero point 3 (activation min 3): the -0.5 becomes 3 either way.
  c.p.activation = {4, 6};
  ASSERT_EQ(c.run(FLYNET_ROUNDING_SINGLE, &y), FLYREF_OK);
  EXPECT_TRUE(same(y, {4, 4, 6, 6}));
}

// Grouped 1x1 by hand: input 1x1x1x4 = [1,2,3,4] (zp 0), 2 groups of 2 channels, one output per
// group: w0 = [1,1] over channels 0,1 -> 3; w1 = [1,-1] over 2,3 -> -1; multiplier 2^30 shift 1
// (x1.0) -> 3, -1.
TEST(Conv2dS8, HandWorkedGrouped) {
  const std::vector<int8_t> x = {1, 2, 3, 4}, w = {1, 1, 1, -1};
  const int32_t mult = 1 << 30, shift = 1;
  const flyref_dims in = D(1, 1, 1, 4), f = D(2, 1, 1, 2), out = D(1, 1, 1, 2);
  flyref_conv_params p = unit_conv_params();
  const flyref_quant_params q{&mult, &shift, 1};
  std::vector<int8_t> y(2);
  ASSERT_EQ(flyref_conv2d_1x1_s8(&p, &q, &in, x.data(), &f, w.data(), nullptr, &out, y.data()), FLYREF_OK);
  EXPECT_TRUE(same(y, {3, -1}));
}

TEST(Conv2dS8, RejectsBadArguments) {
  const std::vector<int8_t> x(9), w(9);
  const int32_t mult = 1 << 30, shift = 0, bad_shift = 31;
  const flyref_dims in = D(1, 3, 3, 1), f = D(1, 3, 3, 1), out = D(1, 1, 1, 1);
  flyref_conv_params p = unit_conv_params();
  flyref_quant_params q{&mult, &shift, 1};
  int8_t scratch[9], y[1];
  flyref_context ctx{scratch, 9}, small{scratch, 8};
  EXPECT_EQ(flyref_conv2d_s8(&ctx, &p, &q, &in, x.data(), &f, w.data(), nullptr, &out, y), FLYREF_OK);
  EXPECT_EQ(flyref_conv2d_s8(&small, &p, &q, &in, x.data(), &f, w.data(), nullptr, &out, y), FLYREF_ARENA_TOO_SMALL);
  q.shift = &bad_shift;
  EXPECT_EQ(flyref_conv2d_s8(&ctx, &p, &q, &in, x.data(), &f, w.data(), nullptr, &out, y), FLYREF_ARG_ERROR);
  q.shift = &shift;
  p.stride_h = 0;
  EXPECT_EQ(flyref_conv2d_s8(&ctx, &p, &q, &in, x.data(), &f, w.data(), nullptr, &out, y), FLYREF_ARG_ERROR);
  p.stride_h = 1 << 30;  // one output row: fine; two rows: tap coordinates would leave int32
  EXPECT_EQ(flyref_conv2d_s8(&ctx, &p, &q, &in, x.data(), &f, w.data(), nullptr, &out, y), FLYREF_OK);
  const flyref_dims out2 = D(1, 2, 1, 1);
  int8_t y2[2];
  EXPECT_EQ(flyref_conv2d_s8(&ctx, &p, &q, &in, x.data(), &f, w.data(), nullptr, &out2, y2), FLYREF_ARG_ERROR);
  p.stride_h = 1;
  p.dilation_w = 1 << 30;
  EXPECT_EQ(flyref_conv2d_s8(&ctx, &p, &q, &in, x.data(), &f, w.data(), nullptr, &out, y), FLYREF_ARG_ERROR);
  p.dilation_w = 1;
  p.input_offset = 129;
  EXPECT_EQ(flyref_conv2d_s8(&ctx, &p, &q, &in, x.data(), &f, w.data(), nullptr, &out, y), FLYREF_ARG_ERROR);
  p.input_offset = 0;
  p.rounding = 9;
  EXPECT_EQ(flyref_conv2d_s8(&ctx, &p, &q, &in, x.data(), &f, w.data(), nullptr, &out, y), FLYREF_ARG_ERROR);
  p.rounding = 0;
  const flyref_dims f2 = D(1, 3, 3, 2);  // C_IN 1 not divisible by KC 2
  EXPECT_EQ(flyref_conv2d_s8(&ctx, &p, &q, &in, x.data(), &f2, w.data(), nullptr, &out, y), FLYREF_SHAPE_ERROR);
  EXPECT_EQ(flyref_conv2d_1x1_s8(&p, &q, &in, x.data(), &f, w.data(), nullptr, &out, y), FLYREF_ARG_ERROR);
}

}  // namespace
