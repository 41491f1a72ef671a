// Empirical bias correction: per output channel of every conv / FC of an int8 graph, the mean
// error E[y_q - y] of its pre-activation output over calibration images is taken out of its
// int32 bias, so that quantization error no longer shifts each channel's mean (Nagel et al.
// 2019 and Finkelstein et al. 2019 describe the idea).
//
// The pre-activation output of the int8 layer is its accumulator, s_in * s_w[o] *
// (sum w_q * (x - zp) + bias_q): never stored (the kernel requantizes and clamps, often with a
// fused ReLU), but its mean needs no kernel run, being linear in x: the mean of each kernel
// tap's input over images and output positions ("tap means", zero outside the image as in the
// kernels' padding) times the weight codes. The float side is the mean of the float model's
// pre-activation node (the conv's BN, or the conv / linear itself).
//
// Two definitions of y_q (BiasCorrectionMode):
//  - int8: x is what the int8 graph itself feeds the layer, from the integer reference, with
//    every layer upstream already corrected (sequentially, layer l after layers < l). y_q - y
//    then holds the layer's weight error, the bias rounding, and the mean error its input
//    inherits from every quantized tensor above it, activation ranges (clipping) included;
//    that is the error that reaches the logits, so this is the default.
//  - weights: x is the float model's input to the layer; y_q - y = dW * E[x] + bias rounding,
//    weight quantization error only (cheap: one float pass). Kept for comparison.
//
//   Tensor images = ...;                      // [N, H, W, C], normalised, calibration images
//   BiasCorrectionReport r = correct_bias(model, graph, images, {});
#ifndef FLYNET_QUANT_BIAS_CORRECTION_HPP_
#define FLYNET_QUANT_BIAS_CORRECTION_HPP_

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "flynet/core/arch.hpp"
#include "flynet/core/model.hpp"
#include "flynet/formats/int_graph.hpp"

namespace flynet {

enum class BiasCorrectionMode { int8, weights };

inline constexpr std::array kBiasCorrectionChoices = {
    Choice<BiasCorrectionMode>{"int8", BiasCorrectionMode::int8,
                               "the int8 graph's own error, layer by layer (integer reference, upstream corrected)"},
    Choice<BiasCorrectionMode>{"weights", BiasCorrectionMode::weights,
                               "weight quantization error only, dW * E[x] on the float model's inputs"},
};

struct BiasCorrectionOptions {
  BiasCorrectionMode mode = BiasCorrectionMode::int8;
  int threads = 2;  ///< TBB threads for the integer runs
};

struct BiasCorrectionLayer {
  std::string name;          ///< the float conv / linear node
  int pass = 0;              ///< integer-reference pass that measured its input (int8 mode)
  double mean_abs_shift = 0; ///< mean over channels of |bias change|, in output LSBs
  double max_abs_shift = 0;  ///< largest |bias change| of a channel, in output LSBs
};

struct BiasCorrectionReport {
  int64_t images = 0;
  int passes = 0;  ///< integer-reference runs over the images (0 in weights mode)
  std::vector<BiasCorrectionLayer> layers;
};

using BiasProgressFn = std::function<void(int64_t done, int64_t total)>;

/// Corrects the int32 biases of `g` (lowered from `model`) in place. `images` are the
/// calibration images, normalised as the model expects. Throws Error{shape} if they do not
/// fit the model, Error{internal} if `g` does not have the layers of `model`.
BiasCorrectionReport correct_bias(Model& model, IntGraph& g, const Tensor& images, const BiasCorrectionOptions& opt,
                                  const BiasProgressFn& progress = {});

/// Sums, over the Ho x Wo output positions of a conv, of each kernel tap's input value:
/// out[(ky * KW + kx) * C + c] += sum_{oy, ox} x[oy * sh + ky - ph, ox * sw + kx - pw, c] - zp,
/// 0 outside the H x W image. `x` is one H x W x C image.
struct TapGeometry {
  int H = 1, W = 1, C = 1, KH = 1, KW = 1, sh = 1, sw = 1, ph = 0, pw = 0, Ho = 1, Wo = 1;
};
void add_tap_sums(const TapGeometry& t, const int8_t* x, int32_t zp, int64_t* out);
void add_tap_sums(const TapGeometry& t, const float* x, double* out);

}  // namespace flynet

#endif  // FLYNET_QUANT_BIAS_CORRECTION_HPP_
