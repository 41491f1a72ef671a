/*
 * flyref_kernels.h -- int8 kernels of the flynet integer reference.
 *
 * Conventions (shared/design/int8-semantics.md section 0):
 *   - activations NHWC; conv filter [C_OUT, KH, KW, C_IN/groups]; depthwise filter
 *     [1, KH, KW, C_OUT] with C_OUT = C_IN * ch_mult and oc = ic * ch_mult + m; FC weights
 *     [C_OUT, K];
 *   - input_offset = -input zero point, range [-127, 128]; output_offset = +output zero point,
 *     range [-128, 127]; the kernels compute (x + input_offset) and add output_offset after
 *     requantization;
 *   - epilogue: acc (int32, wrapping) -> requantize(acc, mult[c], shift[c]) -> + output_offset
 *     -> max(act_min) -> min(act_max);
 *   - rounding: a flynet_rounding value (0 = build default, see FLYREF_DEFAULT_ROUNDING);
 *   - every kernel validates its parameters first and returns FLYREF_ARG_ERROR /
 *     FLYREF_SHAPE_ERROR without writing the output when they are out of range; kernels with
 *     scratch return FLYREF_ARENA_TOO_SMALL when ctx->buf is NULL or ctx->size is too small
 *     (the one data-dependent failure is avg_pool's all-padding window, see there).
 *
 * Bit-exactness: see quant/ref/README.md for the table of kernels and their references.
 */
#ifndef FLYREF_KERNELS_H_
#define FLYREF_KERNELS_H_

#include "flyref.h"

/*
 * Fast paths (issue #8). Depthwise, 1x1 conv, FC, mul (the VA-ECA gate layout), add, hard-swish,
 * max-group, softmax and the VA-ECA kernels take internal fast paths (loop orders and 16-bit
 * products the compiler vectorizes, per-channel constants prepared once, tables of a function
 * of the input code) whose results are bit-identical to the spec's loops for every valid input;
 * each path is tested against the naive reference (tests/quant/ref/flyref_speedpath_test.cpp).
 * They need no scratch beyond the *_buffer_size values above and keep no state between calls
 * (kernels may run concurrently on different data), but use the stack: up to about 5 KB in
 * flyref_conv2d_1x1_s8 and flyref_depthwise_conv2d_s8, 2.3 KB in flyref_fully_connected_s8 and
 * flyref_add_s8, 1.3 KB in flyref_softmax_s8, under 1 KB elsewhere (arm-none-eabi-gcc -O2,
 * Cortex-M4, -fstack-usage).
 *
 * Cortex-M target paths of the convolutions and FC (issue #14; see flyref_target_paths() and
 * quant/ref/README.md). flyref_conv2d_1x1_s8, flyref_conv2d_s8 and flyref_fully_connected_s8
 * compile a DSP-extension path (SMLAD on SXTB16-widened pairs; Cortex-M4, M7, M33) or, on the
 * Cortex-M55, a Helium path (VMLADAVA on the raw codes), with the same results as the portable
 * loops for every valid input. No scratch is added (the generic conv still takes its one im2col
 * patch); stack: 4.7 KB in flyref_conv2d_1x1_s8 (depths up to 512, deeper ones keep the portable
 * loops), 4.2 KB in flyref_conv2d_s8 (patches up to 1024), 2.5 KB in flyref_fully_connected_s8
 * (K up to 1024, filter_offset 0) on the DSP path; 2.7 KB, 1.4 KB and 0.7 KB on MVE (any K).
 */

#ifdef __cplusplus
extern "C" {
#endif

/* ============================== convolution ================================================ */

/** Parameters of conv2d (and, with ch_mult, depthwise). */
typedef struct flyref_conv_params {
    int32_t input_offset;          /**< -input zero point, [-127, 128] */
    int32_t output_offset;         /**< +output zero point, [-128, 127] */
    int32_t stride_h, stride_w;    /**< >= 1 */
    int32_t pad_h, pad_w;          /**< padding before, >= 0 */
    int32_t dilation_h, dilation_w;/**< >= 1 */
    flyref_activation activation;
    int32_t rounding;              /**< flynet_rounding */
} flyref_conv_params;

/**
 * Convolution s8, generic path (CMSIS-NN arm_convolve_s8 / TFLM ConvPerChannel semantics).
 * input [N, H, W, C_IN]; filter dims {C_OUT, KH, KW, KC}, groups = C_IN / KC (C_IN % KC == 0,
 * C_OUT % groups == 0); bias [C_OUT] or NULL; output [N, OH, OW, C_OUT] (OH, OW as given by the
 * caller; taps outside the input contribute nothing). quant count 1 or C_OUT.
 * Scratch: ctx->buf of at least flyref_conv2d_s8_buffer_size() bytes (one im2col patch).
 */
flyref_status flyref_conv2d_s8(const flyref_context *ctx, const flyref_conv_params *params,
                               const flyref_quant_params *quant, const flyref_dims *input_dims,
                               const int8_t *input, const flyref_dims *filter_dims,
                               const int8_t *filter, const int32_t *bias,
                               const flyref_dims *output_dims, int8_t *output);

/** Scratch bytes of flyref_conv2d_s8: KH * KW * KC. */
int32_t flyref_conv2d_s8_buffer_size(const flyref_dims *input_dims, const flyref_dims *filter_dims);

/**
 * 1x1 convolution fast path: KH = KW = 1, pad 0 (any stride, groups allowed). No scratch.
 * Requires (OH-1)*stride_h < H and (OW-1)*stride_w < W.
 */
flyref_status flyref_conv2d_1x1_s8(const flyref_conv_params *params, const flyref_quant_params *quant,
                                   const flyref_dims *input_dims, const int8_t *input,
                                   const flyref_dims *filter_dims, const int8_t *filter,
                                   const int32_t *bias, const flyref_dims *output_dims,
                                   int8_t *output);

/** Dispatches to the 1x1 path when it applies, else to flyref_conv2d_s8. Same results. */
flyref_status flyref_conv2d_wrapper_s8(const flyref_context *ctx, const flyref_conv_params *params,
                                       const flyref_quant_params *quant,
                                       const flyref_dims *input_dims, const int8_t *input,
                                       const flyref_dims *filter_dims, const int8_t *filter,
                                       const int32_t *bias, const flyref_dims *output_dims,
                                       int8_t *output);

/** Scratch bytes of flyref_conv2d_wrapper_s8 (0 on the 1x1 path). */
int32_t flyref_conv2d_wrapper_s8_buffer_size(const flyref_conv_params *params,
                                             const flyref_dims *input_dims,
                                             const flyref_dims *filter_dims);

/**
 * Depthwise convolution s8 with channel multiplier (arm_depthwise_conv_s8 / TFLM
 * DepthwiseConvPerChannel). filter dims {1, KH, KW, C_OUT}, C_OUT = C_IN * ch_mult, output
 * channel oc = ic * ch_mult + m. FlyNet's MDW (h heads) is ch_mult = h. No scratch.
 */
/*
 * Cortex-M target paths of flyref_depthwise_conv2d_s8 (issue #14; same integers as the portable
 * loops, which stay the spec and the fallback; flyref_target_paths() names the one compiled):
 *   - "dsp" (Armv7E-M DSP: Cortex-M4, M7, M33; src/convolution/flyref_dw_dsp.h): SMLAD on the
 *     tap pairs (kx, kx + 1) of a kernel row, inputs widened once per channel group into
 *     zero-padded int16 rows, two output pixels per weight load and up to three heads per input
 *     load; requantization with SMMLAR / SMMLA and the output offset folded in.
 *   - "mve" (Helium: Cortex-M55; src/convolution/flyref_dw_mve.h): four output pixels per
 *     vector, VMLA by the scalar weight, up to three heads per input load; requantization with
 *     VQRDMULH / VRSHL (double) or VMULH / VRMULH (single), predicated byte scatter.
 * Both need no scratch (a 4 KB stack block each) and decline, for the next path, dilated
 * kernels and rows too long for that block (e.g. wider than about 600 pixels at 3x3).
 */
flyref_status flyref_depthwise_conv2d_s8(const flyref_conv_params *params, int32_t ch_mult,
                                         const flyref_quant_params *quant,
                                         const flyref_dims *input_dims, const int8_t *input,
                                         const flyref_dims *filter_dims, const int8_t *filter,
                                         const int32_t *bias, const flyref_dims *output_dims,
                                         int8_t *output);

/* ============================== fully connected ============================================ */

typedef struct flyref_fc_params {
    int32_t input_offset;          /**< -input zero point, [-127, 128] */
    int32_t filter_offset;         /**< -weight zero point, [-127, 128] (normally 0) */
    int32_t output_offset;         /**< +output zero point */
    flyref_activation activation;
    int32_t rounding;
} flyref_fc_params;

/**
 * Fully connected s8 (arm_fully_connected_s8 / _per_channel_s8). input: batches = input_dims->n,
 * K = H*W*C of input_dims; filter dims {C_OUT, 1, 1, K}, row-major [C_OUT, K]; output dims
 * {N, 1, 1, C_OUT}; quant count 1 (per tensor) or C_OUT (per channel). No scratch.
 */
flyref_status flyref_fully_connected_s8(const flyref_fc_params *params, const flyref_quant_params *quant,
                                        const flyref_dims *input_dims, const int8_t *input,
                                        const flyref_dims *filter_dims, const int8_t *filter,
                                        const int32_t *bias, const flyref_dims *output_dims,
                                        int8_t *output);

/* ============================== elementwise ================================================ */
/* Broadcast rule for the binary kernels: every dim of each input equals the output's or is 1. */

typedef struct flyref_add_params {
    int32_t input1_offset, input2_offset; /**< -zero points, [-127, 128] */
    int32_t left_shift;                   /**< [0, 22]; 20 for int8 */
    int32_t input1_multiplier, input1_shift; /**< shift in [-31, 0] */
    int32_t input2_multiplier, input2_shift;
    int32_t output_multiplier, output_shift; /**< shift in [-31, 30] */
    int32_t output_offset;
    flyref_activation activation;
    int32_t rounding;
} flyref_add_params;

/** Elementwise add s8 (arm_elementwise_add_s8 / TFLM AddFunc), with broadcast. */
flyref_status flyref_add_s8(const flyref_add_params *params, const flyref_dims *input1_dims,
                            const int8_t *input1, const flyref_dims *input2_dims,
                            const int8_t *input2, const flyref_dims *output_dims, int8_t *output);

typedef struct flyref_mul_params {
    int32_t input1_offset, input2_offset;
    int32_t output_multiplier, output_shift;
    int32_t output_offset;
    flyref_activation activation;
    int32_t rounding;
} flyref_mul_params;

/** Elementwise mul s8 (arm_elementwise_mul_s8 / TFLM MulElementwise), with broadcast (a gate
 *  [N,1,1,C] times a map [N,H,W,C]). */
flyref_status flyref_mul_s8(const flyref_mul_params *params, const flyref_dims *input1_dims,
                            const int8_t *input1, const flyref_dims *input2_dims,
                            const int8_t *input2, const flyref_dims *output_dims, int8_t *output);

/** Elementwise max s8 of raw codes (TFLM MAXIMUM; both inputs share scale and zero point),
 *  with broadcast. Funnel Max-out: max(requantized U[::2, ::2], max-out). */
flyref_status flyref_maximum_s8(const flyref_dims *input1_dims, const int8_t *input1,
                                const flyref_dims *input2_dims, const int8_t *input2,
                                const flyref_dims *output_dims, int8_t *output);

/** Max over groups of group_size adjacent channels: in [N,H,W,C*g] -> out [N,H,W,C],
 *  out[c] = max_j in[c*g + j] (Max-out over the h heads of MDW; MicroNet MaxGroupPooling). */
flyref_status flyref_max_group_s8(int32_t group_size, const flyref_dims *input_dims,
                                  const int8_t *input, const flyref_dims *output_dims,
                                  int8_t *output);

/* ============================== pooling ==================================================== */

typedef struct flyref_pool_params {
    int32_t filter_h, filter_w;
    int32_t stride_h, stride_w;
    int32_t pad_h, pad_w;
    flyref_activation activation;
} flyref_pool_params;

/** Average pool s8 (arm_avgpool_s8 / TFLM AveragePool): mean of raw codes over in-image taps,
 *  halves away from zero; no zero point involved. Global average pool: filter = H x W.
 *  A window with no in-image tap returns FLYREF_ARG_ERROR. Input and output C equal. */
flyref_status flyref_avg_pool_s8(const flyref_pool_params *params, const flyref_dims *input_dims,
                                 const int8_t *input, const flyref_dims *output_dims, int8_t *output);

/** Max pool s8 (TFLM MaxPool); an all-padding window gives clamp(-128). */
flyref_status flyref_max_pool_s8(const flyref_pool_params *params, const flyref_dims *input_dims,
                                 const int8_t *input, const flyref_dims *output_dims, int8_t *output);

/* ============================== softmax / activations ====================================== */

typedef struct flyref_softmax_params {
    int32_t input_multiplier;      /**< > 0 */
    int32_t input_left_shift;      /**< [0, 31] */
    int32_t diff_min;              /**< <= 0 */
} flyref_softmax_params;

/** Softmax s8 (arm_softmax_s8 / TFLM Softmax int8->int8): rows of row_size adjacent elements,
 *  output zero point -128, scale 1/256. row_size <= 4095. FlyNet softmax over heads: row_size = h. */
flyref_status flyref_softmax_s8(const flyref_softmax_params *params, int32_t num_rows,
                                int32_t row_size, const int8_t *input, int8_t *output);

typedef struct flyref_logistic_params {
    int32_t input_zero_point;
    int32_t input_multiplier;      /**< > 0 */
    int32_t input_left_shift;      /**< [-31, 30] */
    int32_t input_range_radius;    /**< >= 0 */
    int32_t rounding;
} flyref_logistic_params;

/** Sigmoid s8, TFLM reference_integer_ops::Logistic (output zero point -128, scale 1/256). */
flyref_status flyref_logistic_s8(const flyref_logistic_params *params, int32_t size,
                                 const int8_t *input, int8_t *output);

typedef struct flyref_hard_swish_params {
    int32_t input_zero_point, output_zero_point;
    int32_t output_multiplier_int16;   /**< [0, 32767] */
    int32_t output_exponent;           /**< [-15, 0] */
    int32_t reluish_multiplier_int16;  /**< [0, 32767] */
    int32_t reluish_exponent;          /**< [-15, 15] */
} flyref_hard_swish_params;

/** Hard-swish s8, TFLM reference HardSwish (int8-semantics.md section 8b). */
flyref_status flyref_hard_swish_s8(const flyref_hard_swish_params *params, int32_t size,
                                   const int8_t *input, int8_t *output);

typedef struct flyref_hard_sigmoid_params {
    int32_t input_zero_point;
    int32_t reluish_multiplier_int16;  /**< as hard-swish */
    int32_t reluish_exponent;
    int32_t output_multiplier, output_shift; /**< real 1/(32768 * out_scale) */
    int32_t output_offset;
    flyref_activation activation;
    int32_t rounding;
} flyref_hard_sigmoid_params;

/** Hard-sigmoid s8 = relu6(x+3)/6 (MobileNetV3 SE gate). FlyNet definition: r = the Q0.15
 *  "reluish" value of TFLM hard-swish (in [0, 32768]), out = clamp(requant(r) + zp_out). */
flyref_status flyref_hard_sigmoid_s8(const flyref_hard_sigmoid_params *params, int32_t size,
                                     const int8_t *input, int8_t *output);

typedef struct flyref_leaky_relu_params {
    int32_t input_offset;          /**< -input zero point */
    int32_t output_offset;         /**< +output zero point */
    int32_t identity_multiplier, identity_shift; /**< real s_in / s_out */
    int32_t alpha_multiplier, alpha_shift;       /**< real alpha * s_in / s_out */
    flyref_activation activation;
    int32_t rounding;
} flyref_leaky_relu_params;

/** Leaky ReLU s8: v = x + input_offset; out = clamp(requant(v, identity) + output_offset) when
 *  v >= 0, clamp(requant(v, alpha) + output_offset) when v < 0. */
flyref_status flyref_leaky_relu_s8(const flyref_leaky_relu_params *params, int32_t size,
                                   const int8_t *input, int8_t *output);

/* ============================== data movement / requantize ================================= */

/** Concatenation along channels: input i is [outer, channels[i]], output [outer, sum channels].
 *  outer = N*H*W. Inputs share scale and zero point (raw copy). */
flyref_status flyref_concat_s8(int32_t num_inputs, const int8_t *const *inputs,
                               const int32_t *channels, int32_t outer, int8_t *output);

/** Channel gather: out[p, o] = in[p, index[o]] for o < C_OUT, index[o] in [0, C_IN).
 *  MDW-Concat shortcut: depthwise (ch_mult m) then index[o] = (o % C_IN) * m + o / C_IN. */
flyref_status flyref_channel_gather_s8(const flyref_dims *input_dims, const int8_t *input,
                                       const int32_t *index, const flyref_dims *output_dims,
                                       int8_t *output);

typedef struct flyref_requantize_params {
    int32_t input_offset;          /**< -input zero point */
    int32_t output_offset;         /**< +output zero point */
    int32_t multiplier, shift;
    flyref_activation activation;
    int32_t rounding;
} flyref_requantize_params;

/** Requantize (rescale) s8 -> s8: clamp(requant(x + input_offset) + output_offset). */
flyref_status flyref_requantize_s8(const flyref_requantize_params *params, int32_t size,
                                   const int8_t *input, int8_t *output);

/* ============================== FlyNet VA-ECA ============================================== */

typedef struct flyref_vaeca_descriptor_params {
    int32_t input_offset;          /**< -zero point of z, [-127, 128] */
    int32_t mean_multiplier, mean_shift, mean_offset;  /**< mean_offset = +zp of mean output */
    int32_t std_multiplier, std_shift, std_offset;
    uint64_t eps_q;                /**< round(eps * n_px^2 * 4^F / s_in^2), see below */
    int32_t sqrt_frac_bits;        /**< F in [0, 15] */
    int32_t rounding;
} flyref_vaeca_descriptor_params;

/**
 * VA-ECA descriptor: for each (n, c) of z [N,H,W,C] with n_px = H*W pixels, v = z + input_offset:
 *   S1 = sum v (int32), S2 = sum v^2 (int64), D = n_px*S2 - S1^2 (>= 0, uint64),
 *   mean = clamp(requant(S1, mean_mult, mean_shift) + mean_offset)
 *   R    = isqrt(D * 4^F + eps_q)       (exact floor sqrt of a 64-bit integer)
 *   std  = clamp(requant(R, std_mult, std_shift) + std_offset)
 * mean_mult/shift encode s_in / (n_px * s_mean); std_mult/shift encode s_in / (n_px * 2^F * s_std);
 * eps_q = round(eps * n_px^2 * 4^F / s_in^2). Preconditions checked (ARG_ERROR otherwise):
 * n_px <= 65536, and 4^F * n_px^2 * 16257 + eps_q < 2^62 so that R < 2^31.
 * Outputs mean and std have dims {N, 1, 1, C}.
 */
flyref_status flyref_vaeca_descriptor_s8(const flyref_vaeca_descriptor_params *params,
                                         const flyref_dims *input_dims, const int8_t *input,
                                         int8_t *mean_out, int8_t *std_out);

typedef struct flyref_eca_conv1d_params {
    int32_t heads;                 /**< h >= 1; channel i = c*h + j */
    int32_t mean_offset, std_offset;     /**< -zero points of the two inputs */
    int32_t mean_multiplier, mean_shift; /**< real s_mean*w_scale_mean / s_out * 2^sum_shift */
    int32_t std_multiplier, std_shift;   /**< real s_std*w_scale_std / s_out * 2^sum_shift */
    int32_t sum_shift;                   /**< [0, 16] */
    int32_t output_offset;
    flyref_activation activation;
    int32_t rounding;
} flyref_eca_conv1d_params;

/**
 * VA-ECA 1-D conv across channels with 2 input channels (mean, std), odd kernel k, zero padding
 * (k-1)/2, no bias, shared by the h heads. For each n, i = c*h + j:
 *   am = sum_t w[t][0] * (mean[(c+t-p)*h + j] + mean_offset)   over 0 <= c+t-p < C/h
 *   as = sum_t w[t][1] * (std [(c+t-p)*h + j] + std_offset)
 *   out = clamp(RDBPOT(requant(am, mm, ms) + requant(as, sm, ss), sum_shift) + output_offset)
 * weights dims {1, 1, k, 2} (w[t*2 + 0] for mean, w[t*2 + 1] for std). Input/output dims
 * {N, 1, 1, C}, C % heads == 0.
 */
flyref_status flyref_eca_conv1d_s8(const flyref_eca_conv1d_params *params,
                                   const flyref_dims *input_dims, const int8_t *mean_in,
                                   const int8_t *std_in, const flyref_dims *filter_dims,
                                   const int8_t *filter, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* FLYREF_KERNELS_H_ */
