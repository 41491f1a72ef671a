// Cross-layer equalization: which pairs qualify, that the float function is unchanged, that
// the per-channel weight ranges end up balanced, and that per-tensor int8 gains from it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "flynet/core/fold_bn.hpp"
#include "flynet/core/net.hpp"
#include "flynet/formats/error.hpp"
#include "flynet/quant/calibrate.hpp"
#include "flynet/quant/equalize.hpp"
#include "flynet/quant/int_runner.hpp"
#include "flynet/quant/quantize.hpp"
#include "quant_fixtures.hpp"

namespace flynet {
namespace {

ArchSpec small() { return test::small_flynet(); }
ArchSpec mobilenet() { return test::small_mobilenet(); }

// Random BN statistics; with `spread`, conv outputs scaled per channel by up to 10x either way,
// so the channels of a pair are far from balanced.
Model make_model(const ArchSpec& spec, uint64_t seed, bool spread = true) {
  return test::random_bn_model(spec, seed, {.spread = spread});
}

std::vector<std::string> names(const std::vector<EqualizePair>& pairs) {
  std::vector<std::string> v;
  for (const EqualizePair& p : pairs) v.push_back(p.first + ">" + p.second);
  return v;
}

TEST(Equalize, FlyNetPairsAreTheReluExpansionsOnly) {
  // FlyNet-h3 0.5x 28x28: b0 has no expansion conv (8 -> 8), b3.. use hard-swish, every MDW
  // is followed by VA-ECA, so only b1 and b2's expansion -> MDW pairs qualify.
  const Graph g = build_graph(arch_preset("flynet-h3"));
  const auto pairs = equalizable_pairs(g);
  EXPECT_EQ(names(pairs), (std::vector<std::string>{"b1.exp>b1.mdw", "b2.exp>b2.mdw"}));
  for (const EqualizePair& p : pairs) {
    EXPECT_EQ(p.group, 1);
    EXPECT_EQ(p.rescaled, (std::vector<std::string>{p.first, p.first + ".bn", p.first + ".act"}));
  }
}

TEST(Equalize, WithoutGatesMaxOutPassesWithOneScalePerHeadGroup) {
  ArchSpec s = arch_preset("flynet-h3");
  s.gate = Gate::none;
  const auto pairs = equalizable_pairs(build_graph(s));
  std::vector<std::string> want{"b0.mdw>b0.proj", "b1.exp>b1.mdw", "b1.mdw>b1.proj", "b2.exp>b2.mdw", "b2.mdw>b2.proj"};
  for (int b = 3; b < 11; ++b) want.push_back("b" + std::to_string(b) + ".mdw>b" + std::to_string(b) + ".proj");
  EXPECT_EQ(names(pairs), want);
  for (const EqualizePair& p : pairs)
    if (p.first.ends_with(".mdw")) {
      EXPECT_EQ(p.group, 3);
      EXPECT_EQ(p.rescaled.back(), p.first.substr(0, p.first.size() - 4) + ".reduce");
    }
  // Funnel max-out also reads U (the expansion output) and max(U, z / s) != max(U, z) / s.
  s.reduce = Reduce::funnel_maxout;
  EXPECT_TRUE(equalizable_pairs(build_graph(s)).empty());
}

TEST(Equalize, MobileNetPairs) {
  // b0: ReLU, but its output also feeds the SE branch; b1, b2: ReLU without SE; b3..: hard-swish.
  // Each SE's fc1 -> ReLU -> fc2 qualifies too (fc2 is followed by hard-sigmoid: not further).
  const auto pairs = names(equalizable_pairs(build_graph(mobilenet())));
  for (const std::string& p : pairs) std::printf("  %s\n", p.c_str());
  for (const char* p : {"b1.exp>b1.dw", "b1.dw>b1.proj", "b2.exp>b2.dw", "b2.dw>b2.proj", "b0.se.fc1>b0.se.fc2",
                        "b3.se.fc1>b3.se.fc2"})
    EXPECT_NE(std::find(pairs.begin(), pairs.end(), p), pairs.end()) << p;
  for (const std::string& p : pairs) {
    EXPECT_FALSE(p.starts_with("b0.dw>")) << p;
    EXPECT_FALSE(p.starts_with("b3.exp>")) << p;
    EXPECT_FALSE(p.starts_with("stem>")) << p;
  }
}

// The logits of a model before and after equalization: the same within 1e-4 relative.
void expect_same_function(const ArchSpec& spec, uint64_t seed) {
  Model m = make_model(spec, seed);
  const std::vector<Tensor> images = test::random_images(spec, 1, 8, seed + 1);
  Tensor before;
  {
    Net net(m);
    before = net.forward(images[0], RunCtx{});
  }
  const EqualizeResult r = equalize(m);
  ASSERT_FALSE(r.pairs.empty());
  Net net(m);
  const Tensor& after = net.forward(images[0], RunCtx{});
  double worst = 0, ref = 0;
  for (size_t i = 0; i < before.data.size(); ++i) {
    worst = std::max(worst, std::fabs(double(after.data[i]) - double(before.data[i])));
    ref = std::max(ref, std::fabs(double(before.data[i])));
  }
  // The scales really moved weights: a no-op would pass the comparison trivially.
  double moved = 0;
  for (const auto& s : r.scales)
    for (double v : s) moved = std::max(moved, std::fabs(std::log(v)));
  std::printf("  %s: %zu pairs, %d sweeps, largest |log s| %.2f, logits max rel. change %.2e\n", spec.summary().c_str(),
              r.pairs.size(), r.sweeps, moved, worst / ref);
  EXPECT_GT(moved, 0.5);
  EXPECT_LE(worst, 1e-4 * ref);
}

TEST(Equalize, LeavesTheFloatFunctionUnchanged) {
  expect_same_function(small(), 1);
  ArchSpec s = small();
  s.gate = Gate::none;
  expect_same_function(s, 2);
  s.reduce = Reduce::sum_relu;
  expect_same_function(s, 3);
  s = small();
  s.residual = Residual::dw_pw;
  expect_same_function(s, 4);
  expect_same_function(mobilenet(), 5);
}

// max |w| per channel of the BN-folded weights, computed here from the OIHW layout directly.
std::vector<double> out_ranges(const Model& m, const std::string& node) {
  const FoldedConv f = fold_node(m, m.graph.find(node));
  const int64_t oc = f.weight.shape[0], per = f.weight.numel() / oc;
  std::vector<double> r(size_t(oc), 0.0);
  for (int64_t o = 0; o < oc; ++o)
    for (int64_t i = 0; i < per; ++i) r[size_t(o)] = std::max(r[size_t(o)], std::fabs(double(f.weight.data[size_t(o * per + i)])));
  return r;
}

// Nagel et al.'s per-tensor "precision" of a layer: mean over channels of range / largest range.
double precision(const std::vector<double>& r) {
  const double mx = *std::max_element(r.begin(), r.end());
  double s = 0;
  for (double v : r) s += v / mx;
  return s / double(r.size());
}

TEST(Equalize, BalancesTheRangesOfEachPair) {
  Model m = make_model(small(), 6);
  // b1: exp (C channels) -> MDW with h = 3 heads per channel, channel c*h + j reading c.
  const int h = m.spec().heads;
  const std::vector<double> e0 = out_ranges(m, "b1.exp"), d0 = out_ranges(m, "b1.mdw");
  equalize(m);
  const std::vector<double> e1 = out_ranges(m, "b1.exp"), d1 = out_ranges(m, "b1.mdw");
  std::vector<double> heads0(e0.size(), 0.0), heads1(e0.size(), 0.0);
  for (size_t o = 0; o < d0.size(); ++o) {
    heads0[o / size_t(h)] = std::max(heads0[o / size_t(h)], d0[o]);
    heads1[o / size_t(h)] = std::max(heads1[o / size_t(h)], d1[o]);
  }
  for (size_t c = 0; c < e0.size(); ++c) {
    // Equal ranges on both sides, at the geometric mean of the ranges before.
    EXPECT_NEAR(e1[c] / heads1[c], 1.0, 1e-5) << c;
    EXPECT_NEAR(e1[c], std::sqrt(e0[c] * heads0[c]), 1e-5 * e1[c]) << c;
  }
  std::printf("  precision b1.exp %.3f -> %.3f, b1.mdw %.3f -> %.3f\n", precision(e0), precision(e1), precision(d0),
              precision(d1));
  EXPECT_GT(precision(e1) + precision(d1), precision(e0) + precision(d0));
}

TEST(Equalize, ChainsConvergeToBalance) {
  // exp -> dw -> proj share dw: one sweep unbalances the other pair, sweeps repeat until stable.
  Model m = make_model(mobilenet(), 7);
  const EqualizeResult r = equalize(m);
  EXPECT_GT(r.sweeps, 1);
  EXPECT_LT(r.sweeps, EqualizeOptions{}.max_sweeps);
  std::vector<double> r1, r2;
  for (const EqualizePair& p : r.pairs) {
    pair_ranges(m, p, r1, r2);
    for (size_t c = 0; c < r1.size(); ++c) {
      if (r1[c] > 0 && r2[c] > 0) {
        EXPECT_NEAR(r1[c] / r2[c], 1.0, 1e-3) << p.first << " -> " << p.second << " " << c;
      }
    }
  }
}

// ||int8 logits - float logits|| / ||float logits|| over the images.
double logit_error(Model& m, const Calibration& cal, const std::vector<Tensor>& images, const QuantizeOptions& q) {
  return test::int8_vs_float(m, lower_to_int8(m, cal, q), images).rel_err;
}

// Unbalances every pair of `m` without changing its function: A's channel c times f_c (through
// its BN), B's input channel c divided by f_c, f_c = 10^U(-1.5, 1.5). B is a depthwise conv
// (output o reads input o / multiplier) or a 1x1 conv.
void unbalance(Model& m, uint64_t seed) {
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::uniform_real_distribution<double> expo(-1.5, 1.5);
  for (const EqualizePair& p : equalizable_pairs(m.graph)) {
    std::vector<double> f(size_t(p.channels));
    for (double& v : f) v = std::pow(10.0, expo(rng));
    for (const char* k : {".bn.gamma", ".bn.beta"}) {
      Tensor& t = m.param(p.first + k);
      for (size_t o = 0; o < t.data.size(); ++o) t.data[o] = float(t.data[o] * f[o / size_t(p.group)]);
    }
    const Node& b = m.graph.nodes[size_t(m.graph.find(p.second))];
    Tensor& w = m.param(p.second + ".weight");
    const int64_t per = w.numel() / b.cout;
    for (int64_t o = 0; o < b.cout; ++o)
      for (int64_t i = 0; i < per; ++i) {
        const int64_t c = b.groups == b.cin ? o / (b.cout / b.cin) : i;  // depthwise : 1x1
        w.data[size_t(o * per + i)] = float(w.data[size_t(o * per + i)] / f[size_t(c)]);
      }
  }
}

TEST(Equalize, HelpsPerTensorWeightsAndRemeasuresOnlyTheRescaledRanges) {
  ArchSpec spec = small();
  spec.gate = Gate::none;  // every block's MDW -> projection qualifies as well
  Model m = make_model(spec, 8, false);
  unbalance(m, 11);
  const std::vector<Tensor> images = test::random_images(spec, 3, 8, 9);
  const BatchSource batches = test::batches_of(images);
  Calibration cal = calibrate(m, batches, {}).calibration;
  QuantizeOptions per_tensor;
  per_tensor.per_tensor = true;
  const double before = logit_error(m, cal, images, per_tensor);

  const Calibration old = cal;
  const EqualizeResult r = equalize(m);
  remeasure_ranges(m, r, cal, batches);
  const Calibration fresh = calibrate(m, batches, {}).calibration;
  std::set<std::string> rescaled;
  for (const EqualizePair& p : r.pairs) rescaled.insert(p.rescaled.begin(), p.rescaled.end());
  int changed = 0;
  for (const auto& [name, range] : cal.ranges) {
    const TensorRange& want = rescaled.count(name) ? fresh.ranges.at(name) : old.ranges.at(name);
    EXPECT_EQ(range.min, want.min) << name;
    EXPECT_EQ(range.max, want.max) << name;
    changed += range.max != old.ranges.at(name).max;
  }
  EXPECT_GT(changed, 0);
  const double after = logit_error(m, cal, images, per_tensor);
  std::printf("  per-tensor int8 logit error %.4f -> %.4f with equalization\n", before, after);
  EXPECT_LT(after, 0.7 * before);
}

// A percentile calibration keeps its setting through the model file, and re-measuring after
// equalization uses it (not the default 99.99): the re-measured ranges are those of a fresh
// calibration at the same percentile.
TEST(Equalize, RemeasuresWithTheStoredPercentile) {
  ArchSpec spec = small();
  spec.gate = Gate::none;
  Model m = make_model(spec, 8, false);
  unbalance(m, 12);
  const std::vector<Tensor> images = test::random_images(spec, 3, 8, 10);
  const BatchSource batches = test::batches_of(images);
  CalibrateOptions co;
  co.method = CalibMethod::percentile;
  co.percentile = 99.0;
  store_calibration(m, calibrate(m, batches, co));
  Calibration cal = read_calibration(m, "model.h5");
  EXPECT_EQ(cal.state.percentile, 99.0);

  const EqualizeResult r = equalize(m);
  remeasure_ranges(m, r, cal, batches);
  const Calibration same = calibrate(m, batches, co).calibration;
  const Calibration dflt = calibrate(m, batches, {CalibMethod::percentile}).calibration;
  int differs_from_default = 0;
  for (const EqualizePair& p : r.pairs)
    for (const std::string& name : p.rescaled) {
      EXPECT_EQ(cal.ranges.at(name).max, same.ranges.at(name).max) << name;
      EXPECT_EQ(cal.ranges.at(name).min, same.ranges.at(name).min) << name;
      differs_from_default += cal.ranges.at(name).max != dflt.ranges.at(name).max;
    }
  EXPECT_GT(differs_from_default, 0);
}

TEST(Equalize, RefusesQuantizationTrainedModels) {
  for (const auto& [key, value] : {std::pair{"train.weight_levels", "8"}, {"train.act_bits", "8"}, {"train.bn_folded", "1"}}) {
    Model m = make_model(small(), 10);
    m.meta[key] = value;
    try {
      equalize(m);
      ADD_FAILURE() << key << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::unsupported);
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace flynet
