/* Hard-swish s8, TFLM reference HardSwish (int8-semantics.md section 8b). Refer to
 * flyref_kernels.h. All intermediates are 16-bit values, as in TFLM.
 * The output is a function of the input code alone, so a large tensor is mapped through a
 * 256-entry table of that same function (on the stack), filled once per call. */
#include "../flyref_internal.h"
#include "../support/flyref_target.h"

const char fr_path_hard_swish_s8[] = FR_TARGET_PATH;

/* Tables pay off once a tensor has a few times more elements than the table has entries. */
#define FR_HSWISH_LUT_MIN 1024
/* The target paths' table: MVE fills it 4 codes at a time, DSP reads it 4 bytes at a time. */
#if FLYREF_ARM_MVE
#define FR_HSWISH_TARGET_MIN 64
#else
#define FR_HSWISH_TARGET_MIN 512
#endif

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

#if FLYREF_ARM_MVE
/*
 * The table, four codes at a time, fr_hswish_one lane by lane in int32: every 16-bit step of
 * the spec fits (|v * 128| <= 32640, products of two 16-bit values < 2^30), sat16 is a clamp,
 * srdhm16 never sees -32768 * -32768 (the multipliers are >= 0), and the product's division by
 * 2^15 truncates toward zero: (t + ((t >> 31) & 32767)) >> 15.
 */
static void fr_hswish_table(const flyref_hard_swish_params *p, int8_t *lut)
{
    const int32x4_t lo16 = vdupq_n_s32(-32768), hi16 = vdupq_n_s32(32767);
    const int32_t rexp = p->reluish_exponent, oexp = -p->output_exponent;
    int32_t i;
    for (i = 0; i < 256; i += 4) {
        const int32x4_t v = vsubq_n_s32(vsubq_n_s32(vreinterpretq_s32_u32(vidupq_n_u32((uint32_t)i, 1)), 128),
                                        p->input_zero_point);
        const int32x4_t hv = vmulq_n_s32(v, 128);
        const int32x4_t pre = vshrq_n_s32(vaddq_n_s32(vmulq_n_s32(hv, p->output_multiplier_int16), 1 << 14), 15);
        int32x4_t r = hv, t, o;
        if (rexp > 0) r = vminq_s32(vmaxq_s32(vmulq_n_s32(r, (int32_t)1 << (rexp - 1)), lo16), hi16);
        r = vshrq_n_s32(vaddq_n_s32(vmulq_n_s32(r, p->reluish_multiplier_int16), 1 << 14), 15);
        if (rexp > 0) r = vminq_s32(vmaxq_s32(vmulq_n_s32(r, 2), lo16), hi16);
        if (rexp < 0) r = fr_rdbpot_mve(r, -rexp);
        r = vshrq_n_s32(vaddq_n_s32(r, 32768), 1);
        t = vmulq_s32(r, pre);
        t = vshrq_n_s32(vaddq_s32(t, vandq_s32(vshrq_n_s32(t, 31), vdupq_n_s32(32767))), 15);
        o = oexp > 0 ? fr_rdbpot_mve(t, oexp) : t;
        o = vminq_s32(vmaxq_s32(vaddq_n_s32(o, p->output_zero_point), vdupq_n_s32(-128)), vdupq_n_s32(127));
        vstrbq_s32(lut + i, o);
    }
}
#elif FLYREF_ARM_DSP
/* The table, one code at a time with the MVE version's int32 arithmetic (the same argument),
 * inline instead of through the 16-bit helpers of flyref_fixed_point.c. */
static void fr_hswish_table(const flyref_hard_swish_params *p, int8_t *lut)
{
    const int32_t rexp = p->reluish_exponent, oexp = -p->output_exponent;
    const int32_t om = p->output_multiplier_int16, rm = p->reluish_multiplier_int16;
    int32_t i;
    for (i = 0; i < 256; ++i) {
        const int32_t hv = (i - 128 - p->input_zero_point) * 128;
        const int32_t pre = (hv * om + (1 << 14)) >> 15;
        int32_t r = hv, t;
        if (rexp > 0) r = fr_clamp(r * ((int32_t)1 << (rexp - 1)), -32768, 32767);
        r = (r * rm + (1 << 14)) >> 15;
        if (rexp > 0) r = fr_clamp(r * 2, -32768, 32767);
        if (rexp < 0) r = fr_rdbpot(r, -rexp);
        r = (r + 32768) >> 1;
        t = r * pre;
        t = (t + ((t >> 31) & 32767)) >> 15;
        lut[i] = (int8_t)fr_clamp(fr_rdbpot(t, oexp) + p->output_zero_point, -128, 127);
    }
}
#endif

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
#if FLYREF_ARM_DSP || FLYREF_ARM_MVE
    if (size >= FR_HSWISH_TARGET_MIN) {
        int8_t lut[256];
        fr_hswish_table(p, lut);
        fr_lut_apply(lut, input, output, size);
        return FLYREF_OK;
    }
#endif
    if (size >= FR_HSWISH_LUT_MIN) {
        int8_t lut[256];
        for (i = 0; i < 256; ++i) lut[i] = fr_hswish_one(p, i - 128);
        for (i = 0; i < size; ++i) output[i] = lut[(int32_t)input[i] + 128];
    } else {
        for (i = 0; i < size; ++i) output[i] = fr_hswish_one(p, input[i]);
    }
    return FLYREF_OK;
}
