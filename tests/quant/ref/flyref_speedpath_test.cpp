// The fast paths of quant/ref (issue #8) against the naive C++ reference: shapes chosen to reach
// every path and its loop tails (channel blocks and their remainders, the stem-like layers with
// one input channel, the generic fallbacks beyond the stack blocks), offsets and weights at the
// int8 extremes, biases over the whole int32 range (so the int32 accumulators wrap) and
// multipliers/shifts over their whole valid range, in both rounding modes.
#include <cmath>

#include "test_util.hpp"

namespace {

using namespace fr_test;

/// An input offset (-zero point) at either end of [-127, 128] most of the time.
int in_offset(naive::Rng& r) {
  switch (r.uni(0, 3)) {
    case 0: return -127;
    case 1: return 128;
    default: return static_cast<int>(r.uni(-127, 128));
  }
}

/// Bias: small, or anywhere in int32 (the sum then wraps modulo 2^32 like the spec).
int32_t any_bias(naive::Rng& r) {
  return r.uni(0, 2) == 0 ? r.i32() : static_cast<int32_t>(r.uni(-100000, 100000));
}

/// Multiplier and shift: usually a normalised multiplier with a typical right shift, sometimes
/// anything fr_mult_ok admits (0, tiny multipliers, left shifts up to 30, right shifts to 31).
void any_mult(naive::Rng& r, int32_t* m, int32_t* s) {
  if (r.uni(0, 3) != 0) {
    *m = r.mult();
    *s = static_cast<int32_t>(r.uni(-14, 1));
  } else {
    *m = r.uni(0, 4) == 0 ? static_cast<int32_t>(r.uni(0, 3)) : static_cast<int32_t>(r.uni(0, INT32_MAX));
    *s = static_cast<int32_t>(r.uni(-31, 30));
  }
}

struct Quant {
  std::vector<int32_t> m, s;
};

Quant random_quant(naive::Rng& r, int channels) {
  Quant q;
  const int n = r.uni(0, 3) == 0 ? 1 : channels;
  for (int i = 0; i < n; ++i) {
    int32_t m, s;
    any_mult(r, &m, &s);
    q.m.push_back(m);
    q.s.push_back(s);
  }
  return q;
}

naive::ConvCfg random_cfg(naive::Rng& r) {
  naive::ConvCfg p;
  p.in_off = in_offset(r);
  p.out_off = zero_point(r);
  clamps(r, &p.amin, &p.amax);
  p.single = r.uni(0, 1) == 1;
  return p;
}

// Depthwise: channel counts around the blocks of 8/16/32/64 channels, multipliers 1..9, kernels up
// to 12x12 (the largest ones go past the stack block to the generic loop), one input channel with
// a multiplier (stem), 2..7 input channels with a multiplier (expanded lanes).
TEST(SpeedpathDepthwise, BlocksTailsAndFallbacksMatchNaive) {
  naive::Rng r(8001);
  const int channels[] = {1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 24, 31, 33, 56, 63, 64, 65, 72, 130};
  for (int it = 0; it < 1500; ++it) {
    const int in_c = channels[r.uni(0, std::size(channels) - 1)];
    const int mult = static_cast<int>(r.uni(0, 2) == 0 ? r.uni(1, 9) : r.uni(1, 3));
    int kh = static_cast<int>(r.uni(1, 5)), kw = static_cast<int>(r.uni(1, 5));
    if (it % 25 == 0) kh = kw = static_cast<int>(r.uni(9, 12));  // 81..144 taps: narrow blocks or the generic loop
    naive::ConvCfg p = random_cfg(r);
    p.sh = static_cast<int>(r.uni(1, 3));
    p.sw = static_cast<int>(r.uni(1, 3));
    p.dh = static_cast<int>(r.uni(1, 2));
    p.dw = static_cast<int>(r.uni(1, 2));
    p.ph = static_cast<int>(r.uni(0, kh));
    p.pw = static_cast<int>(r.uni(0, kw));
    const int eh = (kh - 1) * p.dh + 1, ew = (kw - 1) * p.dw + 1;
    naive::Dims in{static_cast<int>(r.uni(1, 2)), static_cast<int>(r.uni(1, 9)), static_cast<int>(r.uni(1, 9)), in_c};
    if (in_c * mult > 200) in.h = in.w = static_cast<int>(r.uni(1, 5));
    naive::Dims out{in.n, std::max(1, (in.h + 2 * p.ph - eh) / p.sh + 1), std::max(1, (in.w + 2 * p.pw - ew) / p.sw + 1),
                    in_c * mult};
    if (r.uni(0, 4) == 0) out.h += static_cast<int>(r.uni(0, 2));  // rows entirely in the padding
    const naive::Dims f{1, kh, kw, out.c};
    const auto x = r.s8(in.count()), w = r.s8(f.count());
    std::vector<int32_t> bias;
    for (int i = 0; i < out.c; ++i) bias.push_back(any_bias(r));
    const Quant q = random_quant(r, out.c);
    const bool has_bias = r.uni(0, 4) != 0;
    const auto want = naive::depthwise(p, mult, in, x, f, w, has_bias ? bias.data() : nullptr, q.m, q.s, out);
    const flyref_conv_params fp = conv_params(p);
    const flyref_quant_params fq{q.m.data(), q.s.data(), static_cast<int32_t>(q.m.size())};
    const auto din = D(in), dfl = D(f), dout = D(out);
    std::vector<int8_t> got(out.count(), 0x55);
    ASSERT_EQ(flyref_depthwise_conv2d_s8(&fp, mult, &fq, &din, x.data(), &dfl, w.data(), has_bias ? bias.data() : nullptr,
                                         &dout, got.data()),
              FLYREF_OK);
    ASSERT_TRUE(same(got, want)) << "case " << it << ": in_c " << in_c << " mult " << mult << " kernel " << kh << "x" << kw;
  }
}

// Every product at its extreme: weights -128 and inputs -128 with input offset -127 (-128 * -255)
// and 127 with offset 128 (-128 * 255), a 5x5 kernel over 70 channels, bias near INT32_MAX.
TEST(SpeedpathDepthwise, ExtremeProductsWrapLikeTheSpec) {
  for (int sign = 0; sign < 2; ++sign) {
    naive::ConvCfg p;
    p.in_off = sign ? 128 : -127;
    p.ph = p.pw = 2;
    const naive::Dims in{1, 6, 6, 70}, f{1, 5, 5, 70}, out{1, 6, 6, 70};
    const std::vector<int8_t> x(in.count(), sign ? 127 : -128), w(f.count(), -128);
    std::vector<int32_t> bias(70, INT32_MAX - 1000), m(70, 1 << 30), s(70, -20);
    const auto want = naive::depthwise(p, 1, in, x, f, w, bias.data(), m, s, out);
    const flyref_conv_params fp = conv_params(p);
    const flyref_quant_params fq{m.data(), s.data(), 70};
    const auto din = D(in), dfl = D(f), dout = D(out);
    std::vector<int8_t> got(out.count());
    ASSERT_EQ(flyref_depthwise_conv2d_s8(&fp, 1, &fq, &din, x.data(), &dfl, w.data(), bias.data(), &dout, got.data()),
              FLYREF_OK);
    ASSERT_TRUE(same(got, want)) << "sign " << sign;
  }
}

// 1x1 convolution: few input channels (transposed blocks, with odd counts for the pairwise loop),
// many (the dot products, with K not a multiple of 8 and output counts not a multiple of 4),
// more than the stack row (the generic loop), groups and strides; also through the wrapper.
TEST(SpeedpathConv1x1, SmallAndLargeKGroupsStridesMatchNaive) {
  naive::Rng r(8002);
  const int ks[] = {1, 2, 3, 7, 8, 9, 16, 23, 24, 31, 32, 33, 40, 63, 64, 100, 144, 511, 512, 513, 700};
  for (int it = 0; it < 1200; ++it) {
    const int kc = ks[r.uni(0, std::size(ks) - 1)];
    const int groups = static_cast<int>(r.uni(0, 3) == 0 ? r.uni(2, 3) : 1);
    const int per_group = static_cast<int>(r.uni(0, 3) == 0 ? r.uni(60, 140) : r.uni(1, 45));
    naive::ConvCfg p = random_cfg(r);
    p.sh = static_cast<int>(r.uni(1, 3));
    p.sw = static_cast<int>(r.uni(1, 3));
    const int big = kc * groups * per_group > 20000;
    naive::Dims in{static_cast<int>(r.uni(1, 2)), static_cast<int>(r.uni(1, big ? 3 : 7)),
                   static_cast<int>(r.uni(1, big ? 3 : 7)), kc * groups};
    const naive::Dims out{in.n, (in.h - 1) / p.sh + 1, (in.w - 1) / p.sw + 1, groups * per_group};
    const naive::Dims f{out.c, 1, 1, kc};
    const auto x = r.s8(in.count()), w = r.s8(f.count());
    std::vector<int32_t> bias;
    for (int i = 0; i < out.c; ++i) bias.push_back(any_bias(r));
    const Quant q = random_quant(r, out.c);
    const bool has_bias = r.uni(0, 4) != 0;
    const auto want = naive::conv(p, in, x, f, w, has_bias ? bias.data() : nullptr, q.m, q.s, out);
    const flyref_conv_params fp = conv_params(p);
    const flyref_quant_params fq{q.m.data(), q.s.data(), static_cast<int32_t>(q.m.size())};
    const auto din = D(in), dfl = D(f), dout = D(out);
    std::vector<int8_t> got(out.count(), 0x55);
    const int32_t* b = has_bias ? bias.data() : nullptr;
    ASSERT_EQ(flyref_conv2d_1x1_s8(&fp, &fq, &din, x.data(), &dfl, w.data(), b, &dout, got.data()), FLYREF_OK);
    ASSERT_TRUE(same(got, want)) << "case " << it << ": k " << kc << " groups " << groups << " per group " << per_group;
    std::fill(got.begin(), got.end(), int8_t{0x55});
    const flyref_context ctx{nullptr, 0};
    ASSERT_EQ(flyref_conv2d_wrapper_s8(&ctx, &fp, &fq, &din, x.data(), &dfl, w.data(), b, &dout, got.data()), FLYREF_OK);
    ASSERT_TRUE(same(got, want)) << "wrapper, case " << it;
  }
}

// Fully connected: K around the stack row (1024), output counts not a multiple of 4, the weight
// zero point (generic loop) and batches.
TEST(SpeedpathFullyConnected, DotPathAndFallbacksMatchNaive) {
  naive::Rng r(8003);
  const int ks[] = {1, 5, 8, 17, 64, 288, 512, 1023, 1024, 1025, 1500};
  for (int it = 0; it < 600; ++it) {
    const int k = ks[r.uni(0, std::size(ks) - 1)];
    const int batches = static_cast<int>(r.uni(1, 3)), co = static_cast<int>(r.uni(1, 23));
    const int in_off = in_offset(r), out_off = zero_point(r);
    const int f_off = r.uni(0, 3) == 0 ? static_cast<int>(r.uni(-127, 128)) : 0;
    int amin, amax;
    clamps(r, &amin, &amax);
    const bool single = r.uni(0, 1) == 1, has_bias = r.uni(0, 3) != 0;
    const auto x = r.s8(batches * k), w = r.s8(co * k);
    std::vector<int32_t> bias;
    for (int i = 0; i < co; ++i) bias.push_back(any_bias(r));
    const Quant q = random_quant(r, co);
    const auto want = naive::fully_connected(in_off, f_off, out_off, amin, amax, single, batches, k, co, x, w,
                                             has_bias ? bias.data() : nullptr, q.m, q.s);
    const flyref_fc_params p{in_off, f_off, out_off, {amin, amax}, rounding_of(single)};
    const flyref_quant_params fq{q.m.data(), q.s.data(), static_cast<int32_t>(q.m.size())};
    const flyref_dims in = D(batches, 1, 1, k), f = D(co, 1, 1, k), out = D(batches, 1, 1, co);
    std::vector<int8_t> got(batches * co, 0x55);
    ASSERT_EQ(flyref_fully_connected_s8(&p, &fq, &in, x.data(), &f, w.data(), has_bias ? bias.data() : nullptr, &out,
                                        got.data()),
              FLYREF_OK);
    ASSERT_TRUE(same(got, want)) << "case " << it << ": k " << k << " filter offset " << f_off;
  }
}

// Elementwise mul: the gate layout (a map times one value per batch and channel, either operand
// first), with channel counts below and above the 64-channel block, any multiplier and shift
// (the gate path takes double rounding with shift <= 0, everything else the row loop).
TEST(SpeedpathMul, GateAndRowsMatchNaive) {
  naive::Rng r(8004);
  const int channels[] = {1, 3, 7, 8, 16, 24, 31, 32, 33, 64, 65, 120, 168, 200};
  for (int it = 0; it < 2500; ++it) {
    naive::Dims o{static_cast<int>(r.uni(1, 2)), static_cast<int>(r.uni(1, 9)), static_cast<int>(r.uni(1, 9)),
                  channels[r.uni(0, std::size(channels) - 1)]};
    naive::Dims map = o, gate{r.uni(0, 1) ? o.n : 1, 1, 1, o.c};
    if (r.uni(0, 5) == 0) gate.c = 1;                   // a scalar gate: the row loop
    if (r.uni(0, 5) == 0) map.h = 1;                    // not a full map: the row loop
    const bool gate_first = r.uni(0, 1) == 1;
    const naive::Dims a = gate_first ? gate : map, b = gate_first ? map : gate;
    const bool single = r.uni(0, 2) == 0;
    const int off1 = in_offset(r), off2 = in_offset(r), offo = zero_point(r);
    int32_t m, s;
    any_mult(r, &m, &s);
    int amin, amax;
    clamps(r, &amin, &amax);
    const auto x1 = r.s8(a.count()), x2 = r.s8(b.count());
    const auto want = naive::binary(a, b, o, [&](int i1, int i2) {
      return naive::clamp8(int64_t{naive::requant((x1[i1] + off1) * (x2[i2] + off2), m, s, single)} + offo, amin, amax);
    });
    const flyref_mul_params p{off1, off2, m, s, offo, {amin, amax}, rounding_of(single)};
    const auto da = D(a), db = D(b), dout = D(o);
    std::vector<int8_t> got(o.count(), 0x55);
    ASSERT_EQ(flyref_mul_s8(&p, &da, x1.data(), &db, x2.data(), &dout, got.data()), FLYREF_OK);
    ASSERT_TRUE(same(got, want)) << "case " << it << ": c " << o.c << " m " << m << " s " << s;
  }
}

// Elementwise add: same-shape maps large enough for the input tables, and broadcasts, with raw
// parameters over their whole valid ranges.
TEST(SpeedpathAdd, TablesAndRowsMatchNaive) {
  naive::Rng r(8005);
  for (int it = 0; it < 1500; ++it) {
    naive::Dims o = r.map(2, 12, 40);
    naive::Dims a = o, b = o;
    if (r.uni(0, 3) == 0) (r.uni(0, 1) ? a : b).h = 1;
    const bool single = r.uni(0, 2) == 0;
    flyref_add_params p{};
    p.input1_offset = in_offset(r);
    p.input2_offset = in_offset(r);
    p.left_shift = static_cast<int32_t>(r.uni(0, 1) ? 20 : r.uni(0, 22));
    p.input1_multiplier = r.mult();
    p.input1_shift = static_cast<int32_t>(r.uni(-31, 0));
    p.input2_multiplier = static_cast<int32_t>(r.uni(0, INT32_MAX));
    p.input2_shift = static_cast<int32_t>(r.uni(-31, 0));
    any_mult(r, &p.output_multiplier, &p.output_shift);
    p.output_offset = zero_point(r);
    int amin, amax;
    clamps(r, &amin, &amax);
    p.activation = {amin, amax};
    p.rounding = rounding_of(single);
    const auto x1 = r.s8(a.count()), x2 = r.s8(b.count());
    const auto want = naive::binary(a, b, o, [&](int i1, int i2) {
      const int32_t va = naive::requant((x1[i1] + p.input1_offset) * (1 << p.left_shift), p.input1_multiplier,
                                        p.input1_shift, single);
      const int32_t vb = naive::requant((x2[i2] + p.input2_offset) * (1 << p.left_shift), p.input2_multiplier,
                                        p.input2_shift, single);
      const int32_t sum = naive::wrap32(int64_t{va} + vb);
      return naive::clamp8(int64_t{naive::requant(sum, p.output_multiplier, p.output_shift, single)} + p.output_offset,
                           amin, amax);
    });
    const auto da = D(a), db = D(b), dout = D(o);
    std::vector<int8_t> got(o.count(), 0x55);
    ASSERT_EQ(flyref_add_s8(&p, &da, x1.data(), &db, x2.data(), &dout, got.data()), FLYREF_OK);
    ASSERT_TRUE(same(got, want)) << "case " << it;
  }
}

// Hard-swish: tensors below and above the table threshold, every code present.
TEST(SpeedpathHardSwish, TableMatchesNaive) {
  naive::Rng r(8006);
  for (int it = 0; it < 400; ++it) {
    const int size = static_cast<int>(r.uni(0, 1) ? r.uni(1, 1100) : r.uni(1000, 5000));
    std::vector<int8_t> x = r.s8(size);
    for (int i = 0; i < std::min(size, 256); ++i) x[i] = static_cast<int8_t>(i - 128);
    const flyref_hard_swish_params p{zero_point(r), zero_point(r), static_cast<int32_t>(r.uni(0, 32767)),
                                     static_cast<int32_t>(r.uni(-15, 0)), static_cast<int32_t>(r.uni(0, 32767)),
                                     static_cast<int32_t>(r.uni(-15, 15))};
    std::vector<int8_t> got(size, 0x55), want(size);
    for (int i = 0; i < size; ++i)
      want[i] = naive::hard_swish(x[i], p.input_zero_point, p.output_zero_point, p.output_multiplier_int16, p.output_exponent,
                                  p.reluish_multiplier_int16, p.reluish_exponent);
    ASSERT_EQ(flyref_hard_swish_s8(&p, size, x.data(), got.data()), FLYREF_OK);
    ASSERT_TRUE(same(got, want)) << "case " << it << " size " << size;
  }
}

TEST(SpeedpathMaxGroup, AllGroupSizesMatchNaive) {
  naive::Rng r(8007);
  for (int it = 0; it < 800; ++it) {
    const int g = static_cast<int>(r.uni(1, 9));
    ASSERT_TRUE(max_group_matches_naive(r, g, r.map(2, 7, 70))) << "case " << it << " group " << g;
  }
}

// Softmax: row lengths on both sides of the short-row path (32), random input scales.
TEST(SpeedpathSoftmax, ShortAndLongRowsMatchNaive) {
  naive::Rng r(8008);
  for (int it = 0; it < 1500; ++it) {
    const int rows = static_cast<int>(r.uni(1, 40)), len = static_cast<int>(r.uni(1, 40));
    const float s = std::ldexp(static_cast<float>(r.uni(1 << 20, 1 << 21)) / (1 << 21), static_cast<int>(r.uni(-8, 2)));
    flynet_softmax_params rec{};
    ASSERT_EQ(flyref_softmax_prepare(1.0f, s, r.uni(0, 1) ? FLYNET_ROUNDING_DOUBLE : FLYNET_ROUNDING_SINGLE, &rec), FLYREF_OK);
    const auto x = r.s8(rows * len);
    const auto want = naive::softmax(rec.input_multiplier, rec.input_left_shift, rec.diff_min, rows, len, x);
    const flyref_softmax_params p{rec.input_multiplier, rec.input_left_shift, rec.diff_min};
    std::vector<int8_t> got(x.size(), 0x55);
    ASSERT_EQ(flyref_softmax_s8(&p, rows, len, x.data(), got.data()), FLYREF_OK);
    ASSERT_TRUE(same(got, want)) << "case " << it << " len " << len;
  }
}

// ---------------------------------------------------------------- VA-ECA

flyref_vaeca_descriptor_params random_descriptor(naive::Rng& r, int npx, bool single) {
  flyref_vaeca_descriptor_params p{};
  p.input_offset = in_offset(r);
  any_mult(r, &p.mean_multiplier, &p.mean_shift);
  any_mult(r, &p.std_multiplier, &p.std_shift);
  p.mean_offset = zero_point(r);
  p.std_offset = zero_point(r);
  p.sqrt_frac_bits = static_cast<int32_t>(r.uni(0, 8));
  // Any eps_q the kernel's precondition admits: (npx^2 * 16257) * 4^F + eps_q < 2^62.
  const uint64_t need = (uint64_t(npx) * uint64_t(npx) * 16257u + 1) << (2 * p.sqrt_frac_bits);
  const uint64_t eps_max = ((uint64_t{1} << 62) - 1) - need;
  p.eps_q = r.uni(0, 1) ? static_cast<uint64_t>(r.uni(0, 1000)) : static_cast<uint64_t>(r.uni(0, static_cast<int64_t>(eps_max)));
  p.rounding = rounding_of(single);
  return p;
}

// Channel counts around the 64-channel block, maps up to 65536 pixels (the uint32 sum of squares
// at its bound), values at the extremes.
TEST(SpeedpathVaeca, DescriptorBlocksAndExtremesMatchNaive) {
  naive::Rng r(8009);
  const int channels[] = {1, 3, 24, 63, 64, 65, 130};
  for (int it = 0; it < 600; ++it) {
    naive::Dims d{static_cast<int>(r.uni(1, 2)), static_cast<int>(r.uni(1, 9)), static_cast<int>(r.uni(1, 9)),
                  channels[r.uni(0, std::size(channels) - 1)]};
    if (it % 100 == 0) d = {1, 256, 256, 2};
    const bool single = r.uni(0, 2) == 0;
    const flyref_vaeca_descriptor_params p = random_descriptor(r, d.h * d.w, single);
    std::vector<int8_t> z = r.s8(d.count());
    if (it % 3 == 0)
      for (auto& v : z) v = r.uni(0, 1) ? int8_t{-128} : int8_t{127};
    std::vector<int8_t> got_m, got_s;
    ASSERT_TRUE(descriptor_matches_naive(p, d, z, &got_m, &got_s)) << "case " << it;
  }
}

// The exact square root at its boundaries: a constant map has D = 0, so the root is isqrt(eps_q);
// eps_q = r^2 - 1, r^2, r^2 + 2r for roots r up to 2^30 - 1, with the std requantization (single
// rounding: one round-half-up of r / 2^j) scaled so that r and r - 1 land on different output
// codes (r sits on a rounding boundary).
TEST(SpeedpathVaeca, SquareRootBoundaries) {
  naive::Rng r(8010);
  for (int bits = 1; bits <= 30; ++bits)
    for (int rep = 0; rep < 40; ++rep) {
      const int j = std::max(0, bits - 7);  // r / 2^j lies in [0, 128)
      uint64_t root = static_cast<uint64_t>(r.uni(int64_t{1} << (bits - 1), (int64_t{1} << bits) - 1));
      if (j > 0) root = ((root >> j) << j) | (uint64_t{1} << (j - 1));  // ends in binary 1000...: a half
      for (int delta = -1; delta <= 1; ++delta) {
        const uint64_t eps = delta < 0 ? root * root - 1 : delta == 0 ? root * root : root * root + 2 * root;
        flyref_vaeca_descriptor_params p{};
        p.input_offset = 0;
        p.mean_multiplier = 1 << 30;
        p.mean_shift = 1;
        p.std_multiplier = 1 << 30;
        p.std_shift = 1 - j;  // x 2^-j
        p.std_offset = -128;
        p.eps_q = eps;
        p.rounding = FLYNET_ROUNDING_SINGLE;
        const naive::Dims d{1, 2, 3, 5};
        const std::vector<int8_t> z(d.count(), 7);
        std::vector<int8_t> want_m(5), want_s(5), got_m(5), got_s(5);
        naive::vaeca_descriptor(vaeca_cfg(p), d, z, &want_m, &want_s);
        const auto dd = D(d);
        ASSERT_EQ(flyref_vaeca_descriptor_s8(&p, &dd, z.data(), got_m.data(), got_s.data()), FLYREF_OK);
        ASSERT_TRUE(same(got_s, want_s)) << "root " << root << " delta " << delta;
      }
    }
}

TEST(SpeedpathVaeca, Conv1dMatchesNaive) {
  naive::Rng r(8011);
  for (int it = 0; it < 1500; ++it) {
    flyref_eca_conv1d_params p{};
    p.heads = static_cast<int32_t>(r.uni(1, 6));
    const int e = static_cast<int>(r.uni(1, 40)), k = 2 * static_cast<int>(r.uni(0, 5)) + 1;
    const naive::Dims d{static_cast<int>(r.uni(1, 2)), 1, 1, e * p.heads};
    const bool single = r.uni(0, 2) == 0;
    p.mean_offset = in_offset(r);
    p.std_offset = in_offset(r);
    any_mult(r, &p.mean_multiplier, &p.mean_shift);
    any_mult(r, &p.std_multiplier, &p.std_shift);
    p.sum_shift = static_cast<int32_t>(r.uni(0, 16));
    p.output_offset = zero_point(r);
    clamps(r, &p.activation.min, &p.activation.max);
    p.rounding = rounding_of(single);
    const auto mean = r.s8(d.count()), sd = r.s8(d.count()), w = r.s8(2 * k);
    const auto want = naive::eca_conv1d(eca_cfg(p), d, mean, sd, w);
    const auto dd = D(d), df = D(1, 1, k, 2);
    std::vector<int8_t> got(d.count(), 0x55);
    ASSERT_EQ(flyref_eca_conv1d_s8(&p, &dd, mean.data(), sd.data(), &df, w.data(), got.data()), FLYREF_OK);
    ASSERT_TRUE(same(got, want)) << "case " << it;
  }
}

}  // namespace
