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

#if FR_CONV_MVE
const char fr_path_fully_connected_s8[] = "mve";

/* Cortex-M55 Helium path (MVE notes in flyref_conv_common.h): four filter rows at a time against
 * sixteen raw inputs per VMLADAVA, the rows' weight sums (VADDVA, same loads) times input_offset
 * added after, four outputs requantized as one vector. Any depth, no stack buffers. */
static void fr_fc_mve(const flyref_fc_params *params, const flyref_quant_params *quant, int32_t batches, int32_t k,
                      int32_t out_c, const int8_t *input, const int8_t *filter, const int32_t *bias, int8_t *output,
                      int32_t mode)
{
    fr_mve_out4 ep;
    int32_t b, oc, j;
    for (oc = 0; oc < out_c; oc += 4) {
        const int32_t nb = fr_min(4, out_c - oc);
        const int8_t *w0 = filter + (int64_t)oc * k;
        fr_mve_out4_init(&ep, quant, oc, nb, mode, params->output_offset, params->activation.min,
                         params->activation.max);
        for (b = 0; b < batches; ++b) {
            const int8_t *x = input + (int64_t)b * k;
            int32_t acc[4], sums[4] = {0, 0, 0, 0};
            for (j = 0; j < 4; ++j) acc[j] = bias ? bias[oc + (j < nb ? j : 0)] : 0;
            if (nb == 4) {
                fr_mve_dot4(x, w0, k, k, acc, sums);
            } else {
                for (j = 0; j < nb; ++j) {
                    int32_t one[4], s1[4] = {0, 0, 0, 0};
                    one[0] = one[1] = one[2] = one[3] = acc[j];
                    fr_mve_dot4(x, w0 + (int64_t)j * k, 0, k, one, s1);
                    acc[j] = one[0];
                    sums[j] = s1[0];
                }
            }
            for (j = 0; j < 4; ++j) acc[j] = fr_add(acc[j], fr_mul(params->input_offset, sums[j]));
            fr_mve_out4_store(&ep, acc, output + (int64_t)b * out_c + oc, nb);
        }
    }
}
#elif FR_CONV_DSP
const char fr_path_fully_connected_s8[] = "dsp";

/* Cortex-M DSP path (DSP notes in flyref_conv_common.h): each batch row's (x + input_offset)
 * widened once into int16 lane pairs on the stack (2 * FR_FC_K bytes), then two filter rows at a
 * time (fr_dsp_dot2): one word of weights per row and four inputs, two SXTB16 and two SMLAD. The
 * epilogue takes blocks of four channels; in the last block, spare lanes hold a repeated row or
 * the first channel's bias and are not stored. */
static void fr_fc_dsp(const flyref_fc_params *params, const flyref_quant_params *quant, int32_t batches, int32_t k,
                      int32_t out_c, const int8_t *input, const int8_t *filter, const int32_t *bias, int8_t *output,
                      int32_t mode)
{
    uint32_t xw[FR_FC_K / 2];
    fr_dsp_out4 ep;
    int32_t b, oc, j, j2;
    for (b = 0; b < batches; ++b) {
        int8_t *y = output + (int64_t)b * out_c;
        fr_dsp_widen(input + (int64_t)b * k, k, params->input_offset, xw);
        for (oc = 0; oc < out_c; oc += 4) {
            const int32_t nb = fr_min(4, out_c - oc);
            const int8_t *w0 = filter + (int64_t)oc * k;
            int32_t acc[4];
            for (j = 0; j < 4; ++j) acc[j] = bias ? bias[oc + (j < nb ? j : 0)] : 0;
            /* two rows at a time; a last odd row pairs with itself */
            for (j2 = 0; j2 < nb; j2 += 2) {
                fr_dsp_dot2(xw, w0 + (int64_t)j2 * k, j2 + 1 < nb ? k : 0, k, acc + j2);
            }
            fr_dsp_out4_init(&ep, quant, bias, oc, nb, k, mode, params->output_offset, params->activation.min,
                             params->activation.max);
            fr_dsp_out4_store(&ep, acc[0], acc[1], acc[2], acc[3], y + oc, nb);
        }
    }
}
#else
const char fr_path_fully_connected_s8[] = "portable";
#endif

flyref_status flyref_fully_connected_s8(const flyref_fc_params *params, const flyref_quant_params *quant,
                                        const flyref_dims *input_dims, const int8_t *input,
                                        const flyref_dims *filter_dims, const int8_t *filter,
                                        const int32_t *bias, const flyref_dims *output_dims,
                                        int8_t *output)
{
    int32_t k, out_c, mode, b, oc;
    if (params == 0 || input == 0 || filter == 0 || output == 0) return FLYREF_ARG_ERROR;
    {
        const flyref_status st = fr_fc_check(params, quant, input_dims, filter_dims, output_dims, &k, &out_c);
        if (st != FLYREF_OK) return st;
    }
    mode = fr_mode(params->rounding);
#if FR_CONV_MVE
    if (params->filter_offset == 0) {
        fr_fc_mve(params, quant, input_dims->n, k, out_c, input, filter, bias, output, mode);
        return FLYREF_OK;
    }
#elif FR_CONV_DSP
    if (params->filter_offset == 0 && k <= FR_FC_K) {
        fr_fc_dsp(params, quant, input_dims->n, k, out_c, input, filter, bias, output, mode);
        return FLYREF_OK;
    }
#endif
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
