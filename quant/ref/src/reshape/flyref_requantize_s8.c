/* Requantize (rescale) s8 -> s8, TFLM int8 Requantize. Refer to flyref_kernels.h. */
#include "../flyref_internal.h"

flyref_status flyref_requantize_s8(const flyref_requantize_params *p, int32_t size, const int8_t *input,
                                   int8_t *output)
{
    int32_t i, mode;
    if (p == 0 || input == 0 || output == 0 || size < 0) return FLYREF_ARG_ERROR;
    mode = fr_mode(p->rounding);
    if (mode == 0 || !fr_in_offset_ok(p->input_offset) || !fr_out_offset_ok(p->output_offset) ||
        !fr_mult_ok(p->multiplier, p->shift) || !fr_act_ok(&p->activation)) {
        return FLYREF_ARG_ERROR;
    }
    for (i = 0; i < size; ++i) {
        const int32_t v = fr_add(fr_requant((int32_t)input[i] + p->input_offset, p->multiplier, p->shift, mode),
                                 p->output_offset);
        output[i] = (int8_t)fr_clamp(v, p->activation.min, p->activation.max);
    }
    return FLYREF_OK;
}
