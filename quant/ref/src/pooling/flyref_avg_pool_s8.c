/* Average pool s8. Refer to flyref_kernels.h. */
#include "flyref_pool_common.h"

flyref_status flyref_avg_pool_s8(const flyref_pool_params *p, const flyref_dims *in_d,
                                 const int8_t *input, const flyref_dims *out_d, int8_t *output)
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
                if (count == 0) return FLYREF_ARG_ERROR; /* window entirely in padding */
                for (c = 0; c < in_d->c; ++c) {
                    int32_t sum = 0, y, x, avg;
                    for (y = y0; y < y1; ++y) {
                        for (x = x0; x < x1; ++x) {
                            sum += input[(((int64_t)b * in_d->h + y) * in_d->w + x) * in_d->c + c];
                        }
                    }
                    /* C division truncates: adding/subtracting count/2 first rounds halves away
                     * from zero. |sum| <= 128 * count, count <= 2^24 keeps this in int32. */
                    avg = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
                    output[(((int64_t)b * out_d->h + oy) * out_d->w + ox) * out_d->c + c] =
                        (int8_t)fr_clamp(avg, p->activation.min, p->activation.max);
                }
            }
        }
    }
    return FLYREF_OK;
}
