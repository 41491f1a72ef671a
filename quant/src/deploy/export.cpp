#include "flynet/core/model_state.hpp"
#include "flynet/quant/export.hpp"
#include "flynet/quant/flyref_status_text.hpp"

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "flynet/formats/atomic_file.hpp"
#include "flynet/formats/c_array.hpp"
#include "flynet/formats/error.hpp"
#include "flynet/formats/h5_store.hpp"
#include "flynet/quant/flyref_tables.hpp"
#include "flynet/quant/int_runner.hpp"
#include "flyref_model.h"

namespace flynet {

namespace {

// Each op's im2col scratch, as the reference's own prepare computes it (shapes and parameters
// only, so the constants' storage does not matter here).
std::vector<uint32_t> scratch_sizes(const IntGraph& g) {
  FlyrefTables tables(g);
  std::vector<flyref_node>& nodes = tables.nodes;
  flyref_graph fg = tables.graph();
  size_t unused = 0;
  const flyref_status st = flyref_plan_scratch(&fg, &unused);
  if (st != FLYREF_OK) {
    // Name the op: prepare the nodes one by one until one fails.
    for (size_t k = 0; k < nodes.size(); ++k) {
      flyref_graph one = tables.node_graph(k);
      if (flyref_plan_scratch(&one, &unused) != FLYREF_OK)
        throw Error(ErrorCode::unsupported, "cannot export: the integer reference rejects op '" + g.ops[k].name +
                                                "': " + flyref_status_text(flyref_plan_scratch(&one, &unused)));
    }
    throw Error(ErrorCode::unsupported, std::string("cannot export: the integer reference rejects the graph: ") +
                                            flyref_status_text(st));
  }
  std::vector<uint32_t> s;
  for (const flyref_node& n : nodes) s.push_back(n.scratch_size);
  return s;
}

struct Loaded {
  std::vector<uint64_t> file, tables;
  flyref_model_info info{};
  flyref_graph graph{};
  flyref_status status = FLYREF_OK;
};

void load(std::string_view bytes, Loaded& l) {
  l.file.assign((bytes.size() + 7) / 8, 0);
  std::memcpy(l.file.data(), bytes.data(), bytes.size());
  const auto* p = reinterpret_cast<const uint8_t*>(l.file.data());
  l.status = flyref_model_info_get(p, bytes.size(), &l.info);
  if (l.status != FLYREF_OK) return;
  l.tables.assign((l.info.table_bytes + 7) / 8, 0);
  l.status = flyref_model_load(p, bytes.size(), l.tables.data(), l.tables.size() * 8, &l.graph);
}

}  // namespace

FlyExport export_fly(const IntGraph& g, const FlyExportOptions& opt) {
  const uint64_t align = opt.arena_alignment;
  if (align < 4 || (align & (align - 1)))
    throw Error(ErrorCode::usage, "arena alignment must be a power of two of at least 4");
  const size_t nt = g.tensors.size(), no = g.ops.size();
  const std::vector<FlyStorage> storage = choose_fly_storage(g);
  const std::vector<uint32_t> scratch = scratch_sizes(g);
  const std::vector<uint32_t> decode = fly_decode_sizes(g, storage);

  FlyExport e;
  e.buffers = activation_lifetimes(g);
  for (size_t k = 0; k < no; ++k) {
    e.buffers.push_back({g.ops[k].name + ".scratch", scratch[k], int(k), int(k)});
    e.buffers.push_back({g.ops[k].name + ".decode", decode[k], int(k), int(k)});
  }
  e.arena = plan_arena(e.buffers, align);
  if (plan_has_overlap(e.buffers, e.arena))
    throw Error(ErrorCode::internal, "export: the arena plan has two live buffers sharing memory");
  if (e.arena.arena_size > 0xFFFFFFFFu)
    throw Error(ErrorCode::unsupported, "cannot export: the arena would exceed 4 GB");

  FlyPlan& p = e.plan;
  p.arena_size = uint32_t(e.arena.arena_size);
  p.arena_lower_bound = uint32_t(e.arena.lower_bound);
  for (size_t t = 0; t < nt; ++t) p.tensor_offsets.push_back(e.buffers[t].size ? uint32_t(e.arena.offsets[t]) : 0);
  for (size_t k = 0; k < no; ++k) {
    const size_t s = nt + 2 * k, d = s + 1;
    p.scratch_offsets.push_back(e.buffers[s].size ? uint32_t(e.arena.offsets[s]) : 0);
    p.decode_offsets.push_back(e.buffers[d].size ? uint32_t(e.arena.offsets[d]) : 0);
  }
  FlyWriteOptions w;
  w.host_info = opt.host_info;
  e.bytes = write_fly(g, p, w);

  // What the device will do with these bytes: load, prepare, and find the sizes planned here.
  Loaded l;
  load(e.bytes, l);
  if (l.status != FLYREF_OK)
    throw Error(ErrorCode::internal, std::string("export: the written .fly does not load: ") + flyref_status_text(l.status));
  for (size_t k = 0; k < no; ++k)
    if (l.graph.nodes[k].scratch_size != scratch[k] || l.graph.nodes[k].decode_size != decode[k])
      throw Error(ErrorCode::internal, "export: op '" + g.ops[k].name + "' needs other scratch or decode sizes than planned");
  e.table_bytes = l.info.table_bytes;
  e.sizes = read_fly(e.bytes).sizes;
  return e;
}

std::string c_source_path(const std::string& c_array) {
  const std::filesystem::path h(c_array);
  return (h.parent_path() / (h.stem().string() + ".c")).string();
}

ExportReport export_model(const ExportOptions& o) {
  const ModelRecord rec = load_model_h5(o.model);
  if (!is_int_graph(rec))
    throw Error(ErrorCode::format, "not an int8 model: run flynet quantize first", o.model);
  const IntGraph g = int_graph_from_record(rec, o.model);
  if (!o.c_array.empty() && !is_c_identifier(o.name))
    throw Error(ErrorCode::usage, "--name '" + o.name + "' is not a C identifier");
  ExportReport r;
  r.ops = g.ops.size();
  r.tensors = g.tensors.size();
  FlyExportOptions eo;
  eo.host_info = o.host_info;
  eo.arena_alignment = o.arena_align;
  r.fly = export_fly(g, eo);
  const FlyExport& e = r.fly;

  // Everything is computed before anything is written, and each file is written atomically.
  CArraySource c;
  if (!o.c_array.empty()) {
    CArrayModel cm;
    cm.name = o.name;
    cm.bytes.assign(e.bytes.begin(), e.bytes.end());
    const IntTensor& in = g.tensors.at(size_t(g.input));
    const IntTensor& out = g.tensors.at(size_t(g.output));
    cm.input_dims = in.dims;
    cm.input_scale = in.scale;
    cm.input_zero_point = in.zero_point;
    cm.output_dims = out.dims;
    cm.output_scale = out.scale;
    cm.output_zero_point = out.zero_point;
    cm.arena_bytes = e.plan.arena_size;
    cm.table_bytes = e.table_bytes;
    const InputNormalisation n = read_input_normalisation(g.meta, int(in.dims[3]), o.model);
    cm.input_mean = n.mean;
    cm.input_std = n.std;
    cm.comment = "from " + std::filesystem::path(o.model).filename().string();
    const std::filesystem::path h(o.c_array);
    r.c_header = o.c_array;
    r.c_source = c_source_path(o.c_array);
    if (r.c_source == o.c_array)
      throw Error(ErrorCode::usage, "--c-array names the header (.h); the source goes beside it as .c", o.c_array);
    c = emit_c_array(cm, h.filename().string());
  }
  write_bytes_atomically(o.out, e.bytes);
  if (!o.c_array.empty()) {
    write_bytes_atomically(r.c_header, c.header);
    write_bytes_atomically(r.c_source, c.source);
  }
  return r;
}

FlyInfo fly_info(std::string_view bytes, const std::string& file) {
  FlyInfo i;
  i.model = read_fly(bytes, file);
  i.sizes = i.model.sizes;
  Loaded l;
  load(bytes, l);
  if (l.status != FLYREF_OK)
    throw Error(ErrorCode::format, std::string("the .fly reader rejects the model: ") + flyref_status_text(l.status), file);
  i.table_bytes = l.info.table_bytes;
  i.input = l.info.input;
  i.output = l.info.output;
  // The HOST section's double when present, else the MODEL section's float (read_fly did that).
  i.input_scale = i.model.graph.tensors[size_t(i.input)].scale;
  i.output_scale = i.model.graph.tensors[size_t(i.output)].scale;
  i.input_zero_point = l.info.input_zero_point;
  i.output_zero_point = l.info.output_zero_point;
  return i;
}

}  // namespace flynet
