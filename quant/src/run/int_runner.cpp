#include "flynet/quant/int_runner.hpp"
#include "flynet/quant/flyref_status_text.hpp"

#include <algorithm>
#include <cstring>

#include "flynet/formats/error.hpp"
#include "flynet/formats/limits.hpp"
#include "flynet/quant/flyref_tables.hpp"

namespace flynet {

std::vector<ArenaBuffer> activation_lifetimes(const IntGraph& g) {
  const int steps = int(g.ops.size());
  std::vector<ArenaBuffer> b(g.tensors.size());
  std::vector<int> first(g.tensors.size(), steps), last(g.tensors.size(), -1);
  for (int s = 0; s < steps; ++s) {
    for (int32_t t : g.ops[size_t(s)].outputs) first[size_t(t)] = std::min(first[size_t(t)], s);
    for (int32_t t : g.ops[size_t(s)].inputs)
      if (t >= 0) last[size_t(t)] = std::max(last[size_t(t)], s);
  }
  if (g.input >= 0) first[size_t(g.input)] = 0;
  if (g.output >= 0) last[size_t(g.output)] = steps - 1;
  for (size_t t = 0; t < g.tensors.size(); ++t) {
    b[t].name = g.tensors[t].name;
    if (g.tensors[t].constant()) continue;  // size 0: constants live in flash
    b[t].size = g.tensors[t].bytes();
    int f = first[t], l = last[t];
    if (f == steps) f = 0;  // read but never written (or untouched): from the start
    if (l < f) l = f;       // written but never read: its op still writes the bytes
    b[t].first = f;
    b[t].last = l;
  }
  return b;
}

struct IntRunner::Impl {
  explicit Impl(const IntGraph& g) : tables(g), graph(tables.graph()) {}
  FlyrefTables tables;
  flyref_graph graph;
};

namespace {
void ensure(flyref_status st, const IntGraph& g, int node, const char* what) {
  if (st == FLYREF_OK) return;
  std::string where = node >= 0 ? " at op '" + g.ops[size_t(node)].name + "'" : "";
  throw Error(ErrorCode::unsupported, std::string("integer reference ") + what + " failed" + where + ": " +
                                          flyref_status_text(st));
}
}  // namespace

IntRunner::IntRunner(const IntGraph& g, bool keep_all_tensors) : impl_(std::make_unique<Impl>(g)), g_(&g) {
  Impl& im = *impl_;
  // With every tensor at offset 0, the reference's own scratch planner reports each op's
  // scratch need; our planner then places tensors and scratch together.
  size_t unused = 0;
  ensure(flyref_plan_scratch(&im.graph, &unused), g, -1, "scratch sizing");
  buffers_ = activation_lifetimes(g);
  if (keep_all_tensors)
    for (ArenaBuffer& b : buffers_) {
      b.first = 0;
      b.last = int(g.ops.size());
    }
  for (size_t k = 0; k < im.tables.nodes.size(); ++k)
    if (im.tables.nodes[k].scratch_size)
      buffers_.push_back({g.ops[k].name + ".scratch", im.tables.nodes[k].scratch_size, int(k), int(k)});
  plan_ = plan_arena(buffers_, 16);
  // Activation shapes come from the file unchecked against anything else: bound what they plan.
  limits::check("the arena the int8 graph plans", plan_.arena_size, limits::kIntArenaBytes, "bytes", g.source);
  for (size_t t = 0; t < im.tables.tensors.size(); ++t) im.tables.tensors[t].arena_offset = uint32_t(plan_.offsets[t]);
  for (size_t b = im.tables.tensors.size(), k = 0; k < im.tables.nodes.size(); ++k)
    if (im.tables.nodes[k].scratch_size) im.tables.nodes[k].scratch_offset = uint32_t(plan_.offsets[b++]);
  arena_.assign(plan_.arena_size + 16, 0);
  ensure(flyref_graph_prepare(&im.graph, arena_.size()), g, -1, "prepare");
}

IntRunner::~IntRunner() = default;
IntRunner::IntRunner(IntRunner&&) noexcept = default;

void IntRunner::run(const int8_t* input, int8_t* output) {
  Impl& im = *impl_;
  const IntTensor& in = g_->tensors[size_t(g_->input)];
  std::memcpy(arena_.data() + im.tables.tensors[size_t(g_->input)].arena_offset, input, in.bytes());
  const flyref_status st = flyref_graph_invoke(&im.graph, arena_.data(), arena_.size());
  if (st != FLYREF_OK) ensure(st, *g_, -1, "invoke");
  const IntTensor& out = g_->tensors[size_t(g_->output)];
  std::memcpy(output, arena_.data() + im.tables.tensors[size_t(g_->output)].arena_offset, out.bytes());
}

const int8_t* IntRunner::tensor(int32_t t) const {
  return static_cast<const int8_t*>(flyref_tensor_data(&impl_->graph, arena_.data(), t));
}

}  // namespace flynet
