// Reduction over the h heads of each channel (design 3.4), input channel c*h + j:
//   maxout:        V_c = max_j Z_{c*h+j}                 backward: dy to the argmax head only
//   funnel_maxout: V_c = max(max_j Z_{c*h+j}, U_c[::s, ::s])   (argmax may be U)
//   sum_relu:      V_c = relu(sum_j Z_{c*h+j})           backward: dy to every head where V > 0
// oneDNN has no max over channel groups, so this is hand-written; the argmax is kept as one
// byte per output element. Ties go to the lowest head, then to the heads before U.
#include <cstring>

#include "layer_util.hpp"

namespace flynet::layers {

namespace {

class HeadReduceLayer final : public Layer {
 public:
  using Layer::Layer;

  void forward(const RunCtx&, const ConstTensorPtrs& x, const TensorPtrs&, Tensor& y) override {
    const Tensor& z = *x[0];
    const int h = node_.heads;
    const int64_t N = z.shape[0], H = z.shape[1], W = z.shape[2], E = z.shape[3] / h;
    reshape(y, {N, H, W, E});
    const bool funnel = node_.reduce == Reduce::funnel_maxout;
    const bool sum = node_.reduce == Reduce::sum_relu;
    if (!sum) arg_.resize(size_t(y.numel()));
    parallel_for(N * H, [&](int64_t row) {
      const int64_t n = row / H, oh = row % H;
      for (int64_t ow = 0; ow < W; ++ow) {
        const int64_t pix = row * W + ow;
        const float* zi = z.ptr() + pix * E * h;
        float* yi = y.ptr() + pix * E;
        if (sum) {
          for (int64_t c = 0; c < E; ++c) {
            float s = 0.f;
            for (int j = 0; j < h; ++j) s += zi[c * h + j];
            yi[c] = s > 0.f ? s : 0.f;
          }
          continue;
        }
        uint8_t* ai = arg_.data() + pix * E;
        for (int64_t c = 0; c < E; ++c) {
          float best = zi[c * h];
          uint8_t arg = 0;
          for (int j = 1; j < h; ++j)
            if (zi[c * h + j] > best) {
              best = zi[c * h + j];
              arg = uint8_t(j);
            }
          yi[c] = best;
          ai[c] = arg;
        }
        if (funnel) {
          const Tensor& u = *x[1];
          const int s = node_.funnel_stride;
          const float* ui = u.ptr() + ((n * u.shape[1] + oh * s) * u.shape[2] + ow * s) * E;
          for (int64_t c = 0; c < E; ++c)
            if (ui[c] > yi[c]) {
              yi[c] = ui[c];
              ai[c] = uint8_t(h);
            }
        }
      }
    });
  }

  void backward(const RunCtx&, const ConstTensorPtrs& x, const TensorPtrs&, const Tensor& y, const Tensor& dy,
                const TensorPtrs& dx, const TensorPtrs&) override {
    const Tensor& z = *x[0];
    const int h = node_.heads;
    const int64_t N = z.shape[0], H = z.shape[1], W = z.shape[2], E = z.shape[3] / h;
    const bool funnel = node_.reduce == Reduce::funnel_maxout;
    const bool sum = node_.reduce == Reduce::sum_relu;
    if (funnel && dx[1]) std::fill(dx[1]->data.begin(), dx[1]->data.end(), 0.f);
    parallel_for(N * H, [&](int64_t row) {
      const int64_t n = row / H, oh = row % H;
      for (int64_t ow = 0; ow < W; ++ow) {
        const int64_t pix = row * W + ow;
        const float* g = dy.ptr() + pix * E;
        float* dz = dx[0] ? dx[0]->ptr() + pix * E * h : nullptr;
        if (sum) {
          const float* yi = y.ptr() + pix * E;
          if (dz)
            for (int64_t c = 0; c < E; ++c)
              for (int j = 0; j < h; ++j) dz[c * h + j] = yi[c] > 0.f ? g[c] : 0.f;
          continue;
        }
        const uint8_t* ai = arg_.data() + pix * E;
        if (dz) {
          std::memset(dz, 0, sizeof(float) * size_t(E * h));
          for (int64_t c = 0; c < E; ++c)
            if (ai[c] < h) dz[c * h + ai[c]] = g[c];
        }
        if (funnel && dx[1]) {
          // rows of U are disjoint between (n, oh), so this scatter is race-free
          const Tensor& u = *x[1];
          const int s = node_.funnel_stride;
          float* du = dx[1]->ptr() + ((n * u.shape[1] + oh * s) * u.shape[2] + ow * s) * E;
          for (int64_t c = 0; c < E; ++c)
            if (ai[c] == h) du[c] = g[c];
        }
      }
    });
  }

 private:
  std::vector<uint8_t> arg_;
};

}  // namespace

std::unique_ptr<Layer> make_head_reduce(const Node& n) { return std::make_unique<HeadReduceLayer>(n); }

}  // namespace flynet::layers
