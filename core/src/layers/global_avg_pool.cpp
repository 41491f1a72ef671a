// Global average pooling H x W x C -> 1 x 1 x C, and its backward (dy / (H W) everywhere).
#include "layer_util.hpp"

namespace flynet::layers {

namespace {

class GlobalAvgPoolLayer final : public Layer {
 public:
  using Layer::Layer;
  void forward(const RunCtx&, const ConstTensorPtrs& x, const TensorPtrs&, Tensor& y) override {
    const Tensor& in = *x[0];
    const int64_t N = in.shape[0], P = in.shape[1] * in.shape[2], C = in.shape[3];
    reshape(y, {N, 1, 1, C});
    parallel_for(N, [&](int64_t n) {
      float* o = y.ptr() + n * C;
      for (int64_t c = 0; c < C; ++c) o[c] = 0.f;
      for (int64_t p = 0; p < P; ++p) {
        const float* xi = in.ptr() + (n * P + p) * C;
        for (int64_t c = 0; c < C; ++c) o[c] += xi[c];
      }
      const float inv = 1.f / float(P);
      for (int64_t c = 0; c < C; ++c) o[c] *= inv;
    });
  }
  void backward(const RunCtx&, const ConstTensorPtrs& x, const TensorPtrs&, const Tensor&, const Tensor& dy,
                const TensorPtrs& dx, const TensorPtrs&) override {
    if (!dx[0]) return;
    const Tensor& in = *x[0];
    const int64_t N = in.shape[0], P = in.shape[1] * in.shape[2], C = in.shape[3];
    const float inv = 1.f / float(P);
    parallel_for(N, [&](int64_t n) {
      const float* g = dy.ptr() + n * C;
      for (int64_t p = 0; p < P; ++p) {
        float* d = dx[0]->ptr() + (n * P + p) * C;
        for (int64_t c = 0; c < C; ++c) d[c] = g[c] * inv;
      }
    });
  }
};

}  // namespace

std::unique_ptr<Layer> make_global_avg_pool(const Node& n) { return std::make_unique<GlobalAvgPoolLayer>(n); }

}  // namespace flynet::layers
