// The int8 model as plain records: what `flynet quantize` writes (inside its .q.h5 file) and
// `flynet export` / `flynet verify` read. Op codes, tensor types and the parameter record of
// each op are those of flynet_format.h; this file only holds them and moves them to and from
// a ModelRecord (so the HDF5 store writes them like any model).
#ifndef FLYNET_FORMATS_INT_GRAPH_HPP_
#define FLYNET_FORMATS_INT_GRAPH_HPP_

#include <array>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "flynet/formats/limits.hpp"
#include "flynet/formats/model_record.hpp"

namespace flynet {

struct IntTensor {
  std::string name;
  int32_t type = 1;                       ///< flynet_type: 1 int8, 2 int32
  std::array<int32_t, 4> dims{1, 1, 1, 1};  ///< N, H, W, C (weights: as flynet_format.h says)
  int32_t zero_point = 0;
  double scale = 0;                       ///< real value = scale * (q - zero_point); 0 if none
  std::vector<double> channel_scales;     ///< per-channel weight scales (informational)
  int32_t levels = 0;                     ///< weights: distinct codes per channel (0: full int8)
  std::vector<uint8_t> data;              ///< constant bytes, little-endian; empty for activations

  bool constant() const { return !data.empty(); }
  /// Saturates at INT64_MAX (four int32 dimensions from a file can exceed int64).
  int64_t numel() const {
    uint64_t n = 1;
    for (int32_t d : dims) n = limits::mul_sat(n, uint64_t(d < 0 ? 0 : d));
    return n > uint64_t(INT64_MAX) ? INT64_MAX : int64_t(n);
  }
  size_t bytes() const { return size_t(numel()) * (type == 2 ? 4 : 1); }
  bool operator==(const IntTensor&) const = default;
};

struct IntOp {
  std::string name;               ///< the float graph node it lowers (for reports)
  int32_t op = 0;                 ///< flynet_op
  std::vector<int32_t> inputs;    ///< tensor indices, -1 for an absent optional input
  std::vector<int32_t> outputs;
  std::vector<int32_t> params;    ///< the op's flynet_*_params record, word by word
  bool operator==(const IntOp&) const = default;

  template <class P>
  void set_params(const P& p) {
    static_assert(sizeof(P) % 4 == 0, "parameter records are int32 words");
    params.resize(sizeof(P) / 4);
    std::memcpy(params.data(), &p, sizeof(P));
  }
  template <class P>
  P get_params() const {
    P p{};
    std::memcpy(&p, params.data(), std::min(sizeof(P), params.size() * 4));
    return p;
  }
};

struct IntGraph {
  std::vector<IntTensor> tensors;
  std::vector<IntOp> ops;
  int32_t input = -1;             ///< the image tensor
  int32_t output = -1;            ///< the logits tensor
  std::map<std::string, std::string> meta;  ///< architecture, normalisation, rounding, ...
  /// The file the graph comes from (its .q.h5, or the float model it was lowered from), for
  /// errors about it; not part of the graph, so not compared.
  std::string source;
  bool operator==(const IntGraph& o) const {
    return tensors == o.tensors && ops == o.ops && input == o.input && output == o.output && meta == o.meta;
  }

  int32_t add_tensor(IntTensor t) {
    tensors.push_back(std::move(t));
    return int32_t(tensors.size()) - 1;
  }
};

/// Stores the graph in a ModelRecord (meta key "kind" = "int8-graph").
ModelRecord int_graph_to_record(const IntGraph& g);
/// Reads it back; throws Error{format} naming `file` if the record is not an int8 graph or is
/// inconsistent (index out of range, sizes that do not match the shapes).
IntGraph int_graph_from_record(const ModelRecord& r, const std::string& file);
/// True when the record holds an int8 graph (a quantized model) rather than a float model.
bool is_int_graph(const ModelRecord& r);

}  // namespace flynet

#endif  // FLYNET_FORMATS_INT_GRAPH_HPP_
