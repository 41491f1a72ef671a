// Batch normalization over N*H*W per channel (NHWC rows of C), hand-written: the statistics
// are a per-channel reduction vectorised over contiguous C, with per-chunk partials in double
// summed in chunk order (deterministic whatever the thread count), and the normalisation is
// one fused multiply-add per element. Training uses batch statistics and updates the running
// ones like PyTorch (running = (1 - m) running + m batch, unbiased variance); evaluation uses
// the running statistics.
#include <cmath>

#include "flynet/core/comm.hpp"
#include "layer_util.hpp"

namespace flynet::layers {

namespace {

FLYNET_SIMD void row_sums(const float* __restrict x, int64_t rows, int C, double* __restrict s,
                          double* __restrict s2) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* __restrict xr = x + r * C;
    for (int c = 0; c < C; ++c) {
      const double v = xr[c];
      s[c] += v;
      s2[c] += v * v;
    }
  }
}

FLYNET_SIMD void row_affine(const float* __restrict x, int64_t rows, int C, const float* __restrict a,
                            const float* __restrict b, float* __restrict y) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* __restrict xr = x + r * C;
    float* __restrict yr = y + r * C;
    for (int c = 0; c < C; ++c) yr[c] = xr[c] * a[c] + b[c];
  }
}

// sum(dy) and sum(dy * (x - mean)) per channel.
FLYNET_SIMD void row_grad_sums(const float* __restrict x, const float* __restrict dy, int64_t rows, int C,
                               const float* __restrict mean, double* __restrict sdy, double* __restrict sdyx) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* __restrict xr = x + r * C;
    const float* __restrict dr = dy + r * C;
    for (int c = 0; c < C; ++c) {
      sdy[c] += dr[c];
      sdyx[c] += double(dr[c]) * (xr[c] - mean[c]);
    }
  }
}

// dx = a * dy + b * (x - mean) + d
FLYNET_SIMD void row_dx(const float* __restrict x, const float* __restrict dy, int64_t rows, int C,
                        const float* __restrict mean, const float* __restrict a, const float* __restrict b,
                        const float* __restrict d, float* __restrict dx) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* __restrict xr = x + r * C;
    const float* __restrict dr = dy + r * C;
    float* __restrict o = dx + r * C;
    for (int c = 0; c < C; ++c) o[c] = a[c] * dr[c] + b[c] * (xr[c] - mean[c]) + d[c];
  }
}

class BatchNormLayer final : public Layer {
 public:
  using Layer::Layer;

  void forward(const RunCtx& ctx, const ConstTensorPtrs& x, const TensorPtrs& p, Tensor& y) override {
    const Tensor& in = *x[0];
    reshape(y, in.shape);
    const int C = int(in.shape[3]);
    const int64_t M = in.numel() / C;
    const float* gamma = p[0]->ptr();
    const float* beta = p[1]->ptr();
    float* rmean = p[2]->ptr();
    float* rvar = p[3]->ptr();
    mean_.assign(size_t(C), 0.f);
    invstd_.assign(size_t(C), 0.f);
    scale_.assign(size_t(C), 0.f);
    shift_.assign(size_t(C), 0.f);
    training_ = ctx.training && !ctx.bn_frozen;
    const float eps = float(node_.bn_eps);
    if (training_) {
      std::vector<double> s, s2;
      reduce(M, C, s, s2, [&](int64_t r0, int64_t r1, double* a, double* b) {
        row_sums(in.ptr() + r0 * C, r1 - r0, C, a, b);
      });
      count_ = sum_over_ranks(ctx, M, s, s2);
      const double mom = ctx.bn_momentum >= 0 ? ctx.bn_momentum : node_.bn_momentum;
      for (int c = 0; c < C; ++c) {
        const double mu = s[size_t(c)] / double(count_);
        const double var = std::max(0.0, s2[size_t(c)] / double(count_) - mu * mu);
        mean_[size_t(c)] = float(mu);
        invstd_[size_t(c)] = float(1.0 / std::sqrt(var + eps));
        rmean[c] = float((1 - mom) * rmean[c] + mom * mu);
        const double unbiased = count_ > 1 ? var * double(count_) / double(count_ - 1) : var;
        rvar[c] = float((1 - mom) * rvar[c] + mom * unbiased);
      }
    } else {
      for (int c = 0; c < C; ++c) {
        mean_[size_t(c)] = rmean[c];
        invstd_[size_t(c)] = float(1.0 / std::sqrt(double(rvar[c]) + eps));
      }
    }
    for (int c = 0; c < C; ++c) {
      scale_[size_t(c)] = gamma[c] * invstd_[size_t(c)];
      shift_[size_t(c)] = beta[c] - mean_[size_t(c)] * scale_[size_t(c)];
    }
    const Chunks rows(M, 64);
    parallel_for(rows.count, [&](int64_t k) {
      row_affine(in.ptr() + rows.begin(k) * C, rows.end(k) - rows.begin(k), C, scale_.data(), shift_.data(),
                 y.ptr() + rows.begin(k) * C);
    });
  }

  void backward(const RunCtx& ctx, const ConstTensorPtrs& x, const TensorPtrs& p, const Tensor&, const Tensor& dy,
                const TensorPtrs& dx, const TensorPtrs& dp) override {
    const Tensor& in = *x[0];
    const int C = int(in.shape[3]);
    const int64_t M = in.numel() / C;
    const float* gamma = p[0]->ptr();
    std::vector<double> sdy, sdyx;
    reduce(M, C, sdy, sdyx, [&](int64_t r0, int64_t r1, double* a, double* b) {
      row_grad_sums(in.ptr() + r0 * C, dy.ptr() + r0 * C, r1 - r0, C, mean_.data(), a, b);
    });
    // dgamma = sum(dy * xhat), dbeta = sum(dy)
    if (dp[0])
      for (int c = 0; c < C; ++c) dp[0]->ptr()[c] = float(sdyx[size_t(c)] * invstd_[size_t(c)]);
    if (dp[1])
      for (int c = 0; c < C; ++c) dp[1]->ptr()[c] = float(sdy[size_t(c)]);
    if (!dx[0]) return;
    // The parameter gradients above stay this rank's share (the gradient all-reduce adds
    // them); the input gradient needs the global sums, as the statistics were global.
    if (training_) sum_over_ranks(ctx, 0, sdy, sdyx);
    const double count = double(training_ ? count_ : M);
    std::vector<float> a(static_cast<size_t>(C)), b(static_cast<size_t>(C)), d(static_cast<size_t>(C));
    for (int c = 0; c < C; ++c) {
      const double is = invstd_[size_t(c)];
      a[size_t(c)] = float(gamma[c] * is);
      if (training_) {
        // dx = gamma*is*(dy - mean(dy) - xhat*mean(dy*xhat))
        b[size_t(c)] = float(-gamma[c] * is * is * is * sdyx[size_t(c)] / count);
        d[size_t(c)] = float(-gamma[c] * is * sdy[size_t(c)] / count);
      } else {
        b[size_t(c)] = 0.f;
        d[size_t(c)] = 0.f;
      }
    }
    const Chunks rows(M, 64);
    parallel_for(rows.count, [&](int64_t k) {
      const int64_t r0 = rows.begin(k);
      row_dx(in.ptr() + r0 * C, dy.ptr() + r0 * C, rows.end(k) - r0, C, mean_.data(), a.data(), b.data(), d.data(),
             dx[0]->ptr() + r0 * C);
    });
  }

 private:
  // Per-channel sums over M rows: fixed chunks, partials summed in chunk order.
  template <class F>
  static void reduce(int64_t M, int C, std::vector<double>& s, std::vector<double>& s2, F&& f) {
    const Chunks rows(M, 32);
    std::vector<double> part(size_t(rows.count) * 2 * C, 0.0);
    parallel_for(rows.count, [&](int64_t k) {
      double* a = part.data() + k * 2 * C;
      f(rows.begin(k), rows.end(k), a, a + C);
    });
    s.assign(size_t(C), 0.0);
    s2.assign(size_t(C), 0.0);
    for (int64_t k = 0; k < rows.count; ++k)
      for (int c = 0; c < C; ++c) {
        s[size_t(c)] += part[size_t(k * 2 * C + c)];
        s2[size_t(c)] += part[size_t(k * 2 * C + C + c)];
      }
  }

  // With synchronised BN, the per-channel sums and the row count over all ranks (in place);
  // returns the global count. Otherwise the local ones as they are.
  static int64_t sum_over_ranks(const RunCtx& ctx, int64_t rows, std::vector<double>& s, std::vector<double>& s2) {
    if (!ctx.sync_bn || ctx.sync_bn->size() == 1) return rows;
    const size_t C = s.size();
    std::vector<double> v(2 * C + 1);
    std::copy(s.begin(), s.end(), v.begin());
    std::copy(s2.begin(), s2.end(), v.begin() + ptrdiff_t(C));
    v[2 * C] = double(rows);
    ctx.sync_bn->allreduce_sum(v.data(), int64_t(v.size()));
    std::copy(v.begin(), v.begin() + ptrdiff_t(C), s.begin());
    std::copy(v.begin() + ptrdiff_t(C), v.begin() + ptrdiff_t(2 * C), s2.begin());
    return int64_t(v[2 * C]);
  }

  bool training_ = false;
  int64_t count_ = 0;  // rows behind the batch statistics (all ranks' with sync_bn)
  std::vector<float> mean_, invstd_, scale_, shift_;
};

}  // namespace

std::unique_ptr<Layer> make_batchnorm(const Node& n) { return std::make_unique<BatchNormLayer>(n); }

}  // namespace flynet::layers
