/*
 * Fixed-point primitives: int8-semantics.md sections 1.1-1.5 (SRDHM, RDBPOT, requantize, the
 * gemmlowp exp / 1/(1+x) helpers used by softmax and logistic, and the 16-bit hard-swish steps).
 */
#include "../flyref_internal.h"

int32_t flyref_srdhm(int32_t a, int32_t b) { return fr_srdhm(a, b); }

int32_t flyref_rdbpot(int32_t x, int32_t e)
{
    if (e < 0 || e > 31) {
        return 0; /* documented precondition; keep the function total */
    }
    return fr_rdbpot(x, e);
}

int32_t flyref_requantize_double(int32_t x, int32_t mult, int32_t shift)
{
    if (!fr_mult_ok(mult, shift)) return 0;
    return fr_requant_double(x, mult, shift);
}

int32_t flyref_requantize_single(int32_t x, int32_t mult, int32_t shift)
{
    if (!fr_mult_ok(mult, shift)) return 0;
    return fr_requant_single(x, mult, shift);
}

int32_t flyref_requantize(int32_t x, int32_t mult, int32_t shift, int32_t rounding)
{
    const int32_t mode = fr_mode(rounding);
    if (mode == 0 || !fr_mult_ok(mult, shift)) return 0;
    return fr_requant(x, mult, shift, mode);
}

/* gemmlowp SaturatingRoundingMultiplyByPOT<e>: saturating left shift for e >= 0, rounding
 * divide for e < 0. */
int32_t flyref_internal_sat_shl(int32_t x, int32_t e)
{
    int64_t t;
    if (e <= 0) {
        return fr_rdbpot(x, -e);
    }
    t = ((int64_t)1 << (31 - e)) - 1;
    if (x > t) return INT32_MAX;
    if (x < -t) return INT32_MIN;
    return fr_shl(x, e);
}

static int32_t rounding_half_sum(int32_t a, int32_t b)
{
    const int64_t s = (int64_t)a + b;
    return (int32_t)((s + (s >= 0 ? 1 : -1)) / 2);
}

/* exp(a) for a in [-1/4, 0), Q0.31 in and out: Taylor series around -1/8. */
static int32_t exp_interval(int32_t a)
{
    const int32_t exp_m1_8 = 1895147668;  /* exp(-1/8) in Q0.31 */
    const int32_t one_third = 715827883;  /* 1/3 in Q0.31 */
    const int32_t x = fr_add(a, 1 << 28); /* a + 1/8 */
    const int32_t x2 = fr_srdhm(x, x);
    const int32_t x3 = fr_srdhm(x2, x);
    const int32_t x4 = fr_srdhm(x2, x2);
    const int32_t x4_over_4 = fr_rdbpot(x4, 2);
    const int32_t poly = fr_rdbpot(fr_add(fr_srdhm(fr_add(x4_over_4, x3), one_third), x2), 1);
    return fr_add(exp_m1_8, fr_srdhm(exp_m1_8, fr_add(x, poly)));
}

/* gemmlowp exp_on_negative_values<int32, int_bits>: a <= 0 in Q(int_bits).(31-int_bits),
 * result Q0.31. */
int32_t flyref_internal_exp_on_negative(int32_t a, int32_t int_bits)
{
    /* exp(-1/4), exp(-1/2), exp(-1), exp(-2), exp(-4), exp(-8), exp(-16) in Q0.31 */
    static const int32_t k_mult[7] = {1672461947, 1302514674, 790015084, 290630308,
                                      39332535,   720401,     242};
    const int32_t frac_bits = 31 - int_bits;
    const int32_t quarter = (int32_t)1 << (frac_bits - 2);
    const int32_t amq = fr_sub(a & (quarter - 1), quarter); /* in [-1/4, 0) */
    const int32_t rem = fr_sub(amq, a);
    int32_t r = exp_interval(flyref_internal_sat_shl(amq, int_bits));
    int32_t i;
    for (i = 0; i < 7; ++i) {
        const int32_t exponent = i - 2; /* multiplier i is exp(-2^exponent) */
        if (int_bits > exponent) {
            const uint32_t bit = (uint32_t)1 << (frac_bits + exponent);
            if (((uint32_t)rem & bit) != 0) {
                r = fr_srdhm(r, k_mult[i]);
            }
        }
    }
    if (int_bits > 5) {
        const int64_t clamp = -((int64_t)1 << (36 - int_bits)); /* -32.0 */
        if (a < clamp) r = 0;
    }
    if (a == 0) r = INT32_MAX;
    return r;
}

/* gemmlowp one_over_one_plus_x_for_x_in_0_1: Newton-Raphson for 1/(1+x), Q0.31 in and out. */
int32_t flyref_internal_one_over_one_plus_x(int32_t a)
{
    const int32_t k48_17 = 1515870810;      /* 48/17 in Q2.29 */
    const int32_t kneg32_17 = -1010580540;  /* -32/17 in Q2.29 */
    const int32_t h = rounding_half_sum(a, INT32_MAX); /* (1 + x) / 2 */
    int32_t x = fr_add(k48_17, fr_srdhm(h, kneg32_17));
    int i;
    for (i = 0; i < 3; ++i) {
        const int32_t hx = fr_srdhm(h, x);
        const int32_t one_minus = fr_sub((int32_t)1 << 29, hx);
        x = fr_add(x, flyref_internal_sat_shl(fr_srdhm(x, one_minus), 2));
    }
    return flyref_internal_sat_shl(x, 1);
}

int32_t flyref_internal_clz32(uint32_t x)
{
    int32_t n = 0;
    if (x == 0) return 32;
    while ((x & 0x80000000u) == 0) {
        x <<= 1;
        ++n;
    }
    return n;
}

int32_t flyref_internal_srdhm16(int32_t a, int32_t b)
{
    if (a == -32768 && b == -32768) return 32767;
    return (a * b + (1 << 14)) >> 15; /* |a*b| <= 2^30: no overflow */
}

static int32_t sat16(int64_t v) { return v > 32767 ? 32767 : (v < -32768 ? -32768 : (int32_t)v); }

int32_t flyref_internal_reluish(int32_t v, int32_t rm16, int32_t rexp)
{
    int32_t r = v * 128; /* hires input scale, |r| <= 32640 */
    if (rexp > 0) {
        r = sat16((int64_t)r * ((int64_t)1 << (rexp - 1)));
    }
    r = flyref_internal_srdhm16(r, rm16);
    if (rexp > 0) {
        r = sat16((int64_t)r * 2);
    }
    if (rexp < 0) {
        r = fr_rdbpot(r, -rexp);
    }
    return (r + 32768) >> 1; /* [-1, 1] -> [0, 1] in Q0.15 */
}
