// Fake quantization for training ("quantization as regularization", design 3.7) and QAT.
// It lives in core so training never needs quant/; quant/ reuses the same functions so the
// codes training sees are the codes that get exported.
//
// Weights: per output channel, symmetric, L levels. With a = max|W_c| and D = 2a/(L-1),
//   Q(w) = (i - (L-1)/2) * D,  i = clamp(round((w + a) / D), 0, L-1)
// i.e. design 3.7's Q(w) = -a + D*round((w + a)/D), written around the centre so the grid is
// exactly symmetric. Backward is the straight-through estimator (identity).
// Every grid point is an integer multiple of a per-channel step: for odd L the step is D and
// the codes are i - (L-1)/2 in [-(L-1)/2, (L-1)/2]; for even L the step is D/2 and the codes
// are 2i - (L-1), odd integers in [-(L-1), L-1]. So for L <= 128 (any L) and odd L <= 255 the
// codes fit symmetric int8 [-127, 127] with no further rounding; those are the only level
// counts flynet accepts (valid_weight_levels, model_state.hpp), so every trained grid is
// exported exactly.
//
// Activations: per tensor, asymmetric int8 as the int8 kernels use it (int8-semantics.md):
//   scale = (max - min) / 255, zero_point = clamp(round(-128 - min / scale), -128, 127),
//   q = clamp(round(x / scale) + zero_point, -128, 127),  x^ = (q - zero_point) * scale
// with x / scale computed in float and rounded half away from zero (TFLite's quantize), a range always containing 0, EMA
// tracking of the range during training, and the clipped straight-through gradient.
#ifndef FLYNET_CORE_FAKE_QUANT_HPP_
#define FLYNET_CORE_FAKE_QUANT_HPP_

#include <cstdint>
#include <vector>

namespace flynet {

/// 2^32 levels means "float" and is spelled 0 here.
inline constexpr int kFloatLevels = 0;

struct ChannelGrid {
  float step = 0.f;     ///< value of code 1 (D for odd L, D/2 for even L); 0 for an all-zero channel
  int max_code = 0;     ///< codes lie in [-max_code, max_code]
};

/// The grid of one output channel of `n` weights quantized to `levels` levels (2..128, or odd
/// up to 255: valid_weight_levels; anything else throws Error{usage}).
ChannelGrid weight_grid(const float* w, int64_t n, int levels);

/// Fake-quantizes a weight tensor whose first dimension is the output channel
/// (OIHW conv or [out, in] linear): out[c, ...] = Q_c(w[c, ...]). `out` may equal `w`.
/// Returns one grid per output channel.
std::vector<ChannelGrid> fake_quant_weights(const float* w, float* out, int64_t out_channels,
                                            int64_t per_channel, int levels);

/// The integer codes of the weights on their channel grids: out = round(w / step).
/// Exact (no rounding error) when `w` came from fake_quant_weights with the same levels.
void weight_codes(const float* w, int32_t* codes, int64_t out_channels, int64_t per_channel,
                  const std::vector<ChannelGrid>& grids);

/// Straight-through estimator: the gradient w.r.t. the float shadow weights is the gradient
/// w.r.t. the quantized weights, unchanged. Spelled out so the trainer's intent is explicit.
inline void fake_quant_weights_backward(const float* grad_q, float* grad_w, int64_t n) {
  for (int64_t i = 0; i < n; ++i) grad_w[i] = grad_q[i];
}

struct ActRange {
  float min = 0.f, max = 0.f;
  bool initialised = false;
};

struct ActQuant {
  float scale = 1.f;
  int32_t zero_point = 0;
};

/// int8 asymmetric parameters for a real range; the range is widened to contain 0 and made
/// non-degenerate first.
ActQuant act_quant_params(float min, float max);

/// TFLite's rounding for quantize: std::round, half away from zero (x + 0.5 would round
/// 0.49999997f up in float arithmetic).
float round_half_away(float x);

/// Updates `r` with the batch's min/max: the first batch sets it, then an exponential moving
/// average with weight `momentum` on the new batch.
void ema_update(ActRange& r, const float* x, int64_t n, float momentum);

/// Fake-quantizes x to int8 with `q` and back. `out` may equal `x`.
void fake_quant_act(const float* x, float* out, int64_t n, const ActQuant& q);
/// Clipped straight-through gradient: passes where x^ fell inside the representable range.
void fake_quant_act_backward(const float* x, const float* grad_out, float* grad_in, int64_t n, const ActQuant& q);

}  // namespace flynet

#endif  // FLYNET_CORE_FAKE_QUANT_HPP_
