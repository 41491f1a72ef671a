// Optimizers over a Model's trainable parameters, with decoupled weight decay applied only
// to decayed parameters (conv/linear/VA-ECA weights; never BN or biases):
//   SGD:   v = mu v + g;  step = nesterov ? g + mu v : v;  w -= lr (step + wd w)
//   AdamW: m, v moments with bias correction;  w -= lr (m^ / (sqrt(v^) + eps) + wd w)
// The state (moments, step count) round-trips through a checkpoint with state()/load_state().
#ifndef FLYNET_CORE_OPTIM_HPP_
#define FLYNET_CORE_OPTIM_HPP_

#include <cstdint>
#include <map>
#include <string>

#include "flynet/core/model.hpp"

namespace flynet {

enum class OptimKind { sgd, adamw };

struct OptimOptions {
  OptimKind kind = OptimKind::sgd;
  double momentum = 0.9;    ///< SGD
  bool nesterov = true;     ///< SGD
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  ///< AdamW
  double weight_decay = 1e-4;
};

class Optimizer {
 public:
  Optimizer(const Model& model, OptimOptions opt);
  /// One update of every trainable parameter of `model` from `grads` (by parameter name).
  void step(Model& model, const std::map<std::string, Tensor>& grads, double lr);
  int64_t steps() const { return steps_; }
  /// Moments by name ("<param>.m", "<param>.v") and the step count, for checkpoints.
  std::map<std::string, Tensor> state() const;
  void load_state(const std::map<std::string, Tensor>& state, int64_t steps, const std::string& file);
  const OptimOptions& options() const { return opt_; }

 private:
  OptimOptions opt_;
  std::map<std::string, Tensor> m_, v_;
  std::map<std::string, bool> decayed_;
  int64_t steps_ = 0;
};

}  // namespace flynet

#endif  // FLYNET_CORE_OPTIM_HPP_
