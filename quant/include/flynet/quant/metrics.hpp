// What verify reports about two sets of outputs (and about outputs against labels). The
// formulas, for a = the outputs under test and b = the reference, over all N*K values:
//   rmse   = sqrt( mean (a - b)^2 )
//   mae    = mean |a - b|
//   l2r    = ||a - b|| / ||b||                       (relative L2 error; 0 when equal)
//   cosine = <a, b> / (||a|| ||b||)                  (1 when parallel; 1 when both are zero)
//   nse    = 1 - sum (a - b)^2 / sum (b - mean b)^2  (Nash-Sutcliffe efficiency; 1 = perfect)
//   sqnr   = 10 log10( sum b^2 / sum (a - b)^2 ) dB  (infinite when equal)
// Accuracy: top-k counts an image as right when its label is among the k largest outputs
// (ties broken towards the lower class index, as argmax does); agreement is the share of
// images with the same argmax.
#ifndef FLYNET_QUANT_METRICS_HPP_
#define FLYNET_QUANT_METRICS_HPP_

#include <cstdint>
#include <vector>

namespace flynet {

struct ErrorMetrics {
  double rmse = 0, mae = 0, l2r = 0, cosine = 1, nse = 1, sqnr_db = 0;
  int64_t count = 0;
};

/// Metrics of `a` against the reference `b` (same length).
ErrorMetrics error_metrics(const std::vector<double>& a, const std::vector<double>& b);

/// Index of the largest of `k` values (the first on ties).
int argmax(const double* v, int k);

/// Whether `label` is among the `top` largest of `k` values (ties: lower index first).
bool in_top(const double* v, int k, int label, int top);

/// Top-1 agreement of two [n, k] output sets.
double agreement(const std::vector<double>& a, const std::vector<double>& b, int k);

/// Top-1 / top-5 accuracy of [n, k] outputs against labels, and the confusion matrix
/// (row = label, column = prediction).
struct Accuracy {
  double top1 = 0, top5 = 0;
  std::vector<std::vector<int64_t>> confusion;
};
Accuracy accuracy(const std::vector<double>& outputs, const std::vector<int32_t>& labels, int k);

}  // namespace flynet

#endif  // FLYNET_QUANT_METRICS_HPP_
