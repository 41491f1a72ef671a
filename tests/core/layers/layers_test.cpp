// Every layer: forward against a naive loop written here, and backward against finite
// differences (inputs and parameters). Shapes are small so the whole file runs in seconds.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "layer_check.hpp"

namespace flynet::test {
namespace {

Node conv_node(int cin, int cout, int k, int s, int groups, bool bias = false) {
  Node n;
  n.name = "conv";
  n.op = OpKind::conv2d;
  n.cin = cin;
  n.cout = cout;
  n.kernel = k;
  n.stride = s;
  n.pad = (k - 1) / 2;
  n.groups = groups;
  n.bias = bias;
  n.params.push_back({"conv.weight", ParamRole::conv_weight, {cout, cin / groups, k, k}});
  if (bias) n.params.push_back({"conv.bias", ParamRole::bias, {cout}});
  return n;
}

// Naive grouped conv, NHWC in/out, OIHW weights, zero padding (k-1)/2.
Tensor naive_conv(const Tensor& x, const Tensor& w, const Tensor* b, int cout, int k, int s, int groups) {
  const int64_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3];
  const int pad = (k - 1) / 2;
  const int64_t OH = (H + 2 * pad - k) / s + 1, OW = (W + 2 * pad - k) / s + 1;
  const int64_t cin_g = C / groups, cout_g = cout / groups;
  Tensor y({N, OH, OW, cout});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow)
        for (int64_t o = 0; o < cout; ++o) {
          const int64_t g = o / cout_g;
          double acc = b ? b->data[size_t(o)] : 0.0;
          for (int64_t i = 0; i < cin_g; ++i)
            for (int kh = 0; kh < k; ++kh)
              for (int kw = 0; kw < k; ++kw) {
                const int64_t ih = oh * s - pad + kh, iw = ow * s - pad + kw;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                acc += double(x.data[size_t(((n * H + ih) * W + iw) * C + g * cin_g + i)]) *
                       w.data[size_t(((o * cin_g + i) * k + kh) * k + kw)];
              }
          y.data[size_t(((n * OH + oh) * OW + ow) * cout + o)] = float(acc);
        }
  return y;
}

TEST(Conv2d, DenseForwardMatchesNaiveLoop) {
  std::mt19937 rng(1);
  for (auto [k, s, bias] : {std::tuple{3, 1, false}, std::tuple{3, 2, true}, std::tuple{1, 1, false}}) {
    LayerCase c{conv_node(3, 5, k, s, 1, bias), {random_tensor({2, 7, 6, 3}, rng)}, {}, {}};
    c.p.push_back(random_tensor({5, 3, k, k}, rng));
    if (bias) c.p.push_back(random_tensor({5}, rng));
    auto l = make_layer(c.node);
    for (bool training : {true, false}) {
      c.ctx.training = training;
      expect_close(c.run(*l), naive_conv(c.x[0], c.p[0], bias ? &c.p[1] : nullptr, 5, k, s, 1), 1e-5, "conv");
    }
  }
}

TEST(Conv2d, GroupedForwardMatchesNaiveLoop) {
  std::mt19937 rng(2);
  LayerCase c{conv_node(4, 6, 3, 1, 2), {random_tensor({2, 5, 5, 4}, rng)}, {random_tensor({6, 2, 3, 3}, rng)}, {}};
  auto l = make_layer(c.node);
  expect_close(c.run(*l), naive_conv(c.x[0], c.p[0], nullptr, 6, 3, 1, 2), 1e-5, "grouped conv");
}

TEST(Conv2d, GradientsMatchFiniteDifferences) {
  std::mt19937 rng(3);
  for (auto [k, s, bias] : {std::tuple{3, 2, true}, std::tuple{1, 1, false}}) {
    LayerCase c{conv_node(3, 4, k, s, 1, bias), {random_tensor({2, 5, 5, 3}, rng)}, {}, {}};
    c.ctx.training = true;
    c.p.push_back(random_tensor({4, 3, k, k}, rng));
    if (bias) c.p.push_back(random_tensor({4}, rng));
    grad_check(c, 40, 1e-2, 2e-3);
  }
}

// An imported conv's geometry: rectangular kernel, unequal strides, asymmetric pads, dilation.
Node geom_conv_node(int cin, int cout, int groups) {
  Node n = conv_node(cin, cout, 3, 2, groups, true);
  n.kernel_w = 2;
  n.stride_w = 1;
  n.pad = 1;
  n.pad_w = 0;
  n.pad_b = 2;
  n.pad_r = 1;
  n.dilation = 2;
  n.params[0].shape = {cout, cin / groups, 3, 2};
  return n;
}

// Naive conv straight from the definition, any geometry.
Tensor naive_conv_geom(const Tensor& x, const Tensor& w, const Tensor& b, const Node& n) {
  const ConvGeom g = conv_geom(n);
  const int64_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3];
  const int OH = g.out_h(int(H)), OW = g.out_w(int(W)), ci = n.cin / n.groups, co = n.cout / n.groups;
  Tensor y({N, OH, OW, n.cout});
  for (int64_t i = 0; i < N; ++i)
    for (int oh = 0; oh < OH; ++oh)
      for (int ow = 0; ow < OW; ++ow)
        for (int o = 0; o < n.cout; ++o) {
          double acc = b.data[size_t(o)];
          for (int c = 0; c < ci; ++c)
            for (int kh = 0; kh < g.kh; ++kh)
              for (int kw = 0; kw < g.kw; ++kw) {
                const int ih = oh * g.sh - g.pt + kh * g.dil, iw = ow * g.sw - g.pl + kw * g.dil;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                acc += double(x.data[size_t(((i * H + ih) * W + iw) * C + (o / co) * ci + c)]) *
                       w.data[size_t(((o * ci + c) * g.kh + kh) * g.kw + kw)];
              }
          y.data[size_t(((i * OH + oh) * OW + ow) * n.cout + o)] = float(acc);
        }
  return y;
}

TEST(Conv2d, ImportedGeometryMatchesNaiveLoopWithGradients) {
  std::mt19937 rng(21);
  for (int groups : {1, 2, 4}) {  // dense, grouped, depthwise with a bias
    const Node n = geom_conv_node(4, 8, groups);
    LayerCase c{n, {random_tensor({2, 7, 6, 4}, rng)}, {random_tensor({8, 4 / groups, 3, 2}, rng),
                                                       random_tensor({8}, rng)}, {}};
    auto l = make_layer(c.node);
    const Tensor y = c.run(*l);
    EXPECT_EQ(y.shape, (std::vector<int64_t>{2, conv_geom(n).out_h(7), conv_geom(n).out_w(6), 8}));
    expect_close(y, naive_conv_geom(c.x[0], c.p[0], c.p[1], n), 1e-5, "imported conv");
    c.ctx.training = true;
    grad_check(c, 40, 1e-2, 2e-3);
  }
}

TEST(MaxPool, ForwardMatchesNaiveLoopWithGradients) {
  std::mt19937 rng(22);
  Node n = geom_conv_node(3, 3, 3);  // window 3x2, strides 2x1, pads 1,0,2,1
  n.op = OpKind::max_pool;
  n.dilation = 1;
  n.params.clear();
  LayerCase c{n, {random_tensor({2, 7, 6, 3}, rng)}, {}, {}};
  auto l = make_layer(c.node);
  const Tensor y = c.run(*l);
  const ConvGeom g = conv_geom(n);
  const int OH = g.out_h(7), OW = g.out_w(6);
  ASSERT_EQ(y.shape, (std::vector<int64_t>{2, OH, OW, 3}));
  for (int i = 0; i < 2; ++i)
    for (int oh = 0; oh < OH; ++oh)
      for (int ow = 0; ow < OW; ++ow)
        for (int ch = 0; ch < 3; ++ch) {
          float m = -1e30f;  // padded taps are not candidates
          for (int kh = 0; kh < 3; ++kh)
            for (int kw = 0; kw < 2; ++kw) {
              const int ih = oh * 2 - 1 + kh, iw = ow - 0 + kw;
              if (ih >= 0 && ih < 7 && iw >= 0 && iw < 6) m = std::max(m, c.x[0].data[size_t(((i * 7 + ih) * 6 + iw) * 3 + ch)]);
            }
          EXPECT_EQ(y.data[size_t(((i * OH + oh) * OW + ow) * 3 + ch)], m);
        }
  grad_check(c, 40, 1e-3, 2e-3);
}

// The window mean with its divisor counting padded taps or not (ONNX count_include_pad).
TEST(AvgPool, ForwardMatchesNaiveLoopWithGradients) {
  for (bool count_pad : {false, true}) {
    std::mt19937 rng(23);
    Node n = geom_conv_node(3, 3, 3);  // window 3x2, strides 2x1, pads 1,0,2,1
    n.op = OpKind::avg_pool;
    n.dilation = 1;
    n.count_pad = count_pad;
    n.params.clear();
    const ConvGeom g = conv_geom(n);
    const int OH = g.out_h(7), OW = g.out_w(6);
    n.out = {OH, OW, 3};
    LayerCase c{n, {random_tensor({2, 7, 6, 3}, rng)}, {}, {}};
    auto l = make_layer(c.node);
    const Tensor y = c.run(*l);
    ASSERT_EQ(y.shape, (std::vector<int64_t>{2, OH, OW, 3}));
    for (int i = 0; i < 2; ++i)
      for (int oh = 0; oh < OH; ++oh)
        for (int ow = 0; ow < OW; ++ow)
          for (int ch = 0; ch < 3; ++ch) {
            double sum = 0;
            int inside = 0, padded = 0;  // taps in the map; taps in the padded map (7+1+2 x 6+0+1)
            for (int kh = 0; kh < 3; ++kh)
              for (int kw = 0; kw < 2; ++kw) {
                const int ih = oh * 2 - 1 + kh, iw = ow + kw;
                padded += ih < 9 && iw < 7;
                if (ih >= 0 && ih < 7 && iw >= 0 && iw < 6) {
                  sum += c.x[0].data[size_t(((i * 7 + ih) * 6 + iw) * 3 + ch)];
                  ++inside;
                }
              }
            EXPECT_NEAR(y.data[size_t(((i * OH + oh) * OW + ow) * 3 + ch)], sum / (count_pad ? padded : inside), 1e-5);
          }
    grad_check(c, 40, 1e-3, 2e-3);
  }
}

TEST(Concat, ChannelsSideBySideWithGradients) {
  std::mt19937 rng(24);
  Node n;
  n.name = "cat";
  n.op = OpKind::concat;
  n.out = {3, 4, 7};
  LayerCase c{n, {random_tensor({2, 3, 4, 5}, rng), random_tensor({2, 3, 4, 2}, rng)}, {}, {}};
  auto l = make_layer(c.node);
  const Tensor y = c.run(*l);
  ASSERT_EQ(y.shape, (std::vector<int64_t>{2, 3, 4, 7}));
  for (int64_t p = 0; p < 2 * 3 * 4; ++p)
    for (int64_t ch = 0; ch < 7; ++ch)
      EXPECT_EQ(y.data[size_t(p * 7 + ch)], ch < 5 ? c.x[0].data[size_t(p * 5 + ch)] : c.x[1].data[size_t(p * 2 + ch - 5)]);
  grad_check(c, 40, 1e-3, 2e-3);
}

// Broadcasting: a map times a 1-channel map, and a 1x1xC vector times a map.
TEST(Mul, BroadcastForwardMatchesNaiveLoopWithGradients) {
  std::mt19937 rng(25);
  const std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>> cases = {
      {{2, 3, 4, 5}, {2, 3, 4, 1}}, {{2, 1, 1, 5}, {2, 3, 4, 5}}, {{2, 3, 4, 5}, {2, 3, 4, 5}}};
  for (const auto& [sa, sb] : cases) {
    Node n;
    n.name = "mul";
    n.op = OpKind::mul;
    n.out = {3, 4, 5};
    LayerCase c{n, {random_tensor(sa, rng), random_tensor(sb, rng)}, {}, {}};
    auto l = make_layer(c.node);
    const Tensor y = c.run(*l);
    ASSERT_EQ(y.shape, (std::vector<int64_t>{2, 3, 4, 5}));
    auto at = [](const Tensor& t, int64_t i, int64_t h, int64_t w, int64_t ch) {
      const auto& s = t.shape;
      h = s[1] == 1 ? 0 : h;
      w = s[2] == 1 ? 0 : w;
      ch = s[3] == 1 ? 0 : ch;
      return t.data[size_t(((i * s[1] + h) * s[2] + w) * s[3] + ch)];
    };
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t h = 0; h < 3; ++h)
        for (int64_t w = 0; w < 4; ++w)
          for (int64_t ch = 0; ch < 5; ++ch)
            EXPECT_FLOAT_EQ(y.data[size_t(((i * 3 + h) * 4 + w) * 5 + ch)], at(c.x[0], i, h, w, ch) * at(c.x[1], i, h, w, ch));
    grad_check(c, 40, 1e-3, 2e-3);
  }
}

// Probabilities (and the softmax Jacobian) unless the caller asks for the logits.
TEST(Softmax, ProbabilitiesOrLogitsWithGradients) {
  std::mt19937 rng(26);
  Node n;
  n.name = "sm";
  n.op = OpKind::softmax;
  n.out = {1, 1, 6};
  LayerCase c{n, {random_tensor({3, 1, 1, 6}, rng, -3.f, 3.f)}, {}, {}};
  auto l = make_layer(c.node);
  const Tensor y = c.run(*l);
  for (int64_t i = 0; i < 3; ++i) {
    double sum = 0;
    for (int64_t k = 0; k < 6; ++k) sum += std::exp(double(c.x[0].data[size_t(i * 6 + k)]));
    for (int64_t k = 0; k < 6; ++k)
      EXPECT_NEAR(y.data[size_t(i * 6 + k)], std::exp(double(c.x[0].data[size_t(i * 6 + k)])) / sum, 1e-6);
  }
  grad_check(c, 18, 1e-3, 2e-3);
  c.ctx.logits = true;
  EXPECT_EQ(c.run(*l).data, c.x[0].data);
  grad_check(c, 18, 1e-3, 2e-3);
}

TEST(Depthwise, MultiplierForwardMatchesNaiveLoop) {
  // MDW: groups = E, cout = h E, output channel c*h + j reads input c.
  std::mt19937 rng(4);
  for (auto [k, s] : {std::pair{3, 1}, std::pair{5, 2}, std::pair{3, 2}}) {
    LayerCase c{conv_node(5, 15, k, s, 5), {random_tensor({3, 9, 8, 5}, rng)}, {random_tensor({15, 1, k, k}, rng)}, {}};
    auto l = make_layer(c.node);
    expect_close(c.run(*l), naive_conv(c.x[0], c.p[0], nullptr, 15, k, s, 5), 1e-5, "mdw");
  }
  LayerCase c{conv_node(6, 6, 3, 1, 6), {random_tensor({2, 4, 4, 6}, rng)}, {random_tensor({6, 1, 3, 3}, rng)}, {}};
  auto l = make_layer(c.node);
  expect_close(c.run(*l), naive_conv(c.x[0], c.p[0], nullptr, 6, 3, 1, 6), 1e-5, "dw");
  // 39 output channels: the 32-, 8- and 1-channel blocks of the kernel
  LayerCase w{conv_node(13, 39, 5, 1, 13), {random_tensor({2, 6, 5, 13}, rng)}, {random_tensor({39, 1, 5, 5}, rng)}, {}};
  auto lw = make_layer(w.node);
  expect_close(w.run(*lw), naive_conv(w.x[0], w.p[0], nullptr, 39, 5, 1, 13), 1e-5, "wide mdw");
}

TEST(Depthwise, GradientsMatchFiniteDifferences) {
  std::mt19937 rng(5);
  for (auto [k, s, cin, mult] : {std::tuple{3, 1, 4, 3}, std::tuple{5, 2, 3, 2}, std::tuple{3, 1, 5, 1}, std::tuple{5, 1, 12, 3}}) {
    LayerCase c{conv_node(cin, cin * mult, k, s, cin), {random_tensor({3, 7, 6, cin}, rng)},
                {random_tensor({cin * mult, 1, k, k}, rng)}, {}};
    c.ctx.training = true;
    grad_check(c, 60, 1e-2, 2e-3);
  }
}

Node dw_concat_node(int cin, int cout, int s) {
  Node n;
  n.name = "short";
  n.op = OpKind::dw_concat;
  n.cin = cin;
  n.cout = cout;
  n.kernel = 3;
  n.stride = s;
  n.pad = 1;
  n.heads = (cout + cin - 1) / cin;
  n.params.push_back({"short.weight", ParamRole::conv_weight, {cout, 1, 3, 3}});
  return n;
}

TEST(DwConcat, ForwardReadsInputOModCin) {
  std::mt19937 rng(6);
  const int cin = 4, cout = 10, s = 2;
  LayerCase c{dw_concat_node(cin, cout, s), {random_tensor({2, 7, 7, cin}, rng)}, {random_tensor({cout, 1, 3, 3}, rng)}, {}};
  auto l = make_layer(c.node);
  // Reference: gather input channels o % cin, then a plain depthwise conv.
  Tensor xe({2, 7, 7, cout});
  for (int64_t p = 0; p < 2 * 49; ++p)
    for (int o = 0; o < cout; ++o) xe.data[size_t(p * cout + o)] = c.x[0].data[size_t(p * cin + o % cin)];
  expect_close(c.run(*l), naive_conv(xe, c.p[0], nullptr, cout, 3, s, cout), 1e-5, "dw_concat");
}

TEST(DwConcat, GradientsMatchFiniteDifferences) {
  std::mt19937 rng(7);
  LayerCase c{dw_concat_node(3, 7, 2), {random_tensor({2, 6, 5, 3}, rng)}, {random_tensor({7, 1, 3, 3}, rng)}, {}};
  grad_check(c, 60, 1e-2, 2e-3);
}

Node bn_node(int C) {
  Node n;
  n.name = "bn";
  n.op = OpKind::batchnorm;
  n.cin = n.cout = C;
  n.params = {{"bn.gamma", ParamRole::bn_gamma, {C}},
              {"bn.beta", ParamRole::bn_beta, {C}},
              {"bn.running_mean", ParamRole::bn_mean, {C}},
              {"bn.running_var", ParamRole::bn_var, {C}}};
  return n;
}

TEST(BatchNorm, TrainingForwardAndRunningStatistics) {
  std::mt19937 rng(8);
  const int C = 5;
  LayerCase c{bn_node(C), {random_tensor({4, 3, 3, C}, rng, -2.f, 3.f)}, {}, {}};
  c.p = {random_tensor({C}, rng, 0.5f, 1.5f), random_tensor({C}, rng), Tensor({C}, 0.2f), Tensor({C}, 2.f)};
  c.ctx.training = true;
  auto l = make_layer(c.node);
  Tensor y = c.run(*l);
  const int64_t M = 4 * 9;
  Tensor want(y.shape);
  for (int ch = 0; ch < C; ++ch) {
    double s = 0, s2 = 0;
    for (int64_t i = 0; i < M; ++i) s += c.x[0].data[size_t(i * C + ch)];
    const double mu = s / M;
    for (int64_t i = 0; i < M; ++i) s2 += std::pow(c.x[0].data[size_t(i * C + ch)] - mu, 2);
    const double var = s2 / M;
    for (int64_t i = 0; i < M; ++i)
      want.data[size_t(i * C + ch)] =
          float((c.x[0].data[size_t(i * C + ch)] - mu) / std::sqrt(var + 1e-3) * c.p[0].data[size_t(ch)] + c.p[1].data[size_t(ch)]);
    EXPECT_NEAR(c.p[2].data[size_t(ch)], 0.99 * 0.2 + 0.01 * mu, 1e-6);
    EXPECT_NEAR(c.p[3].data[size_t(ch)], 0.99 * 2.0 + 0.01 * var * M / (M - 1), 1e-5);
  }
  expect_close(y, want, 1e-5, "bn train");
}

TEST(BatchNorm, EvalUsesRunningStatistics) {
  std::mt19937 rng(9);
  const int C = 3;
  LayerCase c{bn_node(C), {random_tensor({2, 2, 2, C}, rng)}, {}, {}};
  c.p = {Tensor({C}, 2.f), Tensor({C}, 0.5f), Tensor({C}, 0.25f), Tensor({C}, 4.f)};
  auto l = make_layer(c.node);
  Tensor y = c.run(*l);
  Tensor want(y.shape);
  for (int64_t i = 0; i < y.numel(); ++i) want.data[size_t(i)] = float((c.x[0].data[size_t(i)] - 0.25) / std::sqrt(4.001) * 2 + 0.5);
  expect_close(y, want, 1e-6, "bn eval");
  EXPECT_EQ(c.p[3].data[0], 4.f);  // eval does not touch the running statistics
}

TEST(BatchNorm, GradientsMatchFiniteDifferences) {
  std::mt19937 rng(10);
  const int C = 4;
  for (bool training : {true, false}) {
    LayerCase c{bn_node(C), {random_tensor({3, 3, 2, C}, rng, -1.f, 2.f)}, {}, {}};
    c.p = {random_tensor({C}, rng, 0.5f, 1.5f), random_tensor({C}, rng), Tensor({C}, 0.1f), Tensor({C}, 1.5f)};
    c.ctx.training = training;
    grad_check(c, 60, 1e-2, 3e-3);
  }
}

Node act_node(Act a) {
  Node n;
  n.name = "act";
  n.op = OpKind::activation;
  n.act = a;
  return n;
}

double ref_act(Act a, double x) {
  switch (a) {
    case Act::relu: return x > 0 ? x : 0;
    case Act::hswish: return x * std::min(std::max(x + 3, 0.0), 6.0) / 6;
    case Act::hsigmoid: return std::min(std::max(x + 3, 0.0), 6.0) / 6;
    case Act::sigmoid: return 1 / (1 + std::exp(-x));
    case Act::relu6: return std::min(std::max(x, 0.0), 6.0);
    case Act::leaky_relu: return x > 0 ? x : 0.01 * x;  // act_node keeps the default alpha
  }
  return 0;
}

TEST(Activation, ForwardAndGradients) {
  for (Act a : {Act::relu, Act::hswish, Act::hsigmoid, Act::sigmoid, Act::relu6, Act::leaky_relu}) {
    std::mt19937 rng(11);
    Tensor x = random_tensor({2, 3, 3, 4}, rng, -5.f, 8.f);
    // keep the finite differences away from the kinks at 0, +-3 and 6
    for (float& v : x.data)
      for (float kink : {-3.f, 0.f, 3.f, 6.f})
        if (std::fabs(v - kink) < 0.05f) v = kink + 0.1f;
    LayerCase c{act_node(a), {x}, {}, {}};
    auto l = make_layer(c.node);
    Tensor y = c.run(*l);
    Tensor want(y.shape);
    for (int64_t i = 0; i < y.numel(); ++i) want.data[size_t(i)] = float(ref_act(a, x.data[size_t(i)]));
    expect_close(y, want, 1e-6, std::string(act_name(a)).c_str());
    grad_check(c, 72, 1e-2, 2e-3);
  }
}

Node eca_node(int E, int h, int k, Gate gate) {
  Node n;
  n.name = "eca";
  n.op = OpKind::va_eca;
  n.heads = h;
  n.cin = E;
  n.eca_k = k;
  n.gate = gate;
  n.params.push_back({"eca.weight", ParamRole::eca_weight, {2, k}});
  return n;
}

// Naive VA-ECA straight from design 3.3.
Tensor naive_va_eca(const Tensor& z, const Tensor& w, int h, int k, Gate gate, double T) {
  const int64_t N = z.shape[0], P = z.shape[1] * z.shape[2], Q = z.shape[3], E = Q / h;
  Tensor y(z.shape);
  for (int64_t n = 0; n < N; ++n) {
    const size_t nq = size_t(Q);
    std::vector<double> mu(nq), sd(nq), l(nq), g(nq);
    for (int64_t q = 0; q < Q; ++q) {
      double s = 0, s2 = 0;
      for (int64_t i = 0; i < P; ++i) s += z.data[size_t((n * P + i) * Q + q)];
      mu[size_t(q)] = s / P;
      for (int64_t i = 0; i < P; ++i) s2 += std::pow(z.data[size_t((n * P + i) * Q + q)] - mu[size_t(q)], 2);
      sd[size_t(q)] = std::sqrt(s2 / P + 1e-5);
    }
    for (int j = 0; j < h; ++j)
      for (int64_t c = 0; c < E; ++c) {
        double acc = 0;
        for (int t = 0; t < k; ++t) {
          const int64_t cc = c + t - (k - 1) / 2;
          if (cc >= 0 && cc < E) acc += w.data[size_t(t)] * mu[size_t(cc * h + j)] + w.data[size_t(k + t)] * sd[size_t(cc * h + j)];
        }
        l[size_t(c * h + j)] = acc;
      }
    for (int64_t c = 0; c < E; ++c) {
      double den = 0;
      for (int j = 0; j < h; ++j) den += std::exp(l[size_t(c * h + j)] / T);
      for (int j = 0; j < h; ++j) {
        const double lv = l[size_t(c * h + j)];
        g[size_t(c * h + j)] = gate == Gate::softmax ? h * std::exp(lv / T) / den : 1 / (1 + std::exp(-lv));
      }
    }
    for (int64_t i = 0; i < P; ++i)
      for (int64_t q = 0; q < Q; ++q)
        y.data[size_t((n * P + i) * Q + q)] = float(g[size_t(q)] * z.data[size_t((n * P + i) * Q + q)]);
  }
  return y;
}

TEST(VaEca, ForwardMatchesNaiveLoop) {
  std::mt19937 rng(12);
  for (Gate gate : {Gate::sigmoid, Gate::softmax}) {
    const int E = 6, h = 3, k = 3;
    LayerCase c{eca_node(E, h, k, gate), {random_tensor({2, 4, 3, E * h}, rng, -2.f, 2.f)}, {random_tensor({2, k}, rng)}, {}};
    c.ctx.temperature = 2.5f;
    auto l = make_layer(c.node);
    expect_close(c.run(*l), naive_va_eca(c.x[0], c.p[0], h, k, gate, 2.5), 1e-5, "va_eca");
  }
}

TEST(VaEca, GradientsMatchFiniteDifferences) {
  std::mt19937 rng(13);
  for (Gate gate : {Gate::sigmoid, Gate::softmax}) {
    const int E = 5, h = 3, k = 5;
    LayerCase c{eca_node(E, h, k, gate), {random_tensor({2, 3, 3, E * h}, rng, -2.f, 2.f)},
                {random_tensor({2, k}, rng, -1.5f, 1.5f)}, {}};
    c.ctx.temperature = 1.7f;
    grad_check(c, 80, 1e-2, 3e-3);
  }
}

Node reduce_node(int h, Reduce r, int s) {
  Node n;
  n.name = "reduce";
  n.op = OpKind::head_reduce;
  n.heads = h;
  n.reduce = r;
  n.funnel_stride = s;
  return n;
}

// Values on a coarse grid with distinct entries, so no max is within eps of a tie.
Tensor distinct_tensor(std::vector<int64_t> shape, std::mt19937& rng) {
  Tensor t(std::move(shape));
  std::vector<float> v(static_cast<size_t>(t.numel()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = float(i) * 0.1f - float(v.size()) * 0.05f + 0.05f;
  std::shuffle(v.begin(), v.end(), rng);
  std::copy(v.begin(), v.end(), t.data.begin());
  return t;
}

TEST(HeadReduce, ForwardMatchesNaiveLoop) {
  std::mt19937 rng(14);
  const int h = 3, E = 4;
  Tensor z = distinct_tensor({2, 3, 3, E * h}, rng);
  Tensor u = distinct_tensor({2, 6, 5, E}, rng);
  for (Reduce r : {Reduce::maxout, Reduce::funnel_maxout, Reduce::sum_relu}) {
    LayerCase c{reduce_node(h, r, 2), {z}, {}, {}};
    if (r == Reduce::funnel_maxout) c.x.push_back(u);
    auto l = make_layer(c.node);
    Tensor y = c.run(*l);
    Tensor want({2, 3, 3, E});
    for (int64_t n = 0; n < 2; ++n)
      for (int64_t oh = 0; oh < 3; ++oh)
        for (int64_t ow = 0; ow < 3; ++ow)
          for (int64_t ch = 0; ch < E; ++ch) {
            const int64_t pix = (n * 3 + oh) * 3 + ow;
            double m = -1e30, s = 0;
            for (int j = 0; j < h; ++j) {
              m = std::max(m, double(z.data[size_t(pix * E * h + ch * h + j)]));
              s += z.data[size_t(pix * E * h + ch * h + j)];
            }
            if (r == Reduce::funnel_maxout) m = std::max(m, double(u.data[size_t(((n * 6 + oh * 2) * 5 + ow * 2) * E + ch)]));
            want.data[size_t(pix * E + ch)] = float(r == Reduce::sum_relu ? std::max(s, 0.0) : m);
          }
    expect_close(y, want, 1e-6, "head_reduce");
    grad_check(c, 200, 1e-3, 2e-3);
  }
}

TEST(Add, ForwardAndGradients) {
  std::mt19937 rng(15);
  Node n;
  n.name = "add";
  n.op = OpKind::add;
  LayerCase c{n, {random_tensor({2, 3, 3, 4}, rng), random_tensor({2, 3, 3, 4}, rng)}, {}, {}};
  auto l = make_layer(c.node);
  Tensor y = c.run(*l);
  for (int64_t i = 0; i < y.numel(); ++i) EXPECT_FLOAT_EQ(y.data[size_t(i)], c.x[0].data[size_t(i)] + c.x[1].data[size_t(i)]);
  grad_check(c, 30, 1e-2, 1e-3);
}

TEST(GlobalAvgPool, ForwardAndGradients) {
  std::mt19937 rng(16);
  Node n;
  n.name = "pool";
  n.op = OpKind::global_avg_pool;
  LayerCase c{n, {random_tensor({3, 4, 5, 6}, rng)}, {}, {}};
  auto l = make_layer(c.node);
  Tensor y = c.run(*l);
  ASSERT_EQ(y.shape, (std::vector<int64_t>{3, 1, 1, 6}));
  for (int64_t b = 0; b < 3; ++b)
    for (int64_t ch = 0; ch < 6; ++ch) {
      double s = 0;
      for (int64_t p = 0; p < 20; ++p) s += c.x[0].data[size_t((b * 20 + p) * 6 + ch)];
      EXPECT_NEAR(y.data[size_t(b * 6 + ch)], s / 20, 1e-6);
    }
  grad_check(c, 50, 1e-2, 1e-3);
}

Node linear_node(int cin, int cout) {
  Node n;
  n.name = "fc";
  n.op = OpKind::linear;
  n.cin = cin;
  n.cout = cout;
  n.bias = true;
  n.params = {{"fc.weight", ParamRole::linear_weight, {cout, cin}}, {"fc.bias", ParamRole::bias, {cout}}};
  return n;
}

TEST(Linear, ForwardAndGradients) {
  std::mt19937 rng(17);
  const int cin = 7, cout = 5;
  LayerCase c{linear_node(cin, cout), {random_tensor({4, 1, 1, cin}, rng)}, {random_tensor({cout, cin}, rng), random_tensor({cout}, rng)}, {}};
  auto l = make_layer(c.node);
  for (bool training : {true, false}) {
    c.ctx.training = training;
    Tensor y = c.run(*l);
    for (int64_t b = 0; b < 4; ++b)
      for (int o = 0; o < cout; ++o) {
        double s = c.p[1].data[size_t(o)];
        for (int i = 0; i < cin; ++i) s += double(c.p[0].data[size_t(o * cin + i)]) * c.x[0].data[size_t(b * cin + i)];
        EXPECT_NEAR(y.data[size_t(b * cout + o)], s, 1e-5);
      }
  }
  c.ctx.training = true;
  grad_check(c, 60, 1e-2, 2e-3);
}

TEST(ScaleChannels, ForwardAndGradients) {
  std::mt19937 rng(18);
  Node n;
  n.name = "scale";
  n.op = OpKind::scale_channels;
  LayerCase c{n, {random_tensor({2, 3, 2, 4}, rng), random_tensor({2, 1, 1, 4}, rng)}, {}, {}};
  auto l = make_layer(c.node);
  Tensor y = c.run(*l);
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t p = 0; p < 6; ++p)
      for (int64_t ch = 0; ch < 4; ++ch)
        EXPECT_FLOAT_EQ(y.data[size_t((b * 6 + p) * 4 + ch)], c.x[0].data[size_t((b * 6 + p) * 4 + ch)] * c.x[1].data[size_t(b * 4 + ch)]);
  grad_check(c, 60, 1e-2, 1e-3);
}

TEST(Dropout, EvalIsIdentityTrainingKeepsAboutOneMinusP) {
  std::mt19937 rng(19);
  Node n;
  n.name = "dropout";
  n.op = OpKind::dropout;
  n.drop = 0.25;
  LayerCase c{n, {random_tensor({64, 1, 1, 128}, rng, 0.5f, 1.f)}, {}, {}};
  auto l = make_layer(c.node);
  Tensor y = c.run(*l);
  EXPECT_EQ(y.data, c.x[0].data);
  c.ctx.training = true;
  c.ctx.seed = 3;
  c.ctx.step = 11;
  y = c.run(*l);
  int64_t kept = 0;
  for (int64_t i = 0; i < y.numel(); ++i) {
    if (y.data[size_t(i)] != 0.f) {
      ++kept;
      EXPECT_FLOAT_EQ(y.data[size_t(i)], c.x[0].data[size_t(i)] / 0.75f);
    }
  }
  EXPECT_NEAR(double(kept) / double(y.numel()), 0.75, 0.02);
  EXPECT_EQ(c.run(*l).data, y.data);  // same (seed, step): same mask
  c.ctx.step = 12;
  EXPECT_NE(c.run(*l).data, y.data);
  c.ctx.step = 11;
  grad_check(c, 50, 1e-2, 1e-3);
}

}  // namespace
}  // namespace flynet::test
