// The quantization a QDQ ONNX model states (QuantizeLinear / DequantizeLinear, flynet import):
// the int8 grid of every tensor it quantizes and the per-channel scales of its int8 weights,
// kept in the model so that flynet quantize lowers onto exactly those grids without
// calibration, and verify can compare with the QDQ model's own float simulation.
//
// Stored as extra tensors of the model, by float node name:
//   qdq.<node>.act         f32 {scale, zero_point}   the node's output grid (flynet's int8: a
//                                                     uint8 grid is the same grid, zero point - 128),
//                          or {scale, zero_point, lo, hi} with its codes clipped to [lo, hi]
//                          (PyTorch's reduced ranges: a Clip between QuantizeLinear and DequantizeLinear)
//   qdq.<node>.wscale      f32 [out channels]        the weight's scales; the float weight holds
//                                                     code * scale exactly (codes in [-128, 127])
//   qdq.<node>.bias        i32 [out channels]        a bias given as int32 codes (DequantizeLinear
//   qdq.<node>.bias_scale  f32 [1 or out channels]   of int32), and their scale
//
//   std::optional<QdqRecord> q = read_qdq(model, "m.h5");
//   if (q) Tensor logits = qdq_simulate(model, *q, images);
#ifndef FLYNET_CORE_QDQ_HPP_
#define FLYNET_CORE_QDQ_HPP_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "flynet/core/fake_quant.hpp"
#include "flynet/core/model.hpp"

namespace flynet {

struct QdqWeights {
  std::vector<float> scales;      ///< per output channel
  std::vector<int32_t> bias;      ///< int32 bias codes; empty: the float bias of the model
  std::vector<float> bias_scale;  ///< one, or one per output channel, with `bias`
};

/// int8 codes a grid keeps.
struct CodeRange {
  int32_t lo = -128, hi = 127;
  bool narrowed() const { return lo != -128 || hi != 127; }
};

struct QdqRecord {
  std::map<std::string, ActQuant> acts;        ///< output grids by node name ("input": the input's)
  std::map<std::string, CodeRange> code_ranges;  ///< where a grid keeps fewer codes than int8's
  std::map<std::string, QdqWeights> weights;   ///< by conv / linear node name
};

/// std::nullopt when the model records no QDQ. Throws Error{format} naming `file` for a
/// malformed record (sizes, a zero point outside int8, a scale that is not positive).
std::optional<QdqRecord> read_qdq(const Model& m, const std::string& file = {});
/// Replaces every "qdq.*" extra tensor of `m` with `r`.
void write_qdq(Model& m, const QdqRecord& r);

/// The int8 codes of node `node`'s weight on its recorded channel scales (the float weight's
/// layout): round(w / scale). Throws Error{format} naming `file` when a weight is not
/// code * scale (the weights changed since import, e.g. fine-tuned).
std::vector<int32_t> qdq_weight_codes(const Model& m, const std::string& node, const QdqWeights& w,
                                      const std::string& file = {});

/// ONNX QuantizeLinear then DequantizeLinear onto flynet's int8 grid `q`: x / scale in float,
/// rounded half to even, plus the zero point, saturated to the codes of `r`, then back to real.
float qdq_round_trip(float x, const ActQuant& q, const CodeRange& r = {});

/// The QDQ model's own float simulation on normalised NHWC `images`: the float graph with the
/// input and every recorded node output quantized and dequantized (qdq_round_trip), weights as
/// the model holds them (code * scale). Returns the logits [N, 1, 1, classes].
Tensor qdq_simulate(Model& m, const QdqRecord& r, const Tensor& images);

}  // namespace flynet

#endif  // FLYNET_CORE_QDQ_HPP_
