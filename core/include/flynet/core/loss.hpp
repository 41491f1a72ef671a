// Softmax cross-entropy with label smoothing (targets (1 - eps) one-hot + eps / K).
#ifndef FLYNET_CORE_LOSS_HPP_
#define FLYNET_CORE_LOSS_HPP_

#include <cstdint>
#include <vector>

#include "flynet/core/tensor.hpp"

namespace flynet {

struct LossResult {
  double loss = 0.0;  ///< mean over the batch
  int64_t correct = 0;  ///< top-1 hits
};

/// `logits` is [N, ..., K] (N rows of K). Writes d mean-loss / d logits into `dlogits` (same
/// shape) when it is non-null.
LossResult softmax_cross_entropy(const Tensor& logits, const std::vector<int32_t>& labels, double smoothing,
                                 Tensor* dlogits);

}  // namespace flynet

#endif  // FLYNET_CORE_LOSS_HPP_
