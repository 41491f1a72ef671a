// Parameter and MAdds counts of a graph, per layer, in the two conventions of
// ../shared/design/flynet-architecture.md section 4.1:
//   params     conv/FC weights + FC biases + VA-ECA weights, without BN (the paper's count)
//   params_bn  params + 2 per BN channel (torchvision's count)
//   madds_strict    multiply-accumulates of conv, FC and the VA-ECA 1-D conv
//                   (the MobileNetV3/MicroNet convention)
//   madds_profiler  strict + per-element ops: BN 2, activation on a feature map 1, VA-ECA gate multiply 1 (per
//                   gated head element), head reduction 2 per output element, residual add 1,
//                   global pool 1 per input element, SE channel scale 1
// The VA-ECA 1-D conv is shared by the heads and charged once per block (2*k*E), and the head
// reduction a flat 2 ops per output element: those are the choices that reproduce every row of
// the design file's tables 4.2-4.4 (the literal "h-1 ops for max-out" misses the h-sweep rows).
#ifndef FLYNET_CORE_COUNT_HPP_
#define FLYNET_CORE_COUNT_HPP_

#include <cstdint>
#include <vector>

#include "flynet/core/graph.hpp"

namespace flynet {

struct LayerCount {
  int node = 0;                 ///< index into Graph::nodes
  int64_t params = 0;
  int64_t params_bn = 0;
  int64_t madds_strict = 0;
  int64_t madds_profiler = 0;
};

struct GraphCount {
  std::vector<LayerCount> layers;  ///< one per node, same order
  LayerCount total;
};

GraphCount count_graph(const Graph& g);

}  // namespace flynet

#endif  // FLYNET_CORE_COUNT_HPP_
