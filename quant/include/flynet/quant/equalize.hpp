// Cross-layer equalization (the idea of Nagel et al. 2019, "Data-Free Quantization"): for two
// layers A -> B joined by a positively homogeneous path, A's output channel c divided by s_c
// and B's input channel c multiplied by s_c compute the same function, since
// relu(y / s) = relu(y) / s for s > 0. With s_c = sqrt(r1_c / r2_c), r1_c the largest |weight|
// of A's channel c and r2_c that of B's weights reading c (both on the BN-folded weights), the
// two ranges become equal, sqrt(r1_c * r2_c), so a per-tensor weight scale wastes fewer codes.
//
// Which pairs of a FlyNet / MobileNetV3-Small graph qualify (equalizable_pairs):
//  - A is a conv or linear, B a conv (any groups, so depthwise and the MDW heads) or linear;
//  - between them only: A's own BN (folded, so the rescale goes into gamma and beta), ReLU,
//    dropout, global average pooling, and a max-out or sum+ReLU head reduction; a reduction
//    takes h channels c*h+j to one channel c and max_j(z_j / s) = max_j(z_j) / s only when
//    all h heads share s, so the h heads of A get one scale;
//  - every tensor on the path has exactly one consumer (a second consumer would see the
//    rescaled tensor).
// Not: hard-swish / hard-sigmoid / sigmoid (not homogeneous), VA-ECA (its gate is a 1-D conv
// over the channels' mean and std, shared by all channels, so a per-channel scale changes it),
// funnel max-out (its other input U is not rescaled), a residual add, SE (the block output
// also feeds the squeeze branch: two consumers).
// In FlyNet-h3 that leaves the ReLU blocks' expansion -> MDW pairs (b1, b2 at 0.5x; b0 has no
// expansion conv); with --gate none also every MDW -> projection pair; with the dw-pw shortcut
// its depthwise -> pointwise pair (no activation). MobileNetV3-Small: exp -> dw and dw -> proj
// of b1 and b2, and each SE's fc1 -> ReLU -> fc2.
//
// The rescale is written into the float model itself (A's BN gamma and beta, or its weight
// and bias; B's weight), so the model stays a model: Net runs it, lowering folds it as usual.
// The ranges of the rescaled tensors (A's output up to B's input) change per channel, which a
// per-tensor range cannot follow: remeasure_ranges() calibrates them again.
//
//   EqualizeResult r = equalize(model);
//   remeasure_ranges(model, r, cal, batches);
#ifndef FLYNET_QUANT_EQUALIZE_HPP_
#define FLYNET_QUANT_EQUALIZE_HPP_

#include <string>
#include <vector>

#include "flynet/core/model.hpp"
#include "flynet/quant/calibrate.hpp"
#include "flynet/quant/quantize.hpp"

namespace flynet {

struct EqualizePair {
  std::string first, second;          ///< node names of A and B
  std::vector<std::string> rescaled;  ///< nodes whose output the rescale changes: A up to B's input
  int group = 1;                      ///< A's output channels per B input channel (h across a max-out)
  int channels = 0;                   ///< B's input channels = scales of the pair
};

/// The pairs of `g` where equalization leaves the float function unchanged, in node order.
std::vector<EqualizePair> equalizable_pairs(const Graph& g);

/// Per channel c of B's input: r1[c] = max |w| of A's BN-folded output channels feeding c,
/// r2[c] = max |w| of B's BN-folded weights reading c.
void pair_ranges(const Model& m, const EqualizePair& p, std::vector<double>& r1, std::vector<double>& r2);

struct EqualizeOptions {
  int max_sweeps = 100;     ///< pairs sharing a layer (exp -> dw -> proj) need several sweeps
  double tolerance = 1e-4;  ///< stop when every scale of a sweep is within this of 1
};

struct EqualizeResult {
  std::vector<EqualizePair> pairs;
  std::vector<std::vector<double>> scales;  ///< per pair, the product of its sweeps' s_c
  int sweeps = 0;
};

/// Equalizes every pair of equalizable_pairs(m.graph) in place. Throws Error{unsupported} for
/// a model with QAT state (weight levels, int8 activations, folded BN): it computes with
/// quantized weights and trained ranges, which a rescale would change.
EqualizeResult equalize(Model& m, const EqualizeOptions& opt = {});

/// Calibrates `m` (already equalized) again on `batches` with the method of `cal` and replaces
/// the ranges of the tensors the pairs rescaled; the other ranges stay as they were.
void remeasure_ranges(Model& m, const EqualizeResult& r, Calibration& cal, const BatchSource& batches);

}  // namespace flynet

#endif  // FLYNET_QUANT_EQUALIZE_HPP_
