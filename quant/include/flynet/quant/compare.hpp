// Float model vs int8 reference vs the two fake-quant simulations (integer arithmetic, which
// must equal the reference, and real arithmetic, ideal fake quantization), side by side on a
// labelled data set: top-1 of each, top-1 agreement between them, and per-layer SQNR (the layer
// that loses accuracy shows up as the first big drop; the gap between the real-arithmetic and
// the int8 column is what the kernels' integer arithmetic costs beyond the int8 grids).
//   SQNR(a vs ref) = 10 log10( sum ref^2 / sum (a - ref)^2 ),  ref = the float model's values.
#ifndef FLYNET_QUANT_COMPARE_HPP_
#define FLYNET_QUANT_COMPARE_HPP_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "flynet/core/data.hpp"
#include "flynet/core/model.hpp"
#include "flynet/formats/int_graph.hpp"

namespace flynet {

struct CompareOptions {
  int64_t samples = 0;     ///< first N images of the set; 0 = all
  bool simulate = true;    ///< also run both fake-quant simulations (see fake_quant_sim.hpp)
  bool per_layer = true;   ///< per-layer SQNR (keeps every int8 tensor of the reference)
  int threads = 2;         ///< TBB threads for the integer runs
  int batch = 64;
};

/// A simulation's figures on the data set.
struct SimFigures {
  double top1 = 0;
  double agree_int = 0;    ///< top-1 agreement with the integer reference
  double agree_float = 0;  ///< top-1 agreement with the float model
};

struct LayerSqnr {
  struct Sim {
    double sqnr_db = 0;    ///< against the float model
    double equal_int = 0;  ///< share of codes equal to the integer reference's
  };
  std::string tensor;        ///< int8 tensor = the float node it holds
  double int_vs_float = 0;   ///< dB
  std::optional<Sim> sim;    ///< integer-arithmetic simulation; absent when not run
  std::optional<Sim> ideal;  ///< real-arithmetic fake quantization; absent when not run
};

struct CompareReport {
  int64_t count = 0;
  double top1_float = 0, top1_int = 0, agree_int_float = 0;
  std::optional<SimFigures> sim;    ///< SimArithmetic::integer; absent (not 0) when not run
  std::optional<SimFigures> ideal;  ///< SimArithmetic::real; absent when not run
  std::vector<LayerSqnr> layers;
};

using ProgressFn = std::function<void(int64_t done, int64_t total)>;

/// How a long library function (verify_model, quantize_model) reports as it goes: `progress`
/// is asked for a progress callback as a long stage starts, `part_done` is handed the report
/// as each part of it is complete, so that a caller can print it then.
template <class Part, class Report>
struct PartHooks {
  std::function<ProgressFn(const std::string& stage)> progress;
  std::function<void(Part, const Report&)> part_done;
};

/// `model` is the float model the int8 graph `g` was made from (for the float side and the
/// normalisation). Throws Error{shape} when the data set's images do not fit the model.
CompareReport compare_int8(Model& model, const IntGraph& g, std::shared_ptr<const Dataset> data,
                           const CompareOptions& opt, const ProgressFn& progress = {});

/// Quantizes normalised float pixels to the int8 graph's input codes.
void quantize_input(const IntGraph& g, const float* x, int8_t* q);

}  // namespace flynet

#endif  // FLYNET_QUANT_COMPARE_HPP_
