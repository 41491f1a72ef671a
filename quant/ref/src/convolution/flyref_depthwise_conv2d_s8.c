/* Depthwise convolution s8 with channel multiplier. Refer to flyref_kernels.h. */
#include "flyref_conv_common.h"

flyref_status flyref_depthwise_conv2d_s8(const flyref_conv_params *params, int32_t ch_mult,
                                         const flyref_quant_params *quant,
                                         const flyref_dims *input_dims, const int8_t *input,
                                         const flyref_dims *filter_dims, const int8_t *filter,
                                         const int32_t *bias, const flyref_dims *output_dims,
                                         int8_t *output)
{
    int32_t out_c, mode, b, oy, ox;
    flyref_status s;
    if (input_dims == 0 || ch_mult < 1) return FLYREF_ARG_ERROR;
    out_c = input_dims->c * ch_mult;
    s = fr_conv_check(params, quant, input_dims, input, filter_dims, filter, output_dims, output, out_c);
    if (s != FLYREF_OK) return s;
    if (filter_dims->n != 1 || filter_dims->c != out_c) return FLYREF_SHAPE_ERROR;
    mode = fr_mode(params->rounding);

    for (b = 0; b < input_dims->n; ++b) {
        for (oy = 0; oy < output_dims->h; ++oy) {
            for (ox = 0; ox < output_dims->w; ++ox) {
                int8_t *dst = output + (((int64_t)b * output_dims->h + oy) * output_dims->w + ox) * out_c;
                int32_t ic, m;
                for (ic = 0; ic < input_dims->c; ++ic) {
                    for (m = 0; m < ch_mult; ++m) {
                        const int32_t oc = ic * ch_mult + m;
                        int32_t acc = bias ? bias[oc] : 0;
                        int32_t ky, kx;
                        for (ky = 0; ky < filter_dims->h; ++ky) {
                            const int32_t iy = oy * params->stride_h - params->pad_h + ky * params->dilation_h;
                            if (iy < 0 || iy >= input_dims->h) continue;
                            for (kx = 0; kx < filter_dims->w; ++kx) {
                                const int32_t ix = ox * params->stride_w - params->pad_w + kx * params->dilation_w;
                                int32_t x;
                                if (ix < 0 || ix >= input_dims->w) continue;
                                x = input[(((int64_t)b * input_dims->h + iy) * input_dims->w + ix) * input_dims->c + ic];
                                acc = fr_add(acc, (int32_t)filter[((int64_t)ky * filter_dims->w + kx) * out_c + oc] *
                                                      (x + params->input_offset));
                            }
                        }
                        dst[oc] = fr_epilogue(acc, quant, oc, mode, params->output_offset, &params->activation);
                    }
                }
            }
        }
    }
    return FLYREF_OK;
}
