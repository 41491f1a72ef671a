// The executor over the graph: nodes run front to back in forward and back to front in
// backward. A node consumed by several later nodes (a block input feeding the main path and
// its shortcut, U feeding MDW and the funnel) receives the sum of their gradients; the first
// consumer writes directly, the others go through a scratch tensor and are added in graph
// order, so the sum is deterministic.
#include "flynet/core/net.hpp"

#include "flynet/core/fake_quant.hpp"

#include <algorithm>

#include "flynet/formats/error.hpp"

namespace flynet {

Net::Net(Model& model) : model_(model) {
  // A model trained with L weight levels computes with its fake-quantized weights (design
  // 3.7); the float weights stay the optimizer's shadow copy (straight-through gradient).
  if (auto it = model_.meta.find("train.weight_levels"); it != model_.meta.end()) {
    const int levels = std::stoi(it->second);
    set_weight_transform([levels](const ParamDecl&, const Tensor& w, Tensor& eff) {
      fake_quant_weights(w.ptr(), eff.ptr(), w.shape[0], w.numel() / w.shape[0], levels);
    });
  }
  const Graph& g = model_.graph;
  layers_.resize(g.nodes.size());
  outs_.resize(g.nodes.size());
  douts_.resize(g.nodes.size());
  params_.resize(g.nodes.size());
  pgrads_.resize(g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if (n.op != OpKind::input) layers_[i] = make_layer(n);
    for (const ParamDecl& d : n.params) {
      params_[i].push_back(&model_.param(d.name));
      if (d.trainable()) {
        Tensor& gt = grads_[d.name];
        gt = Tensor(d.shape);
        pgrads_[i].push_back(&gt);
      } else {
        pgrads_[i].push_back(nullptr);
      }
    }
  }
}

Net::~Net() = default;

const Tensor& Net::forward(const Tensor& images, const RunCtx& ctx) {
  const Graph& g = model_.graph;
  const Shape& in = g.nodes[0].out;
  if (images.shape.size() != 4 || images.shape[1] != in.h || images.shape[2] != in.w || images.shape[3] != in.c)
    throw Error(ErrorCode::shape, "input batch " + images.shape_str() + " does not fit the model input " +
                                      std::to_string(in.h) + "x" + std::to_string(in.w) + "x" + std::to_string(in.c));
  reshape(outs_[0], images.shape);
  std::copy(images.data.begin(), images.data.end(), outs_[0].data.begin());
  for (size_t i = 1; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    ConstTensorPtrs x;
    for (int j : n.inputs) x.push_back(&outs_[size_t(j)]);
    TensorPtrs p = params_[i];
    if (weight_transform_)
      for (size_t k = 0; k < n.params.size(); ++k)
        if (n.params[k].quantizable()) {
          Tensor& eff = effective_[n.params[k].name];
          if (eff.shape != p[k]->shape) eff = Tensor(p[k]->shape);
          weight_transform_(n.params[k], *p[k], eff);
          p[k] = &eff;
        }
    layers_[i]->forward(ctx, x, p, outs_[i]);
    if (output_hook_) output_hook_(n, int(i), outs_[i]);
  }
  return outs_.back();
}

void Net::backward(const Tensor& dlogits, const RunCtx& ctx) {
  const Graph& g = model_.graph;
  if (dlogits.numel() != outs_.back().numel())
    throw Error(ErrorCode::shape, "gradient of the logits has the wrong size " + dlogits.shape_str());
  std::vector<char> written(g.nodes.size(), 0);
  reshape(douts_.back(), outs_.back().shape);
  std::copy(dlogits.data.begin(), dlogits.data.end(), douts_.back().data.begin());
  written.back() = 1;
  for (size_t i = g.nodes.size() - 1; i >= 1; --i) {
    const Node& n = g.nodes[i];
    if (!written[i]) continue;  // does not reach the output
    ConstTensorPtrs x;
    TensorPtrs dx;
    std::vector<int> pending;  // inputs whose gradient goes to scratch and is added after
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      const int j = n.inputs[k];
      x.push_back(&outs_[size_t(j)]);
      if (j == 0) {
        dx.push_back(nullptr);
      } else if (!written[size_t(j)]) {
        reshape(douts_[size_t(j)], outs_[size_t(j)].shape);
        dx.push_back(&douts_[size_t(j)]);
        written[size_t(j)] = 1;
      } else {
        dx.push_back(nullptr);
        pending.push_back(int(k));
      }
    }
    TensorPtrs p = params_[i];
    for (size_t k = 0; k < n.params.size(); ++k)
      if (weight_transform_ && n.params[k].quantizable()) p[k] = &effective_[n.params[k].name];
    // Inputs that already hold a gradient from a later consumer get this node's part in a
    // scratch tensor, added afterwards.
    if (scratch_.size() < pending.size()) scratch_.resize(pending.size());
    for (size_t s = 0; s < pending.size(); ++s) {
      const int j = n.inputs[size_t(pending[s])];
      reshape(scratch_[s], outs_[size_t(j)].shape);
      dx[size_t(pending[s])] = &scratch_[s];
    }
    layers_[i]->backward(ctx, x, p, outs_[i], douts_[i], dx, pgrads_[i]);
    for (size_t s = 0; s < pending.size(); ++s) {
      float* d = douts_[size_t(n.inputs[size_t(pending[s])])].ptr();
      const float* a = scratch_[s].ptr();
      const int64_t m = scratch_[s].numel();
      for (int64_t e = 0; e < m; ++e) d[e] += a[e];
    }
  }
}

const Tensor& Net::grad(const std::string& param) const {
  auto it = grads_.find(param);
  if (it == grads_.end()) throw Error(ErrorCode::internal, "no gradient for parameter " + param);
  return it->second;
}

}  // namespace flynet
