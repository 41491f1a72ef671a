#include "flynet/quant/fake_quant_sim.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "flynet/core/graph.hpp"
#include "flynet/formats/error.hpp"
#include "flynet_format.h"

namespace flynet {

namespace {
struct Dims {
  int n, h, w, c;
};
Dims dims_of(const IntTensor& t) { return {t.dims[0], t.dims[1], t.dims[2], t.dims[3]}; }
int32_t i32_at(const IntTensor& t, size_t i) {
  int32_t v;
  std::memcpy(&v, t.data.data() + i * 4, 4);
  return v;
}
// Index of a broadcast operand: each dim of `a` is the output's or 1.
size_t bidx(const Dims& a, int n, int y, int x, int c) {
  return ((size_t(a.n > 1 ? n : 0) * a.h + (a.h > 1 ? y : 0)) * a.w + (a.w > 1 ? x : 0)) * a.c + (a.c > 1 ? c : 0);
}
}  // namespace

FakeQuantSim::FakeQuantSim(const IntGraph& g) : g_(g), q_(g.tensors.size()) {}

std::vector<double> FakeQuantSim::real(int32_t t) const {
  const IntTensor& T = g_.tensors[size_t(t)];
  std::vector<double> v(size_t(T.numel()));
  if (T.constant()) {
    for (size_t i = 0; i < v.size(); ++i) v[i] = T.type == FLYNET_TYPE_INT32 ? i32_at(T, i) : int8_t(T.data[i]);
    return v;
  }
  for (size_t i = 0; i < v.size(); ++i) v[i] = (q_[size_t(t)][i] - T.zero_point) * T.scale;
  return v;
}

double FakeQuantSim::value(int32_t t, size_t i) const {
  const IntTensor& T = g_.tensors[size_t(t)];
  return (q_[size_t(t)][i] - T.zero_point) * T.scale;
}

void FakeQuantSim::store(int32_t t, const std::vector<double>& v, int32_t lo, int32_t hi) {
  const IntTensor& T = g_.tensors[size_t(t)];
  std::vector<int32_t>& q = q_[size_t(t)];
  q.resize(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    const double c = std::round(v[i] / T.scale) + T.zero_point;
    q[i] = int32_t(std::clamp(c, double(std::max(lo, -128)), double(std::min(hi, 127))));
  }
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
  {
    const int32_t y = o.outputs[0];
    const Dims od = dims_of(g_.tensors[size_t(y)]);
    std::vector<double> out(size_t(g_.tensors[size_t(y)].numel()), 0.0);
    switch (o.op) {
      case FLYNET_OP_CONV2D:
      case FLYNET_OP_DEPTHWISE_CONV2D: {
        const auto p = o.get_params<flynet_conv2d_params>();
        const std::vector<double> x = real(o.inputs[0]);
        const IntTensor& W = g_.tensors[size_t(o.inputs[1])];
        const Dims xd = dims_of(g_.tensors[size_t(o.inputs[0])]), wd = dims_of(W);
        const bool dw = o.op == FLYNET_OP_DEPTHWISE_CONV2D;
        const int K = wd.h, ci = dw ? 1 : wd.c, mult = dw ? od.c / xd.c : 0;
        const int groups = dw ? xd.c : xd.c / ci, opg = od.c / groups;
        const double s_in = g_.tensors[size_t(o.inputs[0])].scale;
        for (int oy = 0; oy < od.h; ++oy)
          for (int ox = 0; ox < od.w; ++ox)
            for (int oc = 0; oc < od.c; ++oc) {
              const double ws = W.channel_scales.size() > 1 ? W.channel_scales[size_t(oc)] : W.scale;
              double acc = o.inputs[2] >= 0 ? i32_at(g_.tensors[size_t(o.inputs[2])], size_t(oc)) * s_in * ws : 0.0;
              for (int ky = 0; ky < K; ++ky)
                for (int kx = 0; kx < K; ++kx) {
                  const int iy = oy * p.stride_h - p.pad_h + ky * p.dilation_h;
                  const int ix = ox * p.stride_w - p.pad_w + kx * p.dilation_w;
                  if (iy < 0 || ix < 0 || iy >= xd.h || ix >= xd.w) continue;
                  for (int c = 0; c < ci; ++c) {
                    const int ic = dw ? oc / mult : (oc / opg) * ci + c;
                    const size_t wi = dw ? size_t((ky * K + kx) * od.c + oc) : size_t(((oc * K + ky) * K + kx) * ci + c);
                    acc += x[size_t((iy * xd.w + ix) * xd.c + ic)] * int8_t(W.data[wi]) * ws;
                  }
                }
              out[size_t((oy * od.w + ox) * od.c + oc)] = acc;
            }
        store(y, out, p.act_min, p.act_max);
        break;
      }
      case FLYNET_OP_FULLY_CONNECTED: {
        const auto p = o.get_params<flynet_fully_connected_params>();
        const std::vector<double> x = real(o.inputs[0]);
        const IntTensor& W = g_.tensors[size_t(o.inputs[1])];
        const int K = W.dims[3];
        const double s_in = g_.tensors[size_t(o.inputs[0])].scale;
        for (int oc = 0; oc < od.c; ++oc) {
          const double ws = W.channel_scales.size() > 1 ? W.channel_scales[size_t(oc)] : W.scale;
          double acc = o.inputs[2] >= 0 ? i32_at(g_.tensors[size_t(o.inputs[2])], size_t(oc)) * s_in * ws : 0.0;
          for (int k = 0; k < K; ++k) acc += x[size_t(k)] * int8_t(W.data[size_t(oc * K + k)]) * ws;
          out[size_t(oc)] = acc;
        }
        store(y, out, p.act_min, p.act_max);
        break;
      }
      case FLYNET_OP_ADD:
      case FLYNET_OP_MUL:
      case FLYNET_OP_MAXIMUM: {
        const std::vector<double> a = real(o.inputs[0]), b = real(o.inputs[1]);
        const Dims ad = dims_of(g_.tensors[size_t(o.inputs[0])]), bd = dims_of(g_.tensors[size_t(o.inputs[1])]);
        for (int n = 0; n < od.n; ++n)
          for (int yy = 0; yy < od.h; ++yy)
            for (int xx = 0; xx < od.w; ++xx)
              for (int c = 0; c < od.c; ++c) {
                const double va = a[bidx(ad, n, yy, xx, c)], vb = b[bidx(bd, n, yy, xx, c)];
                out[size_t(((n * od.h + yy) * od.w + xx) * od.c + c)] =
                    o.op == FLYNET_OP_ADD ? va + vb : o.op == FLYNET_OP_MUL ? va * vb : std::max(va, vb);
              }
        store(y, out);
        break;
      }
      case FLYNET_OP_MAX_GROUP: {
        const int gsz = o.get_params<flynet_max_group_params>().group_size;
        const std::vector<double> x = real(o.inputs[0]);
        for (size_t i = 0; i < out.size(); ++i) {
          double m = x[i * size_t(gsz)];
          for (int j = 1; j < gsz; ++j) m = std::max(m, x[i * size_t(gsz) + size_t(j)]);
          out[i] = m;
        }
        store(y, out);
        break;
      }
      case FLYNET_OP_AVG_POOL2D:
      case FLYNET_OP_MAX_POOL2D: {
        const auto p = o.get_params<flynet_pool2d_params>();
        const std::vector<double> x = real(o.inputs[0]);
        const Dims xd = dims_of(g_.tensors[size_t(o.inputs[0])]);
        for (int oy = 0; oy < od.h; ++oy)
          for (int ox = 0; ox < od.w; ++ox)
            for (int c = 0; c < od.c; ++c) {
              double acc = 0, m = -1e300;
              int cnt = 0;
              for (int ky = 0; ky < p.filter_h; ++ky)
                for (int kx = 0; kx < p.filter_w; ++kx) {
                  const int iy = oy * p.stride_h - p.pad_h + ky, ix = ox * p.stride_w - p.pad_w + kx;
                  if (iy < 0 || ix < 0 || iy >= xd.h || ix >= xd.w) continue;
                  const double v = x[size_t((iy * xd.w + ix) * xd.c + c)];
                  acc += v;
                  m = std::max(m, v);
                  ++cnt;
                }
              out[size_t((oy * od.w + ox) * od.c + c)] = o.op == FLYNET_OP_AVG_POOL2D ? acc / cnt : m;
            }
        store(y, out, p.act_min, p.act_max);
        break;
      }
      case FLYNET_OP_SOFTMAX: {
        const int row = o.get_params<flynet_softmax_params>().row_size;
        const std::vector<double> x = real(o.inputs[0]);
        const double gain = g_.tensors[size_t(y)].scale * 256.0;  // h for the head softmax
        for (size_t r0 = 0; r0 < x.size(); r0 += size_t(row)) {
          double m = x[r0], s = 0;
          for (int j = 1; j < row; ++j) m = std::max(m, x[r0 + size_t(j)]);
          for (int j = 0; j < row; ++j) s += std::exp(x[r0 + size_t(j)] - m);
          for (int j = 0; j < row; ++j) out[r0 + size_t(j)] = gain * std::exp(x[r0 + size_t(j)] - m) / s;
        }
        store(y, out);
        break;
      }
      case FLYNET_OP_LOGISTIC:
      case FLYNET_OP_HARD_SWISH:
      case FLYNET_OP_HARD_SIGMOID:
      case FLYNET_OP_REQUANTIZE: {
        const std::vector<double> x = real(o.inputs[0]);
        int32_t lo = -128, hi = 127;
        if (o.op == FLYNET_OP_HARD_SIGMOID) {
          lo = o.get_params<flynet_hard_sigmoid_params>().act_min;
          hi = o.get_params<flynet_hard_sigmoid_params>().act_max;
        } else if (o.op == FLYNET_OP_REQUANTIZE) {
          lo = o.get_params<flynet_requantize_params>().act_min;
          hi = o.get_params<flynet_requantize_params>().act_max;
        }
        for (size_t i = 0; i < x.size(); ++i) {
          const double v = x[i], r6 = std::clamp(v + 3.0, 0.0, 6.0) / 6.0;
          out[i] = o.op == FLYNET_OP_LOGISTIC ? 1.0 / (1.0 + std::exp(-v))
                   : o.op == FLYNET_OP_HARD_SWISH ? v * r6
                   : o.op == FLYNET_OP_HARD_SIGMOID ? r6
                                                    : v;
        }
        store(y, out, lo, hi);
        break;
      }
      case FLYNET_OP_CHANNEL_GATHER: {
        const std::vector<double> x = real(o.inputs[0]);
        const IntTensor& idx = g_.tensors[size_t(o.inputs[1])];
        const int cin = g_.tensors[size_t(o.inputs[0])].dims[3];
        for (size_t p = 0; p < out.size() / size_t(od.c); ++p)
          for (int c = 0; c < od.c; ++c) out[p * size_t(od.c) + size_t(c)] = x[p * size_t(cin) + size_t(i32_at(idx, size_t(c)))];
        store(y, out);
        break;
      }
      case FLYNET_OP_CONCAT: {
        size_t at = 0;
        const size_t outer = out.size() / size_t(od.c);
        for (int32_t t : o.inputs) {
          const std::vector<double> x = real(t);
          const size_t c = size_t(g_.tensors[size_t(t)].dims[3]);
          for (size_t p = 0; p < outer; ++p)
            for (size_t k = 0; k < c; ++k) out[p * size_t(od.c) + at + k] = x[p * c + k];
          at += c;
        }
        store(y, out);
        break;
      }
      case FLYNET_OP_VAECA_DESCRIPTOR: {
        const std::vector<double> z = real(o.inputs[0]);
        const Dims zd = dims_of(g_.tensors[size_t(o.inputs[0])]);
        const size_t P = size_t(zd.h) * zd.w, C = size_t(zd.c);
        std::vector<double> mean(C * size_t(zd.n)), sd(mean.size());
        for (size_t n = 0; n < size_t(zd.n); ++n)
          for (size_t c = 0; c < C; ++c) {
            double s = 0, s2 = 0;
            for (size_t i = 0; i < P; ++i) {
              const double v = z[(n * P + i) * C + c];
              s += v;
              s2 += v * v;
            }
            const double m = s / double(P);
            mean[n * C + c] = m;
            sd[n * C + c] = std::sqrt(std::max(0.0, s2 / double(P) - m * m) + kVaEcaStdEps);
          }
        store(o.outputs[0], mean);
        store(o.outputs[1], sd);
        break;
      }
      case FLYNET_OP_ECA_CONV1D: {
        const auto p = o.get_params<flynet_eca_conv1d_params>();
        const std::vector<double> mean = real(o.inputs[0]), sd = real(o.inputs[1]);
        const IntTensor& W = g_.tensors[size_t(o.inputs[2])];
        const int k = W.dims[2], pad = (k - 1) / 2, h = p.heads, C = od.c, E = C / h;
        for (int n = 0; n < od.n; ++n)
          for (int c = 0; c < E; ++c)
            for (int j = 0; j < h; ++j) {
              double acc = 0;
              for (int t = 0; t < k; ++t) {
                const int cc = c + t - pad;
                if (cc < 0 || cc >= E) continue;
                const size_t i = size_t(n * C + cc * h + j);
                acc += int8_t(W.data[size_t(t * 2)]) * W.channel_scales[0] * mean[i] +
                       int8_t(W.data[size_t(t * 2 + 1)]) * W.channel_scales[1] * sd[i];
              }
              out[size_t(n * C + c * h + j)] = acc;
            }
        store(y, out, p.act_min, p.act_max);
        break;
      }
      default:
        throw Error(ErrorCode::unsupported, "fake-quant simulation: no model of op " + std::to_string(o.op) + " ('" + o.name + "')");
    }
  }
}

}  // namespace flynet
