/* Max pool s8. Refer to flyref_kernels.h. */
#include "flyref_pool_common.h"

flyref_status flyref_max_pool_s8(const flyref_pool_params *p, const flyref_dims *in_d,
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
                for (c = 0; c < in_d->c; ++c) {
                    int32_t m = -128, y, x; /* TFLM: an all-padding window gives clamp(-128) */
                    for (y = y0; y < y1; ++y) {
                        for (x = x0; x < x1; ++x) {
                            m = fr_max(m, input[(((int64_t)b * in_d->h + y) * in_d->w + x) * in_d->c + c]);
                        }
                    }
                    output[(((int64_t)b * out_d->h + oy) * out_d->w + ox) * out_d->c + c] =
                        (int8_t)fr_clamp(m, p->activation.min, p->activation.max);
                }
            }
        }
    }
    return FLYREF_OK;
}
