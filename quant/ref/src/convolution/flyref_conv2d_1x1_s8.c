/* 1x1 convolution fast path (no padding, any stride, groups). Refer to flyref_kernels.h. */
#include "flyref_conv_common.h"

flyref_status flyref_conv2d_1x1_s8(const flyref_conv_params *params, const flyref_quant_params *quant,
                                   const flyref_dims *input_dims, const int8_t *input,
                                   const flyref_dims *filter_dims, const int8_t *filter,
                                   const int32_t *bias, const flyref_dims *output_dims,
                                   int8_t *output)
{
    int32_t groups, per_group, kc, mode, b, oy, ox;
    flyref_status s = fr_conv_check(params, quant, input_dims, input, filter_dims, filter, output_dims,
                                    output, filter_dims ? filter_dims->n : 0);
    if (s != FLYREF_OK) return s;
    if (filter_dims->h != 1 || filter_dims->w != 1 || params->pad_h != 0 || params->pad_w != 0) {
        return FLYREF_ARG_ERROR;
    }
    if ((int64_t)(output_dims->h - 1) * params->stride_h >= input_dims->h ||
        (int64_t)(output_dims->w - 1) * params->stride_w >= input_dims->w) {
        return FLYREF_SHAPE_ERROR;
    }
    kc = filter_dims->c;
    if (input_dims->c % kc != 0) return FLYREF_SHAPE_ERROR;
    groups = input_dims->c / kc;
    if (filter_dims->n % groups != 0) return FLYREF_SHAPE_ERROR;
    per_group = filter_dims->n / groups;
    mode = fr_mode(params->rounding);

    for (b = 0; b < input_dims->n; ++b) {
        for (oy = 0; oy < output_dims->h; ++oy) {
            for (ox = 0; ox < output_dims->w; ++ox) {
                const int8_t *src = input + (((int64_t)b * input_dims->h + oy * params->stride_h) * input_dims->w
                                             + ox * params->stride_w) * input_dims->c;
                int8_t *dst = output + (((int64_t)b * output_dims->h + oy) * output_dims->w + ox) * output_dims->c;
                int32_t oc;
                for (oc = 0; oc < filter_dims->n; ++oc) {
                    const int8_t *x = src + (int64_t)(oc / per_group) * kc;
                    const int8_t *w = filter + (int64_t)oc * kc;
                    int32_t acc = bias ? bias[oc] : 0;
                    int32_t i;
                    for (i = 0; i < kc; ++i) {
                        acc = fr_add(acc, (int32_t)w[i] * ((int32_t)x[i] + params->input_offset));
                    }
                    dst[oc] = fr_epilogue(acc, quant, oc, mode, params->output_offset, &params->activation);
                }
            }
        }
    }
    return FLYREF_OK;
}
