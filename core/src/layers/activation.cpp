// Element-wise activations relu, relu6, h-swish, h-sigmoid, sigmoid, leaky relu with their derivatives.
// Hand-written rather than oneDNN eltwise: they are memory-bound single loops that the
// compiler vectorises, and the backward reads the forward input directly without a second
// primitive and memory descriptors per shape.
#include <cmath>

#include "layer_util.hpp"

namespace flynet::layers {

namespace {

FLYNET_SIMD void act_fwd(Act a, float alpha, const float* __restrict x, float* __restrict y, int64_t n) {
  switch (a) {
    case Act::relu:
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.f ? x[i] : 0.f;
      break;
    case Act::hswish:
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] * std::min(std::max(x[i] + 3.f, 0.f), 6.f) * (1.f / 6.f);
      break;
    case Act::hsigmoid:
      for (int64_t i = 0; i < n; ++i) y[i] = std::min(std::max(x[i] + 3.f, 0.f), 6.f) * (1.f / 6.f);
      break;
    case Act::sigmoid:
      for (int64_t i = 0; i < n; ++i) y[i] = 1.f / (1.f + std::exp(-x[i]));
      break;
    case Act::relu6:
      for (int64_t i = 0; i < n; ++i) y[i] = std::min(std::max(x[i], 0.f), 6.f);
      break;
    case Act::leaky_relu:
      for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.f ? x[i] : alpha * x[i];
      break;
  }
}

FLYNET_SIMD void act_bwd(Act a, float alpha, const float* __restrict x, const float* __restrict y, const float* __restrict dy,
                         float* __restrict dx, int64_t n) {
  switch (a) {
    case Act::relu:
      for (int64_t i = 0; i < n; ++i) dx[i] = x[i] > 0.f ? dy[i] : 0.f;
      break;
    case Act::hswish:
      for (int64_t i = 0; i < n; ++i) {
        const float d = x[i] < -3.f ? 0.f : (x[i] > 3.f ? 1.f : (2.f * x[i] + 3.f) * (1.f / 6.f));
        dx[i] = dy[i] * d;
      }
      break;
    case Act::hsigmoid:
      for (int64_t i = 0; i < n; ++i) dx[i] = (x[i] > -3.f && x[i] < 3.f) ? dy[i] * (1.f / 6.f) : 0.f;
      break;
    case Act::sigmoid:
      for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * y[i] * (1.f - y[i]);
      break;
    case Act::relu6:
      for (int64_t i = 0; i < n; ++i) dx[i] = (x[i] > 0.f && x[i] < 6.f) ? dy[i] : 0.f;
      break;
    case Act::leaky_relu:
      for (int64_t i = 0; i < n; ++i) dx[i] = x[i] > 0.f ? dy[i] : alpha * dy[i];
      break;
  }
}

class ActivationLayer final : public Layer {
 public:
  using Layer::Layer;
  void forward(const RunCtx&, const ConstTensorPtrs& x, const TensorPtrs&, Tensor& y) override {
    reshape(y, x[0]->shape);
    const Chunks ch(x[0]->numel(), 64);
    parallel_for(ch.count, [&](int64_t k) {
      act_fwd(node_.act, node_.alpha, x[0]->ptr() + ch.begin(k), y.ptr() + ch.begin(k), ch.end(k) - ch.begin(k));
    });
  }
  void backward(const RunCtx&, const ConstTensorPtrs& x, const TensorPtrs&, const Tensor& y, const Tensor& dy,
                const TensorPtrs& dx, const TensorPtrs&) override {
    if (!dx[0]) return;
    const Chunks ch(x[0]->numel(), 64);
    parallel_for(ch.count, [&](int64_t k) {
      const int64_t b = ch.begin(k);
      act_bwd(node_.act, node_.alpha, x[0]->ptr() + b, y.ptr() + b, dy.ptr() + b, dx[0]->ptr() + b, ch.end(k) - b);
    });
  }
};

}  // namespace

std::unique_ptr<Layer> make_activation(const Node& n) { return std::make_unique<ActivationLayer>(n); }

}  // namespace flynet::layers
