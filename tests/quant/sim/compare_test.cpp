// compare_int8(): its counts and per-layer SQNR against the same figures worked out here, image
// by image, from the float model, the integer reference and both simulations run one at a
// time (labels chosen so that the float model's top-1 is exactly one half); the sample limit,
// the parts that can be switched off, progress, the shape error; quantize_input against an
// input quantization written in the fixtures.
#include "flynet/core/model_state.hpp"
#include "flynet/quant/compare.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

#include "flynet/core/net.hpp"
#include "flynet/formats/error.hpp"
#include "flynet/quant/fake_quant_sim.hpp"
#include "flynet/quant/int_runner.hpp"
#include "flynet/quant/quantize.hpp"
#include "quant_fixtures.hpp"

namespace flynet {
namespace {

constexpr int kImages = 14, kBatch = 4;

// Each image a background level with a square of another level at a random place, plus noise:
// images of different brightness and layout.
DatasetArrays random_pixels(int n, int hw, uint32_t seed) {
  DatasetArrays a;
  a.h = a.w = hw;
  a.c = 1;
  std::mt19937 rng(seed);
  auto u = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int i = 0; i < n; ++i) {
    const int back = u(0, 255), front = u(0, 255), size = u(2, hw / 2), y0 = u(0, hw - size), x0 = u(0, hw - size);
    for (int y = 0; y < hw; ++y)
      for (int x = 0; x < hw; ++x) {
        const bool in = y >= y0 && y < y0 + size && x >= x0 && x < x0 + size;
        a.images.push_back(uint8_t(std::clamp((in ? front : back) + u(-30, 30), 0, 255)));
      }
  }
  a.labels.assign(size_t(n), 0);
  return a;
}

template <class V>
int64_t first_max(const V& v, size_t begin, size_t n) {
  return std::max_element(v.begin() + long(begin), v.begin() + long(begin + n)) - (v.begin() + long(begin));
}

// The figures of compare_int8, summed here one image at a time.
struct Hand {
  std::vector<int64_t> float_top, int_top, sim_top[2];
  struct Layer {
    int32_t tensor;
    int node;
    double ref2 = 0, err_int = 0, err_sim[2] = {0, 0};
    int64_t equal[2] = {0, 0}, count = 0;
  };
  std::vector<Layer> layers;
};

double db(double sig, double err) { return err > 0 ? 10.0 * std::log10(sig / err) : 200.0; }

// The images as compare_int8 sees them: the model's normalisation, in data set order, in
// batches of kBatch (the float model's last bits depend on the batch).
std::vector<Tensor> normalised(const Model& m, const DatasetArrays& pixels) {
  LoaderOptions lo;
  lo.batch = kBatch;
  lo.shuffle = false;
  const InputNormalisation norm = read_input_normalisation(m).per_channel(m.spec().in_c);
  lo.mean = norm.mean;
  lo.std = norm.std;
  BatchLoader loader(memory_dataset(pixels, "pixels"), lo);
  loader.start_epoch(0);
  std::vector<Tensor> batches;
  for (Batch b; loader.next(b);) batches.push_back(b.images);
  return batches;
}

// A random model's logits hardly move with the image, one class wins them all: centre each
// class's logit on the set (through fc2's bias) so that the image decides.
void centre_logits(Model& m, const std::vector<Tensor>& batches) {
  Tensor& bias = m.param("fc2.bias");
  std::vector<double> mean(bias.data.size(), 0.0);
  Net net(m);
  for (const Tensor& b : batches) {
    const Tensor& logits = net.forward(b, RunCtx{});
    for (int64_t i = 0; i < logits.numel(); ++i) mean[size_t(i) % mean.size()] += logits.data[size_t(i)] / kImages;
  }
  for (size_t k = 0; k < mean.size(); ++k) bias.data[k] -= float(mean[k]);
}

struct TinySet {
  ArchSpec spec = test::small_flynet();
  DatasetArrays pixels = random_pixels(kImages, 16, 43);
  Model m = test::random_bn_model(spec, 41);
  std::vector<Tensor> batches = normalised(m, pixels);
  IntGraph g;
  Hand hand;

  TinySet() {
    centre_logits(m, batches);
    g = test::calibrated_int8(m, batches);
    Net net(m);
    IntRunner ref(g, /*keep_all_tensors=*/true);
    FakeQuantSim sim[2] = {FakeQuantSim(g, SimArithmetic::integer), FakeQuantSim(g, SimArithmetic::real)};
    for (size_t t = 0; t < g.tensors.size(); ++t) {
      const int node = m.graph.find(g.tensors[t].name);
      if (!g.tensors[t].constant() && node >= 0) hand.layers.push_back({int32_t(t), node});
    }
    const IntTensor& in = g.tensors[size_t(g.input)];
    const int K = int(g.tensors[size_t(g.output)].numel());
    for (const Tensor& batch : batches) {
      const Tensor& logits = net.forward(batch, RunCtx{});
      const int n = int(batch.shape[0]);
      const int64_t px = batch.numel() / n;
      for (int i = 0; i < n; ++i) {
        hand.float_top.push_back(first_max(logits.data, size_t(i * K), size_t(K)));
        const std::vector<int8_t> x = test::quantize_pixels(in, batch.ptr() + i * px, px);
        std::vector<int8_t> y(static_cast<size_t>(K));
        ref.run(x.data(), y.data());
        hand.int_top.push_back(first_max(y, 0, size_t(K)));
        for (int k = 0; k < 2; ++k) {
          sim[k].run(x.data());
          hand.sim_top[k].push_back(first_max(sim[k].codes(g.output), 0, size_t(K)));
        }
        for (Hand::Layer& L : hand.layers) {
          const IntTensor& T = g.tensors[size_t(L.tensor)];
          const Tensor& f = net.output(L.node);
          const int64_t per = f.numel() / n;
          for (int64_t e = 0; e < per; ++e) {
            const double want = f.data[size_t(i * per + e)];
            const int8_t code = ref.tensor(L.tensor)[e];
            L.ref2 += want * want;
            L.err_int += std::pow((code - T.zero_point) * T.scale - want, 2);
            for (int k = 0; k < 2; ++k) {
              const int32_t q = sim[k].codes(L.tensor)[size_t(e)];
              L.err_sim[k] += std::pow((q - T.zero_point) * T.scale - want, 2);
              L.equal[k] += q == code;
            }
          }
          L.count += per;
        }
      }
    }
    EXPECT_EQ(int(hand.float_top.size()), kImages);
    // Labels: the float model's top-1 on even images, another class on odd ones.
    for (int i = 0; i < kImages; ++i)
      pixels.labels[size_t(i)] = int32_t(i % 2 == 0 ? hand.float_top[size_t(i)] : (hand.float_top[size_t(i)] + 1) % K);
  }

  std::shared_ptr<const Dataset> data() const { return memory_dataset(pixels, "pixels", 10); }
  double share(int n, const std::function<bool(int)>& counted) const {
    int c = 0;
    for (int i = 0; i < n; ++i) c += counted(i);
    return double(c) / n;
  }
  int64_t label(int i) const { return pixels.labels[size_t(i)]; }
};

TEST(Compare, CountsAndLayerSqnrAreTheHandComputedOnes) {
  TinySet s;
  CompareOptions o;
  o.batch = kBatch;  // batches of 4, 4, 4, 2 over two threads
  std::vector<std::pair<int64_t, int64_t>> progress;
  const CompareReport r = compare_int8(s.m, s.g, s.data(), o, [&](int64_t d, int64_t t) { progress.push_back({d, t}); });
  const Hand& h = s.hand;
  std::printf("  %lld images: top-1 float %.3f, int8 %.3f, simulations %.3f / %.3f; int8 agrees with float on %.3f\n",
              (long long)r.count, r.top1_float, r.top1_int, r.sim ? r.sim->top1 : -1, r.ideal ? r.ideal->top1 : -1,
              r.agree_int_float);
  EXPECT_EQ(r.count, kImages);
  EXPECT_EQ(r.top1_float, 0.5);
  EXPECT_EQ(r.top1_int, s.share(kImages, [&](int i) { return h.int_top[size_t(i)] == s.label(i); }));
  EXPECT_EQ(r.agree_int_float, s.share(kImages, [&](int i) { return h.int_top[size_t(i)] == h.float_top[size_t(i)]; }));
  ASSERT_TRUE(r.sim.has_value());
  ASSERT_TRUE(r.ideal.has_value());
  for (int k = 0; k < 2; ++k) {
    SCOPED_TRACE(k == 0 ? "integer simulation" : "real simulation");
    const SimFigures& f = k == 0 ? *r.sim : *r.ideal;
    const std::vector<int64_t>& top = h.sim_top[k];
    EXPECT_EQ(f.top1, s.share(kImages, [&](int i) { return top[size_t(i)] == s.label(i); }));
    EXPECT_EQ(f.agree_int, s.share(kImages, [&](int i) { return top[size_t(i)] == h.int_top[size_t(i)]; }));
    EXPECT_EQ(f.agree_float, s.share(kImages, [&](int i) { return top[size_t(i)] == h.float_top[size_t(i)]; }));
  }
  EXPECT_EQ(r.sim->agree_int, 1.0);  // the integer simulation is the reference, code for code
  // Not a trivial set: int8 and float part on some images, so do the two simulations.
  EXPECT_LT(r.agree_int_float, 1.0);
  EXPECT_LT(r.ideal->agree_int, 1.0);

  ASSERT_EQ(r.layers.size(), h.layers.size());
  for (size_t L = 0; L < h.layers.size(); ++L) {
    const Hand::Layer& w = h.layers[L];
    const LayerSqnr& got = r.layers[L];
    SCOPED_TRACE(got.tensor);
    EXPECT_EQ(got.tensor, s.g.tensors[size_t(w.tensor)].name);
    // Summed here in one order, there per thread: the same to rounding.
    EXPECT_NEAR(got.int_vs_float, db(w.ref2, w.err_int), 1e-9);
    ASSERT_TRUE(got.sim.has_value());
    ASSERT_TRUE(got.ideal.has_value());
    EXPECT_NEAR(got.sim->sqnr_db, db(w.ref2, w.err_sim[0]), 1e-9);
    EXPECT_NEAR(got.ideal->sqnr_db, db(w.ref2, w.err_sim[1]), 1e-9);
    EXPECT_EQ(got.sim->equal_int, double(w.equal[0]) / double(w.count));
    EXPECT_EQ(got.ideal->equal_int, double(w.equal[1]) / double(w.count));
  }
  EXPECT_GT(h.layers.size(), 50u);

  const std::vector<std::pair<int64_t, int64_t>> want_progress{{4, 14}, {8, 14}, {12, 14}, {14, 14}};
  EXPECT_EQ(progress, want_progress);
}

TEST(Compare, SampleLimitAndWhatCanBeLeftOut) {
  TinySet s;
  CompareOptions o;
  o.samples = 5;
  o.batch = kBatch;
  o.simulate = false;
  o.per_layer = false;
  const CompareReport r = compare_int8(s.m, s.g, s.data(), o);
  const Hand& h = s.hand;
  EXPECT_EQ(r.count, 5);
  EXPECT_EQ(r.top1_float, 0.6);  // images 0, 2, 4
  EXPECT_EQ(r.top1_int, s.share(5, [&](int i) { return h.int_top[size_t(i)] == s.label(i); }));
  EXPECT_EQ(r.agree_int_float, s.share(5, [&](int i) { return h.int_top[size_t(i)] == h.float_top[size_t(i)]; }));
  EXPECT_FALSE(r.sim.has_value());
  EXPECT_FALSE(r.ideal.has_value());
  EXPECT_TRUE(r.layers.empty());

  o.samples = 1000;  // more than the set holds: all of it
  o.per_layer = true;
  const CompareReport all = compare_int8(s.m, s.g, s.data(), o);
  EXPECT_EQ(all.count, kImages);
  ASSERT_EQ(all.layers.size(), h.layers.size());
  EXPECT_FALSE(all.layers[0].sim.has_value());
  EXPECT_FALSE(all.layers[0].ideal.has_value());
}

TEST(Compare, ImagesOfAnotherShapeAreAShapeErrorNamingTheSet) {
  TinySet s;
  try {
    compare_int8(s.m, s.g, memory_dataset(random_pixels(3, 8, 1), "small.h5"), {});
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::shape);
    EXPECT_EQ(e.message(), "data set images are 8x8x1, the model takes 16x16x1 (small.h5)");
  }
}

TEST(Compare, QuantizeInputRoundsAndClamps) {
  TinySet s;
  const IntTensor& in = s.g.tensors[size_t(s.g.input)];
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-4.f, 5.f);  // beyond [-1, 2]: both clamps
  std::vector<float> x(size_t(in.numel()));
  for (float& v : x) v = u(rng);
  std::vector<int8_t> got(x.size());
  quantize_input(s.g, x.data(), got.data());
  EXPECT_EQ(got, test::quantize_pixels(in, x.data(), int64_t(x.size())));
  EXPECT_NE(std::count(got.begin(), got.end(), int8_t(-128)), 0);
  EXPECT_NE(std::count(got.begin(), got.end(), int8_t(127)), 0);
}

}  // namespace
}  // namespace flynet
