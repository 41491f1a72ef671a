// Bias correction: the tap sums against a naive loop, and the corrected graph checked from the
// outside: in int8 mode every pre-activation int8 tensor's per-channel mean matches the float
// model's within the output rounding; in weights mode a naive convolution of the float inputs
// with the dequantized weights and corrected bias reproduces the float means.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "flynet/core/fold_bn.hpp"
#include "flynet/core/net.hpp"
#include "flynet/formats/error.hpp"
#include "flynet/quant/bias_correction.hpp"
#include "flynet/quant/calibrate.hpp"
#include "flynet/quant/compare.hpp"
#include "flynet/quant/int_runner.hpp"
#include "flynet/quant/quantize.hpp"
#include "flynet_format.h"
#include "quant_fixtures.hpp"

namespace flynet {
namespace {

TEST(BiasCorrection, TapSumsMatchANaiveLoop) {
  std::mt19937 rng(1);
  std::uniform_int_distribution<int> code(-128, 127);
  std::uniform_real_distribution<float> real(-2.f, 2.f);
  struct G {
    int H, W, C, K, s, p;
  };
  for (const G& c : {G{7, 5, 3, 3, 1, 1}, G{8, 8, 2, 3, 2, 1}, G{9, 6, 4, 5, 2, 2}, G{6, 7, 1, 1, 1, 0}, G{5, 5, 3, 5, 1, 0},
                     G{10, 9, 2, 3, 3, 1}}) {
    TapGeometry t;
    t.H = c.H;
    t.W = c.W;
    t.C = c.C;
    t.KH = t.KW = c.K;
    t.sh = t.sw = c.s;
    t.ph = t.pw = c.p;
    t.Ho = (c.H + 2 * c.p - c.K) / c.s + 1;
    t.Wo = (c.W + 2 * c.p - c.K) / c.s + 1;
    std::vector<int8_t> x(size_t(c.H * c.W * c.C));
    std::vector<float> xf(x.size());
    for (auto& v : x) v = int8_t(code(rng));
    for (auto& v : xf) v = real(rng);
    const int zp = -7;
    const size_t n = size_t(c.K * c.K * c.C);
    std::vector<int64_t> got(n, 5), want(n, 5);  // both add to what is there
    std::vector<double> gotf(n, 0.0), wantf(n, 0.0);
    add_tap_sums(t, x.data(), zp, got.data());
    add_tap_sums(t, xf.data(), gotf.data());
    for (int oy = 0; oy < t.Ho; ++oy)
      for (int ox = 0; ox < t.Wo; ++ox)
        for (int ky = 0; ky < c.K; ++ky)
          for (int kx = 0; kx < c.K; ++kx) {
            const int iy = oy * c.s + ky - c.p, ix = ox * c.s + kx - c.p;
            if (iy < 0 || iy >= c.H || ix < 0 || ix >= c.W) continue;
            for (int ch = 0; ch < c.C; ++ch) {
              const size_t i = size_t((iy * c.W + ix) * c.C + ch), o = size_t((ky * c.K + kx) * c.C + ch);
              want[o] += x[i] - zp;
              wantf[o] += xf[i];
            }
          }
    EXPECT_EQ(got, want) << c.H << "x" << c.W << "x" << c.C << " k" << c.K << " s" << c.s << " p" << c.p;
    for (size_t i = 0; i < n; ++i) EXPECT_NEAR(gotf[i], wantf[i], 1e-9) << i;
  }
}

ArchSpec small() { return test::small_flynet(); }

struct Fixture {
  Model m;
  Tensor images;
  IntGraph g;
};

Fixture make_fixture(const ArchSpec& spec, uint64_t seed, bool per_tensor) {
  Fixture s{test::random_bn_model(spec, seed), test::random_images(spec, 1, 32, seed + 1)[0], {}};
  QuantizeOptions q;
  q.per_tensor = per_tensor;
  s.g = test::calibrated_int8(s.m, {s.images}, q);
  return s;
}

// Per pre-activation tensor (a conv's BN without a fused ReLU, a linear), the largest
// |mean over images and positions of (int8 - float)| of a channel, in output LSBs.
std::map<std::string, double> channel_mean_errors(Model& m, const IntGraph& g, const Tensor& images) {
  std::vector<std::pair<int, int32_t>> points;  // (float node, int tensor)
  for (size_t i = 0; i < m.graph.nodes.size(); ++i) {
    const Node& n = m.graph.nodes[i];
    const bool pre = n.op == OpKind::linear ||
                     (n.op == OpKind::batchnorm && m.graph.nodes[size_t(n.inputs[0])].op != OpKind::batchnorm);
    if (!pre) continue;
    for (size_t t = 0; t < g.tensors.size(); ++t)
      if (g.tensors[t].name == n.name && !g.tensors[t].constant()) points.push_back({int(i), int32_t(t)});
  }
  Net net(m);
  net.forward(images, RunCtx{});
  IntRunner runner(g, true);
  const int64_t N = images.shape[0], px = images.numel() / N;
  std::vector<std::vector<double>> sum(points.size());
  for (size_t k = 0; k < points.size(); ++k) sum[k].assign(size_t(g.tensors[size_t(points[k].second)].dims[3]), 0.0);
  std::vector<int8_t> x(static_cast<size_t>(px)), y(size_t(g.tensors[size_t(g.output)].numel()));
  for (int64_t i = 0; i < N; ++i) {
    quantize_input(g, images.ptr() + i * px, x.data());
    runner.run(x.data(), y.data());
    for (size_t k = 0; k < points.size(); ++k) {
      const IntTensor& T = g.tensors[size_t(points[k].second)];
      const Tensor& f = net.output(points[k].first);
      const int64_t per = f.numel() / N, C = T.dims[3];
      const int8_t* q = runner.tensor(points[k].second);
      for (int64_t e = 0; e < per; ++e)
        sum[k][size_t(e % C)] += ((q[e] - T.zero_point) * T.scale - f.data[size_t(i * per + e)]) / T.scale;
    }
  }
  std::map<std::string, double> worst;
  for (size_t k = 0; k < points.size(); ++k) {
    const IntTensor& T = g.tensors[size_t(points[k].second)];
    const double count = double(N) * T.dims[1] * T.dims[2];
    double w = 0;
    for (double v : sum[k]) w = std::max(w, std::fabs(v / count));
    worst[T.name] = w;
  }
  return worst;
}

TEST(BiasCorrection, Int8ModeCentresEveryPreActivationTensor) {
  for (bool per_tensor : {true, false}) {
    SCOPED_TRACE(per_tensor ? "per-tensor" : "per-channel");
    Fixture s = make_fixture(small(), 2, per_tensor);
    const auto before = channel_mean_errors(s.m, s.g, s.images);
    const BiasCorrectionReport r = correct_bias(s.m, s.g, s.images, {});
    const auto after = channel_mean_errors(s.m, s.g, s.images);
    double worst_before = 0, worst_after = 0;
    for (const auto& [name, w] : after) {
      // The mean of a rounded value is within half a step of the mean of the value.
      EXPECT_LE(w, 0.5 + 1e-3) << name;
      worst_before = std::max(worst_before, before.at(name));
      worst_after = std::max(worst_after, w);
    }
    std::printf("  %s: %zu tensors, %d passes, largest channel mean error %.2f -> %.2f LSB\n",
                per_tensor ? "per-tensor" : "per-channel", after.size(), r.passes, worst_before, worst_after);
    EXPECT_GT(after.size(), 20u);
    EXPECT_GT(worst_before, 1.0);  // the check above is not trivially met
  }
}

// Mean over images and output positions of layer `node`'s int8 op applied, in float, to the
// float model's own input, with dequantized weights and bias: per int output channel.
std::vector<double> naive_layer_mean(Model& m, const IntGraph& g, const Tensor& images, int node) {
  const Node& n = m.graph.nodes[size_t(node)];
  const IntOp* op = nullptr;
  for (const IntOp& o : g.ops)
    if (o.name == n.name) op = &o;
  const IntTensor &X = g.tensors[size_t(op->inputs[0])], &W = g.tensors[size_t(op->inputs[1])],
                  &B = g.tensors[size_t(op->inputs[2])], &Y = g.tensors[size_t(op->outputs[0])];
  const int H = X.dims[1], Wd = X.dims[2], C = X.dims[3], Ho = Y.dims[1], Wo = Y.dims[2], Co = Y.dims[3];
  const int8_t* w = reinterpret_cast<const int8_t*>(W.data.data());
  const int32_t* b = reinterpret_cast<const int32_t*>(B.data.data());
  Net net(m);
  net.forward(images, RunCtx{});
  const Tensor& in = net.output(n.inputs[0]);
  const int64_t N = images.shape[0], per = in.numel() / N;
  std::vector<double> mean(size_t(Co), 0.0);
  const auto p = op->get_params<flynet_conv2d_params>();
  for (int64_t i = 0; i < N; ++i) {
    const float* x = in.ptr() + i * per;
    for (int o = 0; o < Co; ++o) {
      const double sw = W.channel_scales[size_t(o)];
      if (op->op == FLYNET_OP_FULLY_CONNECTED) {
        double acc = 0;
        for (int k = 0; k < int(per); ++k) acc += w[size_t(o) * size_t(per) + size_t(k)] * sw * x[k];
        mean[size_t(o)] += acc + b[o] * X.scale * sw;
        continue;
      }
      const int KH = W.dims[1], KW = W.dims[2];
      for (int oy = 0; oy < Ho; ++oy)
        for (int ox = 0; ox < Wo; ++ox) {
          double acc = 0;
          for (int ky = 0; ky < KH; ++ky)
            for (int kx = 0; kx < KW; ++kx) {
              const int iy = oy * p.stride_h + ky - p.pad_h, ix = ox * p.stride_w + kx - p.pad_w;
              if (iy < 0 || iy >= H || ix < 0 || ix >= Wd) continue;
              const float* px = x + (int64_t(iy) * Wd + ix) * C;
              if (op->op == FLYNET_OP_DEPTHWISE_CONV2D) {
                acc += w[size_t((ky * KW + kx) * Co + o)] * sw * px[o / (Co / C)];
              } else {
                const int ci = W.dims[3], g0 = o / (Co / (C / ci)) * ci;
                for (int l = 0; l < ci; ++l) acc += w[size_t(((o * KH + ky) * KW + kx) * ci + l)] * sw * px[g0 + l];
              }
            }
          mean[size_t(o)] += (acc + b[o] * X.scale * sw) / (double(Ho) * Wo);
        }
    }
  }
  for (double& v : mean) v /= double(N);
  return mean;
}

TEST(BiasCorrection, WeightsModeRemovesTheWeightErrorOnFloatInputs) {
  Fixture s = make_fixture(small(), 3, true);
  const IntGraph before = s.g;
  BiasCorrectionOptions o;
  o.mode = BiasCorrectionMode::weights;
  const BiasCorrectionReport r = correct_bias(s.m, s.g, s.images, o);
  EXPECT_EQ(r.passes, 0);
  Net net(s.m);
  net.forward(s.images, RunCtx{});
  double worst_before = 0;
  int layers = 0;
  for (size_t i = 0; i < s.m.graph.nodes.size(); ++i) {
    const Node& n = s.m.graph.nodes[i];
    if (n.op != OpKind::conv2d && n.op != OpKind::linear) continue;
    int pre = n.op == OpKind::linear ? int(i) : bn_after(s.m.graph, int(i));
    if (pre < 0) pre = int(i);
    const Tensor& f = net.output(pre);
    const int64_t C = f.shape[3];
    std::vector<double> fm(size_t(C), 0.0);
    for (int64_t e = 0; e < f.numel(); ++e) fm[size_t(e % C)] += f.data[size_t(e)] / double(f.numel() / C);
    const std::vector<double> got = naive_layer_mean(s.m, s.g, s.images, int(i));
    const std::vector<double> old = naive_layer_mean(s.m, before, s.images, int(i));
    const IntOp* op = nullptr;
    for (const IntOp& x : s.g.ops)
      if (x.name == n.name) op = &x;
    const IntTensor &X = s.g.tensors[size_t(op->inputs[0])], &W = s.g.tensors[size_t(op->inputs[1])];
    for (int64_t c = 0; c < C; ++c) {
      const double lsb = X.scale * W.channel_scales[size_t(c)];  // one step of the int32 bias
      EXPECT_NEAR(got[size_t(c)], fm[size_t(c)], 0.5 * lsb + 1e-5 * std::fabs(fm[size_t(c)])) << n.name << " " << c;
      worst_before = std::max(worst_before, std::fabs(old[size_t(c)] - fm[size_t(c)]) / lsb);
    }
    ++layers;
  }
  std::printf("  %d layers; before correction the largest channel mean error was %.1f bias steps\n", layers,
              worst_before);
  EXPECT_GT(worst_before, 1.0);
}

TEST(BiasCorrection, ImagesThatDoNotFitAreAShapeError) {
  Fixture s = make_fixture(small(), 4, false);
  Tensor wrong({2, 8, 8, 1});
  try {
    correct_bias(s.m, s.g, wrong, {});
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::shape);
  }
}

}  // namespace
}  // namespace flynet
