// Calibration: runs the float model (eval mode, T = 1) over calibration images and records,
// for every tensor the int8 graph will hold, the observed range, a histogram and the range
// chosen by one of five methods (observer.hpp). VA-ECA nodes also get ranges for their
// descriptor (mean, std) and gate logits, computed from the node's input the way the int8
// kernels compute them.
//
//   CalibrateOptions o; o.method = CalibMethod::kl;
//   CalibrationReport r = calibrate(model, images, o);   // images: normalised NHWC batches
//   store_calibration(model, r);                        // into model.meta / model.extra
#ifndef FLYNET_QUANT_CALIBRATE_HPP_
#define FLYNET_QUANT_CALIBRATE_HPP_

#include <functional>
#include <string>
#include <vector>

#include "flynet/core/data.hpp"
#include "flynet/core/model.hpp"
#include "flynet/quant/observer.hpp"
#include "flynet/quant/quantize.hpp"

namespace flynet {

struct CalibrateOptions {
  CalibMethod method = CalibMethod::minmax;
  double percentile = 99.99;
};

struct TensorCalibration {
  std::string name;                ///< float node name (or "<va_eca>:mean|std|logit")
  float observed_min = 0, observed_max = 0;
  RangeChoice chosen;
  std::vector<double> histogram;   ///< TensorObserver::kBins bins over the observed range
};

struct CalibrationReport {
  Calibration calibration;                 ///< its state records the method, percentile and samples
  std::vector<TensorCalibration> tensors;
  int64_t samples = 0;
};

/// `batches()` is called twice (range pass, histogram pass) and must yield the same batches
/// each time: it calls `use(images)` for each normalised [n, H, W, C] batch.
using BatchSource = std::function<void(const std::function<void(const Tensor& images)>& use)>;

CalibrationReport calibrate(Model& model, const BatchSource& batches, const CalibrateOptions& opt);

/// The loader settings flynet calibrate measures with, on the training split: a fixed shuffle
/// (seed 12345; every class represented, the same images in both passes and in every run),
/// normalised as the model was trained. quantize's --equalize and --bias-correction take the
/// same first images.
LoaderOptions calibration_loader_options(const Model& model, int batch);

/// Stores ranges and histograms in the model (the CalibrationState in meta "calib.*",
/// model_state.hpp; extra tensors "calib.<name>") replacing any earlier calibration;
/// read_calibration() gives the Calibration back.
void store_calibration(Model& model, const CalibrationReport& r);
/// Throws Error{format} naming `file` if the model has no calibration.
Calibration read_calibration(const Model& model, const std::string& file);

/// `flynet calibrate`: a data set's training split as the calibration images.
struct CalibrateDataOptions {
  std::string data;        ///< data set path (open_dataset); its training split is used
  int64_t samples = 500;   ///< the first N images in calibration_loader_options' order (>= 1)
  int batch = 64;
  CalibrateOptions calibrate;  ///< method and percentile
};

/// Asked for a progress callback (done, total) as the measuring starts (after the data set is
/// open), so that a progress line's clock starts then; it counts images over both passes.
using CalibrateProgress = std::function<std::function<void(int64_t done, int64_t total)>(const std::string& stage)>;

/// Calibrates `model` on the first o.samples training images of o.data (both passes over the
/// same images) and stores the result in the model (store_calibration). Throws Error{shape}
/// naming the data set when its images do not fit the model's input, Error{usage} when
/// o.samples < 1, and what open_dataset throws.
CalibrationReport calibrate_model(Model& model, const CalibrateDataOptions& o, const CalibrateProgress& progress = {});

}  // namespace flynet

#endif  // FLYNET_QUANT_CALIBRATE_HPP_
