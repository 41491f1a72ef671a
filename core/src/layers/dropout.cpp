// Inverted dropout: in training, each element is kept with probability 1 - p and scaled by
// 1 / (1 - p); at inference it is the identity. The mask is a counter-based hash of
// (seed, step, node, element), so it is reproducible whatever the thread count and needs no
// RNG state in checkpoints beyond the step.
#include <string>

#include "layer_util.hpp"

namespace flynet::layers {

namespace {

uint64_t mix(uint64_t z) {  // splitmix64 finaliser
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// FNV-1a: a name hash that is the same on every platform (std::hash is not).
uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

class DropoutLayer final : public Layer {
 public:
  using Layer::Layer;
  void forward(const RunCtx& ctx, const ConstTensorPtrs& x, const TensorPtrs&, Tensor& y) override {
    const Tensor& in = *x[0];
    reshape(y, in.shape);
    active_ = ctx.training && node_.drop > 0.0;
    if (!active_) {
      std::copy(in.data.begin(), in.data.end(), y.data.begin());
      return;
    }
    const int64_t n = in.numel();
    mask_.resize(size_t(n));
    const uint64_t base = mix(mix(ctx.seed ^ 0xd1b54a32d192ed03ULL) ^ ctx.step) ^ fnv1a(node_.name);
    const uint64_t offset = uint64_t(ctx.first_sample) * uint64_t(n / std::max<int64_t>(1, in.shape[0]));
    const double keep = 1.0 - node_.drop;
    const float scale = float(1.0 / keep);
    // keep iff the top 53 bits, as a fraction, fall below 1 - p
    for (int64_t i = 0; i < n; ++i) {
      const double u = double(mix(base + offset + uint64_t(i)) >> 11) * (1.0 / 9007199254740992.0);
      mask_[size_t(i)] = u < keep ? scale : 0.f;
      y.ptr()[i] = in.ptr()[i] * mask_[size_t(i)];
    }
  }
  void backward(const RunCtx&, const ConstTensorPtrs&, const TensorPtrs&, const Tensor&, const Tensor& dy,
                const TensorPtrs& dx, const TensorPtrs&) override {
    if (!dx[0]) return;
    if (!active_) {
      std::copy(dy.data.begin(), dy.data.end(), dx[0]->data.begin());
      return;
    }
    for (int64_t i = 0; i < dy.numel(); ++i) dx[0]->ptr()[i] = dy.ptr()[i] * mask_[size_t(i)];
  }

 private:
  bool active_ = false;
  FloatBuffer mask_;
};

}  // namespace

std::unique_ptr<Layer> make_dropout(const Node& n) { return std::make_unique<DropoutLayer>(n); }

}  // namespace flynet::layers
