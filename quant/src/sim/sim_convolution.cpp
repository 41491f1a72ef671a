// Convolution, depthwise convolution and fully connected, in both arithmetics. The integer
// variants accumulate w * (x - zp) exactly and requantize with the op's own multipliers; the
// real ones accumulate in units of each channel's weight scale and round once.
#include <algorithm>
#include <string>

#include "flynet/formats/error.hpp"
#include "sim_ops.hpp"

namespace flynet::sim_detail {

namespace {

// A convolution's geometry in the reference's layouts: input NHWC; weights [out][KH][KW][in per
// group], or for depthwise [1][KH][KW][out] where output channel oc reads input channel
// oc / ch_mult.
struct ConvShape {
  Dims x, out;
  int kh, kw;
  int kc;         // input channels per group (1 for depthwise)
  int per_group;  // output channels per group (non-depthwise)
  int ch_mult;    // output channels per input channel (depthwise)
  bool depthwise;
  flynet_conv2d_params p;
};

ConvShape conv_shape(const IntOp& o, const SimTensors& s) {
  ConvShape c{};
  c.x = dims_of(s.tensor(o.inputs[0]));
  c.out = dims_of(s.tensor(o.outputs[0]));
  const Dims wd = dims_of(s.tensor(o.inputs[1]));
  c.kh = wd.h;
  c.kw = wd.w;
  c.depthwise = o.op == FLYNET_OP_DEPTHWISE_CONV2D;
  c.kc = c.depthwise ? 1 : wd.c;
  c.per_group = c.depthwise ? 1 : c.out.c / (c.x.c / c.kc);
  c.ch_mult = c.depthwise ? c.out.c / c.x.c : 1;
  c.p = o.get_params<flynet_conv2d_params>();
  return c;
}

// For every output pixel, acc[oc] = the sum over the window's in-bounds taps of w * x, and then
// finish(index of the pixel's first output channel, acc). Each tap's channels are summed in Tap
// before they join Acc, and every acc[oc] takes its taps in (ky, kx) order in either arithmetic.
template <class Tap, class Acc, class X, class Finish>
void convolve(const ConvShape& c, const std::vector<X>& x, const std::vector<int32_t>& w, Finish finish) {
  const flynet_conv2d_params& p = c.p;
  std::vector<Acc> acc(size_t(c.out.c));
  for (int n = 0; n < c.out.n; ++n)
    for (int oy = 0; oy < c.out.h; ++oy)
      for (int ox = 0; ox < c.out.w; ++ox) {
        std::fill(acc.begin(), acc.end(), Acc(0));
        for (int ky = 0; ky < c.kh; ++ky)
          for (int kx = 0; kx < c.kw; ++kx) {
            const int iy = oy * p.stride_h - p.pad_h + ky * p.dilation_h;
            const int ix = ox * p.stride_w - p.pad_w + kx * p.dilation_w;
            if (iy < 0 || iy >= c.x.h || ix < 0 || ix >= c.x.w) continue;
            const X* xp = &x[((size_t(n) * c.x.h + iy) * c.x.w + ix) * c.x.c];
            if (c.depthwise) {
              const int32_t* wp = &w[(size_t(ky) * c.kw + kx) * c.out.c];
              for (int oc = 0; oc < c.out.c; ++oc) acc[size_t(oc)] += xp[oc / c.ch_mult] * wp[oc];
              continue;
            }
            for (int oc = 0; oc < c.out.c; ++oc) {
              const X* xg = xp + (oc / c.per_group) * c.kc;
              const int32_t* wp = &w[((size_t(oc) * c.kh + ky) * c.kw + kx) * c.kc];
              Tap tap = 0;
              for (int k = 0; k < c.kc; ++k) tap += xg[k] * wp[k];
              acc[size_t(oc)] += tap;
            }
          }
        finish(((size_t(n) * c.out.h + oy) * c.out.w + ox) * c.out.c, acc);
      }
}

}  // namespace

void conv2d_integer(const IntOp& o, SimTensors& s) {
  const ConvShape c = conv_shape(o, s);
  // One tap's channels are summed in int32: |w (x - zp)| <= 127 * 255, so exact below 66311.
  if (c.kc > 66000) throw Error(ErrorCode::unsupported, "fake-quant simulation: '" + o.name + "' has too many input channels");
  const int32_t y = o.outputs[0], zo = s.tensor(y).zero_point;
  const std::vector<int32_t>& mult = s.codes(o.inputs[3]);
  const std::vector<int32_t>& shift = s.codes(o.inputs[4]);
  const bool per_channel = mult.size() > 1;
  std::vector<int32_t> out(s.numel(y));
  convolve<int32_t, int64_t>(c, s.centered(o.inputs[0]), s.codes(o.inputs[1]), [&](size_t at, const std::vector<int64_t>& acc) {
    for (int oc = 0; oc < c.out.c; ++oc) {
      const int64_t a = acc[size_t(oc)] + (o.inputs[2] >= 0 ? s.codes(o.inputs[2])[size_t(oc)] : 0);
      const size_t qc = per_channel ? size_t(oc) : 0;
      const int32_t r = requant(wrap32(a), mult[qc], shift[qc], c.p.rounding);
      out[at + size_t(oc)] = clamp32(wrap32(int64_t(r) + zo), c.p.act_min, c.p.act_max);
    }
  });
  s.set_codes(y, std::move(out));
}

void conv2d_real(const IntOp& o, SimTensors& s) {
  const ConvShape c = conv_shape(o, s);
  const int32_t y = o.outputs[0];
  const IntTensor& W = s.tensor(o.inputs[1]);
  const double s_in = s.tensor(o.inputs[0]).scale;
  std::vector<double> out(s.numel(y), 0.0);
  // acc is in units of each channel's weight scale; the bias (in s_in * s_w units) joins it there.
  convolve<double, double>(c, s.real(o.inputs[0]), s.codes(o.inputs[1]), [&](size_t at, const std::vector<double>& acc) {
    for (int oc = 0; oc < c.out.c; ++oc) {
      const double ws = W.channel_scales.size() > 1 ? W.channel_scales[size_t(oc)] : W.scale;
      const double bias = o.inputs[2] >= 0 ? s.codes(o.inputs[2])[size_t(oc)] * s_in : 0.0;
      out[at + size_t(oc)] = (acc[size_t(oc)] + bias) * ws;
    }
  });
  s.store(y, out, c.p.act_min, c.p.act_max);
}

// The weights are [C][1][1][K] and each batch row of K inputs gives C outputs.
void fully_connected_integer(const IntOp& o, SimTensors& s) {
  const auto p = o.get_params<flynet_fully_connected_params>();
  const int32_t y = o.outputs[0], zo = s.tensor(y).zero_point;
  const std::vector<int32_t> x = s.centered(o.inputs[0]);
  const std::vector<int32_t>& w = s.codes(o.inputs[1]);
  const std::vector<int32_t>& mult = s.codes(o.inputs[3]);
  const std::vector<int32_t>& shift = s.codes(o.inputs[4]);
  std::vector<int32_t> out(s.numel(y));
  const size_t batches = size_t(s.tensor(o.inputs[0]).dims[0]), K = x.size() / batches, C = out.size() / batches;
  for (size_t n = 0; n < batches; ++n)
    for (size_t oc = 0; oc < C; ++oc) {
      int64_t acc = o.inputs[2] >= 0 ? s.codes(o.inputs[2])[oc] : 0;
      for (size_t k = 0; k < K; ++k) acc += int64_t(w[oc * K + k] + p.filter_offset) * x[n * K + k];
      const size_t qc = mult.size() > 1 ? oc : 0;
      const int32_t r = requant(wrap32(acc), mult[qc], shift[qc], p.rounding);
      out[n * C + oc] = clamp32(wrap32(int64_t(r) + zo), p.act_min, p.act_max);
    }
  s.set_codes(y, std::move(out));
}

// Each term is scaled by its channel's weight scale as it is added. The filter offset is not
// modelled: lowering writes 0, so the codes are the weights.
void fully_connected_real(const IntOp& o, SimTensors& s) {
  const auto p = o.get_params<flynet_fully_connected_params>();
  const int32_t y = o.outputs[0];
  const std::vector<double> x = s.real(o.inputs[0]);
  const std::vector<int32_t>& w = s.codes(o.inputs[1]);
  const IntTensor& W = s.tensor(o.inputs[1]);
  const double s_in = s.tensor(o.inputs[0]).scale;
  std::vector<double> out(s.numel(y), 0.0);
  const size_t batches = size_t(s.tensor(o.inputs[0]).dims[0]), K = x.size() / batches, C = out.size() / batches;
  for (size_t n = 0; n < batches; ++n)
    for (size_t oc = 0; oc < C; ++oc) {
      const double ws = W.channel_scales.size() > 1 ? W.channel_scales[oc] : W.scale;
      double acc = o.inputs[2] >= 0 ? s.codes(o.inputs[2])[oc] * s_in * ws : 0.0;
      for (size_t k = 0; k < K; ++k) acc += x[n * K + k] * w[oc * K + k] * ws;
      out[n * C + oc] = acc;
    }
  s.store(y, out, p.act_min, p.act_max);
}

}  // namespace flynet::sim_detail
