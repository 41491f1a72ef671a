#include "flynet/core/fold_bn.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace flynet {
namespace {

// Naive grouped conv, NHWC input [H, W, C], OIHW weight, pad (k-1)/2, in double.
std::vector<double> conv_naive(const std::vector<float>& x, int H, int W, int C, const Tensor& w, int stride,
                               int groups, const std::vector<float>* bias) {
  const int O = int(w.shape[0]), CI = int(w.shape[1]), K = int(w.shape[2]), pad = (K - 1) / 2;
  const int HO = (H + 2 * pad - K) / stride + 1, WO = (W + 2 * pad - K) / stride + 1;
  const int opg = O / groups;
  std::vector<double> y(size_t(HO * WO * O), 0.0);
  for (int oy = 0; oy < HO; ++oy)
    for (int ox = 0; ox < WO; ++ox)
      for (int o = 0; o < O; ++o) {
        double acc = bias ? (*bias)[size_t(o)] : 0.0;
        const int g = o / opg;
        for (int ci = 0; ci < CI; ++ci)
          for (int ky = 0; ky < K; ++ky)
            for (int kx = 0; kx < K; ++kx) {
              const int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
              if (iy < 0 || ix < 0 || iy >= H || ix >= W) continue;
              acc += double(x[size_t((iy * W + ix) * C + g * CI + ci)]) *
                     w.data[size_t(((o * CI + ci) * K + ky) * K + kx)];
            }
        y[size_t((oy * WO + ox) * O + o)] = acc;
      }
  return y;
}

TEST(FoldBn, ScalarByHand) {
  // w = 2, b = 1, gamma 3, beta 0.5, mean 0.25, var 3.999 with eps 0.001 -> sqrt = 2:
  // s = 1.5, w' = 3, b' = 0.5 + (1 - 0.25) * 1.5 = 1.625.
  Tensor w({1, 1, 1, 1}, 2.f);
  const float b = 1, gamma = 3, beta = 0.5f, mean = 0.25f, var = 3.999f;
  FoldedConv f = fold_bn(w, &b, &gamma, &beta, &mean, &var, 1e-3);
  EXPECT_FLOAT_EQ(f.weight.data[0], 3.f);
  EXPECT_FLOAT_EQ(f.bias[0], 1.625f);
  EXPECT_FLOAT_EQ(f.scale[0], 1.5f);
}

TEST(FoldBn, MdwHeadsFoldIntoAConvThatMatchesConvThenBn) {
  // b2.mdw of FlyNet-h3 0.5x: depthwise 3x3 with 3 heads per channel and one BN per head.
  Model m = Model::create(arch_preset("flynet-h3"), 9);
  const int conv = m.graph.find("b2.mdw");
  const int bn = bn_after(m.graph, conv);
  ASSERT_EQ(m.graph.nodes[size_t(bn)].name, "b2.mdw.bn");
  std::mt19937 rng(2);
  std::uniform_real_distribution<float> u(0.5f, 2.f), n(-1.f, 1.f);
  for (const char* p : {"gamma", "running_var"})
    for (float& v : m.param("b2.mdw.bn." + std::string(p)).data) v = u(rng);
  for (const char* p : {"beta", "running_mean"})
    for (float& v : m.param("b2.mdw.bn." + std::string(p)).data) v = n(rng);
  const Node& c = m.graph.nodes[size_t(conv)];
  const int H = 6, W = 5, C = c.cin;
  std::vector<float> x(size_t(H * W * C));
  for (float& v : x) v = n(rng);

  const std::vector<double> y = conv_naive(x, H, W, C, m.param("b2.mdw.weight"), 1, c.groups, nullptr);
  const FoldedConv f = fold_node(m, conv);
  const std::vector<double> yf = conv_naive(x, H, W, C, f.weight, 1, c.groups, &f.bias);
  const Tensor &g = m.param("b2.mdw.bn.gamma"), &be = m.param("b2.mdw.bn.beta"),
               &mu = m.param("b2.mdw.bn.running_mean"), &var = m.param("b2.mdw.bn.running_var");
  for (size_t i = 0; i < y.size(); ++i) {
    const size_t o = i % size_t(c.cout);
    const double bn_out = (y[i] - mu.data[o]) / std::sqrt(double(var.data[o]) + 1e-3) * g.data[o] + be.data[o];
    EXPECT_NEAR(yf[i], bn_out, 1e-5) << i;
  }
}

TEST(FoldBn, OnlyASoleBnConsumerFolds) {
  const Model m = Model::create(arch_preset("flynet-h3"), 1);
  EXPECT_EQ(bn_after(m.graph, m.graph.find("b1.exp")), m.graph.find("b1.exp.bn"));
  EXPECT_EQ(bn_after(m.graph, m.graph.find("b1.short")), m.graph.find("b1.short.bn"));
  EXPECT_EQ(bn_after(m.graph, m.graph.find("fc1")), -1);
  EXPECT_THROW(fold_node(m, m.graph.find("fc1")), Error);
}

}  // namespace
}  // namespace flynet
