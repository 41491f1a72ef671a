// Float model vs fake-quant simulation vs int8 reference, side by side on a labelled data set:
// top-1 of each, top-1 agreement between them, and per-layer SQNR (the layer that loses
// accuracy shows up as the first big drop).
//   SQNR(a vs ref) = 10 log10( sum ref^2 / sum (a - ref)^2 ),  ref = the float model's values.
#ifndef FLYNET_QUANT_COMPARE_HPP_
#define FLYNET_QUANT_COMPARE_HPP_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "flynet/core/data.hpp"
#include "flynet/core/model.hpp"
#include "flynet/formats/int_graph.hpp"

namespace flynet {

struct CompareOptions {
  int64_t samples = 0;     ///< first N images of the set; 0 = all
  bool simulate = true;    ///< also run the fake-quant simulation (slower than the reference)
  bool per_layer = true;   ///< per-layer SQNR (keeps every int8 tensor of the reference)
  int threads = 2;         ///< TBB threads for the integer runs
  int batch = 64;
};

struct LayerSqnr {
  std::string tensor;          ///< int8 tensor = the float node it holds
  double int_vs_float = 0;     ///< dB
  double sim_vs_float = 0;     ///< dB (when simulated)
  double int_vs_sim_equal = 0; ///< share of codes where reference and simulation agree
};

struct CompareReport {
  int64_t count = 0;
  double top1_float = 0, top1_sim = 0, top1_int = 0;
  double agree_int_float = 0, agree_int_sim = 0, agree_sim_float = 0;
  std::vector<LayerSqnr> layers;
};

using ProgressFn = std::function<void(int64_t done, int64_t total)>;

/// `model` is the float model the int8 graph `g` was made from (for the float side and the
/// normalisation). Throws Error{shape} when the data set's images do not fit the model.
CompareReport compare_int8(Model& model, const IntGraph& g, std::shared_ptr<const Dataset> data,
                           const CompareOptions& opt, const ProgressFn& progress = {});

/// Quantizes normalised float pixels to the int8 graph's input codes.
void quantize_input(const IntGraph& g, const float* x, int8_t* q);

}  // namespace flynet

#endif  // FLYNET_QUANT_COMPARE_HPP_
