// IntGraph -> .fly file (flynet export): plans the arena offline, writes the file and loads it
// back through the C reader the device runs before handing the bytes out.
//
//   FlyExport e = export_fly(graph);                  // e.bytes: the file, ready for flash
//   write_bytes_atomically("model.fly", e.bytes);
//   e.sizes.ratio();                                  // file / flash lower bound
//   e.arena.arena_size, e.arena.lower_bound;          // RAM plan and what no plan can beat
//
//   FlyInfo i = fly_info(read_file_bytes("model.fly"), "model.fly");   // flynet info
//
//   ExportOptions o; o.model = "m.q.h5"; o.out = "m.fly"; o.c_array = "m.h";
//   ExportReport r = export_model(o);                 // flynet export: reads, exports, writes
//
// The plan (flynet_format.h, PLAN): every activation lives from the op producing it to the last
// op reading it (the input from the first op, the output to the end; an output nobody reads
// only during its op); each op's im2col scratch and its decode region (its packed or narrow
// constants, decoded) live during that op only. plan_arena places them all in one arena; the
// result is checked to have no two live buffers sharing a byte.
#ifndef FLYNET_QUANT_EXPORT_HPP_
#define FLYNET_QUANT_EXPORT_HPP_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "flynet/formats/fly_file.hpp"
#include "flynet/formats/int_graph.hpp"
#include "flynet/quant/arena_plan.hpp"

namespace flynet {

struct FlyExportOptions {
  /// Names, real scales, channel scales, levels and meta in the file (FlyWriteOptions).
  bool host_info = false;
  /// Every arena offset and buffer size is rounded up to this (a power of two, >= 4).
  uint64_t arena_alignment = 4;
};

struct FlyExport {
  std::string bytes;                 ///< the .fly file
  FlyPlan plan;                      ///< the plan as stored in the file
  /// What was planned: one buffer per tensor (constants with size 0), then per op its scratch
  /// ("<op>.scratch") and its decode region ("<op>.decode"), size 0 when it has none.
  std::vector<ArenaBuffer> buffers;
  ArenaPlan arena;                   ///< offsets of `buffers`; arena_size = peak RAM of the plan
  FlySizes sizes;                    ///< flash breakdown and lower bound
  uint64_t table_bytes = 0;          ///< RAM of the loader's tensor and node tables (this build)

  /// Bytes by which the plan misses its lower bound (0: optimal).
  uint64_t arena_miss() const { return arena.arena_size - arena.lower_bound; }
};

/// Throws Error{unsupported} for a graph the format or the reference cannot hold (see
/// write_fly, and flyref prepare failures naming the op), Error{internal} if the written file
/// does not load back through the C reader or its plan overlaps (a bug).
FlyExport export_fly(const IntGraph& g, const FlyExportOptions& opt = {});

/// `flynet export`: an int8 model file to a .fly file and, on request, the same bytes as C.
struct ExportOptions {
  std::string model;                  ///< the int8 model (.q.h5 from flynet quantize)
  std::string out;                    ///< the .fly file
  std::string c_array;                ///< also this C header and a .c beside it; empty: none
  std::string name = "flynet_model";  ///< C identifier of the array
  bool host_info = false;             ///< FlyExportOptions::host_info
  uint64_t arena_align = 4;           ///< FlyExportOptions::arena_alignment
};

struct ExportReport {
  size_t ops = 0, tensors = 0;  ///< of the exported graph
  FlyExport fly;                ///< the file, its plan and its sizes (fly.sizes: the flash budget)
  std::string c_header, c_source;  ///< the C files written; empty without ExportOptions::c_array
};

/// The C source written beside the header `c_array`: its stem with ".c", in its directory.
std::string c_source_path(const std::string& c_array);

/// Reads o.model, exports it and writes o.out (and the C files) atomically, only after all of
/// it was computed. Throws Error{format} for a model that is not int8 ("run flynet quantize
/// first"), Error{usage} for a --name that is not a C identifier or a --c-array that is not a
/// header, and what export_fly throws.
ExportReport export_model(const ExportOptions& o);

/// What `flynet info model.fly` prints: the C++ reader's breakdown plus the C reader's view.
struct FlyInfo {
  FlyModel model;                    ///< the decoded graph, plan and storage (read_fly)
  FlySizes sizes;                    ///< == model.sizes
  uint64_t table_bytes = 0;          ///< RAM the C loader needs for its tables (this build)
  int32_t input = -1, output = -1;
  double input_scale = 0, output_scale = 0;  ///< exact with host info, else the file's float32
  int32_t input_zero_point = 0, output_zero_point = 0;
};

/// Reads and validates a .fly file with both readers. Throws Error{format} naming `file`.
FlyInfo fly_info(std::string_view bytes, const std::string& file = {});

}  // namespace flynet

#endif  // FLYNET_QUANT_EXPORT_HPP_
