// The graph interpreter: op table coverage, failure statuses, and a tiny FlyBlock
// (expansion -> MDW h=3 -> VA-ECA sigmoid gate -> max-out -> projection -> residual add) run on
// one arena and checked against a naive C++ composition of the same integer steps.
#include <cstring>

#include "graph_builder.hpp"
#include "test_util.hpp"

namespace {

using namespace fr_test;

TEST(Interpreter, OpTableCoversEveryOpCode) {
  for (int op = 1; op < FLYNET_OP_COUNT; ++op) EXPECT_TRUE(flyref_op_supported(op)) << op;
  EXPECT_FALSE(flyref_op_supported(FLYNET_OP_INVALID));
  EXPECT_FALSE(flyref_op_supported(FLYNET_OP_COUNT));
  EXPECT_FALSE(flyref_op_supported(-1));
}

using Builder = GraphBuilder;

std::vector<int32_t> mults(naive::Rng& r, int n) {
  std::vector<int32_t> v;
  for (int i = 0; i < n; ++i) v.push_back(r.mult());
  return v;
}
std::vector<int32_t> shifts(naive::Rng& r, int n, int lo, int hi) {
  std::vector<int32_t> v;
  for (int i = 0; i < n; ++i) v.push_back(static_cast<int32_t>(r.uni(lo, hi)));
  return v;
}
std::vector<int32_t> biases(naive::Rng& r, int n, int mag) {
  std::vector<int32_t> v;
  for (int i = 0; i < n; ++i) v.push_back(static_cast<int32_t>(r.uni(-mag, mag)));
  return v;
}

class FlyBlock : public ::testing::TestWithParam<int> {};

TEST_P(FlyBlock, InterpreterMatchesNaiveComposition) {
  naive::Rng r(1000 + GetParam());
  const bool single = GetParam() % 2 == 1;
  const int rnd = rounding_of(single);
  const int H = 6, W = 6, C = 4, E = 8, h = 3, EH = E * h;
  const int zx = -5, zu = -128, zz = 3, zy = 1, zo = 2;

  Builder b;
  const int x = b.act({1, H, W, C}, zx);
  // 1. expansion 1x1 + ReLU (clamp at the output zero point)
  const auto we = r.s8(E * C, -127, 127);
  const auto be = biases(r, E, 2000), me = mults(r, E), se = shifts(r, E, -9, -6);
  const int u = b.act({1, H, W, E}, zu);
  flynet_conv2d_params pe{1, 1, 0, 0, 1, 1, zu, 127, rnd};
  b.node(FLYNET_OP_CONV2D, {x, b.const8({E, 1, 1, C}, we), b.const32(be), b.const32(me), b.const32(se)}, {u}, &pe);
  // 2. MDW: depthwise 3x3, multiplier h, one shared output scale for the heads
  const auto wd = r.s8(9 * EH, -127, 127);
  const auto bd = biases(r, EH, 3000), md = mults(r, EH), sd = shifts(r, EH, -10, -7);
  const int z = b.act({1, H, W, EH}, zz);
  flynet_conv2d_params pd{1, 1, 1, 1, 1, 1, -128, 127, rnd};
  b.node(FLYNET_OP_DEPTHWISE_CONV2D, {u, b.const8({1, 3, 3, EH}, wd), b.const32(bd), b.const32(md), b.const32(sd)}, {z}, &pd);
  // 3. VA-ECA descriptor -> 1-D conv (k = 3) -> sigmoid gate
  const int mean = b.act({1, 1, 1, EH}, 0), stdv = b.act({1, 1, 1, EH}, -128);
  flynet_vaeca_descriptor_params pv{};
  pv.mean_multiplier = 1 << 30;
  pv.mean_shift = -5;  // S1 / 36 * (s_z / s_mean) ~ 2^30 * 2^-36
  pv.std_multiplier = 1431655765;
  pv.std_shift = -7;
  pv.eps_q_lo = 12345;
  pv.sqrt_frac_bits = 4;
  pv.rounding = rnd;
  b.node(FLYNET_OP_VAECA_DESCRIPTOR, {z}, {mean, stdv}, &pv);
  const auto weca = r.s8(6, -127, 127);
  const int logit = b.act({1, 1, 1, EH}, 0);
  flynet_eca_conv1d_params pc{h, r.mult(), -8, r.mult(), -8, 4, -128, 127, rnd};
  b.node(FLYNET_OP_ECA_CONV1D, {mean, stdv, b.const8({1, 1, 3, 2}, weca)}, {logit}, &pc);
  flynet_logistic_params pl{};
  ASSERT_EQ(flyref_logistic_prepare(0.05f, &pl), FLYREF_OK);
  pl.rounding = rnd;
  const int gate = b.act({1, 1, 1, EH}, -128);
  b.node(FLYNET_OP_LOGISTIC, {logit}, {gate}, &pl);
  // 4. gate x Z (broadcast over H x W), output on Z's scale: multiplier 1/256
  const int gz = b.act({1, H, W, EH}, zz);
  flynet_mul_params pm{1 << 30, -7, -128, 127, rnd};
  b.node(FLYNET_OP_MUL, {gate, z}, {gz}, &pm);
  // 5. Max-out over the h heads of each channel
  const int v = b.act({1, H, W, E}, zz);
  flynet_max_group_params pg{h};
  b.node(FLYNET_OP_MAX_GROUP, {gz}, {v}, &pg);
  // 6. projection 1x1 (linear)
  const auto wp = r.s8(C * E, -127, 127);
  const auto bp = biases(r, C, 2000), mp = mults(r, C), sp = shifts(r, C, -9, -7);
  const int y = b.act({1, H, W, C}, zy);
  flynet_conv2d_params pp{1, 1, 0, 0, 1, 1, -128, 127, rnd};
  b.node(FLYNET_OP_CONV2D, {v, b.const8({C, 1, 1, E}, wp), b.const32(bp), b.const32(mp), b.const32(sp)}, {y}, &pp);
  // 7. residual add
  flynet_add_params pa{};
  ASSERT_EQ(flyref_add_prepare(0.04f, 0.03f, 0.05f, rnd, &pa), FLYREF_OK);
  const int out = b.act({1, H, W, C}, zo);
  b.node(FLYNET_OP_ADD, {y, x}, {out}, &pa);

  flyref_graph g;
  std::vector<uint8_t> arena;
  const auto xin = r.s8(H * W * C);
  ASSERT_TRUE(b.run(g, x, xin, arena, 64, 0xA5));
  const int8_t* got = static_cast<const int8_t*>(flyref_tensor_data(&g, arena.data(), out));
  std::vector<int8_t> got_v(got, got + H * W * C);

  // ---- naive composition of the same integer steps
  const naive::ConvCfg ce{.in_off = -zx, .out_off = zu, .amin = zu, .single = single};
  const auto U = naive::conv(ce, {1, H, W, C}, xin, {E, 1, 1, C}, we, be.data(), me, se, {1, H, W, E});
  const naive::ConvCfg cd{.in_off = -zu, .out_off = zz, .ph = 1, .pw = 1, .single = single};
  const auto Z = naive::depthwise(cd, h, {1, H, W, E}, U, {1, 3, 3, EH}, wd, bd.data(), md, sd, {1, H, W, EH});
  std::vector<int8_t> M, S, G(EH);
  naive::vaeca_descriptor(vaeca_cfg(pv, zz, 0, -128), {1, H, W, EH}, Z, &M, &S);
  const auto L = naive::eca_conv1d(eca_cfg(pc, 0, -128, 0), {1, 1, 1, EH}, M, S, weca);
  for (int c = 0; c < EH; ++c)
    G[c] = naive::logistic(L[c], 0, pl.input_multiplier, pl.input_left_shift, pl.input_range_radius, single);
  const auto GZ = naive::binary({1, 1, 1, EH}, {1, H, W, EH}, {1, H, W, EH}, [&](int i1, int i2) {
    return naive::clamp8(int64_t{naive::requant((G[i1] + 128) * (Z[i2] - zz), 1 << 30, -7, single)} + zz);
  });
  std::vector<int8_t> V(H * W * E);
  for (int p = 0; p < H * W; ++p)
    for (int c = 0; c < E; ++c)
      V[p * E + c] = std::max({GZ[p * EH + c * h], GZ[p * EH + c * h + 1], GZ[p * EH + c * h + 2]});
  const naive::ConvCfg cp{.in_off = -zz, .out_off = zy, .single = single};
  const auto Y = naive::conv(cp, {1, H, W, E}, V, {C, 1, 1, E}, wp, bp.data(), mp, sp, {1, H, W, C});
  std::vector<int8_t> want(H * W * C);
  for (int i = 0; i < H * W * C; ++i) {
    const int32_t a = naive::requant((Y[i] - zy) * (1 << 20), pa.input1_multiplier, pa.input1_shift, single);
    const int32_t c2 = naive::requant((xin[i] - zx) * (1 << 20), pa.input2_multiplier, pa.input2_shift, single);
    want[i] = naive::clamp8(int64_t{naive::requant(a + c2, pa.output_multiplier, pa.output_shift, single)} + zo);
  }
  EXPECT_TRUE(same(got_v, want));
  // The block is not trivial: the gate varies and the output is not constant.
  EXPECT_NE(*std::min_element(G.begin(), G.end()), *std::max_element(G.begin(), G.end()));
  EXPECT_NE(*std::min_element(want.begin(), want.end()), *std::max_element(want.begin(), want.end()));
}

INSTANTIATE_TEST_SUITE_P(Seeds, FlyBlock, ::testing::Range(0, 40));

// Stem conv 3x3 (scratch in the arena) -> hard-swish -> global average pool -> FC -> softmax, and
// the MDW-Concat shortcut (depthwise + channel gather) -> concat: exercises the remaining ops.
TEST(Interpreter, StemHeadAndShortcutGraph) {
  naive::Rng r(77);
  Builder b;
  const int x = b.act({1, 5, 5, 3}, 7);
  const auto w = r.s8(8 * 27, -127, 127);
  const auto m = mults(r, 8), s = shifts(r, 8, -8, -6), bias = biases(r, 8, 500);
  const int c1 = b.act({1, 3, 3, 8}, -10);
  flynet_conv2d_params pc{2, 2, 1, 1, 1, 1, -128, 127, 0};
  b.node(FLYNET_OP_CONV2D, {x, b.const8({8, 3, 3, 3}, w), b.const32(bias), b.const32(m), b.const32(s)}, {c1}, &pc);
  flynet_hard_swish_params ph{};
  ASSERT_EQ(flyref_hard_swish_prepare(0.1f, 0.08f, &ph), FLYREF_OK);
  const int hs = b.act({1, 3, 3, 8}, -20);
  b.node(FLYNET_OP_HARD_SWISH, {c1}, {hs}, &ph);
  const int gp = b.act({1, 1, 1, 8}, -20);
  flynet_pool2d_params pg{3, 3, 1, 1, 0, 0, -128, 127};
  b.node(FLYNET_OP_AVG_POOL2D, {hs}, {gp}, &pg);
  const auto wf = r.s8(5 * 8, -127, 127);
  const int fc = b.act({1, 1, 1, 5}, 0);
  flynet_fully_connected_params pf{0, -128, 127, 0};
  b.node(FLYNET_OP_FULLY_CONNECTED, {gp, b.const8({5, 1, 1, 8}, wf), -1, b.const32({1 << 30}), b.const32({-6})}, {fc}, &pf);
  flynet_softmax_params ps{};
  ASSERT_EQ(flyref_softmax_prepare(1.0f, 0.1f, FLYNET_ROUNDING_DOUBLE, &ps), FLYREF_OK);
  const int sm = b.act({1, 1, 1, 5}, -128);
  b.node(FLYNET_OP_SOFTMAX, {fc}, {sm}, &ps);
  // MDW-Concat shortcut of x: C_in 3 -> C_out 5, m = 2: depthwise 3x3 stride 2 then gather.
  const auto wd = r.s8(9 * 6, -127, 127);
  const int dw = b.act({1, 3, 3, 6}, 0);
  flynet_conv2d_params pd{2, 2, 1, 1, 1, 1, -128, 127, 0};
  b.node(FLYNET_OP_DEPTHWISE_CONV2D, {x, b.const8({1, 3, 3, 6}, wd), -1, b.const32({1 << 30}), b.const32({-7})}, {dw}, &pd);
  std::vector<int32_t> idx;
  for (int o = 0; o < 5; ++o) idx.push_back((o % 3) * 2 + o / 3);
  const int sc = b.act({1, 3, 3, 5}, 0);
  flynet_channel_gather_params pgat{0};
  b.node(FLYNET_OP_CHANNEL_GATHER, {dw, b.const32(idx)}, {sc}, &pgat);
  const int cat = b.act({1, 3, 3, 11}, 0);
  flynet_concat_params pcat{3};
  b.node(FLYNET_OP_CONCAT, {dw, sc}, {cat}, &pcat);

  flyref_graph g;
  std::vector<uint8_t> arena;
  const auto xin = r.s8(75);
  ASSERT_TRUE(b.run(g, x, xin, arena));
  EXPECT_EQ(g.nodes[0].scratch_size, 27u);  // im2col patch of the 3x3x3 stem

  // Naive chain.
  const naive::ConvCfg cc{.in_off = -7, .out_off = -10, .sh = 2, .sw = 2, .ph = 1, .pw = 1};
  const auto C1 = naive::conv(cc, {1, 5, 5, 3}, xin, {8, 3, 3, 3}, w, bias.data(), m, s, {1, 3, 3, 8});
  std::vector<int8_t> HS(72);
  for (int i = 0; i < 72; ++i)
    HS[i] = naive::hard_swish(C1[i], -10, -20, ph.output_multiplier_int16, ph.output_exponent, ph.reluish_multiplier_int16,
                              ph.reluish_exponent);
  const auto GP = naive::pool(true, {1, 3, 3, 8}, HS, {1, 1, 1, 8}, 3, 3, 1, 1, 0, 0, -128, 127);
  const auto FC = naive::fully_connected(20, 0, 0, -128, 127, false, 1, 8, 5, GP, wf, nullptr, {1 << 30}, {-6});
  const auto SM = naive::softmax(ps.input_multiplier, ps.input_left_shift, ps.diff_min, 1, 5, FC);
  const auto* got_sm = static_cast<const int8_t*>(flyref_tensor_data(&g, arena.data(), sm));
  EXPECT_TRUE(same(std::vector<int8_t>(got_sm, got_sm + 5), SM));
  const naive::ConvCfg cd{.in_off = -7, .sh = 2, .sw = 2, .ph = 1, .pw = 1};
  const auto DW = naive::depthwise(cd, 2, {1, 5, 5, 3}, xin, {1, 3, 3, 6}, wd, nullptr, {1 << 30}, {-7}, {1, 3, 3, 6});
  std::vector<int8_t> CAT;
  for (int p = 0; p < 9; ++p) {
    for (int c = 0; c < 6; ++c) CAT.push_back(DW[p * 6 + c]);
    for (int o = 0; o < 5; ++o) CAT.push_back(DW[p * 6 + idx[o]]);
  }
  const auto* got_cat = static_cast<const int8_t*>(flyref_tensor_data(&g, arena.data(), cat));
  EXPECT_TRUE(same(std::vector<int8_t>(got_cat, got_cat + CAT.size()), CAT));
}

TEST(Interpreter, FailureStatuses) {
  Builder b;
  const int x = b.act({1, 2, 2, 2}, 0);
  const int y = b.act({1, 2, 2, 2}, 0);
  flynet_requantize_params pr{1 << 30, 1, -128, 127, 0};
  b.node(FLYNET_OP_REQUANTIZE, {x}, {y}, &pr);
  flyref_graph g = b.graph();
  std::vector<uint8_t> arena(16);
  ASSERT_EQ(flyref_graph_prepare(&g, arena.size()), FLYREF_OK);
  for (int i = 0; i < 8; ++i) arena[i] = static_cast<uint8_t>(i * 3);
  ASSERT_EQ(flyref_graph_invoke(&g, arena.data(), arena.size()), FLYREF_OK);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(arena[8 + i], i * 3);  // x1.0
  EXPECT_EQ(flyref_graph_prepare(&g, 15), FLYREF_ARENA_TOO_SMALL);
  EXPECT_EQ(flyref_graph_invoke(&g, arena.data(), 15), FLYREF_ARENA_TOO_SMALL);
  b.nodes[0].op = 99;
  g = b.graph();
  EXPECT_EQ(flyref_graph_prepare(&g, arena.size()), FLYREF_NO_IMPL);
  EXPECT_EQ(flyref_graph_invoke(&g, arena.data(), arena.size()), FLYREF_NO_IMPL);
  b.nodes[0].op = FLYNET_OP_INVALID;
  g = b.graph();
  EXPECT_EQ(flyref_graph_prepare(&g, arena.size()), FLYREF_NO_IMPL);
  b.nodes[0].op = FLYNET_OP_REQUANTIZE;
  b.nodes[0].inputs[0] = 17;  // no such tensor
  g = b.graph();
  EXPECT_EQ(flyref_graph_prepare(&g, arena.size()), FLYREF_FORMAT_ERROR);
  b.nodes[0].inputs[0] = x;
  b.nodes[0].num_inputs = 2;  // wrong arity
  b.nodes[0].inputs[1] = x;
  g = b.graph();
  EXPECT_EQ(flyref_graph_prepare(&g, arena.size()), FLYREF_FORMAT_ERROR);
  b.nodes[0].num_inputs = 1;
  b.tensors[y].dims.c = 3;  // element count differs
  b.tensors[y].arena_offset = 8;
  g = b.graph();
  EXPECT_EQ(flyref_graph_prepare(&g, 64), FLYREF_SHAPE_ERROR);
  b.tensors[y].dims.c = 2;
  pr.shift = 40;  // out of range: reported by the kernel at eval
  g = b.graph();
  EXPECT_EQ(flyref_graph_invoke(&g, arena.data(), arena.size()), FLYREF_ARG_ERROR);
  // A conv whose scratch does not fit.
  Builder c;
  const int cx = c.act({1, 3, 3, 1}, 0), cy = c.act({1, 1, 1, 1}, 0);
  flynet_conv2d_params pc{1, 1, 0, 0, 1, 1, -128, 127, 0};
  c.node(FLYNET_OP_CONV2D, {cx, c.const8({1, 3, 3, 1}, std::vector<int8_t>(9, 1)), -1, c.const32({1 << 30}), c.const32({0})},
         {cy}, &pc);
  flyref_graph gc = c.graph();
  size_t need = 0;
  ASSERT_EQ(flyref_plan_scratch(&gc, &need), FLYREF_OK);
  EXPECT_EQ(need, 16u + 9u);  // tensors end at 16 (aligned), 9 bytes of patch
  EXPECT_EQ(flyref_graph_prepare(&gc, need - 1), FLYREF_ARENA_TOO_SMALL);
  EXPECT_EQ(flyref_graph_prepare(&gc, need), FLYREF_OK);
  c.nodes[0].scratch_offset = 8;  // overlaps the conv's own input (bytes 0..8)
  gc = c.graph();
  EXPECT_EQ(flyref_graph_prepare(&gc, need), FLYREF_FORMAT_ERROR);
}

}  // namespace
