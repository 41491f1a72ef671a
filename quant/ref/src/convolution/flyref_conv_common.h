/* Shared argument checks of the convolution kernels (private). */
#ifndef FLYREF_CONV_COMMON_H_
#define FLYREF_CONV_COMMON_H_

#include "../flyref_internal.h"
#include "../support/flyref_target.h"

/* Which target path the conv and FC kernels compile: Helium on the Cortex-M55 (which has the DSP
 * extension too, but its MVE path replaces the DSP one), else the DSP extension. */
#define FR_CONV_MVE FLYREF_ARM_MVE
#define FR_CONV_DSP (FLYREF_ARM_DSP && !FLYREF_ARM_MVE)

/* Kept out of line: inlined into a kernel's loops, the compiler spills the row pointers or vector
 * constants to make room for the caller's values; on its own the loop keeps them in registers. */
#if defined(__GNUC__)
#define FR_CONV_NOINLINE __attribute__((noinline, unused))
#else
#define FR_CONV_NOINLINE
#endif

static inline flyref_status fr_conv_check(const flyref_conv_params *p, const flyref_quant_params *q,
                                          const flyref_dims *in_d, const void *in,
                                          const flyref_dims *f_d, const void *f,
                                          const flyref_dims *out_d, const void *out, int32_t out_c)
{
    if (p == 0 || in == 0 || f == 0 || out == 0) return FLYREF_ARG_ERROR;
    if (!fr_dims_ok(in_d) || !fr_dims_ok(f_d) || !fr_dims_ok(out_d)) return FLYREF_SHAPE_ERROR;
    if (fr_dims_count(in_d) < 0 || fr_dims_count(out_d) < 0 || fr_dims_count(f_d) < 0) {
        return FLYREF_SHAPE_ERROR;
    }
    if (out_d->n != in_d->n || out_d->c != out_c) return FLYREF_SHAPE_ERROR;
    if (p->stride_h < 1 || p->stride_w < 1 || p->dilation_h < 1 || p->dilation_w < 1 ||
        p->pad_h < 0 || p->pad_w < 0) {
        return FLYREF_ARG_ERROR;
    }
    /* Keep every tap coordinate (o*stride - pad + k*dilation) far inside int32. */
    if ((int64_t)(out_d->h - 1) * p->stride_h + (int64_t)(f_d->h - 1) * p->dilation_h > (1 << 28) ||
        (int64_t)(out_d->w - 1) * p->stride_w + (int64_t)(f_d->w - 1) * p->dilation_w > (1 << 28) ||
        p->pad_h > (1 << 28) || p->pad_w > (1 << 28)) {
        return FLYREF_ARG_ERROR;
    }
    if (!fr_in_offset_ok(p->input_offset) || !fr_out_offset_ok(p->output_offset) ||
        !fr_act_ok(&p->activation) || fr_mode(p->rounding) == 0 || !fr_quant_ok(q, out_c)) {
        return FLYREF_ARG_ERROR;
    }
    return FLYREF_OK;
}

/* The fully-connected kernels' checks (int8 and packed weights): sets *k (elements per row) and
 * *out_c (rows). */
static inline flyref_status fr_fc_check(const flyref_fc_params *params, const flyref_quant_params *quant,
                                        const flyref_dims *input_dims, const flyref_dims *filter_dims,
                                        const flyref_dims *output_dims, int32_t *k, int32_t *out_c)
{
    if (!fr_dims_ok(input_dims) || !fr_dims_ok(filter_dims) || !fr_dims_ok(output_dims) ||
        fr_dims_count(input_dims) < 0 || fr_dims_count(filter_dims) < 0 || fr_dims_count(output_dims) < 0) {
        return FLYREF_SHAPE_ERROR;
    }
    *k = input_dims->h * input_dims->w * input_dims->c;
    *out_c = filter_dims->n;
    if (filter_dims->h * filter_dims->w * filter_dims->c != *k || output_dims->n != input_dims->n ||
        output_dims->h * output_dims->w * output_dims->c != *out_c) {
        return FLYREF_SHAPE_ERROR;
    }
    if (!fr_in_offset_ok(params->input_offset) || !fr_in_offset_ok(params->filter_offset) ||
        !fr_out_offset_ok(params->output_offset) || !fr_act_ok(&params->activation) ||
        fr_mode(params->rounding) == 0 || !fr_quant_ok(quant, *out_c)) {
        return FLYREF_ARG_ERROR;
    }
    return FLYREF_OK;
}

/** Epilogue of conv / depthwise / FC. */
static inline int8_t fr_epilogue(int32_t acc, const flyref_quant_params *q, int32_t c, int32_t mode,
                                 int32_t out_offset, const flyref_activation *act)
{
    const int32_t i = q->count == 1 ? 0 : c;
    int32_t v = fr_requant(acc, q->multiplier[i], q->shift[i], mode);
    v = fr_add(v, out_offset);
    return (int8_t)fr_clamp(v, act->min, act->max);
}

/*
 * Vector-friendly accumulation helpers of the fast paths. Each product w * v has |w| <= 128 and
 * |v| <= 255 (v = x + input_offset), so it is exact in int16 and the compiler can use 16-bit
 * vector multiplies; sums are kept in uint32, i.e. modulo 2^32 like the spec's fr_add chain.
 */

/* acc[i] += w[i] * v */
static inline void fr_mac_1(uint32_t *restrict acc, const int8_t *restrict w, int32_t v, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; ++i) acc[i] += (uint32_t)(int32_t)(int16_t)(w[i] * v);
}

/* acc[i] += w0[i] * v0 + w1[i] * v1 */
static inline void fr_mac_2(uint32_t *restrict acc, const int8_t *restrict w0, const int8_t *restrict w1, int32_t v0,
                            int32_t v1, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        acc[i] += (uint32_t)((int32_t)(int16_t)(w0[i] * v0) + (int32_t)(int16_t)(w1[i] * v1));
    }
}

/* fr_mac_1 / fr_mac_2 for n a multiple of 16 (padded blocks): no loop remainder to handle. */
static inline void fr_mac16_1(uint32_t *restrict acc, const int8_t *restrict w, int32_t v, int32_t n)
{
    const int32_t n16 = n & ~15;
    int32_t i;
    for (i = 0; i < n16; ++i) acc[i] += (uint32_t)(int32_t)(int16_t)(w[i] * v);
}

static inline void fr_mac16_2(uint32_t *restrict acc, const int8_t *restrict w0, const int8_t *restrict w1,
                              int32_t v0, int32_t v1, int32_t n)
{
    const int32_t n16 = n & ~15;
    int32_t i;
    for (i = 0; i < n16; ++i) {
        acc[i] += (uint32_t)((int32_t)(int16_t)(w0[i] * v0) + (int32_t)(int16_t)(w1[i] * v1));
    }
}

/* Four filter rows against one int16 vector (x + input_offset), in int32: exact while
 * k * 128 * 255 < 2^31. The 8-wide inner blocks let the compiler use 16-bit multiply-add vector
 * instructions. */
static inline void fr_dot4(const int8_t *restrict w0, const int8_t *restrict w1, const int8_t *restrict w2,
                    const int8_t *restrict w3, const int16_t *restrict xs, int32_t k, int32_t *restrict out)
{
    int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0, i, j;
    const int32_t k8 = k & ~7;
    for (i = 0; i < k8; i += 8) {
        for (j = 0; j < 8; ++j) {
            const int32_t x = xs[i + j];
            s0 += w0[i + j] * x;
            s1 += w1[i + j] * x;
            s2 += w2[i + j] * x;
            s3 += w3[i + j] * x;
        }
    }
    for (; i < k; ++i) {
        const int32_t x = xs[i];
        s0 += w0[i] * x;
        s1 += w1[i] * x;
        s2 += w2[i] * x;
        s3 += w3[i] * x;
    }
    out[0] = s0;
    out[1] = s1;
    out[2] = s2;
    out[3] = s3;
}

static inline int32_t fr_dot1(const int8_t *restrict w, const int16_t *restrict xs, int32_t k)
{
    int32_t s = 0, i;
    for (i = 0; i < k; ++i) s += w[i] * xs[i];
    return s;
}


#if FR_CONV_DSP
/*
 * Armv7E-M / Armv8-M DSP building blocks of the conv and FC target paths (Cortex-M4, M7, M33).
 *
 * Products. SXTB16 sign-extends bytes 0 and 2 of a word into two int16 lanes, and with its
 * rotation bytes 1 and 3; SMLAD adds both lane products to an accumulator. So four int8 weights
 * [w0 w1 w2 w3] and four values v (x or x + input_offset) meet as SMLAD([w0,w2], [v0,v2]) +
 * SMLAD([w1,w3], [v1,v3]): every product is exact (|w| <= 128, |v| <= 255) and SMLAD adds
 * modulo 2^32, so the sum is the spec's wrapping sum in another order, which does not change it.
 * The input offset is either added in the lanes (SXTAB16: x + offset fits int16) or folded into
 * the bias once per output channel: bias + offset * sum(w) + sum(w * x) equals bias +
 * sum(w * (x + offset)) modulo 2^32.
 *
 * Requantization (fr_dsp_out4). Closed forms replace fr_requant when a block of four channels
 * allows them (checked once per block, else the block takes fr_rq_apply). They need |acc| < 2^30,
 * which |bias| <= 2^30 - 1 - K * 128 * 255 guarantees (every product is at most 128 * 255), and
 * they read d = 2 acc (exact, and free when the weights or values were widened doubled). With
 * P = acc * mult and hi(v) = floor(v / 2^32), the high word of one 32 x 32 multiply:
 *   - double rounding, shift in [-22, -1] (no left shift; rs = -shift), mult > 2^30:
 *     SRDHM(acc, mult) = floor((2P + 2^31) / 2^32) = h, the high word of a 64-bit
 *     multiply-accumulate d * mult started at add * 2^32 + 2^31, which gives h + add. RDBPOT's
 *     -[h < 0] is d >> 31 (arithmetic): mult > 2^30 makes P <= -mult < -2^30 for every acc <= -1,
 *     so h < 0 exactly when acc < 0. With add = 2^(rs-1) + output_offset * 2^rs, the result is
 *     (h + add + (d >> 31)) >> rs = RDBPOT(h, rs) + output_offset.
 *   - single rounding, shift in [-22, -2]: t = 31 - shift = 32 + s, s in [1, 21]. Since
 *     floor(floor(a / b) / c) = floor(a / (b c)), floor((P + 2^(t-1)) / 2^t) =
 *     floor((hi(d * mult) + 2^s) / 2^(s+1)); with add = 2^s + output_offset * 2^(s+1) the result
 *     is (hi(d * mult) + add) >> (s + 1). The int64 -> int32 wrap of the spec never bites here.
 * |h| < 2^30, and shifts of at most 22 keep add and every sum inside int32. Adding output_offset
 * before the shift is exact: floor((a + o 2^s) / 2^s) = floor(a / 2^s) + o. Four results are
 * saturated to int8 (SSAT: the clamp range lies inside [-128, 127], so saturating first changes
 * nothing), packed, and clamped to [act_min, act_max] with SSUB8 + SEL per byte.
 */
#include <arm_acle.h>
#include <string.h>

/* A word from any address: LDR/STR may be unaligned on these cores (memcpy lets the compiler
 * emit one LDR/STR without the undefined behaviour of a misaligned pointer cast). */
static inline uint32_t fr_ld4(const int8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline void fr_st4(int8_t *p, uint32_t v) { memcpy(p, &v, 4); }

/* The first n (0..3) bytes at p, zero above: a word that never reads past p + n. */
static inline uint32_t fr_ld_tail(const int8_t *p, int32_t n)
{
    uint32_t v = 0;
    int32_t i;
    for (i = 0; i < n; ++i) v |= (uint32_t)(uint8_t)p[i] << (8 * i);
    return v;
}

/* Bytes 1 and 3 of v sign-extended into two int16 lanes (SXTB16 v, ROR #8), and the same added
 * to a (SXTAB16). GCC 12's arm_acle.h has no __ror and does not fold a rotate into SXTB16 (it
 * emits ROR + SXTB16), so GCC and Clang get the one instruction from inline assembly. */
static inline uint32_t fr_sxtb16_odd(uint32_t v)
{
#if defined(__GNUC__)
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
#else
    return __sxtb16((v >> 8) | (v << 24));
#endif
}

static inline uint32_t fr_sxtab16_odd(uint32_t a, uint32_t v)
{
#if defined(__GNUC__)
    uint32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(v));
    return r;
#else
    return __sxtab16(a, (v >> 8) | (v << 24));
#endif
}

/* lo, hi = the two words of the 64-bit element p[i] (i a constant), in one LDRD. GCC splits a
 * 64-bit load whose halves are used apart into two LDR; the "m" operand tells it which memory the
 * instruction reads, so the stores that filled it stay before it. */
#if defined(__GNUC__)
#define FR_LDRD(lo, hi, p, i) __asm__("ldrd %0, %1, [%2, %3]" : "=r"(lo), "=r"(hi) : "r"(p), "i"(8 * (i)), "m"((p)[i]))
/* the same for the words p[i], p[i + 1] of a uint32_t array */
#define FR_LDRD32(lo, hi, p, i)                                                                               \
    __asm__("ldrd %0, %1, [%2, %3]" : "=r"(lo), "=r"(hi) : "r"(p), "i"(4 * (i)), "m"((p)[i]), "m"((p)[(i) + 1]))
#else
#define FR_LDRD(lo, hi, p, i) ((lo) = (uint32_t)(p)[i], (hi) = (uint32_t)((p)[i] >> 32))
#define FR_LDRD32(lo, hi, p, i) ((lo) = (p)[i], (hi) = (p)[(i) + 1])
#endif

/* Both int16 lanes = v (an input offset in [-127, 128]). */
static inline uint32_t fr_pair16(int32_t v) { return ((uint32_t)v & 0xFFFFu) * 0x10001u; }

/* (x + offset) of k values as int16 lane pairs in the order the weights' SXTB16 gives: for each
 * four values, word 2i = [v0, v2] and word 2i + 1 = [v1, v3]; a last partial group is padded
 * with zeros. xw holds 2 * ceil(k / 4) words. */
static inline void fr_dsp_widen(const int8_t *x, int32_t k, int32_t offset, uint32_t *xw)
{
    const uint32_t off2 = fr_pair16(offset);
    int32_t i;
    for (i = 0; i + 4 <= k; i += 4) {
        const uint32_t v = fr_ld4(x + i);
        xw[i / 2] = __sxtab16(off2, v);
        xw[i / 2 + 1] = fr_sxtab16_odd(off2, v);
    }
    if (i < k) {
        /* the padding lanes must hold 0, not the offset */
        int16_t t[4] = {0, 0, 0, 0};
        int32_t j;
        for (j = 0; i + j < k; ++j) t[j] = (int16_t)(x[i + j] + offset);
        xw[i / 2] = ((uint32_t)(uint16_t)t[0]) | ((uint32_t)(uint16_t)t[2] << 16);
        xw[i / 2 + 1] = ((uint32_t)(uint16_t)t[1]) | ((uint32_t)(uint16_t)t[3] << 16);
    }
}

/* One group of four values (xa = [v0,v2], xb = [v1,v3]) into acc against the word v of four
 * weights. */
#define FR_DSP_MAC4(acc, v, xa, xb)                                                                           \
    do {                                                                                                       \
        const uint32_t v_ = (v);                                                                               \
        acc = __smlad(__sxtb16(v_), xa, acc);                                                                  \
        acc = __smlad(fr_sxtb16_odd(v_), xb, acc);                                                             \
    } while (0)

/* acc[0] += dot(w, xw), acc[1] += dot(w + stride, xw) over k int8 weights against values widened
 * by fr_dsp_widen, eight values per iteration. Two rows keep the loop in registers (with four,
 * GCC spills the row pointers). */
FR_CONV_NOINLINE static void fr_dsp_dot2(const uint32_t *xw, const int8_t *w, int32_t stride, int32_t k, int32_t *acc)
{
    const int8_t *u = w + stride;
    const uint32_t *const xe = xw + 4 * (k / 8);
    int32_t a0 = acc[0], a1 = acc[1];
    uint32_t xa, xb;
    for (; xw != xe; xw += 4, w += 8, u += 8) {
        FR_LDRD32(xa, xb, xw, 0);
        FR_DSP_MAC4(a0, fr_ld4(w), xa, xb);
        FR_DSP_MAC4(a1, fr_ld4(u), xa, xb);
        FR_LDRD32(xa, xb, xw, 2);
        FR_DSP_MAC4(a0, fr_ld4(w + 4), xa, xb);
        FR_DSP_MAC4(a1, fr_ld4(u + 4), xa, xb);
    }
    if (k & 4) {
        FR_LDRD32(xa, xb, xw, 0);
        FR_DSP_MAC4(a0, fr_ld4(w), xa, xb);
        FR_DSP_MAC4(a1, fr_ld4(u), xa, xb);
        xw += 2;
        w += 4;
        u += 4;
    }
    if (k & 3) {
        FR_LDRD32(xa, xb, xw, 0);
        FR_DSP_MAC4(a0, fr_ld_tail(w, k & 3), xa, xb);
        FR_DSP_MAC4(a1, fr_ld_tail(u, k & 3), xa, xb);
    }
    acc[0] = a0;
    acc[1] = a1;
}

/* Epilogue of four adjacent output channels (see the requantization note above). */
typedef struct fr_dsp_lane {
    int32_t mult, add, sh, unused;
} fr_dsp_lane;

typedef struct fr_dsp_out4 {
    fr_dsp_lane lane[4];
    int32_t kind; /* FLYNET_ROUNDING_DOUBLE / _SINGLE: that closed form holds for all four lanes;
                   * 0: the lanes take fr_rq_apply */
    uint32_t lo4, hi4; /* act_min, act_max in every byte */
    fr_rq rq[4];
    int32_t out_off, act_min, act_max;
} fr_dsp_out4;

/* Channels c0 .. c0 + nb - 1 (nb in 1..4; lanes past nb repeat channel c0 and are never stored);
 * k: the number of products per output, which bounds |acc - bias|. bias may be NULL. */
static inline void fr_dsp_out4_init(fr_dsp_out4 *e, const flyref_quant_params *q, const int32_t *bias, int32_t c0,
                                    int32_t nb, int32_t k, int32_t mode, int32_t out_off, int32_t act_min,
                                    int32_t act_max)
{
    const int32_t lim = (int32_t)(((int64_t)1 << 30) - 1 - (int64_t)k * 128 * 255);
    const int32_t single = mode == FLYNET_ROUNDING_SINGLE;
    int32_t j, fast = 1;
    for (j = 0; j < 4; ++j) {
        const int32_t c = c0 + (j < nb ? j : 0), i = q->count == 1 ? 0 : c;
        const int32_t m = q->multiplier[i], s = q->shift[i], b = bias ? bias[c] : 0;
        const int32_t ok = b >= -lim && b <= lim && s >= -22 && (single ? s <= -2 : s <= -1 && m > (1 << 30));
        e->lane[j].mult = m;
        e->lane[j].sh = -s;
        e->lane[j].add = ok ? (1 << (-s - 1)) + out_off * (1 << -s) : 0;
        e->lane[j].unused = 0;
        fast &= ok;
    }
    e->kind = fast ? mode : 0;
    e->lo4 = (uint32_t)(uint8_t)act_min * 0x01010101u;
    e->hi4 = (uint32_t)(uint8_t)act_max * 0x01010101u;
    e->out_off = out_off;
    e->act_min = act_min;
    e->act_max = act_max;
    if (!fast) {
        for (j = 0; j < 4; ++j) {
            const int32_t i = q->count == 1 ? 0 : c0 + (j < nb ? j : 0);
            fr_rq_init(&e->rq[j], q->multiplier[i], q->shift[i], mode);
        }
    }
}

/* fr_smmla (SMMLA: high word of acc * 2^32 + a * b) and fr_smmlar (SMMLAR: the same + 2^31) come
 * from support/flyref_target.h. */
/* The closed forms on d = 2 acc (the single form's shift s + 1 and add 2^s + o 2^(s+1) are
 * lane.sh = -shift and lane.add as set above). */
static inline int32_t fr_dsp_rq_double(const fr_dsp_lane *l, int32_t d)
{
    return (fr_smmlar(d, l->mult, l->add) + (d >> 31)) >> l->sh;
}

static inline int32_t fr_dsp_rq_single(const fr_dsp_lane *l, int32_t d)
{
    return fr_smmla(d, l->mult, l->add) >> l->sh;
}

/* Four results saturated to int8 and packed, byte j = r_j (SSAT, two BFI, PKHBT). */
static inline uint32_t fr_dsp_pack4(int32_t r0, int32_t r1, int32_t r2, int32_t r3)
{
    uint32_t lo = (uint32_t)__ssat(r0, 8), hi = (uint32_t)__ssat(r2, 8);
#if defined(__GNUC__)
    uint32_t v;
    __asm__("bfi %0, %1, #8, #8" : "+r"(lo) : "r"((uint32_t)__ssat(r1, 8)));
    __asm__("bfi %0, %1, #8, #8" : "+r"(hi) : "r"((uint32_t)__ssat(r3, 8)));
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(v) : "r"(lo), "r"(hi));
    return v;
#else
    lo = (lo & 0xFFu) | (((uint32_t)__ssat(r1, 8) & 0xFFu) << 8);
    hi = (hi & 0xFFu) | (((uint32_t)__ssat(r3, 8) & 0xFFu) << 8);
    return lo | (hi << 16);
#endif
}

/* max(v, lo4), then min(v, hi4), per byte: SSUB8 sets GE where the left byte >= the right. */
static inline uint32_t fr_dsp_clamp4(uint32_t v, uint32_t lo4, uint32_t hi4)
{
    (void)__ssub8(v, lo4);
    v = __sel(v, lo4);
    (void)__ssub8(v, hi4);
    return __sel(hi4, v);
}

static inline int8_t fr_dsp_byte(uint32_t v, int32_t j)
{
    const uint32_t byte = v >> (8 * j);
    return (int8_t)((int32_t)(byte & 0x7Fu) - (int32_t)(byte & 0x80u));
}

/* Output bytes of a fast block (e->kind != 0) from d_j = 2 acc_j. */
static inline uint32_t fr_dsp_out4_fast(const fr_dsp_out4 *e, int32_t d0, int32_t d1, int32_t d2, int32_t d3)
{
    uint32_t v;
    if (e->kind == FLYNET_ROUNDING_DOUBLE) {
        v = fr_dsp_pack4(fr_dsp_rq_double(&e->lane[0], d0), fr_dsp_rq_double(&e->lane[1], d1),
                         fr_dsp_rq_double(&e->lane[2], d2), fr_dsp_rq_double(&e->lane[3], d3));
    } else {
        v = fr_dsp_pack4(fr_dsp_rq_single(&e->lane[0], d0), fr_dsp_rq_single(&e->lane[1], d1),
                         fr_dsp_rq_single(&e->lane[2], d2), fr_dsp_rq_single(&e->lane[3], d3));
    }
    return fr_dsp_clamp4(v, e->lo4, e->hi4);
}

/* Requantizes, offsets and clamps acc0..acc3 (not doubled) and stores the first nb bytes. */
static inline void fr_dsp_out4_store(const fr_dsp_out4 *e, int32_t a0, int32_t a1, int32_t a2, int32_t a3,
                                     int8_t *dst, int32_t nb)
{
    int32_t j;
    if (e->kind != 0) {
        /* |acc| < 2^30: doubling cannot overflow */
        const uint32_t v = fr_dsp_out4_fast(e, a0 * 2, a1 * 2, a2 * 2, a3 * 2);
        if (nb == 4) {
            fr_st4(dst, v);
        } else {
            for (j = 0; j < nb; ++j) dst[j] = fr_dsp_byte(v, j);
        }
    } else {
        const int32_t a[4] = {a0, a1, a2, a3};
        for (j = 0; j < nb; ++j) dst[j] = fr_rq_out8(&e->rq[j], a[j], e->out_off, e->act_min, e->act_max);
    }
}
#endif /* FR_CONV_DSP */

#if FR_CONV_MVE
/*
 * Armv8.1-M MVE (Helium) building blocks of the conv and FC target paths (Cortex-M55).
 *
 * Products. VMLADAVA.S8 adds the sixteen products of two int8 vectors to a 32-bit scalar: with
 * the raw codes x (not x + input_offset, which needs nine bits) every product is exact and the
 * sum too, so bias + input_offset * sum(w) + sum(w * x) equals the spec's bias +
 * sum(w * (x + input_offset)) modulo 2^32 (sum(w) comes from VADDVA.S8). A last partial vector is
 * loaded tail-predicated: its inactive lanes are zero and read no memory.
 *
 * Requantization (fr_mve_out4), four output channels per vector, exact for every accumulator:
 *   - double rounding, any shift in [-31, 30]: x << ls wraps like fr_shl (VSHL); VQRDMULH is
 *     SRDHM (it saturates only for INT32_MIN * INT32_MIN, and mult >= 0); RDBPOT(h, rs) =
 *     (h - [h < 0] + 2^(rs-1)) >> rs is VRSHL by -rs (a rounding shift adds 2^(rs-1) before
 *     shifting, without overflow) of h + (h >> 31), the correction masked off where rs = 0;
 *   - single rounding, shift in [-31, -1]: t = 31 - shift >= 32 and floor((P + 2^(t-1)) / 2^t) =
 *     floor((floor(2P / 2^32) + 2^(t-32)) / 2^(t-31)), VRSHL by shift of VQDMULH (floor(2P / 2^32),
 *     no saturation for mult >= 0); the result fits int32, so the spec's wrap never bites. Lanes
 *     with shift >= 0 in single rounding take fr_rq_apply for the block.
 * Then + output_offset, VMAX / VMIN with the clamp, and VSTRB.32 stores the low byte of each lane.
 */
#include <arm_mve.h>

/* acc[j] += dot(w + j * stride, x) over k int8 (stride 0: four copies of one row); with sums,
 * sums[j] += the sum of row j's weights. */
static inline void fr_mve_dot4(const int8_t *x, const int8_t *w, int32_t stride, int32_t k, int32_t *acc,
                               int32_t *sums)
{
    const int8_t *const w1 = w + stride, *const w2 = w1 + stride, *const w3 = w2 + stride;
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3], i;
    int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (i = 0; i + 16 <= k; i += 16) {
        const int8x16_t xv = vldrbq_s8(x + i), v0 = vldrbq_s8(w + i), v1 = vldrbq_s8(w1 + i);
        const int8x16_t v2 = vldrbq_s8(w2 + i), v3 = vldrbq_s8(w3 + i);
        a0 = vmladavaq_s8(a0, xv, v0);
        a1 = vmladavaq_s8(a1, xv, v1);
        a2 = vmladavaq_s8(a2, xv, v2);
        a3 = vmladavaq_s8(a3, xv, v3);
        if (sums) {
            s0 = vaddvaq_s8(s0, v0);
            s1 = vaddvaq_s8(s1, v1);
            s2 = vaddvaq_s8(s2, v2);
            s3 = vaddvaq_s8(s3, v3);
        }
    }
    if (i < k) {
        const mve_pred16_t p = vctp8q((uint32_t)(k - i));
        const int8x16_t xv = vldrbq_z_s8(x + i, p), v0 = vldrbq_z_s8(w + i, p), v1 = vldrbq_z_s8(w1 + i, p);
        const int8x16_t v2 = vldrbq_z_s8(w2 + i, p), v3 = vldrbq_z_s8(w3 + i, p);
        a0 = vmladavaq_s8(a0, xv, v0);
        a1 = vmladavaq_s8(a1, xv, v1);
        a2 = vmladavaq_s8(a2, xv, v2);
        a3 = vmladavaq_s8(a3, xv, v3);
        if (sums) {
            s0 = vaddvaq_s8(s0, v0);
            s1 = vaddvaq_s8(s1, v1);
            s2 = vaddvaq_s8(s2, v2);
            s3 = vaddvaq_s8(s3, v3);
        }
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
    if (sums) {
        sums[0] += s0;
        sums[1] += s1;
        sums[2] += s2;
        sums[3] += s3;
    }
}

/*
 * Sixteen PACKED codes of b (1..4) bits from a byte boundary of the stream, as their int8 values
 * (flyref_unpack.c's vector runs): lane i gathers the byte holding the start of its field, at
 * (i * b) / 8, and the byte after, shifts them into place ((b0 >> s) | (b1 << (8 - s)),
 * s = (i * b) % 8; a byte shifted by 8 is 0), masks the index and gathers its value from the code
 * table. Reads 2b + 1 bytes from p (so the caller keeps that inside the stream: fr_unpacker's
 * vec_end).
 */
typedef struct fr_mve_codes {
    uint8x16_t offs, offs1, mask;
    int8x16_t right, left;
    const int8_t *table;
    int32_t bits;
} fr_mve_codes;

static inline void fr_mve_codes_init(fr_mve_codes *c, const fr_unpacker *u)
{
    const uint8x16_t pos = vmulq_n_u8(vidupq_n_u8(0, 1), (uint8_t)u->bits);
    const int8x16_t sh = vreinterpretq_s8_u8(vandq_u8(pos, vdupq_n_u8(7)));
    c->offs = vshrq_n_u8(pos, 3);
    c->offs1 = vaddq_n_u8(c->offs, 1);
    c->mask = vdupq_n_u8((uint8_t)((1u << u->bits) - 1u));
    c->right = vnegq_s8(sh);
    c->left = vsubq_s8(vdupq_n_s8(8), sh);
    c->table = u->table;
    c->bits = u->bits;
}

static inline int8x16_t fr_mve_codes16(const fr_mve_codes *c, const uint8_t *p)
{
    const uint8x16_t b0 = vldrbq_gather_offset_u8(p, c->offs), b1 = vldrbq_gather_offset_u8(p, c->offs1);
    return vldrbq_gather_offset_s8(c->table, vandq_u8(vorrq_u8(vshlq_u8(b0, c->right), vshlq_u8(b1, c->left)), c->mask));
}

/* The sum of k int8 weights. */
static inline int32_t fr_mve_wsum(const int8_t *w, int32_t k)
{
    int32_t s = 0, i;
    for (i = 0; i + 16 <= k; i += 16) s = vaddvaq_s8(s, vldrbq_s8(w + i));
    if (i < k) s = vaddvaq_s8(s, vldrbq_z_s8(w + i, vctp8q((uint32_t)(k - i))));
    return s;
}

/* Epilogue of four adjacent output channels (see the requantization note above). */
typedef struct fr_mve_out4 {
    int32x4_t mult, ls, mask, rsh; /* rsh: -rs (double) or shift (single) */
    int32_t kind, any_ls;          /* kind: the mode when the vector form holds, else 0 */
    int32_t out_off, act_min, act_max;
    fr_rq rq[4];
} fr_mve_out4;

/* Channels c0 .. c0 + nb - 1 (nb in 1..4; lanes past nb repeat channel c0, never stored). */
static inline void fr_mve_out4_init(fr_mve_out4 *e, const flyref_quant_params *q, int32_t c0, int32_t nb,
                                    int32_t mode, int32_t out_off, int32_t act_min, int32_t act_max)
{
    int32_t m[4], ls[4], mask[4], rsh[4], j, ok = 1, any_ls = 0;
    for (j = 0; j < 4; ++j) {
        const int32_t i = q->count == 1 ? 0 : c0 + (j < nb ? j : 0);
        const int32_t s = q->shift[i];
        m[j] = q->multiplier[i];
        fr_rq_init(&e->rq[j], m[j], s, mode);
        if (mode == FLYNET_ROUNDING_SINGLE) {
            ok = ok && s <= -1;
            ls[j] = 0;
            mask[j] = 0;
            rsh[j] = s;
        } else {
            ls[j] = s > 0 ? s : 0;
            mask[j] = s < 0 ? -1 : 0;
            rsh[j] = s < 0 ? s : 0;
            any_ls |= s > 0;
        }
    }
    e->mult = vldrwq_s32(m);
    e->ls = vldrwq_s32(ls);
    e->mask = vldrwq_s32(mask);
    e->rsh = vldrwq_s32(rsh);
    e->kind = ok ? mode : 0;
    e->any_ls = any_ls;
    e->out_off = out_off;
    e->act_min = act_min;
    e->act_max = act_max;
}

/* The four accumulators as one vector (lane moves, no trip through memory). */
static inline int32x4_t fr_mve_vec4(const int32_t *acc)
{
    int32x4_t v = vdupq_n_s32(acc[0]);
    v = vsetq_lane_s32(acc[1], v, 1);
    v = vsetq_lane_s32(acc[2], v, 2);
    return vsetq_lane_s32(acc[3], v, 3);
}

/* The vector forms (kind != 0), then + output_offset and the clamp. */
static inline int32x4_t fr_mve_rq4(const fr_mve_out4 *e, int32x4_t v)
{
    if (e->kind == FLYNET_ROUNDING_DOUBLE) {
        if (e->any_ls) v = vshlq_s32(v, e->ls);
        v = vqrdmulhq_s32(v, e->mult);
        v = vrshlq_s32(vaddq_s32(v, vandq_s32(vshrq_n_s32(v, 31), e->mask)), e->rsh);
    } else {
        v = vrshlq_s32(vqdmulhq_s32(v, e->mult), e->rsh);
    }
    return vminq_s32(vmaxq_s32(vaddq_n_s32(v, e->out_off), vdupq_n_s32(e->act_min)), vdupq_n_s32(e->act_max));
}

/* Requantizes, offsets and clamps acc[0..3] and stores the first nb bytes at dst. */
static inline void fr_mve_out4_store(const fr_mve_out4 *e, const int32_t *acc, int8_t *dst, int32_t nb)
{
    if (e->kind != 0) {
        const int32x4_t v = fr_mve_rq4(e, fr_mve_vec4(acc));
        if (nb == 4) {
            vstrbq_s32(dst, v);
        } else {
            vstrbq_p_s32(dst, v, vctp32q((uint32_t)nb));
        }
    } else {
        int32_t j;
        for (j = 0; j < nb; ++j) dst[j] = fr_rq_out8(&e->rq[j], acc[j], e->out_off, e->act_min, e->act_max);
    }
}
#endif /* FR_CONV_MVE */

#endif /* FLYREF_CONV_COMMON_H_ */
