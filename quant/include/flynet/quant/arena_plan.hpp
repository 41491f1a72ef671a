// Offline arena planning: every activation and scratch buffer of an int8 graph gets an offset
// in one arena. Buffers whose lifetimes overlap never overlap in memory.
//
// Placement is greedy (TFLM's GreedyMemoryPlanner idea: put each buffer at the lowest offset
// where it fits among those already placed), tried under several orders (by size, by lifetime
// length, by size x lifetime, by first use); the smallest arena wins. The result is compared
// with the lower bound no plan can beat: the largest total size of buffers alive at one time.
#ifndef FLYNET_QUANT_ARENA_PLAN_HPP_
#define FLYNET_QUANT_ARENA_PLAN_HPP_

#include <cstdint>
#include <string>
#include <vector>

namespace flynet {

struct ArenaBuffer {
  std::string name;
  uint64_t size = 0;   ///< bytes
  int first = 0;       ///< first step (node index) at which it is alive
  int last = 0;        ///< last step at which it is alive (inclusive)
};

struct ArenaPlan {
  std::vector<uint64_t> offsets;  ///< one per buffer, multiples of the alignment
  uint64_t arena_size = 0;        ///< bytes the arena needs
  uint64_t lower_bound = 0;       ///< max over steps of the aligned sizes alive at that step
  std::string strategy;           ///< which order produced the plan
};

/// Plans `buffers` with every offset and size rounded up to `alignment` (a power of two).
ArenaPlan plan_arena(const std::vector<ArenaBuffer>& buffers, uint64_t alignment = 16);

/// True when two buffers alive at a common step share a byte (used by tests and by the exporter
/// as a final check before writing a plan).
bool plan_has_overlap(const std::vector<ArenaBuffer>& buffers, const ArenaPlan& plan);

}  // namespace flynet

#endif  // FLYNET_QUANT_ARENA_PLAN_HPP_
