// Concatenation along C of maps of one size (imported graphs: ONNX Concat on the channel
// axis); the backward hands each input its own channel slice of the gradient.
#include <algorithm>

#include "layer_util.hpp"

namespace flynet::layers {

namespace {

class ConcatLayer final : public Layer {
 public:
  using Layer::Layer;
  void forward(const RunCtx&, const ConstTensorPtrs& x, const TensorPtrs&, Tensor& y) override {
    const int64_t N = x[0]->shape[0], P = x[0]->shape[1] * x[0]->shape[2], C = node_.out.c;
    reshape(y, {N, x[0]->shape[1], x[0]->shape[2], C});
    parallel_for(N * P, [&](int64_t p) {
      int64_t at = 0;
      for (const Tensor* t : x) {
        const int64_t c = t->shape[3];
        std::copy(t->ptr() + p * c, t->ptr() + (p + 1) * c, y.ptr() + p * C + at);
        at += c;
      }
    });
  }
  void backward(const RunCtx&, const ConstTensorPtrs& x, const TensorPtrs&, const Tensor&, const Tensor& dy,
                const TensorPtrs& dx, const TensorPtrs&) override {
    const int64_t N = x[0]->shape[0], P = x[0]->shape[1] * x[0]->shape[2], C = node_.out.c;
    parallel_for(N * P, [&](int64_t p) {
      int64_t at = 0;
      for (size_t k = 0; k < x.size(); ++k) {
        const int64_t c = x[k]->shape[3];
        if (dx[k]) std::copy(dy.ptr() + p * C + at, dy.ptr() + p * C + at + c, dx[k]->ptr() + p * c);
        at += c;
      }
    });
  }
};

}  // namespace

std::unique_ptr<Layer> make_concat(const Node& n) { return std::make_unique<ConcatLayer>(n); }

}  // namespace flynet::layers
