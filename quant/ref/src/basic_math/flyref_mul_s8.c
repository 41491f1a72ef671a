/* Elementwise mul s8 (TFLM MulElementwise / arm_elementwise_mul_s8). Refer to flyref_kernels.h.
 * The broadcast walk is done row by row (a row = the output's channels at one pixel), with the
 * row's two inputs either contiguous or one value repeated, so the inner loop is a plain loop
 * over channels with every parameter in a register; each element is computed as in the spec. */
#include "flyref_broadcast.h"

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
