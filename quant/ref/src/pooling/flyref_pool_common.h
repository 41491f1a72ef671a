/* Shared checks of the pooling kernels (private). */
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

#endif /* FLYREF_POOL_COMMON_H_ */
