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

/*
 * Vector-friendly accumulation helpers of the fast paths. Each product w * v has |w| <= 128 and
 * |v| <= 255 (v = x + input_offset), so it is exact in int16 and the compiler can use 16-bit
 * vector multiplies; sums are kept in uint32, i.e. modulo 2^32 like the spec's fr_add chain.
 */

/* acc[i] += w[i] * v */
static inline void fr_mac_1(uint32_t *restrict acc, const int8_t *restrict w, int32_t v, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; ++i) acc[i] += (uint32_t)(int32_t)(int16_t)(w[i] * v);
}

/* acc[i] += w0[i] * v0 + w1[i] * v1 */
static inline void fr_mac_2(uint32_t *restrict acc, const int8_t *restrict w0, const int8_t *restrict w1, int32_t v0,
                            int32_t v1, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        acc[i] += (uint32_t)((int32_t)(int16_t)(w0[i] * v0) + (int32_t)(int16_t)(w1[i] * v1));
    }
}

/* fr_mac_1 / fr_mac_2 for n a multiple of 16 (padded blocks): no loop remainder to handle. */
static inline void fr_mac16_1(uint32_t *restrict acc, const int8_t *restrict w, int32_t v, int32_t n)
{
    const int32_t n16 = n & ~15;
    int32_t i;
    for (i = 0; i < n16; ++i) acc[i] += (uint32_t)(int32_t)(int16_t)(w[i] * v);
}

static inline void fr_mac16_2(uint32_t *restrict acc, const int8_t *restrict w0, const int8_t *restrict w1,
                              int32_t v0, int32_t v1, int32_t n)
{
    const int32_t n16 = n & ~15;
    int32_t i;
    for (i = 0; i < n16; ++i) {
        acc[i] += (uint32_t)((int32_t)(int16_t)(w0[i] * v0) + (int32_t)(int16_t)(w1[i] * v1));
    }
}

/* Four filter rows against one int16 vector (x + input_offset), in int32: exact while
 * k * 128 * 255 < 2^31. The 8-wide inner blocks let the compiler use 16-bit multiply-add vector
 * instructions. */
static inline void fr_dot4(const int8_t *restrict w0, const int8_t *restrict w1, const int8_t *restrict w2,
                    const int8_t *restrict w3, const int16_t *restrict xs, int32_t k, int32_t *restrict out)
{
    int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0, i, j;
    const int32_t k8 = k & ~7;
    for (i = 0; i < k8; i += 8) {
        for (j = 0; j < 8; ++j) {
            const int32_t x = xs[i + j];
            s0 += w0[i + j] * x;
            s1 += w1[i + j] * x;
            s2 += w2[i + j] * x;
            s3 += w3[i + j] * x;
        }
    }
    for (; i < k; ++i) {
        const int32_t x = xs[i];
        s0 += w0[i] * x;
        s1 += w1[i] * x;
        s2 += w2[i] * x;
        s3 += w3[i] * x;
    }
    out[0] = s0;
    out[1] = s1;
    out[2] = s2;
    out[3] = s3;
}

static inline int32_t fr_dot1(const int8_t *restrict w, const int16_t *restrict xs, int32_t k)
{
    int32_t s = 0, i;
    for (i = 0; i < k; ++i) s += w[i] * xs[i];
    return s;
}

#endif /* FLYREF_CONV_COMMON_H_ */
