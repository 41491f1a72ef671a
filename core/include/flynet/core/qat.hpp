// Quantization-aware training state of a model: which node outputs are int8 on the device
// (activation fake quantization), their EMA ranges, and BN folding in the final epochs.
//
// A model carries its QAT state itself (QatState, model_state.hpp), so every Net built on it
// (training, evaluation, calibration, the "float" column of quantize) computes what training
// computed:
//   weight_levels = L   conv/FC weights fake-quantized to L levels (fake_quant.hpp)
//   act_bits = 8        node outputs fake-quantized to int8 with the ranges below
//   extra "qat.<node>.range" = {min, max}   EMA range of each quantized output
//   bn_folded           BN statistics frozen and folded: a conv followed by BN computes with
//                       Q(w * s) / s, s = gamma / sqrt(var + eps), so conv + BN equals the
//                       device's conv with Q(w * s)
//
// The quantized outputs are the tensors the int8 lowering (quant/src/lower/lower.cpp) creates: a
// conv/linear followed by BN is quantized after the BN, a ReLU that is its producer's sole
// consumer is fused (only the ReLU's output is quantized), sigmoid outputs have the fixed int8
// parameters 1/256, -128, and average pooling and Max-out reuse their input's parameters.
#ifndef FLYNET_CORE_QAT_HPP_
#define FLYNET_CORE_QAT_HPP_

#include <string>
#include <vector>

#include "flynet/core/fake_quant.hpp"
#include "flynet/core/model.hpp"

namespace flynet {

/// How node `node`'s output is fake-quantized.
struct ActPoint {
  enum Kind { own_range, fixed, shared } kind = own_range;
  int node = -1;
  ActQuant fixed_q;  ///< kind == fixed
  int share = -1;    ///< kind == shared: the node whose parameters are reused
};

/// The quantized outputs of `g`, in node order.
std::vector<ActPoint> act_quant_points(const Graph& g);

/// The ranges stored in `m` (extra "qat.<node>.range"), by node index; uninitialised where absent.
std::vector<ActRange> load_act_ranges(const Model& m);
/// Replaces the "qat.*" records of `m` with the initialised ranges of `ranges` (by node index).
void store_act_ranges(Model& m, const std::vector<ActRange>& ranges);

/// BN scale s[o] = gamma[o] / sqrt(running_var[o] + eps) of BN node `bn` (in double, as fold_bn).
std::vector<double> bn_scale(const Model& m, int bn);

/// The effective weight of a conv folded with its BN: Q_L(w * s) / s per output channel
/// (levels 0: w). A channel with s == 0 keeps w (its output is the BN's beta whatever w is).
void folded_fake_quant(const float* w, float* eff, int64_t out_channels, int64_t per_channel,
                       const std::vector<double>& s, int levels);

/// Fixes the folded effective weights in `m`: every conv followed by BN gets w := Q_L(w * s) / s,
/// so the stored weights are exactly what the last epochs computed with (and stay fixed points
/// of the transform). Used at the end of a run with BN folding.
void bake_folded_weights(Model& m, int levels);

}  // namespace flynet

#endif  // FLYNET_CORE_QAT_HPP_
