// One layer of the graph with its forward and backward pass. Every OpKind has one
// implementation file in core/src/layers/ named after the op (conv2d.cpp, depthwise.cpp, ...);
// make_layer() picks it. A layer keeps what its backward needs (BN statistics, max-out
// argmax, dropout mask, gates) from the last forward, so forward and backward of one batch
// must be called on the same object.
//
// Tensors: activations are [N, H, W, C] (NHWC), parameters are in the node's ParamDecl order
// and layout (conv OIHW, linear [out, in]).
//
//   auto layer = make_layer(node);
//   layer->forward(ctx, {&x}, params, y);
//   layer->backward(ctx, {&x}, params, y, dy, {&dx}, param_grads);
#ifndef FLYNET_CORE_LAYERS_HPP_
#define FLYNET_CORE_LAYERS_HPP_

#include <cstdint>
#include <memory>
#include <vector>

#include "flynet/core/graph.hpp"
#include "flynet/core/tensor.hpp"

namespace flynet {

class Communicator;  // comm.hpp

/// Per-call settings shared by all layers of one pass.
struct RunCtx {
  bool training = false;     ///< batch statistics + running-stat update in BN, dropout active
  /// The caller wants the logits: a softmax ending the graph passes its input through (the
  /// training loss and the evaluation apply their own softmax to the logits).
  bool logits = false;
  float temperature = 1.f;   ///< softmax gating temperature T (1 for evaluation and export)
  uint64_t seed = 0;         ///< dropout stream: masks depend on (seed, step, node) only
  uint64_t step = 0;
  /// >= 0: replaces every BN node's momentum for this pass (BN recalibration uses 1 / (b + 1)
  /// for batch b, an exact mean over the batches).
  double bn_momentum = -1.0;
  /// BN uses (and keeps) its running statistics even in training mode: QAT's folded BN, whose
  /// scale is baked into the quantized weights, must not move under them.
  bool bn_frozen = false;
  /// Synchronised BN of data-parallel training: the batch statistics (and the gradient sums of
  /// the backward) are summed over the ranks of this communicator, so BN sees the global batch.
  Communicator* sync_bn = nullptr;
  /// Index of this pass's first sample in the global batch (data-parallel rank offset): dropout
  /// masks follow the global element index, so N ranks draw what one process would.
  int64_t first_sample = 0;
};

using TensorPtrs = std::vector<Tensor*>;
using ConstTensorPtrs = std::vector<const Tensor*>;

class Layer {
 public:
  explicit Layer(Node n) : node_(std::move(n)) {}
  virtual ~Layer() = default;
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  /// `x` one tensor per node input; `p` the node's parameters (BN running statistics are
  /// updated in place in training mode); `y` is resized to [N, out.h, out.w, out.c].
  virtual void forward(const RunCtx& ctx, const ConstTensorPtrs& x, const TensorPtrs& p, Tensor& y) = 0;
  /// Gradients of the last forward. `dx[i]` and `dp[i]` are overwritten (already shaped);
  /// a null entry is not wanted (the image input, running statistics).
  virtual void backward(const RunCtx& ctx, const ConstTensorPtrs& x, const TensorPtrs& p, const Tensor& y,
                        const Tensor& dy, const TensorPtrs& dx, const TensorPtrs& dp) = 0;
  const Node& node() const { return node_; }

 protected:
  Node node_;
};

/// The implementation of `n.op` (conv2d with groups == cin goes to the depthwise kernel).
/// Throws Error{unsupported} for an attribute combination without an implementation.
std::unique_ptr<Layer> make_layer(const Node& n);

/// VA-ECA's descriptor and 1-D conv for one sample (design 3.3): `z` is [P, Q] (P = H*W pixels,
/// Q = E*h channels, channel c*h + j = head j of channel c), `w` the [2, k] weight; writes Q
/// values each of mu, sigma = sqrt(var + kVaEcaStdEps) and the logits. The layer's forward and
/// calibration (which records the ranges of all three) share this one definition.
void va_eca_descriptor(const float* z, int64_t P, int64_t Q, int heads, int k, const float* w, float* mu,
                       float* sigma, float* logit);

/// Resizes `t` to `shape` keeping its storage when the element count is unchanged.
void reshape(Tensor& t, const std::vector<int64_t>& shape);

/// Number of threads the layers and oneDNN use (OpenMP); 0 leaves the OpenMP default.
void set_num_threads(int n);
int num_threads();

}  // namespace flynet

#endif  // FLYNET_CORE_LAYERS_HPP_
