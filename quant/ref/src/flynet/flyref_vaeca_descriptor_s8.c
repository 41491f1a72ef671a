/*
 * VA-ECA descriptor: per-channel mean and standard deviation of a map, all integer.
 * Refer to flyref_kernels.h and quant/ref/README.md for the definition and its bounds.
 *
 * Why D = n*S2 - S1^2: n^2 * var (in input LSB^2) is exactly that integer, so the only rounding
 * of the whole descriptor is the final requantization (and the floor of the square root).
 */
#include "../flyref_internal.h"

#define FR_MAX_PIXELS 65536
/* Channels summed side by side (stack: 8 bytes each). */
#define FR_VAECA_CB 64

/*
 * floor(sqrt(v)) for v < 2^62, exact like flyref_isqrt_u64 but by integer Newton iteration,
 * which needs a handful of divisions instead of 31 dependent steps (the square roots were most of
 * the descriptor's time). Why it is exact: from any start x0 >= floor(sqrt(v)), the iteration
 * x' = floor((x + floor(v / x)) / 2) decreases strictly while x > floor(sqrt(v)) and then stops
 * decreasing, at floor(sqrt(v)). The start: with 2^n <= v < 2^(n+1) and k = floor(n / 2),
 * v = 4^k * m with m in [1, 4), and sqrt(v) = 2^k sqrt(m) <= 2^k (m + 1) / 2 (AM-GM)
 * = (v / 2^k + 2^k) / 2 <= floor((floor(v / 2^k) + 2^k) / 2) + 1.
 */
static uint32_t fr_isqrt_newton(uint64_t v)
{
    uint64_t x, y, t = v;
    int32_t n = 0, k;
    if (v < 2) return (uint32_t)v;
    if (t >> 32) { n += 32; t >>= 32; }
    if (t >> 16) { n += 16; t >>= 16; }
    if (t >> 8) { n += 8; t >>= 8; }
    if (t >> 4) { n += 4; t >>= 4; }
    if (t >> 2) { n += 2; t >>= 2; }
    if (t >> 1) n += 1;
    k = n / 2;
    x = (((v >> k) + ((uint64_t)1 << k)) >> 1) + 1;
    for (;;) {
        y = (x + v / x) >> 1;
        if (y >= x) break;
        x = y;
    }
    return (uint32_t)x;
}

static void fr_vaeca_sum(int32_t *restrict s1, uint32_t *restrict s2, const int8_t *restrict x, int32_t off,
                         int32_t n)
{
    int32_t c;
    for (c = 0; c < n; ++c) {
        const int32_t v = (int32_t)x[c] + off;
        s1[c] += v;
        s2[c] += (uint32_t)(v * v);
    }
}

flyref_status flyref_vaeca_descriptor_s8(const flyref_vaeca_descriptor_params *p,
                                         const flyref_dims *d, const int8_t *input,
                                         int8_t *mean_out, int8_t *std_out)
{
    int32_t mode, npx, b, c0, c, i;
    uint64_t limit;
    fr_rq rq_mean, rq_std;
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

    fr_rq_init(&rq_mean, p->mean_multiplier, p->mean_shift, mode);
    fr_rq_init(&rq_std, p->std_multiplier, p->std_shift, mode);
    for (b = 0; b < d->n; ++b) {
        const int32_t ch = d->c, off = p->input_offset;
        for (c0 = 0; c0 < ch; c0 += FR_VAECA_CB) {
            const int32_t nb = fr_min(FR_VAECA_CB, ch - c0);
            const int8_t *src = input + (int64_t)b * npx * ch + c0;
            /* Per channel: |s1| <= 255 * 65536 < 2^24; s2 <= 65025 * 65536 < 2^32, so uint32 holds
             * it exactly (the spec's int64 sum has the same value). */
            int32_t s1[FR_VAECA_CB];
            uint32_t s2[FR_VAECA_CB];
            for (c = 0; c < nb; ++c) {
                s1[c] = 0;
                s2[c] = 0;
            }
            for (i = 0; i < npx; ++i) {
                const int8_t *x = src + (int64_t)i * ch;
                fr_vaeca_sum(s1, s2, x, off, nb);
            }
            for (c = 0; c < nb; ++c) {
                /* >= 0 by Cauchy-Schwarz */
                const uint64_t dd = (uint64_t)((int64_t)npx * (int64_t)s2[c] - (int64_t)s1[c] * s1[c]);
                const uint64_t radicand = (dd << (2 * p->sqrt_frac_bits)) + p->eps_q;
                const int32_t r = (int32_t)fr_isqrt_newton(radicand);
                const int32_t m = fr_add(fr_rq_apply(&rq_mean, s1[c]), p->mean_offset);
                const int32_t s = fr_add(fr_rq_apply(&rq_std, r), p->std_offset);
                mean_out[(int64_t)b * ch + c0 + c] = (int8_t)fr_clamp(m, -128, 127);
                std_out[(int64_t)b * ch + c0 + c] = (int8_t)fr_clamp(s, -128, 127);
            }
        }
    }
    return FLYREF_OK;
}
