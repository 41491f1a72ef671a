// The executor over the graph: nodes run front to back in forward and back to front in
// backward. A node consumed by several later nodes (a block input feeding the main path and
// its shortcut, U feeding MDW and the funnel) receives the sum of their gradients; the first
// consumer writes directly, the others go through a scratch tensor and are added in graph
// order, so the sum is deterministic.
#include "flynet/core/net.hpp"

#include "flynet/core/fake_quant.hpp"
#include "flynet/core/fold_bn.hpp"
#include "flynet/core/model_state.hpp"

#include <algorithm>
#include <map>

#include "flynet/formats/error.hpp"

namespace flynet {

Net::Net(Model& model) : model_(model) {
  const Graph& g = model_.graph;
  // A model trained with L weight levels computes with its fake-quantized weights (design
  // 3.7); the float weights stay the optimizer's shadow copy (straight-through gradient).
  // With folded BN the grid is the one of the folded weight w * s (what the device stores).
  const QatState qat = read_qat_state(model_.meta);
  const int levels = qat.weight_levels;  // kFloatLevels when not quantized
  bn_folded_ = qat.bn_folded;
  std::map<std::string, int> fold_bn_of;  // weight name -> its BN node, when folded
  if (bn_folded_)
    for (size_t i = 0; i < g.nodes.size(); ++i)
      if (g.nodes[i].op == OpKind::conv2d || g.nodes[i].op == OpKind::dw_concat)
        if (const int b = bn_after(g, int(i)); b >= 0) fold_bn_of[g.nodes[i].name + ".weight"] = b;
  if (levels != kFloatLevels || !fold_bn_of.empty())
    set_weight_transform([this, levels, fold_bn_of](const ParamDecl& d, const Tensor& w, Tensor& eff) {
      const int64_t oc = w.shape[0], per = w.numel() / oc;
      if (auto f = fold_bn_of.find(d.name); f != fold_bn_of.end())
        folded_fake_quant(w.ptr(), eff.ptr(), oc, per, bn_scale(model_, f->second), levels);
      else if (levels != kFloatLevels)
        fake_quant_weights(w.ptr(), eff.ptr(), oc, per, levels);
      else
        std::copy(w.data.begin(), w.data.end(), eff.data.begin());
    });
  if (qat.act_bits != 0) {  // 8, the only width read_qat_state accepts
    act_points_ = act_quant_points(g);
    act_point_.assign(g.nodes.size(), -1);
    for (size_t k = 0; k < act_points_.size(); ++k) act_point_[size_t(act_points_[k].node)] = int(k);
    act_ranges_ = load_act_ranges(model_);
    act_q_.resize(g.nodes.size());
    act_on_.assign(g.nodes.size(), 0);
    act_mask_.resize(g.nodes.size());
  }
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
  RunCtx run = ctx;
  run.bn_frozen = run.bn_frozen || bn_folded_;
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
    layers_[i]->forward(run, x, p, outs_[i]);
    if (!act_points_.empty() && act_point_[i] >= 0) quantize_output(int(i), run);
    if (output_hook_) output_hook_(n, int(i), outs_[i]);
  }
  return outs_.back();
}

void Net::backward(const Tensor& dlogits, const RunCtx& ctx) {
  const Graph& g = model_.graph;
  RunCtx run = ctx;
  run.bn_frozen = run.bn_frozen || bn_folded_;
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
    if (!act_points_.empty() && !act_mask_[i].empty()) {
      // Clipped straight-through estimator of the output's fake quantization.
      float* d = douts_[i].ptr();
      const uint8_t* mk = act_mask_[i].data();
      const int64_t m = douts_[i].numel();
      for (int64_t e = 0; e < m; ++e) d[e] = mk[e] ? d[e] : 0.f;
    }
    layers_[i]->backward(run, x, p, outs_[i], douts_[i], dx, pgrads_[i]);
    for (size_t s = 0; s < pending.size(); ++s) {
      float* d = douts_[size_t(n.inputs[size_t(pending[s])])].ptr();
      const float* a = scratch_[s].ptr();
      const int64_t m = scratch_[s].numel();
      for (int64_t e = 0; e < m; ++e) d[e] += a[e];
    }
    if (grad_hook_ && !n.params.empty()) grad_hook_(int(i));
  }
}

void Net::quantize_output(int node, const RunCtx& ctx) {
  const ActPoint& p = act_points_[size_t(act_point_[size_t(node)])];
  Tensor& y = outs_[size_t(node)];
  ActQuant q;
  switch (p.kind) {
    case ActPoint::fixed: q = p.fixed_q; break;
    case ActPoint::shared: q = act_q_[size_t(p.share)]; break;
    case ActPoint::own_range: {
      ActRange& r = act_ranges_[size_t(node)];
      if (ctx.training) ema_update(r, y.ptr(), y.numel(), act_momentum_);
      if (!r.initialised) {  // eval before any training step: nothing to quantize with yet
        act_mask_[size_t(node)].clear();
        act_on_[size_t(node)] = 0;
        return;
      }
      q = act_quant_params(r.min, r.max);
      break;
    }
  }
  if (p.kind == ActPoint::shared && !act_on_[size_t(p.share)]) {  // the source is not quantized yet
    act_mask_[size_t(node)].clear();
    act_on_[size_t(node)] = 0;
    return;
  }
  act_q_[size_t(node)] = q;
  act_on_[size_t(node)] = 1;
  const int64_t n = y.numel();
  float* v = y.ptr();
  if (ctx.training) {
    std::vector<uint8_t>& mk = act_mask_[size_t(node)];
    mk.resize(size_t(n));
    const float lo = float(-128 - q.zero_point) * q.scale, hi = float(127 - q.zero_point) * q.scale;
    for (int64_t e = 0; e < n; ++e) mk[size_t(e)] = v[e] >= lo && v[e] <= hi;
  } else {
    act_mask_[size_t(node)].clear();
  }
  fake_quant_act(v, v, n, q);
}

const Tensor& Net::grad(const std::string& param) const {
  auto it = grads_.find(param);
  if (it == grads_.end()) throw Error(ErrorCode::internal, "no gradient for parameter " + param);
  return it->second;
}

}  // namespace flynet
