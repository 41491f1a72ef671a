// VA-ECA (design 3.3), hand-written (no oneDNN primitive fits the channel-wise 1-D conv over a
// per-sample descriptor). Input Z is [N, H, W, E*h] with channel c*h + j = head j of channel c.
//   mu, sigma = mean and sqrt(var + 1e-5) of each head map over H x W (biased variance)
//   l[c, j]   = sum_t w[0, t] mu[c + t - p, j] + w[1, t] sigma[c + t - p, j]   (zero padding,
//               p = (k - 1) / 2, the same 1-D conv for every head j; no bias)
//   g         = sigmoid(l)  or  h * softmax_j(l[c, .] / T)
//   y         = g[c, j] * Z[..., c*h + j]
// Backward:  dg = sum_HW dy Z;  dl from the gate;  dw, dmu, dsigma from the 1-D conv;
//   dZ = g dy + dmu / P + dsigma (Z - mu) / (sigma P)   (P = H W; the mean term of dvar
//   vanishes because sum(Z - mu) = 0).
// Per-sample work is serial in a fixed order and samples run in parallel; the weight gradient
// is summed over samples in order, so results do not depend on the thread count.
#include <cmath>

#include "flynet/formats/error.hpp"
#include "layer_util.hpp"

namespace flynet::layers {

namespace {


// The per-sample loops over P pixels x Q channels, vectorised over the contiguous channels.
FLYNET_SIMD void sums(const float* __restrict z, int64_t P, int64_t Q, double* __restrict s, double* __restrict s2) {
  for (int64_t i = 0; i < P; ++i) {
    const float* __restrict zi = z + i * Q;
    for (int64_t q = 0; q < Q; ++q) {
      const double v = zi[q];
      s[q] += v;
      s2[q] += v * v;
    }
  }
}

FLYNET_SIMD void scale(const float* __restrict z, const float* __restrict g, int64_t P, int64_t Q, float* __restrict y) {
  for (int64_t i = 0; i < P; ++i)
    for (int64_t q = 0; q < Q; ++q) y[i * Q + q] = g[q] * z[i * Q + q];
}

FLYNET_SIMD void dot_rows(const float* __restrict z, const float* __restrict dy, int64_t P, int64_t Q,
                          double* __restrict dg) {
  for (int64_t i = 0; i < P; ++i)
    for (int64_t q = 0; q < Q; ++q) dg[q] += double(dy[i * Q + q]) * z[i * Q + q];
}

FLYNET_SIMD void dz_rows(const float* __restrict z, const float* __restrict dy, const float* __restrict g,
                         const float* __restrict a, const float* __restrict b, const float* __restrict mu, int64_t P,
                         int64_t Q, float* __restrict dz) {
  for (int64_t i = 0; i < P; ++i)
    for (int64_t q = 0; q < Q; ++q) dz[i * Q + q] = g[q] * dy[i * Q + q] + a[q] + b[q] * (z[i * Q + q] - mu[q]);
}

class VaEcaLayer final : public Layer {
 public:
  using Layer::Layer;

  void forward(const RunCtx& ctx, const ConstTensorPtrs& x, const TensorPtrs& p, Tensor& y) override {
    const Tensor& z = *x[0];
    const int h = node_.heads, k = node_.eca_k;
    const int64_t N = z.shape[0], P = z.shape[1] * z.shape[2], Q = z.shape[3], E = Q / h;
    reshape(y, z.shape);
    mu_.resize(size_t(N * Q));
    sig_.resize(size_t(N * Q));
    g_.resize(size_t(N * Q));
    T_ = ctx.temperature;
    const float* w = p[0]->ptr();
    parallel_for(N, [&](int64_t n) {
      const float* zn = z.ptr() + n * P * Q;
      float* mu = mu_.data() + n * Q;
      float* sg = sig_.data() + n * Q;
      float* g = g_.data() + n * Q;
      std::vector<float> l(static_cast<size_t>(Q));
      va_eca_descriptor(zn, P, Q, h, k, w, mu, sg, l.data());
      gate(l.data(), g, E, h);
      scale(zn, g, P, Q, y.ptr() + n * P * Q);
    });
  }

  void backward(const RunCtx&, const ConstTensorPtrs& x, const TensorPtrs& p, const Tensor&, const Tensor& dy,
                const TensorPtrs& dx, const TensorPtrs& dp) override {
    const Tensor& z = *x[0];
    const int h = node_.heads, k = node_.eca_k, pad = (k - 1) / 2;
    const int64_t N = z.shape[0], P = z.shape[1] * z.shape[2], Q = z.shape[3], E = Q / h;
    const float* w = p[0]->ptr();
    std::vector<double> dw_part(size_t(N * 2 * k), 0.0);
    parallel_for(N, [&](int64_t n) {
      const float* zn = z.ptr() + n * P * Q;
      const float* dyn = dy.ptr() + n * P * Q;
      const float* mu = mu_.data() + n * Q;
      const float* sg = sig_.data() + n * Q;
      const float* g = g_.data() + n * Q;
      std::vector<double> dg(size_t(Q), 0.0);
      dot_rows(zn, dyn, P, Q, dg.data());
      // through the gate
      std::vector<double> dl(static_cast<size_t>(Q));
      if (node_.gate == Gate::softmax) {
        for (int64_t c = 0; c < E; ++c) {
          double dot = 0.0;  // sum_j dg_j s_j
          for (int j = 0; j < h; ++j) dot += dg[size_t(c * h + j)] * (g[c * h + j] / h);
          for (int j = 0; j < h; ++j)
            dl[size_t(c * h + j)] = g[c * h + j] * (dg[size_t(c * h + j)] - dot) / T_;
        }
      } else {
        for (int64_t q = 0; q < Q; ++q) dl[size_t(q)] = dg[size_t(q)] * g[q] * (1.0 - g[q]);
      }
      // through the 1-D conv
      std::vector<double> dmu(size_t(Q), 0.0), dsg(size_t(Q), 0.0);
      double* dw = dw_part.data() + n * 2 * k;
      for (int64_t c = 0; c < E; ++c)
        for (int j = 0; j < h; ++j) {
          const double d = dl[size_t(c * h + j)];
          for (int t = 0; t < k; ++t) {
            const int64_t cc = c + t - pad;
            if (cc < 0 || cc >= E) continue;
            dw[t] += d * mu[cc * h + j];
            dw[k + t] += d * sg[cc * h + j];
            dmu[size_t(cc * h + j)] += d * w[t];
            dsg[size_t(cc * h + j)] += d * w[k + t];
          }
        }
      if (!dx[0]) return;
      std::vector<float> a(static_cast<size_t>(Q)), b(static_cast<size_t>(Q));  // dz = g dy + a + b (z - mu)
      for (int64_t q = 0; q < Q; ++q) {
        a[size_t(q)] = float(dmu[size_t(q)] / double(P));
        b[size_t(q)] = float(dsg[size_t(q)] / (double(sg[q]) * double(P)));
      }
      dz_rows(zn, dyn, g, a.data(), b.data(), mu, P, Q, dx[0]->ptr() + n * P * Q);
    });
    if (dp[0]) {
      for (int t = 0; t < 2 * k; ++t) {
        double s = 0.0;
        for (int64_t n = 0; n < N; ++n) s += dw_part[size_t(n * 2 * k + t)];
        dp[0]->ptr()[t] = float(s);
      }
    }
  }

 private:
  void gate(const float* l, float* g, int64_t E, int h) const {
    if (node_.gate == Gate::softmax) {
      for (int64_t c = 0; c < E; ++c) {
        float mx = l[c * h];
        for (int j = 1; j < h; ++j) mx = std::max(mx, l[c * h + j]);
        float e[8], sum = 0.f;
        for (int j = 0; j < h; ++j) sum += (e[j] = std::exp((l[c * h + j] - mx) / T_));
        for (int j = 0; j < h; ++j) g[c * h + j] = float(h) * e[j] / sum;
      }
    } else {
      for (int64_t q = 0; q < E * h; ++q) g[q] = 1.f / (1.f + std::exp(-l[q]));
    }
  }

  float T_ = 1.f;
  std::vector<float> mu_, sig_, g_;
};

}  // namespace

std::unique_ptr<Layer> make_va_eca(const Node& n) {
  if (n.heads > 8) throw Error(ErrorCode::unsupported, "VA-ECA with more than 8 heads: " + n.name);
  return std::make_unique<VaEcaLayer>(n);
}

}  // namespace flynet::layers

namespace flynet {

void va_eca_descriptor(const float* z, int64_t P, int64_t Q, int heads, int k, const float* w, float* mu,
                       float* sigma, float* logit) {
  const int h = heads, pad = (k - 1) / 2;
  const int64_t E = Q / h;
  std::vector<double> s(size_t(Q), 0.0), s2(size_t(Q), 0.0);
  layers::sums(z, P, Q, s.data(), s2.data());
  for (int64_t q = 0; q < Q; ++q) {
    const double m = s[size_t(q)] / double(P);
    const double var = std::max(0.0, s2[size_t(q)] / double(P) - m * m);
    mu[q] = float(m);
    sigma[q] = float(std::sqrt(var + kVaEcaStdEps));
  }
  for (int64_t c = 0; c < E; ++c)
    for (int j = 0; j < h; ++j) {
      float acc = 0.f;
      for (int t = 0; t < k; ++t) {
        const int64_t cc = c + t - pad;
        if (cc < 0 || cc >= E) continue;
        acc += w[t] * mu[cc * h + j] + w[k + t] * sigma[cc * h + j];
      }
      logit[c * h + j] = acc;
    }
}

}  // namespace flynet
