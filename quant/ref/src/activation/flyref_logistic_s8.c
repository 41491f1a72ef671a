/* Sigmoid s8, TFLM Logistic int8 (int8-semantics.md section 8b). Refer to flyref_kernels.h. */
#include "../flyref_internal.h"
#include "../support/flyref_target.h"

const char fr_path_logistic_s8[] = FR_TARGET_PATH;

#if FLYREF_ARM_DSP || FLYREF_ARM_MVE
/*
 * Target paths: the output is a function of the input code alone, so tensors of at least 256
 * elements map through a 256-entry table of the spec's function (the loop below, with the DSP
 * fixed-point helpers of flyref_target.h, which take exp's argument a <= 0 and 1/(1+x)'s a >= 0
 * as the spec passes them), applied 4 (DSP) or 16 (MVE) bytes at a time.
 */
static int8_t fr_logistic_one(const flyref_logistic_params *p, int32_t mode, int32_t x)
{
    const int32_t v = x - p->input_zero_point;
    int32_t l;
    if (v <= -p->input_range_radius) return -128;
    if (v >= p->input_range_radius) return 127;
    {
        const int32_t a = fr_requant(v, p->input_multiplier, p->input_left_shift, mode);
        if (a == 0) {
            l = 1 << 30;
        } else if (a > 0) {
            l = fr_one_over_one_plus_x_dsp(fr_exp_on_negative_dsp(fr_sub(0, a), 4));
        } else {
            l = INT32_MAX - fr_one_over_one_plus_x_dsp(fr_exp_on_negative_dsp(a, 4));
        }
    }
    return (int8_t)fr_clamp(fr_rdbpot(l, 23) - 128, -128, 127);
}
#endif

flyref_status flyref_logistic_s8(const flyref_logistic_params *p, int32_t size, const int8_t *input,
                                 int8_t *output)
{
    int32_t i, mode;
    if (p == 0 || input == 0 || output == 0 || size < 0) return FLYREF_ARG_ERROR;
    mode = fr_mode(p->rounding);
    if (mode == 0 || p->input_zero_point < -128 || p->input_zero_point > 127 ||
        !fr_mult_ok(p->input_multiplier, p->input_left_shift) || p->input_range_radius < 0) {
        return FLYREF_ARG_ERROR;
    }
#if FLYREF_ARM_DSP || FLYREF_ARM_MVE
    if (size >= 256) {
        int8_t lut[256];
        for (i = 0; i < 256; ++i) lut[i] = fr_logistic_one(p, mode, i - 128);
        fr_lut_apply(lut, input, output, size);
        return FLYREF_OK;
    }
#endif
    for (i = 0; i < size; ++i) {
        const int32_t v = (int32_t)input[i] - p->input_zero_point;
        int32_t out;
        if (v <= -p->input_range_radius) {
            out = -128;
        } else if (v >= p->input_range_radius) {
            out = 127;
        } else {
            /* a in Q4.27; logistic(a) in Q0.31 via 1/(1+exp(-|a|)) and symmetry. */
            const int32_t a = fr_requant(v, p->input_multiplier, p->input_left_shift, mode);
            int32_t l;
            if (a == 0) {
                l = 1 << 30;
            } else if (a > 0) {
                l = flyref_internal_one_over_one_plus_x(flyref_internal_exp_on_negative(fr_sub(0, a), 4));
            } else {
                l = INT32_MAX - flyref_internal_one_over_one_plus_x(flyref_internal_exp_on_negative(a, 4));
            }
            out = fr_clamp(fr_rdbpot(l, 23) - 128, -128, 127);
        }
        output[i] = (int8_t)out;
    }
    return FLYREF_OK;
}
