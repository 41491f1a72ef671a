#include "flynet/core/fake_quant.hpp"

#include <algorithm>
#include <cmath>

#include "flynet/core/model_state.hpp"
#include "flynet/formats/error.hpp"

namespace flynet {

ChannelGrid weight_grid(const float* w, int64_t n, int levels) {
  if (levels == 0 || !valid_weight_levels(levels))
    throw Error(ErrorCode::usage, "weight levels " + std::to_string(levels) + ": " +
                                      (levels == 0 ? "float weights have no grid" : weight_levels_problem(levels)));
  float a = 0.f;
  for (int64_t i = 0; i < n; ++i) a = std::max(a, std::fabs(w[i]));
  ChannelGrid g;
  g.max_code = (levels % 2) ? (levels - 1) / 2 : levels - 1;
  if (a == 0.f) return g;
  const double delta = 2.0 * a / (levels - 1);
  g.step = float((levels % 2) ? delta : delta / 2.0);
  return g;
}

std::vector<ChannelGrid> fake_quant_weights(const float* w, float* out, int64_t out_channels,
                                            int64_t per_channel, int levels) {
  std::vector<ChannelGrid> grids(static_cast<size_t>(out_channels));
  for (int64_t c = 0; c < out_channels; ++c) {
    const float* src = w + c * per_channel;
    float* dst = out + c * per_channel;
    const ChannelGrid g = weight_grid(src, per_channel, levels);
    grids[size_t(c)] = g;
    if (g.step == 0.f) {
      std::fill(dst, dst + per_channel, 0.f);
      continue;
    }
    // Index on the [-a, a] grid, then the centred code: the code is computed in integers so
    // the result is exactly code * step, whatever the float error of (w + a) / D.
    const bool odd = levels % 2;
    const double delta = odd ? double(g.step) : 2.0 * g.step;
    const double a = delta * (levels - 1) / 2.0;
    for (int64_t i = 0; i < per_channel; ++i) {
      double idx = std::floor((double(src[i]) + a) / delta + 0.5);
      idx = std::clamp(idx, 0.0, double(levels - 1));
      const int code = odd ? int(idx) - (levels - 1) / 2 : 2 * int(idx) - (levels - 1);
      dst[i] = float(code) * g.step;
    }
  }
  return grids;
}

void weight_codes(const float* w, int32_t* codes, int64_t out_channels, int64_t per_channel,
                  const std::vector<ChannelGrid>& grids) {
  for (int64_t c = 0; c < out_channels; ++c) {
    const ChannelGrid& g = grids[size_t(c)];
    for (int64_t i = 0; i < per_channel; ++i) {
      const int64_t k = c * per_channel + i;
      codes[k] = g.step == 0.f ? 0 : int32_t(std::lround(double(w[k]) / g.step));
    }
  }
}

float round_half_away(float x) { return std::round(x); }

ActQuant act_quant_params(float min, float max) {
  min = std::min(min, 0.f);
  max = std::max(max, 0.f);
  if (max - min < 1e-8f) max = min + 1e-8f;
  ActQuant q;
  q.scale = (max - min) / 255.f;
  const float zp = round_half_away(-128.f - min / q.scale);
  q.zero_point = int32_t(std::clamp(zp, -128.f, 127.f));
  return q;
}

void ema_update(ActRange& r, const float* x, int64_t n, float momentum) {
  if (n <= 0) return;
  float lo = x[0], hi = x[0];
  for (int64_t i = 1; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  if (!r.initialised) {
    r.min = lo;
    r.max = hi;
    r.initialised = true;
    return;
  }
  r.min = (1.f - momentum) * r.min + momentum * lo;
  r.max = (1.f - momentum) * r.max + momentum * hi;
}

void fake_quant_act(const float* x, float* out, int64_t n, const ActQuant& q) {
  for (int64_t i = 0; i < n; ++i) {
    // Division, not a multiply by 1/scale: the kernels' quantize divides in float.
    float v = round_half_away(x[i] / q.scale) + float(q.zero_point);
    v = std::clamp(v, -128.f, 127.f);
    out[i] = (v - float(q.zero_point)) * q.scale;
  }
}

void fake_quant_act_backward(const float* x, const float* grad_out, float* grad_in, int64_t n, const ActQuant& q) {
  const float lo = (-128.f - float(q.zero_point)) * q.scale;
  const float hi = (127.f - float(q.zero_point)) * q.scale;
  for (int64_t i = 0; i < n; ++i) grad_in[i] = (x[i] >= lo && x[i] <= hi) ? grad_out[i] : 0.f;
}

}  // namespace flynet
