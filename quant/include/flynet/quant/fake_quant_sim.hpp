// The fake-quant simulation of an int8 graph, in two arithmetics:
//
//  - SimArithmetic::integer (the default) re-derives every kernel's integer arithmetic from
//    shared/design/int8-semantics.md and quant/ref/README.md: the exact accumulator, the
//    requantization with the op's own multiplier, shift and rounding mode, the fixed-point
//    exp and 1/(1+x) of logistic and softmax, the 16-bit hard-swish pipeline, the VA-ECA
//    integer square root. It shares no code with quant/ref (it is written in C++ with int64
//    intermediates and sign-magnitude rounding, not the C closed forms), so its agreement with
//    the reference is evidence, and it equals the reference code for code on every op.
//  - SimArithmetic::real is ideal fake quantization: every op computed in double from the
//    dequantized values of its inputs, its result rounded once onto the output tensor's grid
//    (half away from zero, then the op's clamp). Its distance from the integer run is what the
//    kernels' integer arithmetic (two roundings per requantization, fixed-point sigmoid,
//    softmax and square root) costs on top of the int8 grids themselves.
//
// Either way codes(t) / value(t, i) expose every tensor, so per-layer SQNR against the float
// model can be measured for both.
#ifndef FLYNET_QUANT_FAKE_QUANT_SIM_HPP_
#define FLYNET_QUANT_FAKE_QUANT_SIM_HPP_

#include <cstdint>
#include <functional>
#include <vector>

#include "flynet/formats/int_graph.hpp"

namespace flynet {

enum class SimArithmetic {
  integer,  ///< the int8 kernels' own arithmetic (equal to quant/ref)
  real,     ///< exact real arithmetic, one rounding onto each output grid
};

class FakeQuantSim {
 public:
  /// Throws Error{unsupported} naming the op when `g` holds an op the simulation has no model of.
  explicit FakeQuantSim(const IntGraph& g, SimArithmetic a = SimArithmetic::integer);
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
  SimArithmetic arithmetic() const { return a_; }

 private:
  void run_op(const IntOp& o);  // the op's function in a_, from the table in quant/src/sim
  const IntGraph& g_;
  SimArithmetic a_;
  std::vector<std::vector<int32_t>> q_;
};

}  // namespace flynet

#endif  // FLYNET_QUANT_FAKE_QUANT_SIM_HPP_
