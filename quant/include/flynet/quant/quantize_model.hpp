// `flynet quantize` as a library function: a calibrated float model file -> its int8 graph
// (.q.h5), with the two optional improvements around the lowering (cross-layer equalization
// before it, bias correction after it, both on the calibration images of a data set) and, with
// a data set, float vs fake-quant vs int8 on its test split.
//
//   QuantizeModelOptions o; o.model = "m.cal.h5"; o.out = "m.q.h5"; o.data = "fashion-mnist";
//   QuantizeReport r = quantize_model(o);   // m.q.h5 written; r.comparison: the figures
#ifndef FLYNET_QUANT_QUANTIZE_MODEL_HPP_
#define FLYNET_QUANT_QUANTIZE_MODEL_HPP_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "flynet/quant/bias_correction.hpp"
#include "flynet/quant/compare.hpp"

namespace flynet {

struct QuantizeModelOptions {
  std::string model;        ///< the calibrated float model (.h5, flynet calibrate)
  std::string out;          ///< the int8 model (.q.h5)
  int32_t rounding = 1;     ///< QuantizeOptions::rounding (flynet_rounding)
  bool per_tensor = false;  ///< QuantizeOptions::per_tensor
  int weight_levels = -1;   ///< codes to keep: -1 what the model records (trained with weight levels), 0 none
  bool equalize = false;         ///< cross-layer equalization first (equalize.hpp); needs data
  bool bias_correction = false;  ///< bias correction of the lowered graph (bias_correction.hpp); needs data
  BiasCorrectionMode bias_mode = BiasCorrectionMode::int8;
  int64_t cal_samples = 0;  ///< training images for both; 0: as many as the calibration used
  std::string data;         ///< data set: training split for the improvements, test split for the comparison;
                            ///< empty: neither
  int64_t samples = 1000;   ///< test images of the comparison; 0: all
  bool simulate = true;     ///< CompareOptions::simulate
  int threads = 2;          ///< TBB threads of the integer runs
};

/// One pair the equalization rescaled, with Nagel et al.'s per-tensor precision of each side
/// (mean over channels of its range / its largest range: what equalization raises).
struct EqualizedPair {
  std::string first, second;                    ///< node names of A and B
  double scale_min = 0, scale_max = 0;          ///< the pair's per-channel scales s_c
  std::array<double, 2> precision_before{}, precision_after{};  ///< of A, of B
};

struct QuantizeEqualization {
  int sweeps = 0;
  int64_t images = 0;  ///< the images the rescaled ranges were measured on again
  std::vector<EqualizedPair> pairs;
};

struct QuantizeBiasCorrection {
  BiasCorrectionMode mode = BiasCorrectionMode::int8;
  BiasCorrectionReport run;
  double mean_abs_shift = 0;  ///< mean over the layers of their mean |shift|, in output LSBs
  double largest_shift = 0;   ///< the largest |shift| of a channel, and its layer (empty: no layers)
  std::string largest_layer;
};

/// A conv, depthwise or FC op's int8 weights as written.
struct QuantizedWeights {
  std::string op;        ///< the op (float node) name
  std::string tensor;    ///< its weight tensor
  int64_t bytes = 0;
  int32_t channels = 0;  ///< output channels = weight scales
  int32_t levels = 0;    ///< distinct codes per channel the graph records (IntTensor::levels; 0: full int8)
};

struct QuantizeReport {
  std::optional<QuantizeEqualization> equalization;      ///< with QuantizeModelOptions::equalize
  std::optional<QuantizeBiasCorrection> bias_correction;  ///< with QuantizeModelOptions::bias_correction
  size_t ops = 0, tensors = 0;
  int64_t weight_bytes = 0;  ///< int8 constants
  int64_t param_bytes = 0;   ///< int32 constants: biases, multipliers, shifts, gather indices
  uint64_t arena_size = 0, arena_lower_bound = 0;  ///< the in-memory runner's plan
  /// As the graph's meta records them (quant.rounding, quant.weights, quant.calibration, input.*).
  std::string rounding, weights, calibration, input_scale, input_zero_point;
  int levels_asked = 0;  ///< weight levels asked to keep (option or model); 0: none
  /// The level count the written codes keep (the weight tensors' IntTensor::levels); 0 when
  /// none were asked for, and also when they were but per-tensor scales rounded the float
  /// weights onto the full int8 grid instead (the graph's meta still records the levels asked).
  int levels_kept = 0;
  std::vector<QuantizedWeights> layers;   ///< in op order
  std::optional<CompareReport> comparison;  ///< with QuantizeModelOptions::data
};

/// The parts of the report, in the order quantize_model completes them.
enum class QuantizePart { equalization, bias_correction, written, comparison };

/// The stages asking for progress: "bias correction", "comparing". The parts come as each is
/// complete; equalization, bias_correction and comparison only when they run.
using QuantizeHooks = PartHooks<QuantizePart, QuantizeReport>;

/// Reads o.model, lowers it (with the improvements asked for), checks every op on the integer
/// reference, writes o.out, then compares on o.data's test split. Throws Error{usage} for
/// equalize or bias correction without data, and what read_calibration, read_qat_state,
/// equalize, lower_to_int8, correct_bias, IntRunner and compare_int8 throw (a model without
/// calibration: Error{format} naming o.model); nothing is written when any of them fails
/// before the comparison.
QuantizeReport quantize_model(const QuantizeModelOptions& o, const QuantizeHooks& hooks = {});

}  // namespace flynet

#endif  // FLYNET_QUANT_QUANTIZE_MODEL_HPP_
