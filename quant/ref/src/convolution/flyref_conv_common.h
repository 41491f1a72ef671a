/* Shared argument checks of the convolution kernels (private). */
#ifndef FLYREF_CONV_COMMON_H_
#define FLYREF_CONV_COMMON_H_

#include "../flyref_internal.h"

static inline flyref_status fr_conv_check(const flyref_conv_params *p, const flyref_quant_params *q,
                                          const flyref_dims *in_d, const void *in,
                                          const flyref_dims *f_d, const void *f,
                                          const flyref_dims *out_d, const void *out, int32_t out_c)
{
    if (p == 0 || in == 0 || f == 0 || out == 0) return FLYREF_ARG_ERROR;
    if (!fr_dims_ok(in_d) || !fr_dims_ok(f_d) || !fr_dims_ok(out_d)) return FLYREF_SHAPE_ERROR;
    if (fr_dims_count(in_d) < 0 || fr_dims_count(out_d) < 0 || fr_dims_count(f_d) < 0) {
        return FLYREF_SHAPE_ERROR;
    }
    if (out_d->n != in_d->n || out_d->c != out_c) return FLYREF_SHAPE_ERROR;
    if (p->stride_h < 1 || p->stride_w < 1 || p->dilation_h < 1 || p->dilation_w < 1 ||
        p->pad_h < 0 || p->pad_w < 0) {
        return FLYREF_ARG_ERROR;
    }
    /* Keep every tap coordinate (o*stride - pad + k*dilation) far inside int32. */
    if ((int64_t)(out_d->h - 1) * p->stride_h + (int64_t)(f_d->h - 1) * p->dilation_h > (1 << 28) ||
        (int64_t)(out_d->w - 1) * p->stride_w + (int64_t)(f_d->w - 1) * p->dilation_w > (1 << 28) ||
        p->pad_h > (1 << 28) || p->pad_w > (1 << 28)) {
        return FLYREF_ARG_ERROR;
    }
    if (!fr_in_offset_ok(p->input_offset) || !fr_out_offset_ok(p->output_offset) ||
        !fr_act_ok(&p->activation) || fr_mode(p->rounding) == 0 || !fr_quant_ok(q, out_c)) {
        return FLYREF_ARG_ERROR;
    }
    return FLYREF_OK;
}

/** Epilogue of conv / depthwise / FC. */
static inline int8_t fr_epilogue(int32_t acc, const flyref_quant_params *q, int32_t c, int32_t mode,
                                 int32_t out_offset, const flyref_activation *act)
{
    const int32_t i = q->count == 1 ? 0 : c;
    int32_t v = fr_requant(acc, q->multiplier[i], q->shift[i], mode);
    v = fr_add(v, out_offset);
    return (int8_t)fr_clamp(v, act->min, act->max);
}

#endif /* FLYREF_CONV_COMMON_H_ */
