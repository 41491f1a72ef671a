/* Softmax s8 (int8-semantics.md section 8). Refer to flyref_kernels.h. */
#include "../flyref_internal.h"
#include "../support/flyref_target.h"

const char fr_path_softmax_s8[] = FR_TARGET_PATH;

/* Rows up to this long keep their exponentials on the stack (4 bytes each). */
#define FR_SOFTMAX_ROW 32

/* Tensors with at least this many elements remember exp(d) per difference d (1 KB of stack). */
#define FR_SOFTMAX_MEMO_MIN 256

/* The same arithmetic as the loop in flyref_softmax_s8 below, with each element's exponential
 * computed once instead of twice (the sum and the output use the same value), and, in large
 * tensors, once per distinct difference d = x - max in [-255, 0] (it depends on nothing else). */
static void fr_softmax_short(const flyref_softmax_params *p, int32_t num_rows, int32_t row_size,
                             const int8_t *input, int8_t *output)
{
    int32_t e[FR_SOFTMAX_ROW];
    int32_t memo[256];
    const int32_t ls = p->input_left_shift, im = p->input_multiplier, diff_min = p->diff_min;
    const int use_memo = (int64_t)num_rows * row_size >= FR_SOFTMAX_MEMO_MIN;
    int32_t r, i;
    if (use_memo) {
        for (i = 0; i < 256; ++i) memo[i] = -1; /* exp_on_negative is never negative */
    }
    for (r = 0; r < num_rows; ++r) {
        const int8_t *x = input + (int64_t)r * row_size;
        int8_t *y = output + (int64_t)r * row_size;
        int32_t mx = -128, sum = 0, hp1, nbou, recip;
        for (i = 0; i < row_size; ++i) mx = fr_max(mx, x[i]);
        for (i = 0; i < row_size; ++i) {
            const int32_t d = (int32_t)x[i] - mx;
            e[i] = 0;
            if (d >= diff_min) {
                if (!use_memo) {
                    e[i] = flyref_internal_exp_on_negative(fr_srdhm(fr_shl(d, ls), im), 5);
                } else {
                    if (memo[-d] < 0) memo[-d] = flyref_internal_exp_on_negative(fr_srdhm(fr_shl(d, ls), im), 5);
                    e[i] = memo[-d];
                }
                sum += fr_rdbpot(e[i], 12);
            }
        }
        hp1 = flyref_internal_clz32((uint32_t)sum);
        nbou = 12 - hp1;
        recip = flyref_internal_one_over_one_plus_x(fr_wrap(((uint32_t)sum << hp1) - 0x80000000u));
        for (i = 0; i < row_size; ++i) {
            const int32_t d = (int32_t)x[i] - mx;
            y[i] = (int8_t)(d >= diff_min ? fr_clamp(fr_rdbpot(fr_srdhm(recip, e[i]), nbou + 23) - 128, -128, 127)
                                          : -128);
        }
    }
}

#if FLYREF_ARM_MVE
/*
 * Short rows (the head softmax: a row is one channel's h heads), four rows per vector: element j
 * of four rows by one gather load at offsets j + row_size * [0, 3], each row's whole computation
 * lane by lane with the fixed-point helpers of flyref_target.h, the outputs by scatter stores.
 * exp(d) comes from a table of all 256 differences d = x - max in [-255, 0], computed four at a
 * time first (it depends on nothing else; differences below diff_min are masked as in the
 * spec). The output's rounding shift nbou + 23 = 35 - clz(sum) is in [23, 35) and its operand
 * SRDHM(recip, e) >= 0, so it is VRSHL by -(35 - clz). Returns 0 for longer rows.
 */
#define FR_SOFTMAX_MVE_ROW 8

static int fr_softmax_target(const flyref_softmax_params *p, int32_t num_rows, int32_t len, const int8_t *input,
                             int8_t *output)
{
    int32_t memo[256];
    int32x4_t e[FR_SOFTMAX_MVE_ROW];
    const uint32x4_t offs = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)len);
    const int32x4_t ls = vdupq_n_s32(p->input_left_shift);
    int32_t i, r, j;
    if (len > FR_SOFTMAX_MVE_ROW) return 0;
    for (i = 0; i < 256; i += 4) {
        const int32x4_t d = vnegq_s32(vreinterpretq_s32_u32(vidupq_n_u32((uint32_t)i, 1)));
        vstrwq_s32(memo + i, fr_exp_on_negative_mve(vqrdmulhq_n_s32(vshlq_s32(d, ls), p->input_multiplier), 5));
    }
    for (r = 0; r < num_rows; r += 4) {
        const mve_pred16_t pr = vctp32q((uint32_t)(num_rows - r));
        const int8_t *x = input + (int64_t)r * len;
        int8_t *y = output + (int64_t)r * len;
        int32x4_t mx = vdupq_n_s32(-128), sum = vdupq_n_s32(0), hp1, recip;
        for (j = 0; j < len; ++j) mx = vmaxq_s32(mx, vldrbq_gather_offset_z_s32(x + j, offs, pr));
        for (j = 0; j < len; ++j) {
            const int32x4_t d = vsubq_s32(vldrbq_gather_offset_z_s32(x + j, offs, pr), mx);
            const int32x4_t ex = vldrwq_gather_shifted_offset_z_s32(memo, vreinterpretq_u32_s32(vnegq_s32(d)), pr);
            e[j] = vpselq_s32(ex, vdupq_n_s32(0), vcmpgeq_s32(d, vdupq_n_s32(p->diff_min)));
            sum = vaddq_s32(sum, vrshrq_n_s32(e[j], 12)); /* e >= 0 */
        }
        hp1 = vclzq_s32(sum);
        recip = fr_one_over_one_plus_x_mve(vsubq_s32(vshlq_s32(sum, hp1), vdupq_n_s32(INT32_MIN)));
        for (j = 0; j < len; ++j) {
            const int32x4_t d = vsubq_s32(vldrbq_gather_offset_z_s32(x + j, offs, pr), mx);
            int32x4_t v = vrshlq_s32(vqrdmulhq_s32(recip, e[j]), vsubq_n_s32(hp1, 35));
            v = vminq_s32(vmaxq_s32(vsubq_n_s32(v, 128), vdupq_n_s32(-128)), vdupq_n_s32(127));
            v = vpselq_s32(v, vdupq_n_s32(-128), vcmpgeq_s32(d, vdupq_n_s32(p->diff_min)));
            vstrbq_scatter_offset_p_s32(y + j, offs, v, pr);
        }
    }
    return 1;
}
#elif FLYREF_ARM_DSP
/*
 * Rows up to FR_SOFTMAX_ROW: the short path's arithmetic with the target's CLZ instruction
 * (flyref_internal_clz32 loops over the bits) and the DSP fixed-point helpers of
 * flyref_target.h; the outputs multiply the positive reciprocal by e >= 0 (no saturation).
 */
static int fr_softmax_target(const flyref_softmax_params *p, int32_t num_rows, int32_t len, const int8_t *input,
                             int8_t *output)
{
    int32_t e[FR_SOFTMAX_ROW];
    int32_t memo[256];
    const int32_t ls = p->input_left_shift, im = p->input_multiplier, diff_min = p->diff_min;
    int32_t r, i;
    if (len > FR_SOFTMAX_ROW) return 0;
    for (i = 0; i < 256; ++i) memo[i] = -1; /* exp_on_negative is never negative */
    for (r = 0; r < num_rows; ++r) {
        const int8_t *x = input + (int64_t)r * len;
        int8_t *y = output + (int64_t)r * len;
        int32_t mx = -128, sum = 0, hp1, sh, recip;
        for (i = 0; i < len; ++i) mx = fr_max(mx, x[i]);
        for (i = 0; i < len; ++i) {
            const int32_t d = (int32_t)x[i] - mx;
            e[i] = 0;
            if (d >= diff_min) {
                if (memo[-d] < 0) memo[-d] = fr_exp_on_negative_dsp(fr_srdhm(fr_shl(d, ls), im), 5);
                e[i] = memo[-d];
                sum += (e[i] >> 12) + ((e[i] >> 11) & 1); /* RDBPOT(e, 12) of e >= 0 (e + 2^11 may overflow) */
            }
        }
        hp1 = __builtin_clz((uint32_t)sum); /* sum >= RDBPOT(exp(0), 12) > 0 */
        sh = 35 - hp1;                       /* nbou + 23, in [23, 35) */
        recip = fr_one_over_one_plus_x_dsp(fr_wrap(((uint32_t)sum << hp1) - 0x80000000u));
        for (i = 0; i < len; ++i) {
            const int32_t d = (int32_t)x[i] - mx;
            const int32_t v = (int32_t)(((int64_t)fr_srdhm_ns(recip, e[i]) + ((int64_t)1 << (sh - 1))) >> sh);
            y[i] = (int8_t)(d >= diff_min ? fr_clamp(v - 128, -128, 127) : -128);
        }
    }
    return 1;
}
#endif

flyref_status flyref_softmax_s8(const flyref_softmax_params *p, int32_t num_rows, int32_t row_size,
                                const int8_t *input, int8_t *output)
{
    int32_t r, i;
    if (p == 0 || input == 0 || output == 0 || num_rows < 1 || row_size < 1 ||
        (int64_t)num_rows * row_size > INT32_MAX || row_size > 4095) {
        return FLYREF_ARG_ERROR;
    }
    if (p->input_multiplier <= 0 || p->input_left_shift < 0 || p->input_left_shift > 31 || p->diff_min > 0) {
        return FLYREF_ARG_ERROR;
    }
#if FLYREF_ARM_DSP || FLYREF_ARM_MVE
    if (fr_softmax_target(p, num_rows, row_size, input, output)) return FLYREF_OK;
#endif
    if (row_size <= FR_SOFTMAX_ROW) {
        fr_softmax_short(p, num_rows, row_size, input, output);
        return FLYREF_OK;
    }
    for (r = 0; r < num_rows; ++r) {
        const int8_t *x = input + (int64_t)r * row_size;
        int8_t *y = output + (int64_t)r * row_size;
        int32_t mx = -128, sum = 0, hp1, nbou, recip;
        for (i = 0; i < row_size; ++i) mx = fr_max(mx, x[i]);
        /* Sum of exp(diff) in Q12.19 (at most 4095 terms of at most 2^19: no overflow). */
        for (i = 0; i < row_size; ++i) {
            const int32_t d = (int32_t)x[i] - mx;
            if (d >= p->diff_min) {
                const int32_t scaled = fr_srdhm(fr_shl(d, p->input_left_shift), p->input_multiplier);
                sum += fr_rdbpot(flyref_internal_exp_on_negative(scaled, 5), 12);
            }
        }
        /* 1/sum: normalise sum to [1, 2) and use 1/(1+x) on the fraction. */
        hp1 = flyref_internal_clz32((uint32_t)sum);
        nbou = 12 - hp1;
        recip = flyref_internal_one_over_one_plus_x(fr_wrap(((uint32_t)sum << hp1) - 0x80000000u));
        for (i = 0; i < row_size; ++i) {
            const int32_t d = (int32_t)x[i] - mx;
            int32_t out = -128;
            if (d >= p->diff_min) {
                const int32_t scaled = fr_srdhm(fr_shl(d, p->input_left_shift), p->input_multiplier);
                const int32_t e = flyref_internal_exp_on_negative(scaled, 5);
                out = fr_clamp(fr_rdbpot(fr_srdhm(recip, e), nbou + 23) - 128, -128, 127);
            }
            y[i] = (int8_t)out;
        }
    }
    return FLYREF_OK;
}
