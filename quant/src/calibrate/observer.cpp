#include "flynet/quant/observer.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "flynet/core/fake_quant.hpp"
#include "flynet/formats/error.hpp"

namespace flynet {

namespace {
// Shrink factors tried by kl and mse: t = j / 128 for j = 8 .. 128 (at least 1/16 of the
// observed range, so a candidate still spans 512 histogram bins, 2 per int8 step, and the
// rounding loss stays visible to KL).
constexpr int kSteps = 128;
constexpr int kMinStep = 8;
}  // namespace

void TensorObserver::observe_range(const float* x, int64_t n) {
  if (n <= 0) return;
  float lo = std::numeric_limits<float>::infinity(), hi = -lo;
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) throw Error(ErrorCode::numeric, "non-finite activation during calibration");
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  if (!seen_) {
    min_ = ema_min_ = lo;
    max_ = ema_max_ = hi;
    seen_ = true;
    return;
  }
  min_ = std::min(min_, lo);
  max_ = std::max(max_, hi);
  ema_min_ = (1.f - momentum_) * ema_min_ + momentum_ * lo;
  ema_max_ = (1.f - momentum_) * ema_max_ + momentum_ * hi;
}

void TensorObserver::observe_histogram(const float* x, int64_t n) {
  if (hist_.empty()) {
    // The quantized range always contains 0; so does the histogram's.
    min_ = std::min(min_, 0.f);
    max_ = std::max(max_, 0.f);
    hist_.assign(kBins, 0.0);
  }
  const double w = bin_width();
  for (int64_t i = 0; i < n; ++i) {
    int b = w > 0 ? int((double(x[i]) - min_) / w) : 0;
    hist_[size_t(std::clamp(b, 0, kBins - 1))] += 1.0;
  }
  hist_total_ += double(n);
}

RangeChoice TensorObserver::evaluate(float lo, float hi) const {
  RangeChoice r;
  const ActQuant q = act_quant_params(lo, hi);
  r.min = (-128.f - float(q.zero_point)) * q.scale;
  r.max = (127.f - float(q.zero_point)) * q.scale;
  if (!has_histogram()) return r;
  const double w = bin_width();
  double err = 0, power = 0, clipped = 0;
  for (int b = 0; b < kBins; ++b) {
    const double c = hist_[size_t(b)];
    if (c == 0) continue;
    const float v = float(min_ + (b + 0.5) * w);
    float dq;
    fake_quant_act(&v, &dq, 1, q);
    err += c * (double(v) - dq) * (double(v) - dq);
    power += c * double(v) * v;
    if (v < r.min || v > r.max) clipped += c;
  }
  r.mse = err / hist_total_;
  r.clipped_fraction = clipped / hist_total_;
  r.sqnr_db = r.mse > 0 ? 10.0 * std::log10((power / hist_total_) / r.mse) : std::numeric_limits<double>::infinity();
  return r;
}

double kl_divergence(const std::vector<double>& p, const std::vector<double>& q) {
  double sp = 0, sq = 0;
  for (double v : p) sp += v;
  for (double v : q) sq += v;
  if (sp <= 0 || sq <= 0) return std::numeric_limits<double>::infinity();
  double kl = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] <= 0) continue;
    const double pi = p[i] / sp;
    const double qi = q[i] > 0 ? q[i] / sq : 1e-12;
    kl += pi * std::log(pi / qi);
  }
  return kl;
}

double TensorObserver::kl_score(float lo, float hi) const {
  // P: the observed histogram with the mass outside [lo, hi] folded onto its edge bins.
  // Q: the bins inside [lo, hi] only (the clipped mass is lost, which is what penalises
  // clipping), re-binned onto the candidate's 256 int8 levels, each level's mass spread
  // over the bins it covers that had observations (TensorRT's expansion).
  const double w = bin_width();
  const ActQuant q = act_quant_params(lo, hi);
  const int first = std::clamp(int((lo - min_) / w), 0, kBins - 1);
  const int last = std::clamp(int(std::ceil((hi - min_) / w)) - 1, first, kBins - 1);
  std::vector<double> p(size_t(last - first + 1), 0.0);
  for (int b = 0; b < kBins; ++b) p[size_t(std::clamp(b, first, last) - first)] += hist_[size_t(b)];
  const std::vector<double> inside(hist_.begin() + first, hist_.begin() + last + 1);
  std::vector<double> level_mass(256, 0.0), level_bins(256, 0.0);
  std::vector<int> level_of(p.size());
  for (size_t i = 0; i < p.size(); ++i) {
    const float v = float(min_ + (first + int(i) + 0.5) * w);
    const int l = std::clamp(int(std::round(v / q.scale)) + q.zero_point, -128, 127) + 128;
    level_of[i] = l;
    level_mass[size_t(l)] += inside[i];
    if (inside[i] > 0) level_bins[size_t(l)] += 1;
  }
  // Zero is exactly representable (it is the zero point), so the bin holding 0 keeps its own
  // mass instead of sharing its level's: post-ReLU maps put half their mass there, and smearing
  // that spike over the level would make every wide range look bad.
  const int zero_bin = std::clamp(int((0.0 - min_) / w), 0, kBins - 1) - first;
  if (zero_bin >= 0 && zero_bin < int(p.size()) && inside[size_t(zero_bin)] > 0) {
    const int l = level_of[size_t(zero_bin)];
    level_mass[size_t(l)] -= inside[size_t(zero_bin)];
    level_bins[size_t(l)] -= 1;
  }
  std::vector<double> qh(p.size(), 0.0);
  for (size_t i = 0; i < p.size(); ++i) {
    if (inside[i] <= 0) continue;
    qh[i] = int(i) == zero_bin ? inside[i] : level_mass[size_t(level_of[i])] / level_bins[size_t(level_of[i])];
  }
  return kl_divergence(p, qh);
}

RangeChoice TensorObserver::choose_range(CalibMethod m, double percentile) const {
  if (!seen_) throw Error(ErrorCode::internal, "calibration range chosen before any data was observed");
  switch (m) {
    case CalibMethod::minmax: return evaluate(min_, max_);
    case CalibMethod::ema: return evaluate(ema_min_, ema_max_);
    default: break;
  }
  if (!has_histogram()) throw Error(ErrorCode::internal, "calibration method needs the histogram pass");
  const double w = bin_width();
  if (w <= 0) return evaluate(min_, max_);

  if (m == CalibMethod::percentile) {
    if (!(percentile > 50 && percentile <= 100)) throw Error(ErrorCode::usage, "percentile must be in (50, 100]");
    const double lo_mass = (1.0 - percentile / 100.0) * hist_total_, hi_mass = percentile / 100.0 * hist_total_;
    double cum = 0;
    int lo_bin = 0, hi_bin = kBins - 1;
    bool lo_set = false;
    for (int b = 0; b < kBins; ++b) {
      cum += hist_[size_t(b)];
      if (!lo_set && cum > lo_mass) {
        lo_bin = b;
        lo_set = true;
      }
      if (cum >= hi_mass) {
        hi_bin = b;
        break;
      }
    }
    return evaluate(float(min_ + lo_bin * w), float(min_ + (hi_bin + 1) * w));
  }

  // kl and mse: the two ends are searched by coordinate descent (upper end with the lower
  // fixed, then the lower with the upper fixed, twice): shrinking both by one factor would
  // clip the short side of a skewed distribution.
  auto score = [&](float lo, float hi) { return m == CalibMethod::mse ? evaluate(lo, hi).mse : kl_score(lo, hi); };
  float best_lo = min_, best_hi = max_;
  double best_score = score(best_lo, best_hi);
  for (int round = 0; round < 2; ++round) {
    for (int side = 0; side < 2; ++side) {
      for (int j = kMinStep; j < kSteps; ++j) {
        const double t = double(j) / kSteps;
        const float lo = side ? float(min_ * t) : best_lo;
        const float hi = side ? best_hi : float(max_ * t);
        const double sc = score(lo, hi);
        if (sc < best_score) {
          best_score = sc;
          best_lo = lo;
          best_hi = hi;
        }
      }
    }
  }
  return evaluate(best_lo, best_hi);
}

}  // namespace flynet
