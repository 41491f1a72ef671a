/* Convolution dispatcher (as arm_convolve_wrapper_s8). Refer to flyref_kernels.h. */
#include "flyref_conv_common.h"

static int is_1x1(const flyref_conv_params *p, const flyref_dims *in_d, const flyref_dims *f_d,
                  const flyref_dims *out_d)
{
    return p != 0 && fr_dims_ok(f_d) && fr_dims_ok(in_d) && f_d->h == 1 && f_d->w == 1 &&
           p->pad_h == 0 && p->pad_w == 0 && p->stride_h >= 1 && p->stride_w >= 1 &&
           (out_d == 0 || ((int64_t)(out_d->h - 1) * p->stride_h < in_d->h &&
                           (int64_t)(out_d->w - 1) * p->stride_w < in_d->w));
}

int32_t flyref_conv2d_wrapper_s8_buffer_size(const flyref_conv_params *params,
                                             const flyref_dims *input_dims,
                                             const flyref_dims *filter_dims)
{
    if (is_1x1(params, input_dims, filter_dims, 0)) return 0;
    return flyref_conv2d_s8_buffer_size(input_dims, filter_dims);
}

int fr_conv2d_reads_packed(const flyref_conv_params *params, const flyref_dims *input_dims,
                           const flyref_dims *filter_dims, const flyref_dims *output_dims, int32_t bits)
{
    return is_1x1(params, input_dims, filter_dims, output_dims) && fr_dims_ok(output_dims) &&
           fr_conv2d_1x1_packed_ok(filter_dims->c, bits);
}

flyref_status fr_conv2d_wrapper_s8_strided(const flyref_context *ctx, const flyref_conv_params *params,
                                           const flyref_quant_params *quant, const flyref_dims *input_dims,
                                           const int8_t *input, const flyref_dims *filter_dims, const int8_t *filter,
                                           const int32_t *bias, const flyref_dims *output_dims, int8_t *output,
                                           int32_t out_stride)
{
    if (is_1x1(params, input_dims, filter_dims, output_dims) && fr_dims_ok(output_dims)) {
        return fr_conv2d_1x1_s8_strided(params, quant, input_dims, input, filter_dims, filter, bias, output_dims,
                                        output, out_stride);
    }
    return fr_conv2d_s8_strided(ctx, params, quant, input_dims, input, filter_dims, filter, bias, output_dims, output,
                                out_stride);
}

flyref_status flyref_conv2d_wrapper_s8(const flyref_context *ctx, const flyref_conv_params *params,
                                       const flyref_quant_params *quant,
                                       const flyref_dims *input_dims, const int8_t *input,
                                       const flyref_dims *filter_dims, const int8_t *filter,
                                       const int32_t *bias, const flyref_dims *output_dims,
                                       int8_t *output)
{
    return fr_conv2d_wrapper_s8_strided(ctx, params, quant, input_dims, input, filter_dims, filter, bias,
                                        output_dims, output, 0);
}
