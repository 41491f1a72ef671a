// QAT state of a model (qat.hpp): which outputs are int8, the Net's activation fake
// quantization and its clipped straight-through gradient, and BN folding.
#include "flynet/core/qat.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>

#include "flynet/core/fold_bn.hpp"
#include "flynet/core/net.hpp"

namespace flynet {
namespace {

int node_index(const Graph& g, const std::string& name) {
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (g.nodes[i].name == name) return int(i);
  return -1;
}

Model small_model(uint64_t seed = 3) {
  ArchSpec s = arch_preset("flynet-h3");
  s.width = 0.25;
  s.in_h = s.in_w = 16;
  s.classes = 4;
  return Model::create(s, seed);
}

Tensor noise(int n, int h, int w, int c, uint32_t seed) {
  Tensor x({n, h, w, c});
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.f, 1.f);
  for (float& v : x.data) v = d(rng);
  return x;
}

TEST(Qat, FoldedFakeQuantByHand) {
  // w = [1, 2, 3, -4], s = 0.5: w * s = [0.5, 1, 1.5, -2]. Three levels: a = 2, D = 2, grid
  // {-2, 0, 2}; i = round((v + 2) / 2) = round(1.25, 1.5, 1.75, 0) = 1, 2, 2, 0 (half away from
  // zero) -> Q = [0, 2, 2, -2]; divided by s: [0, 4, 4, -4].
  const float w[4] = {1, 2, 3, -4};
  float eff[4];
  folded_fake_quant(w, eff, 1, 4, {0.5}, 3);
  EXPECT_FLOAT_EQ(eff[0], 0.f);
  EXPECT_FLOAT_EQ(eff[1], 4.f);
  EXPECT_FLOAT_EQ(eff[2], 4.f);
  EXPECT_FLOAT_EQ(eff[3], -4.f);
  // s = -0.5: w * s = [-0.5, -1, -1.5, 2], i = round(0.75, 0.5, 0.25, 2) = 1, 1, 0, 2 ->
  // Q = [0, 0, -2, 2], divided by s: [0, 0, 4, -4]. s = 0 and float levels keep w.
  folded_fake_quant(w, eff, 1, 4, {-0.5}, 3);
  EXPECT_FLOAT_EQ(eff[1], 0.f);
  EXPECT_FLOAT_EQ(eff[2], 4.f);
  EXPECT_FLOAT_EQ(eff[3], -4.f);
  folded_fake_quant(w, eff, 1, 4, {0.0}, 3);
  EXPECT_FLOAT_EQ(eff[2], 3.f);
  folded_fake_quant(w, eff, 1, 4, {0.5}, kFloatLevels);
  EXPECT_FLOAT_EQ(eff[3], -4.f);
}

TEST(Qat, QuantizedOutputsAreTheInt8TensorsOfTheLowering) {
  const Model m = small_model();
  const Graph& g = m.graph;
  const auto pts = act_quant_points(g);
  std::map<int, ActPoint> by_node;
  for (const ActPoint& p : pts) by_node[p.node] = p;
  int convs = 0, shared = 0;
  for (size_t i = 1; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    const bool is_point = by_node.count(int(i)) > 0;
    if ((n.op == OpKind::conv2d || n.op == OpKind::dw_concat) && bn_after(g, int(i)) >= 0) {
      EXPECT_FALSE(is_point) << n.name << ": folded into its BN";
      EXPECT_TRUE(by_node.count(bn_after(g, int(i))) || g.nodes[size_t(bn_after(g, int(i)) + 1)].act == Act::relu)
          << n.name;
      ++convs;
    }
    if (n.op == OpKind::dropout || n.op == OpKind::input) {
      EXPECT_FALSE(is_point) << n.name;
    }
    if (n.op == OpKind::global_avg_pool || (n.op == OpKind::head_reduce && n.reduce != Reduce::sum_relu)) {
      ASSERT_TRUE(is_point) << n.name;
      EXPECT_EQ(by_node[int(i)].kind, ActPoint::shared) << n.name;
      EXPECT_EQ(by_node[int(i)].share, n.inputs[0]) << n.name;
      ++shared;
    }
    if (n.op == OpKind::add || n.op == OpKind::va_eca || n.op == OpKind::linear) {
      ASSERT_TRUE(is_point) << n.name;
      EXPECT_EQ(by_node[int(i)].kind, ActPoint::own_range) << n.name;
    }
  }
  EXPECT_GT(convs, 20);
  EXPECT_GT(shared, 5);
}

TEST(Qat, EvalOutputsLieOnTheirInt8Grids) {
  Model m = small_model();
  m.meta["train.act_bits"] = "8";
  const Tensor x = noise(4, 16, 16, 1, 5);
  {
    Net net(m);
    RunCtx train;
    train.training = true;
    net.forward(x, train);  // first batch sets the ranges
    store_act_ranges(m, net.act_ranges());
  }
  Net net(m);
  net.forward(x, RunCtx{});
  const auto ranges = load_act_ranges(m);
  int checked = 0;
  for (const ActPoint& p : act_quant_points(m.graph)) {
    if (p.kind != ActPoint::own_range) continue;
    ASSERT_TRUE(ranges[size_t(p.node)].initialised) << m.graph.nodes[size_t(p.node)].name;
    const ActQuant q = act_quant_params(ranges[size_t(p.node)].min, ranges[size_t(p.node)].max);
    const Tensor& y = net.output(p.node);
    std::set<long> codes;
    for (float v : y.data) {
      const double c = double(v) / q.scale + q.zero_point;
      ASSERT_NEAR(c, std::round(c), 1e-3) << m.graph.nodes[size_t(p.node)].name;
      ASSERT_GE(std::lround(c), -128);
      ASSERT_LE(std::lround(c), 127);
      codes.insert(std::lround(c));
    }
    EXPECT_LE(codes.size(), 256u);
    ++checked;
  }
  EXPECT_GT(checked, 20);
}

TEST(Qat, ClippedStraightThroughEstimator) {
  // The stem's BN output clipped to a range of width ~0: every element lies outside the
  // representable range, so no gradient reaches the stem conv; without the clip it does.
  auto stem_grad = [](bool clip) {
    Model m = small_model();
    m.meta["train.act_bits"] = "8";
    const int bn = node_index(m.graph, "stem.bn");
    std::vector<ActRange> r(m.graph.nodes.size());
    r[size_t(bn)] = ActRange{clip ? -1e-6f : -1e3f, clip ? 1e-6f : 1e3f, true};
    store_act_ranges(m, r);
    Net net(m);
    net.set_act_range_momentum(0.f);  // keep the range as stored
    RunCtx ctx;
    ctx.training = true;
    const Tensor& z = net.forward(noise(4, 16, 16, 1, 9), ctx);
    Tensor dz(z.shape, 0.f);
    for (size_t i = 0; i < dz.data.size(); ++i) dz.data[i] = float(int(i % 7) - 3);
    net.backward(dz, ctx);
    double s = 0;
    for (float v : net.grad("stem.weight").data) s += std::fabs(v);
    return s;
  };
  EXPECT_EQ(stem_grad(true), 0.0);
  EXPECT_GT(stem_grad(false), 0.0);
}

TEST(Qat, FoldedBatchNormIsFrozenAndItsWeightsLieOnTheFoldedGrid) {
  Model m = small_model();
  m.meta["train.weight_levels"] = "8";
  m.meta["train.bn_folded"] = "1";
  // Non-trivial statistics, so s differs per channel.
  std::mt19937 rng(4);
  std::uniform_real_distribution<float> u(0.5f, 2.f);
  for (const Node& n : m.graph.nodes)
    if (n.op == OpKind::batchnorm) {
      for (float& v : m.param(n.name + ".running_var").data) v = u(rng);
      for (float& v : m.param(n.name + ".gamma").data) v = u(rng);
    }
  const Model before = m;
  Net net(m);
  RunCtx ctx;
  ctx.training = true;
  net.forward(noise(4, 16, 16, 1, 11), ctx);
  for (const Node& n : m.graph.nodes)
    if (n.op == OpKind::batchnorm) {
      EXPECT_EQ(m.param(n.name + ".running_mean").data, before.param(n.name + ".running_mean").data) << n.name;
      EXPECT_EQ(m.param(n.name + ".running_var").data, before.param(n.name + ".running_var").data) << n.name;
    }
  // Baked, every conv followed by BN has w * s on an 8-level grid per output channel.
  bake_folded_weights(m, 8);
  int checked = 0;
  for (size_t i = 0; i < m.graph.nodes.size(); ++i) {
    const Node& n = m.graph.nodes[i];
    if (n.op != OpKind::conv2d && n.op != OpKind::dw_concat) continue;
    const int bn = bn_after(m.graph, int(i));
    if (bn < 0) continue;
    const Tensor& w = m.param(n.name + ".weight");
    const std::vector<double> s = bn_scale(m, bn);
    const int64_t oc = w.shape[0], per = w.numel() / oc;
    for (int64_t c = 0; c < oc; ++c) {
      std::vector<double> v;
      for (int64_t k = 0; k < per; ++k) v.push_back(double(w.data[size_t(c * per + k)]) * s[size_t(c)]);
      const double a = *std::max_element(v.begin(), v.end(), [](double x, double y) { return std::fabs(x) < std::fabs(y); });
      const double step = std::fabs(a) / 7.0;  // even L = 8: odd multiples of half a step D/2, max code 7
      for (double e : v) {
        const double code = e / step;
        ASSERT_NEAR(code, std::round(code), 1e-3) << n.name;
        ASSERT_TRUE(std::lround(code) % 2 != 0 || a == 0) << n.name << " code " << code;
      }
    }
    ++checked;
  }
  EXPECT_GT(checked, 20);
}

}  // namespace
}  // namespace flynet
