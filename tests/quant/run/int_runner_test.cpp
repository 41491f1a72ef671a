// IntRunner: a small hand-built graph (stem conv + ReLU, depthwise with two heads at stride 2,
// global average pool, fully connected, softmax) against the naive kernels of
// tests/quant/ref/naive_ref.hpp composed by hand, every intermediate tensor and both rounding
// modes, on the deployed plan and with every tensor kept; activation lifetimes worked out by
// hand; the errors.
#include "flynet/quant/int_runner.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "flynet/formats/error.hpp"
#include "flyref_interpreter.h"
#include "int_graph_builder.hpp"
#include "naive_ref.hpp"

namespace flynet {
namespace {

using test::IntGraphBuilder;

std::vector<int8_t> codes(IntGraphBuilder& b, size_t n, int lo = -128, int hi = 127) {
  std::vector<int8_t> v(n);
  for (int8_t& x : v) x = int8_t(b.irand(lo, hi));
  return v;
}
std::vector<int32_t> ints(IntGraphBuilder& b, int n, int lo, int hi) {
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (int32_t& x : v) x = b.irand(lo, hi);
  return v;
}
std::vector<int32_t> mults(IntGraphBuilder& b, int n) { return ints(b, n, 1 << 30, 0x7fffffff); }

// x [1,6,6,3] -> conv 3x3 pad 1, 8 channels, ReLU (clamp at the output zero point) -> depthwise
// 3x3 stride 2 pad 1, 2 heads per channel -> global average pool -> fully connected 16 -> 5
// (one multiplier) -> softmax. The naive chain with the same constants beside it.
struct Chain {
  IntGraphBuilder b;
  int32_t rounding;
  bool single;
  int32_t x, y1, y2, y3, y4, y5;
  std::vector<int8_t> w1, w2, w4;
  std::vector<int32_t> b1, m1, s1, b2, m2, s2, b4, m4, s4;
  flynet_softmax_params ps{};

  Chain(uint32_t seed, int32_t rnd) : b(seed), rounding(rnd), single(rnd == FLYNET_ROUNDING_SINGLE) {
    x = b.input({1, 6, 6, 3}, 0.05, -10);
    w1 = codes(b, 8 * 3 * 3 * 3, -127, 127);
    b1 = ints(b, 8, -2000, 2000), m1 = mults(b, 8), s1 = ints(b, 8, -9, -7);
    y1 = b.act("y1", {1, 6, 6, 8}, 0.04, 5);
    b.op(FLYNET_OP_CONV2D, {x, b.const8({8, 3, 3, 3}, w1), b.const32(b1), b.const32(m1), b.const32(s1)}, {y1},
         flynet_conv2d_params{1, 1, 1, 1, 1, 1, 5, 127, rounding});
    w2 = codes(b, 3 * 3 * 16, -127, 127);
    b2 = ints(b, 16, -2000, 2000), m2 = mults(b, 16), s2 = ints(b, 16, -8, -6);
    y2 = b.act("y2", {1, 3, 3, 16}, 0.04, -3);
    b.op(FLYNET_OP_DEPTHWISE_CONV2D, {y1, b.const8({1, 3, 3, 16}, w2), b.const32(b2), b.const32(m2), b.const32(s2)},
         {y2}, flynet_conv2d_params{2, 2, 1, 1, 1, 1, -128, 127, rounding});
    y3 = b.act("y3", {1, 1, 1, 16}, 0.04, -3);
    b.op(FLYNET_OP_AVG_POOL2D, {y2}, {y3}, flynet_pool2d_params{3, 3, 1, 1, 0, 0, -128, 127});
    w4 = codes(b, 5 * 16, -127, 127);
    b4 = ints(b, 5, -500, 500), m4 = mults(b, 1), s4 = ints(b, 1, -7, -6);
    y4 = b.act("y4", {1, 1, 1, 5}, 0.1, 0);
    b.op(FLYNET_OP_FULLY_CONNECTED, {y3, b.const8({5, 1, 1, 16}, w4), b.const32(b4), b.const32(m4), b.const32(s4)},
         {y4}, flynet_fully_connected_params{0, -128, 127, rounding});
    EXPECT_EQ(flyref_softmax_prepare(1.0f, 0.1f, rounding, &ps), FLYREF_OK);
    y5 = b.act("y5", {1, 1, 1, 5}, 1.0 / 256, -128);
    b.op(FLYNET_OP_SOFTMAX, {y4}, {y5}, ps);
  }

  // The five activations of the chain for input `in`, from naive_ref.hpp.
  std::vector<std::vector<int8_t>> naive(const std::vector<int8_t>& in) const {
    const naive::ConvCfg c1{.in_off = 10, .out_off = 5, .ph = 1, .pw = 1, .amin = 5, .single = single};
    const auto a1 = naive::conv(c1, {1, 6, 6, 3}, in, {8, 3, 3, 3}, w1, b1.data(), m1, s1, {1, 6, 6, 8});
    const naive::ConvCfg c2{.in_off = -5, .out_off = -3, .sh = 2, .sw = 2, .ph = 1, .pw = 1, .single = single};
    const auto a2 = naive::depthwise(c2, 2, {1, 6, 6, 8}, a1, {1, 3, 3, 16}, w2, b2.data(), m2, s2, {1, 3, 3, 16});
    const auto a3 = naive::pool(true, {1, 3, 3, 16}, a2, {1, 1, 1, 16}, 3, 3, 1, 1, 0, 0, -128, 127);
    const auto a4 = naive::fully_connected(3, 0, 0, -128, 127, single, 1, 16, 5, a3, w4, b4.data(), m4, s4);
    const auto a5 = naive::softmax(ps.input_multiplier, ps.input_left_shift, ps.diff_min, 1, 5, a4);
    return {a1, a2, a3, a4, a5};
  }
};

TEST(IntRunner, EveryTensorEqualsANaiveCompositionOfTheKernels) {
  for (int32_t rounding : {FLYNET_ROUNDING_DOUBLE, FLYNET_ROUNDING_SINGLE}) {
    SCOPED_TRACE(rounding == FLYNET_ROUNDING_SINGLE ? "single rounding" : "double rounding");
    Chain c(7, rounding);
    IntRunner all(c.b.g, /*keep_all_tensors=*/true), deployed(c.b.g);
    std::set<std::vector<int8_t>> distinct;
    for (int k = 0; k < 12; ++k) {
      const std::vector<int8_t> in = codes(c.b, 6 * 6 * 3);
      const auto want = c.naive(in);
      std::vector<int8_t> out_all(5), out_deployed(5);
      all.run(in.data(), out_all.data());
      deployed.run(in.data(), out_deployed.data());
      const int32_t acts[5] = {c.y1, c.y2, c.y3, c.y4, c.y5};
      for (int a = 0; a < 5; ++a) {
        const int8_t* got = all.tensor(acts[a]);
        EXPECT_EQ(std::vector<int8_t>(got, got + want[size_t(a)].size()), want[size_t(a)]) << "y" << a + 1 << ", input " << k;
      }
      EXPECT_EQ(out_all, want[4]);
      EXPECT_EQ(out_deployed, want[4]);
      const int8_t* first = all.tensor(c.x);  // the input stays where run() put it
      EXPECT_EQ(std::vector<int8_t>(first, first + in.size()), in);
      distinct.insert(want[4]);
    }
    EXPECT_GT(distinct.size(), 6u);  // the outputs depend on the input
  }
}

TEST(IntRunner, KeepingEveryTensorGivesEachItsOwnBytes) {
  Chain c(8, FLYNET_ROUNDING_DOUBLE);
  const IntGraph& g = c.b.g;
  for (bool keep : {false, true}) {
    SCOPED_TRACE(keep ? "keep all" : "deployed");
    const IntRunner r(g, keep);
    ASSERT_EQ(r.buffers().size(), g.tensors.size() + 1);  // and the stem conv's im2col scratch
    EXPECT_EQ(r.buffers().back().name, "op0.scratch");
    EXPECT_EQ(r.buffers().back().size, 27u);  // one 3x3x3 patch
    uint64_t activations = 0;
    std::vector<std::pair<uint64_t, uint64_t>> spans;
    for (size_t t = 0; t < g.tensors.size(); ++t) {
      if (g.tensors[t].constant()) continue;
      activations += g.tensors[t].bytes();
      spans.push_back({r.plan().offsets[t], r.plan().offsets[t] + g.tensors[t].bytes()});
    }
    std::sort(spans.begin(), spans.end());
    bool overlap = false;
    for (size_t i = 1; i < spans.size(); ++i) overlap |= spans[i - 1].second > spans[i].first;
    EXPECT_EQ(overlap, !keep);
    if (keep) {
      EXPECT_GE(r.arena_size(), activations);
    } else {
      EXPECT_LT(r.arena_size(), activations);  // 108 + 288 + 144 + 16 + 5 + 5 bytes
    }
  }
}

TEST(IntRunner, ActivationLifetimesByHand) {
  Chain c(9, FLYNET_ROUNDING_DOUBLE);
  IntGraph& g = c.b.g;
  // A side op whose output nobody reads (max pool of the input, after the softmax), and a
  // tensor no op touches.
  const int32_t side = c.b.act("side", {1, 6, 6, 3}, 0.05, -10);
  c.b.op(FLYNET_OP_MAX_POOL2D, {c.x}, {side}, flynet_pool2d_params{1, 1, 1, 1, 0, 0, -128, 127});
  g.output = c.y5;
  const int32_t idle = c.b.act("idle", {1, 1, 1, 7}, 1.0, 0);
  const std::vector<ArenaBuffer> life = activation_lifetimes(g);
  ASSERT_EQ(life.size(), g.tensors.size());
  struct Want {
    int32_t t;
    uint64_t size;
    int first, last;
  };
  // Steps: 0 conv, 1 depthwise, 2 pool, 3 fc, 4 softmax, 5 side max pool.
  for (const Want& w : {Want{c.x, 108, 0, 5}, Want{c.y1, 288, 0, 1}, Want{c.y2, 144, 1, 2}, Want{c.y3, 16, 2, 3},
                        Want{c.y4, 5, 3, 4}, Want{c.y5, 5, 4, 5}, Want{side, 108, 5, 5}, Want{idle, 7, 0, 0}}) {
    const ArenaBuffer& b = life[size_t(w.t)];
    EXPECT_EQ(b.name, g.tensors[size_t(w.t)].name);
    EXPECT_EQ(b.size, w.size) << b.name;
    EXPECT_EQ(b.first, w.first) << b.name;
    EXPECT_EQ(b.last, w.last) << b.name;
  }
  for (size_t t = 0; t < g.tensors.size(); ++t) {
    if (g.tensors[t].constant()) {
      EXPECT_EQ(life[t].size, 0u) << g.tensors[t].name;
    }
  }
}

// Activation shapes come from the file: two of 1 GiB (2^30) alive together plan 2^31 bytes,
// refused with the file's name before the arena exists.
TEST(IntRunner, AnArenaAboveTheLimitIsRefusedNamingTheFile) {
  IntGraphBuilder b(4);
  const int32_t x = b.input({1, 16384, 16384, 4}, 1.0, 0), y = b.act("y", {1, 16384, 16384, 4}, 1.0, 0);
  b.op(FLYNET_OP_REQUANTIZE, {x}, {y}, flynet_requantize_params{1 << 30, 0, -128, 127, FLYNET_ROUNDING_DOUBLE});
  b.g.source = "big.q.h5";
  try {
    IntRunner r(b.g);
    ADD_FAILURE() << "accepted an arena of " << r.arena_size() << " bytes";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::format);
    EXPECT_EQ(std::string(e.what()), "the arena the int8 graph plans declares 2147483648 bytes, above the limit of "
                                     "1073741824");
    EXPECT_EQ(e.file(), "big.q.h5");
  }
}

TEST(IntRunner, RejectedGraphsAreUnsupportedErrors) {
  auto expect_unsupported = [](const IntGraph& g, const std::string& text, bool at_run) {
    try {
      IntRunner r(g);
      if (at_run) {
        std::vector<int8_t> in(size_t(g.tensors[size_t(g.input)].numel())), out(size_t(g.tensors[size_t(g.output)].numel()));
        r.run(in.data(), out.data());
      }
      ADD_FAILURE() << "accepted: " << text;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::unsupported) << e.what();
      EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
    }
  };
  {
    IntGraphBuilder b(1);  // an op code the reference does not know
    const int32_t x = b.input({1, 1, 1, 4}, 1.0, 0), y = b.act("y", {1, 1, 1, 4}, 1.0, 0);
    b.op(FLYNET_OP_COUNT, {x}, {y}, flynet_requantize_params{1 << 30, 0, -128, 127, FLYNET_ROUNDING_DOUBLE});
    expect_unsupported(b.g, "integer reference", false);
  }
  {
    IntGraphBuilder b(2);  // more inputs than a node holds
    const int32_t x = b.input({1, 1, 1, 4}, 1.0, 0), y = b.act("y", {1, 1, 1, 4}, 1.0, 0);
    b.op(FLYNET_OP_CONCAT, std::vector<int32_t>(FLYREF_MAX_NODE_INPUTS + 1, x), {y}, flynet_concat_params{3});
    b.g.ops.back().name = "wide";
    expect_unsupported(b.g, "op 'wide' has", false);
  }
  {
    IntGraphBuilder b(3);  // a shift out of range: only the kernel sees it, at run time
    const int32_t x = b.input({1, 1, 1, 4}, 1.0, 0), y = b.act("y", {1, 1, 1, 4}, 1.0, 0);
    b.op(FLYNET_OP_REQUANTIZE, {x}, {y}, flynet_requantize_params{1 << 30, 40, -128, 127, FLYNET_ROUNDING_DOUBLE});
    expect_unsupported(b.g, "integer reference invoke failed", true);
  }
}

}  // namespace
}  // namespace flynet
