/* Elementwise add s8 (TFLM int8 AddFunc / arm_elementwise_add_s8). Refer to flyref_kernels.h.
 * Walked row by row as flyref_mul_s8 (see there); each element is computed as in the spec. */
#include "flyref_broadcast.h"

#include "../support/flyref_target.h"

const char fr_path_add_s8[] = FR_TARGET_PATH;

typedef struct fr_add_k {
    fr_rq rq1, rq2, rqo;
    int32_t off1, off2, ls, out_off, lo, hi;
} fr_add_k;

static inline int32_t fr_add_side(const fr_add_k *k, int32_t x, int32_t off, const fr_rq *rq)
{
    /* |x + offset| <= 255 and left_shift <= 22: the shifted value fits in int32. */
    return fr_rq_apply(rq, (x + off) * (1 << k->ls));
}

static inline int8_t fr_add_out(const fr_add_k *k, int32_t a, int32_t c)
{
    return fr_rq_out8(&k->rqo, fr_add(a, c), k->out_off, k->lo, k->hi);
}

static void fr_add_row(const fr_add_k *kp, const int8_t *restrict a, int32_t sa, const int8_t *restrict b,
                       int32_t sb, int8_t *restrict out, int32_t n)
{
    const fr_add_k k = *kp;
    int32_t i;
    if (sa && sb) {
        for (i = 0; i < n; ++i) {
            out[i] = fr_add_out(&k, fr_add_side(&k, a[i], k.off1, &k.rq1), fr_add_side(&k, b[i], k.off2, &k.rq2));
        }
    } else if (sa) {
        const int32_t bv = fr_add_side(&k, b[0], k.off2, &k.rq2);
        for (i = 0; i < n; ++i) out[i] = fr_add_out(&k, fr_add_side(&k, a[i], k.off1, &k.rq1), bv);
    } else if (sb) {
        const int32_t av = fr_add_side(&k, a[0], k.off1, &k.rq1);
        for (i = 0; i < n; ++i) out[i] = fr_add_out(&k, av, fr_add_side(&k, b[i], k.off2, &k.rq2));
    } else {
        const int8_t v = fr_add_out(&k, fr_add_side(&k, a[0], k.off1, &k.rq1),
                                    fr_add_side(&k, b[0], k.off2, &k.rq2));
        for (i = 0; i < n; ++i) out[i] = v;
    }
}

/* Both inputs full maps of the output's shape: each input's requantized value is a function of
 * its code alone, so two 256-entry tables (on the stack, 2 KB) filled with the same function
 * replace two of the three requantizations per element. */
#define FR_ADD_LUT_MIN 1024

static void fr_add_lut(const fr_add_k *kp, const int8_t *a, const int8_t *b, int8_t *out, int32_t n)
{
    int32_t la[256], lb[256];
    const fr_add_k k = *kp;
    int32_t i;
    for (i = 0; i < 256; ++i) {
        la[i] = fr_add_side(&k, i - 128, k.off1, &k.rq1);
        lb[i] = fr_add_side(&k, i - 128, k.off2, &k.rq2);
    }
    for (i = 0; i < n; ++i) out[i] = fr_add_out(&k, la[a[i] + 128], lb[b[i] + 128]);
}

#if FLYREF_ARM_DSP || FLYREF_ARM_MVE
/*
 * Target paths for two full inputs of the output's shape and an output shift <= 0: the inputs'
 * requantized values come from the two 256-entry tables of fr_add_lut (filled by the portable
 * fr_add_side, so they are the spec's values), and the output requantization of their sum is
 * fr_trq (flyref_target.h), four lanes at a time. The tables pay for themselves from a few
 * hundred elements on.
 */
#define FR_ADD_TARGET_MIN 256

static inline int64_t fr_max64(int64_t a, int64_t b) { return a > b ? a : b; }

#if FLYREF_ARM_MVE
/* Table lookups by gather loads: offset = code + 128. Whole vectors, then a predicated last one. */
FR_INLINE int32x4_t fr_add4_mve(int32_t kind, const fr_trq *q, const int32_t *la, const int32_t *lb, int32x4_t a,
                                int32x4_t b, int32x4_t vlo, int32x4_t vhi)
{
    const uint32x4_t ia = vreinterpretq_u32_s32(vaddq_n_s32(a, 128)), ib = vreinterpretq_u32_s32(vaddq_n_s32(b, 128));
    const int32x4_t sum = vaddq_s32(vldrwq_gather_shifted_offset_s32(la, ia), vldrwq_gather_shifted_offset_s32(lb, ib));
    return vminq_s32(vmaxq_s32(vaddq_n_s32(fr_trq_mve(kind, q, sum), q->out_off), vlo), vhi);
}

FR_INLINE void fr_add_row_t(int32_t kind, const fr_trq *qp, const int32_t *la, const int32_t *lb, const int8_t *a,
                            const int8_t *b, int8_t *out, int32_t n, int32_t lo, int32_t hi)
{
    const fr_trq q = *qp;
    const int32x4_t vlo = vdupq_n_s32(lo), vhi = vdupq_n_s32(hi);
    int32_t j;
    for (j = 0; j + 4 <= n; j += 4) {
        vstrbq_s32(out + j, fr_add4_mve(kind, &q, la, lb, vldrbq_s32(a + j), vldrbq_s32(b + j), vlo, vhi));
    }
    if (j < n) {
        /* inactive lanes load code 0: an index inside the tables, never stored */
        const mve_pred16_t pr = vctp32q((uint32_t)(n - j));
        vstrbq_p_s32(out + j, fr_add4_mve(kind, &q, la, lb, vldrbq_z_s32(a + j, pr), vldrbq_z_s32(b + j, pr), vlo, vhi),
                     pr);
    }
}

/* The 256 values fr_trq_one(q, (code + off) << ls), code = -128 .. 127, four per vector (q has
 * no output offset and no left shift of its own, from fr_trq_init). */
FR_INLINE void fr_add_table_k(int32_t kind, int32_t *t, const fr_trq *q, int32_t off, int32_t ls)
{
    const int32x4_t step = vdupq_n_s32(4 * (1 << ls));
    int32x4_t x = vshlq_r_s32(vaddq_n_s32(vreinterpretq_s32_u32(vidupq_n_u32(0, 1)), off - 128), ls);
    int32_t i;
    for (i = 0; i < 256; i += 4, x = vaddq_s32(x, step)) vstrwq_s32(t + i, fr_trq_mve(kind, q, x));
}

static void fr_add_table_mve(int32_t *t, const fr_trq *q, int32_t off, int32_t ls)
{
    switch (q->kind) {
    case FR_TRQ_D0: fr_add_table_k(FR_TRQ_D0, t, q, off, ls); break;
    case FR_TRQ_D: fr_add_table_k(FR_TRQ_D, t, q, off, ls); break;
    case FR_TRQ_S32: fr_add_table_k(FR_TRQ_S32, t, q, off, ls); break;
    default: fr_add_table_k(FR_TRQ_S, t, q, off, ls); break;
    }
}
#else
/* Table lookups by byte: x ^ 0x80 is the unsigned index code + 128. The tables hold the values
 * times fr_trq_scale, so their sum is fr_trq_dsp's operand. */
FR_INLINE void fr_add_row_t(int32_t kind, const fr_trq *qp, const int32_t *la, const int32_t *lb, const int8_t *a,
                            const int8_t *b, int8_t *out, int32_t n, int32_t lo, int32_t hi)
{
    const fr_trq q = *qp;
    const uint32_t lo4 = fr_bytes4(lo), hi4 = fr_bytes4(hi);
    const int clamp = lo > -128 || hi < 127;
    int32_t j;
    for (j = 0; j + 4 <= n; j += 4) {
        const uint32_t wa = fr_load4(a + j) ^ 0x80808080u, wb = fr_load4(b + j) ^ 0x80808080u;
        uint32_t w = fr_pack4(__ssat(fr_trq_dsp(kind, &q, la[wa & 0xFFu] + lb[wb & 0xFFu]), 8),
                              __ssat(fr_trq_dsp(kind, &q, la[(wa >> 8) & 0xFFu] + lb[(wb >> 8) & 0xFFu]), 8),
                              __ssat(fr_trq_dsp(kind, &q, la[(wa >> 16) & 0xFFu] + lb[(wb >> 16) & 0xFFu]), 8),
                              __ssat(fr_trq_dsp(kind, &q, la[wa >> 24] + lb[wb >> 24]), 8));
        if (clamp) w = fr_clamp4(w, lo4, hi4);
        fr_store4(out + j, w);
    }
    for (; j < n; ++j) {
        const int32_t v = fr_trq_dsp(kind, &q, la[a[j] + 128] + lb[b[j] + 128]);
        out[j] = (int8_t)fr_clamp(v, lo, hi);
    }
}
#endif

FR_NOINLINE void fr_add_rows_t(const fr_trq *q, const int32_t *la, const int32_t *lb, const int8_t *a,
                               const int8_t *b, int8_t *out, int32_t n, int32_t lo, int32_t hi)
{
    switch (q->kind) {
    case FR_TRQ_D0: fr_add_row_t(FR_TRQ_D0, q, la, lb, a, b, out, n, lo, hi); break;
    case FR_TRQ_D: fr_add_row_t(FR_TRQ_D, q, la, lb, a, b, out, n, lo, hi); break;
    case FR_TRQ_S32: fr_add_row_t(FR_TRQ_S32, q, la, lb, a, b, out, n, lo, hi); break;
    default: fr_add_row_t(FR_TRQ_S, q, la, lb, a, b, out, n, lo, hi); break;
    }
}

/* 1 when the target path computed the output. */
static int fr_add_target(const fr_add_k *k, const flyref_add_params *p, int32_t mode, const int8_t *a, const int8_t *b,
                         int8_t *out, int32_t n)
{
    int32_t la[256], lb[256];
    int64_t ma = 0, mb = 0;
    fr_trq q, q1, q2;
    int32_t i, sc;
    const int t1 = fr_trq_init(&q1, p->input1_multiplier, p->input1_shift, mode, 0);
    const int t2 = fr_trq_init(&q2, p->input2_multiplier, p->input2_shift, mode, 0);
    if (!fr_trq_init(&q, p->output_multiplier, p->output_shift, mode, p->output_offset)) return 0;
#if FLYREF_ARM_MVE
    if (t1 && t2) {
        fr_add_table_mve(la, &q1, k->off1, k->ls);
        fr_add_table_mve(lb, &q2, k->off2, k->ls);
    } else
#endif
    for (i = 0; i < 256; ++i) {
        /* (code + offset) << left_shift: |.| <= 255 * 2^22 < 2^30, as fr_trq_one wants */
        la[i] = t1 ? fr_trq_one(&q1, (i - 128 + k->off1) * (1 << k->ls)) : fr_add_side(k, i - 128, k->off1, &k->rq1);
        lb[i] = t2 ? fr_trq_one(&q2, (i - 128 + k->off2) * (1 << k->ls)) : fr_add_side(k, i - 128, k->off2, &k->rq2);
    }
    /* requantization is monotone in its input: the extremes are at the tables' ends */
    ma = fr_max64(-(int64_t)la[0], la[255]);
    mb = fr_max64(-(int64_t)lb[0], lb[255]);
    /* fr_trq wants |sum| < 2^30 (the sum itself fits int32 in the spec, fr_add wraps) */
    if (ma + mb >= ((int64_t)1 << 30)) return 0;
#if FLYREF_ARM_MVE
    sc = 1;
#else
    sc = fr_trq_scale(q.kind);
#endif
    if (sc != 1) {
        for (i = 0; i < 256; ++i) {
            la[i] *= sc;
            lb[i] *= sc;
        }
    }
    fr_add_rows_t(&q, la, lb, a, b, out, n, k->lo, k->hi);
    return 1;
}
#endif /* FLYREF_ARM_DSP || FLYREF_ARM_MVE */

flyref_status flyref_add_s8(const flyref_add_params *p, const flyref_dims *input1_dims,
                            const int8_t *input1, const flyref_dims *input2_dims,
                            const int8_t *input2, const flyref_dims *output_dims, int8_t *output)
{
    fr_bcast b;
    fr_add_k k;
    int32_t mode;
    flyref_status s;
    if (p == 0) return FLYREF_ARG_ERROR;
    s = fr_bcast_init(&b, input1_dims, input1, input2_dims, input2, output_dims, output);
    if (s != FLYREF_OK) return s;
    mode = fr_mode(p->rounding);
    if (mode == 0 || !fr_in_offset_ok(p->input1_offset) || !fr_in_offset_ok(p->input2_offset) ||
        !fr_out_offset_ok(p->output_offset) || !fr_act_ok(&p->activation) || p->left_shift < 0 ||
        p->left_shift > 22 || !fr_mult_ok(p->input1_multiplier, p->input1_shift) || p->input1_shift > 0 ||
        !fr_mult_ok(p->input2_multiplier, p->input2_shift) || p->input2_shift > 0 ||
        !fr_mult_ok(p->output_multiplier, p->output_shift)) {
        return FLYREF_ARG_ERROR;
    }
    k.off1 = p->input1_offset;
    k.off2 = p->input2_offset;
    k.ls = p->left_shift;
    fr_rq_init(&k.rq1, p->input1_multiplier, p->input1_shift, mode);
    fr_rq_init(&k.rq2, p->input2_multiplier, p->input2_shift, mode);
    fr_rq_init(&k.rqo, p->output_multiplier, p->output_shift, mode);
    k.out_off = p->output_offset;
    k.lo = p->activation.min;
    k.hi = p->activation.max;
    {
        const int32_t count = fr_dims_count(output_dims);
        const int same1 = input1_dims->n == output_dims->n && input1_dims->h == output_dims->h &&
                          input1_dims->w == output_dims->w && input1_dims->c == output_dims->c;
        const int same2 = input2_dims->n == output_dims->n && input2_dims->h == output_dims->h &&
                          input2_dims->w == output_dims->w && input2_dims->c == output_dims->c;
#if FLYREF_ARM_DSP || FLYREF_ARM_MVE
        if (same1 && same2 && count >= FR_ADD_TARGET_MIN && fr_add_target(&k, p, mode, input1, input2, output, count)) {
            return FLYREF_OK;
        }
#endif
        if (same1 && same2 && count >= FR_ADD_LUT_MIN) {
            fr_add_lut(&k, input1, input2, output, count);
            return FLYREF_OK;
        }
    }
    FR_BCAST_ROWS(b, output_dims, fr_add_row(&k, input1 + r1, b.s1[3], input2 + r2, b.s2[3], output + ro, output_dims->c));
    return FLYREF_OK;
}
