/*
 * VA-ECA descriptor: per-channel mean and standard deviation of a map, all integer.
 * Refer to flyref_kernels.h and quant/ref/README.md for the definition and its bounds.
 *
 * Why D = n*S2 - S1^2: n^2 * var (in input LSB^2) is exactly that integer, so the only rounding
 * of the whole descriptor is the final requantization (and the floor of the square root).
 */
#include "../flyref_internal.h"

#define FR_MAX_PIXELS 65536

flyref_status flyref_vaeca_descriptor_s8(const flyref_vaeca_descriptor_params *p,
                                         const flyref_dims *d, const int8_t *input,
                                         int8_t *mean_out, int8_t *std_out)
{
    int32_t mode, npx, b, c, i;
    uint64_t limit;
    if (p == 0 || input == 0 || mean_out == 0 || std_out == 0) return FLYREF_ARG_ERROR;
    if (!fr_dims_ok(d) || fr_dims_count(d) < 0) return FLYREF_SHAPE_ERROR;
    mode = fr_mode(p->rounding);
    if (mode == 0 || !fr_in_offset_ok(p->input_offset) || !fr_mult_ok(p->mean_multiplier, p->mean_shift) ||
        !fr_mult_ok(p->std_multiplier, p->std_shift) || !fr_out_offset_ok(p->mean_offset) ||
        !fr_out_offset_ok(p->std_offset) || p->sqrt_frac_bits < 0 || p->sqrt_frac_bits > 15) {
        return FLYREF_ARG_ERROR;
    }
    if ((int64_t)d->h * d->w > FR_MAX_PIXELS) return FLYREF_ARG_ERROR;
    npx = d->h * d->w;
    /* D <= npx^2 * 255^2 / 4 < npx^2 * 16257 (the variance of values in a range of width 255 is
     * at most (255/2)^2). Require D * 4^F + eps_q < 2^62, so R = isqrt(...) < 2^31. */
    if (p->eps_q >= ((uint64_t)1 << 62)) return FLYREF_ARG_ERROR;
    limit = (((uint64_t)1 << 62) - 1 - p->eps_q) >> (2 * p->sqrt_frac_bits);
    if ((uint64_t)npx * (uint64_t)npx * 16257u > limit) return FLYREF_ARG_ERROR;

    for (b = 0; b < d->n; ++b) {
        for (c = 0; c < d->c; ++c) {
            const int8_t *src = input + (int64_t)b * npx * d->c + c;
            int32_t s1 = 0;   /* |s1| <= 255 * 65536 < 2^24 */
            int64_t s2 = 0;   /* s2 <= 65025 * 65536 < 2^32 */
            uint64_t dd, radicand;
            int32_t r, m, s;
            for (i = 0; i < npx; ++i) {
                const int32_t v = (int32_t)src[(int64_t)i * d->c] + p->input_offset;
                s1 += v;
                s2 += (int64_t)v * v;
            }
            dd = (uint64_t)((int64_t)npx * s2 - (int64_t)s1 * s1); /* >= 0 by Cauchy-Schwarz */
            radicand = (dd << (2 * p->sqrt_frac_bits)) + p->eps_q;
            r = (int32_t)flyref_isqrt_u64(radicand);
            m = fr_add(fr_requant(s1, p->mean_multiplier, p->mean_shift, mode), p->mean_offset);
            s = fr_add(fr_requant(r, p->std_multiplier, p->std_shift, mode), p->std_offset);
            mean_out[(int64_t)b * d->c + c] = (int8_t)fr_clamp(m, -128, 127);
            std_out[(int64_t)b * d->c + c] = (int8_t)fr_clamp(s, -128, 127);
        }
    }
    return FLYREF_OK;
}
