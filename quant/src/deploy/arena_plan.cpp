#include "flynet/quant/arena_plan.hpp"

#include <algorithm>
#include <functional>
#include <numeric>

#include "flynet/formats/error.hpp"

namespace flynet {

namespace {

uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

bool alive_together(const ArenaBuffer& a, const ArenaBuffer& b) { return a.first <= b.last && b.first <= a.last; }

// Greedy placement in the given order: each buffer goes to the lowest aligned offset whose
// range is free of every already placed buffer it is alive with.
std::vector<uint64_t> place(const std::vector<ArenaBuffer>& bufs, const std::vector<size_t>& order, uint64_t align,
                            uint64_t& arena) {
  std::vector<uint64_t> off(bufs.size(), 0);
  std::vector<size_t> placed;
  arena = 0;
  for (size_t i : order) {
    const uint64_t size = align_up(bufs[i].size, align);
    // Occupied intervals among the conflicting placed buffers, sorted by offset.
    std::vector<std::pair<uint64_t, uint64_t>> busy;
    for (size_t j : placed)
      if (alive_together(bufs[i], bufs[j])) busy.push_back({off[j], off[j] + align_up(bufs[j].size, align)});
    std::sort(busy.begin(), busy.end());
    uint64_t at = 0;
    for (const auto& [lo, hi] : busy) {
      if (at + size <= lo) break;
      at = std::max(at, hi);
    }
    off[i] = at;
    arena = std::max(arena, at + size);
    placed.push_back(i);
  }
  return off;
}

}  // namespace

ArenaPlan plan_arena(const std::vector<ArenaBuffer>& bufs, uint64_t align) {
  if (align == 0 || (align & (align - 1))) throw Error(ErrorCode::internal, "arena alignment must be a power of two");
  for (const ArenaBuffer& b : bufs)
    if (b.first > b.last) throw Error(ErrorCode::internal, "buffer '" + b.name + "' ends before it starts");

  ArenaPlan best;
  int steps = 0;
  for (const ArenaBuffer& b : bufs) steps = std::max(steps, b.last + 1);
  std::vector<uint64_t> live(size_t(steps), 0);
  for (const ArenaBuffer& b : bufs)
    for (int t = b.first; t <= b.last; ++t) live[size_t(t)] += align_up(b.size, align);
  best.lower_bound = live.empty() ? 0 : *std::max_element(live.begin(), live.end());

  using Less = std::function<bool(const ArenaBuffer&, const ArenaBuffer&)>;
  const std::pair<const char*, Less> orders[] = {
      {"size", [](const ArenaBuffer& a, const ArenaBuffer& b) { return a.size > b.size; }},
      {"lifetime", [](const ArenaBuffer& a, const ArenaBuffer& b) { return a.last - a.first > b.last - b.first; }},
      {"area", [](const ArenaBuffer& a, const ArenaBuffer& b) {
         return a.size * uint64_t(a.last - a.first + 1) > b.size * uint64_t(b.last - b.first + 1);
       }},
      {"first-use", [](const ArenaBuffer& a, const ArenaBuffer& b) { return a.first < b.first; }},
  };
  best.arena_size = UINT64_MAX;
  for (const auto& [name, less] : orders) {
    std::vector<size_t> order(bufs.size());
    std::iota(order.begin(), order.end(), size_t(0));
    // Stable with the index as the final key: plans are reproducible run to run.
    // A named copy of the binding: clang 14 (the sanitizer build) cannot capture a binding.
    const auto& by = less;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return by(bufs[a], bufs[b]); });
    uint64_t arena = 0;
    std::vector<uint64_t> off = place(bufs, order, align, arena);
    if (arena < best.arena_size) {
      best.arena_size = arena;
      best.offsets = std::move(off);
      best.strategy = name;
    }
    if (best.arena_size == best.lower_bound) break;
  }
  if (bufs.empty()) best.arena_size = 0;
  return best;
}

bool plan_has_overlap(const std::vector<ArenaBuffer>& bufs, const ArenaPlan& plan) {
  for (size_t i = 0; i < bufs.size(); ++i)
    for (size_t j = i + 1; j < bufs.size(); ++j) {
      if (!alive_together(bufs[i], bufs[j]) || bufs[i].size == 0 || bufs[j].size == 0) continue;
      const uint64_t a0 = plan.offsets[i], a1 = a0 + bufs[i].size;
      const uint64_t b0 = plan.offsets[j], b1 = b0 + bufs[j].size;
      if (a0 < b1 && b0 < a1) return true;
    }
  return false;
}

}  // namespace flynet
