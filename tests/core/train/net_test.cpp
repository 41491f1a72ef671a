// The executor on whole graphs: gradients of every parameter kind and of shared inputs
// (block input to main path and shortcut, U to MDW and funnel) against finite differences of
// the real loss; loss, optimizers and schedules against hand calculation.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "flynet/core/loss.hpp"
#include "flynet/core/net.hpp"
#include "flynet/core/optim.hpp"
#include "flynet/core/schedule.hpp"

namespace flynet {
namespace {

double net_loss(Net& net, const Tensor& x, const std::vector<int32_t>& y, const RunCtx& ctx) {
  return softmax_cross_entropy(net.forward(x, ctx), y, 0.0, nullptr).loss;
}

// Central differences of the mean cross-entropy for `per_param` random entries of every
// trainable parameter. Float forward passes through a whole network: a few positions may sit
// near a max-out/ReLU kink, so at least 90% of them must agree within the tolerance.
void check_graph(const ArchSpec& spec, int per_param, float temperature) {
  set_num_threads(1);  // tiny shapes: threads only add overhead
  Model m = Model::create(spec, 3);
  std::mt19937 rng(5);
  // non-trivial BN affine so gamma/beta gradients are exercised away from their init
  for (const ParamDecl& d : m.graph.all_params()) {
    std::uniform_real_distribution<float> u(-0.2f, 0.2f);
    if (d.role == ParamRole::bn_gamma || d.role == ParamRole::bn_beta)
      for (float& v : m.param(d.name).data) v += u(rng);
  }
  Net net(m);
  const int N = 4;
  Tensor x({N, spec.in_h, spec.in_w, spec.in_c});
  std::normal_distribution<float> nd;
  for (float& v : x.data) v = nd(rng);
  std::vector<int32_t> y{0, 1, 2, 1};
  RunCtx ctx;
  ctx.training = true;
  ctx.temperature = temperature;
  Tensor dl;
  softmax_cross_entropy(net.forward(x, ctx), y, 0.0, &dl);
  net.backward(dl, ctx);
  std::map<std::string, Tensor> grads = net.grads();
  int checked = 0, ok = 0;
  std::string first_bad;
  for (const ParamDecl& d : m.graph.all_params()) {
    if (!d.trainable()) continue;
    Tensor& w = m.param(d.name);
    std::uniform_int_distribution<int64_t> u(0, w.numel() - 1);
    for (int k = 0; k < per_param; ++k) {
      const int64_t i = u(rng);
      const float keep = w.data[size_t(i)];
      const float eps = 2e-3f;
      w.data[size_t(i)] = keep + eps;
      const double lp = net_loss(net, x, y, ctx);
      w.data[size_t(i)] = keep - eps;
      const double lm = net_loss(net, x, y, ctx);
      w.data[size_t(i)] = keep;
      const double num = (lp - lm) / (2.0 * eps);
      const double ana = grads[d.name].data[size_t(i)];
      ++checked;
      if (std::fabs(num - ana) <= 2e-3 + 5e-2 * std::fabs(num))
        ++ok;
      else if (first_bad.empty())
        first_bad = d.name + "[" + std::to_string(i) + "] numeric " + std::to_string(num) + " analytic " + std::to_string(ana);
    }
  }
  EXPECT_GE(ok, checked * 9 / 10) << spec.summary() << ": " << ok << "/" << checked << " agree; first: " << first_bad;
}

ArchSpec tiny(ArchSpec s) {
  s.width = 0.25;
  s.in_h = s.in_w = 12;
  s.in_c = 2;
  s.classes = 3;
  s.dropout = 0.0;  // deterministic anyway, but keeps the check about the layers
  return s;
}

TEST(NetGradients, FlyNetSoftmaxMaxoutMdwConcat) { check_graph(tiny(arch_preset("flynet-h3")), 2, 2.f); }

TEST(NetGradients, FlyNetSigmoidFunnelConv3x3) {
  ArchSpec s = tiny(arch_preset("flynet-h3"));
  s.gate = Gate::sigmoid;
  s.reduce = Reduce::funnel_maxout;
  s.residual = Residual::conv3x3;
  check_graph(s, 2, 1.f);
}

TEST(NetGradients, FlyNetSumReluDwPwTwoHeads) {
  ArchSpec s = tiny(arch_preset("flynet-h3"));
  s.heads = 2;
  s.reduce = Reduce::sum_relu;
  s.residual = Residual::dw_pw;
  check_graph(s, 2, 1.f);
}

TEST(NetGradients, MobileNetV3SmallWithSe) { check_graph(tiny(arch_preset("mobilenetv3-small")), 1, 1.f); }

TEST(Net, OutputHookSeesEveryNodeAndWeightTransformIsApplied) {
  ArchSpec s = tiny(arch_preset("flynet-h3"));
  Model m = Model::create(s, 1);
  Net net(m);
  Tensor x({2, 12, 12, 2}, 0.5f);
  int seen = 0;
  net.set_output_hook([&](const Node& n, int i, Tensor& out) {
    ++seen;
    EXPECT_EQ(out.numel(), 2 * n.out.numel()) << n.name;
    EXPECT_EQ(&m.graph.nodes[size_t(i)], &n);
  });
  RunCtx ctx;
  Tensor before = net.forward(x, ctx);
  EXPECT_EQ(seen, int(m.graph.nodes.size()) - 1);
  // Zeroing every effective weight of fc2 leaves only its bias in the logits.
  net.set_weight_transform([](const ParamDecl& d, const Tensor& w, Tensor& eff) {
    eff.data = w.data;
    if (d.name == "fc2.weight") std::fill(eff.data.begin(), eff.data.end(), 0.f);
  });
  const Tensor& after = net.forward(x, ctx);
  for (int64_t i = 0; i < after.numel(); ++i) EXPECT_EQ(after.data[size_t(i)], m.param("fc2.bias").data[size_t(i % 3)]);
  EXPECT_NE(before.data, after.data);
}

TEST(Loss, LabelSmoothedCrossEntropyByHand) {
  Tensor z({2, 1, 1, 3});
  z.data = {1.f, 2.f, 3.f, 0.f, 0.f, 0.f};
  std::vector<int32_t> y{2, 0};
  Tensor d;
  const LossResult r = softmax_cross_entropy(z, y, 0.3, &d);
  // row 0: log-softmax = z - log(e + e^2 + e^3); row 1: -log 3 everywhere
  const double lse = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  const double q_hit = 0.7 + 0.1, q_miss = 0.1;
  const double l0 = -(q_miss * (1 - lse) + q_miss * (2 - lse) + q_hit * (3 - lse));
  const double l1 = std::log(3.0);
  EXPECT_NEAR(r.loss, (l0 + l1) / 2, 1e-6);
  EXPECT_EQ(r.correct, 2);  // row 0 argmax 2; row 1 a three-way tie, argmax 0 = label
  EXPECT_NEAR(d.data[2], (std::exp(3.0 - lse) - q_hit) / 2, 1e-6);
  EXPECT_NEAR(d.data[4], (1.0 / 3 - q_miss) / 2, 1e-6);
}

Model one_param_model() {
  // The smallest real model; the test drives two of its tensors by hand.
  ArchSpec s = tiny(arch_preset("flynet-h3"));
  return Model::create(s, 1);
}

TEST(Optimizer, SgdNesterovWithDecoupledDecayByHand) {
  Model m = one_param_model();
  OptimOptions o;
  o.momentum = 0.9;
  o.nesterov = true;
  o.weight_decay = 0.1;
  Optimizer opt(m, o);
  std::map<std::string, Tensor> g;
  for (const ParamDecl& d : m.graph.all_params())
    if (d.trainable()) g[d.name] = Tensor(d.shape, 0.f);
  m.param("fc2.weight").data[0] = 1.f;
  m.param("fc2.bias").data[0] = 1.f;
  g["fc2.weight"].data[0] = 0.5f;
  g["fc2.bias"].data[0] = 0.5f;
  opt.step(m, g, 0.1);
  // v = 0.5; step = g + mu v = 0.95; w = 1 - 0.1 (0.95 + 0.1 * 1) = 0.895; bias: no decay: 0.905
  EXPECT_NEAR(m.param("fc2.weight").data[0], 0.895f, 1e-6);
  EXPECT_NEAR(m.param("fc2.bias").data[0], 0.905f, 1e-6);
  opt.step(m, g, 0.1);
  // v = 0.9*0.5 + 0.5 = 0.95; step = 0.5 + 0.855 = 1.355; w = 0.895 - 0.1 (1.355 + 0.0895)
  EXPECT_NEAR(m.param("fc2.weight").data[0], 0.895 - 0.1 * (1.355 + 0.0895), 1e-6);
}

TEST(Optimizer, AdamWFirstStepByHand) {
  Model m = one_param_model();
  OptimOptions o;
  o.kind = OptimKind::adamw;
  o.weight_decay = 0.01;
  Optimizer opt(m, o);
  std::map<std::string, Tensor> g;
  for (const ParamDecl& d : m.graph.all_params())
    if (d.trainable()) g[d.name] = Tensor(d.shape, 0.f);
  m.param("fc2.weight").data[0] = 2.f;
  g["fc2.weight"].data[0] = -0.3f;
  m.param("stem.bn.gamma").data[0] = 1.f;
  g["stem.bn.gamma"].data[0] = 0.f;
  opt.step(m, g, 0.01);
  // m^ = g, v^ = g^2 -> update = g/|g| = -1 (eps negligible); w = 2 - 0.01 (-1 + 0.01 * 2)
  EXPECT_NEAR(m.param("fc2.weight").data[0], 2 - 0.01 * (-1 + 0.02), 1e-6);
  EXPECT_EQ(m.param("stem.bn.gamma").data[0], 1.f);  // no gradient, no decay on BN
  auto st = opt.state();
  EXPECT_TRUE(st.count("fc2.weight.m") && st.count("fc2.weight.v"));
}

TEST(Schedule, CosineWithWarmup) {
  EXPECT_DOUBLE_EQ(cosine_lr(1.0, 0, 110, 10), 0.1);
  EXPECT_DOUBLE_EQ(cosine_lr(1.0, 9, 110, 10), 1.0);
  EXPECT_DOUBLE_EQ(cosine_lr(1.0, 10, 110, 10), 1.0);
  EXPECT_NEAR(cosine_lr(1.0, 60, 110, 10), 0.5, 1e-12);
  EXPECT_NEAR(cosine_lr(1.0, 110, 110, 10), 0.0, 1e-12);
  EXPECT_NEAR(cosine_lr(2.0, 110, 110, 10, 0.1), 0.2, 1e-12);
}

TEST(Schedule, TemperatureGeometricTenToOne) {
  EXPECT_DOUBLE_EQ(gate_temperature(0, 21), 10.0);
  EXPECT_NEAR(gate_temperature(10, 21), std::sqrt(10.0), 1e-12);
  EXPECT_NEAR(gate_temperature(20, 21), 1.0, 1e-12);
  EXPECT_DOUBLE_EQ(gate_temperature(0, 1), 1.0);
}

}  // namespace
}  // namespace flynet
