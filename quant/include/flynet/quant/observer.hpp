// Activation range observers for calibration. A TensorObserver sees every batch of one tensor
// twice: pass 1 tracks min/max (and the EMA of per-batch min/max), pass 2 fills a histogram
// over the pass-1 range; choose_range() then applies one of five methods:
//   minmax      the observed extremes
//   ema         exponential moving average of per-batch extremes (TF QAT's, momentum 0.1)
//   percentile  the p-th and (100-p)-th percentiles of the histogram
//   kl          the range whose int8 histogram has the least KL divergence to the observed one
//               (TensorRT's entropy calibration, generalised to asymmetric ranges)
//   mse         the range with the least expected squared quantize-dequantize error
// kl and mse search each end of the range between 1/16 and all of the observed extreme.
#ifndef FLYNET_QUANT_OBSERVER_HPP_
#define FLYNET_QUANT_OBSERVER_HPP_

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "flynet/core/model_state.hpp"

namespace flynet {

// CalibMethod and kCalibChoices live with the CalibrationState that records them
// (flynet/core/model_state.hpp).

struct RangeChoice {
  float min = 0.f, max = 0.f;
  double clipped_fraction = 0;  ///< share of observed values outside [min, max]
  double mse = 0;               ///< expected quantize-dequantize squared error over the histogram
  double sqnr_db = 0;           ///< 10 log10(E[x^2] / mse)
};

class TensorObserver {
 public:
  static constexpr int kBins = 8192;  // 32 bins per int8 step over the full range
  explicit TensorObserver(float ema_momentum = 0.1f) : momentum_(ema_momentum) {}

  /// Pass 1: one batch's values.
  void observe_range(const float* x, int64_t n);
  /// Pass 2: fills the histogram over [min, max] of pass 1 (values outside are clamped).
  void observe_histogram(const float* x, int64_t n);

  float min() const { return min_; }
  float max() const { return max_; }
  float ema_min() const { return ema_min_; }
  float ema_max() const { return ema_max_; }
  const std::vector<double>& histogram() const { return hist_; }
  bool has_histogram() const { return hist_total_ > 0; }

  /// Applies a method; percentile is in (50, 100]. Methods other than minmax/ema need pass 2.
  RangeChoice choose_range(CalibMethod m, double percentile = 99.99) const;
  /// Clipping statistics of an arbitrary range over this tensor's histogram.
  RangeChoice evaluate(float lo, float hi) const;

 private:
  double kl_score(float lo, float hi) const;
  double bin_width() const { return (double(max_) - min_) / kBins; }
  float momentum_;
  bool seen_ = false;
  float min_ = 0.f, max_ = 0.f, ema_min_ = 0.f, ema_max_ = 0.f;
  std::vector<double> hist_;
  double hist_total_ = 0;
};

/// KL(p || q) of two histograms of equal length (normalised inside; bins where p = 0 add 0,
/// bins where p > 0 and q = 0 are given q = epsilon, as TensorRT does).
double kl_divergence(const std::vector<double>& p, const std::vector<double>& q);

}  // namespace flynet

#endif  // FLYNET_QUANT_OBSERVER_HPP_
