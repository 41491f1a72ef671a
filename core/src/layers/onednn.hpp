// The one oneDNN CPU engine and stream of the process (internal to core/src/layers).
#ifndef FLYNET_CORE_SRC_LAYERS_ONEDNN_HPP_
#define FLYNET_CORE_SRC_LAYERS_ONEDNN_HPP_

#include <dnnl.hpp>

namespace flynet::layers {

dnnl::engine& cpu_engine();
dnnl::stream& cpu_stream();

/// Runs a reorder from `from` to `to` when their layouts differ; returns the memory to use.
dnnl::memory reorder_if_needed(const dnnl::memory& from, const dnnl::memory::desc& want, dnnl::memory& cache);

}  // namespace flynet::layers

#endif  // FLYNET_CORE_SRC_LAYERS_ONEDNN_HPP_
