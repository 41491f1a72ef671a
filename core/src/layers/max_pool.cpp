// Window max pooling, NHWC (imported graphs: ONNX MaxPool). The forward keeps, per output
// element, the input index of its maximum (the first one on ties), and the backward routes the
// gradient there. Padded taps are not candidates, as in ONNX and the int8 kernel.
#include <limits>

#include "layer_util.hpp"

namespace flynet::layers {

namespace {

class MaxPoolLayer final : public Layer {
 public:
  using Layer::Layer;
  void forward(const RunCtx&, const ConstTensorPtrs& x, const TensorPtrs&, Tensor& y) override {
    const Tensor& in = *x[0];
    const int64_t N = in.shape[0], H = in.shape[1], W = in.shape[2], C = in.shape[3];
    const ConvGeom g = conv_geom(node_);
    const int64_t OH = g.out_h(int(H)), OW = g.out_w(int(W));
    reshape(y, {N, OH, OW, C});
    argmax_.resize(size_t(y.numel()));
    parallel_for(N * OH, [&](int64_t row) {
      const int64_t n = row / OH, oh = row % OH;
      for (int64_t ow = 0; ow < OW; ++ow)
        for (int64_t c = 0; c < C; ++c) {
          float best = -std::numeric_limits<float>::infinity();
          int64_t at = -1;
          for (int kh = 0; kh < g.kh; ++kh) {
            const int64_t ih = oh * g.sh - g.pt + kh;
            if (ih < 0 || ih >= H) continue;
            for (int kw = 0; kw < g.kw; ++kw) {
              const int64_t iw = ow * g.sw - g.pl + kw;
              if (iw < 0 || iw >= W) continue;
              const int64_t i = ((n * H + ih) * W + iw) * C + c;
              if (at < 0 || in.data[size_t(i)] > best) {
                best = in.data[size_t(i)];
                at = i;
              }
            }
          }
          const int64_t o = ((n * OH + oh) * OW + ow) * C + c;
          y.data[size_t(o)] = best;
          argmax_[size_t(o)] = at;
        }
    });
  }
  void backward(const RunCtx&, const ConstTensorPtrs&, const TensorPtrs&, const Tensor&, const Tensor& dy,
                const TensorPtrs& dx, const TensorPtrs&) override {
    if (!dx[0]) return;
    float* d = dx[0]->ptr();
    for (int64_t i = 0; i < dx[0]->numel(); ++i) d[i] = 0.f;
    // Serial: overlapping windows may route several outputs to one input.
    for (int64_t o = 0; o < dy.numel(); ++o)
      if (argmax_[size_t(o)] >= 0) d[argmax_[size_t(o)]] += dy.data[size_t(o)];
  }

 private:
  std::vector<int64_t> argmax_;
};

}  // namespace

std::unique_ptr<Layer> make_max_pool(const Node& n) { return std::make_unique<MaxPoolLayer>(n); }

}  // namespace flynet::layers
