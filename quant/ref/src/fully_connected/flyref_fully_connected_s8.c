/* Fully connected s8, per tensor or per channel. Refer to flyref_kernels.h. */
#include "../convolution/flyref_conv_common.h"

flyref_status flyref_fully_connected_s8(const flyref_fc_params *params, const flyref_quant_params *quant,
                                        const flyref_dims *input_dims, const int8_t *input,
                                        const flyref_dims *filter_dims, const int8_t *filter,
                                        const int32_t *bias, const flyref_dims *output_dims,
                                        int8_t *output)
{
    int32_t k, out_c, mode, b, oc;
    if (params == 0 || input == 0 || filter == 0 || output == 0) return FLYREF_ARG_ERROR;
    if (!fr_dims_ok(input_dims) || !fr_dims_ok(filter_dims) || !fr_dims_ok(output_dims) ||
        fr_dims_count(input_dims) < 0 || fr_dims_count(filter_dims) < 0 || fr_dims_count(output_dims) < 0) {
        return FLYREF_SHAPE_ERROR;
    }
    k = input_dims->h * input_dims->w * input_dims->c;
    out_c = filter_dims->n;
    if (filter_dims->h * filter_dims->w * filter_dims->c != k || output_dims->n != input_dims->n ||
        output_dims->h * output_dims->w * output_dims->c != out_c) {
        return FLYREF_SHAPE_ERROR;
    }
    if (!fr_in_offset_ok(params->input_offset) || !fr_in_offset_ok(params->filter_offset) ||
        !fr_out_offset_ok(params->output_offset) || !fr_act_ok(&params->activation) ||
        fr_mode(params->rounding) == 0 || !fr_quant_ok(quant, out_c)) {
        return FLYREF_ARG_ERROR;
    }
    mode = fr_mode(params->rounding);
    for (b = 0; b < input_dims->n; ++b) {
        const int8_t *x = input + (int64_t)b * k;
        for (oc = 0; oc < out_c; ++oc) {
            const int8_t *w = filter + (int64_t)oc * k;
            int32_t acc = bias ? bias[oc] : 0;
            int32_t i;
            for (i = 0; i < k; ++i) {
                acc = fr_add(acc, ((int32_t)w[i] + params->filter_offset) * ((int32_t)x[i] + params->input_offset));
            }
            output[(int64_t)b * out_c + oc] =
                fr_epilogue(acc, quant, oc, mode, params->output_offset, &params->activation);
        }
    }
    return FLYREF_OK;
}
