/*
 * VA-ECA 1-D convolution across channels (2 inputs: mean, std; shared by the heads).
 * Refer to flyref_kernels.h. Each input keeps its own scale: each partial sum is requantized to
 * the output scale times 2^sum_shift, then the sum is rounded once more (as TFLM's add does
 * with its left shift), so no precision is lost when the two scales differ.
 */
#include "../flyref_internal.h"

flyref_status flyref_eca_conv1d_s8(const flyref_eca_conv1d_params *p, const flyref_dims *d,
                                   const int8_t *mean_in, const int8_t *std_in,
                                   const flyref_dims *f_d, const int8_t *w, int8_t *output)
{
    int32_t mode, k, pad, h, e, b;
    if (p == 0 || mean_in == 0 || std_in == 0 || w == 0 || output == 0) return FLYREF_ARG_ERROR;
    if (!fr_dims_ok(d) || !fr_dims_ok(f_d) || fr_dims_count(d) < 0) return FLYREF_SHAPE_ERROR;
    mode = fr_mode(p->rounding);
    if (mode == 0 || p->heads < 1 || !fr_in_offset_ok(p->mean_offset) || !fr_in_offset_ok(p->std_offset) ||
        !fr_mult_ok(p->mean_multiplier, p->mean_shift) || !fr_mult_ok(p->std_multiplier, p->std_shift) ||
        p->sum_shift < 0 || p->sum_shift > 16 || !fr_out_offset_ok(p->output_offset) ||
        !fr_act_ok(&p->activation)) {
        return FLYREF_ARG_ERROR;
    }
    if (d->h != 1 || d->w != 1 || d->c % p->heads != 0) return FLYREF_SHAPE_ERROR;
    if (f_d->n != 1 || f_d->h != 1 || f_d->c != 2 || (f_d->w & 1) == 0 || f_d->w > 255) return FLYREF_SHAPE_ERROR;
    k = f_d->w;
    pad = (k - 1) / 2;
    h = p->heads;
    e = d->c / h;
    {
        /* Channel i = c*h + j walked as (c, j), without a division per element. */
        const int32_t mo = p->mean_offset, so = p->std_offset, sum_shift = p->sum_shift;
        fr_rq rq_mean, rq_std;
        const int32_t out_off = p->output_offset, lo = p->activation.min, hi = p->activation.max;
        fr_rq_init(&rq_mean, p->mean_multiplier, p->mean_shift, mode);
        fr_rq_init(&rq_std, p->std_multiplier, p->std_shift, mode);
        for (b = 0; b < d->n; ++b) {
            const int8_t *mb = mean_in + (int64_t)b * d->c;
            const int8_t *sb = std_in + (int64_t)b * d->c;
            int8_t *ob = output + (int64_t)b * d->c;
            int32_t c, j;
            for (c = 0; c < e; ++c) {
                /* taps t with 0 <= c + t - pad < e; the others are zero padding and contribute nothing */
                const int32_t t0 = fr_max(0, pad - c), t1 = fr_min(k, e + pad - c);
                for (j = 0; j < h; ++j) {
                    int32_t am = 0, as = 0, t, v;
                    for (t = t0; t < t1; ++t) {
                        const int32_t idx = (c + t - pad) * h + j;
                        am += (int32_t)w[t * 2 + 0] * ((int32_t)mb[idx] + mo);
                        as += (int32_t)w[t * 2 + 1] * ((int32_t)sb[idx] + so);
                    }
                    /* |am|, |as| <= 255 * 128 * 255 < 2^23: no overflow. */
                    v = fr_add(fr_rq_apply(&rq_mean, am), fr_rq_apply(&rq_std, as));
                    v = fr_add(fr_rdbpot(v, sum_shift), out_off);
                    ob[c * h + j] = (int8_t)fr_clamp(v, lo, hi);
                }
            }
        }
    }
    return FLYREF_OK;
}
