/* Hard-swish s8, TFLM reference HardSwish (int8-semantics.md section 8b). Refer to
 * flyref_kernels.h. All intermediates are 16-bit values, as in TFLM.
 * The output is a function of the input code alone, so a large tensor is mapped through a
 * 256-entry table of that same function (on the stack), filled once per call. */
#include "../flyref_internal.h"

/* Tables pay off once a tensor has a few times more elements than the table has entries. */
#define FR_HSWISH_LUT_MIN 1024

static int8_t fr_hswish_one(const flyref_hard_swish_params *p, int32_t x)
{
    const int32_t v = x - p->input_zero_point;
    const int32_t hv = v * 128;
    const int32_t pre = flyref_internal_srdhm16(hv, p->output_multiplier_int16);
    const int32_t r = flyref_internal_reluish(v, p->reluish_multiplier_int16, p->reluish_exponent);
    /* Doubling high multiply WITHOUT rounding (C division truncates), r >= 0 so no saturation. */
    const int32_t prod = (r * pre) / (1 << 15);
    const int32_t o = fr_rdbpot(prod, -p->output_exponent) + p->output_zero_point;
    return (int8_t)fr_clamp(o, -128, 127);
}

flyref_status flyref_hard_swish_s8(const flyref_hard_swish_params *p, int32_t size, const int8_t *input,
                                   int8_t *output)
{
    int32_t i;
    if (p == 0 || input == 0 || output == 0 || size < 0) return FLYREF_ARG_ERROR;
    if (p->input_zero_point < -128 || p->input_zero_point > 127 || p->output_zero_point < -128 ||
        p->output_zero_point > 127 || p->output_multiplier_int16 < 0 || p->output_multiplier_int16 > 32767 ||
        p->output_exponent > 0 || p->output_exponent < -15 || p->reluish_multiplier_int16 < 0 ||
        p->reluish_multiplier_int16 > 32767 || p->reluish_exponent < -15 || p->reluish_exponent > 15) {
        return FLYREF_ARG_ERROR;
    }
    if (size >= FR_HSWISH_LUT_MIN) {
        int8_t lut[256];
        for (i = 0; i < 256; ++i) lut[i] = fr_hswish_one(p, i - 128);
        for (i = 0; i < size; ++i) output[i] = lut[(int32_t)input[i] + 128];
    } else {
        for (i = 0; i < size; ++i) output[i] = fr_hswish_one(p, input[i]);
    }
    return FLYREF_OK;
}
