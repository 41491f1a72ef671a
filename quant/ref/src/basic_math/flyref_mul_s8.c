/* Elementwise mul s8 (TFLM MulElementwise / arm_elementwise_mul_s8). Refer to flyref_kernels.h.
 * The broadcast walk is done row by row (a row = the output's channels at one pixel), with the
 * row's two inputs either contiguous or one value repeated, so the inner loop is a plain loop
 * over channels with every parameter in a register; each element is computed as in the spec. */
#include "flyref_broadcast.h"

#include "../support/flyref_target.h"

const char fr_path_mul_s8[] = FR_TARGET_PATH;

typedef struct fr_mul_k {
    fr_rq rq;
    int32_t off1, off2, out_off, lo, hi;
} fr_mul_k;

static inline int8_t fr_mul_one(const fr_mul_k *k, int32_t a, int32_t b)
{
    /* |a + off1|, |b + off2| <= 255: the product fits int32. */
    const int32_t prod = (a + k->off1) * (b + k->off2);
    return fr_rq_out8(&k->rq, prod, k->out_off, k->lo, k->hi);
}

static void fr_mul_row(const fr_mul_k *kp, const int8_t *restrict a, int32_t sa, const int8_t *restrict b,
                       int32_t sb, int8_t *restrict out, int32_t n)
{
    const fr_mul_k k = *kp;
    int32_t i;
    if (sa && sb) {
        for (i = 0; i < n; ++i) out[i] = fr_mul_one(&k, a[i], b[i]);
    } else if (sa) {
        const int32_t bv = b[0];
        for (i = 0; i < n; ++i) out[i] = fr_mul_one(&k, a[i], bv);
    } else if (sb) {
        const int32_t av = a[0];
        for (i = 0; i < n; ++i) out[i] = fr_mul_one(&k, av, b[i]);
    } else {
        const int8_t v = fr_mul_one(&k, a[0], b[0]);
        for (i = 0; i < n; ++i) out[i] = v;
    }
}

/*
 * Gate path: out = requant((x + off_x) * (g + off_g)) where g is one value per (batch, channel),
 * the same at every pixel (the VA-ECA gate), double rounding and output_shift <= 0. With
 * X = x + off_x and K = (g + off_g) * mult (|K| < 2^39, prepared once per channel) split as
 * K = K2 * 2^30 + K1 * 2^15 + K0 (K0, K1 in [0, 2^15), K2 = K >> 30 in [-2^9, 2^9)), the spec's
 * h = (X * G * mult + 2^30) >> 31 (fr_srdhm; ls = 0 and mult >= 0, so no saturation) is
 *   T = X*K + 2^30,  floor(T / 2^15) = X*K2*2^15 + X*K1 + D0,  D0 = (X*K0 + 2^30) >> 15,
 *   h = floor(T / 2^31) = (X*K2 + ((X*K1 + D0) >> 15)) >> 1
 * (floor((a*d + b) / (d*e)) = floor((a + floor(b / d)) / e)), where every product is 16 x 16 bits
 * and every sum fits int32, so the loop vectorizes. |h| <= |X*G| < 2^17, so the rounding shift
 * (h + 2^(rs-1) - [h < 0]) >> rs of fr_rdbpot does not overflow either.
 */
#define FR_MUL_CB 64

typedef struct fr_mul_gate_k {
    int32_t off, rs, rnd, neg, out_off, lo, hi;
} fr_mul_gate_k;

static void fr_mul_gate_row(const fr_mul_gate_k *kp, const int8_t *restrict x, const int16_t *restrict k0,
                            const int16_t *restrict k1, const int16_t *restrict k2, int8_t *restrict out, int32_t n)
{
    const int32_t off = kp->off, rs = kp->rs, rnd = kp->rnd, neg = kp->neg;
    const int32_t out_off = kp->out_off, lo = kp->lo, hi = kp->hi;
    int32_t j;
    for (j = 0; j < n; ++j) {
        const int16_t xv = (int16_t)(x[j] + off);
        const int32_t d0 = ((int32_t)xv * k0[j] + (1 << 30)) >> 15;
        const int32_t h = ((int32_t)xv * k2[j] + (((int32_t)xv * k1[j] + d0) >> 15)) >> 1;
        int32_t v = ((h + rnd - (neg & (h < 0))) >> rs) + out_off;
        v = v < lo ? lo : v;
        out[j] = (int8_t)(v > hi ? hi : v);
    }
}

/* map [N, H, W, C] with offset off_x, gate with element strides gn (batch) and 1 (channel). */
static void fr_mul_gate(const fr_mul_gate_k *k, int32_t mult, const flyref_dims *o, const int8_t *map,
                        const int8_t *gate, int32_t gn, int32_t off_g, int8_t *output)
{
    int16_t k0[FR_MUL_CB], k1[FR_MUL_CB], k2[FR_MUL_CB];
    const int32_t c = o->c, pixels = o->h * o->w;
    /* Few channels: the constants repeated for several pixels, so one row call covers them all
     * (the pixels are contiguous) and the vector loop runs on whole vectors. */
    const int32_t reps = c <= FR_MUL_CB / 2 ? FR_MUL_CB / c : 1;
    int32_t b, c0, j, p;
    for (b = 0; b < o->n; ++b) {
        const int64_t base = (int64_t)b * pixels * c;
        for (c0 = 0; c0 < c; c0 += FR_MUL_CB) {
            const int32_t nb = fr_min(FR_MUL_CB, c - c0);
            for (j = 0; j < nb * reps; ++j) {
                const int64_t kk = (int64_t)(gate[(int64_t)b * gn + c0 + j % nb] + off_g) * mult;
                k0[j] = (int16_t)(kk & 0x7FFF);
                k1[j] = (int16_t)((kk >> 15) & 0x7FFF);
                k2[j] = (int16_t)(kk >> 30);
            }
            for (p = 0; p < pixels; p += reps) {
                const int64_t at = base + (int64_t)p * c + c0;
                fr_mul_gate_row(k, map + at, k0, k1, k2, output + at, nb * fr_min(reps, pixels - p));
            }
        }
    }
}

#if FLYREF_ARM_DSP || FLYREF_ARM_MVE
/*
 * Target paths, for output shifts <= 0 in both roundings (fr_trq_init): out = clamp(trq(
 * (a + off1) * (b + off2)) + out_off), the product's |value| <= 255 * 255. Gate multiplies (a
 * map times one value per batch and channel) read the second factor, offset added, from a
 * per-channel int16 table (repeated over several pixels when the channels are few); rows of two
 * full inputs read both; the other broadcasts keep the portable rows.
 */
#define FR_MULX_CB 256

typedef struct fr_mulx {
    fr_trq q;
    int32_t off1, off2, lo, hi;
} fr_mulx;

#if FLYREF_ARM_MVE
/*
 * Eight lanes: the 16-bit factors' even and odd lanes multiply into two int32x4 (VMULLB,
 * VMULLT), are requantized and narrowed back into their lanes (VQMOVNB, VQMOVNT). Saturating to
 * int16 there, and adding the output offset with saturation, leaves the value clamped to
 * [lo, hi] within [-128, 127] unchanged.
 */
FR_INLINE int16x8_t fr_mul8_mve(int32_t kind, const fr_trq *q, int16x8_t a, int16x8_t b, int16_t out_off,
                                int16x8_t lo, int16x8_t hi)
{
    const int32x4_t pe = fr_trq_mve(kind, q, vmullbq_int_s16(a, b));
    const int32x4_t po = fr_trq_mve(kind, q, vmulltq_int_s16(a, b));
    const int16x8_t v = vqaddq_n_s16(vqmovntq_s32(vqmovnbq_s32(vdupq_n_s16(0), pe), po), out_off);
    return vminq_s16(vmaxq_s16(v, lo), hi);
}

/* n elements: (x[j] + off1) * g[j] (gate), or * (y[j] + off2). */
FR_INLINE void fr_mul_row_mve(int32_t kind, int gate, const fr_mulx *k, const int8_t *x, const int16_t *g,
                              const int8_t *y, int8_t *out, int32_t n)
{
    const fr_trq q = k->q;
    const int16_t off1 = (int16_t)k->off1, off2 = (int16_t)k->off2, out_off = (int16_t)q.out_off;
    const int16x8_t lo = vdupq_n_s16((int16_t)k->lo), hi = vdupq_n_s16((int16_t)k->hi);
    int32_t j;
    for (j = 0; j + 8 <= n; j += 8) {
        const int16x8_t a = vaddq_n_s16(vldrbq_s16(x + j), off1);
        const int16x8_t b = gate ? vldrhq_s16(g + j) : vaddq_n_s16(vldrbq_s16(y + j), off2);
        vstrbq_s16(out + j, fr_mul8_mve(kind, &q, a, b, out_off, lo, hi));
    }
    if (j < n) {
        const mve_pred16_t pr = vctp16q((uint32_t)(n - j));
        const int16x8_t a = vaddq_n_s16(vldrbq_z_s16(x + j, pr), off1);
        const int16x8_t b = gate ? vldrhq_z_s16(g + j, pr) : vaddq_n_s16(vldrbq_z_s16(y + j, pr), off2);
        vstrbq_p_s16(out + j, fr_mul8_mve(kind, &q, a, b, out_off, lo, hi), pr);
    }
}

#define FR_MUL_ROW fr_mul_row_mve
#else
/*
 * Four lanes per loop: SXTAB16 widens bytes 0, 2 and (rotated) 1, 3 into half-words with the
 * offset added, SMULBB / SMULTT form the products, fr_mul_rq requantizes them with the output
 * offset, SSAT + fr_pack4 (+ fr_clamp4 when the range is narrower than int8) store them. The gate
 * table holds the second factor times fr_trq_scale (|2 * 255| fits 16 bits) with each group of
 * four in the order 0, 2, 1, 3, so one word load gives a lane pair; two full rows double it with
 * one SADD16.
 *
 * FR_MUL_DM: kind D with mult > 2^30, one instruction less per lane. The operand a = 2 x is even,
 * so a < 0 means a <= -2 and a * mult < -2^31: the high word h = SMMULR(a, mult) is then <= -1,
 * and h >= 0 for a >= 0. So RDBPOT's -[h < 0] is a >> 31, and SMMLAR adds h to q->add in the
 * same instruction: (SMMLAR(a, mult, add) + (a >> 31)) >> rs = fr_trq_dsp(FR_TRQ_D, q, a).
 */
enum { FR_MUL_DM = 4 };

FR_INLINE int32_t fr_mul_rq(int32_t kind, const fr_trq *q, int32_t a)
{
    if (kind == FR_MUL_DM) return (fr_smmlar(a, q->mult, q->add) + (a >> 31)) >> q->rs;
    return fr_trq_dsp(kind, q, a);
}

FR_INLINE void fr_mul_row_dsp(int32_t kind, int gate, int clamp, const fr_mulx *k, const int8_t *x,
                              const int16_t *g, const int8_t *y, int8_t *out, int32_t n)
{
    const fr_trq q = k->q;
    const int32_t sc = fr_trq_scale(kind == FR_MUL_DM ? FR_TRQ_D : kind);
    const uint32_t off1 = ((uint32_t)k->off1 & 0xFFFFu) * 0x10001u;
    const uint32_t off2 = ((uint32_t)k->off2 & 0xFFFFu) * 0x10001u;
    const int32_t lo = k->lo, hi = k->hi;
    const uint32_t lo4 = fr_bytes4(lo), hi4 = fr_bytes4(hi);
    int32_t j;
    for (j = 0; j + 4 <= n; j += 4) {
        const uint32_t xw = fr_load4(x + j);
        const int32_t x02 = (int32_t)__sxtab16(off1, (int8x4_t)xw), x13 = (int32_t)fr_sxtab16_r8(off1, xw);
        int32_t g02, g13;
        uint32_t w;
        if (gate) {
            uint64_t gw;
            memcpy(&gw, g + j, 8);
            g02 = (int32_t)(uint32_t)gw;
            g13 = (int32_t)(uint32_t)(gw >> 32);
        } else {
            const uint32_t yw = fr_load4(y + j);
            g02 = (int32_t)__sxtab16(off2, (int8x4_t)yw);
            g13 = (int32_t)fr_sxtab16_r8(off2, yw);
            if (sc == 2) {
                g02 = __sadd16(g02, g02);
                g13 = __sadd16(g13, g13);
            }
        }
        w = fr_pack4(__ssat(fr_mul_rq(kind, &q, (int32_t)(int16_t)x02 * (int16_t)g02), 8),
                     __ssat(fr_mul_rq(kind, &q, (int32_t)(int16_t)x13 * (int16_t)g13), 8),
                     __ssat(fr_mul_rq(kind, &q, (x02 >> 16) * (g02 >> 16)), 8),
                     __ssat(fr_mul_rq(kind, &q, (x13 >> 16) * (g13 >> 16)), 8));
        if (clamp) w = fr_clamp4(w, lo4, hi4);
        fr_store4(out + j, w);
    }
    for (; j < n; ++j) {
        /* the table's tail (n % 4 < 4 entries) is in plain order */
        const int32_t gv = gate ? g[j] : ((int32_t)y[j] + k->off2) * sc;
        out[j] = (int8_t)fr_clamp(fr_mul_rq(kind, &q, ((int32_t)x[j] + k->off1) * gv), lo, hi);
    }
}

/* The row of kind `kind` (a constant): FR_MUL_DM where it holds, with the clamp only where the
 * range is narrower than int8 (SSAT clamps to int8 already); the rarer kinds always clamp (a
 * clamp to all of int8 changes nothing), one copy of the loop each. */
FR_INLINE void fr_mul_row_dsp_sel(int32_t kind, int gate, const fr_mulx *k, const int8_t *x, const int16_t *g,
                                  const int8_t *y, int8_t *out, int32_t n)
{
    if (kind == FR_TRQ_D && k->q.mult > (1 << 30)) {
        if (k->lo > -128 || k->hi < 127) {
            fr_mul_row_dsp(FR_MUL_DM, gate, 1, k, x, g, y, out, n);
        } else {
            fr_mul_row_dsp(FR_MUL_DM, gate, 0, k, x, g, y, out, n);
        }
    } else {
        fr_mul_row_dsp(kind, gate, 1, k, x, g, y, out, n);
    }
}

#define FR_MUL_ROW fr_mul_row_dsp_sel
#endif

static void fr_mul_row_x(const fr_mulx *k, int gate, const int8_t *x, const int16_t *g, const int8_t *y, int8_t *out,
                         int32_t n)
{
    switch (k->q.kind * 2 + (gate != 0)) {
    case FR_TRQ_D0 * 2: FR_MUL_ROW(FR_TRQ_D0, 0, k, x, g, y, out, n); break;
    case FR_TRQ_D0 * 2 + 1: FR_MUL_ROW(FR_TRQ_D0, 1, k, x, g, y, out, n); break;
    case FR_TRQ_D * 2: FR_MUL_ROW(FR_TRQ_D, 0, k, x, g, y, out, n); break;
    case FR_TRQ_D * 2 + 1: FR_MUL_ROW(FR_TRQ_D, 1, k, x, g, y, out, n); break;
    case FR_TRQ_S32 * 2: FR_MUL_ROW(FR_TRQ_S32, 0, k, x, g, y, out, n); break;
    case FR_TRQ_S32 * 2 + 1: FR_MUL_ROW(FR_TRQ_S32, 1, k, x, g, y, out, n); break;
    case FR_TRQ_S * 2: FR_MUL_ROW(FR_TRQ_S, 0, k, x, g, y, out, n); break;
    default: FR_MUL_ROW(FR_TRQ_S, 1, k, x, g, y, out, n); break;
    }
}

/* The map [N, H, W, C] (offset k->off1) times the gate (element strides gn per batch and 1 per
 * channel, offset k->off2), blocked by channels as fr_mul_gate. */
static void fr_mul_gate_x(const fr_mulx *k, const flyref_dims *o, const int8_t *map, const int8_t *gate, int32_t gn,
                          int8_t *output)
{
    int16_t g[FR_MULX_CB];
    const int32_t c = o->c, pixels = o->h * o->w;
#if FLYREF_ARM_MVE
    const int32_t sc = 1;
#else
    const int32_t sc = fr_trq_scale(k->q.kind);
#endif
    const int32_t reps = c <= FR_MULX_CB / 2 ? FR_MULX_CB / c : 1;
    int32_t b, c0, j, p;
    for (b = 0; b < o->n; ++b) {
        const int64_t base = (int64_t)b * pixels * c;
        for (c0 = 0; c0 < c; c0 += FR_MULX_CB) {
            const int32_t nb = fr_min(FR_MULX_CB, c - c0), len = nb * reps;
            for (j = 0; j < len; ++j) g[j] = (int16_t)((gate[(int64_t)b * gn + c0 + j % nb] + k->off2) * sc);
#if !FLYREF_ARM_MVE
            /* lane order 0, 2, 1, 3 in each whole group of four */
            for (j = 0; j + 4 <= len; j += 4) {
                const int16_t t = g[j + 1];
                g[j + 1] = g[j + 2];
                g[j + 2] = t;
            }
#endif
            for (p = 0; p < pixels; p += reps) {
                const int64_t at = base + (int64_t)p * c + c0;
                const int32_t n = nb * fr_min(reps, pixels - p);
                /* A last row shorter than the table: its tail entries are still in lane order. */
                if (n == len || (n & 3) == 0) {
                    fr_mul_row_x(k, 1, map + at, g, 0, output + at, n);
                } else {
                    int16_t tail[3];
                    const int32_t whole = n & ~3;
                    fr_mul_row_x(k, 1, map + at, g, 0, output + at, whole);
                    for (j = 0; j < n - whole; ++j) tail[j] = (int16_t)((gate[(int64_t)b * gn + c0 + (whole + j) % nb] + k->off2) * sc);
                    fr_mul_row_x(k, 1, map + at + whole, tail, 0, output + at + whole, n - whole);
                }
            }
        }
    }
}

/* 1 when the target path computed the output. */
static int fr_mul_target(const flyref_mul_params *p, int32_t mode, const fr_bcast *b, const flyref_dims *o,
                         const int8_t *input1, const int8_t *input2, int8_t *output)
{
    fr_mulx k;
    const int32_t full_c = o->c, full_w = o->w * full_c;
    const int full1 = b->s1[3] == 1 && b->s1[2] == full_c && b->s1[1] == full_w && (b->s1[0] != 0 || o->n == 1);
    const int full2 = b->s2[3] == 1 && b->s2[2] == full_c && b->s2[1] == full_w && (b->s2[0] != 0 || o->n == 1);
    const int gate1 = b->s1[3] == 1 && b->s1[2] == 0 && b->s1[1] == 0;
    const int gate2 = b->s2[3] == 1 && b->s2[2] == 0 && b->s2[1] == 0;
    if (!fr_trq_init(&k.q, p->output_multiplier, p->output_shift, mode, p->output_offset)) return 0;
    k.lo = p->activation.min;
    k.hi = p->activation.max;
    if ((full1 && gate2) || (full2 && gate1)) {
        k.off1 = full1 ? p->input1_offset : p->input2_offset;
        k.off2 = full1 ? p->input2_offset : p->input1_offset;
        if (full1) {
            fr_mul_gate_x(&k, o, input1, input2, b->s2[0], output);
        } else {
            fr_mul_gate_x(&k, o, input2, input1, b->s1[0], output);
        }
        return 1;
    }
    if (full1 && full2) {
        k.off1 = p->input1_offset;
        k.off2 = p->input2_offset;
        fr_mul_row_x(&k, 0, input1, 0, input2, output, fr_dims_count(o));
        return 1;
    }
    return 0;
}
#endif /* FLYREF_ARM_DSP || FLYREF_ARM_MVE */

flyref_status flyref_mul_s8(const flyref_mul_params *p, const flyref_dims *input1_dims,
                            const int8_t *input1, const flyref_dims *input2_dims,
                            const int8_t *input2, const flyref_dims *output_dims, int8_t *output)
{
    fr_bcast b;
    fr_mul_k k;
    int32_t mode;
    flyref_status s;
    if (p == 0) return FLYREF_ARG_ERROR;
    s = fr_bcast_init(&b, input1_dims, input1, input2_dims, input2, output_dims, output);
    if (s != FLYREF_OK) return s;
    mode = fr_mode(p->rounding);
    if (mode == 0 || !fr_in_offset_ok(p->input1_offset) || !fr_in_offset_ok(p->input2_offset) ||
        !fr_out_offset_ok(p->output_offset) || !fr_act_ok(&p->activation) ||
        !fr_mult_ok(p->output_multiplier, p->output_shift)) {
        return FLYREF_ARG_ERROR;
    }
    k.off1 = p->input1_offset;
    k.off2 = p->input2_offset;
    fr_rq_init(&k.rq, p->output_multiplier, p->output_shift, mode);
    k.out_off = p->output_offset;
    k.lo = p->activation.min;
    k.hi = p->activation.max;
#if FLYREF_ARM_DSP || FLYREF_ARM_MVE
    if (fr_mul_target(p, mode, &b, output_dims, input1, input2, output)) return FLYREF_OK;
#endif
    if (mode == FLYNET_ROUNDING_DOUBLE && p->output_shift <= 0) {
        /* A full map times a per-(batch, channel) gate, in either order. */
        const int32_t full_c = output_dims->c, full_w = output_dims->w * full_c;
        const int full1 = b.s1[3] == 1 && b.s1[2] == full_c && b.s1[1] == full_w && (b.s1[0] != 0 || output_dims->n == 1);
        const int full2 = b.s2[3] == 1 && b.s2[2] == full_c && b.s2[1] == full_w && (b.s2[0] != 0 || output_dims->n == 1);
        const int gate1 = b.s1[3] == 1 && b.s1[2] == 0 && b.s1[1] == 0;
        const int gate2 = b.s2[3] == 1 && b.s2[2] == 0 && b.s2[1] == 0;
        if ((full1 && gate2) || (full2 && gate1)) {
            fr_mul_gate_k g;
            const int32_t rs = -p->output_shift;
            g.off = full1 ? p->input1_offset : p->input2_offset;
            g.rs = rs;
            g.rnd = rs > 0 ? (int32_t)1 << (rs - 1) : 0;
            g.neg = rs > 0;
            g.out_off = p->output_offset;
            g.lo = p->activation.min;
            g.hi = p->activation.max;
            if (full1) {
                fr_mul_gate(&g, p->output_multiplier, output_dims, input1, input2, b.s2[0], p->input2_offset, output);
            } else {
                fr_mul_gate(&g, p->output_multiplier, output_dims, input2, input1, b.s1[0], p->input1_offset, output);
            }
            return FLYREF_OK;
        }
    }
    FR_BCAST_ROWS(b, output_dims, fr_mul_row(&k, input1 + r1, b.s1[3], input2 + r2, b.s2[3], output + ro, output_dims->c));
    return FLYREF_OK;
}
