// Elementwise product with broadcasting (imported graphs: ONNX Mul of two computed tensors):
// an axis of size 1 in an input repeats along the output's. Each input's gradient is dy times
// the other input, summed over the axes it was repeated along.
#include <algorithm>
#include <array>

#include "layer_util.hpp"

namespace flynet::layers {

namespace {

// Element strides of an NHWC tensor read at the output's indices (0 along a broadcast axis).
std::array<int64_t, 4> strides(const Tensor& t) {
  const auto& s = t.shape;
  std::array<int64_t, 4> st{s[1] * s[2] * s[3], s[2] * s[3], s[3], 1};
  for (int k = 0; k < 4; ++k)
    if (s[size_t(k)] == 1) st[size_t(k)] = 0;
  return st;
}

class MulLayer final : public Layer {
 public:
  using Layer::Layer;
  void forward(const RunCtx&, const ConstTensorPtrs& x, const TensorPtrs&, Tensor& y) override {
    reshape(y, {x[0]->shape[0], node_.out.h, node_.out.w, node_.out.c});
    each(y, strides(*x[0]), strides(*x[1]), true, [&](int64_t o, int64_t ia, int64_t ib) {
      y.data[size_t(o)] = x[0]->data[size_t(ia)] * x[1]->data[size_t(ib)];
    });
  }
  void backward(const RunCtx&, const ConstTensorPtrs& x, const TensorPtrs&, const Tensor&, const Tensor& dy,
                const TensorPtrs& dx, const TensorPtrs&) override {
    for (Tensor* d : dx)
      if (d) std::fill(d->data.begin(), d->data.end(), 0.f);
    // Serial: a broadcast input gathers many outputs into one element.
    each(dy, strides(*x[0]), strides(*x[1]), false, [&](int64_t o, int64_t ia, int64_t ib) {
      if (dx[0]) dx[0]->data[size_t(ia)] += dy.data[size_t(o)] * x[1]->data[size_t(ib)];
      if (dx[1]) dx[1]->data[size_t(ib)] += dy.data[size_t(o)] * x[0]->data[size_t(ia)];
    });
  }

 private:
  // f(output index, index in a, index in b) over every output element, in rows of the output.
  template <class F>
  static void each(const Tensor& y, const std::array<int64_t, 4>& sa, const std::array<int64_t, 4>& sb, bool parallel,
                   F&& f) {
    const int64_t H = y.shape[1], W = y.shape[2], C = y.shape[3];
    auto row_of = [&](int64_t row) {
      const int64_t n = row / H, h = row % H;
      for (int64_t w = 0; w < W; ++w)
        for (int64_t c = 0; c < C; ++c)
          f((row * W + w) * C + c, n * sa[0] + h * sa[1] + w * sa[2] + c * sa[3],
            n * sb[0] + h * sb[1] + w * sb[2] + c * sb[3]);
    };
    if (parallel) parallel_for(y.shape[0] * H, row_of);
    else
      for (int64_t row = 0; row < y.shape[0] * H; ++row) row_of(row);
  }
};

}  // namespace

std::unique_ptr<Layer> make_mul(const Node& n) { return std::make_unique<MulLayer>(n); }

}  // namespace flynet::layers
