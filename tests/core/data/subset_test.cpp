// subset() and split_validation(): disjoint, complete, deterministic, train statistics kept.
#include <algorithm>
#include <set>

#include "data_test_util.hpp"

namespace flynet::test {
namespace {

std::shared_ptr<const Dataset> labelled(int n) {
  DatasetArrays a;
  a.h = a.w = 1;
  a.c = 1;
  for (int i = 0; i < n; ++i) {
    a.images.push_back(uint8_t(i % 256));
    a.labels.push_back(i);
  }
  return memory_dataset(std::move(a), "labelled", n);
}

std::vector<int32_t> labels_of(const Dataset& d) { return read_all(d).labels; }

TEST(Subset, ViewsTheGivenIndices) {
  auto d = labelled(10);
  auto s = subset(d, {7, 2, 2, 9});
  EXPECT_EQ(s->info().size, 4);
  EXPECT_EQ(labels_of(*s), (std::vector<int32_t>{7, 2, 2, 9}));
  EXPECT_EQ(s->info().mean, d->info().mean);
  expect_error([&] { subset(d, {3, 10}); }, ErrorCode::usage, "subset index 10 is out of range for 10 samples",
               "labelled");
}

TEST(SplitValidation, DisjointCompleteDeterministic) {
  auto d = labelled(1000);
  DatasetPair p = split_validation(d, 0.1, 7);
  EXPECT_EQ(p.train->info().size, 900);
  EXPECT_EQ(p.test->info().size, 100);
  std::vector<int32_t> tr = labels_of(*p.train), va = labels_of(*p.test);
  std::set<int32_t> all(tr.begin(), tr.end());
  for (int32_t v : va) EXPECT_TRUE(all.insert(v).second) << v << " in both parts";
  EXPECT_EQ(all.size(), 1000u);
  EXPECT_EQ(p.test->info().mean, d->info().mean);  // train statistics, not the validation part's
  EXPECT_EQ(labels_of(*split_validation(d, 0.1, 7).test), va);
  EXPECT_NE(labels_of(*split_validation(d, 0.1, 8).test), va);
  // Not simply the last or first 10 %.
  EXPECT_FALSE(std::is_sorted(va.begin(), va.end()) && va.front() == 900);
  EXPECT_NE(va.front(), 0);
}

TEST(SplitValidation, Errors) {
  auto d = labelled(10);
  expect_error([&] { split_validation(d, 0.0, 1); }, ErrorCode::usage,
               "validation fraction must be in (0, 1), got 0.000000", "");
  expect_error([&] { split_validation(d, 0.01, 1); }, ErrorCode::usage,
               "validation fraction 0.010000 of 10 samples leaves an empty split", "labelled");
}

}  // namespace
}  // namespace flynet::test
