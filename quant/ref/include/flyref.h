/*
 * flyref.h -- flynet's bit-exact C99 integer reference (public API).
 *
 * The integers computed here are the integers the microcontroller computes: every kernel
 * implements the arithmetic of CMSIS-NN / TFLite-Micro's int8 reference kernels as specified in
 * shared/design/int8-semantics.md (double rounding by default, single rounding as a switch), plus
 * the FlyNet-specific integer kernels (VA-ECA descriptor, ECA 1-D conv, max over head groups).
 *
 * Rules of the library: C99, no malloc, no stdio, the caller owns all memory (kernels that need
 * scratch have a *_buffer_size twin), every failure is a flyref_status, no undefined behaviour
 * (int32 overflow wraps through uint32, as the spec says the targets do).
 *
 * Usage sketch (one kernel):
 *
 *   flyref_conv_params p = {0};
 *   p.input_offset = -in_zp; p.output_offset = out_zp;
 *   p.stride_h = p.stride_w = 1; p.pad_h = p.pad_w = 1; p.dilation_h = p.dilation_w = 1;
 *   p.activation.min = -128; p.activation.max = 127;          // rounding 0 = build default
 *   flyref_quant_params q = { mult, shift, C_OUT };            // per channel
 *   static int8_t scratch[256];   // >= flyref_conv2d_wrapper_s8_buffer_size(&p, &in_d, &w_d)
 *   flyref_context ctx = { scratch, (int32_t)sizeof scratch };
 *   flyref_status s = flyref_conv2d_wrapper_s8(&ctx, &p, &q, &in_d, x, &w_d, w, bias, &out_d, y);
 *
 * Graphs: see flyref_interpreter.h.
 */
#ifndef FLYREF_H_
#define FLYREF_H_

#include <stddef.h>
#include <stdint.h>

#include "flynet_format.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FLYREF_VERSION_MAJOR 0
#define FLYREF_VERSION_MINOR 1

/** Build-time default rounding, used when a params' rounding field is FLYNET_ROUNDING_DEFAULT. */
#ifdef FLYREF_USE_SINGLE_ROUNDING
#define FLYREF_DEFAULT_ROUNDING FLYNET_ROUNDING_SINGLE
#else
#define FLYREF_DEFAULT_ROUNDING FLYNET_ROUNDING_DOUBLE
#endif

/** Status of every call. 0 is success, failures are negative. */
typedef enum flyref_status {
    FLYREF_OK = 0,
    FLYREF_ARG_ERROR = -1,        /**< a parameter is out of its documented range */
    FLYREF_NO_IMPL = -2,          /**< unknown or unimplemented op code */
    FLYREF_FORMAT_ERROR = -3,     /**< malformed graph (bad tensor index, type, arity) */
    FLYREF_ARENA_TOO_SMALL = -4,  /**< arena or scratch buffer too small */
    FLYREF_SHAPE_ERROR = -5,      /**< tensor shapes inconsistent with the op */
    /* .fly model reader (flyref_model.h); the order of the checks is in flynet_format.h */
    FLYREF_MODEL_TRUNCATED = -6,           /**< fewer bytes than the header or file_size says */
    FLYREF_MODEL_BAD_MAGIC = -7,           /**< not a .fly file */
    FLYREF_MODEL_UNSUPPORTED_VERSION = -8, /**< a major version this reader does not know */
    FLYREF_MODEL_BAD_HEADER = -9,          /**< section count, header size or flags invalid */
    FLYREF_MODEL_HEADER_CRC = -10,         /**< header or section table corrupted */
    FLYREF_MODEL_PAYLOAD_CRC = -11,        /**< sections corrupted */
    FLYREF_MODEL_BAD_SECTION = -12,        /**< section missing, repeated, misplaced or of a wrong size */
    FLYREF_MODEL_BAD_TENSOR = -13,         /**< tensor record: type, dims, zero point, storage, bits */
    FLYREF_MODEL_BAD_CONSTANTS = -14,      /**< constant data does not fill its section exactly */
    FLYREF_MODEL_BAD_OP = -15,             /**< op record: arity, size or parameter words */
    FLYREF_MODEL_BAD_INDEX = -16,          /**< tensor index out of range or of the wrong kind */
    FLYREF_MODEL_BAD_PLAN = -17,           /**< arena offset misaligned or past the arena */
    FLYREF_MODEL_TABLES_TOO_SMALL = -18    /**< caller's table memory too small */
} flyref_status;

/** Human-readable name of a status ("FLYREF_OK", ...). Never NULL. */
const char *flyref_status_str(flyref_status s);

/** Tensor dimensions, NHWC. */
typedef struct flyref_dims {
    int32_t n, h, w, c;
} flyref_dims;

/** Scratch memory owned by the caller. buf may be NULL when size is 0. */
typedef struct flyref_context {
    void *buf;
    int32_t size;
} flyref_context;

/** Output clamp, inclusive, both in [-128, 127] with min <= max. */
typedef struct flyref_activation {
    int32_t min, max;
} flyref_activation;

/** Requantization multipliers: count 1 = per tensor, count C_OUT = per output channel.
 *  multiplier in [0, 2^31-1] (Q31, normally [2^30, 2^31-1]), shift in [-31, 30]. */
typedef struct flyref_quant_params {
    const int32_t *multiplier;
    const int32_t *shift;
    int32_t count;
} flyref_quant_params;

/* ---------------------------------------------------------------------------------------------
 * Fixed-point primitives (int8-semantics.md section 1). All are total functions (defined for
 * every input, no UB): an exponent, multiplier or rounding mode outside its documented range
 * makes them return 0 instead of computing.
 * ------------------------------------------------------------------------------------------- */

/** Saturating rounding doubling high multiply: floor((a*b + 2^30) / 2^31), INT32_MIN*INT32_MIN
 *  gives INT32_MAX. */
int32_t flyref_srdhm(int32_t a, int32_t b);

/** Rounding divide by 2^e, halves away from zero. e in [0, 31]. */
int32_t flyref_rdbpot(int32_t x, int32_t e);

/** Requantize with double rounding: RDBPOT(SRDHM(x * 2^max(shift,0) (wrapping), mult),
 *  max(-shift,0)). mult >= 0, shift in [-31, 30]. */
int32_t flyref_requantize_double(int32_t x, int32_t mult, int32_t shift);

/** Requantize with single rounding: (x*mult + 2^(30-shift)) >> (31-shift), result wrapped to
 *  int32. mult >= 0, shift in [-31, 30]. */
int32_t flyref_requantize_single(int32_t x, int32_t mult, int32_t shift);

/** Requantize in the given flynet_rounding mode (DEFAULT = FLYREF_DEFAULT_ROUNDING). */
int32_t flyref_requantize(int32_t x, int32_t mult, int32_t shift, int32_t rounding);

/**
 * Host vector paths. On x86-64 hosts built with GCC or Clang, the hot kernels (depthwise and 1x1
 * convolution, their requantization) have AVX2 versions that give the same integers as the
 * portable loops; they run when the CPU has AVX2. The portable loops are what a Cortex-M runs.
 * flyref_set_vector_paths(0) forces the portable loops (tests run both ways, benchmarks compare);
 * it returns the previous setting. Set it before running kernels, not while they run. Elsewhere
 * (or with FLYREF_NO_VECTOR_PATHS defined at build time) there is nothing to switch.
 */
int flyref_set_vector_paths(int enable);

/** 1 when this build and CPU have the host vector paths, else 0. */
int flyref_vector_paths_available(void);

/**
 * Target paths compiled into this build. Kernels with Cortex-M versions select them at compile
 * time from the compiler's feature macros: "dsp" (Armv7E-M / Armv8-M DSP extension: Cortex-M4,
 * M7, M33; __ARM_FEATURE_DSP) or "mve" (Armv8.1-M Helium: Cortex-M55; __ARM_FEATURE_MVE), else
 * "portable" (the C loops, the spec; Cortex-M3 and hosts). Every path gives the same integers.
 * The firmware prints the list so that a board test fails when a kernel silently fell back to
 * the portable loops (wrong flags, a misspelt macro).
 */
typedef struct flyref_target_path {
    const char *kernel; /**< the kernel family, e.g. "mul_s8" */
    const char *path;   /**< the path its source compiled: "portable", "dsp" or "mve" */
} flyref_target_path;

/** The best target path this compiler's flags allow: "mve", "dsp" or "portable" (also with
 *  FLYREF_NO_VECTOR_PATHS defined at build time, which turns the target paths off). */
const char *flyref_target_isa(void);

/** The kernel families that have target paths, each with the path this build compiled; sets
 *  *count to their number (count may be NULL). */
const flyref_target_path *flyref_target_paths(int32_t *count);

/** Exact floor(sqrt(v)) for every 64-bit v (no floating point). */
uint32_t flyref_isqrt_u64(uint64_t v);

/* ---------------------------------------------------------------------------------------------
 * Parameter derivation (TFLM Prepare, int8-semantics.md section 2). Host/export side helpers;
 * they use double/float arithmetic exactly as TFLM does, so the integers match its Prepare.
 * ------------------------------------------------------------------------------------------- */

/** TFLM QuantizeMultiplier: real = mult * 2^(shift-31). Single-rounding builds cap shift at 30
 *  (pass FLYNET_ROUNDING_SINGLE to get that cap). Returns ARG_ERROR for negative/NaN reals. */
flyref_status flyref_quantize_multiplier(double real, int32_t rounding, int32_t *mult, int32_t *shift);

/** TFLM CalculateActivationRangeQuantized for int8 outputs. */
flyref_status flyref_activation_range(int32_t act, float scale, int32_t zero_point,
                                      int32_t *act_min, int32_t *act_max);

/** Conv/depthwise/per-channel FC multiplier: (double)in * (double)w / (double)out. */
flyref_status flyref_conv_multiplier(float in_scale, float w_scale, float out_scale,
                                     int32_t rounding, int32_t *mult, int32_t *shift);

/** Per-tensor FC multiplier: (double)(in * w, a float product) / (double)out. */
flyref_status flyref_fc_multiplier(float in_scale, float w_scale, float out_scale,
                                   int32_t rounding, int32_t *mult, int32_t *shift);

/** TFLM int8 add prepare (left_shift 20). */
flyref_status flyref_add_prepare(float in1_scale, float in2_scale, float out_scale, int32_t rounding,
                                 flynet_add_params *p);

/** TFLM int8 softmax prepare: beta, input scale -> multiplier, left shift, diff_min. */
flyref_status flyref_softmax_prepare(float beta, float in_scale, int32_t rounding,
                                     flynet_softmax_params *p);

/** TFLM int8 logistic prepare. */
flyref_status flyref_logistic_prepare(float in_scale, flynet_logistic_params *p);

/** TFLM int8 hard-swish prepare; ARG_ERROR if the output exponent would be positive. */
flyref_status flyref_hard_swish_prepare(float in_scale, float out_scale, flynet_hard_swish_params *p);

/** Hard-sigmoid prepare (reluish part as hard-swish, output multiplier 1/(32768*out_scale)). */
flyref_status flyref_hard_sigmoid_prepare(float in_scale, float out_scale, int32_t out_zero_point,
                                          int32_t rounding, flynet_hard_sigmoid_params *p);

#ifdef __cplusplus
}
#endif

#include "flyref_kernels.h"

#endif /* FLYREF_H_ */
