/*
 * flyref_internal.h -- private inline helpers of quant/ref (not installed, not public API).
 *
 * Why these exist: C99 makes signed overflow and left shifts of negative values undefined, so
 * every wrapping int32 operation goes through uint32 and back through fr_wrap(); the spec says
 * the targets wrap modulo 2^32, and this reproduces that without UB.
 */
#ifndef FLYREF_INTERNAL_H_
#define FLYREF_INTERNAL_H_

#include <limits.h>
#include <stdint.h>

#include "flyref.h"

/* The library relies on >> of negative signed values being arithmetic (implementation-defined in
 * C99; true for GCC, Clang and Arm compilers). Fail the build elsewhere. */
typedef char flyref_requires_arithmetic_shift[((-1 >> 1) == -1 && ((int64_t)-3 >> 1) == -2) ? 1 : -1];

/** uint32 -> int32 modulo 2^32, without implementation-defined conversion. */
static inline int32_t fr_wrap(uint32_t v)
{
    return v <= 0x7FFFFFFFu ? (int32_t)v : (int32_t)(v - 0x80000000u) + INT32_MIN;
}

static inline int32_t fr_add(int32_t a, int32_t b) { return fr_wrap((uint32_t)a + (uint32_t)b); }
static inline int32_t fr_sub(int32_t a, int32_t b) { return fr_wrap((uint32_t)a - (uint32_t)b); }
static inline int32_t fr_mul(int32_t a, int32_t b) { return fr_wrap((uint32_t)a * (uint32_t)b); }
static inline int32_t fr_shl(int32_t a, int32_t s) { return fr_wrap((uint32_t)a << s); }
/** int64 -> int32 modulo 2^32. */
static inline int32_t fr_wrap64(int64_t v) { return fr_wrap((uint32_t)(uint64_t)v); }

static inline int32_t fr_min(int32_t a, int32_t b) { return a < b ? a : b; }
static inline int32_t fr_max(int32_t a, int32_t b) { return a > b ? a : b; }
static inline int32_t fr_clamp(int32_t v, int32_t lo, int32_t hi) { return v < lo ? lo : (v > hi ? hi : v); }

static inline int32_t fr_srdhm(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    /* |a*b| <= 2^62, so the nudged product fits; >> is floor division (arithmetic shift). */
    return (int32_t)(((int64_t)a * b + ((int64_t)1 << 30)) >> 31);
}

static inline int32_t fr_rdbpot(int32_t x, int32_t e)
{
    if (e <= 0) {
        return x;
    }
    /* Round half away from zero: add 2^(e-1), minus one more for negatives, then floor. */
    return (int32_t)(((int64_t)x + ((int64_t)1 << (e - 1)) - (x < 0 ? 1 : 0)) >> e);
}

static inline int32_t fr_requant_double(int32_t x, int32_t mult, int32_t shift)
{
    const int32_t ls = shift > 0 ? shift : 0;
    const int32_t rs = shift > 0 ? 0 : -shift;
    return fr_rdbpot(fr_srdhm(fr_shl(x, ls), mult), rs);
}

static inline int32_t fr_requant_single(int32_t x, int32_t mult, int32_t shift)
{
    const int32_t total = 31 - shift; /* [1, 62] for shift in [-31, 30] */
    return fr_wrap64(((int64_t)x * mult + ((int64_t)1 << (total - 1))) >> total);
}

/** Resolves FLYNET_ROUNDING_DEFAULT; returns 0 for an invalid mode. */
static inline int32_t fr_mode(int32_t rounding)
{
    if (rounding == FLYNET_ROUNDING_DEFAULT) {
        return FLYREF_DEFAULT_ROUNDING;
    }
    if (rounding == FLYNET_ROUNDING_DOUBLE || rounding == FLYNET_ROUNDING_SINGLE) {
        return rounding;
    }
    return 0;
}

/** mode must be resolved (DOUBLE or SINGLE). */
static inline int32_t fr_requant(int32_t x, int32_t mult, int32_t shift, int32_t mode)
{
    return mode == FLYNET_ROUNDING_SINGLE ? fr_requant_single(x, mult, shift)
                                          : fr_requant_double(x, mult, shift);
}

/**
 * Requantization with its constants prepared once (per channel or per tensor) for the kernels'
 * inner loops: fr_rq_apply(q, x) == fr_requant(x, mult, shift, mode) for every int32 x when
 * mult >= 0 (what fr_mult_ok admits).
 *
 * Why it is equal. Single rounding is the spec's formula: (x * mult + 2^(t-1)) >> t, t = 31 - shift
 * (the product is below 2^62 and the rounding term at most 2^61, so the int64 sum does not
 * overflow). Double rounding is h = (p + 2^30) >> 31 with p = (x << ls) * mult (fr_srdhm: its
 * saturating case needs mult = INT32_MIN and cannot occur), then for rs > 0
 * out = (h + 2^(rs-1) - [h < 0]) >> rs. With floor((floor(a / b) + c) / d) = floor((a + c*b) / (b*d))
 * for integers, out = (p + 2^30 + (2^(rs-1) - [h < 0]) * 2^31) >> (31 + rs), and h < 0 exactly when
 * p + 2^30 < 0. So out = (p + c - [p < -2^30] * k) >> sh with c = 2^30 + 2^(30+rs), k = 2^31,
 * sh = 31 + rs (rs = 0: c = 2^30, k = 0, sh = 31, which is h itself). |p| < 2^62 and c <= 2^61 + 2^30:
 * no overflow. The result fits int32 in double rounding; in single rounding it wraps like the
 * spec's fr_wrap64.
 */
typedef struct fr_rq {
    int64_t c, k;            /* k: the correction, 2^31 in double rounding with rs > 0, else 0 */
    int32_t mult, ls, sh;
} fr_rq;

static inline void fr_rq_init(fr_rq *q, int32_t mult, int32_t shift, int32_t mode)
{
    q->mult = mult;
    if (mode == FLYNET_ROUNDING_SINGLE) {
        q->ls = 0;
        q->sh = 31 - shift;
        q->c = (int64_t)1 << (q->sh - 1);
        q->k = 0;
    } else {
        const int32_t rs = shift > 0 ? 0 : -shift;
        q->ls = shift > 0 ? shift : 0;
        q->sh = 31 + rs;
        q->c = ((int64_t)1 << 30) + (rs > 0 ? (int64_t)1 << (30 + rs) : 0);
        q->k = rs > 0 ? (int64_t)1 << 31 : 0;
    }
}

static inline int32_t fr_rq_apply(const fr_rq *q, int32_t x)
{
    const int64_t p = (int64_t)fr_shl(x, q->ls) * q->mult;
    return fr_wrap64((p + q->c - (p < -((int64_t)1 << 30) ? q->k : 0)) >> q->sh);
}

/** fr_rq_apply, then + out_offset and the clamp: the epilogue of conv / depthwise / FC. */
static inline int8_t fr_rq_out8(const fr_rq *q, int32_t acc, int32_t out_offset, int32_t act_min, int32_t act_max)
{
    return (int8_t)fr_clamp(fr_add(fr_rq_apply(q, acc), out_offset), act_min, act_max);
}

/* ---- argument checks shared by the kernels ---- */

static inline int fr_dims_ok(const flyref_dims *d)
{
    return d != 0 && d->n > 0 && d->h > 0 && d->w > 0 && d->c > 0;
}

/** Element count, or -1 when it does not fit in int32. */
static inline int32_t fr_dims_count(const flyref_dims *d)
{
    int64_t n = (int64_t)d->n * d->h;
    if (n > INT32_MAX) return -1;
    n *= d->w;
    if (n > INT32_MAX) return -1;
    n *= d->c;
    if (n > INT32_MAX) return -1;
    return (int32_t)n;
}

static inline int fr_act_ok(const flyref_activation *a)
{
    return a->min >= -128 && a->max <= 127 && a->min <= a->max;
}

static inline int fr_in_offset_ok(int32_t off) { return off >= -127 && off <= 128; }
static inline int fr_out_offset_ok(int32_t off) { return off >= -128 && off <= 127; }
static inline int fr_mult_ok(int32_t m, int32_t s) { return m >= 0 && s >= -31 && s <= 30; }

/** Checks every multiplier/shift pair; count must be 1 or channels. */
static inline int fr_quant_ok(const flyref_quant_params *q, int32_t channels)
{
    int32_t i;
    if (q == 0 || q->multiplier == 0 || q->shift == 0) return 0;
    if (q->count != 1 && q->count != channels) return 0;
    for (i = 0; i < q->count; ++i) {
        if (!fr_mult_ok(q->multiplier[i], q->shift[i])) return 0;
    }
    return 1;
}

/* ---- PACKED int8 streams (interpreter/flyref_unpack.c; flynet_format.h, CONSTANTS) ---- */

/** Index k of a PACKED stream of bits-bit indices (LSB first); reads the byte after the field's
 *  first only when the field crosses into it. */
uint32_t fr_packed_index(const uint8_t *p, int32_t bits, int32_t k);

/** A PACKED stream ready to unpack: for 1 to 4 bits, the values of every two consecutive indices
 *  as one 16-bit pair (flyref_unpack.c says why). About 540 bytes, so the interpreter keeps it off
 *  the kernels' stack where it can: built per block while a block decodes, once per node in the
 *  weight slot of a 1x1 node that reads codes, on the stack of a packed FC's eval. */
typedef struct fr_unpacker {
    const uint8_t *stream;
    const int8_t *table;
    int32_t bits;
    int32_t fast_end;     /* elements below it are read a word at a time (never past the stream) */
    int32_t vec_end;      /* ... and, on MVE, sixteen at a time */
    int32_t bytes;        /* the stream's length, ceil(count * bits / 8) */
    uint16_t pair[256];   /* bits <= 4: pair[a | b << bits] = table[a] | table[b] << 8 */
} fr_unpacker;

/** The unpacker of count indices of `bits` (1 .. 8) bits at stream, values from table. */
void fr_unpacker_init(fr_unpacker *u, const uint8_t *stream, int32_t bits, const int8_t *table, int32_t count);

/** out[e] = element first + e, for e < count (first + count <= the stream's count). */
void fr_unpack(const fr_unpacker *u, int32_t first, int32_t count, int8_t *out);

/** rows runs of count elements, run r from element first + r * stride, one after another in out. */
void fr_unpack_rows(const fr_unpacker *u, int32_t first, int32_t count, int32_t stride, int32_t rows, int8_t *out);

/*
 * Convolutions on a block of a larger tensor's channels: the interpreter runs a node whose weights
 * are PACKED a block of channels at a time (flyref_decode.c, flynet_format.h PLAN), each block one
 * call whose dims describe the block, writing straight into the node's output. Same arguments
 * and results as the public kernels, except that output pixels lie out_stride elements apart
 * (and, for depthwise, input pixels in_stride apart) instead of the call's channel counts; 0
 * means the channel count (the public kernels are these with 0). A stride below the count is
 * FLYREF_ARG_ERROR.
 */
flyref_status fr_conv2d_wrapper_s8_strided(const flyref_context *ctx, const flyref_conv_params *params,
                                           const flyref_quant_params *quant, const flyref_dims *input_dims,
                                           const int8_t *input, const flyref_dims *filter_dims, const int8_t *filter,
                                           const int32_t *bias, const flyref_dims *output_dims, int8_t *output,
                                           int32_t out_stride);
flyref_status fr_conv2d_1x1_s8_strided(const flyref_conv_params *params, const flyref_quant_params *quant,
                                       const flyref_dims *input_dims, const int8_t *input,
                                       const flyref_dims *filter_dims, const int8_t *filter, const int32_t *bias,
                                       const flyref_dims *output_dims, int8_t *output, int32_t out_stride);
flyref_status fr_conv2d_s8_strided(const flyref_context *ctx, const flyref_conv_params *params,
                                   const flyref_quant_params *quant, const flyref_dims *input_dims,
                                   const int8_t *input, const flyref_dims *filter_dims, const int8_t *filter,
                                   const int32_t *bias, const flyref_dims *output_dims, int8_t *output,
                                   int32_t out_stride);
flyref_status fr_depthwise_conv2d_s8_strided(const flyref_conv_params *params, int32_t ch_mult,
                                             const flyref_quant_params *quant, const flyref_dims *input_dims,
                                             const int8_t *input, int32_t in_stride, const flyref_dims *filter_dims,
                                             const int8_t *filter, const int32_t *bias,
                                             const flyref_dims *output_dims, int8_t *output, int32_t out_stride);

/* 1x1 convolution whose filter rows stay PACKED: as fr_conv2d_1x1_s8_strided with filter rows
 * [row0, row0 + filter_dims->n) of the unpacker's [C_OUT, K] stream, unpacked straight into the
 * target path's weight staging (flyref_conv2d_1x1_s8.c). Only where fr_conv2d_1x1_packed_ok(K,
 * bits) (a DSP or MVE build, K % 8 == 0, K and bits within the path's limits); elsewhere
 * FLYREF_NO_IMPL and nothing written. fr_conv2d_reads_packed: a whole conv call that takes it.
 * ws: the path's code tables, in at least fr_conv2d_1x1_packed_ws(K) bytes of 4-aligned workspace
 * (the interpreter lends the node's weight slot, which the path leaves unused; 0 bytes: none
 * needed, ws may be 0), kept across the calls of one node: start each node with built = 0 and
 * tail_from = -1. */
typedef struct fr_1x1_ws {
    uint8_t *mem;
    int32_t bytes;
    int32_t built;     /* which tables mem holds (the path's state) */
    int32_t tail_from; /* the stream byte its tail copy starts at, -1 before the copy */
} fr_1x1_ws;
int fr_conv2d_1x1_packed_ok(int32_t kc, int32_t bits);
int32_t fr_conv2d_1x1_packed_ws(int32_t kc);
int fr_conv2d_reads_packed(const flyref_conv_params *params, const flyref_dims *input_dims,
                           const flyref_dims *filter_dims, const flyref_dims *output_dims, int32_t bits);
flyref_status fr_conv2d_1x1_s8_packed(const flyref_conv_params *params, const flyref_quant_params *quant,
                                      const flyref_dims *input_dims, const int8_t *input,
                                      const flyref_dims *filter_dims, const fr_unpacker *filter, int32_t row0,
                                      const int32_t *bias, const flyref_dims *output_dims, int8_t *output,
                                      int32_t out_stride, fr_1x1_ws *ws);

/* Fully connected s8 whose weights stay PACKED (flyref_fully_connected_packed_s8.c): as
 * flyref_fully_connected_s8 with the filter rows read from the unpacker of its [C_OUT, K] weights. */
flyref_status fr_fully_connected_packed_s8(const flyref_fc_params *params, const flyref_quant_params *quant,
                                           const flyref_dims *input_dims, const int8_t *input,
                                           const flyref_dims *filter_dims, const fr_unpacker *filter,
                                           const int32_t *bias, const flyref_dims *output_dims, int8_t *output);

/* Fixed-point helpers of gemmlowp used by softmax / logistic / hard-swish (flyref_fixed_point.c). */
int32_t flyref_internal_sat_shl(int32_t x, int32_t e);
int32_t flyref_internal_exp_on_negative(int32_t a, int32_t int_bits);
int32_t flyref_internal_one_over_one_plus_x(int32_t a);
int32_t flyref_internal_clz32(uint32_t x);
/** TFLM hard-swish "reluish" value in Q0.15, [0, 32768], for v = x - zp. */
int32_t flyref_internal_reluish(int32_t v, int32_t rm16, int32_t rexp);
int32_t flyref_internal_srdhm16(int32_t a, int32_t b);

#endif /* FLYREF_INTERNAL_H_ */
