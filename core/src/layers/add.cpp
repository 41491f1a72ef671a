// Element-wise sum of two same-shape tensors (the residual add); the gradient goes to both.
#include <algorithm>

#include "layer_util.hpp"

namespace flynet::layers {

namespace {

FLYNET_SIMD void add_rows(const float* __restrict a, const float* __restrict b, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

class AddLayer final : public Layer {
 public:
  using Layer::Layer;
  void forward(const RunCtx&, const ConstTensorPtrs& x, const TensorPtrs&, Tensor& y) override {
    reshape(y, x[0]->shape);
    const Chunks ch(y.numel(), 64);
    parallel_for(ch.count, [&](int64_t k) {
      const int64_t b = ch.begin(k);
      add_rows(x[0]->ptr() + b, x[1]->ptr() + b, y.ptr() + b, ch.end(k) - b);
    });
  }
  void backward(const RunCtx&, const ConstTensorPtrs&, const TensorPtrs&, const Tensor&, const Tensor& dy,
                const TensorPtrs& dx, const TensorPtrs&) override {
    for (Tensor* d : dx)
      if (d) std::copy(dy.data.begin(), dy.data.end(), d->data.begin());
  }
};

}  // namespace

std::unique_ptr<Layer> make_add(const Node& n) { return std::make_unique<AddLayer>(n); }

}  // namespace flynet::layers
