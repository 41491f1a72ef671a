/*
 * flynet_format.h -- the flynet int8 model ABI (C99, no C++).
 *
 * THIS HEADER IS THE SINGLE SOURCE OF TRUTH OF THE FLYNET MODEL FORMAT. The C++ tools (export,
 * verify) and the C99 integer reference in quant/ref/ both include it; nothing else defines
 * op codes, type codes or parameter records.
 *
 * What is here now:
 *   - op codes (flynet_op), tensor element types, activation kinds, rounding modes;
 *   - the fixed-width parameter record of every op, as the interpreter in quant/ref consumes it
 *     (every field is a 32-bit integer, so the records have no padding, the same layout on every
 *     target and can later be stored little-endian in a file as they are).
 *
 * What is NOT here yet: the byte-level file layout (magic, version, sections, CRC, arena plan).
 * It will be added by the export issue, at the top of this comment, and must reuse the records
 * below unchanged.
 *
 * ABI rules:
 *   - enum values are never renumbered, only appended before the *_COUNT sentinel;
 *   - records are only extended at their end, and a record never shrinks;
 *   - "offset" in this file means a quantization offset (CMSIS-NN naming): an input offset is
 *     minus the input zero point, an output offset is plus the output zero point.
 */
#ifndef FLYNET_FORMAT_H_
#define FLYNET_FORMAT_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Operator codes. Values are ABI: never renumber, only append before FLYNET_OP_COUNT. */
typedef enum flynet_op {
    FLYNET_OP_INVALID = 0,          /**< never a valid op */
    FLYNET_OP_CONV2D = 1,           /**< conv s8, any kernel/stride/pad/dilation/groups */
    FLYNET_OP_DEPTHWISE_CONV2D = 2, /**< depthwise s8 with channel multiplier (MDW heads) */
    FLYNET_OP_FULLY_CONNECTED = 3,  /**< FC s8, per-tensor or per-channel requantization */
    FLYNET_OP_ADD = 4,              /**< elementwise add s8 (4-D broadcast) */
    FLYNET_OP_MUL = 5,              /**< elementwise mul s8 (4-D broadcast; gates) */
    FLYNET_OP_MAXIMUM = 6,          /**< elementwise max s8, same scale (4-D broadcast) */
    FLYNET_OP_AVG_POOL2D = 7,       /**< average pool s8 (global pool = window of H x W) */
    FLYNET_OP_MAX_POOL2D = 8,       /**< max pool s8 (1x1 stride 2 = subsample [::2, ::2]) */
    FLYNET_OP_SOFTMAX = 9,          /**< softmax s8 over rows (row = h heads: head softmax) */
    FLYNET_OP_HARD_SWISH = 10,      /**< hard-swish s8, TFLM semantics */
    FLYNET_OP_LOGISTIC = 11,        /**< sigmoid s8, TFLM semantics */
    FLYNET_OP_HARD_SIGMOID = 12,    /**< hard-sigmoid s8 (TFLM hard-swish "reluish" part) */
    FLYNET_OP_CONCAT = 13,          /**< concatenation along channels, same quantization */
    FLYNET_OP_CHANNEL_GATHER = 14,  /**< out[..., o] = in[..., index[o]] */
    FLYNET_OP_REQUANTIZE = 15,      /**< int8 -> int8 rescale */
    FLYNET_OP_VAECA_DESCRIPTOR = 16,/**< per-channel (mean, std) of a map, exact integer sqrt */
    FLYNET_OP_ECA_CONV1D = 17,      /**< VA-ECA 1-D conv across channels, 2 inputs (mean, std) */
    FLYNET_OP_MAX_GROUP = 18,       /**< max over groups of g adjacent channels (Max-out) */
    FLYNET_OP_COUNT                 /**< sentinel: one past the last op code */
} flynet_op;

/** Tensor element types. */
typedef enum flynet_type {
    FLYNET_TYPE_INVALID = 0,
    FLYNET_TYPE_INT8 = 1,
    FLYNET_TYPE_INT32 = 2,
    FLYNET_TYPE_COUNT
} flynet_type;

/** Fused activations (they become [act_min, act_max] clamps, TFLM CalculateActivationRange). */
typedef enum flynet_activation {
    FLYNET_ACT_NONE = 0,
    FLYNET_ACT_RELU = 1,
    FLYNET_ACT_RELU6 = 2,
    FLYNET_ACT_RELU_N1_TO_1 = 3,
    FLYNET_ACT_COUNT
} flynet_activation;

/**
 * Requantization rounding. DOUBLE = TFLM / CMSIS-NN default (rounding doubling high multiply, then
 * rounding divide by a power of two); SINGLE = TFLITE_SINGLE_ROUNDING /
 * CMSIS_NN_USE_SINGLE_ROUNDING (one rounding of the 64-bit product). DEFAULT = whatever the reader
 * was built with (quant/ref: double unless FLYREF_USE_SINGLE_ROUNDING is defined).
 */
typedef enum flynet_rounding {
    FLYNET_ROUNDING_DEFAULT = 0,
    FLYNET_ROUNDING_DOUBLE = 1,
    FLYNET_ROUNDING_SINGLE = 2,
    FLYNET_ROUNDING_COUNT
} flynet_rounding;

/** Tensor flags. */
#define FLYNET_TENSOR_CONSTANT 1u /**< data is constant (weights, bias, multipliers, indices) */

/**
 * Tensor record: shape NHWC (unused leading dims are 1), element type, quantization.
 * Real value = scale * (q - zero_point), scale = scale_multiplier * 2^(scale_shift - 31)
 * (informational: kernels read their multipliers from parameter records or int32 tensors).
 * offset: arena byte offset for activations, byte offset into the constant blob for constants.
 */
typedef struct flynet_tensor_record {
    int32_t dims[4];           /**< N, H, W, C */
    int32_t type;              /**< flynet_type */
    int32_t flags;             /**< FLYNET_TENSOR_* */
    int32_t zero_point;        /**< [-128, 127] for int8, 0 for int32 */
    int32_t scale_multiplier;  /**< Q31 in [2^30, 2^31-1], or 0 */
    int32_t scale_shift;       /**< signed exponent */
    uint32_t offset;           /**< see above */
} flynet_tensor_record;

/* ---------------------------------------------------------------------------------------------
 * Parameter records. All fields int32. Tensor inputs of each op are listed in its comment, in
 * node input order; "mult/shift" inputs are int32 tensors of length 1 (per tensor) or C_OUT.
 * Offsets (zero points) are NOT repeated here: the interpreter takes them from the tensors.
 * ------------------------------------------------------------------------------------------- */

/** CONV2D: inputs {x [N,H,W,C_IN], w [C_OUT,KH,KW,C_IN/groups] s8, bias [C_OUT] s32 or absent,
 *  mult [1|C_OUT] s32, shift [1|C_OUT] s32}. DEPTHWISE_CONV2D: same with w [1,KH,KW,C_OUT],
 *  C_OUT = C_IN * ch_mult (ch_mult is derived from the shapes). Groups derived from the shapes. */
typedef struct flynet_conv2d_params {
    int32_t stride_h, stride_w;
    int32_t pad_h, pad_w;          /**< padding before (top/left); trailing follows */
    int32_t dilation_h, dilation_w;
    int32_t act_min, act_max;      /**< output clamp, in [-128, 127] */
    int32_t rounding;              /**< flynet_rounding */
} flynet_conv2d_params;

/** FULLY_CONNECTED: inputs {x [N, K] (any NHWC with H*W*C = K), w [C_OUT, K] s8 (dims {C_OUT,1,1,K}),
 *  bias [C_OUT] or absent, mult, shift}. filter_offset = -weight zero point (normally 0). */
typedef struct flynet_fully_connected_params {
    int32_t filter_offset;
    int32_t act_min, act_max;
    int32_t rounding;
} flynet_fully_connected_params;

/** ADD: inputs {a, b} (4-D broadcast: each dim equal to the output's or 1). TFLM int8 add. */
typedef struct flynet_add_params {
    int32_t left_shift;            /**< 20 for int8 */
    int32_t input1_multiplier, input1_shift;
    int32_t input2_multiplier, input2_shift;
    int32_t output_multiplier, output_shift;
    int32_t act_min, act_max;
    int32_t rounding;
} flynet_add_params;

/** MUL: inputs {a, b} (4-D broadcast). out = requant((a-zpa)(b-zpb)) + zpo, clamp. */
typedef struct flynet_mul_params {
    int32_t output_multiplier, output_shift;
    int32_t act_min, act_max;
    int32_t rounding;
} flynet_mul_params;

/** AVG_POOL2D / MAX_POOL2D: inputs {x}. Input and output share scale and zero point. */
typedef struct flynet_pool2d_params {
    int32_t filter_h, filter_w;
    int32_t stride_h, stride_w;
    int32_t pad_h, pad_w;
    int32_t act_min, act_max;
} flynet_pool2d_params;

/** SOFTMAX: inputs {x}; rows of row_size adjacent elements (0 = the C dimension). Output zero
 *  point -128, scale 1/256. Head softmax: row_size = h over an [.., E*h] logit tensor. */
typedef struct flynet_softmax_params {
    int32_t input_multiplier, input_left_shift, diff_min;
    int32_t row_size;
} flynet_softmax_params;

/** LOGISTIC: inputs {x}. Output zero point -128 (scale 1/256). */
typedef struct flynet_logistic_params {
    int32_t input_multiplier, input_left_shift, input_range_radius;
    int32_t rounding;
} flynet_logistic_params;

/** HARD_SWISH: inputs {x}. 16-bit multipliers as produced by TFLM's hard-swish prepare. */
typedef struct flynet_hard_swish_params {
    int32_t output_multiplier_int16, output_exponent;    /**< output_exponent <= 0 */
    int32_t reluish_multiplier_int16, reluish_exponent;
} flynet_hard_swish_params;

/** HARD_SIGMOID: inputs {x}. reluish part of hard-swish -> Q0.15 in [0,1] -> requantize. */
typedef struct flynet_hard_sigmoid_params {
    int32_t reluish_multiplier_int16, reluish_exponent;
    int32_t output_multiplier, output_shift;             /**< real 1/(32768*out_scale) */
    int32_t act_min, act_max;
    int32_t rounding;
} flynet_hard_sigmoid_params;

/** CONCAT: inputs {x0, x1, ...} concatenated along C; all share scale and zero point. */
typedef struct flynet_concat_params {
    int32_t axis;                  /**< must be 3 (channels) */
} flynet_concat_params;

/** CHANNEL_GATHER: inputs {x, index [C_OUT] s32}. No parameters beyond this record. */
typedef struct flynet_channel_gather_params {
    int32_t reserved;
} flynet_channel_gather_params;

/** REQUANTIZE: inputs {x}. out = clamp(requant(x - zp_in, mult, shift) + zp_out). */
typedef struct flynet_requantize_params {
    int32_t multiplier, shift;
    int32_t act_min, act_max;
    int32_t rounding;
} flynet_requantize_params;

/** VAECA_DESCRIPTOR: inputs {z [N,H,W,C]}, outputs {mean [N,1,1,C], std [N,1,1,C]}.
 *  See quant/ref/README.md for the integer definition. eps_q = eps_q_hi * 2^32 + eps_q_lo. */
typedef struct flynet_vaeca_descriptor_params {
    int32_t mean_multiplier, mean_shift;
    int32_t std_multiplier, std_shift;
    uint32_t eps_q_lo, eps_q_hi;
    int32_t sqrt_frac_bits;
    int32_t rounding;
} flynet_vaeca_descriptor_params;

/** ECA_CONV1D: inputs {mean [N,1,1,C], std [N,1,1,C], w [1,1,K,2] s8}, output logits
 *  [N,1,1,C]; C = E*heads, channel i = c*heads + j, the conv runs over c for each head j. */
typedef struct flynet_eca_conv1d_params {
    int32_t heads;
    int32_t mean_multiplier, mean_shift;
    int32_t std_multiplier, std_shift;
    int32_t sum_shift;             /**< fraction bits of the combined sum, [0, 16] */
    int32_t act_min, act_max;
    int32_t rounding;
} flynet_eca_conv1d_params;

/** MAX_GROUP: inputs {x [N,H,W,C*g]} -> [N,H,W,C], out[c] = max_j x[c*g + j]. Same scale. */
typedef struct flynet_max_group_params {
    int32_t group_size;
} flynet_max_group_params;

#ifdef __cplusplus
}
#endif

#endif /* FLYNET_FORMAT_H_ */
