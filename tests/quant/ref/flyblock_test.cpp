// FlyBlock variants through the interpreter, checked against a naive C++ composition of the same
// integer steps: every gate (sigmoid, h*softmax over heads) x every mixer (Max-out, Funnel
// Max-out at stride 2 with an MDW-Concat shortcut, Sum+ReLU as a grouped 1x1 conv), both
// rounding modes. Shows that each FlyNet block option of flynet-architecture.md 3.1-3.6 is
// expressible with the flyref kernels.
#include <cstring>

#include "graph_builder.hpp"
#include "test_util.hpp"

namespace {

using namespace fr_test;

enum Gate { kSigmoid, kSoftmax };
enum Mixer { kMaxOut, kFunnel, kSumRelu };

struct Param {
  Gate gate;
  Mixer mixer;
  bool single;
  int seed;
};

class FlyBlockVariants : public ::testing::TestWithParam<Param> {};

std::vector<int32_t> rv(naive::Rng& r, int n, int64_t lo, int64_t hi) {
  std::vector<int32_t> v;
  for (int i = 0; i < n; ++i) v.push_back(static_cast<int32_t>(r.uni(lo, hi)));
  return v;
}

TEST_P(FlyBlockVariants, InterpreterMatchesNaive) {
  const Param prm = GetParam();
  naive::Rng r(5000 + prm.seed);
  const bool single = prm.single;
  const int rnd = rounding_of(single);
  const int H = 8, W = 8, C = 4, E = 8, h = 3, EH = E * h;
  const int s = prm.mixer == kFunnel ? 2 : 1;  // Funnel Max-out exercised at stride 2
  const int HO = H / s, WO = W / s;
  const int COUT = s == 2 ? 6 : C;             // stride 2: C_in != C_out, MDW-Concat shortcut
  const int zx = 9, zu = -128, zz = -7, zv = -7, zy = 4, zo = -1;

  GraphBuilder g(16);
  flynet_conv2d_params pe{1, 1, 0, 0, 1, 1, zu, 127, rnd};
  flynet_conv2d_params pd{s, s, 1, 1, 1, 1, -128, 127, rnd};
  flynet_vaeca_descriptor_params pv{};
  pv.mean_multiplier = 1 << 30;
  pv.mean_shift = -5;
  pv.std_multiplier = 1 << 30;
  pv.std_shift = -8;
  pv.eps_q_lo = 777;
  pv.sqrt_frac_bits = 3;
  pv.rounding = rnd;
  flynet_eca_conv1d_params pc{h, r.mult(), -7, r.mult(), -7, 3, -128, 127, rnd};
  flynet_logistic_params pl{};
  ASSERT_EQ(flyref_logistic_prepare(0.06f, &pl), FLYREF_OK);
  pl.rounding = rnd;
  flynet_softmax_params ps{};
  ASSERT_EQ(flyref_softmax_prepare(1.0f, 0.06f, rnd, &ps), FLYREF_OK);
  ps.row_size = h;
  // gate x Z on Z's scale: sigmoid gate g/256; softmax gate h * p -> h/256 = 3/256 = 0.75 * 2^-6.
  flynet_mul_params pm = prm.gate == kSoftmax ? flynet_mul_params{3 << 29, -6, -128, 127, rnd}
                                              : flynet_mul_params{1 << 30, -7, -128, 127, rnd};
  flynet_max_group_params pg{h};
  flynet_pool2d_params psub{1, 1, s, s, 0, 0, -128, 127};
  const int32_t rq_m = r.mult(), rq_s = static_cast<int32_t>(r.uni(-2, 0));
  flynet_requantize_params prq{rq_m, rq_s, -128, 127, rnd};
  flynet_conv2d_params psum{1, 1, 0, 0, 1, 1, zv, 127, rnd};  // Sum+ReLU: clamp at zp
  flynet_conv2d_params pp{1, 1, 0, 0, 1, 1, -128, 127, rnd};
  flynet_conv2d_params psc{s, s, 1, 1, 1, 1, -128, 127, rnd};
  flynet_channel_gather_params pgat{0};
  flynet_add_params pa{};
  ASSERT_EQ(flyref_add_prepare(0.05f, 0.04f, 0.06f, rnd, &pa), FLYREF_OK);

  const auto xin = r.s8(H * W * C);
  const auto we = r.s8(E * C, -127, 127);
  const auto be = rv(r, E, -3000, 3000), me = rv(r, E, 1 << 30, 0x7FFFFFFF), se = rv(r, E, -9, -6);
  const auto wd = r.s8(9 * EH, -127, 127);
  const auto bd = rv(r, EH, -3000, 3000), md = rv(r, EH, 1 << 30, 0x7FFFFFFF), sd = rv(r, EH, -10, -7);
  const auto weca = r.s8(6, -127, 127);
  const auto wp = r.s8(COUT * E, -127, 127);
  const auto bp = rv(r, COUT, -2000, 2000), mp = rv(r, COUT, 1 << 30, 0x7FFFFFFF), sp = rv(r, COUT, -9, -7);
  const int m_sc = (COUT + C - 1) / C;
  const auto wsc = r.s8(9 * C * m_sc, -127, 127);
  const auto msc = rv(r, C * m_sc, 1 << 30, 0x7FFFFFFF), ssc = rv(r, C * m_sc, -9, -7);
  std::vector<int32_t> gidx;
  for (int o = 0; o < COUT; ++o) gidx.push_back((o % C) * m_sc + o / C);
  const auto msum = rv(r, E, 1 << 30, 0x7FFFFFFF), ssum = rv(r, E, -3, -1);

  // ---------------- graph
  const int x = g.act({1, H, W, C}, zx);
  const int u = g.act({1, H, W, E}, zu);
  g.node(FLYNET_OP_CONV2D, {x, g.const8({E, 1, 1, C}, we), g.const32(be), g.const32(me), g.const32(se)}, {u}, &pe);
  const int z = g.act({1, HO, WO, EH}, zz);
  g.node(FLYNET_OP_DEPTHWISE_CONV2D, {u, g.const8({1, 3, 3, EH}, wd), g.const32(bd), g.const32(md), g.const32(sd)}, {z}, &pd);
  const int mean = g.act({1, 1, 1, EH}, 0), stdv = g.act({1, 1, 1, EH}, -128);
  g.node(FLYNET_OP_VAECA_DESCRIPTOR, {z}, {mean, stdv}, &pv);
  const int logit = g.act({1, 1, 1, EH}, 0);
  g.node(FLYNET_OP_ECA_CONV1D, {mean, stdv, g.const8({1, 1, 3, 2}, weca)}, {logit}, &pc);
  const int gate = g.act({1, 1, 1, EH}, -128);
  if (prm.gate == kSigmoid) g.node(FLYNET_OP_LOGISTIC, {logit}, {gate}, &pl);
  else g.node(FLYNET_OP_SOFTMAX, {logit}, {gate}, &ps);
  const int gz = g.act({1, HO, WO, EH}, zz);
  g.node(FLYNET_OP_MUL, {gate, z}, {gz}, &pm);
  const int v = g.act({1, HO, WO, E}, zv);
  if (prm.mixer == kSumRelu) {
    g.node(FLYNET_OP_CONV2D, {gz, g.const8({E, 1, 1, h}, std::vector<int8_t>(E * h, 1)), -1, g.const32(msum), g.const32(ssum)}, {v}, &psum);
  } else if (prm.mixer == kMaxOut) {
    g.node(FLYNET_OP_MAX_GROUP, {gz}, {v}, &pg);
  } else {
    const int mo = g.act({1, HO, WO, E}, zv);
    g.node(FLYNET_OP_MAX_GROUP, {gz}, {mo}, &pg);
    const int usub = g.act({1, HO, WO, E}, zu);
    g.node(FLYNET_OP_MAX_POOL2D, {u}, {usub}, &psub);
    const int urq = g.act({1, HO, WO, E}, zv);
    g.node(FLYNET_OP_REQUANTIZE, {usub}, {urq}, &prq);
    g.node(FLYNET_OP_MAXIMUM, {urq, mo}, {v}, nullptr);
  }
  const int y = g.act({1, HO, WO, COUT}, zy);
  g.node(FLYNET_OP_CONV2D, {v, g.const8({COUT, 1, 1, E}, wp), g.const32(bp), g.const32(mp), g.const32(sp)}, {y}, &pp);
  int shortcut = x;
  if (s == 2) {
    const int dsc = g.act({1, HO, WO, C * m_sc}, 0);
    g.node(FLYNET_OP_DEPTHWISE_CONV2D, {x, g.const8({1, 3, 3, C * m_sc}, wsc), -1, g.const32(msc), g.const32(ssc)}, {dsc}, &psc);
    shortcut = g.act({1, HO, WO, COUT}, 0);
    g.node(FLYNET_OP_CHANNEL_GATHER, {dsc, g.const32(gidx)}, {shortcut}, &pgat);
  }
  const int out = g.act({1, HO, WO, COUT}, zo);
  g.node(FLYNET_OP_ADD, {y, shortcut}, {out}, &pa);

  flyref_graph graph;
  std::vector<uint8_t> arena;
  ASSERT_TRUE(g.run(graph, x, xin, arena, 0, 0xEE));
  const auto* got = static_cast<const int8_t*>(flyref_tensor_data(&graph, arena.data(), out));

  // ---------------- naive composition
  const naive::ConvCfg ce{.in_off = -zx, .out_off = zu, .amin = zu, .single = single};
  const auto U = naive::conv(ce, {1, H, W, C}, xin, {E, 1, 1, C}, we, be.data(), me, se, {1, H, W, E});
  const naive::ConvCfg cd{.in_off = -zu, .out_off = zz, .sh = s, .sw = s, .ph = 1, .pw = 1, .single = single};
  const auto Z = naive::depthwise(cd, h, {1, H, W, E}, U, {1, 3, 3, EH}, wd, bd.data(), md, sd, {1, HO, WO, EH});
  const int P = HO * WO;
  std::vector<int8_t> M, S, GT(EH);
  naive::vaeca_descriptor(vaeca_cfg(pv, zz, 0, -128), {1, HO, WO, EH}, Z, &M, &S);
  const auto L = naive::eca_conv1d(eca_cfg(pc, 0, -128, 0), {1, 1, 1, EH}, M, S, weca);
  if (prm.gate == kSigmoid) {
    for (int c = 0; c < EH; ++c)
      GT[c] = naive::logistic(L[c], 0, pl.input_multiplier, pl.input_left_shift, pl.input_range_radius, single);
  } else {
    GT = naive::softmax(ps.input_multiplier, ps.input_left_shift, ps.diff_min, E, h, L);
  }
  const auto GZ = naive::binary({1, 1, 1, EH}, {1, HO, WO, EH}, {1, HO, WO, EH}, [&](int i1, int i2) {
    return naive::clamp8(int64_t{naive::requant((GT[i1] + 128) * (Z[i2] - zz), pm.output_multiplier, pm.output_shift, single)} + zz);
  });
  std::vector<int8_t> V(P * E);
  for (int p = 0; p < P; ++p)
    for (int c = 0; c < E; ++c) {
      const int8_t* gz3 = &GZ[p * EH + c * h];
      if (prm.mixer == kSumRelu) {
        const int32_t acc = (gz3[0] - zz) + (gz3[1] - zz) + (gz3[2] - zz);
        V[p * E + c] = naive::clamp8(int64_t{naive::requant(acc, msum[c], ssum[c], single)} + zv, zv, 127);
      } else {
        int8_t mx = std::max({gz3[0], gz3[1], gz3[2]});
        if (prm.mixer == kFunnel) {
          const int oy = p / WO, ox = p % WO;
          const int8_t usub = U[((oy * s) * W + ox * s) * E + c];
          const int8_t urq = naive::clamp8(int64_t{naive::requant(usub - zu, rq_m, rq_s, single)} + zv);
          mx = std::max(mx, urq);
        }
        V[p * E + c] = mx;
      }
    }
  const naive::ConvCfg cp{.in_off = -zv, .out_off = zy, .single = single};
  const auto Y = naive::conv(cp, {1, HO, WO, E}, V, {COUT, 1, 1, E}, wp, bp.data(), mp, sp, {1, HO, WO, COUT});
  std::vector<int8_t> SC(P * COUT);
  int zsc = zx;
  if (s == 2) {
    const naive::ConvCfg cs{.in_off = -zx, .sh = 2, .sw = 2, .ph = 1, .pw = 1, .single = single};
    const auto DSC = naive::depthwise(cs, m_sc, {1, H, W, C}, xin, {1, 3, 3, C * m_sc}, wsc, nullptr, msc, ssc,
                                      {1, HO, WO, C * m_sc});
    for (int p = 0; p < P; ++p)
      for (int o = 0; o < COUT; ++o) SC[p * COUT + o] = DSC[p * C * m_sc + (o % C) * m_sc + o / C];
    zsc = 0;
  } else {
    SC = xin;
  }
  std::vector<int8_t> want(P * COUT);
  for (int i = 0; i < P * COUT; ++i) {
    const int32_t a = naive::requant((Y[i] - zy) * (1 << 20), pa.input1_multiplier, pa.input1_shift, single);
    const int32_t b = naive::requant((SC[i] - zsc) * (1 << 20), pa.input2_multiplier, pa.input2_shift, single);
    want[i] = naive::clamp8(int64_t{naive::requant(a + b, pa.output_multiplier, pa.output_shift, single)} + zo);
  }
  EXPECT_TRUE(same(std::vector<int8_t>(got, got + want.size()), want));
  EXPECT_NE(*std::min_element(GT.begin(), GT.end()), *std::max_element(GT.begin(), GT.end()));
  // Non-trivial data: outputs spread over many codes, few saturated.
  std::vector<int> hist(256);
  int saturated = 0;
  for (int8_t w : want) {
    ++hist[w + 128];
    saturated += (w == -128 || w == 127);
  }
  EXPECT_GT(std::count_if(hist.begin(), hist.end(), [](int c) { return c > 0; }), 20);
  EXPECT_LT(saturated, static_cast<int>(want.size()) / 4);
}

std::vector<Param> all_params() {
  std::vector<Param> v;
  int seed = 0;
  for (Gate gt : {kSigmoid, kSoftmax})
    for (Mixer mx : {kMaxOut, kFunnel, kSumRelu})
      for (bool single : {false, true})
        for (int k = 0; k < 5; ++k) v.push_back({gt, mx, single, seed++});
  return v;
}

INSTANTIATE_TEST_SUITE_P(GatesMixersRoundings, FlyBlockVariants, ::testing::ValuesIn(all_params()),
                         [](const ::testing::TestParamInfo<Param>& i) {
                           const char* g = i.param.gate == kSigmoid ? "Sigmoid" : "HeadSoftmax";
                           const char* m = i.param.mixer == kMaxOut ? "MaxOut" : i.param.mixer == kFunnel ? "FunnelS2" : "SumRelu";
                           return std::string(g) + m + (i.param.single ? "Single" : "Double") + std::to_string(i.param.seed);
                         });

}  // namespace

namespace {

// MobileNetV3 squeeze-excite, as flynet-architecture.md 2.1 defines it: global average pool ->
// FC -> ReLU -> FC -> hard-sigmoid -> channel-wise multiply. Interpreter vs naive composition.
TEST(SqueezeExcite, InterpreterMatchesNaive) {
  for (int seed = 0; seed < 20; ++seed) {
    naive::Rng r(9000 + seed);
    const bool single = seed & 1;
    const int rnd = rounding_of(single);
    const int H = 4, W = 4, C = 16, R = 8, zx = -3, zr = -128, zs = 5, zo = 2;
    GraphBuilder g(16);
    const auto xin = r.s8(H * W * C);
    const auto w1 = r.s8(R * C, -127, 127), w2 = r.s8(C * R, -127, 127);
    const auto b1 = rv(r, R, -500, 500), b2 = rv(r, C, -500, 500);
    const int32_t m1 = r.mult(), s1 = static_cast<int32_t>(r.uni(-8, -6));
    const int32_t m2 = r.mult(), s2 = static_cast<int32_t>(r.uni(-8, -6));
    flynet_pool2d_params pg{H, W, 1, 1, 0, 0, -128, 127};
    flynet_fully_connected_params pf1{0, zr, 127, rnd};  // ReLU: clamp at the output zero point
    flynet_fully_connected_params pf2{0, -128, 127, rnd};
    flynet_hard_sigmoid_params ph{};
    ASSERT_EQ(flyref_hard_sigmoid_prepare(0.05f, 1.0f / 256, -128, rnd, &ph), FLYREF_OK);
    flynet_mul_params pm{r.mult(), -8, -128, 127, rnd};

    const int x = g.act({1, H, W, C}, zx);
    const int pooled = g.act({1, 1, 1, C}, zx);
    g.node(FLYNET_OP_AVG_POOL2D, {x}, {pooled}, &pg);
    const int q = g.act({1, 1, 1, R}, zr);
    g.node(FLYNET_OP_FULLY_CONNECTED, {pooled, g.const8({R, 1, 1, C}, w1), g.const32(b1), g.const32({m1}), g.const32({s1})}, {q}, &pf1);
    const int e = g.act({1, 1, 1, C}, zs);
    g.node(FLYNET_OP_FULLY_CONNECTED, {q, g.const8({C, 1, 1, R}, w2), g.const32(b2), g.const32({m2}), g.const32({s2})}, {e}, &pf2);
    const int gate = g.act({1, 1, 1, C}, -128);
    g.node(FLYNET_OP_HARD_SIGMOID, {e}, {gate}, &ph);
    const int out = g.act({1, H, W, C}, zo);
    g.node(FLYNET_OP_MUL, {x, gate}, {out}, &pm);

    flyref_graph graph;
    std::vector<uint8_t> arena;
    ASSERT_TRUE(g.run(graph, x, xin, arena));
    const auto* got = static_cast<const int8_t*>(flyref_tensor_data(&graph, arena.data(), out));

    const auto P = naive::pool(true, {1, H, W, C}, xin, {1, 1, 1, C}, H, W, 1, 1, 0, 0, -128, 127);
    const auto Q = naive::fully_connected(-zx, 0, zr, zr, 127, single, 1, C, R, P, w1, b1.data(), {m1}, {s1});
    const auto E = naive::fully_connected(-zr, 0, zs, -128, 127, single, 1, R, C, Q, w2, b2.data(), {m2}, {s2});
    std::vector<int8_t> GT(C);
    for (int c = 0; c < C; ++c) {
      const int16_t rl = naive::reluish(E[c] - zs, ph.reluish_multiplier_int16, ph.reluish_exponent);
      GT[c] = naive::clamp8(int64_t{naive::requant(rl, ph.output_multiplier, ph.output_shift, single)} - 128);
    }
    const auto want = naive::binary({1, H, W, C}, {1, 1, 1, C}, {1, H, W, C}, [&](int i1, int i2) {
      return naive::clamp8(int64_t{naive::requant((xin[i1] - zx) * (GT[i2] + 128), pm.output_multiplier, pm.output_shift, single)} + zo);
    });
    EXPECT_TRUE(same(std::vector<int8_t>(got, got + want.size()), want)) << "seed " << seed;
    EXPECT_NE(*std::min_element(GT.begin(), GT.end()), *std::max_element(GT.begin(), GT.end()));
  }
}

}  // namespace
