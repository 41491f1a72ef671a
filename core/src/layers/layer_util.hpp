// Shared plumbing of the layer implementations (internal to core/src/layers).
#ifndef FLYNET_CORE_SRC_LAYERS_LAYER_UTIL_HPP_
#define FLYNET_CORE_SRC_LAYERS_LAYER_UTIL_HPP_

#include <cstdint>
#include <memory>
#include <vector>

#include <omp.h>

#include "flynet/core/layers.hpp"

// Hot element-wise and depthwise loops are compiled for AVX-512, AVX2+FMA and baseline x86-64;
// the loader picks the best at run time, so the binary stays portable while using the vector
// width of the machine (oneDNN does the same internally).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FLYNET_SIMD __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FLYNET_SIMD
#endif

namespace flynet::layers {

// OpenMP, not TBB: oneDNN 2.6 from Debian runs on OpenMP, so sharing its thread pool keeps
// the 2 cores from being oversubscribed. Static schedule: every index goes to a fixed thread
// and no result depends on timing.
template <class F>
void parallel_for(int64_t n, F&& f) {
  if (n <= 1 || omp_get_max_threads() == 1) {
    for (int64_t i = 0; i < n; ++i) f(i);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) f(i);
}

/// Fixed chunking of [0, n) for deterministic reductions: per-chunk partials are summed in
/// chunk order, so the result does not depend on the thread count or scheduling.
struct Chunks {
  int64_t n, count;
  Chunks(int64_t total, int64_t max_chunks) : n(total), count(total < max_chunks ? (total > 0 ? total : 1) : max_chunks) {}
  int64_t begin(int64_t k) const { return n * k / count; }
  int64_t end(int64_t k) const { return n * (k + 1) / count; }
};

inline int64_t batch_of(const Tensor& t) { return t.shape.empty() ? 0 : t.shape[0]; }

std::unique_ptr<Layer> make_conv2d(const Node& n);
std::unique_ptr<Layer> make_depthwise(const Node& n);
std::unique_ptr<Layer> make_dw_concat(const Node& n);
std::unique_ptr<Layer> make_batchnorm(const Node& n);
std::unique_ptr<Layer> make_activation(const Node& n);
std::unique_ptr<Layer> make_va_eca(const Node& n);
std::unique_ptr<Layer> make_head_reduce(const Node& n);
std::unique_ptr<Layer> make_add(const Node& n);
std::unique_ptr<Layer> make_global_avg_pool(const Node& n);
std::unique_ptr<Layer> make_linear(const Node& n);
std::unique_ptr<Layer> make_scale_channels(const Node& n);
std::unique_ptr<Layer> make_dropout(const Node& n);
std::unique_ptr<Layer> make_max_pool(const Node& n);
std::unique_ptr<Layer> make_avg_pool(const Node& n);
std::unique_ptr<Layer> make_concat(const Node& n);
std::unique_ptr<Layer> make_mul(const Node& n);
std::unique_ptr<Layer> make_softmax(const Node& n);

}  // namespace flynet::layers

#endif  // FLYNET_CORE_SRC_LAYERS_LAYER_UTIL_HPP_
