// Channel gather and concatenation along channels, in both arithmetics: the same moves of codes
// or of values (real arithmetic then rounds them onto the output's grid).
#include "sim_ops.hpp"

namespace flynet::sim_detail {

namespace {

// out[px][c] = x[px][index[c]] for every pixel px.
template <class V>
void gather(const IntOp& o, const SimTensors& s, const std::vector<V>& x, std::vector<V>& out) {
  const std::vector<int32_t>& index = s.codes(o.inputs[1]);
  const size_t cin = size_t(s.tensor(o.inputs[0]).dims[3]), C = size_t(s.tensor(o.outputs[0]).dims[3]);
  for (size_t px = 0; px < out.size() / C; ++px)
    for (size_t c = 0; c < C; ++c) out[px * C + c] = x[px * cin + size_t(index[c])];
}

// Each input's channels in turn at every pixel; input_of(t) gives tensor t's codes or values.
template <class V, class Input>
void concat(const IntOp& o, const SimTensors& s, std::vector<V>& out, Input input_of) {
  const size_t C = size_t(s.tensor(o.outputs[0]).dims[3]), outer = out.size() / C;
  size_t at = 0;
  for (int32_t t : o.inputs) {
    const std::vector<V>& x = input_of(t);
    const size_t c = size_t(s.tensor(t).dims[3]);
    for (size_t px = 0; px < outer; ++px) std::copy_n(x.begin() + px * c, c, out.begin() + px * C + at);
    at += c;
  }
}

}  // namespace

void channel_gather_integer(const IntOp& o, SimTensors& s) {
  const int32_t y = o.outputs[0];
  std::vector<int32_t> out(s.numel(y));
  gather(o, s, s.codes(o.inputs[0]), out);
  s.set_codes(y, std::move(out));
}

void channel_gather_real(const IntOp& o, SimTensors& s) {
  const int32_t y = o.outputs[0];
  std::vector<double> out(s.numel(y), 0.0);
  gather(o, s, s.real(o.inputs[0]), out);
  s.store(y, out);
}

void concat_integer(const IntOp& o, SimTensors& s) {
  const int32_t y = o.outputs[0];
  std::vector<int32_t> out(s.numel(y));
  concat(o, s, out, [&](int32_t t) -> const std::vector<int32_t>& { return s.codes(t); });
  s.set_codes(y, std::move(out));
}

void concat_real(const IntOp& o, SimTensors& s) {
  const int32_t y = o.outputs[0];
  std::vector<double> out(s.numel(y), 0.0);
  concat(o, s, out, [&](int32_t t) { return s.real(t); });
  s.store(y, out);
}

}  // namespace flynet::sim_detail
