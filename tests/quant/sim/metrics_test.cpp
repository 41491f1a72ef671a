// verify's metrics on hand-computed cases.
#include "flynet/quant/metrics.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace flynet {
namespace {

TEST(Metrics, ByHand) {
  // a - b = [1, -1, 0, 2]: se = 6, |d| = 4, ||b||^2 = 1 + 4 + 9 + 16 = 30, <a,b> = 2*1 + 1*2 + 3*3
  // + 6*4 = 37, ||a||^2 = 4 + 1 + 9 + 36 = 50, mean b = 2.5, sum (b - 2.5)^2 = 5.
  const std::vector<double> a{2, 1, 3, 6}, b{1, 2, 3, 4};
  const ErrorMetrics m = error_metrics(a, b);
  EXPECT_DOUBLE_EQ(m.rmse, std::sqrt(6.0 / 4));
  EXPECT_DOUBLE_EQ(m.mae, 1.0);
  EXPECT_DOUBLE_EQ(m.l2r, std::sqrt(6.0 / 30));
  EXPECT_DOUBLE_EQ(m.cosine, 37 / std::sqrt(50.0 * 30));
  EXPECT_DOUBLE_EQ(m.nse, 1 - 6.0 / 5);
  EXPECT_DOUBLE_EQ(m.sqnr_db, 10 * std::log10(30 / 6.0));
  EXPECT_EQ(m.count, 4);
  const ErrorMetrics same = error_metrics(b, b);
  EXPECT_EQ(same.rmse, 0);
  EXPECT_EQ(same.l2r, 0);
  EXPECT_DOUBLE_EQ(same.cosine, 1);
  EXPECT_EQ(same.nse, 1);
  EXPECT_TRUE(std::isinf(same.sqnr_db));
}

TEST(Metrics, AccuracyAgreementConfusion) {
  // 3 images, 6 classes. Image 0: argmax 2 (label 2); image 1: tie of classes 0 and 4 at the
  // top -> argmax 0 (label 4, so top-1 wrong, top-5 right); image 2: label 5 is the smallest
  // value -> outside the top 5.
  const std::vector<double> out{0, 1, 9, 3, 2, 1,   //
                                7, 1, 1, 1, 7, 0,   //
                                5, 4, 3, 2, 1, 0};
  const std::vector<int32_t> labels{2, 4, 5};
  const Accuracy a = accuracy(out, labels, 6);
  EXPECT_DOUBLE_EQ(a.top1, 1.0 / 3);
  EXPECT_DOUBLE_EQ(a.top5, 2.0 / 3);
  EXPECT_EQ(a.confusion[2][2], 1);
  EXPECT_EQ(a.confusion[4][0], 1);
  EXPECT_EQ(a.confusion[5][0], 1);
  EXPECT_TRUE(in_top(&out[6], 6, 4, 2));   // rank 1: only class 0 (equal, lower index) is before it
  EXPECT_FALSE(in_top(&out[6], 6, 4, 1));
  std::vector<double> other = out;
  other[0 * 6 + 3] = 10;  // image 0 now predicts 3
  EXPECT_DOUBLE_EQ(agreement(out, other, 6), 2.0 / 3);
}

}  // namespace
}  // namespace flynet
