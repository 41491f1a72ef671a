/*
 * Per-output-channel requantization on the Armv8.1-M MVE (Helium) paths (Cortex-M55): private,
 * shared by the depthwise (flyref_dw_mve.h) and 1x1 paths, whose accumulators come four output
 * pixels of one channel at a time, so a channel's constants are scalars for the whole vector.
 *
 * Why each form equals fr_requant(acc, mult, shift, mode) for every int32 acc:
 *   FR_MCH_DOUBLE (double rounding, shift < 0): VQRDMULH = SRDHM (its saturating case needs both
 *     operands INT32_MIN; the multiplier is >= 0), then RDBPOT by rs = -shift as VRSHL by -rs of
 *     h + (h >> 31): VRSHL rounds half up, (t + 2^(rs-1)) >> rs, in exact arithmetic, and
 *     h - [h < 0] turns that into round half away from zero; h > INT32_MIN, so h - 1 cannot wrap;
 *   FR_MCH_DOUBLE_RS0 (double rounding, shift >= 0): VSHL (acc << shift, wrapping like fr_shl),
 *     then VQRDMULH;
 *   FR_MCH_SINGLE_HI (single rounding, shift <= -2, t = 31 - shift >= 33):
 *     (acc m + 2^(t-1)) >> t = (H + 2^(t-33)) >> (t-32) with H = VMULH = floor(acc m / 2^32),
 *     because 2^(t-1) is a multiple of 2^32: VRSHL by -(t - 32) = shift + 1;
 *   FR_MCH_SINGLE_32 (single rounding, shift = -1, t = 32): VRMULH, (acc m + 2^31) >> 32;
 *   FR_MCH_LANES (single rounding, shift >= 0, where the spec wraps the 64-bit result):
 *     fr_rq_apply lane by lane.
 * The callers add output_offset (VADD wraps like fr_add), clamp with VMAX / VMIN and store the
 * low bytes.
 */
#ifndef FLYREF_CONV_MVE_H_
#define FLYREF_CONV_MVE_H_

#include "../support/flyref_target.h"

#if FLYREF_ARM_MVE
#include <arm_mve.h>

#include "flyref_conv_common.h"

enum { FR_MCH_DOUBLE = 0, FR_MCH_DOUBLE_RS0 = 1, FR_MCH_SINGLE_HI = 2, FR_MCH_SINGLE_32 = 3, FR_MCH_LANES = 4 };

/* Constants of one output channel. */
typedef struct fr_mch {
    int32_t bias, mult, ls, rsh, form; /* bias: the accumulator's start; rsh: the (negative) VRSHL amount */
    fr_rq rq;                          /* form FR_MCH_LANES */
} fr_mch;

/* mode resolved; mult >= 0, shift in [-31, 30] (fr_quant_ok). */
static inline void fr_mch_init(fr_mch *c, int32_t bias, int32_t mult, int32_t shift, int32_t mode)
{
    c->bias = bias;
    c->mult = mult;
    c->ls = shift > 0 ? shift : 0;
    if (mode == FLYNET_ROUNDING_DOUBLE) {
        c->form = shift >= 0 ? FR_MCH_DOUBLE_RS0 : FR_MCH_DOUBLE;
        c->rsh = shift >= 0 ? 0 : shift;
    } else {
        c->form = shift <= -2 ? FR_MCH_SINGLE_HI : (shift == -1 ? FR_MCH_SINGLE_32 : FR_MCH_LANES);
        c->rsh = shift <= -2 ? shift + 1 : 0;
        fr_rq_init(&c->rq, mult, shift, mode);
    }
}

/* fr_rq_apply lane by lane; out of line, it is rare. */
#if defined(__GNUC__)
__attribute__((noinline, unused))
#endif
static int32x4_t fr_mch_lanes(int32x4_t acc, const fr_rq *rq)
{
    int32_t a[4], i;
    vst1q_s32(a, acc);
    for (i = 0; i < 4; ++i) a[i] = fr_rq_apply(rq, a[i]);
    return vld1q_s32(a);
}

/* Four lanes of the requantization of form FORM (a constant at the call site, so the switch
 * folds), without the output offset; the constants as arguments, so a caller's loop keeps them in
 * registers. */
FR_INLINE int32x4_t fr_mch_rq(const int FORM, int32x4_t a, int32_t mult, int32_t ls, int32_t rsh, const fr_rq *rq)
{
    int32x4_t v;
    switch (FORM) {
    case FR_MCH_DOUBLE:
        v = vqrdmulhq_n_s32(a, mult);
        return vrshlq_n_s32(vaddq_s32(v, vshrq_n_s32(v, 31)), rsh);
    case FR_MCH_DOUBLE_RS0:
        return vqrdmulhq_n_s32(vshlq_r_s32(a, ls), mult);
    case FR_MCH_SINGLE_HI:
        return vrshlq_n_s32(vmulhq_s32(a, vdupq_n_s32(mult)), rsh);
    case FR_MCH_SINGLE_32:
        return vrmulhq_s32(a, vdupq_n_s32(mult));
    default:
        return fr_mch_lanes(a, rq);
    }
}

/* Any form, chosen at run time (for the rare ones). */
#if defined(__GNUC__)
__attribute__((noinline, unused))
#endif
static int32x4_t fr_mch_rq_any(int32x4_t a, const fr_mch *c)
{
    switch (c->form) {
    case FR_MCH_DOUBLE: return fr_mch_rq(FR_MCH_DOUBLE, a, c->mult, c->ls, c->rsh, &c->rq);
    case FR_MCH_DOUBLE_RS0: return fr_mch_rq(FR_MCH_DOUBLE_RS0, a, c->mult, c->ls, c->rsh, &c->rq);
    case FR_MCH_SINGLE_HI: return fr_mch_rq(FR_MCH_SINGLE_HI, a, c->mult, c->ls, c->rsh, &c->rq);
    case FR_MCH_SINGLE_32: return fr_mch_rq(FR_MCH_SINGLE_32, a, c->mult, c->ls, c->rsh, &c->rq);
    default: return fr_mch_rq(FR_MCH_LANES, a, c->mult, c->ls, c->rsh, &c->rq);
    }
}

/* Four scalars as the lanes of one vector: two lane-pair moves (VMOV Qd[2], Qd[0], Rt, Rt2). */
FR_INLINE int32x4_t fr_mch_vec4(int32_t a0, int32_t a1, int32_t a2, int32_t a3)
{
    int32x4_t v;
    __asm__("vmov %q0[2], %q0[0], %1, %2\n\tvmov %q0[3], %q0[1], %3, %4" : "=w"(v) : "r"(a0), "r"(a2), "r"(a1), "r"(a3));
    return v;
}
#endif /* FLYREF_ARM_MVE */

#endif /* FLYREF_CONV_MVE_H_ */
