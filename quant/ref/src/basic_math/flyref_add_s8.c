/* Elementwise add s8 (TFLM int8 AddFunc / arm_elementwise_add_s8). Refer to flyref_kernels.h.
 * Walked row by row as flyref_mul_s8 (see there); each element is computed as in the spec. */
#include "flyref_broadcast.h"

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
        if (same1 && same2 && count >= FR_ADD_LUT_MIN) {
            fr_add_lut(&k, input1, input2, output, count);
            return FLYREF_OK;
        }
    }
    FR_BCAST_ROWS(b, output_dims, fr_add_row(&k, input1 + r1, b.s1[3], input2 + r2, b.s2[3], output + ro, output_dims->c));
    return FLYREF_OK;
}
