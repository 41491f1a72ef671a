// The fake-quant simulation in integer arithmetic against the C99 reference: code for code on
// random single-op graphs of every op (random shapes, scales, zero points, clamps, both
// rounding modes), exhaustively over all 256 input codes for the element-wise activations, plus
// hand-worked values, and the real-arithmetic simulation within a code or two of both.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "flynet/formats/error.hpp"
#include "flynet/quant/fake_quant_sim.hpp"
#include "flynet/quant/int_runner.hpp"
#include "flyref.h"
#include "int_graph_builder.hpp"

namespace flynet {
namespace {

using test::Dims4;
using Builder = test::IntGraphBuilder;

// Runs `images` random inputs through the reference and both simulations. Every activation's
// codes must be equal between reference and integer simulation (end to end and op by op);
// returns the largest |real simulation - reference| code difference op by op (each op fed the
// reference's inputs, so it is that op's arithmetic alone).
int check_graph(const IntGraph& g, std::mt19937& rng, int images = 3, const std::vector<int8_t>* fixed = nullptr) {
  IntRunner ref(g, /*keep_all_tensors=*/true);
  FakeQuantSim sim(g), isolated(g), ideal(g, SimArithmetic::real);
  const auto ref_codes = [&](int32_t t) { return ref.tensor(t); };
  const IntTensor& in = g.tensors[size_t(g.input)];
  int64_t compared = 0, mismatched = 0;
  int worst_real = 0;
  for (int k = 0; k < images; ++k) {
    std::vector<int8_t> x(size_t(in.numel())), y(size_t(g.tensors[size_t(g.output)].numel()));
    for (int8_t& v : x) v = int8_t(std::uniform_int_distribution<int>(-128, 127)(rng));
    if (fixed) x = *fixed;
    ref.run(x.data(), y.data());
    sim.run(x.data());
    for (const IntOp& o : g.ops)
      for (int32_t t : o.outputs) {
        const int8_t* r = ref.tensor(t);
        const std::vector<int32_t>& s = sim.codes(t);
        for (size_t i = 0; i < s.size(); ++i) {
          ++compared;
          if (s[i] != r[i] && ++mismatched <= 5)
            ADD_FAILURE() << o.name << " (op " << o.op << ") tensor " << t << " element " << i << ": reference "
                          << int(r[i]) << ", simulation " << s[i];
        }
      }
    isolated.run_isolated(ref_codes, [&](const IntOp& o, int32_t t, const std::vector<int32_t>& q) {
      const int8_t* r = ref.tensor(t);
      for (size_t i = 0; i < q.size(); ++i)
        if (q[i] != r[i] && ++mismatched <= 5) ADD_FAILURE() << "isolated " << o.name << " element " << i;
    });
    ideal.run_isolated(ref_codes, [&](const IntOp&, int32_t t, const std::vector<int32_t>& q) {
      const int8_t* r = ref.tensor(t);
      for (size_t i = 0; i < q.size(); ++i) worst_real = std::max(worst_real, std::abs(q[i] - r[i]));
    });
  }
  EXPECT_GT(compared, 0);
  EXPECT_EQ(mismatched, 0);
  return worst_real;
}

int32_t rounding_of(int i) { return i % 2 ? FLYNET_ROUNDING_SINGLE : FLYNET_ROUNDING_DOUBLE; }

TEST(FakeQuantSim, ConvolutionsEqualTheReference) {
  std::mt19937 rng(11);
  int worst = 0;
  for (int i = 0; i < 240; ++i) {
    Builder b(uint32_t(1000 + i));
    const int32_t rnd = rounding_of(i);
    const bool dw = i % 3 == 2;
    const int H = b.irand(3, 9), W = b.irand(3, 9), cin = b.irand(1, 6);
    const int KH = b.irand(1, 3), KW = b.irand(1, 3), sh = b.irand(1, 2), sw = b.irand(1, 2);
    const int dil = b.irand(1, 2), ph = b.irand(0, KH - 1), pw = b.irand(0, KW - 1);
    const int groups = dw ? cin : (b.irand(0, 1) ? cin : 1), kc = cin / groups;
    const int cout = dw ? cin * b.irand(1, 3) : groups * b.irand(1, 4);
    const double s_in = b.log_uniform(0.005, 0.1);
    const int32_t x = b.input({1, H, W, cin}, s_in, b.irand(-60, 60));
    const int OH = std::max(1, (H + 2 * ph - ((KH - 1) * dil + 1)) / sh + 1);
    const int OW = std::max(1, (W + 2 * pw - ((KW - 1) * dil + 1)) / sw + 1);
    const int32_t w = dw ? b.random8({1, KH, KW, cout}) : b.random8({cout, KH, KW, kc});
    std::vector<int32_t> bias(static_cast<size_t>(cout)), mult(static_cast<size_t>(cout)), shift(static_cast<size_t>(cout));
    std::vector<double> s_w(static_cast<size_t>(cout));
    const bool per_tensor = i % 5 == 4;
    const double s_out = s_in * 0.01 * std::sqrt(double(KH * KW * kc)) * b.log_uniform(20, 300);
    const double s_w0 = b.log_uniform(0.002, 0.05);
    for (int c = 0; c < cout; ++c) {
      bias[size_t(c)] = b.irand(-5000, 5000);
      s_w[size_t(c)] = per_tensor ? s_w0 : b.log_uniform(0.002, 0.05);
      ASSERT_EQ(flyref_conv_multiplier(float(s_in), float(s_w[size_t(c)]), float(s_out), rnd, &mult[size_t(c)],
                                       &shift[size_t(c)]),
                FLYREF_OK);
    }
    b.scales(w, s_w);
    if (per_tensor) {
      mult.resize(1);
      shift.resize(1);
    }
    const int32_t zo = b.irand(-50, 50);
    const int32_t y = b.act("y", {1, OH, OW, cout}, s_out, zo);
    flynet_conv2d_params p{sh, sw, ph, pw, dil, dil, i % 4 == 0 ? zo : -128, i % 7 == 0 ? 100 : 127, rnd};
    b.op(dw ? FLYNET_OP_DEPTHWISE_CONV2D : FLYNET_OP_CONV2D,
         {x, w, i % 6 == 5 ? -1 : b.const32(bias), b.const32(mult), b.const32(shift)}, {y}, p);
    worst = std::max(worst, check_graph(b.g, rng));
  }
  // Real arithmetic rounds once where the kernels round twice: a code at most.
  EXPECT_LE(worst, 1);
}

TEST(FakeQuantSim, FullyConnectedEqualsTheReference) {
  std::mt19937 rng(12);
  int worst = 0;
  for (int i = 0; i < 120; ++i) {
    Builder b(uint32_t(2000 + i));
    const int32_t rnd = rounding_of(i);
    const int H = b.irand(1, 3), C = b.irand(1, 40), K = H * H * C, cout = b.irand(1, 12);
    const double s_in = b.log_uniform(0.005, 0.1);
    const int32_t x = b.input({1, H, H, C}, s_in, b.irand(-60, 60));
    const int32_t w = b.random8({cout, 1, 1, K});
    const double s_out = s_in * 0.02 * std::sqrt(double(K)) * b.log_uniform(10, 200);
    std::vector<int32_t> bias(static_cast<size_t>(cout)), mult(static_cast<size_t>(cout)), shift(static_cast<size_t>(cout));
    std::vector<double> s_w(static_cast<size_t>(cout));
    for (int c = 0; c < cout; ++c) {
      bias[size_t(c)] = b.irand(-3000, 3000);
      s_w[size_t(c)] = i % 3 == 0 && c > 0 ? s_w[0] : b.log_uniform(0.005, 0.05);
      ASSERT_EQ(flyref_conv_multiplier(float(s_in), float(s_w[size_t(c)]), float(s_out), rnd, &mult[size_t(c)],
                                       &shift[size_t(c)]),
                FLYREF_OK);
    }
    b.scales(w, s_w);
    if (i % 3 == 0) {
      mult.resize(1);
      shift.resize(1);
    }
    const int32_t y = b.act("y", {1, 1, 1, cout}, s_out, b.irand(-20, 20));
    // A nonzero filter offset only where the real weights would be the codes shifted.
    flynet_fully_connected_params p{i % 4 == 1 ? b.irand(-5, 5) : 0, -128, 127, rnd};
    b.op(FLYNET_OP_FULLY_CONNECTED, {x, w, i % 5 == 0 ? -1 : b.const32(bias), b.const32(mult), b.const32(shift)}, {y}, p);
    const int w_real = check_graph(b.g, rng);
    if (p.filter_offset == 0) worst = std::max(worst, w_real);
  }
  EXPECT_LE(worst, 1);
}

TEST(FakeQuantSim, ElementwiseOpsEqualTheReference) {
  std::mt19937 rng(13);
  for (int i = 0; i < 240; ++i) {
    Builder b(uint32_t(3000 + i));
    const int32_t rnd = rounding_of(i);
    const int H = b.irand(1, 5), W = b.irand(1, 5), C = b.irand(1, 6);
    const int32_t x = b.input({1, H, W, 2 * C}, b.log_uniform(0.01, 0.1), b.irand(-40, 40));
    // Two operands from the two halves of the input's channels, each with its own grid; the
    // second is sometimes pooled to [1,1,1,C] to broadcast.
    std::vector<int32_t> lo(static_cast<size_t>(C)), hi(static_cast<size_t>(C));
    for (int c = 0; c < C; ++c) {
      lo[size_t(c)] = c;
      hi[size_t(c)] = C + c;
    }
    const Dims4 d{1, H, W, C};
    const int32_t xa = b.act("xa", d, b.T(x).scale, b.T(x).zero_point), xb = b.act("xb", d, b.T(x).scale, b.T(x).zero_point);
    b.op(FLYNET_OP_CHANNEL_GATHER, {x, b.const32(lo)}, {xa}, flynet_channel_gather_params{});
    b.op(FLYNET_OP_CHANNEL_GATHER, {x, b.const32(hi)}, {xb}, flynet_channel_gather_params{});
    const int kind = i % 3;  // add, mul, maximum
    const double sa = b.log_uniform(0.01, 0.2);
    const int32_t za = b.irand(-50, 50);
    const double sb = kind == 2 ? sa : b.log_uniform(0.01, 0.2);
    const int32_t zb = kind == 2 ? za : b.irand(-50, 50);
    const int32_t a = b.requantized(xa, d, sa, za, rnd);
    int32_t bb = b.requantized(xb, d, sb, zb, rnd);
    Dims4 od = d;
    if (i % 4 == 3) {
      const int32_t pooled = b.act("pooled", {1, 1, 1, C}, sb, zb);
      b.op(FLYNET_OP_AVG_POOL2D, {bb}, {pooled}, flynet_pool2d_params{H, W, 1, 1, 0, 0, -128, 127});
      bb = pooled;
    }
    const double so = kind == 0 ? (sa + sb) * b.uniform(0.6, 1.5) : kind == 1 ? sa * sb * b.uniform(60, 250) : sa;
    const int32_t zo = kind == 2 ? za : b.irand(-30, 30);
    const int32_t y = b.act("y", od, so, zo);
    const bool swap = i % 2 == 0;  // the broadcast operand first
    const std::vector<int32_t> ins = swap ? std::vector<int32_t>{bb, a} : std::vector<int32_t>{a, bb};
    if (kind == 0) {
      flynet_add_params p{};
      ASSERT_EQ(flyref_add_prepare(float(swap ? sb : sa), float(swap ? sa : sb), float(so), rnd, &p), FLYREF_OK);
      p.act_min = i % 5 == 0 ? zo : -128;
      p.act_max = 127;
      p.rounding = rnd;
      b.op(FLYNET_OP_ADD, ins, {y}, p);
    } else if (kind == 1) {
      flynet_mul_params p{};
      ASSERT_EQ(flyref_quantize_multiplier(sa * sb / so, rnd, &p.output_multiplier, &p.output_shift), FLYREF_OK);
      p.act_min = -128;
      p.act_max = 127;
      p.rounding = rnd;
      b.op(FLYNET_OP_MUL, ins, {y}, p);
    } else {
      b.op(FLYNET_OP_MAXIMUM, ins, {y});
    }
    EXPECT_LE(check_graph(b.g, rng), kind == 0 ? 2 : 1) << "case " << i;  // add: three requantizations
  }
}

TEST(FakeQuantSim, PoolingAndDataMovementEqualTheReference) {
  std::mt19937 rng(14);
  for (int i = 0; i < 60; ++i) {
    Builder b(uint32_t(4000 + i));
    const int H = b.irand(2, 9), W = b.irand(2, 9), g = b.irand(1, 4), C = g * b.irand(1, 4);
    const double s = b.log_uniform(0.01, 0.1);
    const int32_t zp = b.irand(-60, 60);
    const int32_t x = b.input({1, H, W, C}, s, zp);
    const int k = b.irand(1, std::min({3, H, W})), st = b.irand(1, 2), pad = b.irand(0, k - 1);
    const int OH = (H + 2 * pad - k) / st + 1, OW = (W + 2 * pad - k) / st + 1;
    const flynet_pool2d_params pp{k, k, st, st, pad, pad, i % 3 == 0 ? zp : -128, 127};
    const int32_t avg = b.act("avg", {1, OH, OW, C}, s, zp), mx = b.act("max", {1, OH, OW, C}, s, zp);
    b.op(FLYNET_OP_AVG_POOL2D, {x}, {avg}, pp);
    b.op(FLYNET_OP_MAX_POOL2D, {x}, {mx}, pp);
    const int32_t cat = b.act("cat", {1, OH, OW, 2 * C}, s, zp);
    b.op(FLYNET_OP_CONCAT, {avg, mx}, {cat}, flynet_concat_params{3});
    std::vector<int32_t> idx(static_cast<size_t>(C));
    for (int32_t& v : idx) v = b.irand(0, 2 * C - 1);
    const int32_t gat = b.act("gather", {1, OH, OW, C}, s, zp);
    b.op(FLYNET_OP_CHANNEL_GATHER, {cat, b.const32(idx)}, {gat}, flynet_channel_gather_params{});
    const int32_t mg = b.act("maxgroup", {1, OH, OW, C / g}, s, zp);
    b.op(FLYNET_OP_MAX_GROUP, {gat}, {mg}, flynet_max_group_params{g});
    // Real arithmetic averages values, not codes: a tie can round the other way.
    EXPECT_LE(check_graph(b.g, rng), 1);
  }
}

// The element-wise activations, exhaustively: the input holds all 256 codes.
TEST(FakeQuantSim, ActivationsEqualTheReferenceOnEveryCode) {
  std::mt19937 rng(15);
  std::vector<int8_t> all(256);
  for (int v = 0; v < 256; ++v) all[size_t(v)] = int8_t(v - 128);
  int worst[4] = {0, 0, 0, 0};
  for (int i = 0; i < 800; ++i) {
    Builder b(uint32_t(5000 + i));
    const int32_t rnd = rounding_of(i);
    const int kind = i % 4;  // logistic, hard-swish, hard-sigmoid, requantize
    const double s_in = b.log_uniform(0.003, 0.3);
    const int32_t zi = b.irand(-128, 127);
    const int32_t x = b.input({1, 1, 1, 256}, s_in, zi);
    if (kind == 0) {
      const int32_t y = b.act("y", {1, 1, 1, 256}, 1.0 / 256, -128);
      flynet_logistic_params p{};
      ASSERT_EQ(flyref_logistic_prepare(float(s_in), &p), FLYREF_OK);
      p.rounding = rnd;
      b.op(FLYNET_OP_LOGISTIC, {x}, {y}, p);
    } else if (kind == 1) {
      const double s_out = s_in * b.uniform(0.3, 2.0);
      const int32_t y = b.act("y", {1, 1, 1, 256}, s_out, b.irand(-128, 0));
      flynet_hard_swish_params p{};
      ASSERT_EQ(flyref_hard_swish_prepare(float(s_in), float(s_out), &p), FLYREF_OK);
      b.op(FLYNET_OP_HARD_SWISH, {x}, {y}, p);
    } else if (kind == 2) {
      const double s_out = b.log_uniform(1.0 / 512, 1.0 / 64);
      const int32_t zo = b.irand(-128, 0);
      const int32_t y = b.act("y", {1, 1, 1, 256}, s_out, zo);
      flynet_hard_sigmoid_params p{};
      ASSERT_EQ(flyref_hard_sigmoid_prepare(float(s_in), float(s_out), zo, rnd, &p), FLYREF_OK);
      p.act_min = -128;
      p.act_max = 127;
      p.rounding = rnd;
      b.op(FLYNET_OP_HARD_SIGMOID, {x}, {y}, p);
    } else {
      b.requantized(x, {1, 1, 1, 256}, s_in * b.log_uniform(0.05, 20), b.irand(-128, 127), rnd);
    }
    worst[kind] = std::max(worst[kind], check_graph(b.g, rng, 1, &all));
  }
  std::printf("  real arithmetic vs reference, worst code difference: logistic %d, hard-swish %d, hard-sigmoid %d, "
              "requantize %d\n", worst[0], worst[1], worst[2], worst[3]);
  EXPECT_LE(worst[0], 1);
  EXPECT_LE(worst[1], 2);
  EXPECT_LE(worst[2], 2);
  EXPECT_LE(worst[3], 1);
}

TEST(FakeQuantSim, SoftmaxEqualsTheReference) {
  std::mt19937 rng(16);
  int worst = 0;
  for (int i = 0; i < 240; ++i) {
    Builder b(uint32_t(6000 + i));
    const int32_t rnd = rounding_of(i);
    const int h = b.irand(1, 6), E = b.irand(1, 8);
    const double s_in = b.log_uniform(0.01, 0.3);
    const int32_t x = b.input({1, 1, 1, E * h}, s_in, b.irand(-100, 100));
    const int32_t y = b.act("y", {1, 1, 1, E * h}, 1.0 / 256, -128);
    flynet_softmax_params p{};
    ASSERT_EQ(flyref_softmax_prepare(1.0f, float(s_in), rnd, &p), FLYREF_OK);
    p.row_size = i % 5 == 0 ? 0 : h;
    b.op(FLYNET_OP_SOFTMAX, {x}, {y}, p);
    worst = std::max(worst, check_graph(b.g, rng, 5));
  }
  EXPECT_LE(worst, 2);
}

TEST(FakeQuantSim, VaEcaEqualsTheReference) {
  std::mt19937 rng(17);
  for (int i = 0; i < 160; ++i) {
    Builder b(uint32_t(7000 + i));
    const int32_t rnd = rounding_of(i);
    const int H = b.irand(1, 8), W = b.irand(1, 8), h = b.irand(1, 4), E = b.irand(1, 6), C = E * h;
    const double s_in = b.log_uniform(0.01, 0.1);
    const int32_t z = b.input({1, H, W, C}, s_in, b.irand(-80, 80));
    const int64_t P = int64_t(H) * W;
    const double s_mean = s_in * b.uniform(0.1, 1.0), s_std = s_in * b.uniform(i % 2 ? 0.02 : 0.05, 0.6);
    const int32_t mean = b.act("mean", {1, 1, 1, C}, s_mean, b.irand(-20, 20));
    const int32_t sd = b.act("std", {1, 1, 1, C}, s_std, -128);
    flynet_vaeca_descriptor_params d{};
    // The largest F that keeps the reference's 2^62 bound, as lowering picks it; or a small F,
    // where one unit of the root is several output codes (the floor of the root shows).
    int F = 15;
    const auto eps_for = [&](int f) { return std::round(1e-5L * P * P * std::ldexp(1.0L, 2 * f) / (s_in * s_in)); };
    for (; F >= 0; --F)
      if (std::ldexp(1.0L, 2 * F) * P * P * 16257.0L + eps_for(F) < std::ldexp(1.0L, 62)) break;
    if (i % 2) F = b.irand(0, 2);
    const long double eps = eps_for(F);
    const uint64_t eps_q = uint64_t(eps);
    d.eps_q_lo = uint32_t(eps_q & 0xffffffffu);
    d.eps_q_hi = uint32_t(eps_q >> 32);
    d.sqrt_frac_bits = F;
    d.rounding = rnd;
    ASSERT_EQ(flyref_quantize_multiplier(s_in / (double(P) * s_mean), rnd, &d.mean_multiplier, &d.mean_shift), FLYREF_OK);
    ASSERT_EQ(flyref_quantize_multiplier(s_in / (double(P) * std::ldexp(1.0, F) * s_std), rnd, &d.std_multiplier,
                                         &d.std_shift),
              FLYREF_OK);
    b.op(FLYNET_OP_VAECA_DESCRIPTOR, {z}, {mean, sd}, d);
    const int k = 2 * b.irand(0, 2) + 1;
    const int32_t w = b.random8({1, 1, k, 2});
    const double ws = b.log_uniform(0.005, 0.05), s_logit = b.log_uniform(0.02, 0.2);
    b.scales(w, {ws, ws});
    const int32_t logit = b.act("logit", {1, 1, 1, C}, s_logit, b.irand(-10, 10));
    flynet_eca_conv1d_params e{};
    e.heads = h;
    e.sum_shift = b.irand(0, 8);
    ASSERT_EQ(flyref_quantize_multiplier(s_mean * ws / s_logit * std::ldexp(1.0, e.sum_shift), rnd, &e.mean_multiplier,
                                         &e.mean_shift),
              FLYREF_OK);
    ASSERT_EQ(flyref_quantize_multiplier(s_std * ws / s_logit * std::ldexp(1.0, e.sum_shift), rnd, &e.std_multiplier,
                                         &e.std_shift),
              FLYREF_OK);
    e.act_min = -128;
    e.act_max = 127;
    e.rounding = rnd;
    b.op(FLYNET_OP_ECA_CONV1D, {mean, sd, w}, {logit}, e);
    check_graph(b.g, rng, 4);
  }
}

// A batch of two images through conv, average pool and fully connected: both arithmetics
// simulate every image, not only the first (the reference loops over the batch in each kernel).
TEST(FakeQuantSim, EveryImageOfABatch) {
  std::mt19937 rng(18);
  for (int i = 0; i < 20; ++i) {
    Builder b(uint32_t(8000 + i));
    const int32_t rnd = rounding_of(i);
    const int H = b.irand(2, 6), W = b.irand(2, 6), cin = b.irand(1, 4), cout = b.irand(1, 5), classes = b.irand(1, 6);
    const double s_in = b.log_uniform(0.01, 0.1);
    const int32_t x = b.input({2, H, W, cin}, s_in, b.irand(-40, 40));
    // conv 3x3, pad 1: the map keeps its size.
    const int32_t w = b.random8({cout, 3, 3, cin});
    const double s_w = b.log_uniform(0.005, 0.05), s_c = s_in * s_w * std::sqrt(9.0 * cin) * b.log_uniform(40, 120);
    b.scales(w, {s_w});
    int32_t mult = 0, shift = 0;
    ASSERT_EQ(flyref_conv_multiplier(float(s_in), float(s_w), float(s_c), rnd, &mult, &shift), FLYREF_OK);
    const int32_t c = b.act("conv", {2, H, W, cout}, s_c, b.irand(-20, 20));
    b.op(FLYNET_OP_CONV2D, {x, w, -1, b.const32({mult}), b.const32({shift})}, {c},
         flynet_conv2d_params{1, 1, 1, 1, 1, 1, -128, 127, rnd});
    const int32_t pooled = b.act("pooled", {2, 1, 1, cout}, s_c, b.T(c).zero_point);
    b.op(FLYNET_OP_AVG_POOL2D, {c}, {pooled}, flynet_pool2d_params{H, W, 1, 1, 0, 0, -128, 127});
    const int32_t fw = b.random8({classes, 1, 1, cout});
    const double s_fw = b.log_uniform(0.005, 0.05), s_y = s_c * s_fw * std::sqrt(double(cout)) * b.log_uniform(40, 120);
    b.scales(fw, {s_fw});
    ASSERT_EQ(flyref_conv_multiplier(float(s_c), float(s_fw), float(s_y), rnd, &mult, &shift), FLYREF_OK);
    const int32_t y = b.act("y", {2, 1, 1, classes}, s_y, b.irand(-20, 20));
    b.op(FLYNET_OP_FULLY_CONNECTED, {pooled, fw, -1, b.const32({mult}), b.const32({shift})}, {y},
         flynet_fully_connected_params{0, -128, 127, rnd});
    EXPECT_LE(check_graph(b.g, rng), 1) << "case " << i;
  }
}

// Hand-worked values (int8-semantics.md §1.3, §8, §8b), independent of both implementations.
TEST(FakeQuantSim, HandWorkedValues) {
  // x/4. Double rounding takes halves away from zero, single rounding takes them up; and 1/4
  // becomes 1 with double rounding (the high multiply rounds 0.5 up, the shift 0.5 away).
  for (const auto& [rounding, expect] :
       {std::pair{FLYNET_ROUNDING_DOUBLE, std::vector<int32_t>{-1, -2, 1, 2, 1}},
        std::pair{FLYNET_ROUNDING_SINGLE, std::vector<int32_t>{0, -1, 1, 2, 0}}}) {
    Builder b(1);
    const int32_t x = b.input({1, 1, 1, 5}, 1.0, 0);
    const int32_t y = b.act("y", {1, 1, 1, 5}, 4.0, 0);
    b.op(FLYNET_OP_REQUANTIZE, {x}, {y}, flynet_requantize_params{1 << 30, -1, -128, 127, rounding});
    FakeQuantSim sim(b.g);
    const std::vector<int8_t> in{-2, -6, 2, 6, 1};  // -0.5, -1.5, 0.5, 1.5, 0.25
    sim.run(in.data());
    EXPECT_EQ(sim.codes(y), expect) << "rounding " << rounding;
  }
  {
    // Sigmoid(0) = 1/2 -> 128 steps of 1/256 above -128; saturation beyond the radius.
    Builder b(2);
    const int32_t x = b.input({1, 1, 1, 3}, 0.05, 3);
    const int32_t y = b.act("y", {1, 1, 1, 3}, 1.0 / 256, -128);
    flynet_logistic_params p{};
    ASSERT_EQ(flyref_logistic_prepare(0.05f, &p), FLYREF_OK);
    p.rounding = FLYNET_ROUNDING_DOUBLE;
    b.op(FLYNET_OP_LOGISTIC, {x}, {y}, p);
    FakeQuantSim sim(b.g);
    const std::vector<int8_t> in{3, 127, -128};  // 0, +6.2 (sigmoid 0.998 -> 255.5 steps), -6.55
    sim.run(in.data());
    EXPECT_EQ(sim.codes(y), (std::vector<int32_t>{0, 127, -128}));
  }
  {
    // A row of four equal logits: 1/4 each = 64/256 -> -64; one dominant logit -> 127, others -128.
    Builder b(3);
    const int32_t x = b.input({1, 1, 1, 8}, 0.1, 0);
    const int32_t y = b.act("y", {1, 1, 1, 8}, 1.0 / 256, -128);
    flynet_softmax_params p{};
    ASSERT_EQ(flyref_softmax_prepare(1.0f, 0.1f, FLYNET_ROUNDING_DOUBLE, &p), FLYREF_OK);
    p.row_size = 4;
    b.op(FLYNET_OP_SOFTMAX, {x}, {y}, p);
    FakeQuantSim sim(b.g);
    const std::vector<int8_t> in{5, 5, 5, 5, 127, -128, -128, -128};  // exp(-25.5) ~ 1e-11
    sim.run(in.data());
    EXPECT_EQ(sim.codes(y), (std::vector<int32_t>{-64, -64, -64, -64, 127, -128, -128, -128}));
  }
  {
    // Average of raw codes, halves away from zero: (1+2)/2 = 1.5 -> 2, (-1-2)/2 -> -2.
    Builder b(4);
    const int32_t x = b.input({1, 1, 2, 2}, 1.0, 0);
    const int32_t y = b.act("y", {1, 1, 1, 2}, 1.0, 0);
    b.op(FLYNET_OP_AVG_POOL2D, {x}, {y}, flynet_pool2d_params{1, 2, 1, 1, 0, 0, -128, 127});
    FakeQuantSim sim(b.g);
    const std::vector<int8_t> in{1, -1, 2, -2};
    sim.run(in.data());
    EXPECT_EQ(sim.codes(y), (std::vector<int32_t>{2, -2}));
  }
}

TEST(FakeQuantSim, UnknownOpIsAClearError) {
  Builder b(5);
  const int32_t x = b.input({1, 1, 1, 4}, 1.0, 0);
  const int32_t y = b.act("y", {1, 1, 1, 4}, 1.0, 0);
  b.op(FLYNET_OP_COUNT, {x}, {y}, flynet_channel_gather_params{});
  b.g.ops.back().name = "mystery";
  try {
    FakeQuantSim sim(b.g);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'mystery'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace flynet
