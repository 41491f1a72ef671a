// From a float FlyNet model and its calibrated activation ranges to an int8 graph of
// quant/ref kernels (flynet_format.h records): BN folded into each conv (each MDW head into its
// own weights), per-output-channel symmetric int8 weights, int32 bias with scale
// in_scale * w_scale, per-tensor asymmetric int8 activations, multipliers and shifts derived
// with quant/ref's own TFLM-exact helpers.
//
//   Calibration cal = ...;              // flynet calibrate: a range per float node
//   IntGraph g = lower_to_int8(model, cal, QuantizeOptions{});
#ifndef FLYNET_QUANT_QUANTIZE_HPP_
#define FLYNET_QUANT_QUANTIZE_HPP_

#include <map>
#include <string>

#include "flynet/core/model.hpp"
#include "flynet/core/model_state.hpp"
#include "flynet/formats/int_graph.hpp"

namespace flynet {

struct TensorRange {
  float min = 0.f, max = 0.f;
};

/// Ranges by float node name. A va_eca node also has "<name>:mean", "<name>:std" and
/// "<name>:logit" for its descriptor and gate logits.
struct Calibration {
  std::map<std::string, TensorRange> ranges;
  CalibrationState state;  ///< how the ranges were chosen (re-measuring needs the method and percentile)
};

struct QuantizeOptions {
  int32_t rounding = 1;      ///< flynet_rounding: 1 double (TFLM), 2 single (CMSIS-NN option)
  bool per_tensor = false;   ///< one weight scale per layer instead of per output channel
  int weight_levels = 0;     ///< > 0: the model was trained with this many weight levels; keep its
                             ///< codes (exactly: valid_weight_levels, model_state.hpp, else Error{usage})
};

/// Ranges that must be shared (a max-out's input and output, a funnel max-out's two inputs)
/// are unified in `cal` first. Throws Error{format} if a range is missing ("run flynet
/// calibrate first"), Error{unsupported} for a layer the int8 kernels cannot express,
/// Error{usage} for a weight level count whose codes int8 cannot hold.
IntGraph lower_to_int8(const Model& m, Calibration cal, const QuantizeOptions& opt);

}  // namespace flynet

#endif  // FLYNET_QUANT_QUANTIZE_HPP_
