// Softmax cross-entropy with label smoothing, in double per row (K is small), rows in order.
#include "flynet/core/loss.hpp"

#include <cmath>

#include "flynet/core/layers.hpp"
#include "flynet/formats/error.hpp"

namespace flynet {

LossResult softmax_cross_entropy(const Tensor& logits, const std::vector<int32_t>& labels, double smoothing,
                                 Tensor* dlogits) {
  const int64_t N = int64_t(labels.size());
  if (N == 0 || logits.numel() % N) throw Error(ErrorCode::shape, "logits do not match the labels");
  const int64_t K = logits.numel() / N;
  if (dlogits) reshape(*dlogits, logits.shape);
  LossResult r;
  std::vector<double> p(static_cast<size_t>(K));
  for (int64_t n = 0; n < N; ++n) {
    const float* z = logits.ptr() + n * K;
    const int32_t y = labels[size_t(n)];
    if (y < 0 || y >= K) throw Error(ErrorCode::shape, "label " + std::to_string(y) + " out of range");
    int64_t arg = 0;
    double mx = z[0];
    for (int64_t k = 1; k < K; ++k)
      if (z[k] > mx) mx = z[k], arg = k;
    double sum = 0.0;
    for (int64_t k = 0; k < K; ++k) sum += (p[size_t(k)] = std::exp(double(z[k]) - mx));
    const double lse = mx + std::log(sum);
    double loss = 0.0;
    for (int64_t k = 0; k < K; ++k) {
      const double q = smoothing / double(K) + (k == y ? 1.0 - smoothing : 0.0);
      loss -= q * (double(z[k]) - lse);
      if (dlogits) dlogits->ptr()[n * K + k] = float((p[size_t(k)] / sum - q) / double(N));
    }
    r.loss += loss;
    r.correct += arg == y;
  }
  r.loss /= double(N);
  return r;
}

}  // namespace flynet
