#include "flynet/quant/bias_correction.hpp"

#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <memory>

#include "flynet/core/fold_bn.hpp"
#include "flynet/core/net.hpp"
#include "flynet/formats/error.hpp"
#include "flynet/quant/compare.hpp"
#include "flynet/quant/int_runner.hpp"
#include "flynet_format.h"

namespace flynet {

namespace {

// Rows of the image are summed once per kernel row, then columns once per kernel column: a
// tap's sum is the sum over the rows it visits of the columns it visits.
template <class T, class Acc>
void tap_sums(const TapGeometry& t, const T* x, Acc zp, Acc* out) {
  const size_t row_len = size_t(t.W) * size_t(t.C);
  std::vector<Acc> rows(row_len);
  for (int ky = 0; ky < t.KH; ++ky) {
    std::fill(rows.begin(), rows.end(), Acc(0));
    int64_t nrows = 0;
    for (int oy = 0; oy < t.Ho; ++oy) {
      const int iy = oy * t.sh + ky - t.ph;
      if (iy < 0 || iy >= t.H) continue;
      ++nrows;
      const T* r = x + size_t(iy) * row_len;
      for (size_t i = 0; i < row_len; ++i) rows[i] += Acc(r[i]);
    }
    for (int kx = 0; kx < t.KW; ++kx) {
      Acc* o = out + size_t(ky * t.KW + kx) * size_t(t.C);
      int64_t ncols = 0;
      for (int ox = 0; ox < t.Wo; ++ox) {
        const int ix = ox * t.sw + kx - t.pw;
        if (ix < 0 || ix >= t.W) continue;
        ++ncols;
        for (int c = 0; c < t.C; ++c) o[c] += rows[size_t(ix) * size_t(t.C) + size_t(c)];
      }
      const Acc offset = Acc(nrows * ncols) * zp;
      for (int c = 0; c < t.C; ++c) o[c] -= offset;
    }
  }
}

struct Target {
  int node = -1;               // float conv / dw_concat / linear
  int pre = -1;                // float node with its pre-activation output
  int op = -1;                 // int op
  int32_t code = 0, x = -1, w = -1, bias = -1, y = -1;
  TapGeometry geo;
  std::vector<int> float_channel;  // per int output channel: the float channel, -1 for padding
  int stage = 0;
  std::vector<double> float_mean;  // per float channel, E[y] of the float model
  std::vector<double> float_taps;  // weights mode: float tap sums of the float input
  int64_t positions() const { return int64_t(geo.Ho) * geo.Wo; }
};

const int8_t* i8(const IntTensor& t) { return reinterpret_cast<const int8_t*>(t.data.data()); }

std::vector<int32_t> i32(const IntTensor& t) {
  std::vector<int32_t> v(size_t(t.numel()));
  std::memcpy(v.data(), t.data.data(), v.size() * 4);
  return v;
}

// Finds each float layer's int op and reads its geometry from the op, so the tap means use
// exactly the padding and strides the kernel uses.
std::vector<Target> find_layers(const Model& m, const IntGraph& g) {
  const Graph& fg = m.graph;
  std::vector<Target> layers;
  for (size_t i = 0; i < fg.nodes.size(); ++i) {
    const Node& n = fg.nodes[i];
    if (n.op != OpKind::conv2d && n.op != OpKind::dw_concat && n.op != OpKind::linear) continue;
    Target L;
    L.node = int(i);
    L.pre = n.op == OpKind::linear ? int(i) : bn_after(fg, int(i));
    if (L.pre < 0) L.pre = int(i);
    for (size_t k = 0; k < g.ops.size(); ++k) {
      const IntOp& o = g.ops[k];
      if (o.name == n.name && (o.op == FLYNET_OP_CONV2D || o.op == FLYNET_OP_DEPTHWISE_CONV2D ||
                               o.op == FLYNET_OP_FULLY_CONNECTED))
        L.op = int(k);
    }
    if (L.op < 0) throw Error(ErrorCode::internal, "bias correction: layer '" + n.name + "' has no int8 op");
    const IntOp& o = g.ops[size_t(L.op)];
    L.code = o.op;
    L.x = o.inputs[0];
    L.w = o.inputs[1];
    L.bias = o.inputs[2];
    L.y = o.outputs[0];
    const IntTensor &X = g.tensors[size_t(L.x)], &Wt = g.tensors[size_t(L.w)], &Y = g.tensors[size_t(L.y)];
    if (L.bias < 0) throw Error(ErrorCode::internal, "bias correction: layer '" + n.name + "' has no bias tensor");
    const int co = Y.dims[3];
    TapGeometry& t = L.geo;
    if (L.code == FLYNET_OP_FULLY_CONNECTED) {
      t.C = int(X.numel());
    } else {
      const auto p = o.get_params<flynet_conv2d_params>();
      if (p.dilation_h != 1 || p.dilation_w != 1)
        throw Error(ErrorCode::internal, "bias correction: dilated conv '" + n.name + "'");
      t.H = X.dims[1];
      t.W = X.dims[2];
      t.C = X.dims[3];
      t.KH = Wt.dims[1];
      t.KW = Wt.dims[2];
      t.sh = p.stride_h;
      t.sw = p.stride_w;
      t.ph = p.pad_h;
      t.pw = p.pad_w;
      t.Ho = Y.dims[1];
      t.Wo = Y.dims[2];
    }
    L.float_channel.assign(size_t(co), -1);
    if (n.op == OpKind::dw_concat) {
      // Depthwise channels in head order, gathered into concat order by "<name>.gather".
      for (const IntOp& gop : g.ops)
        if (gop.name == n.name + ".gather") {
          const std::vector<int32_t> index = i32(g.tensors[size_t(gop.inputs[1])]);
          for (size_t f = 0; f < index.size(); ++f) L.float_channel[size_t(index[f])] = int(f);
        }
    } else {
      if (co != n.cout) throw Error(ErrorCode::internal, "bias correction: '" + n.name + "' changed its channel count");
      for (int c = 0; c < co; ++c) L.float_channel[size_t(c)] = c;
    }
    layers.push_back(std::move(L));
  }
  return layers;
}

// Stage of a layer = 1 + the highest stage among the layers upstream of its input; the layers
// of one stage can all be measured in the same run, after every earlier stage is corrected.
int assign_stages(const IntGraph& g, std::vector<Target>& layers) {
  std::vector<int> layer_of(g.ops.size(), -1);
  for (size_t l = 0; l < layers.size(); ++l) layer_of[size_t(layers[l].op)] = int(l);
  std::vector<int> ready(g.tensors.size(), 0);  // first pass in which the tensor is final
  int passes = 0;
  for (size_t k = 0; k < g.ops.size(); ++k) {
    int need = 0;
    for (int32_t t : g.ops[k].inputs)
      if (t >= 0) need = std::max(need, ready[size_t(t)]);
    int out = need;
    if (layer_of[k] >= 0) {
      layers[size_t(layer_of[k])].stage = need;
      passes = std::max(passes, need + 1);
      out = need + 1;
    }
    for (int32_t t : g.ops[k].outputs) ready[size_t(t)] = out;
  }
  return passes;
}

void float_pass(Model& model, const Tensor& images, std::vector<Target>& layers, bool taps) {
  Net net(model);
  const int64_t N = images.shape[0], px = images.numel() / N;
  for (Target& L : layers) {
    L.float_mean.assign(size_t(model.graph.nodes[size_t(L.pre)].out.c), 0.0);
    if (taps) L.float_taps.assign(size_t(L.geo.KH) * L.geo.KW * L.geo.C, 0.0);
  }
  const int64_t batch = 64;
  for (int64_t b0 = 0; b0 < N; b0 += batch) {
    const int64_t n = std::min(batch, N - b0);
    Tensor x({n, images.shape[1], images.shape[2], images.shape[3]});
    std::copy(images.data.begin() + b0 * px, images.data.begin() + (b0 + n) * px, x.data.begin());
    net.forward(x, RunCtx{});
    for (Target& L : layers) {
      const Tensor& y = net.output(L.pre);
      const size_t C = L.float_mean.size();
      for (int64_t i = 0; i < y.numel(); ++i) L.float_mean[size_t(i) % C] += y.data[size_t(i)];
      if (!taps) continue;
      const Tensor& in = net.output(model.graph.nodes[size_t(L.node)].inputs[0]);
      const int64_t per = in.numel() / n;
      if (per != int64_t(L.geo.H) * L.geo.W * L.geo.C)
        throw Error(ErrorCode::internal, "bias correction: float input of '" + model.graph.nodes[size_t(L.node)].name +
                                             "' does not match its int8 input");
      for (int64_t s = 0; s < n; ++s) add_tap_sums(L.geo, in.ptr() + s * per, L.float_taps.data());
    }
  }
  for (Target& L : layers) {
    const Shape& s = model.graph.nodes[size_t(L.pre)].out;
    for (double& v : L.float_mean) v /= double(N) * s.h * s.w;
  }
}

// New bias codes: the accumulator's mean s_in s_w (sum w_q * M + B) set to the float mean,
// M the tap means in units of the input scale.
void correct_layer(IntGraph& g, const Target& L, const std::vector<double>& M, BiasCorrectionLayer& rep) {
  const IntTensor &X = g.tensors[size_t(L.x)], &Wt = g.tensors[size_t(L.w)], &Y = g.tensors[size_t(L.y)];
  IntTensor& B = g.tensors[size_t(L.bias)];
  std::vector<int32_t> b = i32(B);
  const int8_t* w = i8(Wt);
  const int co = Y.dims[3];
  const TapGeometry& t = L.geo;
  const int taps = t.KH * t.KW;
  double sum_shift = 0;
  int count = 0;
  for (int o = 0; o < co; ++o) {
    const int f = L.float_channel[size_t(o)];
    if (f < 0) continue;
    double e = 0;  // E[sum w_q * (x - zp)]
    if (L.code == FLYNET_OP_FULLY_CONNECTED) {
      for (int k = 0; k < t.C; ++k) e += double(w[size_t(o) * size_t(t.C) + size_t(k)]) * M[size_t(k)];
    } else if (L.code == FLYNET_OP_DEPTHWISE_CONV2D) {
      const int mult = co / t.C;
      for (int k = 0; k < taps; ++k) e += double(w[size_t(k) * size_t(co) + size_t(o)]) * M[size_t(k * t.C + o / mult)];
    } else {
      const int ci = Wt.dims[3], per_group = co / (t.C / ci), g0 = (o / per_group) * ci;
      for (int k = 0; k < taps; ++k)
        for (int l = 0; l < ci; ++l)
          e += double(w[(size_t(o) * size_t(taps) + size_t(k)) * size_t(ci) + size_t(l)]) * M[size_t(k * t.C + g0 + l)];
    }
    const double sw = Wt.channel_scales.size() == size_t(co) ? Wt.channel_scales[size_t(o)] : Wt.channel_scales.at(0);
    const double acc_scale = X.scale * sw;
    const double v = std::round(L.float_mean[size_t(f)] / acc_scale - e);
    const int32_t nb = int32_t(std::clamp(v, double(INT32_MIN), double(INT32_MAX)));
    const double shift = std::fabs(double(nb) - double(b[size_t(o)])) * acc_scale / Y.scale;
    sum_shift += shift;
    rep.max_abs_shift = std::max(rep.max_abs_shift, shift);
    ++count;
    b[size_t(o)] = nb;
  }
  rep.mean_abs_shift = count ? sum_shift / count : 0.0;
  std::memcpy(B.data.data(), b.data(), b.size() * 4);
}

struct Worker {
  std::unique_ptr<IntRunner> runner;
  std::vector<std::vector<int64_t>> sums;  // per layer of the pass
};

}  // namespace

void add_tap_sums(const TapGeometry& t, const int8_t* x, int32_t zp, int64_t* out) { tap_sums<int8_t, int64_t>(t, x, zp, out); }
void add_tap_sums(const TapGeometry& t, const float* x, double* out) { tap_sums<float, double>(t, x, 0.0, out); }

BiasCorrectionReport correct_bias(Model& model, IntGraph& g, const Tensor& images, const BiasCorrectionOptions& opt,
                                  const BiasProgressFn& progress) {
  const ArchSpec& s = model.spec();
  if (images.shape.size() != 4 || images.shape[1] != s.in_h || images.shape[2] != s.in_w || images.shape[3] != s.in_c)
    throw Error(ErrorCode::shape, "bias correction: calibration images are " + images.shape_str() + ", the model takes " +
                                      std::to_string(s.in_h) + "x" + std::to_string(s.in_w) + "x" + std::to_string(s.in_c));
  const int64_t N = images.shape[0];
  if (N < 1) throw Error(ErrorCode::usage, "bias correction needs at least one calibration image");
  std::vector<Target> layers = find_layers(model, g);
  const bool weights_only = opt.mode == BiasCorrectionMode::weights;
  float_pass(model, images, layers, weights_only);

  BiasCorrectionReport rep;
  rep.images = N;
  for (const Target& L : layers) rep.layers.push_back({model.graph.nodes[size_t(L.node)].name, 0, 0, 0});

  if (weights_only) {
    for (size_t l = 0; l < layers.size(); ++l) {
      const Target& L = layers[l];
      std::vector<double> M(L.float_taps);
      const double div = double(N) * double(L.positions()) * g.tensors[size_t(L.x)].scale;
      for (double& v : M) v /= div;
      correct_layer(g, L, M, rep.layers[l]);
    }
    return rep;
  }

  rep.passes = assign_stages(g, layers);
  const int64_t px = images.numel() / N;
  tbb::task_arena arena(std::max(1, opt.threads));
  for (int p = 0; p < rep.passes; ++p) {
    std::vector<size_t> now;
    int kmax = 0;
    for (size_t l = 0; l < layers.size(); ++l)
      if (layers[l].stage == p) {
        now.push_back(l);
        kmax = std::max(kmax, layers[l].op);
      }
    // Only the ops before the last layer of this stage are needed to produce its inputs.
    IntGraph prefix = g;
    prefix.ops.resize(size_t(kmax));
    prefix.output = layers[now.back()].x;
    // Activations only the cut-off ops touch get one element: the reference still checks that
    // every tensor fits the arena, and the plan gives them none.
    std::vector<char> used(prefix.tensors.size(), 0);
    used[size_t(prefix.input)] = 1;
    for (const IntOp& o : prefix.ops) {
      for (int32_t t : o.inputs)
        if (t >= 0) used[size_t(t)] = 1;
      for (int32_t t : o.outputs) used[size_t(t)] = 1;
    }
    for (size_t t = 0; t < prefix.tensors.size(); ++t)
      if (!used[t] && !prefix.tensors[t].constant()) prefix.tensors[t].dims = {1, 1, 1, 1};
    std::vector<size_t> sizes;
    for (size_t l : now) sizes.push_back(size_t(layers[l].geo.KH) * layers[l].geo.KW * layers[l].geo.C);
    tbb::enumerable_thread_specific<Worker> workers([&] {
      Worker w;
      if (kmax > 0) w.runner = std::make_unique<IntRunner>(prefix, true);
      for (size_t n : sizes) w.sums.emplace_back(n, 0);
      return w;
    });
    arena.execute([&] {
      tbb::parallel_for(int64_t(0), N, [&](int64_t i) {
        Worker& w = workers.local();
        std::vector<int8_t> x(static_cast<size_t>(px)), out(prefix.tensors[size_t(prefix.output)].bytes());
        quantize_input(g, images.ptr() + i * px, x.data());
        if (w.runner) w.runner->run(x.data(), out.data());
        for (size_t j = 0; j < now.size(); ++j) {
          const Target& L = layers[now[j]];
          const int8_t* xin = L.x == g.input ? x.data() : w.runner->tensor(L.x);
          add_tap_sums(L.geo, xin, g.tensors[size_t(L.x)].zero_point, w.sums[j].data());
        }
      });
    });
    for (size_t j = 0; j < now.size(); ++j) {
      const Target& L = layers[now[j]];
      std::vector<double> M(sizes[j], 0.0);
      for (const Worker& w : workers)
        for (size_t k = 0; k < M.size(); ++k) M[k] += double(w.sums[j][k]);
      for (double& v : M) v /= double(N) * double(L.positions());
      rep.layers[now[j]].pass = p;
      correct_layer(g, L, M, rep.layers[now[j]]);
    }
    if (progress) progress(int64_t(p + 1) * N, int64_t(rep.passes) * N);
  }
  return rep;
}

}  // namespace flynet
