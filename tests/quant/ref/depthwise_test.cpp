// Depthwise s8 with channel multipliers 1..8 (MDW heads) against the naive reference.
#include "test_util.hpp"

namespace {

using namespace fr_test;

TEST(DepthwiseConv2dS8, RandomShapesMatchNaive) {
  naive::Rng r(200);
  for (int it = 0; it < 4000; ++it) {
    const int mult = static_cast<int>(r.uni(1, 8));
    naive::Dims in = r.map(2, 9, 5);
    naive::ConvCfg p;
    const int kh = static_cast<int>(r.uni(1, 5)), kw = static_cast<int>(r.uni(1, 5));
    p.sh = static_cast<int>(r.uni(1, 2));
    p.sw = static_cast<int>(r.uni(1, 2));
    p.dh = static_cast<int>(r.uni(1, 2));
    p.dw = static_cast<int>(r.uni(1, 2));
    p.ph = static_cast<int>(r.uni(0, kh / 2 + 1));
    p.pw = static_cast<int>(r.uni(0, kw / 2 + 1));
    const int eh = (kh - 1) * p.dh + 1, ew = (kw - 1) * p.dw + 1;
    naive::Dims out{in.n, std::max(1, (in.h + 2 * p.ph - eh) / p.sh + 1), std::max(1, (in.w + 2 * p.pw - ew) / p.sw + 1),
                    in.c * mult};
    naive::Dims f{1, kh, kw, out.c};
    p.in_off = -zero_point(r);
    p.out_off = zero_point(r);
    clamps(r, &p.amin, &p.amax);
    p.single = r.uni(0, 1) == 1;
    const auto x = r.s8(in.count());
    const auto w = r.s8(f.count(), -127, 127);
    std::vector<int32_t> bias, m, s;
    for (int i = 0; i < out.c; ++i) {
      bias.push_back(static_cast<int32_t>(r.uni(-30000, 30000)));
      m.push_back(r.mult());
      s.push_back(static_cast<int32_t>(r.uni(-12, 1)));
    }
    if (r.uni(0, 3) == 0) { m.resize(1); s.resize(1); }
    const bool has_bias = r.uni(0, 3) != 0;
    const auto want = naive::depthwise(p, mult, in, x, f, w, has_bias ? bias.data() : nullptr, m, s, out);

    const flyref_conv_params fp = conv_params(p);
    const flyref_quant_params q{m.data(), s.data(), static_cast<int32_t>(m.size())};
    const auto din = D(in), dfl = D(f), dout = D(out);
    std::vector<int8_t> got(out.count(), 0x55);
    ASSERT_EQ(flyref_depthwise_conv2d_s8(&fp, mult, &q, &din, x.data(), &dfl, w.data(), has_bias ? bias.data() : nullptr,
                                         &dout, got.data()),
              FLYREF_OK);
    ASSERT_TRUE(same(got, want)) << "case " << it << " mult " << mult;
  }
}

// Hand-worked MDW with h = 2 heads: input 1x1x3x1 = [1, 2, 3] (zp 0), 1x3 kernel, pad 1,
// head 0 weights [1, 1, 1] (box), head 1 weights [0, 1, -1] (difference). Output channel
// c*h + j: at x=0: head0 = 0+1+2 = 3, head1 = 1-2 = -1; x=1: 6, 2-3 = -1; x=2: 2+3 = 5, 3.
// Per-channel multipliers: head 0 x1.0 (2^30, shift 1), head 1 x2.0 (2^30, shift 2).
TEST(DepthwiseConv2dS8, HandWorkedTwoHeads) {
  const std::vector<int8_t> x = {1, 2, 3};
  const std::vector<int8_t> w = {1, 0, 1, 1, 1, -1};  // [1, 1, 3, 2]: tap-major, then channel c*h+j
  const int32_t m[2] = {1 << 30, 1 << 30}, s[2] = {1, 2};
  const flyref_dims in = D(1, 1, 3, 1), f = D(1, 1, 3, 2), out = D(1, 1, 3, 2);
  flyref_conv_params p = unit_conv_params();
  p.pad_w = 1;
  const flyref_quant_params q{m, s, 2};
  std::vector<int8_t> y(6);
  ASSERT_EQ(flyref_depthwise_conv2d_s8(&p, 2, &q, &in, x.data(), &f, w.data(), nullptr, &out, y.data()), FLYREF_OK);
  EXPECT_TRUE(same(y, {3, -2, 6, -2, 5, 6}));
}

TEST(DepthwiseConv2dS8, RejectsWrongChannelCount) {
  const std::vector<int8_t> x(3), w(6);
  const int32_t m = 1 << 30, s = 0;
  const flyref_dims in = D(1, 1, 3, 1), f = D(1, 1, 3, 2), out = D(1, 1, 3, 3);
  const flyref_conv_params p = unit_conv_params();
  const flyref_quant_params q{&m, &s, 1};
  std::vector<int8_t> y(9);
  EXPECT_EQ(flyref_depthwise_conv2d_s8(&p, 2, &q, &in, x.data(), &f, w.data(), nullptr, &out, y.data()),
            FLYREF_SHAPE_ERROR);
  EXPECT_EQ(flyref_depthwise_conv2d_s8(&p, 0, &q, &in, x.data(), &f, w.data(), nullptr, &out, y.data()),
            FLYREF_ARG_ERROR);
}

}  // namespace
