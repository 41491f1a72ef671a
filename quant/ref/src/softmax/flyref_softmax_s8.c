/* Softmax s8 (int8-semantics.md section 8). Refer to flyref_kernels.h. */
#include "../flyref_internal.h"

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
