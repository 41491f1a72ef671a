#include "onednn.hpp"

namespace flynet::layers {

dnnl::engine& cpu_engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

dnnl::stream& cpu_stream() {
  static dnnl::stream s(cpu_engine());
  return s;
}

dnnl::memory reorder_if_needed(const dnnl::memory& from, const dnnl::memory::desc& want, dnnl::memory& cache) {
  if (from.get_desc() == want) return from;
  if (!cache || cache.get_desc() != want) cache = dnnl::memory(want, cpu_engine());
  dnnl::reorder(from, cache).execute(cpu_stream(), const_cast<dnnl::memory&>(from), cache);
  return cache;
}

}  // namespace flynet::layers
