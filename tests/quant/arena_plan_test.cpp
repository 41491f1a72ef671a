#include "flynet/quant/arena_plan.hpp"

#include <gtest/gtest.h>

#include <random>

namespace flynet {
namespace {

TEST(ArenaPlan, ChainReusesMemoryByHand) {
  // A chain a -> b -> c -> d: each buffer lives from its producer to its consumer.
  // Sizes aligned to 16: a 112, b 208, c 64, d 304. Alive together: step 1 a + b = 320,
  // step 2 b + c = 272, step 3 c + d = 368: the lower bound is 368.
  const std::vector<ArenaBuffer> b = {{"a", 100, 0, 1}, {"b", 200, 1, 2}, {"c", 50, 2, 3}, {"d", 300, 3, 4}};
  const ArenaPlan p = plan_arena(b, 16);
  EXPECT_EQ(p.lower_bound, 368u);
  EXPECT_EQ(p.arena_size, p.lower_bound);
  EXPECT_FALSE(plan_has_overlap(b, p));
  for (uint64_t o : p.offsets) EXPECT_EQ(o % 16, 0u);
}

TEST(ArenaPlan, ResidualKeepsTheSkipAlive) {
  // x feeds both a conv chain and the add at the end: it must not be overwritten meanwhile.
  const std::vector<ArenaBuffer> b = {
      {"x", 64, 0, 3}, {"exp", 256, 1, 2}, {"proj", 64, 2, 3}, {"out", 64, 3, 4}};
  const ArenaPlan p = plan_arena(b, 16);
  EXPECT_FALSE(plan_has_overlap(b, p));
  EXPECT_EQ(p.lower_bound, 64u + 256u + 64u);
  EXPECT_EQ(p.arena_size, p.lower_bound);
}

TEST(ArenaPlan, RandomLifetimesNeverOverlapAndStayNearTheBound) {
  std::mt19937 rng(17);
  double worst = 1.0;
  for (int trial = 0; trial < 300; ++trial) {
    std::uniform_int_distribution<int> n_d(1, 40), t_d(0, 60), len_d(0, 8), size_d(1, 5000);
    std::vector<ArenaBuffer> b(size_t(n_d(rng)));
    for (ArenaBuffer& x : b) {
      x.first = t_d(rng);
      x.last = x.first + len_d(rng);
      x.size = uint64_t(size_d(rng));
    }
    const ArenaPlan p = plan_arena(b, 16);
    ASSERT_FALSE(plan_has_overlap(b, p)) << "trial " << trial;
    ASSERT_GE(p.arena_size, p.lower_bound);
    for (size_t i = 0; i < b.size(); ++i) ASSERT_LE(p.offsets[i] + b[i].size, p.arena_size);
    worst = std::max(worst, double(p.arena_size) / double(p.lower_bound));
  }
  // Greedy is not optimal on random interval graphs, but it is never far off.
  EXPECT_LT(worst, 1.6);
}

TEST(ArenaPlan, OverlapCheckDetectsACollision) {
  const std::vector<ArenaBuffer> b = {{"a", 32, 0, 2}, {"b", 32, 1, 3}};
  ArenaPlan p;
  p.offsets = {0, 16};
  EXPECT_TRUE(plan_has_overlap(b, p));
  p.offsets = {0, 32};
  EXPECT_FALSE(plan_has_overlap(b, p));
}

}  // namespace
}  // namespace flynet
