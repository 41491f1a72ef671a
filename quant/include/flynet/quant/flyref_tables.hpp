// An IntGraph as the integer reference's tables (flyref_interpreter.h): one flyref_tensor per
// tensor, one flyref_node per op. The in-memory runner, export's scratch sizing and the
// throughput bench all start from these; each then places the activations its own way.
//
//   FlyrefTables t(graph);                   // constants point into `graph`, which must outlive t
//   flyref_graph fg = t.graph();
#ifndef FLYNET_QUANT_FLYREF_TABLES_HPP_
#define FLYNET_QUANT_FLYREF_TABLES_HPP_

#include <vector>

#include "flynet/formats/int_graph.hpp"
#include "flyref_interpreter.h"

namespace flynet {

struct FlyrefTables {
  std::vector<flyref_tensor> tensors;  // activations at arena offset 0 until placed
  std::vector<flyref_node> nodes;      // scratch size and offset 0 until planned

  /// Throws Error{unsupported} naming an op with no output or more inputs/outputs than a node holds.
  explicit FlyrefTables(const IntGraph& g);

  flyref_graph graph() {
    return {tensors.data(), int32_t(tensors.size()), nodes.data(), int32_t(nodes.size())};
  }
  /// A graph of node k alone (over the same tensors): to name the op a whole-graph check rejects
  /// or to run and time one op.
  flyref_graph node_graph(size_t k) { return {tensors.data(), int32_t(tensors.size()), &nodes[k], 1}; }
};

}  // namespace flynet

#endif  // FLYNET_QUANT_FLYREF_TABLES_HPP_
