#include "flynet/quant/arena_plan.hpp"
#include "flynet/quant/int_runner.hpp"

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

// Lifetimes by hand on a four-op graph: in(0) -op0-> a(2) and unread(3); a -op1-> b(4) with the
// constant w(1); op2 writes b2(5) from nothing; b, b2 -op3-> out(6); t(7) is touched by no op.
// An output nobody reads still takes its bytes during its op (its op writes them), so it cannot
// share memory with the other output of that op.
TEST(ActivationLifetimes, ByHandIncludingUnreadAndUntouchedTensors) {
  IntGraph g;
  auto tensor = [&](const char* name, int32_t c, bool constant = false) {
    IntTensor t;
    t.name = name;
    t.dims = {1, 1, 1, c};
    if (constant) t.data.assign(size_t(c), 1);
    g.tensors.push_back(t);
  };
  tensor("in", 10);
  tensor("w", 7, true);
  tensor("a", 20);
  tensor("unread", 30);
  tensor("b", 40);
  tensor("b2", 50);
  tensor("out", 60);
  tensor("t", 70);
  auto op = [&](std::vector<int32_t> in, std::vector<int32_t> out) {
    IntOp o;
    o.inputs = std::move(in);
    o.outputs = std::move(out);
    g.ops.push_back(o);
  };
  op({0}, {2, 3});
  op({2, 1}, {4});
  op({}, {5});
  op({4, 5}, {6});
  g.input = 0;
  g.output = 6;
  const std::vector<ArenaBuffer> b = activation_lifetimes(g);
  ASSERT_EQ(b.size(), 8u);
  const int want[8][3] = {{10, 0, 0}, {0, -1, -1}, {20, 0, 1}, {30, 0, 0}, {40, 1, 3}, {50, 2, 3}, {60, 3, 3}, {70, 0, 0}};
  for (size_t t = 0; t < 8; ++t) {
    EXPECT_EQ(b[t].size, uint64_t(want[t][0])) << g.tensors[t].name;
    if (want[t][0] == 0) continue;
    EXPECT_EQ(b[t].first, want[t][1]) << g.tensors[t].name;
    EXPECT_EQ(b[t].last, want[t][2]) << g.tensors[t].name;
  }
  const ArenaPlan p = plan_arena(b, 16);
  EXPECT_FALSE(plan_has_overlap(b, p));
  // a and unread are both written by op 0
  const auto apart = [&](size_t x, size_t y) {
    return p.offsets[x] + b[x].size <= p.offsets[y] || p.offsets[y] + b[y].size <= p.offsets[x];
  };
  EXPECT_TRUE(apart(2, 3));
  EXPECT_TRUE(apart(0, 3));
}

}  // namespace
}  // namespace flynet
