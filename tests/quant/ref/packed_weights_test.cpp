// The pieces a model with PACKED weights runs on (quant/ref internal API, flyref_internal.h):
// unpacking any range of a packed stream, the FC that reads its weights packed, and the conv /
// depthwise kernels called on a block of channels with strided input and output (the blocked
// nodes of flynet_format.h, PLAN). Golden values: a naive bit loop and naive_ref.hpp
// (independent int64 arithmetic), never the code under test.
//
// Built into flyref_model_test and its AddressSanitizer twin: every stream and output is an
// exactly sized allocation, so a read or write past one is reported.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "naive_ref.hpp"

extern "C" {
#include "flyref_internal.h"
}

namespace {

// An exactly sized heap array.
template <class T>
struct Exact {
  std::unique_ptr<T[]> p;
  size_t n;
  explicit Exact(size_t size) : p(new T[size ? size : 1]()), n(size) {}
  T* get() { return p.get(); }
};

// Index k of a stream, one bit at a time (the spec's LSB-first rule).
uint32_t naive_index(const uint8_t* s, int bits, int64_t k) {
  uint32_t idx = 0;
  for (int i = 0; i < bits; ++i) {
    const int64_t j = k * bits + i;
    idx |= uint32_t((s[j / 8] >> (j % 8)) & 1u) << i;
  }
  return idx;
}

// A random stream of count indices and a random table; the stream exactly ceil(count * bits / 8).
struct Stream {
  int bits;
  int32_t count;
  int8_t table[256];
  Exact<uint8_t> bytes;
  Stream(int b, int32_t n, std::mt19937& rng) : bits(b), count(n), bytes((size_t(n) * size_t(b) + 7) / 8) {
    for (int8_t& v : table) v = int8_t(rng());
    for (size_t i = 0; i < bytes.n; ++i) bytes.p[i] = uint8_t(rng());
  }
  int8_t value(int64_t k) const { return table[naive_index(bytes.p.get(), bits, k)]; }
  fr_unpacker unpacker() const {
    fr_unpacker u;
    fr_unpacker_init(&u, bytes.p.get(), bits, table, count);
    return u;
  }
};

TEST(PackedWeights, EveryRangeUnpacksAsTheBitLoopSays) {
  std::mt19937 rng(21);
  for (int bits = 1; bits <= 8; ++bits)
    for (int32_t count : {1, 3, 8, 15, 16, 17, 24, 40, 67, 200}) {
      const Stream s(bits, count, rng);
      const fr_unpacker u = s.unpacker();
      for (int32_t first = 0; first < count; ++first)
        for (int32_t n : {1, 2, 7, 8, 9, 16, 23, 40, 77}) {
          if (first + n > count) continue;
          Exact<int8_t> out(static_cast<size_t>(n));
          fr_unpack(&u, first, n, out.get());
          for (int32_t e = 0; e < n; ++e)
            ASSERT_EQ(out.p[size_t(e)], s.value(first + e)) << "bits " << bits << " count " << count << " first "
                                                            << first << " element " << e;
        }
    }
}

TEST(PackedWeights, StridedRowsUnpackAsTheBitLoopSays) {
  // The depthwise block layout: the block's channels [c0, c0 + n) of every tap of [taps][c_out].
  std::mt19937 rng(22);
  for (int bits : {1, 2, 3, 4, 5, 8})
    for (int32_t c_out : {3, 8, 24, 50, 96})
      for (int32_t taps : {1, 9, 25}) {
        const Stream s(bits, c_out * taps, rng);
        const fr_unpacker u = s.unpacker();
        for (int32_t c0 = 0; c0 < c_out; c0 += 1 + int32_t(rng() % 13)) {
          const int32_t n = 1 + int32_t(rng() % uint32_t(c_out - c0));
          Exact<int8_t> out(size_t(n) * size_t(taps));
          fr_unpack_rows(&u, c0, n, c_out, taps, out.get());
          for (int32_t t = 0; t < taps; ++t)
            for (int32_t e = 0; e < n; ++e)
              ASSERT_EQ(out.p[size_t(t * n + e)], s.value(int64_t(t) * c_out + c0 + e))
                  << "bits " << bits << " tap " << t << " channel " << c0 + e;
        }
      }
}

// Per-channel or per-tensor quantization with shifts that keep most outputs off the clamps.
struct Quant {
  std::vector<int32_t> m, s;
  flyref_quant_params q{};
  Quant(int n, bool per_channel, int lo, int hi, std::mt19937& rng) {
    for (int i = 0; i < (per_channel ? n : 1); ++i) {
      m.push_back(int32_t((1u << 30) + rng() % (1u << 30)));
      s.push_back(lo + int(rng() % uint32_t(hi - lo + 1)));
    }
    q = flyref_quant_params{m.data(), s.data(), int32_t(m.size())};
  }
  // Channels [c0, c0 + n) as a kernel call on them reads them.
  flyref_quant_params block(int c0, int n) const {
    return m.size() == 1 ? q : flyref_quant_params{m.data() + c0, s.data() + c0, n};
  }
};

TEST(PackedWeights, FullyConnectedReadingPackedWeightsMatchesTheNaiveOne) {
  std::mt19937 rng(23);
  for (int it = 0; it < 300; ++it) {
    const int bits = 1 + int(rng() % 8);
    // K: multiples of 8 (the target fast paths), others (every row then starts mid-byte), and
    // above the DSP path's stack block.
    static const int ks[] = {8, 16, 24, 40, 64, 288, 512, 1032, 1, 5, 12, 36, 100, 290};
    const int k = ks[rng() % (sizeof ks / sizeof ks[0])];
    const int co = 1 + int(rng() % 23), batches = 1 + int(rng() % 3);
    const Stream s(bits, k * co, rng);
    std::vector<int8_t> w(size_t(k) * co), x(size_t(batches) * k);
    for (size_t i = 0; i < w.size(); ++i) w[i] = s.value(int64_t(i));
    for (int8_t& v : x) v = int8_t(rng());
    std::vector<int32_t> bias(static_cast<size_t>(co));
    for (int32_t& b : bias) b = int32_t(rng() % 20001) - 10000;
    const Quant q(co, rng() % 2, -14, -6, rng);
    const bool single = rng() % 2, has_bias = rng() % 4 != 0;
    flyref_fc_params p{};
    p.input_offset = int(rng() % 256) - 127;
    p.filter_offset = rng() % 5 == 0 ? int(rng() % 11) - 5 : 0;
    p.output_offset = int(rng() % 256) - 128;
    p.activation = rng() % 3 == 0 ? flyref_activation{-100, 90} : flyref_activation{-128, 127};
    p.rounding = single ? FLYNET_ROUNDING_SINGLE : FLYNET_ROUNDING_DOUBLE;
    const flyref_dims xd{batches, 1, 1, k}, wd{co, 1, 1, k}, od{batches, 1, 1, co};
    const fr_unpacker u = s.unpacker();
    Exact<int8_t> y(size_t(batches) * co);
    ASSERT_EQ(fr_fully_connected_packed_s8(&p, &q.q, &xd, x.data(), &wd, &u, has_bias ? bias.data() : nullptr, &od,
                                           y.get()),
              FLYREF_OK);
    const std::vector<int8_t> want =
        naive::fully_connected(p.input_offset, p.filter_offset, p.output_offset, p.activation.min, p.activation.max,
                               single, batches, k, co, x, w, has_bias ? bias.data() : nullptr, q.m, q.s);
    for (size_t i = 0; i < want.size(); ++i)
      ASSERT_EQ(int(y.p[i]), int(want[i])) << "it " << it << " bits " << bits << " k " << k << " output " << i;
  }
}

// A conv or depthwise run block by block (random block sizes) into one output, against the naive
// kernel on the whole tensor. Every output byte is written exactly by its block. On the host's
// vector paths and on the portable loops (what a Cortex-M3 runs; the M4 and M55 paths run these
// shapes in the board tests).
TEST(PackedWeights, ChannelBlocksWriteTheWholeOutputOfConvAndDepthwise) {
  std::mt19937 rng(24);
  const int was = flyref_set_vector_paths(1);
  for (int it = 0; it < 240; ++it) {
    flyref_set_vector_paths(it % 4 < 2);
    const bool dw = it % 2 == 1, one = !dw && it % 4 == 0;  // a quarter of them 1x1 convs (their own path)
    const int kh = one ? 1 : 1 + 2 * int(rng() % 3), kw = one ? 1 : (rng() % 2 ? kh : 1 + 2 * int(rng() % 3));
    const int ch_mult = dw ? 1 + int(rng() % 3) : 1;
    const int ci = 1 + int(rng() % 20), co = dw ? ci * ch_mult : 1 + int(rng() % 40);
    const naive::Dims in{1 + int(rng() % 2), 3 + int(rng() % 6), 3 + int(rng() % 6), ci};
    naive::ConvCfg c;
    c.sh = 1 + int(rng() % 2);
    c.sw = 1 + int(rng() % 2);
    c.ph = int(rng() % uint32_t(kh));
    c.pw = int(rng() % uint32_t(kw));
    c.in_off = int(rng() % 256) - 127;
    c.out_off = int(rng() % 256) - 128;
    c.single = rng() % 2;
    const naive::Dims f = dw ? naive::Dims{1, kh, kw, co} : naive::Dims{co, kh, kw, ci};
    const naive::Dims out{in.n, (in.h + 2 * c.ph - kh) / c.sh + 1, (in.w + 2 * c.pw - kw) / c.sw + 1, co};
    if (out.h < 1 || out.w < 1) continue;
    std::vector<int8_t> x(size_t(in.count())), w(size_t(f.count()));
    for (int8_t& v : x) v = int8_t(rng());
    for (int8_t& v : w) v = int8_t(int(rng() % 15) - 7);
    std::vector<int32_t> bias(static_cast<size_t>(co));
    for (int32_t& b : bias) b = int32_t(rng() % 4001) - 2000;
    const Quant q(co, rng() % 3 != 0, -12, -5, rng);
    const std::vector<int8_t> want = dw ? naive::depthwise(c, ch_mult, in, x, f, w, bias.data(), q.m, q.s, out)
                                        : naive::conv(c, in, x, f, w, bias.data(), q.m, q.s, out);
    flyref_conv_params p{};
    p.input_offset = c.in_off;
    p.output_offset = c.out_off;
    p.stride_h = c.sh;
    p.stride_w = c.sw;
    p.pad_h = c.ph;
    p.pad_w = c.pw;
    p.dilation_h = p.dilation_w = 1;
    p.activation = {-128, 127};
    p.rounding = c.single ? FLYNET_ROUNDING_SINGLE : FLYNET_ROUNDING_DOUBLE;
    Exact<int8_t> y(size_t(out.count()));
    std::memset(y.get(), 0x5A, y.n);
    const int units = dw ? ci : co, taps = kh * kw;
    std::vector<int8_t> scratch(size_t(taps * ci) + 16);
    for (int u0 = 0; u0 < units;) {
      const int nu = 1 + int(rng() % uint32_t(units - u0)), c0 = u0 * ch_mult, nc = nu * ch_mult;
      const flyref_quant_params qb = q.block(c0, nc);
      const flyref_dims od{out.n, out.h, out.w, nc};
      flyref_status st;
      if (dw) {
        // the block's weights [tap][channel] as the interpreter decodes them
        std::vector<int8_t> wb(size_t(taps * nc));
        for (int t = 0; t < taps; ++t)
          for (int e = 0; e < nc; ++e) wb[size_t(t * nc + e)] = w[size_t(t * co + c0 + e)];
        const flyref_dims xd{in.n, in.h, in.w, nu}, wd{1, kh, kw, nc};
        st = fr_depthwise_conv2d_s8_strided(&p, ch_mult, &qb, &xd, x.data() + u0, ci, &wd, wb.data(),
                                            bias.data() + c0, &od, y.get() + c0, co);
      } else {
        const flyref_dims xd{in.n, in.h, in.w, ci}, wd{nc, kh, kw, ci};
        const flyref_context ctx{scratch.data(), int32_t(scratch.size())};
        st = fr_conv2d_wrapper_s8_strided(&ctx, &p, &qb, &xd, x.data(), &wd, w.data() + size_t(c0) * taps * ci,
                                          bias.data() + c0, &od, y.get() + c0, co);
      }
      ASSERT_EQ(st, FLYREF_OK) << "it " << it;
      u0 += nu;
    }
    for (size_t i = 0; i < want.size(); ++i)
      ASSERT_EQ(int(y.p[i]), int(want[i])) << "it " << it << (dw ? " depthwise" : " conv") << " output " << i;
  }
  flyref_set_vector_paths(was);
}

TEST(PackedWeights, AStrideBelowTheChannelCountIsAnArgumentError) {
  int8_t x[8] = {}, w[8] = {}, y[8] = {};
  int32_t m = 1 << 30, s = -1;
  const flyref_quant_params q{&m, &s, 1};
  flyref_conv_params p{};
  p.stride_h = p.stride_w = p.dilation_h = p.dilation_w = 1;
  p.activation = {-128, 127};
  p.rounding = FLYNET_ROUNDING_DOUBLE;
  const flyref_dims xd{1, 1, 1, 2}, wd{2, 1, 1, 2}, od{1, 1, 1, 2}, dwd{1, 1, 1, 2};
  EXPECT_EQ(fr_conv2d_1x1_s8_strided(&p, &q, &xd, x, &wd, w, nullptr, &od, y, 1), FLYREF_ARG_ERROR);
  EXPECT_EQ(fr_conv2d_s8_strided(nullptr, &p, &q, &xd, x, &wd, w, nullptr, &od, y, 1), FLYREF_ARG_ERROR);
  EXPECT_EQ(fr_depthwise_conv2d_s8_strided(&p, 1, &q, &xd, x, 1, &dwd, w, nullptr, &od, y, 2), FLYREF_ARG_ERROR);
  EXPECT_EQ(fr_depthwise_conv2d_s8_strided(&p, 1, &q, &xd, x, 2, &dwd, w, nullptr, &od, y, 1), FLYREF_ARG_ERROR);
  EXPECT_EQ(fr_conv2d_1x1_s8_strided(&p, &q, &xd, x, &wd, w, nullptr, &od, y, 3), FLYREF_OK);
}

}  // namespace
