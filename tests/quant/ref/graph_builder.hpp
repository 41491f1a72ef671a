// Builds flyref graphs by hand for the interpreter tests: activations placed one after another
// in the arena (no reuse, each start aligned), constants kept alive by the builder, nodes with
// their flynet_format.h parameter records (which the caller keeps alive).
#ifndef FLYNET_TESTS_QUANT_REF_GRAPH_BUILDER_HPP_
#define FLYNET_TESTS_QUANT_REF_GRAPH_BUILDER_HPP_

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "flyref_interpreter.h"

namespace fr_test {

struct GraphBuilder {
  std::vector<flyref_tensor> tensors;
  std::vector<flyref_node> nodes;
  uint32_t align, arena_end = 0;
  std::vector<std::vector<int32_t>> keep32;  // moving the outer vector keeps the inner buffers
  std::vector<std::vector<int8_t>> keep8;

  explicit GraphBuilder(uint32_t alignment = 4) : align(alignment) {}

  int act(flyref_dims d, int zp) {
    flyref_tensor t{};
    t.dims = d;
    t.type = FLYNET_TYPE_INT8;
    t.zero_point = zp;
    t.arena_offset = arena_end;
    arena_end += static_cast<uint32_t>(d.n * d.h * d.w * d.c + align - 1) & ~(align - 1);
    tensors.push_back(t);
    return static_cast<int>(tensors.size() - 1);
  }
  int const8(flyref_dims d, std::vector<int8_t> v) {
    keep8.push_back(std::move(v));
    flyref_tensor t{};
    t.dims = d;
    t.type = FLYNET_TYPE_INT8;
    t.data = keep8.back().data();
    tensors.push_back(t);
    return static_cast<int>(tensors.size() - 1);
  }
  int const32(std::vector<int32_t> v) {
    keep32.push_back(std::move(v));
    flyref_tensor t{};
    t.dims = {1, 1, 1, static_cast<int32_t>(keep32.back().size())};
    t.type = FLYNET_TYPE_INT32;
    t.data = keep32.back().data();
    tensors.push_back(t);
    return static_cast<int>(tensors.size() - 1);
  }
  void node(int op, std::vector<int> in, std::vector<int> out, const void* params) {
    flyref_node n{};
    n.op = op;
    n.num_inputs = static_cast<int32_t>(in.size());
    n.num_outputs = static_cast<int32_t>(out.size());
    for (size_t i = 0; i < in.size(); ++i) n.inputs[i] = in[i];
    for (size_t i = 0; i < out.size(); ++i) n.outputs[i] = out[i];
    n.params = params;
    nodes.push_back(n);
  }
  flyref_graph graph() {
    return flyref_graph{tensors.data(), static_cast<int32_t>(tensors.size()), nodes.data(), static_cast<int32_t>(nodes.size())};
  }

  /// Sizes `arena` with the interpreter's scratch planner (plus `slack` bytes; every byte
  /// `fill`), prepares, writes `input` into tensor `x` and invokes; `g` is the graph run.
  ::testing::AssertionResult run(flyref_graph& g, int x, const std::vector<int8_t>& input, std::vector<uint8_t>& arena,
                                 size_t slack = 0, uint8_t fill = 0) {
    g = graph();
    size_t need = 0;
    flyref_status st = flyref_plan_scratch(&g, &need);
    if (st != FLYREF_OK) return ::testing::AssertionFailure() << "plan_scratch: " << flyref_status_str(st);
    arena.assign(need + slack, fill);
    if ((st = flyref_graph_prepare(&g, arena.size())) != FLYREF_OK)
      return ::testing::AssertionFailure() << "prepare: " << flyref_status_str(st);
    std::memcpy(arena.data() + tensors[size_t(x)].arena_offset, input.data(), input.size());
    if ((st = flyref_graph_invoke(&g, arena.data(), arena.size())) != FLYREF_OK)
      return ::testing::AssertionFailure() << "invoke: " << flyref_status_str(st);
    return ::testing::AssertionSuccess();
  }
};

}  // namespace fr_test

#endif  // FLYNET_TESTS_QUANT_REF_GRAPH_BUILDER_HPP_
