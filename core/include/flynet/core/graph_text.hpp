// The text form of a graph that is not built from an ArchSpec's choices: an imported network
// (flynet import) is stored as its nodes, one line each, in the model's architecture record
// (ArchSpec::graph, key "graph"), and build_graph() reads it back. Parameters are not in the
// text: each node declares them from its op and attributes (declare_params), with the names and
// shapes the built FlyNet uses ("<node>.weight" OIHW / [out, in], "<node>.bias", BN's four).
//
//   conv_3 conv2d in=2 out=16x16x32 cin=16 cout=32 k=3x3 s=2x2 p=1,1,0,0 d=1 g=1 bias=1
//
// Every value is checked when read: inputs come before the node, output shapes are what the op
// computes from its inputs (infer_shape), so a tampered file is refused, never run.
#ifndef FLYNET_CORE_GRAPH_TEXT_HPP_
#define FLYNET_CORE_GRAPH_TEXT_HPP_

#include <string>

#include "flynet/core/graph.hpp"

namespace flynet {

/// The ops an imported graph may hold.
bool importable_op(OpKind op);
/// Declares `n`'s parameters (replacing any) from its op and attributes.
void declare_params(Node& n);
/// The output shape of `n` from its inputs' shapes in `g` and its attributes; throws
/// Error{format} naming the node when they do not fit together.
Shape infer_shape(const Graph& g, const Node& n);
/// The elementwise result of inputs a and b: per axis equal, or 1 in one of them (throws for node n).
Shape broadcast_shape(const Node& n, const Shape& a, const Shape& b);
/// One line per node, nodes[0] the input.
std::string graph_to_text(const Graph& g);
/// The graph of an imported spec; throws Error{format} naming the line at fault.
Graph graph_from_text(const ArchSpec& spec);

}  // namespace flynet

#endif  // FLYNET_CORE_GRAPH_TEXT_HPP_
