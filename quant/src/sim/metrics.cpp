#include "flynet/quant/metrics.hpp"

#include <cmath>
#include <limits>

#include "flynet/formats/error.hpp"

namespace flynet {

ErrorMetrics error_metrics(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) throw Error(ErrorCode::internal, "error metrics of outputs of different sizes");
  ErrorMetrics m;
  m.count = int64_t(a.size());
  if (a.empty()) return m;
  double se = 0, ae = 0, aa = 0, bb = 0, ab = 0, bsum = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = a[i] - b[i];
    se += d * d;
    ae += std::fabs(d);
    aa += a[i] * a[i];
    bb += b[i] * b[i];
    ab += a[i] * b[i];
    bsum += b[i];
  }
  const double n = double(a.size()), bmean = bsum / n;
  double bvar = 0;
  for (double v : b) bvar += (v - bmean) * (v - bmean);
  m.rmse = std::sqrt(se / n);
  m.mae = ae / n;
  m.l2r = bb > 0 ? std::sqrt(se / bb) : (se > 0 ? std::numeric_limits<double>::infinity() : 0.0);
  m.cosine = aa > 0 && bb > 0 ? ab / std::sqrt(aa * bb) : (aa == 0 && bb == 0 ? 1.0 : 0.0);
  m.nse = bvar > 0 ? 1.0 - se / bvar : (se == 0 ? 1.0 : -std::numeric_limits<double>::infinity());
  m.sqnr_db = se > 0 ? 10.0 * std::log10(bb / se) : std::numeric_limits<double>::infinity();
  return m;
}

int argmax(const double* v, int k) {
  int best = 0;
  for (int i = 1; i < k; ++i)
    if (v[i] > v[best]) best = i;
  return best;
}

bool in_top(const double* v, int k, int label, int top) {
  if (label < 0 || label >= k) return false;
  // The label's rank: values strictly larger, plus equal ones at a lower index.
  int rank = 0;
  for (int i = 0; i < k; ++i)
    if (v[i] > v[label] || (v[i] == v[label] && i < label)) ++rank;
  return rank < top;
}

double agreement(const std::vector<double>& a, const std::vector<double>& b, int k) {
  if (a.size() != b.size() || k <= 0) throw Error(ErrorCode::internal, "agreement of outputs of different sizes");
  const size_t n = a.size() / size_t(k);
  if (n == 0) return 0;
  size_t same = 0;
  for (size_t i = 0; i < n; ++i) same += argmax(&a[i * size_t(k)], k) == argmax(&b[i * size_t(k)], k);
  return double(same) / double(n);
}

Accuracy accuracy(const std::vector<double>& outputs, const std::vector<int32_t>& labels, int k) {
  if (k <= 0 || outputs.size() != labels.size() * size_t(k))
    throw Error(ErrorCode::internal, "accuracy of outputs that do not match the labels");
  Accuracy r;
  r.confusion.assign(size_t(k), std::vector<int64_t>(size_t(k), 0));
  const size_t n = labels.size();
  if (n == 0) return r;
  size_t t1 = 0, t5 = 0;
  for (size_t i = 0; i < n; ++i) {
    const double* v = &outputs[i * size_t(k)];
    const int p = argmax(v, k);
    t1 += p == labels[i];
    t5 += in_top(v, k, labels[i], 5);
    if (labels[i] >= 0 && labels[i] < k) ++r.confusion[size_t(labels[i])][size_t(p)];
  }
  r.top1 = double(t1) / double(n);
  r.top5 = double(t5) / double(n);
  return r;
}

}  // namespace flynet
