/* Elementwise mul s8 (TFLM MulElementwise / arm_elementwise_mul_s8). Refer to flyref_kernels.h. */
#include "flyref_broadcast.h"

flyref_status flyref_mul_s8(const flyref_mul_params *p, const flyref_dims *input1_dims,
                            const int8_t *input1, const flyref_dims *input2_dims,
                            const int8_t *input2, const flyref_dims *output_dims, int8_t *output)
{
    fr_bcast b;
    int32_t mode;
    flyref_status s;
    if (p == 0) return FLYREF_ARG_ERROR;
    s = fr_bcast_init(&b, input1_dims, input1, input2_dims, input2, output_dims, output);
    if (s != FLYREF_OK) return s;
    mode = fr_mode(p->rounding);
    if (mode == 0 || !fr_in_offset_ok(p->input1_offset) || !fr_in_offset_ok(p->input2_offset) ||
        !fr_out_offset_ok(p->output_offset) || !fr_act_ok(&p->activation) ||
        !fr_mult_ok(p->output_multiplier, p->output_shift)) {
        return FLYREF_ARG_ERROR;
    }
    FR_BCAST_LOOP(b, output_dims, {
        const int32_t prod = ((int32_t)input1[i1] + p->input1_offset) * ((int32_t)input2[i2] + p->input2_offset);
        int32_t v = fr_requant(prod, p->output_multiplier, p->output_shift, mode);
        v = fr_add(v, p->output_offset);
        output[io] = (int8_t)fr_clamp(v, p->activation.min, p->activation.max);
    });
    return FLYREF_OK;
}
