/* The checks and the window loop shared by the pooling kernels (private). */
#ifndef FLYREF_POOL_COMMON_H_
#define FLYREF_POOL_COMMON_H_

#include "../flyref_internal.h"

static inline flyref_status fr_pool_check(const flyref_pool_params *p, const flyref_dims *in_d,
                                          const void *in, const flyref_dims *out_d, const void *out)
{
    if (p == 0 || in == 0 || out == 0) return FLYREF_ARG_ERROR;
    if (!fr_dims_ok(in_d) || !fr_dims_ok(out_d) || fr_dims_count(in_d) < 0 || fr_dims_count(out_d) < 0) {
        return FLYREF_SHAPE_ERROR;
    }
    if (in_d->n != out_d->n || in_d->c != out_d->c) return FLYREF_SHAPE_ERROR;
    if (p->filter_h < 1 || p->filter_w < 1 || p->stride_h < 1 || p->stride_w < 1 || p->pad_h < 0 ||
        p->pad_w < 0 || !fr_act_ok(&p->activation)) {
        return FLYREF_ARG_ERROR;
    }
    /* Window area <= 2^24 keeps the int32 sum of the average pool exact; coordinates stay far
     * inside int32. */
    if ((int64_t)p->filter_h * p->filter_w > (1 << 24) || p->pad_h > (1 << 28) || p->pad_w > (1 << 28) ||
        (int64_t)(out_d->h - 1) * p->stride_h + p->filter_h > (1 << 28) ||
        (int64_t)(out_d->w - 1) * p->stride_w + p->filter_w > (1 << 28)) {
        return FLYREF_ARG_ERROR;
    }
    return FLYREF_OK;
}

/*
 * The pooling loop: every output element reduces the in-image taps of its window, by sum
 * (`average`: then divided by their count, halves away from zero) or by max (from -128, which an
 * all-padding window keeps, as TFLM), and is clamped. An average window with no in-image tap is
 * an argument error. The flag is a constant at both call sites, so each kernel compiles its own
 * loop.
 */
static inline flyref_status fr_pool(const flyref_pool_params *p, const flyref_dims *in_d, const int8_t *input,
                                    const flyref_dims *out_d, int8_t *output, int32_t average)
{
    int32_t b, oy, ox, c;
    const flyref_status s = fr_pool_check(p, in_d, input, out_d, output);
    if (s != FLYREF_OK) return s;
    for (b = 0; b < out_d->n; ++b) {
        for (oy = 0; oy < out_d->h; ++oy) {
            const int32_t y0 = fr_max(oy * p->stride_h - p->pad_h, 0);
            const int32_t y1 = fr_min(oy * p->stride_h - p->pad_h + p->filter_h, in_d->h);
            for (ox = 0; ox < out_d->w; ++ox) {
                const int32_t x0 = fr_max(ox * p->stride_w - p->pad_w, 0);
                const int32_t x1 = fr_min(ox * p->stride_w - p->pad_w + p->filter_w, in_d->w);
                const int32_t count = (y1 > y0 && x1 > x0) ? (y1 - y0) * (x1 - x0) : 0;
                if (average && count == 0) return FLYREF_ARG_ERROR; /* window entirely in padding */
                for (c = 0; c < in_d->c; ++c) {
                    int32_t acc = average ? 0 : -128, y, x;
                    for (y = y0; y < y1; ++y) {
                        for (x = x0; x < x1; ++x) {
                            const int32_t v = input[(((int64_t)b * in_d->h + y) * in_d->w + x) * in_d->c + c];
                            acc = average ? acc + v : fr_max(acc, v);
                        }
                    }
                    /* C division truncates: adding/subtracting count/2 first rounds halves away
                     * from zero. |sum| <= 128 * count, count <= 2^24 keeps this in int32. */
                    if (average) acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                    output[(((int64_t)b * out_d->h + oy) * out_d->w + ox) * out_d->c + c] =
                        (int8_t)fr_clamp(acc, p->activation.min, p->activation.max);
                }
            }
        }
    }
    return FLYREF_OK;
}

#endif /* FLYREF_POOL_COMMON_H_ */
