// Average and max pooling, in both arithmetics.
#include "sim_ops.hpp"

namespace flynet::sim_detail {

namespace {

// The in-bounds inputs under one output element's window.
template <class Sum, class V>
struct Window {
  Sum sum;
  V max;
  int32_t count;
};

// finish(out_index, window) for every output element, the window's inputs taken in (ky, kx)
// order; `lowest` starts the max.
template <class Sum, class V, class Finish>
void pool_windows(const IntOp& o, const SimTensors& s, const std::vector<V>& x, V lowest, Finish finish) {
  const auto p = o.get_params<flynet_pool2d_params>();
  const Dims xd = dims_of(s.tensor(o.inputs[0])), od = dims_of(s.tensor(o.outputs[0]));
  for (int n = 0; n < od.n; ++n)
    for (int oy = 0; oy < od.h; ++oy)
      for (int ox = 0; ox < od.w; ++ox)
        for (int c = 0; c < od.c; ++c) {
          Window<Sum, V> w{0, lowest, 0};
          for (int ky = 0; ky < p.filter_h; ++ky)
            for (int kx = 0; kx < p.filter_w; ++kx) {
              const int iy = oy * p.stride_h - p.pad_h + ky, ix = ox * p.stride_w - p.pad_w + kx;
              if (iy < 0 || ix < 0 || iy >= xd.h || ix >= xd.w) continue;
              const V v = x[((size_t(n) * xd.h + iy) * xd.w + ix) * xd.c + c];
              w.sum += v;
              w.max = std::max(w.max, v);
              ++w.count;
            }
          finish(((size_t(n) * od.h + oy) * od.w + ox) * od.c + c, w);
        }
}

// r(window) -> output code for each element, then the op's clamp.
template <class R>
void pool_integer(const IntOp& o, SimTensors& s, R r) {
  const auto p = o.get_params<flynet_pool2d_params>();
  const int32_t y = o.outputs[0];
  std::vector<int32_t> out(s.numel(y));
  pool_windows<int64_t>(o, s, s.codes(o.inputs[0]), int32_t(-128), [&](size_t i, const Window<int64_t, int32_t>& w) {
    out[i] = clamp32(r(w), p.act_min, p.act_max);
  });
  s.set_codes(y, std::move(out));
}

// r(window) -> output value for each element, rounded once and clamped.
template <class R>
void pool_real(const IntOp& o, SimTensors& s, R r) {
  const auto p = o.get_params<flynet_pool2d_params>();
  const int32_t y = o.outputs[0];
  std::vector<double> out(s.numel(y), 0.0);
  pool_windows<double>(o, s, s.real(o.inputs[0]), -1e300, [&](size_t i, const Window<double, double>& w) { out[i] = r(w); });
  s.store(y, out, p.act_min, p.act_max);
}

}  // namespace

// Average of raw codes (no zero point), halves away from zero; the reference rejects an empty
// window, which lowering never produces.
void avg_pool2d_integer(const IntOp& o, SimTensors& s) {
  pool_integer(o, s, [](const Window<int64_t, int32_t>& w) {
    const int64_t count = std::max(w.count, 1);
    const int64_t mag = ((w.sum < 0 ? -w.sum : w.sum) + count / 2) / count;
    return w.sum < 0 ? -mag : mag;
  });
}

// Real arithmetic averages values, not codes: a tie can round the other way.
void avg_pool2d_real(const IntOp& o, SimTensors& s) {
  pool_real(o, s, [](const Window<double, double>& w) { return w.sum / w.count; });
}

void max_pool2d_integer(const IntOp& o, SimTensors& s) {
  pool_integer(o, s, [](const Window<int64_t, int32_t>& w) { return int64_t(w.max); });
}

void max_pool2d_real(const IntOp& o, SimTensors& s) {
  pool_real(o, s, [](const Window<double, double>& w) { return w.max; });
}

}  // namespace flynet::sim_detail
