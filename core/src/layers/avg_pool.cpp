// Window average pooling, NHWC (imported graphs: ONNX AveragePool). A padded tap adds zero;
// the divisor is the window clipped to the padded map when count_pad is set (ONNX
// count_include_pad), else the taps inside the map. The backward spreads each output's
// gradient evenly over the taps inside the map.
#include <algorithm>

#include "layer_util.hpp"

namespace flynet::layers {

namespace {

// The taps inside the map of one output position, and its divisor.
struct Window {
  int64_t hb, he, wb, we;
  float inv;
};

class AvgPoolLayer final : public Layer {
 public:
  using Layer::Layer;
  void forward(const RunCtx&, const ConstTensorPtrs& x, const TensorPtrs&, Tensor& y) override {
    const Tensor& in = *x[0];
    const int64_t N = in.shape[0], H = in.shape[1], W = in.shape[2], C = in.shape[3];
    const int64_t OH = node_.out.h, OW = node_.out.w;
    reshape(y, {N, OH, OW, C});
    parallel_for(N * OH, [&](int64_t row) {
      const int64_t n = row / OH, oh = row % OH;
      for (int64_t ow = 0; ow < OW; ++ow) {
        const Window w = window(oh, ow, H, W);
        float* yo = y.ptr() + (row * OW + ow) * C;
        std::fill(yo, yo + C, 0.f);
        for (int64_t ih = w.hb; ih < w.he; ++ih)
          for (int64_t iw = w.wb; iw < w.we; ++iw) {
            const float* xi = in.ptr() + ((n * H + ih) * W + iw) * C;
            for (int64_t c = 0; c < C; ++c) yo[c] += xi[c];
          }
        for (int64_t c = 0; c < C; ++c) yo[c] *= w.inv;
      }
    });
  }
  void backward(const RunCtx&, const ConstTensorPtrs& x, const TensorPtrs&, const Tensor&, const Tensor& dy,
                const TensorPtrs& dx, const TensorPtrs&) override {
    if (!dx[0]) return;
    const int64_t N = x[0]->shape[0], H = x[0]->shape[1], W = x[0]->shape[2], C = x[0]->shape[3];
    const int64_t OH = node_.out.h, OW = node_.out.w;
    std::fill(dx[0]->data.begin(), dx[0]->data.end(), 0.f);
    // One image per task: overlapping windows add into the same input element.
    parallel_for(N, [&](int64_t n) {
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          const Window w = window(oh, ow, H, W);
          const float* g = dy.ptr() + ((n * OH + oh) * OW + ow) * C;
          for (int64_t ih = w.hb; ih < w.he; ++ih)
            for (int64_t iw = w.wb; iw < w.we; ++iw) {
              float* d = dx[0]->ptr() + ((n * H + ih) * W + iw) * C;
              for (int64_t c = 0; c < C; ++c) d[c] += g[c] * w.inv;
            }
        }
    });
  }

 private:
  Window window(int64_t oh, int64_t ow, int64_t H, int64_t W) const {
    const ConvGeom g = conv_geom(node_);
    const int64_t h0 = oh * g.sh - g.pt, w0 = ow * g.sw - g.pl;
    Window w{std::max<int64_t>(h0, 0), std::min<int64_t>(h0 + g.kh, H), std::max<int64_t>(w0, 0),
             std::min<int64_t>(w0 + g.kw, W), 0.f};
    int64_t count = (w.he - w.hb) * (w.we - w.wb);
    if (node_.count_pad)
      count = (std::min<int64_t>(h0 + g.kh, H + g.pb) - h0) * (std::min<int64_t>(w0 + g.kw, W + g.pr) - w0);
    w.inv = 1.f / float(count);
    return w;
  }
};

}  // namespace

std::unique_ptr<Layer> make_avg_pool(const Node& n) { return std::make_unique<AvgPoolLayer>(n); }

}  // namespace flynet::layers
