// calibrate(): the ranges recorded for a small FlyNet on a few random batches against the
// extremes of the float activations found another way (every node output the network keeps,
// read after each batch; the VA-ECA descriptor and gate logits from their definition, in
// double), the int8 grid of those extremes, the histogram mass; storing and reading back;
// ranges a QAT-trained model brings along; the loader settings; the errors.
#include "flynet/quant/calibrate.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>

#include "flynet/core/net.hpp"
#include "flynet/core/qat.hpp"
#include "flynet/formats/error.hpp"
#include "quant_fixtures.hpp"

namespace flynet {
namespace {

struct Extremes {
  double min = std::numeric_limits<double>::infinity(), max = -std::numeric_limits<double>::infinity();
  int64_t count = 0;
  void add(double v) {
    min = std::min(min, v);
    max = std::max(max, v);
    ++count;
  }
};

// Per image and head-channel q of the VA-ECA input z [N, H, W, Q]: mean and population std
// (with the layer's epsilon) over the pixels, then the k-tap conv across the E = Q / h channels
// of each head, w[t] on the means and w[k + t] on the stds, zero padded.
void va_eca_extremes(const Node& n, const Tensor& z, const Tensor& w, Extremes& mean, Extremes& sd, Extremes& logit) {
  const int64_t N = z.shape[0], P = z.shape[1] * z.shape[2], Q = z.shape[3], h = n.heads, E = Q / h, k = n.eca_k;
  for (int64_t b = 0; b < N; ++b) {
    std::vector<double> mu(static_cast<size_t>(Q)), sigma(static_cast<size_t>(Q));
    for (int64_t q = 0; q < Q; ++q) {
      double s = 0, s2 = 0;
      for (int64_t p = 0; p < P; ++p) {
        const double v = z.data[size_t((b * P + p) * Q + q)];
        s += v;
        s2 += v * v;
      }
      mu[size_t(q)] = s / double(P);
      sigma[size_t(q)] = std::sqrt(std::max(0.0, s2 / double(P) - mu[size_t(q)] * mu[size_t(q)]) + 1e-5);  // design 3.3
      mean.add(mu[size_t(q)]);
      sd.add(sigma[size_t(q)]);
    }
    for (int64_t c = 0; c < E; ++c)
      for (int64_t j = 0; j < h; ++j) {
        double acc = 0;
        for (int64_t t = 0; t < k; ++t) {
          const int64_t cc = c + t - (k - 1) / 2;
          if (cc >= 0 && cc < E)
            acc += double(w.data[size_t(t)]) * mu[size_t(cc * h + j)] + double(w.data[size_t(k + t)]) * sigma[size_t(cc * h + j)];
        }
        logit.add(acc);
      }
  }
}

// What a calibration of `m` over `images` must find: per recorded name, the extremes.
std::map<std::string, Extremes> extremes(Model& m, const std::vector<Tensor>& images) {
  std::map<std::string, Extremes> e;
  Net net(m);
  for (const Tensor& batch : images) {
    net.forward(batch, RunCtx{});
    for (size_t i = 1; i < m.graph.nodes.size(); ++i) {  // node 0 is the input
      const Node& n = m.graph.nodes[i];
      if (n.op == OpKind::dropout) continue;
      Extremes& x = e[n.name];
      for (float v : net.output(int(i)).data) x.add(v);
      if (n.op == OpKind::va_eca)
        va_eca_extremes(n, net.output(n.inputs[0]), m.param(n.name + ".weight"), e[n.name + ":mean"],
                        e[n.name + ":std"], e[n.name + ":logit"]);
    }
  }
  return e;
}

// The int8 grid of [lo, hi] widened to hold 0 (int8-semantics: asymmetric, 256 codes): scale
// (hi - lo) / 255, zero point -128 - lo / scale rounded, the range of codes -128..127.
TensorRange int8_grid(double lo, double hi) {
  lo = std::min(lo, 0.0);
  hi = std::max(hi, 0.0);
  const double scale = (hi - lo) / 255.0;
  const double zp = std::clamp(std::round(-128.0 - lo / scale), -128.0, 127.0);
  return TensorRange{float((-128.0 - zp) * scale), float((127.0 - zp) * scale)};
}

struct Calibrated {
  Model m = test::random_bn_model(test::small_flynet(), 31);
  std::vector<Tensor> images = test::random_images(test::small_flynet(), 3, 4, 32);
};

TEST(Calibrate, MinMaxRecordsTheExtremesOfEveryTensorOnItsInt8Grid) {
  Calibrated c;
  const CalibrationReport r = calibrate(c.m, test::batches_of(c.images), {});
  const std::map<std::string, Extremes> want = extremes(c.m, c.images);
  EXPECT_EQ(r.samples, 12);
  EXPECT_EQ(r.calibration.state.method_name(), "minmax");
  ASSERT_EQ(r.tensors.size(), want.size());
  ASSERT_EQ(r.calibration.ranges.size(), want.size());
  int internals = 0;
  for (const TensorCalibration& t : r.tensors) {
    SCOPED_TRACE(t.name);
    ASSERT_TRUE(want.count(t.name));
    const Extremes& e = want.at(t.name);
    // The histogram pass widens the observed range to hold 0, as the int8 grid does.
    const double lo = std::min(e.min, 0.0), hi = std::max(e.max, 0.0);
    if (t.name.find(':') == std::string::npos) {
      EXPECT_EQ(t.observed_min, float(lo));
      EXPECT_EQ(t.observed_max, float(hi));
    } else {  // computed here in double, in the layer in float
      ++internals;
      EXPECT_NEAR(t.observed_min, lo, 1e-5 * std::max(1.0, std::fabs(lo)));
      EXPECT_NEAR(t.observed_max, hi, 1e-5 * std::max(1.0, std::fabs(hi)));
    }
    const TensorRange grid = int8_grid(t.observed_min, t.observed_max);
    const double step = (double(t.observed_max) - t.observed_min) / 255.0;
    EXPECT_NEAR(t.chosen.min, grid.min, 1e-4 * step);
    EXPECT_NEAR(t.chosen.max, grid.max, 1e-4 * step);
    EXPECT_EQ(r.calibration.ranges.at(t.name).min, t.chosen.min);
    EXPECT_EQ(r.calibration.ranges.at(t.name).max, t.chosen.max);
    ASSERT_EQ(t.histogram.size(), size_t(TensorObserver::kBins));
    EXPECT_EQ(std::accumulate(t.histogram.begin(), t.histogram.end(), 0.0), double(e.count));
  }
  // FlyNet-h3 has 11 blocks, each with one VA-ECA: mean, std and logits of each.
  EXPECT_EQ(internals, 33);
}

TEST(Calibrate, StoredCalibrationReadsBackAndReplacesTheLastOne) {
  Calibrated c;
  CalibrateOptions pct;
  pct.method = CalibMethod::percentile;
  pct.percentile = 99.5;
  store_calibration(c.m, calibrate(c.m, test::batches_of(c.images), pct));
  const CalibrationReport r = calibrate(c.m, test::batches_of(c.images), {});
  store_calibration(c.m, r);
  EXPECT_EQ(c.m.meta.at("calib.method"), "minmax");
  EXPECT_EQ(c.m.meta.at("calib.samples"), "12");
  EXPECT_EQ(c.m.meta.count("calib.percentile"), 0u);  // the percentile run's setting is gone
  int records = 0;
  for (const TensorRecord& t : c.m.extra) records += t.name.rfind("calib.", 0) == 0;
  EXPECT_EQ(records, int(2 * r.tensors.size()));  // one range and one histogram each
  const Calibration back = read_calibration(c.m, "m.h5");
  EXPECT_EQ(back.state.method_name(), "minmax");
  ASSERT_EQ(back.ranges.size(), r.calibration.ranges.size());
  for (const auto& [name, range] : r.calibration.ranges) {
    EXPECT_EQ(back.ranges.at(name).min, range.min) << name;
    EXPECT_EQ(back.ranges.at(name).max, range.max) << name;
  }

  store_calibration(c.m, calibrate(c.m, test::batches_of(c.images), pct));
  const Calibration p = read_calibration(c.m, "m.h5");
  EXPECT_EQ(p.state.method_name(), "percentile");
  EXPECT_EQ(p.state.percentile, 99.5);
}

TEST(Calibrate, RangesOfAQuantizationTrainedModelAreKept) {
  Calibrated c;
  const CalibrationReport plain = calibrate(c.m, test::batches_of(c.images), {});
  const int node = c.m.graph.find("b2.exp.bn");
  ASSERT_GE(node, 0);
  std::vector<ActRange> trained(c.m.graph.nodes.size());
  trained[size_t(node)] = ActRange{-1.f, 3.f, true};
  store_act_ranges(c.m, trained);
  const CalibrationReport r = calibrate(c.m, test::batches_of(c.images), {});
  EXPECT_EQ(r.calibration.state.method_name(), "minmax+qat");
  const TensorRange grid = int8_grid(-1.0, 3.0);
  EXPECT_NEAR(r.calibration.ranges.at("b2.exp.bn").min, grid.min, 1e-6);
  EXPECT_NEAR(r.calibration.ranges.at("b2.exp.bn").max, grid.max, 1e-6);
  for (const auto& [name, range] : plain.calibration.ranges)
    if (name != "b2.exp.bn") {
      EXPECT_EQ(r.calibration.ranges.at(name).min, range.min) << name;
      EXPECT_EQ(r.calibration.ranges.at(name).max, range.max) << name;
    }
}

TEST(Calibrate, LoaderSettingsAreFixedAndNormaliseAsTheModelWasTrained) {
  const Model m = test::random_bn_model(test::small_flynet(), 1);
  const LoaderOptions lo = calibration_loader_options(m, 32);
  EXPECT_EQ(lo.batch, 32);
  EXPECT_TRUE(lo.shuffle);
  EXPECT_EQ(lo.seed, 12345u);
  ASSERT_EQ(lo.mean.size(), 1u);
  ASSERT_EQ(lo.std.size(), 1u);
  EXPECT_FLOAT_EQ(lo.mean[0], 1.f / 3);
  EXPECT_FLOAT_EQ(lo.std[0], 1.f / 3);
}

TEST(Calibrate, ErrorsNameTheProblem) {
  Model m = test::random_bn_model(test::small_flynet(), 1);
  try {
    calibrate(m, [](const auto&) {}, {});
    ADD_FAILURE() << "no images accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::usage);
    EXPECT_EQ(std::string(e.what()), "no calibration images");
  }
  try {
    read_calibration(m, "float.h5");
    ADD_FAILURE() << "an uncalibrated model read";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::format);
    EXPECT_EQ(e.message(), "model is not calibrated: run flynet calibrate first (float.h5)");
  }
  m.meta["calib.method"] = "percentile";
  m.meta["calib.percentile"] = "lots";
  try {
    read_calibration(m, "float.h5");
    ADD_FAILURE() << "a percentile that is not a number read";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::format);
    EXPECT_EQ(e.message(), "bad calib.percentile 'lots': not a number (float.h5)");
  }
}

}  // namespace
}  // namespace flynet
