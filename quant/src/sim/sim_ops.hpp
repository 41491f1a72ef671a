// Pieces shared by the fake-quant simulation's op files in quant/src/sim (not installed, not
// public): the tensors an op reads and writes, the integer arithmetic several kernels use, and
// one function per op and arithmetic, found through sim_op(). The op files group the ops by
// family as quant/ref does: sim_convolution (conv, depthwise, fully connected), sim_basic_math
// (add, mul, maximum, max-group), sim_pooling, sim_activation (logistic, hard-swish,
// hard-sigmoid, requantize, softmax), sim_reshape (channel gather, concat) and sim_vaeca.
//
// Where an op's two arithmetics walk the same indices, the file writes the walk once as a
// template over the value type and each arithmetic supplies only what it does per element.
#ifndef FLYNET_QUANT_SRC_SIM_SIM_OPS_HPP_
#define FLYNET_QUANT_SRC_SIM_SIM_OPS_HPP_

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "flynet/formats/int_graph.hpp"
#include "flynet_format.h"

namespace flynet::sim_detail {

struct Dims {
  int n, h, w, c;
};
inline Dims dims_of(const IntTensor& t) { return {t.dims[0], t.dims[1], t.dims[2], t.dims[3]}; }

// Every tensor's codes, as FakeQuantSim keeps them (constants hold their integer values), with
// the two ways real arithmetic crosses the int8 grid.
class SimTensors {
 public:
  SimTensors(const IntGraph& g, std::vector<std::vector<int32_t>>& q) : g_(g), q_(q) {}
  const IntTensor& tensor(int32_t t) const { return g_.tensors[size_t(t)]; }
  size_t numel(int32_t t) const { return size_t(tensor(t).numel()); }
  const std::vector<int32_t>& codes(int32_t t) const { return q_[size_t(t)]; }
  void set_codes(int32_t t, std::vector<int32_t> c) { q_[size_t(t)] = std::move(c); }
  /// Codes minus the tensor's zero point: what the integer kernels multiply and add.
  std::vector<int32_t> centered(int32_t t) const;
  /// Dequantized values of an activation; a constant's integer values as they are.
  std::vector<double> real(int32_t t) const;
  /// Rounds v onto t's grid once (half away from zero), then clamps to [lo, hi] within int8.
  void store(int32_t t, const std::vector<double>& v, int32_t lo = -128, int32_t hi = 127);

 private:
  const IntGraph& g_;
  std::vector<std::vector<int32_t>>& q_;
};

// ---- The kernels' integer arithmetic shared by several ops, from int8-semantics.md §1.
// Everything is computed exactly in int64 and then brought back to int32, because the targets'
// int32 adds and shifts wrap modulo 2^32.
inline constexpr int32_t kMax32 = std::numeric_limits<int32_t>::max();
inline constexpr int32_t kMin32 = std::numeric_limits<int32_t>::min();

inline int32_t wrap32(int64_t v) { return int32_t(uint32_t(uint64_t(v))); }
inline int32_t clamp32(int64_t v, int32_t lo, int32_t hi) { return int32_t(std::clamp<int64_t>(v, lo, hi)); }

// x / 2^e rounded to nearest, halves away from zero (RDBPOT), on the magnitude.
inline int64_t round_shift(int64_t x, int e) {
  if (e <= 0) return x;
  const uint64_t m = x < 0 ? 0 - uint64_t(x) : uint64_t(x);
  const int64_t q = int64_t((m + (uint64_t(1) << (e - 1))) >> e);
  return x < 0 ? -q : q;
}

// a*b / 2^31 rounded to nearest with halves toward +inf (SRDHM); (-1)*(-1) saturates.
inline int32_t high_mul(int32_t a, int32_t b) {
  if (a == kMin32 && b == kMin32) return kMax32;
  return int32_t((int64_t(a) * b + (int64_t(1) << 30)) >> 31);  // >> of a negative is floor
}

// x * mult * 2^(shift-31) in the op's rounding mode (§1.3); DEFAULT is quant/ref's build
// default, double rounding.
inline int32_t requant(int32_t x, int32_t mult, int32_t shift, int32_t rounding) {
  if (rounding == FLYNET_ROUNDING_SINGLE) {
    const int total = 31 - shift;
    if (total <= 0) return wrap32(int64_t(x) * mult);
    return wrap32((int64_t(x) * mult + (int64_t(1) << (total - 1))) >> total);
  }
  const int32_t up = wrap32(int64_t(x) * (int64_t(1) << std::max(shift, 0)));
  return int32_t(round_shift(high_mul(up, mult), std::max(-shift, 0)));
}

// ---- One function per op and arithmetic. Each reads its inputs' codes from `s` and replaces
// its outputs' codes; zero points come from the tensors, multipliers and rounding modes from the
// op's record or its int32 operands, exactly what the reference interpreter hands its kernels.
using SimOpFn = void (*)(const IntOp& o, SimTensors& s);

struct SimOp {
  SimOpFn integer;  ///< the kernels' own arithmetic (SimArithmetic::integer)
  SimOpFn real;     ///< double, one rounding onto the output grid (SimArithmetic::real)
};

/// The simulation of op code `op`, or null when there is no model of it.
const SimOp* sim_op(int32_t op);

// conv2d_* serve FLYNET_OP_CONV2D and FLYNET_OP_DEPTHWISE_CONV2D alike (one record, two layouts).
void conv2d_integer(const IntOp& o, SimTensors& s);
void conv2d_real(const IntOp& o, SimTensors& s);
void fully_connected_integer(const IntOp& o, SimTensors& s);
void fully_connected_real(const IntOp& o, SimTensors& s);

void add_integer(const IntOp& o, SimTensors& s);
void add_real(const IntOp& o, SimTensors& s);
void mul_integer(const IntOp& o, SimTensors& s);
void mul_real(const IntOp& o, SimTensors& s);
void maximum_integer(const IntOp& o, SimTensors& s);
void maximum_real(const IntOp& o, SimTensors& s);
void max_group_integer(const IntOp& o, SimTensors& s);
void max_group_real(const IntOp& o, SimTensors& s);

void avg_pool2d_integer(const IntOp& o, SimTensors& s);
void avg_pool2d_real(const IntOp& o, SimTensors& s);
void max_pool2d_integer(const IntOp& o, SimTensors& s);
void max_pool2d_real(const IntOp& o, SimTensors& s);

void logistic_integer(const IntOp& o, SimTensors& s);
void logistic_real(const IntOp& o, SimTensors& s);
void hard_swish_integer(const IntOp& o, SimTensors& s);
void hard_swish_real(const IntOp& o, SimTensors& s);
void hard_sigmoid_integer(const IntOp& o, SimTensors& s);
void hard_sigmoid_real(const IntOp& o, SimTensors& s);
void leaky_relu_integer(const IntOp& o, SimTensors& s);
void leaky_relu_real(const IntOp& o, SimTensors& s);
void requantize_integer(const IntOp& o, SimTensors& s);
void requantize_real(const IntOp& o, SimTensors& s);
void softmax_integer(const IntOp& o, SimTensors& s);
void softmax_real(const IntOp& o, SimTensors& s);

void channel_gather_integer(const IntOp& o, SimTensors& s);
void channel_gather_real(const IntOp& o, SimTensors& s);
void concat_integer(const IntOp& o, SimTensors& s);
void concat_real(const IntOp& o, SimTensors& s);

void vaeca_descriptor_integer(const IntOp& o, SimTensors& s);
void vaeca_descriptor_real(const IntOp& o, SimTensors& s);
void eca_conv1d_integer(const IntOp& o, SimTensors& s);
void eca_conv1d_real(const IntOp& o, SimTensors& s);

}  // namespace flynet::sim_detail

#endif  // FLYNET_QUANT_SRC_SIM_SIM_OPS_HPP_
