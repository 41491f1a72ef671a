#include "flynet/core/optim.hpp"

#include <cmath>

#include "flynet/formats/error.hpp"

namespace flynet {

Optimizer::Optimizer(const Model& model, OptimOptions opt) : opt_(opt) {
  for (const ParamDecl& d : model.graph.all_params()) {
    if (!d.trainable()) continue;
    m_[d.name] = Tensor(d.shape);
    if (opt_.kind == OptimKind::adamw) v_[d.name] = Tensor(d.shape);
    decayed_[d.name] = d.decayed();
  }
}

void Optimizer::step(Model& model, const std::map<std::string, Tensor>& grads, double lr) {
  ++steps_;
  const float flr = float(lr);
  for (auto& [name, m] : m_) {
    Tensor& w = model.param(name);
    auto git = grads.find(name);
    if (git == grads.end()) throw Error(ErrorCode::internal, "no gradient for " + name);
    const float* g = git->second.ptr();
    float* wp = w.ptr();
    float* mp = m.ptr();
    const int64_t n = w.numel();
    const float wd = decayed_[name] ? float(opt_.weight_decay) : 0.f;
    if (opt_.kind == OptimKind::sgd) {
      const float mu = float(opt_.momentum);
      for (int64_t i = 0; i < n; ++i) {
        mp[i] = mu * mp[i] + g[i];
        const float upd = opt_.nesterov ? g[i] + mu * mp[i] : mp[i];
        wp[i] -= flr * (upd + wd * wp[i]);
      }
    } else {
      float* vp = v_[name].ptr();
      const float b1 = float(opt_.beta1), b2 = float(opt_.beta2), eps = float(opt_.eps);
      const float c1 = float(1.0 - std::pow(opt_.beta1, double(steps_)));
      const float c2 = float(1.0 - std::pow(opt_.beta2, double(steps_)));
      for (int64_t i = 0; i < n; ++i) {
        mp[i] = b1 * mp[i] + (1.f - b1) * g[i];
        vp[i] = b2 * vp[i] + (1.f - b2) * g[i] * g[i];
        const float mh = mp[i] / c1, vh = vp[i] / c2;
        wp[i] -= flr * (mh / (std::sqrt(vh) + eps) + wd * wp[i]);
      }
    }
  }
}

std::map<std::string, Tensor> Optimizer::state() const {
  std::map<std::string, Tensor> s;
  for (const auto& [name, t] : m_) s[name + ".m"] = t;
  for (const auto& [name, t] : v_) s[name + ".v"] = t;
  return s;
}

void Optimizer::load_state(const std::map<std::string, Tensor>& state, int64_t steps, const std::string& file) {
  auto load = [&](std::map<std::string, Tensor>& into, const char* suffix) {
    for (auto& [name, t] : into) {
      auto it = state.find(name + suffix);
      if (it == state.end() || it->second.numel() != t.numel())
        throw Error(ErrorCode::format, "checkpoint lacks optimizer state for " + name, file);
      t.data = it->second.data;
    }
  };
  load(m_, ".m");
  load(v_, ".v");
  steps_ = steps;
}

}  // namespace flynet
