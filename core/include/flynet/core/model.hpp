// A FlyNet model: its graph plus every parameter tensor by name, and free-form metadata.
// Converts to and from formats' ModelRecord, so `save_model` / `load_model` give back the
// identical graph and bytes.
#ifndef FLYNET_CORE_MODEL_HPP_
#define FLYNET_CORE_MODEL_HPP_

#include <cstdint>
#include <map>
#include <string>

#include "flynet/core/graph.hpp"
#include "flynet/core/tensor.hpp"
#include "flynet/formats/model_record.hpp"

namespace flynet {

struct Model {
  Graph graph;
  std::map<std::string, Tensor> params;       ///< one per ParamDecl of the graph
  std::map<std::string, std::string> meta;    ///< e.g. "train.test_top1"; the keys of the QAT state,
                                              ///< input normalisation and calibration are read and
                                              ///< written only through model_state.hpp
  std::vector<TensorRecord> extra;            ///< tensors outside the graph, kept verbatim

  const ArchSpec& spec() const { return graph.spec; }
  Tensor& param(const std::string& name);
  const Tensor& param(const std::string& name) const;

  /// A freshly initialised model: conv weights He-normal (fan-out), linear N(0, 0.01),
  /// biases 0, BN gamma 1 / beta 0 / mean 0 / var 1, VA-ECA weights U(+-1/sqrt(2k)).
  /// Every MDW head draws its own weights. Deterministic for a given seed.
  static Model create(const ArchSpec& spec, uint64_t seed);

  ModelRecord to_record() const;
  /// Checks every graph parameter is present with its declared shape and f32 type, and the
  /// metadata's state records (model_state.hpp); throws Error{format} naming `file` and the
  /// first problem.
  static Model from_record(const ModelRecord& rec, const std::string& file);
};

void save_model(const Model& m, const std::string& path);
Model load_model(const std::string& path);

}  // namespace flynet

#endif  // FLYNET_CORE_MODEL_HPP_
