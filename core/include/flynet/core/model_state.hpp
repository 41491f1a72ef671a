// What a model records about how it was trained, how its input is normalised and how it was
// calibrated, as typed records. The model's metadata map (Model::meta, IntGraph::meta) stays the
// storage, so HDF5 and .fly files keep their keys and values byte for byte; each record has the
// one reader and the one writer of its keys, and both validate:
//
//   QatState            train.weight_levels, train.act_bits, train.bn_folded     (trainer, Net)
//   InputNormalisation  data.mean, data.std, data.scale                          (trainer, lowering,
//                                                                                 export, verify)
//   CalibrationState    calib.method, calib.percentile, calib.samples            (calibrate, quantize)
//
// A reader throws Error{format} naming the key, the value and the file; a writer throws
// Error{usage} naming the key and the value, before anything is stored. Model::from_record runs
// every reader, so a model that loaded has valid state.
//
//   QatState q = read_qat_state(model.meta);           // Net: which weights and outputs to quantize
//   q.bn_folded = true;
//   write_qat_state(model.meta, q);                    // replaces the three train.* keys
#ifndef FLYNET_CORE_MODEL_STATE_HPP_
#define FLYNET_CORE_MODEL_STATE_HPP_

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "flynet/core/arch.hpp"

namespace flynet {

struct Model;

using Meta = std::map<std::string, std::string>;

// ---- weight levels ------------------------------------------------------------------------

/// The one rule for a weight level count L (train --weight-levels, quantize --weight-levels,
/// meta train.weight_levels): 0 (float, off) or a count whose per-channel codes are exactly
/// symmetric int8 (fake_quant.hpp): odd L has codes -(L-1)/2 .. (L-1)/2, even L the odd codes
/// -(L-1) .. L-1, and int8 weights hold [-127, 127]. So L in 2..128, or odd L up to 255.
bool valid_weight_levels(int levels);
/// Why `levels` breaks the rule ("" when it does not), for an error message.
std::string weight_levels_problem(int levels);

// ---- QAT state ----------------------------------------------------------------------------

/// How a model was trained with quantization (qat.hpp); every Net on it computes the same way.
struct QatState {
  int weight_levels = 0;   ///< conv/FC weights fake-quantized to L levels per output channel; 0: float
  int act_bits = 0;        ///< 8: node outputs fake-quantized to int8 (ranges in extra "qat.*"); 0: float
  bool bn_folded = false;  ///< BN statistics frozen and folded into the conv before weight quantization

  bool any() const { return weight_levels != 0 || act_bits != 0 || bn_folded; }
  bool operator==(const QatState&) const = default;
};

/// Absent keys are the defaults (float). Values: train.weight_levels an integer obeying
/// valid_weight_levels, train.act_bits 0 or 8, train.bn_folded 0 or 1.
QatState read_qat_state(const Meta& meta, const std::string& file = {});
/// Replaces the three keys: weight levels and activation bits when non-zero, bn_folded "1" when set.
void write_qat_state(Meta& meta, const QatState& s);

// ---- input normalisation ------------------------------------------------------------------

/// The normalisation a model was trained with: x = (pixel * 1/255 - mean[c]) / std[c].
struct InputNormalisation {
  std::vector<float> mean, std;  ///< per input channel, or one value for every channel; empty: not recorded

  bool recorded() const { return !mean.empty(); }
  /// `channels` means and stds: as recorded (one value repeated), or mean 0 / std 1 when not
  /// recorded, the identity the lowering then assumes for the input range.
  InputNormalisation per_channel(int channels) const;
  bool operator==(const InputNormalisation&) const = default;
};

/// data.mean and data.std: comma-separated finite numbers, as many as `channels` (or one), std
/// positive, both or neither present; data.scale, when present, "1/255" (the only pixel scale).
InputNormalisation read_input_normalisation(const Meta& meta, int channels, const std::string& file = {});
/// The normalisation of `m`'s input (channels from its architecture).
InputNormalisation read_input_normalisation(const Model& m);
/// Writes data.mean and data.std (9 significant digits, exact for floats) and data.scale "1/255";
/// erases the three keys when `n` is not recorded.
void write_input_normalisation(Meta& meta, const InputNormalisation& n, int channels);

// ---- calibration --------------------------------------------------------------------------

enum class CalibMethod { minmax, ema, percentile, kl, mse };

inline constexpr std::array kCalibChoices = {
    Choice<CalibMethod>{"minmax", CalibMethod::minmax, "observed minimum and maximum"},
    Choice<CalibMethod>{"ema", CalibMethod::ema, "moving average of per-batch minimum and maximum"},
    Choice<CalibMethod>{"percentile", CalibMethod::percentile, "clip at the given percentile (--percentile)"},
    Choice<CalibMethod>{"kl", CalibMethod::kl, "least KL divergence between float and int8 histograms"},
    Choice<CalibMethod>{"mse", CalibMethod::mse, "least expected quantization mean squared error"},
};

/// How the activation ranges of a calibrated model were chosen (the ranges themselves are the
/// model's extra tensors "calib.<node>.range", quant/calibrate.hpp).
struct CalibrationState {
  CalibMethod method = CalibMethod::minmax;
  bool trained_ranges = false;  ///< "+qat": the ranges trained with int8 activations were kept
  double percentile = 99.99;    ///< method percentile: in (50, 100]
  int64_t samples = 0;          ///< calibration images; 0: not recorded (files from before it was)

  /// calib.method as stored: the method's name, "+qat" with trained ranges ("mse+qat").
  std::string method_name() const;
  bool operator==(const CalibrationState&) const = default;
};

/// std::nullopt when the model is not calibrated (no calib.method). calib.method is a method
/// name, optionally followed by "+qat"; calib.percentile a number in (50, 100]; calib.samples
/// a positive integer.
std::optional<CalibrationState> read_calibration_state(const Meta& meta, const std::string& file = {});
/// Replaces every "calib.*" key: the method, the samples when recorded, the percentile (17
/// significant digits) for method percentile.
void write_calibration_state(Meta& meta, const CalibrationState& s);
/// Erases every "calib.*" key (a model derived from a calibrated one is not calibrated).
void erase_calibration_state(Meta& meta);

/// Runs every reader on `m`'s metadata: throws the first problem naming `file`.
void check_model_state(const Model& m, const std::string& file);

}  // namespace flynet

#endif  // FLYNET_CORE_MODEL_STATE_HPP_
