// `flynet info`: what a model is made of, for each of the three kinds of model file: a float
// model (parameters and MAdds, layer by layer: core's count_graph), an int8 model (its ops'
// weight and parameter bytes, the planned arena) and a .fly file (per op its stored constants
// and the RAM alive while it runs; the flash breakdown and budget, the same model as .tflite).
// The command prints these reports as a table or JSON; the figures are computed here.
//
//   InfoReport r = model_info("m.fly");                  // the kind by the file's content
//   if (const auto* f = std::get_if<FlyFileInfo>(&r.details)) f->file.sizes.within_budget();
//   InfoReport a = graph_info(build_graph(spec), "architecture options");
#ifndef FLYNET_QUANT_INFO_HPP_
#define FLYNET_QUANT_INFO_HPP_

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "flynet/core/count.hpp"
#include "flynet/core/graph.hpp"
#include "flynet/formats/tflite_size.hpp"
#include "flynet/quant/export.hpp"

namespace flynet {

/// A float model or an architecture: the graph and its counts.
struct GraphInfo {
  Graph graph;
  GraphCount count;
};

/// One op of an int8 model.
struct Int8OpInfo {
  std::string name;
  int32_t op = 0;                   ///< flynet_op code
  std::array<int32_t, 3> output{};  ///< H, W, C of its first output
  int64_t weight_bytes = 0;         ///< its int8 constants
  int64_t param_bytes = 0;          ///< its other constants (bias, multiplier, shift, ...)
};

/// An int8 model (flynet quantize), before export.
struct Int8ModelInfo {
  std::vector<Int8OpInfo> ops;
  int64_t weight_bytes = 0, param_bytes = 0;  ///< sums over the ops
  uint64_t arena_bytes = 0;                   ///< the in-memory runner's planned arena
  uint64_t arena_lower_bound = 0;
  std::map<std::string, std::string> meta;
};

/// One op of a .fly file.
struct FlyOpInfo {
  std::string name;                 ///< "op<k>" when the file has no names
  int32_t op = 0;
  std::array<int32_t, 3> output{};  ///< H, W, C of its first output
  uint64_t flash_bytes = 0;         ///< its constant inputs as stored (code tables and packed bits)
  int weight_bits = 0;              ///< bits per weight as stored; 0 without int8 constants
  uint64_t scratch_bytes = 0, decode_bytes = 0;  ///< as the C reader prepares them
  uint64_t ram_bytes = 0;           ///< activations alive during the op + its scratch and decode
};

/// One region of a .fly file's arena plan: an activation from the op that writes it to the last
/// op that reads it, or one op's scratch or decode region (alive during that op only).
struct FlyArenaBox {
  std::string name;  ///< the tensor's or op's name ("t<k>" / "op<k>" when the file has none)
  std::string kind;  ///< "tensor", "scratch" or "decode"
  int first = 0, last = 0;          ///< op indices, inclusive
  uint64_t offset = 0, size = 0;    ///< bytes into the arena
};

/// A .fly file (flynet export).
struct FlyFileInfo {
  FlyInfo file;                  ///< both readers' view; file.sizes: the flash breakdown and budget
  std::vector<FlyOpInfo> ops;
  uint64_t peak_live_bytes = 0;  ///< the largest ram_bytes of an op
  std::vector<FlyArenaBox> arena;  ///< the plan: activations in tensor order, then scratch and decode per op
  std::map<int, uint64_t> weight_bytes_by_bits;  ///< int8 constants as stored, by bits per weight
  TfliteSize tflite;             ///< the same int8 model as .tflite (estimate)
};

struct InfoReport {
  std::string source;  ///< the file, or what the graph was built from
  std::variant<GraphInfo, Int8ModelInfo, FlyFileInfo> details;
};

/// The report of a model file: a .fly file by its magic, else a model (.h5) in the HDF5 store,
/// int8 or float. Throws what the readers throw (Error{io|format} naming `path`).
InfoReport model_info(const std::string& path);
/// The report of a float graph (an architecture), described as `source`.
InfoReport graph_info(Graph g, const std::string& source);

Int8ModelInfo int8_model_info(const IntGraph& g);
/// `bytes` is the file's content; `source` names it in errors.
FlyFileInfo fly_file_info(const std::string& bytes, const std::string& source);

}  // namespace flynet

#endif  // FLYNET_QUANT_INFO_HPP_
