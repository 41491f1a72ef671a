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
    int32_t mode, k, pad, h, e, b, i;
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
    for (b = 0; b < d->n; ++b) {
        const int8_t *mb = mean_in + (int64_t)b * d->c;
        const int8_t *sb = std_in + (int64_t)b * d->c;
        for (i = 0; i < d->c; ++i) {
            const int32_t c = i / h, j = i % h;
            int32_t am = 0, as = 0, t, v;
            for (t = 0; t < k; ++t) {
                const int32_t cc = c + t - pad;
                if (cc < 0 || cc >= e) continue; /* zero padding: contributes nothing */
                am += (int32_t)w[t * 2 + 0] * ((int32_t)mb[cc * h + j] + p->mean_offset);
                as += (int32_t)w[t * 2 + 1] * ((int32_t)sb[cc * h + j] + p->std_offset);
            }
            /* |am|, |as| <= 255 * 128 * 255 < 2^23: no overflow. */
            v = fr_add(fr_requant(am, p->mean_multiplier, p->mean_shift, mode),
                       fr_requant(as, p->std_multiplier, p->std_shift, mode));
            v = fr_add(fr_rdbpot(v, p->sum_shift), p->output_offset);
            output[(int64_t)b * d->c + i] = (int8_t)fr_clamp(v, p->activation.min, p->activation.max);
        }
    }
    return FLYREF_OK;
}
