// The VA-ECA ops, in both arithmetics: the descriptor (each channel's mean and standard
// deviation over the map; the integer one with the exact integer square root of §7) and the
// 1-D convolution across channels, head by head, of the two descriptor rows.
#include <cmath>

#include "flynet/core/graph.hpp"
#include "sim_ops.hpp"

namespace flynet::sim_detail {

namespace {

// floor(sqrt(v)), exact: a floating estimate corrected with overflow-free integer tests.
uint64_t floor_sqrt(uint64_t v) {
  uint64_t r = uint64_t(std::sqrt(static_cast<long double>(v)));
  while (r > 0 && r > v / r) --r;                  // r*r > v
  while (r + 1 <= v / (r + 1)) ++r;                // (r+1)^2 <= v
  return r;
}

// finish(n C + c, sum of z, sum of z^2) for each image n and channel c, the sums over the map's
// pixels in order, taken in S.
template <class S, class V, class Finish>
void channel_moments(const std::vector<V>& z, const Dims& zd, Finish finish) {
  const size_t P = size_t(zd.h) * zd.w, C = size_t(zd.c);
  for (size_t n = 0; n < size_t(zd.n); ++n)
    for (size_t c = 0; c < C; ++c) {
      S s1 = 0, s2 = 0;
      for (size_t i = 0; i < P; ++i) {
        const S v = z[(n * P + i) * C + c];
        s1 += v;
        s2 += v * v;
      }
      finish(n * C + c, s1, s2);
    }
}

// The convolution over channels c' = c - pad .. c + pad within each head (channel c' h + j of
// head j): tap(acc, t, i) adds tap t at element i of the descriptor rows, then
// finish(out_index, acc).
template <class Acc, class Tap, class Finish>
void eca_conv1d(const IntOp& o, const SimTensors& s, Tap tap, Finish finish) {
  const Dims od = dims_of(s.tensor(o.outputs[0]));
  const int k = s.tensor(o.inputs[2]).dims[2], pad = (k - 1) / 2;
  const int h = o.get_params<flynet_eca_conv1d_params>().heads, C = od.c, E = C / h;
  for (int n = 0; n < od.n; ++n)
    for (int c = 0; c < E; ++c)
      for (int j = 0; j < h; ++j) {
        Acc acc{};
        for (int t = 0; t < k; ++t) {
          const int cc = c + t - pad;
          if (cc < 0 || cc >= E) continue;
          tap(acc, size_t(t), size_t(n) * C + size_t(cc) * h + j);
        }
        finish(size_t(n) * C + size_t(c) * h + j, acc);
      }
}

}  // namespace

// P^2 var in input steps^2 exactly, its root with F fraction bits and the epsilon, each
// requantized to its output.
void vaeca_descriptor_integer(const IntOp& o, SimTensors& s) {
  const auto p = o.get_params<flynet_vaeca_descriptor_params>();
  const Dims zd = dims_of(s.tensor(o.inputs[0]));
  const int64_t P = int64_t(zd.h) * zd.w;
  const uint64_t eps_q = (uint64_t(p.eps_q_hi) << 32) | p.eps_q_lo;
  const int32_t zm = s.tensor(o.outputs[0]).zero_point, zs = s.tensor(o.outputs[1]).zero_point;
  std::vector<int32_t> mean(size_t(zd.c) * zd.n), sd(mean.size());
  channel_moments<int64_t>(s.centered(o.inputs[0]), zd, [&](size_t i, int64_t s1, int64_t s2) {
    const uint64_t D = uint64_t(P * s2 - s1 * s1);
    const uint64_t R = floor_sqrt((D << (2 * p.sqrt_frac_bits)) + eps_q);
    mean[i] = clamp32(wrap32(int64_t(requant(int32_t(s1), p.mean_multiplier, p.mean_shift, p.rounding)) + zm), -128, 127);
    sd[i] = clamp32(wrap32(int64_t(requant(wrap32(int64_t(R)), p.std_multiplier, p.std_shift, p.rounding)) + zs), -128, 127);
  });
  s.set_codes(o.outputs[0], std::move(mean));
  s.set_codes(o.outputs[1], std::move(sd));
}

void vaeca_descriptor_real(const IntOp& o, SimTensors& s) {
  const Dims zd = dims_of(s.tensor(o.inputs[0]));
  const double P = double(size_t(zd.h) * zd.w);
  std::vector<double> mean(size_t(zd.c) * size_t(zd.n)), sd(mean.size());
  channel_moments<double>(s.real(o.inputs[0]), zd, [&](size_t i, double s1, double s2) {
    const double m = s1 / P;
    mean[i] = m;
    sd[i] = std::sqrt(std::max(0.0, s2 / P - m * m) + kVaEcaStdEps);
  });
  s.store(o.outputs[0], mean);
  s.store(o.outputs[1], sd);
}

// The mean and std partial sums each to s_out / 2^sum_shift, then their sum rounded once more.
void eca_conv1d_integer(const IntOp& o, SimTensors& s) {
  struct Sums {
    int64_t mean, std;
  };
  const auto p = o.get_params<flynet_eca_conv1d_params>();
  const int32_t y = o.outputs[0], zo = s.tensor(y).zero_point;
  const std::vector<int32_t> mean = s.centered(o.inputs[0]), sd = s.centered(o.inputs[1]);
  const std::vector<int32_t>& w = s.codes(o.inputs[2]);
  std::vector<int32_t> out(s.numel(y));
  eca_conv1d<Sums>(
      o, s,
      [&](Sums& a, size_t t, size_t i) {
        a.mean += int64_t(w[t * 2]) * mean[i];
        a.std += int64_t(w[t * 2 + 1]) * sd[i];
      },
      [&](size_t i, const Sums& a) {
        const int32_t sum = wrap32(int64_t(requant(wrap32(a.mean), p.mean_multiplier, p.mean_shift, p.rounding)) +
                                   requant(wrap32(a.std), p.std_multiplier, p.std_shift, p.rounding));
        out[i] = clamp32(wrap32(round_shift(sum, p.sum_shift) + zo), p.act_min, p.act_max);
      });
  s.set_codes(y, std::move(out));
}

// The weights' two columns (mean, std) carry their own scales.
void eca_conv1d_real(const IntOp& o, SimTensors& s) {
  const auto p = o.get_params<flynet_eca_conv1d_params>();
  const int32_t y = o.outputs[0];
  const std::vector<double> mean = s.real(o.inputs[0]), sd = s.real(o.inputs[1]);
  const std::vector<int32_t>& w = s.codes(o.inputs[2]);
  const std::vector<double>& ws = s.tensor(o.inputs[2]).channel_scales;
  std::vector<double> out(s.numel(y), 0.0);
  eca_conv1d<double>(
      o, s, [&](double& acc, size_t t, size_t i) { acc += w[t * 2] * ws[0] * mean[i] + w[t * 2 + 1] * ws[1] * sd[i]; },
      [&](size_t i, double acc) { out[i] = acc; });
  s.store(y, out, p.act_min, p.act_max);
}

}  // namespace flynet::sim_detail
