// Batch-norm folding: conv (or dw_concat) followed by BN in eval mode is one conv with
//   w'[o, ...] = w[o, ...] * s[o],   b'[o] = beta[o] + (b[o] - mean[o]) * s[o],
//   s[o] = gamma[o] / sqrt(var[o] + eps).
// Each MDW head has its own BN channel, so each head folds into its own weights (design 3.2).
// Used by QAT's --fold-bn-after (core) and by quantize (quant).
#ifndef FLYNET_CORE_FOLD_BN_HPP_
#define FLYNET_CORE_FOLD_BN_HPP_

#include <vector>

#include "flynet/core/model.hpp"

namespace flynet {

struct FoldedConv {
  Tensor weight;            ///< same shape as the conv weight
  std::vector<float> bias;  ///< one per output channel
  std::vector<float> scale; ///< s[o], kept for exporting weight codes exactly (w' = w * s)
};

/// Folds explicit BN parameters into a weight whose first dimension is the output channel.
/// `conv_bias` may be null (no bias).
FoldedConv fold_bn(const Tensor& weight, const float* conv_bias, const float* gamma, const float* beta,
                   const float* mean, const float* var, double eps);

/// The BN node that directly and only consumes node `conv` (a conv2d or dw_concat), or -1.
int bn_after(const Graph& g, int conv);

/// Folds node `conv` of `m` with its following BN (running statistics). Throws
/// Error{internal} if there is none.
FoldedConv fold_node(const Model& m, int conv);

}  // namespace flynet

#endif  // FLYNET_CORE_FOLD_BN_HPP_
