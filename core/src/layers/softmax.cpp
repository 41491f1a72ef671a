// Softmax over C of [N, 1, 1, C] (imported graphs end with it). When the caller asks for the
// logits (RunCtx::logits: training and evaluation, whose loss applies its own softmax) it
// passes its input through, and so does its gradient; otherwise the backward is the softmax
// Jacobian, dx = y * (dy - sum(dy * y)).
#include <algorithm>
#include <cmath>

#include "layer_util.hpp"

namespace flynet::layers {

namespace {

class SoftmaxLayer final : public Layer {
 public:
  using Layer::Layer;
  void forward(const RunCtx& ctx, const ConstTensorPtrs& x, const TensorPtrs&, Tensor& y) override {
    const Tensor& in = *x[0];
    reshape(y, in.shape);
    passed_ = ctx.logits;
    if (passed_) {
      std::copy(in.data.begin(), in.data.end(), y.data.begin());
      return;
    }
    const int64_t N = in.shape[0], C = in.numel() / std::max<int64_t>(N, 1);
    for (int64_t n = 0; n < N; ++n) {
      const float* z = in.ptr() + n * C;
      float* p = y.ptr() + n * C;
      const float m = *std::max_element(z, z + C);
      double sum = 0;
      for (int64_t c = 0; c < C; ++c) sum += std::exp(double(z[c] - m));
      for (int64_t c = 0; c < C; ++c) p[c] = float(std::exp(double(z[c] - m)) / sum);
    }
  }
  void backward(const RunCtx&, const ConstTensorPtrs&, const TensorPtrs&, const Tensor& y, const Tensor& dy,
                const TensorPtrs& dx, const TensorPtrs&) override {
    if (!dx[0]) return;
    if (passed_) {
      std::copy(dy.data.begin(), dy.data.end(), dx[0]->data.begin());
      return;
    }
    const int64_t N = y.shape[0], C = y.numel() / std::max<int64_t>(N, 1);
    for (int64_t n = 0; n < N; ++n) {
      const float* p = y.ptr() + n * C;
      const float* g = dy.ptr() + n * C;
      double dot = 0;
      for (int64_t c = 0; c < C; ++c) dot += double(g[c]) * p[c];
      for (int64_t c = 0; c < C; ++c) dx[0]->ptr()[n * C + c] = float(p[c] * (g[c] - dot));
    }
  }

 private:
  bool passed_ = false;
};

}  // namespace

std::unique_ptr<Layer> make_softmax(const Node& n) { return std::make_unique<SoftmaxLayer>(n); }

}  // namespace flynet::layers
