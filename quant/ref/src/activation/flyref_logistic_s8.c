/* Sigmoid s8, TFLM Logistic int8 (int8-semantics.md section 8b). Refer to flyref_kernels.h. */
#include "../flyref_internal.h"

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
