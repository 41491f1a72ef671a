/*
 * Convolution s8, generic path. Refer to flyref_kernels.h for details.
 * Like arm_convolve_s8, one output pixel's patch is gathered (im2col) into the caller's scratch;
 * padded taps are filled with the input zero point so that (x + input_offset) = 0 for them.
 */
#include "flyref_conv_common.h"

int32_t flyref_conv2d_s8_buffer_size(const flyref_dims *input_dims, const flyref_dims *filter_dims)
{
    (void)input_dims;
    if (!fr_dims_ok(filter_dims)) return 0;
    return filter_dims->h * filter_dims->w * filter_dims->c;
}

flyref_status flyref_conv2d_s8(const flyref_context *ctx, const flyref_conv_params *params,
                               const flyref_quant_params *quant, const flyref_dims *input_dims,
                               const int8_t *input, const flyref_dims *filter_dims,
                               const int8_t *filter, const int32_t *bias,
                               const flyref_dims *output_dims, int8_t *output)
{
    int32_t groups, per_group, patch, mode, b, oy, ox, g;
    int8_t *col;
    flyref_status s = fr_conv_check(params, quant, input_dims, input, filter_dims, filter, output_dims,
                                    output, filter_dims ? filter_dims->n : 0);
    if (s != FLYREF_OK) return s;
    if (input_dims->c % filter_dims->c != 0) return FLYREF_SHAPE_ERROR;
    groups = input_dims->c / filter_dims->c;
    if (filter_dims->n % groups != 0) return FLYREF_SHAPE_ERROR;
    per_group = filter_dims->n / groups;
    patch = filter_dims->h * filter_dims->w * filter_dims->c;
    if (ctx == 0 || ctx->buf == 0 || ctx->size < patch) return FLYREF_ARENA_TOO_SMALL;
    col = (int8_t *)ctx->buf;
    mode = fr_mode(params->rounding);

    for (b = 0; b < input_dims->n; ++b) {
        for (oy = 0; oy < output_dims->h; ++oy) {
            for (ox = 0; ox < output_dims->w; ++ox) {
                int8_t *dst = output + (((int64_t)b * output_dims->h + oy) * output_dims->w + ox) * output_dims->c;
                for (g = 0; g < groups; ++g) {
                    int32_t ky, kx, ic, oc, k = 0;
                    /* im2col: gather group g's taps of this output pixel. */
                    for (ky = 0; ky < filter_dims->h; ++ky) {
                        const int32_t iy = oy * params->stride_h - params->pad_h + ky * params->dilation_h;
                        for (kx = 0; kx < filter_dims->w; ++kx) {
                            const int32_t ix = ox * params->stride_w - params->pad_w + kx * params->dilation_w;
                            if (iy < 0 || iy >= input_dims->h || ix < 0 || ix >= input_dims->w) {
                                for (ic = 0; ic < filter_dims->c; ++ic) col[k++] = (int8_t)(-params->input_offset);
                            } else {
                                const int8_t *src = input + (((int64_t)b * input_dims->h + iy) * input_dims->w + ix) * input_dims->c
                                                    + (int64_t)g * filter_dims->c;
                                for (ic = 0; ic < filter_dims->c; ++ic) col[k++] = src[ic];
                            }
                        }
                    }
                    for (oc = g * per_group; oc < (g + 1) * per_group; ++oc) {
                        const int8_t *w = filter + (int64_t)oc * patch;
                        int32_t acc = bias ? bias[oc] : 0;
                        int32_t i;
                        for (i = 0; i < patch; ++i) {
                            acc = fr_add(acc, (int32_t)w[i] * ((int32_t)col[i] + params->input_offset));
                        }
                        dst[oc] = fr_epilogue(acc, quant, oc, mode, params->output_offset, &params->activation);
                    }
                }
            }
        }
    }
    return FLYREF_OK;
}
