/* Leaky ReLU s8: two requantizations of v = x - zp_in, chosen by the sign of v. Refer to
 * flyref_kernels.h. */
#include "../flyref_internal.h"

flyref_status flyref_leaky_relu_s8(const flyref_leaky_relu_params *p, int32_t size, const int8_t *input,
                                   int8_t *output)
{
    int32_t i, mode;
    if (p == 0 || input == 0 || output == 0 || size < 0) return FLYREF_ARG_ERROR;
    mode = fr_mode(p->rounding);
    if (mode == 0 || !fr_in_offset_ok(p->input_offset) || !fr_out_offset_ok(p->output_offset) ||
        !fr_mult_ok(p->identity_multiplier, p->identity_shift) || !fr_mult_ok(p->alpha_multiplier, p->alpha_shift) ||
        !fr_act_ok(&p->activation)) {
        return FLYREF_ARG_ERROR;
    }
    for (i = 0; i < size; ++i) {
        const int32_t v = (int32_t)input[i] + p->input_offset;
        const int32_t r = v >= 0 ? fr_requant(v, p->identity_multiplier, p->identity_shift, mode)
                                 : fr_requant(v, p->alpha_multiplier, p->alpha_shift, mode);
        output[i] = (int8_t)fr_clamp(fr_add(r, p->output_offset), p->activation.min, p->activation.max);
    }
    return FLYREF_OK;
}
