// The fake-quant simulation of an int8 graph: every op computed in double from the
// dequantized values of its inputs, its result rounded onto the output tensor's int8 grid
// (half away from zero, then the op's clamp). It shares no code with quant/ref: where the two
// differ, the difference is the integer arithmetic's (requantization rounding, fixed-point
// sigmoid/softmax/sqrt), which is what per-layer SQNR between float, simulation and reference
// is meant to expose.
#ifndef FLYNET_QUANT_FAKE_QUANT_SIM_HPP_
#define FLYNET_QUANT_FAKE_QUANT_SIM_HPP_

#include <cstdint>
#include <functional>
#include <vector>

#include "flynet/formats/int_graph.hpp"

namespace flynet {

class FakeQuantSim {
 public:
  explicit FakeQuantSim(const IntGraph& g);
  /// One inference from the input tensor's int8 codes. Afterwards codes(t) holds every
  /// activation tensor's simulated codes.
  void run(const int8_t* input);
  /// Op by op in isolation: before each op, its activation inputs are loaded from `codes_of`
  /// (e.g. the reference's tensors), so each op's result differs only by its own arithmetic;
  /// `on_output(op, tensor, codes)` sees each result before a later op reloads the tensor.
  void run_isolated(const std::function<const int8_t*(int32_t tensor)>& codes_of,
                    const std::function<void(const IntOp&, int32_t, const std::vector<int32_t>&)>& on_output);
  const std::vector<int32_t>& codes(int32_t t) const { return q_[size_t(t)]; }
  /// Dequantized value of element i of tensor t.
  double value(int32_t t, size_t i) const;

 private:
  std::vector<double> real(int32_t t) const;  // dequantized activation or constant
  void store(int32_t t, const std::vector<double>& v, int32_t lo = -128, int32_t hi = 127);
  void run_op(const IntOp& o);
  const IntGraph& g_;
  std::vector<std::vector<int32_t>> q_;
};

}  // namespace flynet

#endif  // FLYNET_QUANT_FAKE_QUANT_SIM_HPP_
