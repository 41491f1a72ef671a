// The network executor: runs a Model's graph forward and backward, one Layer per node, keeping
// every node's output (for backward, and for calibration which reads them all) and the
// gradient of every trainable parameter.
//
//   Net net(model);
//   RunCtx ctx; ctx.training = true; ctx.temperature = 3.f;
//   const Tensor& logits = net.forward(images, ctx);        // [N, 1, 1, classes]
//   net.backward(dlogits, ctx);                             // fills net.grad(name)
//
// Hooks for later stages:
//  - weight_transform: an "effective weight" per quantizable parameter (conv/linear), computed
//    before every forward from the float weight (QAT fake quantization); the gradient w.r.t. the
//    effective weight is used as the gradient of the float weight (straight-through).
//  - output_hook: called with every node's output right after it is computed (calibration
//    ranges); it may modify the tensor in place.
//  - grad_hook: called in backward right after a node's parameter gradients are final, so
//    data-parallel training can start summing them over the ranks while the rest runs.
// A model with QAT state (qat.hpp: weight levels, int8 activations, folded BN) installs it
// itself, so every Net on that model computes what training computed.
#ifndef FLYNET_CORE_NET_HPP_
#define FLYNET_CORE_NET_HPP_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "flynet/core/layers.hpp"
#include "flynet/core/model.hpp"
#include "flynet/core/qat.hpp"

namespace flynet {

class Net {
 public:
  /// Binds to `model`: parameters are read (and BN running statistics updated) in place, so
  /// the model must outlive the Net and keep its parameter map unchanged.
  explicit Net(Model& model);
  ~Net();
  Net(const Net&) = delete;
  Net& operator=(const Net&) = delete;

  using WeightTransform = std::function<void(const ParamDecl& decl, const Tensor& w, Tensor& effective)>;
  using OutputHook = std::function<void(const Node& node, int index, Tensor& out)>;
  void set_weight_transform(WeightTransform f) { weight_transform_ = std::move(f); }
  void set_output_hook(OutputHook f) { output_hook_ = std::move(f); }
  using GradHook = std::function<void(int node)>;
  void set_grad_hook(GradHook f) { grad_hook_ = std::move(f); }

  /// `images` is [N, H, W, C] normalised; returns the logits [N, 1, 1, classes].
  const Tensor& forward(const Tensor& images, const RunCtx& ctx);
  /// Backward of the last forward from d loss / d logits; fills grad() of every trainable
  /// parameter (overwritten, not accumulated).
  void backward(const Tensor& dlogits, const RunCtx& ctx);

  const Tensor& output(int node) const { return outs_[size_t(node)]; }
  const Tensor& logits() const { return outs_.back(); }
  /// The gradient of a trainable parameter after backward().
  const Tensor& grad(const std::string& param) const;
  std::map<std::string, Tensor>& grads() { return grads_; }
  Model& model() { return model_; }

  /// int8 activation fake quantization (the model's QatState::act_bits): the EMA ranges by node
  /// index, updated by training-mode forwards (weight `momentum` on each batch) and used as
  /// they are in eval mode. Store them back with store_act_ranges(model, net.act_ranges()).
  bool quantizes_activations() const { return !act_points_.empty(); }
  const std::vector<ActRange>& act_ranges() const { return act_ranges_; }
  void set_act_range_momentum(float momentum) { act_momentum_ = momentum; }

 private:
  Model& model_;
  std::vector<std::unique_ptr<Layer>> layers_;  // one per node; nullptr for the input
  std::vector<Tensor> outs_, douts_;
  std::vector<TensorPtrs> params_;              // per node, what forward/backward see
  std::vector<TensorPtrs> pgrads_;
  std::map<std::string, Tensor> grads_;
  std::map<std::string, Tensor> effective_;     // weight_transform outputs
  std::vector<Tensor> scratch_;
  WeightTransform weight_transform_;
  OutputHook output_hook_;
  GradHook grad_hook_;

  void quantize_output(int node, const RunCtx& ctx);
  std::vector<ActPoint> act_points_;
  std::vector<int> act_point_;                  // per node: index into act_points_ or -1
  std::vector<ActRange> act_ranges_;            // per node
  std::vector<ActQuant> act_q_;                 // per node: parameters of the last forward
  std::vector<char> act_on_;                    // per node: quantized in the last forward
  std::vector<std::vector<uint8_t>> act_mask_;  // per node: 1 where the clipped STE passes
  float act_momentum_ = 0.01f;
  bool bn_folded_ = false;                      // QatState::bn_folded: BN frozen, folded
};

}  // namespace flynet

#endif  // FLYNET_CORE_NET_HPP_
