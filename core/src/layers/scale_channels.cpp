// The SE excitation: y[n, h, w, c] = x[n, h, w, c] * s[n, c]; ds is the sum over H x W of dy * x.
#include "layer_util.hpp"

namespace flynet::layers {

namespace {

class ScaleChannelsLayer final : public Layer {
 public:
  using Layer::Layer;
  void forward(const RunCtx&, const ConstTensorPtrs& x, const TensorPtrs&, Tensor& y) override {
    const Tensor& in = *x[0];
    const Tensor& s = *x[1];
    const int64_t N = in.shape[0], P = in.shape[1] * in.shape[2], C = in.shape[3];
    reshape(y, in.shape);
    parallel_for(N, [&](int64_t n) {
      const float* sc = s.ptr() + n * C;
      for (int64_t p = 0; p < P; ++p) {
        const float* xi = in.ptr() + (n * P + p) * C;
        float* yi = y.ptr() + (n * P + p) * C;
        for (int64_t c = 0; c < C; ++c) yi[c] = xi[c] * sc[c];
      }
    });
  }
  void backward(const RunCtx&, const ConstTensorPtrs& x, const TensorPtrs&, const Tensor&, const Tensor& dy,
                const TensorPtrs& dx, const TensorPtrs&) override {
    const Tensor& in = *x[0];
    const Tensor& s = *x[1];
    const int64_t N = in.shape[0], P = in.shape[1] * in.shape[2], C = in.shape[3];
    parallel_for(N, [&](int64_t n) {
      const float* sc = s.ptr() + n * C;
      float* ds = dx[1] ? dx[1]->ptr() + n * C : nullptr;
      if (ds)
        for (int64_t c = 0; c < C; ++c) ds[c] = 0.f;
      for (int64_t p = 0; p < P; ++p) {
        const float* xi = in.ptr() + (n * P + p) * C;
        const float* g = dy.ptr() + (n * P + p) * C;
        if (dx[0]) {
          float* d = dx[0]->ptr() + (n * P + p) * C;
          for (int64_t c = 0; c < C; ++c) d[c] = g[c] * sc[c];
        }
        if (ds)
          for (int64_t c = 0; c < C; ++c) ds[c] += g[c] * xi[c];
      }
    });
  }
};

}  // namespace

std::unique_ptr<Layer> make_scale_channels(const Node& n) { return std::make_unique<ScaleChannelsLayer>(n); }

}  // namespace flynet::layers
