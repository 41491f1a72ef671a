// Depthwise convolution, NHWC, hand-written: forward, backward-data and backward-weights.
// Serves conv2d with groups == cin (plain depthwise and the MDW heads with depth multiplier
// h, output channel c*h + j reads input c) and dw_concat (output o reads input o % cin).
//
// Why hand-written. The three formulations of MDW (one oneDNN conv with depth multiplier h,
// h oneDNN multiplier-1 depthwise convs, this kernel), batch 128, 72 ch, 14x14, 5x5, stride 1:
//   oneDNN, multiplier 3, NHWC (onednn-notes.md, 2 threads, idle): fwd 5.0, bwd-data 10.5,
//     bwd-weights 3.6 ms -- no depthwise kernel for a multiplier, generic jit path;
//   oneDNN, 3 x multiplier 1, NHWC (same source): fwd 3 x 0.59, bwd-data 3 x 0.54,
//     bwd-weights 3 x 3.9 ms, plus an interleave to the c*h + j order and back;
//   this kernel, multiplier 3 (measured 2026-11-25 on a machine loaded by other builds, so
//     upper bounds): 1 thread fwd 11.5, bwd-data + bwd-weights 34.6 ms (weights alone 19.3);
//     2 threads fwd 10.8, bwd 31.3 ms.
// Per head oneDNN's multiplier-1 forward and backward-data are faster; the kernel was kept
// because it needs no interleave, keeps the MDW output order of the stored model and the int8
// graph, and reduces the weight gradient in a fixed order (bit-identical runs); in the whole
// FlyNet-h3 0.5x training step it is about a quarter of the time (perf, 1 thread). Switching
// the forward/backward-data of wide layers to per-head oneDNN convs is the next speed step.
// This kernel first gathers each sample's input to the output channel order (cout channels,
// in L2), then runs a multiplier-1 loop vectorised over the contiguous channels; forward,
// backward-data and backward-weights of one sample share that gathered copy, and
// backward-weights reduces per fixed sample chunk (deterministic).
#include <algorithm>
#include <cstring>

#include "flynet/formats/error.hpp"
#include "layer_util.hpp"

namespace flynet::layers {

namespace {

struct Geom {
  int H, W, C;        // input (after gather: C = cout)
  int OH, OW;
  int k, s, pad;
};

// The kernels keep a block of B channels of one output (or input) pixel in registers across
// all taps (B = 32, then 8, then 1), so each multiply-add costs two loads instead of a load,
// a load-modify-store and a load. FlyNet widths are multiples of 8.
template <int B>
[[gnu::always_inline]] inline void fwd_block(const float* __restrict x, const float* __restrict wt, float* __restrict y, const Geom& g,
                      int oh, int ow, int c) {
  float acc[B] = {};
  for (int kh = 0; kh < g.k; ++kh) {
    const int ih = oh * g.s - g.pad + kh;
    if (ih < 0 || ih >= g.H) continue;
    for (int kw = 0; kw < g.k; ++kw) {
      const int iw = ow * g.s - g.pad + kw;
      if (iw < 0 || iw >= g.W) continue;
      const float* __restrict xi = x + (int64_t(ih) * g.W + iw) * g.C + c;
      const float* __restrict wk = wt + int64_t(kh * g.k + kw) * g.C + c;
      for (int i = 0; i < B; ++i) acc[i] += xi[i] * wk[i];
    }
  }
  float* __restrict yo = y + (int64_t(oh) * g.OW + ow) * g.C + c;
  for (int i = 0; i < B; ++i) yo[i] = acc[i];
}

// dx at input pixel (ih, iw): the output pixels whose window covers it, through the flipped taps.
template <int B>
[[gnu::always_inline]] inline void bwd_data_block(const float* __restrict dy, const float* __restrict wt, float* __restrict dx, const Geom& g,
                           int ih, int iw, int c) {
  float acc[B] = {};
  for (int kh = 0; kh < g.k; ++kh) {
    const int t = ih + g.pad - kh;
    if (t < 0 || t % g.s) continue;
    const int oh = t / g.s;
    if (oh >= g.OH) continue;
    for (int kw = 0; kw < g.k; ++kw) {
      const int u = iw + g.pad - kw;
      if (u < 0 || u % g.s) continue;
      const int ow = u / g.s;
      if (ow >= g.OW) continue;
      const float* __restrict d = dy + (int64_t(oh) * g.OW + ow) * g.C + c;
      const float* __restrict wk = wt + int64_t(kh * g.k + kw) * g.C + c;
      for (int i = 0; i < B; ++i) acc[i] += d[i] * wk[i];
    }
  }
  float* __restrict o = dx + (int64_t(ih) * g.W + iw) * g.C + c;
  for (int i = 0; i < B; ++i) o[i] = acc[i];
}

// dw[tap] += sum over output pixels of dy * x(tap-shifted), for one tap and channel block.
template <int B>
[[gnu::always_inline]] inline void bwd_weight_block(const float* __restrict x, const float* __restrict dy, float* __restrict dw, const Geom& g,
                             int kh, int kw, int c) {
  float acc[B] = {};
  for (int oh = 0; oh < g.OH; ++oh) {
    const int ih = oh * g.s - g.pad + kh;
    if (ih < 0 || ih >= g.H) continue;
    for (int ow = 0; ow < g.OW; ++ow) {
      const int iw = ow * g.s - g.pad + kw;
      if (iw < 0 || iw >= g.W) continue;
      const float* __restrict xi = x + (int64_t(ih) * g.W + iw) * g.C + c;
      const float* __restrict d = dy + (int64_t(oh) * g.OW + ow) * g.C + c;
      for (int i = 0; i < B; ++i) acc[i] += d[i] * xi[i];
    }
  }
  float* __restrict o = dw + int64_t(kh * g.k + kw) * g.C + c;
  for (int i = 0; i < B; ++i) o[i] += acc[i];
}

// dw for all K taps of kernel row kh at once: each dy vector is loaded once for K
// multiply-adds (instead of once per tap), with K x B accumulators in registers.
template <int K, int B>
[[gnu::always_inline]] inline void bwd_weight_row(const float* __restrict x, const float* __restrict dy,
                                                  float* __restrict dw, const Geom& g, int kh, int c) {
  float acc[K][B] = {};
  for (int oh = 0; oh < g.OH; ++oh) {
    const int ih = oh * g.s - g.pad + kh;
    if (ih < 0 || ih >= g.H) continue;
    const float* __restrict xrow = x + int64_t(ih) * g.W * g.C + c;
    for (int ow = 0; ow < g.OW; ++ow) {
      const float* __restrict d = dy + (int64_t(oh) * g.OW + ow) * g.C + c;
      const int iw0 = ow * g.s - g.pad;
      if (iw0 >= 0 && iw0 + K <= g.W) {
        for (int kw = 0; kw < K; ++kw) {
          const float* __restrict xi = xrow + int64_t(iw0 + kw) * g.C;
          for (int i = 0; i < B; ++i) acc[kw][i] += d[i] * xi[i];
        }
      } else {
        for (int kw = 0; kw < K; ++kw) {
          const int iw = iw0 + kw;
          if (iw < 0 || iw >= g.W) continue;
          const float* __restrict xi = xrow + int64_t(iw) * g.C;
          for (int i = 0; i < B; ++i) acc[kw][i] += d[i] * xi[i];
        }
      }
    }
  }
  for (int kw = 0; kw < K; ++kw) {
    float* __restrict o = dw + int64_t(kh * K + kw) * g.C + c;
    for (int i = 0; i < B; ++i) o[i] += acc[kw][i];
  }
}

template <int K>
[[gnu::always_inline]] inline void bwd_weight_rows(const float* __restrict x, const float* __restrict dy,
                                                   float* __restrict dw, const Geom& g) {
  for (int kh = 0; kh < K; ++kh) {
    int c = 0;
    for (; c + 16 <= g.C; c += 16) bwd_weight_row<K, 16>(x, dy, dw, g, kh, c);
    for (; c + 8 <= g.C; c += 8) bwd_weight_row<K, 8>(x, dy, dw, g, kh, c);
    for (; c < g.C; ++c) bwd_weight_row<K, 1>(x, dy, dw, g, kh, c);
  }
}

// Channel blocks of 32, then 8, then single channels; the blocks inline into each target clone.
#define FLYNET_OVER_CHANNELS(C, CALL) \
  do {                                 \
    int c = 0;                         \
    for (; c + 32 <= (C); c += 32) CALL(32); \
    for (; c + 8 <= (C); c += 8) CALL(8);    \
    for (; c < (C); ++c) CALL(1);            \
  } while (0)

// y = depthwise(x), one sample.
FLYNET_SIMD void dw_forward_sample(const float* __restrict x, const float* __restrict wt, float* __restrict y,
                                   Geom g) {
#define FLYNET_FWD(B) fwd_block<B>(x, wt, y, g, oh, ow, c)
  for (int oh = 0; oh < g.OH; ++oh)
    for (int ow = 0; ow < g.OW; ++ow) FLYNET_OVER_CHANNELS(g.C, FLYNET_FWD);
#undef FLYNET_FWD
}

// dx = depthwise^T(dy) (overwritten, when dx is non-null) and dw += dy (x) x, one sample.
FLYNET_SIMD void dw_backward_sample(const float* __restrict x, const float* __restrict wt,
                                    const float* __restrict dy, float* __restrict dx, float* __restrict dw,
                                    Geom g) {
#define FLYNET_BWD_DATA(B) bwd_data_block<B>(dy, wt, dx, g, ih, iw, c)
#define FLYNET_BWD_WEIGHT(B) bwd_weight_block<B>(x, dy, dw, g, kh, kw, c)
  if (dx)
    for (int ih = 0; ih < g.H; ++ih)
      for (int iw = 0; iw < g.W; ++iw) FLYNET_OVER_CHANNELS(g.C, FLYNET_BWD_DATA);
  if (g.k == 3) {
    bwd_weight_rows<3>(x, dy, dw, g);
  } else if (g.k == 5) {
    bwd_weight_rows<5>(x, dy, dw, g);
  } else {
    for (int kh = 0; kh < g.k; ++kh)
      for (int kw = 0; kw < g.k; ++kw) FLYNET_OVER_CHANNELS(g.C, FLYNET_BWD_WEIGHT);
  }
#undef FLYNET_BWD_DATA
#undef FLYNET_BWD_WEIGHT
}

// The sample's input gathered to output-channel order, and the inverse (sum of the heads);
// the head count is a compile-time constant for the usual h so the loops vectorise.
template <int H>
[[gnu::always_inline]] inline void gather_h(const float* __restrict x, int64_t n, float* __restrict out) {
  for (int64_t e = 0; e < n; ++e)
    for (int j = 0; j < H; ++j) out[e * H + j] = x[e];
}
template <int H>
[[gnu::always_inline]] inline void sum_h(const float* __restrict dg, int64_t n, float* __restrict dx) {
  for (int64_t e = 0; e < n; ++e) {
    float a = 0.f;
    for (int j = 0; j < H; ++j) a += dg[e * H + j];
    dx[e] = a;
  }
}
FLYNET_SIMD void gather_mdw(const float* __restrict x, int64_t px, int cin, int h, float* __restrict out) {
  const int64_t n = px * cin;
  switch (h) {
    case 2: gather_h<2>(x, n, out); return;
    case 3: gather_h<3>(x, n, out); return;
    case 4: gather_h<4>(x, n, out); return;
    case 5: gather_h<5>(x, n, out); return;
    default:
      for (int64_t e = 0; e < n; ++e)
        for (int j = 0; j < h; ++j) out[e * h + j] = x[e];
  }
}
FLYNET_SIMD void sum_heads(const float* __restrict dg, int64_t px, int cin, int h, float* __restrict dx) {
  const int64_t n = px * cin;
  switch (h) {
    case 2: sum_h<2>(dg, n, dx); return;
    case 3: sum_h<3>(dg, n, dx); return;
    case 4: sum_h<4>(dg, n, dx); return;
    case 5: sum_h<5>(dg, n, dx); return;
    default:
      for (int64_t e = 0; e < n; ++e) {
        float a = 0.f;
        for (int j = 0; j < h; ++j) a += dg[e * h + j];
        dx[e] = a;
      }
  }
}

class DepthwiseLayer final : public Layer {
 public:
  DepthwiseLayer(const Node& n, std::vector<int> src) : Layer(n), src_(std::move(src)) {
    identity_ = int(src_.size()) == n.cin;
    for (int o = 0; identity_ && o < int(src_.size()); ++o) identity_ = src_[size_t(o)] == o;
    const int h = n.cout / n.cin;
    mult_ = n.cout % n.cin == 0 ? h : 0;
    for (int o = 0; mult_ && o < n.cout; ++o)
      if (src_[size_t(o)] != o / h) mult_ = 0;
  }

  void forward(const RunCtx&, const ConstTensorPtrs& x, const TensorPtrs& p, Tensor& y) override {
    const Tensor& in = *x[0];
    const int64_t N = batch_of(in);
    const Geom g = geom(in);
    reshape(y, {N, g.OH, g.OW, g.C});
    to_taps(*p[0]);
    const int64_t in_sz = int64_t(g.H) * g.W * node_.cin, out_sz = int64_t(g.OH) * g.OW * g.C;
    parallel_for(N, [&](int64_t n) {
      thread_local FloatBuffer gathered;
      const float* xs = gather(in.ptr() + n * in_sz, g, gathered);
      dw_forward_sample(xs, wt_.data(), y.ptr() + n * out_sz, g);
    });
  }

  void backward(const RunCtx&, const ConstTensorPtrs& x, const TensorPtrs&, const Tensor&, const Tensor& dy,
                const TensorPtrs& dx, const TensorPtrs& dp) override {
    const Tensor& in = *x[0];
    const int64_t N = batch_of(in);
    const Geom g = geom(in);
    const int64_t in_sz = int64_t(g.H) * g.W * node_.cin, out_sz = int64_t(g.OH) * g.OW * g.C;
    const int64_t taps = int64_t(g.k) * g.k * g.C;
    const Chunks chunks(N, 16);
    partial_.assign(size_t(chunks.count * taps), 0.f);
    parallel_for(chunks.count, [&](int64_t ck) {
      thread_local FloatBuffer gathered, dgathered;
      float* dw = partial_.data() + ck * taps;
      for (int64_t n = chunks.begin(ck); n < chunks.end(ck); ++n) {
        const float* xs = gather(in.ptr() + n * in_sz, g, gathered);
        float* dxs = nullptr;
        if (dx[0]) {
          if (identity_) {
            dxs = dx[0]->ptr() + n * in_sz;
          } else {
            dgathered.resize(size_t(int64_t(g.H) * g.W * g.C));
            dxs = dgathered.data();
          }
        }
        dw_backward_sample(xs, wt_.data(), dy.ptr() + n * out_sz, dxs, dw, g);
        if (dx[0] && !identity_) scatter_add(dxs, g, dx[0]->ptr() + n * in_sz);
      }
    });
    if (dp[0]) {
      // Sum the chunk partials in chunk order, then back to OIHW [cout, 1, k, k].
      float* out = dp[0]->ptr();
      const int kk = g.k * g.k;
      for (int o = 0; o < g.C; ++o)
        for (int t = 0; t < kk; ++t) {
          float s = 0.f;
          for (int64_t ck = 0; ck < chunks.count; ++ck) s += partial_[size_t(ck * taps + int64_t(t) * g.C + o)];
          out[int64_t(o) * kk + t] = s;
        }
    }
  }

 private:
  Geom geom(const Tensor& in) const {
    Geom g;
    g.H = int(in.shape[1]);
    g.W = int(in.shape[2]);
    g.C = node_.cout;
    g.k = node_.kernel;
    g.s = node_.stride;
    g.pad = node_.pad;
    g.OH = (g.H + 2 * g.pad - g.k) / g.s + 1;
    g.OW = (g.W + 2 * g.pad - g.k) / g.s + 1;
    return g;
  }
  // OIHW [cout, 1, k, k] -> tap-major [k*k, cout] so the inner loops run over channels.
  void to_taps(const Tensor& w) {
    const int kk = node_.kernel * node_.kernel, C = node_.cout;
    wt_.resize(size_t(kk) * C);
    for (int o = 0; o < C; ++o)
      for (int t = 0; t < kk; ++t) wt_[size_t(t) * C + o] = w.ptr()[int64_t(o) * kk + t];
  }
  // The sample's input in output-channel order (cout channels per pixel).
  const float* gather(const float* x, const Geom& g, FloatBuffer& buf) const {
    if (identity_) return x;
    const int64_t px = int64_t(g.H) * g.W;
    const int cin = node_.cin, C = g.C;
    buf.resize(size_t(px * C));
    const int* src = src_.data();
    if (mult_ > 0) {  // MDW order: the h heads of channel c are contiguous
      gather_mdw(x, px, cin, mult_, buf.data());
      return buf.data();
    }
    for (int64_t i = 0; i < px; ++i) {
      const float* xi = x + i * cin;
      float* bi = buf.data() + i * C;
      for (int o = 0; o < C; ++o) bi[o] = xi[src[o]];
    }
    return buf.data();
  }
  void scatter_add(const float* dg, const Geom& g, float* dx) const {
    const int64_t px = int64_t(g.H) * g.W;
    const int cin = node_.cin, C = g.C;
    const int* src = src_.data();
    if (mult_ > 0) {
      sum_heads(dg, px, cin, mult_, dx);
      return;
    }
    for (int64_t i = 0; i < px; ++i) {
      float* di = dx + i * cin;
      const float* gi = dg + i * C;
      for (int c = 0; c < cin; ++c) di[c] = 0.f;
      for (int o = 0; o < C; ++o) di[src[o]] += gi[o];
    }
  }

  std::vector<int> src_;  // input channel of each output channel
  bool identity_ = false;
  int mult_ = 0;  // > 0: MDW order src[o] = o / mult_
  FloatBuffer wt_, partial_;
};

}  // namespace

std::unique_ptr<Layer> make_depthwise(const Node& n) {
  if (n.cout % n.cin) throw Error(ErrorCode::unsupported, "depthwise conv with cout not a multiple of cin: " + n.name);
  const int h = n.cout / n.cin;
  std::vector<int> src(size_t(n.cout));
  for (int o = 0; o < n.cout; ++o) src[size_t(o)] = o / h;  // MDW order c*h + j
  return std::make_unique<DepthwiseLayer>(n, std::move(src));
}

std::unique_ptr<Layer> make_dw_concat(const Node& n) {
  std::vector<int> src(size_t(n.cout));
  for (int o = 0; o < n.cout; ++o) src[size_t(o)] = o % n.cin;  // heads concatenated, cut to cout
  return std::make_unique<DepthwiseLayer>(n, std::move(src));
}

}  // namespace flynet::layers
