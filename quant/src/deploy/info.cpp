#include "flynet/quant/info.hpp"

#include <algorithm>
#include <fstream>

#include "flynet/core/model.hpp"
#include "flynet/formats/atomic_file.hpp"
#include "flynet/formats/h5_store.hpp"
#include "flynet/formats/int_graph.hpp"
#include "flynet/quant/fly_runner.hpp"
#include "flynet/quant/int_runner.hpp"
#include "flynet_format.h"

namespace flynet {

namespace {

std::array<int32_t, 3> output_hwc(const IntGraph& g, const IntOp& op) {
  const auto& d = g.tensors[size_t(op.outputs[0])].dims;
  return {d[1], d[2], d[3]};
}

// The plan as boxes: each activation over its lifetime at its planned offset, each op's scratch
// and decode regions over that op.
std::vector<FlyArenaBox> arena_boxes(const IntGraph& g, const FlyPlan& plan, const std::vector<ArenaBuffer>& life,
                                     const FlyRunner& runner) {
  std::vector<FlyArenaBox> boxes;
  for (size_t t = 0; t < life.size(); ++t)
    if (life[t].size)
      boxes.push_back({life[t].name.empty() ? "t" + std::to_string(t) : life[t].name, "tensor", life[t].first,
                       life[t].last, plan.tensor_offsets[t], life[t].size});
  for (size_t k = 0; k < g.ops.size(); ++k) {
    const flyref_node& nd = runner.graph().nodes[k];
    const std::string name = g.ops[k].name.empty() ? "op" + std::to_string(k) : g.ops[k].name;
    if (nd.scratch_size) boxes.push_back({name, "scratch", int(k), int(k), plan.scratch_offsets[k], nd.scratch_size});
    if (nd.decode_size) boxes.push_back({name, "decode", int(k), int(k), plan.decode_offsets[k], nd.decode_size});
  }
  return boxes;
}

}  // namespace

Int8ModelInfo int8_model_info(const IntGraph& g) {
  const IntRunner runner(g);
  Int8ModelInfo r;
  r.arena_bytes = runner.plan().arena_size;
  r.arena_lower_bound = runner.plan().lower_bound;
  r.meta = g.meta;
  for (const IntOp& op : g.ops) {
    Int8OpInfo o;
    o.name = op.name;
    o.op = op.op;
    o.output = output_hwc(g, op);
    for (int32_t t : op.inputs)
      if (t >= 0 && g.tensors[size_t(t)].constant())
        (g.tensors[size_t(t)].type == FLYNET_TYPE_INT8 ? o.weight_bytes : o.param_bytes) +=
            int64_t(g.tensors[size_t(t)].bytes());
    r.weight_bytes += o.weight_bytes;
    r.param_bytes += o.param_bytes;
    r.ops.push_back(std::move(o));
  }
  return r;
}

FlyFileInfo fly_file_info(const std::string& bytes, const std::string& source) {
  FlyFileInfo r;
  r.file = fly_info(bytes, source);
  const FlyModel& m = r.file.model;
  const IntGraph& g = m.graph;
  const FlyRunner runner(bytes, source);  // the C reader's view: scratch and decode sizes
  const std::vector<ArenaBuffer> life = activation_lifetimes(g);
  // A constant's bytes as stored (flynet_format.h, CONSTANTS).
  auto stored = [&](int32_t t) -> uint64_t {
    const IntTensor& x = g.tensors[size_t(t)];
    const FlyStorage& st = m.storage[size_t(t)];
    const uint64_t n = uint64_t(x.numel());
    switch (st.storage) {
      case FLYNET_STORAGE_PACKED: return (uint64_t(1) << st.bits) + (n * uint64_t(st.bits) + 7) / 8;
      case FLYNET_STORAGE_S8: return n;
      case FLYNET_STORAGE_S16: return 2 * n;
      case FLYNET_STORAGE_RAW: return x.bytes();
      default: return 0;
    }
  };
  for (size_t k = 0; k < g.ops.size(); ++k) {
    const IntOp& op = g.ops[k];
    FlyOpInfo o;
    o.name = op.name.empty() ? "op" + std::to_string(k) : op.name;
    o.op = op.op;
    o.output = output_hwc(g, op);
    for (int32_t t : op.inputs)
      if (t >= 0 && g.tensors[size_t(t)].constant()) {
        o.flash_bytes += stored(t);
        if (g.tensors[size_t(t)].type != FLYNET_TYPE_INT8) continue;
        const int bits = m.storage[size_t(t)].storage == FLYNET_STORAGE_PACKED ? m.storage[size_t(t)].bits : 8;
        if (o.weight_bits == 0) o.weight_bits = bits;
        r.weight_bytes_by_bits[bits] += stored(t);
      }
    const flyref_node& nd = runner.graph().nodes[k];
    o.scratch_bytes = nd.scratch_size;
    o.decode_bytes = nd.decode_size;
    o.ram_bytes = uint64_t(nd.scratch_size) + nd.decode_size;
    for (const ArenaBuffer& b : life)
      if (b.size && b.first <= int(k) && int(k) <= b.last) o.ram_bytes += b.size;
    r.peak_live_bytes = std::max(r.peak_live_bytes, o.ram_bytes);
    r.ops.push_back(std::move(o));
  }
  r.arena = arena_boxes(g, m.plan, life, runner);
  r.tflite = estimate_tflite_size(g);
  return r;
}

InfoReport graph_info(Graph g, const std::string& source) {
  InfoReport r;
  r.source = source;
  GraphCount c = count_graph(g);
  r.details = GraphInfo{std::move(g), std::move(c)};
  return r;
}

InfoReport model_info(const std::string& path) {
  {
    // A .fly file by its magic; everything else goes to the HDF5 store (which names the problem).
    std::ifstream f(path, std::ios::binary);
    char magic[4] = {};
    if (f.read(magic, 4) && std::string(magic, 4) == "FLYN") return {path, fly_file_info(read_file_bytes(path), path)};
  }
  const ModelRecord rec = load_model_h5(path);
  if (is_int_graph(rec)) return {path, int8_model_info(int_graph_from_record(rec, path))};
  return graph_info(Model::from_record(rec, path).graph, path);
}

}  // namespace flynet
