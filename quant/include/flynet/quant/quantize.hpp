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
#include "flynet/formats/int_graph.hpp"

namespace flynet {

struct TensorRange {
  float min = 0.f, max = 0.f;
};

/// Ranges by float node name. A va_eca node also has "<name>:mean", "<name>:std" and
/// "<name>:logit" for its descriptor and gate logits.
struct Calibration {
  std::map<std::string, TensorRange> ranges;
  std::string method;
  double percentile = 99.99;  ///< the setting of method "percentile" (re-measuring needs it)
};

struct QuantizeOptions {
  int32_t rounding = 1;      ///< flynet_rounding: 1 double (TFLM), 2 single (CMSIS-NN option)
  bool per_tensor = false;   ///< one weight scale per layer instead of per output channel
  int weight_levels = 0;     ///< > 0: the model was trained with this many weight levels; keep its codes
};

/// The input normalisation a model was trained with (meta "data.mean"/"data.std", comma
/// separated per channel; mean 0 / std 1 if absent).
void input_normalisation(const Model& m, std::vector<float>& mean, std::vector<float>& stdev);

/// Ranges that must be shared (a max-out's input and output, a funnel max-out's two inputs)
/// are unified in `cal` first. Throws Error{format} if a range is missing ("run flynet
/// calibrate first"), Error{unsupported} for a layer the int8 kernels cannot express.
IntGraph lower_to_int8(const Model& m, Calibration cal, const QuantizeOptions& opt);

}  // namespace flynet

#endif  // FLYNET_QUANT_QUANTIZE_HPP_
