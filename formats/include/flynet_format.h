/*
 * flynet_format.h -- the flynet int8 model ABI and the .fly file format (C99, no C++).
 *
 * THIS HEADER IS THE SINGLE SOURCE OF TRUTH OF THE FLYNET MODEL FORMAT. The C++ tools (export,
 * verify, info: formats/include/flynet/formats/fly_file.hpp) and the C99 integer reference in
 * quant/ref/ (reader: quant/ref/include/flyref_model.h) both include it; nothing else defines op
 * codes, type codes, parameter records or file layout.
 *
 * =============================================================================================
 * THE .fly FILE, version 2.0 (byte-level specification)
 * =============================================================================================
 *
 * General rules
 *   - Every multi-byte field is little-endian. uN / iN: unsigned / two's-complement N-bit
 *     integers; f32: IEEE-754 binary32. Offsets are byte offsets from the start of the file.
 *   - The file is read in place (from flash): raw constants and parameter records are used
 *     where they lie, so the reader needs the file at a 4-byte aligned address and a
 *     little-endian target. Sections start at multiples of 16 (FLYNET_FILE_SECTION_ALIGN);
 *     constants start at multiples of 4 (FLYNET_FILE_CONSTANT_ALIGN) in their section.
 *   - Padding bytes (between sections, after a constant) are written as zero and never read;
 *     they are covered by the payload CRC.
 *   - CRC-32 = IEEE 802.3 / zlib crc32: reflected polynomial 0xEDB88320, initial value
 *     0xFFFFFFFF, final XOR 0xFFFFFFFF ("123456789" -> 0xCBF43926).
 *   - Bytes after file_size are ignored (a flash region may be larger than the model).
 *
 * File = header (32 bytes) | section table (section_count x 16 bytes) | sections
 *
 * Header
 *   off size field
 *     0   4  magic          "FLYN" (0x46 0x4C 0x59 0x4E)
 *     4   2  version_major  u16 = 2 when some CONV2D, DEPTHWISE_CONV2D or FULLY_CONNECTED has
 *                           PACKED weights (their decode rule, PLAN, changed in 2.0), else 1 (such
 *                           files are the same under both rules, so 1.0 readers still run them).
 *                           A reader rejects any major it does not know
 *                           (FLYREF_MODEL_UNSUPPORTED_VERSION): newer majors may change layouts.
 *                           Readers of this header read majors 1 and 2: a 1.x file's plan was made
 *                           by the 1.0 rule, whose decode regions are never smaller than the
 *                           current rule's, so it runs as it is.
 *     6   2  version_minor  u16 = 0. Minor versions only add what an older reader may skip (new
 *                           section ids); readers accept every minor of their major.
 *     8   4  file_size      u32, bytes of the whole file
 *    12   4  section_count  u32, 1 .. FLYNET_FILE_MAX_SECTIONS
 *    16   4  flags          u32, 0 (reserved)
 *    20   4  payload_crc    u32, CRC-32 of bytes [header_end, file_size)
 *    24   4  reserved       u32, 0
 *    28   4  header_crc     u32, CRC-32 of bytes [0, 28) followed by [32, header_end)
 *   header_end = 32 + 16 * section_count (the header and the section table).
 *
 * Section table entry (16 bytes each, sorted by offset)
 *     0   4  id      u32, flynet_section; unknown ids are skipped (a later minor version)
 *     4   4  offset  u32, multiple of 16, >= header_end, >= the previous section's end
 *     8   4  size    u32, offset + size <= file_size
 *    12   4  count   u32, number of items (see each section)
 *   MODEL, TENSORS, OPS, CONSTANTS and PLAN appear exactly once; HOST at most once.
 *
 * MODEL (id 1), size 16, count 0
 *     0   4  input         u32 tensor index of the image (an int8 arena tensor)
 *     4   4  output        u32 tensor index of the logits (an int8 arena tensor)
 *     8   4  input_scale   f32 > 0, finite (real = scale * (q - zero_point); zero points are
 *                           in TENSORS)
 *    12   4  output_scale  f32 > 0, finite
 *
 * TENSORS (id 2), count = number of tensors T (1 .. 65535), size = 12 * T
 *   One record per tensor, tensor index = record index:
 *     0   8  dims        u16[4] N, H, W, C, each >= 1 (weights as the op records say); the
 *                        decoded size N*H*W*C * (1 or 4) must be below 2^31
 *     8   1  type        u8 flynet_type (INT8, INT32)
 *     9   1  zero_point  i8 (0 for INT32)
 *    10   1  storage     u8 flynet_storage: ARENA (an activation, placed by PLAN) or how the
 *                        constant's data is stored in CONSTANTS (see below)
 *    11   1  bits        u8, PACKED: 1 .. 8 bits per element; otherwise 0
 *
 * OPS (id 3), count = number of ops (1 .. 65535), size = sum of the record sizes
 *   Records back to back, in execution order; each record's size is a multiple of 4:
 *     0   1  op          u8 flynet_op
 *     1   1  num_inputs  u8, 0 .. 8
 *     2   1  num_outputs u8, 1 .. 2
 *     3   1  num_params  u8, words of the parameter record (>= the op's record size,
 *                        flynet_op_param_words(); MAXIMUM has none)
 *     4   2*k  indices   u16 inputs then outputs (k = num_inputs + num_outputs); 0xFFFF
 *                        (FLYNET_FILE_NO_TENSOR) = an absent optional input (the bias)
 *         pad to a multiple of 4 with zeros
 *         4*p params     i32[num_params], the op's flynet_*_params record as below, word by word
 *
 * CONSTANTS (id 4), count = number of constant tensors, size = end of the last one's data
 *   The stored data of every tensor whose storage is not ARENA, in tensor order, each starting
 *   at the next multiple of 4 from the previous end (the first at 0). Stored forms (n = element
 *   count = N*H*W*C):
 *     RAW     the values as the tensor's type: n bytes (INT8) or 4n bytes (INT32, LE). Used in
 *             place by the reader.
 *     PACKED  INT8 only. A code table of 2^bits i8 values, then ceil(n*bits/8) bytes of packed
 *             indices: element k's index occupies bits [k*bits, (k+1)*bits) of the byte stream,
 *             bit j of the stream being bit (j mod 8) of byte j/8 (LSB first); the element's
 *             value is table[index]. Unused table entries and trailing bits are written as zero
 *             (readers ignore them).
 *     S8      INT32 stored as n i8 (sign-extended when read).
 *     S16     INT32 stored as n i16, LE (sign-extended when read).
 *   The reader decodes PACKED, S8 and S16 constants just before each node that reads them,
 *   into that node's decode region of the arena (see PLAN), except the PACKED weights of a
 *   FULLY_CONNECTED, which its kernel reads as stored; so flash holds the packed bits and RAM
 *   at most one block of one node's decoded inputs. The writer's choice (flynet export):
 *     - int8 constants (weights): PACKED with bits = max(1, ceil(log2 d)) for d distinct codes
 *       when bits < 8 and the packed form, table included, is smaller than n; RAW otherwise;
 *     - int32 constants used only as per-channel shifts (input 4 of CONV2D, DEPTHWISE_CONV2D,
 *       FULLY_CONNECTED) or channel indices (input 1 of CHANNEL_GATHER): S8 when every value
 *       fits, else S16 when every value fits, else RAW;
 *     - every other int32 constant (biases, multipliers): RAW, read in place from flash.
 *
 * PLAN (id 5), count = number of ARENA tensors A, size = 8 + 4*A + 8*(number of ops)
 *   The offline arena plan: every activation and every node's scratch and decode region at an
 *   offset of one arena of arena_size bytes (the caller's arena must be at least that large
 *   and 4-byte aligned; 16 is better for DMA and caches).
 *     0   4  arena_size         u32, bytes
 *     4   4  arena_lower_bound  u32, the plan's lower bound: the largest total size of buffers
 *                               alive at one node (informational, <= arena_size)
 *     8   4*A tensor_offset      u32 per ARENA tensor, in tensor order; multiples of 4;
 *                               offset + tensor bytes <= arena_size
 *         8*ops node regions    per op: u32 scratch_offset, u32 decode_offset; multiples of 4,
 *                               <= arena_size. The scratch size (im2col patch) and the decode
 *                               size are derived by the reader (below). Both regions must fit in
 *                               the arena and not overlap each other or the node's own arena
 *                               tensors.
 *
 *   The decode region (version 2.0) holds the node's non-RAW constant inputs decoded, in input
 *   order, each slot at the next multiple of 4 from the previous end, slot sizes as follows:
 *     - PACKED weights of a FULLY_CONNECTED (input 1): no slot (0 bytes); the FC reads them as
 *       stored, a table load per two weights.
 *     - A blocked node: a CONV2D of one group (weights {C_OUT, KH, KW, KC} with KC = the input's
 *       C) or a DEPTHWISE_CONV2D (weights {1, KH, KW, C_OUT}, C_OUT = C_IN * ch_mult) whose
 *       weights are PACKED runs a block of channels at a time, each block's encoded inputs
 *       decoded just before the kernel call on its channels, which writes them straight into the
 *       output. Units: the conv's output channels, one filter row of U = KH*KW*KC bytes each;
 *       the depthwise's input channels, each with its ch_mult output channels at every tap,
 *       U = KH*KW*ch_mult bytes. Units per block
 *         P = max(1, floor(FLYNET_FILE_DECODE_BLOCK_BYTES / U)), rounded down to a multiple of
 *             8 when P >= 8, else of 4 when P >= 4; then P = min(P, number of units);
 *       the blocks are units [0, P), [P, 2P), ..., the last one possibly shorter. Slots: the
 *       weights P*U bytes (a depthwise block holds its channels of every tap, [tap][channel]);
 *       each encoded per-channel input (bias, multiplier or shift of C_OUT values) 4*P*ch_mult
 *       bytes (ch_mult = 1 for a conv), one block's values; a per-tensor one (1 value) 4 bytes.
 *       (A grouped CONV2D is not blocked.)
 *     - Any other encoded input: its whole decoded size (n or 4n bytes).
 *   Version 1.0 decoded every encoded input whole except PACKED FC weights, decoded in blocks of
 *   R = min(C_OUT, max(1, floor(4096 / K))) rows (R*K bytes): never less than the above, so a
 *   1.x plan is valid under the current rule.
 *
 * HOST (id 6, optional), count 0: what only host tools read (names, real-valued scales, weight
 *   levels, meta), so that export -> load gives back the same IntGraph. Not read by the C
 *   reader. Byte-packed (no alignment), strings as u16 length + bytes (no terminator):
 *     per tensor:  name, f64 scale, i32 levels, u32 channel count m, f64[m] channel scales
 *     per op:      name
 *     u32 meta entries, then per entry: key (u16 length + bytes), value (u32 length + bytes)
 *
 * Reading order (every reader checks in this order, so the first broken thing names the
 * status): size >= 32 (else TRUNCATED), magic (BAD_MAGIC), version_major (UNSUPPORTED_VERSION),
 * file_size <= size (TRUNCATED), section_count and header_end <= file_size (BAD_HEADER),
 * header_crc (HEADER_CRC), payload_crc (PAYLOAD_CRC); then the structure: flags and reserved
 * (BAD_HEADER), section table and section sizes, MODEL scales (BAD_SECTION), tensor records
 * (BAD_TENSOR), constant layout (BAD_CONSTANTS), op records (op code: NO_IMPL; arity, record
 * size, parameter words: BAD_OP; tensor indices: BAD_INDEX), MODEL input/output (BAD_INDEX),
 * plan (BAD_PLAN), and last every node against its tensors (the interpreter's prepare).
 *
 * =============================================================================================
 * The ABI (shared by the file and the in-memory graphs of quant/ref)
 * =============================================================================================
 *   - op codes (flynet_op), tensor element types, activation kinds, rounding modes, storage;
 *   - the fixed-width parameter record of every op, as the interpreter in quant/ref consumes it
 *     (every field is a 32-bit integer, so the records have no padding, the same layout on every
 *     target, and the file stores them as they are).
 *   flynet_tensor_record is an older in-memory descriptor kept for ABI stability; the file uses
 *   the compact 12-byte tensor record above instead.
 *
 * ABI rules:
 *   - enum values are never renumbered, only appended before the *_COUNT sentinel;
 *   - records are only extended at their end, and a record never shrinks;
 *   - "offset" in the parameter records means a quantization offset (CMSIS-NN naming): an input
 *     offset is minus the input zero point, an output offset is plus the output zero point.
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
    FLYNET_OP_LEAKY_RELU = 19,      /**< leaky ReLU s8: identity or alpha requantization by sign */
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

/** LEAKY_RELU: inputs {x}. v = x - zp_in; out = clamp(requant(v, identity_*) + zp_out) for
 *  v >= 0, clamp(requant(v, alpha_*) + zp_out) for v < 0 (identity: s_in/s_out, alpha:
 *  alpha*s_in/s_out). */
typedef struct flynet_leaky_relu_params {
    int32_t identity_multiplier, identity_shift;
    int32_t alpha_multiplier, alpha_shift;
    int32_t act_min, act_max;
    int32_t rounding;
} flynet_leaky_relu_params;

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

/* ---------------------------------------------------------------------------------------------
 * The .fly file (layout: the top comment of this header).
 * ------------------------------------------------------------------------------------------- */

#define FLYNET_FILE_MAGIC_0 0x46u /* 'F' */
#define FLYNET_FILE_MAGIC_1 0x4Cu /* 'L' */
#define FLYNET_FILE_MAGIC_2 0x59u /* 'Y' */
#define FLYNET_FILE_MAGIC_3 0x4Eu /* 'N' */
/** The newest version major (written when an op is blocked, see PLAN) and the oldest one a reader of
 *  this header reads (written otherwise, so such files stay readable by 1.0 readers). */
#define FLYNET_FILE_VERSION_MAJOR 2u
#define FLYNET_FILE_VERSION_MAJOR_MIN 1u
#define FLYNET_FILE_VERSION_MINOR 0u
#define FLYNET_FILE_HEADER_SIZE 32u
#define FLYNET_FILE_SECTION_ENTRY_SIZE 16u
#define FLYNET_FILE_MAX_SECTIONS 16u
#define FLYNET_FILE_SECTION_ALIGN 16u
#define FLYNET_FILE_CONSTANT_ALIGN 4u
#define FLYNET_FILE_ARENA_ALIGN 4u
#define FLYNET_FILE_MODEL_SIZE 16u
#define FLYNET_FILE_TENSOR_RECORD_SIZE 12u
#define FLYNET_FILE_OP_HEADER_SIZE 4u
#define FLYNET_FILE_MAX_TENSORS 65535u
#define FLYNET_FILE_MAX_OPS 65535u
#define FLYNET_FILE_MAX_DIM 65535u
#define FLYNET_FILE_NO_TENSOR 0xFFFFu /**< an absent optional input in an op record */
/** Bytes of decoded weights a blocked node decodes at once, at most (PLAN section; a unit larger
 *  than this is a block of its own). */
#define FLYNET_FILE_DECODE_BLOCK_BYTES 8192u
/** The version 1.0 rule's block of PACKED FULLY_CONNECTED rows (PLAN section: why a 1.x plan is
 *  still valid). No current reader or writer uses it. */
#define FLYNET_FILE_FC_DECODE_BYTES 4096u

/** Header field offsets. */
#define FLYNET_FILE_OFF_MAGIC 0u
#define FLYNET_FILE_OFF_VERSION_MAJOR 4u
#define FLYNET_FILE_OFF_VERSION_MINOR 6u
#define FLYNET_FILE_OFF_FILE_SIZE 8u
#define FLYNET_FILE_OFF_SECTION_COUNT 12u
#define FLYNET_FILE_OFF_FLAGS 16u
#define FLYNET_FILE_OFF_PAYLOAD_CRC 20u
#define FLYNET_FILE_OFF_RESERVED 24u
#define FLYNET_FILE_OFF_HEADER_CRC 28u

/** Section ids. Values are ABI: never renumber, only append. */
typedef enum flynet_section {
    FLYNET_SECTION_MODEL = 1,
    FLYNET_SECTION_TENSORS = 2,
    FLYNET_SECTION_OPS = 3,
    FLYNET_SECTION_CONSTANTS = 4,
    FLYNET_SECTION_PLAN = 5,
    FLYNET_SECTION_HOST = 6,
    FLYNET_SECTION_COUNT
} flynet_section;

/** How a tensor's data is stored (file tensor record, flyref_tensor.storage). */
typedef enum flynet_storage {
    FLYNET_STORAGE_ARENA = 0,  /**< no stored data: an activation placed in the arena */
    FLYNET_STORAGE_RAW = 1,    /**< the values as the tensor's type, used in place */
    FLYNET_STORAGE_PACKED = 2, /**< INT8: 2^bits-entry code table + bits-wide indices, LSB first */
    FLYNET_STORAGE_S8 = 3,     /**< INT32 stored as int8, sign-extended when decoded */
    FLYNET_STORAGE_S16 = 4,    /**< INT32 stored as little-endian int16, sign-extended */
    FLYNET_STORAGE_COUNT
} flynet_storage;

/** Words of the parameter record of op (0 for MAXIMUM, which has none; -1 for an unknown op). */
static inline int32_t flynet_op_param_words(int32_t op)
{
    switch (op) {
    case FLYNET_OP_CONV2D:
    case FLYNET_OP_DEPTHWISE_CONV2D: return (int32_t)(sizeof(flynet_conv2d_params) / 4u);
    case FLYNET_OP_FULLY_CONNECTED: return (int32_t)(sizeof(flynet_fully_connected_params) / 4u);
    case FLYNET_OP_ADD: return (int32_t)(sizeof(flynet_add_params) / 4u);
    case FLYNET_OP_MUL: return (int32_t)(sizeof(flynet_mul_params) / 4u);
    case FLYNET_OP_MAXIMUM: return 0;
    case FLYNET_OP_AVG_POOL2D:
    case FLYNET_OP_MAX_POOL2D: return (int32_t)(sizeof(flynet_pool2d_params) / 4u);
    case FLYNET_OP_SOFTMAX: return (int32_t)(sizeof(flynet_softmax_params) / 4u);
    case FLYNET_OP_HARD_SWISH: return (int32_t)(sizeof(flynet_hard_swish_params) / 4u);
    case FLYNET_OP_LOGISTIC: return (int32_t)(sizeof(flynet_logistic_params) / 4u);
    case FLYNET_OP_HARD_SIGMOID: return (int32_t)(sizeof(flynet_hard_sigmoid_params) / 4u);
    case FLYNET_OP_CONCAT: return (int32_t)(sizeof(flynet_concat_params) / 4u);
    case FLYNET_OP_CHANNEL_GATHER: return (int32_t)(sizeof(flynet_channel_gather_params) / 4u);
    case FLYNET_OP_REQUANTIZE: return (int32_t)(sizeof(flynet_requantize_params) / 4u);
    case FLYNET_OP_VAECA_DESCRIPTOR: return (int32_t)(sizeof(flynet_vaeca_descriptor_params) / 4u);
    case FLYNET_OP_ECA_CONV1D: return (int32_t)(sizeof(flynet_eca_conv1d_params) / 4u);
    case FLYNET_OP_MAX_GROUP: return (int32_t)(sizeof(flynet_max_group_params) / 4u);
    case FLYNET_OP_LEAKY_RELU: return (int32_t)(sizeof(flynet_leaky_relu_params) / 4u);
    default: return -1;
    }
}

#ifdef __cplusplus
}
#endif

#endif /* FLYNET_FORMAT_H_ */
