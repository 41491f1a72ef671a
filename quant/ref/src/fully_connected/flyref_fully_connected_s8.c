/*
 * Fully connected s8, per tensor or per channel. Refer to flyref_kernels.h.
 * Fast path (filter_offset 0, K <= FR_FC_K): each batch row's (x + input_offset) widened once to
 * int16 on the stack and dotted with the filter rows in int32; bit-exact because every product
 * is exact, the dot of at most FR_FC_K products stays below 2^25, and adding it to the bias
 * modulo 2^32 (fr_add) gives the spec's wrapping sum, whatever the order.
 */
#include "../convolution/flyref_conv_common.h"

/* Stack use of the fast path: 2 * FR_FC_K bytes. */
#define FR_FC_K 1024

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
    if (params->filter_offset == 0 && k <= FR_FC_K) {
        int16_t xs[FR_FC_K];
        int32_t sum[4], i, t;
        for (b = 0; b < input_dims->n; ++b) {
            const int8_t *x = input + (int64_t)b * k;
            int8_t *y = output + (int64_t)b * out_c;
            for (i = 0; i < k; ++i) xs[i] = (int16_t)(x[i] + params->input_offset);
            for (oc = 0; oc + 4 <= out_c; oc += 4) {
                const int8_t *w = filter + (int64_t)oc * k;
                fr_dot4(w, w + k, w + 2 * k, w + 3 * k, xs, k, sum);
                for (t = 0; t < 4; ++t) {
                    y[oc + t] = fr_epilogue(fr_add(bias ? bias[oc + t] : 0, sum[t]), quant, oc + t, mode,
                                            params->output_offset, &params->activation);
                }
            }
            for (; oc < out_c; ++oc) {
                y[oc] = fr_epilogue(fr_add(bias ? bias[oc] : 0, fr_dot1(filter + (int64_t)oc * k, xs, k)), quant, oc,
                                    mode, params->output_offset, &params->activation);
            }
        }
        return FLYREF_OK;
    }
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
