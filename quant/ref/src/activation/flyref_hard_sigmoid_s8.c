/* Hard-sigmoid s8 = relu6(x+3)/6, FlyNet definition (README). Refer to flyref_kernels.h. */
#include "../flyref_internal.h"

flyref_status flyref_hard_sigmoid_s8(const flyref_hard_sigmoid_params *p, int32_t size,
                                     const int8_t *input, int8_t *output)
{
    int32_t i, mode;
    if (p == 0 || input == 0 || output == 0 || size < 0) return FLYREF_ARG_ERROR;
    mode = fr_mode(p->rounding);
    if (mode == 0 || p->input_zero_point < -128 || p->input_zero_point > 127 ||
        p->reluish_multiplier_int16 < 0 || p->reluish_multiplier_int16 > 32767 || p->reluish_exponent < -15 ||
        p->reluish_exponent > 15 || !fr_mult_ok(p->output_multiplier, p->output_shift) ||
        !fr_out_offset_ok(p->output_offset) || !fr_act_ok(&p->activation)) {
        return FLYREF_ARG_ERROR;
    }
    for (i = 0; i < size; ++i) {
        const int32_t v = (int32_t)input[i] - p->input_zero_point;
        const int32_t r = flyref_internal_reluish(v, p->reluish_multiplier_int16, p->reluish_exponent);
        const int32_t o = fr_add(fr_requant(r, p->output_multiplier, p->output_shift, mode), p->output_offset);
        output[i] = (int8_t)fr_clamp(o, p->activation.min, p->activation.max);
    }
    return FLYREF_OK;
}
