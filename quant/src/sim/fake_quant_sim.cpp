// FakeQuantSim: the tensors' codes and the run loops; each op's arithmetic lives in the op
// files beside this one (sim_ops.hpp lists them), found through the table below.
#include "flynet/quant/fake_quant_sim.hpp"

#include <array>
#include <cmath>
#include <cstring>
#include <string>

#include "flynet/formats/error.hpp"
#include "sim_ops.hpp"

namespace flynet {

namespace sim_detail {

const SimOp* sim_op(int32_t op) {
  static constexpr std::array<SimOp, FLYNET_OP_COUNT> kOps = [] {
    std::array<SimOp, FLYNET_OP_COUNT> t{};
    t[FLYNET_OP_CONV2D] = {conv2d_integer, conv2d_real};
    t[FLYNET_OP_DEPTHWISE_CONV2D] = {conv2d_integer, conv2d_real};
    t[FLYNET_OP_FULLY_CONNECTED] = {fully_connected_integer, fully_connected_real};
    t[FLYNET_OP_ADD] = {add_integer, add_real};
    t[FLYNET_OP_MUL] = {mul_integer, mul_real};
    t[FLYNET_OP_MAXIMUM] = {maximum_integer, maximum_real};
    t[FLYNET_OP_AVG_POOL2D] = {avg_pool2d_integer, avg_pool2d_real};
    t[FLYNET_OP_MAX_POOL2D] = {max_pool2d_integer, max_pool2d_real};
    t[FLYNET_OP_SOFTMAX] = {softmax_integer, softmax_real};
    t[FLYNET_OP_HARD_SWISH] = {hard_swish_integer, hard_swish_real};
    t[FLYNET_OP_LOGISTIC] = {logistic_integer, logistic_real};
    t[FLYNET_OP_HARD_SIGMOID] = {hard_sigmoid_integer, hard_sigmoid_real};
    t[FLYNET_OP_CONCAT] = {concat_integer, concat_real};
    t[FLYNET_OP_CHANNEL_GATHER] = {channel_gather_integer, channel_gather_real};
    t[FLYNET_OP_REQUANTIZE] = {requantize_integer, requantize_real};
    t[FLYNET_OP_VAECA_DESCRIPTOR] = {vaeca_descriptor_integer, vaeca_descriptor_real};
    t[FLYNET_OP_ECA_CONV1D] = {eca_conv1d_integer, eca_conv1d_real};
    t[FLYNET_OP_MAX_GROUP] = {max_group_integer, max_group_real};
    t[FLYNET_OP_LEAKY_RELU] = {leaky_relu_integer, leaky_relu_real};
    return t;
  }();
  if (op < 0 || op >= FLYNET_OP_COUNT || !kOps[size_t(op)].integer) return nullptr;
  return &kOps[size_t(op)];
}

std::vector<int32_t> SimTensors::centered(int32_t t) const {
  std::vector<int32_t> x = codes(t);
  for (int32_t& v : x) v -= tensor(t).zero_point;
  return x;
}

std::vector<double> SimTensors::real(int32_t t) const {
  const IntTensor& T = tensor(t);
  const std::vector<int32_t>& q = codes(t);
  std::vector<double> v(q.size());
  if (T.constant()) {
    for (size_t i = 0; i < v.size(); ++i) v[i] = q[i];
    return v;
  }
  for (size_t i = 0; i < v.size(); ++i) v[i] = (q[i] - T.zero_point) * T.scale;
  return v;
}

void SimTensors::store(int32_t t, const std::vector<double>& v, int32_t lo, int32_t hi) {
  const IntTensor& T = tensor(t);
  std::vector<int32_t>& q = q_[size_t(t)];
  q.resize(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    const double c = std::round(v[i] / T.scale) + T.zero_point;
    q[i] = int32_t(std::clamp(c, double(std::max(lo, -128)), double(std::min(hi, 127))));
  }
}

}  // namespace sim_detail

FakeQuantSim::FakeQuantSim(const IntGraph& g, SimArithmetic a) : g_(g), a_(a), q_(g.tensors.size()) {
  for (const IntOp& o : g.ops)
    if (!sim_detail::sim_op(o.op))
      throw Error(ErrorCode::unsupported, "fake-quant simulation: no model of op " + std::to_string(o.op) + " ('" + o.name + "')");
  // Constants keep their values in codes() too, so the integer ops read every operand alike.
  for (size_t t = 0; t < g.tensors.size(); ++t) {
    const IntTensor& T = g.tensors[t];
    if (!T.constant()) continue;
    q_[t].resize(size_t(T.numel()));
    for (size_t i = 0; i < q_[t].size(); ++i) {
      if (T.type == FLYNET_TYPE_INT32)
        std::memcpy(&q_[t][i], T.data.data() + i * 4, 4);
      else
        q_[t][i] = int8_t(T.data[i]);
    }
  }
}

double FakeQuantSim::value(int32_t t, size_t i) const {
  const IntTensor& T = g_.tensors[size_t(t)];
  return (q_[size_t(t)][i] - T.zero_point) * T.scale;
}

void FakeQuantSim::run(const int8_t* input) {
  const IntTensor& in = g_.tensors[size_t(g_.input)];
  q_[size_t(g_.input)].assign(input, input + in.numel());
  for (const IntOp& o : g_.ops) run_op(o);
}

void FakeQuantSim::run_isolated(
    const std::function<const int8_t*(int32_t)>& codes_of,
    const std::function<void(const IntOp&, int32_t, const std::vector<int32_t>&)>& on_output) {
  for (const IntOp& o : g_.ops) {
    for (int32_t t : o.inputs) {
      if (t < 0 || g_.tensors[size_t(t)].constant()) continue;
      const int8_t* c = codes_of(t);
      q_[size_t(t)].assign(c, c + g_.tensors[size_t(t)].numel());
    }
    run_op(o);
    for (int32_t t : o.outputs) on_output(o, t, q_[size_t(t)]);
  }
}

void FakeQuantSim::run_op(const IntOp& o) {
  sim_detail::SimTensors s(g_, q_);
  const sim_detail::SimOp& f = *sim_detail::sim_op(o.op);  // the constructor refused ops without one
  (a_ == SimArithmetic::integer ? f.integer : f.real)(o, s);
}

}  // namespace flynet
