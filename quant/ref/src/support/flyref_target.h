/*
 * Cortex-M target paths (private): which instruction set extension the kernels may use, chosen
 * at compile time from the compiler's ACLE feature macros.
 *
 *   FLYREF_ARM_MVE  Armv8.1-M MVE (Helium) integer instructions, arm_mve.h (Cortex-M55; gcc
 *                   defines __ARM_FEATURE_MVE only with -mfloat-abi=softfp or hard)
 *   FLYREF_ARM_DSP  the DSP extension: SIMD16 multiply-accumulate, SXTB16, saturation,
 *                   arm_acle.h (Cortex-M4, M7, M33, M55)
 *
 * Both are 0 elsewhere (Cortex-M3, hosts) and with FLYREF_NO_VECTOR_PATHS. A kernel file with a
 * target path keeps its portable loop (the spec, and the fallback) and defines the string that
 * names the branch it compiled, declared here and listed in flyref_target_paths.c:
 *
 *   const char fr_path_mul_s8[] = FR_TARGET_PATH;
 */
#ifndef FLYREF_TARGET_H_
#define FLYREF_TARGET_H_

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1) && !defined(FLYREF_NO_VECTOR_PATHS)
#define FLYREF_ARM_MVE 1
#else
#define FLYREF_ARM_MVE 0
#endif

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP && !defined(FLYREF_NO_VECTOR_PATHS)
#define FLYREF_ARM_DSP 1
#else
#define FLYREF_ARM_DSP 0
#endif

/* The name of the widest of them this build compiles: "mve", "dsp" or "portable". */
#if FLYREF_ARM_MVE
#define FR_TARGET_PATH "mve"
#elif FLYREF_ARM_DSP
#define FR_TARGET_PATH "dsp"
#else
#define FR_TARGET_PATH "portable"
#endif

/* The path each kernel file compiled ("portable", "dsp" or "mve"); one line per kernel file with
 * a target path, in the order of flyref_target_paths.c. */
extern const char fr_path_depthwise_conv2d_s8[];
extern const char fr_path_conv2d_s8[];
extern const char fr_path_conv2d_1x1_s8[];
extern const char fr_path_conv2d_1x1_packed_s8[];
extern const char fr_path_fully_connected_s8[];
extern const char fr_path_fully_connected_packed_s8[];
extern const char fr_path_mul_s8[];
extern const char fr_path_vaeca_descriptor_s8[];
extern const char fr_path_add_s8[];
extern const char fr_path_max_group_s8[];
extern const char fr_path_softmax_s8[];
extern const char fr_path_hard_swish_s8[];
extern const char fr_path_logistic_s8[];
extern const char fr_path_eca_conv1d_s8[];

#if FLYREF_ARM_DSP || FLYREF_ARM_MVE
#include <string.h>

#include "../flyref_internal.h"

#if defined(__GNUC__)
#define FR_INLINE static inline __attribute__((always_inline))
/* A loop whose tables live in the caller's frame: called, the tables' addresses arrive in
 * registers instead of being rebuilt from the stack pointer at every lookup. */
#define FR_NOINLINE static __attribute__((noinline, unused))
#else
#define FR_INLINE static inline
#define FR_NOINLINE static
#endif

/*
 * Requantization on the target paths: fr_trq_*(q, x) == fr_requant(x, mult, shift, mode) for
 * output shifts <= 0 (fr_trq_init refuses the others, and the caller keeps its portable loop),
 * built from one "high word of a 32 x 32 product" instruction:
 *
 *   kind     case                            value
 *   D0       double, shift = 0; single, t=31  SRDHM(x, m) = (x*m + 2^30) >> 31
 *   D        double, shift < 0                RDBPOT(SRDHM(x, m), rs), rs = -shift
 *   S32      single, t = 31 - shift = 32      (x*m + 2^31) >> 32
 *   S        single, t >= 33                  (x*m + 2^(t-1)) >> t
 *
 * Single rounding with t = 31 is SRDHM itself. Why the others are exact:
 *  - RDBPOT(h, rs) = (h + 2^(rs-1) - [h < 0]) >> rs, and h + (h >> 31) subtracts exactly [h < 0]
 *    (|h| < 2^31 - 1 since m < 2^31, so no overflow).
 *  - t >= 33: 2^(t-1) is a multiple of 2^32, so floor((P + 2^(t-1)) / 2^t)
 *    = floor((floor(P / 2^32) + 2^(t-33)) / 2^(t-32)): the high word of the product plus
 *    2^(t-33), shifted right by t - 32 (|P| < 2^62: no overflow).
 * On Armv7E-M the high word is SMMULR / SMMLA. SMMULR(a, m) = (a*m + 2^31) >> 32, so SRDHM(x, m)
 * = SMMULR(2x, m): the D kinds want the operand doubled, |x| < 2^30 (fr_trq_scale). On MVE,
 * VQRDMULH is SRDHM (its saturation needs x = m = INT32_MIN, and m >= 0), VRMULH is S32,
 * VMULH + VRSHL (a rounding shift adds 2^(n-1)) is S.
 */
enum { FR_TRQ_D0 = 0, FR_TRQ_D = 1, FR_TRQ_S32 = 2, FR_TRQ_S = 3 };

typedef struct fr_trq {
    int32_t kind;
    int32_t mult;
    int32_t rs;      /* D: -shift; S: t - 32 */
    int32_t out_off; /* added to the result (fr_trq_dsp) */
    int32_t add;     /* DSP: D, S: 2^(rs-1) resp. 2^(t-33), plus out_off * 2^rs; D0, S32: out_off */
    int32_t ls;      /* fr_trq_init_ls: a left shift before D0 (0 otherwise) */
} fr_trq;

/* The DSP paths add the output offset before the final shift (out_off * 2^rs), exact and one
 * instruction less; rs <= 22 keeps that sum in int32 for |x| < 2^30. */
#define FR_TRQ_MAX_RS 22

/** 1 and q set when (mult, shift, mode) has a target requantization: shift <= 0 and a right
 *  shift of at most FR_TRQ_MAX_RS; else 0 (the caller keeps its portable loop). mode must be
 *  resolved; mult >= 0, shift in [-31, 30] (fr_mult_ok); out_off in [-128, 127]. */
static inline int fr_trq_init(fr_trq *q, int32_t mult, int32_t shift, int32_t mode, int32_t out_off)
{
    q->kind = FR_TRQ_D0;
    q->mult = mult;
    q->out_off = out_off;
    q->rs = 0;
    q->add = out_off;
    q->ls = 0;
    if (shift > 0) return 0;
    if (mode == FLYNET_ROUNDING_SINGLE && shift < 0) {
        const int32_t t = 31 - shift;
        q->kind = t == 32 ? FR_TRQ_S32 : FR_TRQ_S;
        if (t == 32) return 1;
        q->rs = t - 32;
    } else if (shift == 0) {
        q->kind = FR_TRQ_D0;
        return 1;
    } else {
        q->kind = FR_TRQ_D;
        q->rs = -shift;
    }
    if (q->rs > FR_TRQ_MAX_RS) return 0;
    q->add = ((int32_t)1 << (q->rs - 1)) + out_off * ((int32_t)1 << q->rs);
    return 1;
}

/** fr_trq_init, and for a positive shift s in either rounding, when |x| < 2^xbits and
 *  xbits + s <= 29: then the spec's value is SRDHM(x * 2^s, m) (double rounding: no wrap in the
 *  shift; single: (x m + 2^(30-s)) >> (31-s) is the same quotient), kind D0 with q->ls = s. The
 *  caller shifts x by q->ls before fr_trq_mve / fr_trq_dsp; fr_trq_one does it itself. */
static inline int fr_trq_init_ls(fr_trq *q, int32_t mult, int32_t shift, int32_t mode, int32_t out_off, int32_t xbits)
{
    const int ok = fr_trq_init(q, mult, shift, mode, out_off); /* shift > 0: kind D0, nothing added */
    if (shift <= 0) return ok;
    if (xbits + shift > 29) return 0;
    q->ls = shift;
    return 1;
}

#endif /* FLYREF_ARM_DSP || FLYREF_ARM_MVE */

#if FLYREF_ARM_MVE
#include <arm_mve.h>

/* Note: compare a vector with a vector (vcmpeqq_s32(a, vdupq_n_s32(k))), not with a scalar
 * (vcmpeqq_n_s32): arm-none-eabi-gcc 12.2 fails with an internal compiler error on the latter
 * when the predicate feeds a VPSEL. */

/** Four lanes of fr_requant (without the output offset) for a target requantization of kind
 *  `kind` (a constant at the call site, so the switch folds). Any int32 x. */
FR_INLINE int32x4_t fr_trq_mve(int32_t kind, const fr_trq *q, int32x4_t x)
{
    switch (kind) {
    case FR_TRQ_D0:
        return vqrdmulhq_n_s32(x, q->mult);
    case FR_TRQ_D: {
        const int32x4_t h = vqrdmulhq_n_s32(x, q->mult);
        return vrshlq_n_s32(vaddq_s32(h, vshrq_n_s32(h, 31)), -q->rs);
    }
    case FR_TRQ_S32:
        return vrmulhq_s32(x, vdupq_n_s32(q->mult));
    default:
        return vrshlq_n_s32(vmulhq_s32(x, vdupq_n_s32(q->mult)), -q->rs);
    }
}
/*
 * The gemmlowp fixed-point helpers of flyref_fixed_point.c (softmax, logistic), four lanes at a
 * time, operation for operation: fr_srdhm is VQRDMULH (the same saturation), fr_add / fr_sub
 * wrap as vector adds do, flyref_internal_sat_shl(x, e > 0) is VQSHL (both saturate exactly when
 * x << e leaves int32), and RDBPOT(v, n > 0) is the rounding shift of v - [v < 0] (v + (v >> 31);
 * v is never INT32_MIN here: SRDHM cannot return it and the sums stay far from it).
 */
FR_INLINE int32x4_t fr_rdbpot_mve(int32x4_t v, int32_t n)
{
    return vrshlq_n_s32(vaddq_s32(v, vshrq_n_s32(v, 31)), -n);
}

/* exp on [-1/4, 0), Q0.31 (exp_interval). */
FR_INLINE int32x4_t fr_exp_interval_mve(int32x4_t a)
{
    const int32_t exp_m1_8 = 1895147668, one_third = 715827883;
    const int32x4_t x = vaddq_n_s32(a, 1 << 28);
    const int32x4_t x2 = vqrdmulhq_s32(x, x);
    const int32x4_t x3 = vqrdmulhq_s32(x2, x);
    const int32x4_t x4 = vqrdmulhq_s32(x2, x2);
    const int32x4_t x4_over_4 = fr_rdbpot_mve(x4, 2);
    const int32x4_t poly = fr_rdbpot_mve(vaddq_s32(vqrdmulhq_n_s32(vaddq_s32(x4_over_4, x3), one_third), x2), 1);
    return vaddq_n_s32(vqrdmulhq_n_s32(vaddq_s32(x, poly), exp_m1_8), exp_m1_8);
}

/* flyref_internal_exp_on_negative(a, int_bits) for int_bits 1 .. 5 (softmax 5, logistic 4). */
FR_INLINE int32x4_t fr_exp_on_negative_mve(int32x4_t a, int32_t int_bits)
{
    static const int32_t k_mult[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    const int32_t frac_bits = 31 - int_bits, quarter = (int32_t)1 << (frac_bits - 2);
    const int32x4_t amq = vsubq_n_s32(vandq_s32(a, vdupq_n_s32(quarter - 1)), quarter);
    const int32x4_t rem = vsubq_s32(amq, a);
    int32x4_t r = fr_exp_interval_mve(vqshlq_s32(amq, vdupq_n_s32(int_bits)));
    int32_t i;
    for (i = 0; i < 7; ++i) {
        const int32_t exponent = i - 2;
        if (int_bits > exponent) {
            const mve_pred16_t set = vcmpneq_s32(vandq_s32(rem, vdupq_n_s32((int32_t)1 << (frac_bits + exponent))), vdupq_n_s32(0));
            r = vpselq_s32(vqrdmulhq_n_s32(r, k_mult[i]), r, set);
        }
    }
    return vpselq_s32(vdupq_n_s32(INT32_MAX), r, vcmpeqq_s32(a, vdupq_n_s32(0)));
}

/* flyref_internal_one_over_one_plus_x(a) for a >= 0, where rounding_half_sum(a, INT32_MAX) is
 * the rounding halving add (a + INT32_MAX + 1) >> 1 (VRHADD, computed without overflow). */
FR_INLINE int32x4_t fr_one_over_one_plus_x_mve(int32x4_t a)
{
    const int32x4_t h = vrhaddq_s32(a, vdupq_n_s32(INT32_MAX));
    int32x4_t x = vaddq_n_s32(vqrdmulhq_n_s32(h, -1010580540), 1515870810);
    int32_t i;
    for (i = 0; i < 3; ++i) {
        const int32x4_t one_minus = vsubq_s32(vdupq_n_s32((int32_t)1 << 29), vqrdmulhq_s32(h, x));
        x = vaddq_s32(x, vqshlq_s32(vqrdmulhq_s32(x, one_minus), vdupq_n_s32(2)));
    }
    return vqshlq_s32(x, vdupq_n_s32(1));
}
/** out[i] = lut[in[i] + 128] for n bytes: sixteen per gather load (offset = code ^ 0x80). */
static inline void fr_lut_apply(const int8_t *lut, const int8_t *in, int8_t *out, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; i += 16) {
        const mve_pred16_t pr = vctp8q((uint32_t)(n - i));
        const uint8x16_t idx = veorq_u8(vldrbq_z_u8((const uint8_t *)in + i, pr), vdupq_n_u8(0x80));
        vstrbq_p_s8(out + i, vldrbq_gather_offset_z_s8(lut, idx, pr), pr);
    }
}
#endif /* FLYREF_ARM_MVE */

#if FLYREF_ARM_DSP
#include <arm_acle.h>

/* The "most significant word" multiplies are not in ACLE. */
FR_INLINE int32_t fr_smmulr(int32_t a, int32_t b)
{
    int32_t r;
    __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

FR_INLINE int32_t fr_smmla(int32_t a, int32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smmla %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}

/* acc + SMMULR(a, b) */
FR_INLINE int32_t fr_smmlar(int32_t a, int32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}

/* The high half-word of a over the high half-word of b (PKHTB b >> 16). */
FR_INLINE uint32_t fr_pkhtb16(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

/* The low half-word of a and the high half-word of b << 16 (PKHBT). */
FR_INLINE uint32_t fr_pkhbt16(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

/** The factor the operand of fr_trq_dsp carries: 2 for the D kinds (SMMULR of 2x), else 1. */
static inline int32_t fr_trq_scale(int32_t kind) { return kind == FR_TRQ_D0 || kind == FR_TRQ_D ? 2 : 1; }

/** fr_requant(x, ...) + out_off for a target requantization of kind `kind` (a constant at the
 *  call site), given a = x * fr_trq_scale(kind), |x| < 2^30. q is best a local copy, so its
 *  fields stay in registers. */
FR_INLINE int32_t fr_trq_dsp(int32_t kind, const fr_trq *q, int32_t a)
{
    switch (kind) {
    case FR_TRQ_D0:
    case FR_TRQ_S32:
        return fr_smmlar(a, q->mult, q->add);
    case FR_TRQ_D: {
        const int32_t h = fr_smmulr(a, q->mult);
        return (h + q->add + (h >> 31)) >> q->rs;
    }
    default:
        return fr_smmla(a, q->mult, q->add) >> q->rs;
    }
}

/** fr_requant(x, ...) + out_off for one x, |x| < 2^30 (< 2^(29 - ls) with fr_trq_init_ls), the
 *  kind chosen at run time. */
static inline int32_t fr_trq_one(const fr_trq *q, int32_t x)
{
    switch (q->kind) {
    case FR_TRQ_D0: return fr_trq_dsp(FR_TRQ_D0, q, x * ((int32_t)2 << q->ls));
    case FR_TRQ_D: return fr_trq_dsp(FR_TRQ_D, q, 2 * x);
    case FR_TRQ_S32: return fr_trq_dsp(FR_TRQ_S32, q, x);
    default: return fr_trq_dsp(FR_TRQ_S, q, x);
    }
}

/*
 * The gemmlowp helpers of flyref_fixed_point.c for one value, as the spec computes them, where
 * the operands allow two shortcuts: SRDHM without its saturation test when an operand cannot be
 * INT32_MIN (every multiplication below has a positive constant, a square or a positive
 * iterate as one operand, see the MVE versions' comment), and the saturating doubling
 * flyref_internal_sat_shl(x, 1) as QADD(x, x) (twice for a shift by 2: doubling a saturated
 * value keeps it saturated, and both saturate exactly when the exact product leaves int32).
 */
static inline int32_t fr_srdhm_ns(int32_t a, int32_t b) { return (int32_t)(((int64_t)a * b + ((int64_t)1 << 30)) >> 31); }

/* RDBPOT(v, n), n in [1, 31], for any v. */
static inline int32_t fr_rdbpot_n(int32_t v, int32_t n) { return (int32_t)(((int64_t)v + ((int64_t)1 << (n - 1)) - (v < 0)) >> n); }

static inline int32_t fr_exp_interval_dsp(int32_t a)
{
    const int32_t exp_m1_8 = 1895147668, one_third = 715827883;
    const int32_t x = fr_add(a, 1 << 28); /* in [-2^28, 2^28): its powers are >= -2^28 */
    const int32_t x2 = fr_srdhm_ns(x, x);
    const int32_t x3 = fr_srdhm_ns(x2, x);
    const int32_t x4 = fr_srdhm_ns(x2, x2);
    const int32_t poly = fr_rdbpot_n(fr_add(fr_srdhm_ns(fr_add(fr_rdbpot_n(x4, 2), x3), one_third), x2), 1);
    return fr_add(exp_m1_8, fr_srdhm_ns(exp_m1_8, fr_add(x, poly)));
}

/** flyref_internal_exp_on_negative(a, int_bits), int_bits 1 .. 5 (a constant at the call site). */
FR_INLINE int32_t fr_exp_on_negative_dsp(int32_t a, int32_t int_bits)
{
    static const int32_t k_mult[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    const int32_t frac_bits = 31 - int_bits, quarter = (int32_t)1 << (frac_bits - 2);
    const int32_t amq = fr_sub(a & (quarter - 1), quarter);
    const int32_t rem = fr_sub(amq, a);
    int32_t r = fr_exp_interval_dsp(flyref_internal_sat_shl(amq, int_bits));
    int32_t i;
    for (i = 0; i < 7; ++i) {
        const int32_t exponent = i - 2;
        if (int_bits > exponent && ((uint32_t)rem & ((uint32_t)1 << (frac_bits + exponent))) != 0) {
            r = fr_srdhm_ns(r, k_mult[i]);
        }
    }
    return a == 0 ? INT32_MAX : r;
}

/** flyref_internal_one_over_one_plus_x(a) for a >= 0. */
static inline int32_t fr_one_over_one_plus_x_dsp(int32_t a)
{
    /* rounding_half_sum(a, INT32_MAX) of a >= 0: (a + INT32_MAX + 1) / 2, in [2^30, 2^31) */
    const int32_t h = (int32_t)(((int64_t)a + INT32_MAX + 1) >> 1);
    int32_t x = fr_add(1515870810, fr_srdhm_ns(h, -1010580540));
    int i;
    for (i = 0; i < 3; ++i) {
        const int32_t one_minus = fr_sub((int32_t)1 << 29, fr_srdhm_ns(h, x));
        const int32_t t = __qadd(fr_srdhm_ns(x, one_minus), fr_srdhm_ns(x, one_minus));
        x = fr_add(x, __qadd(t, t));
    }
    return __qadd(x, x);
}

#if !FLYREF_ARM_MVE
/** out[i] = lut[in[i] + 128] for n bytes: a signed byte load indexes the table's middle, four
 *  per loop (called, so the table's address stays in a register). */
FR_NOINLINE void fr_lut_apply(const int8_t *lut, const int8_t *in, int8_t *out, int32_t n)
{
    const int8_t *t = lut + 128;
    int32_t i;
    for (i = 0; i + 4 <= n; i += 4) {
        const int8_t a = t[in[i]], b = t[in[i + 1]], c = t[in[i + 2]], d = t[in[i + 3]];
        out[i] = a;
        out[i + 1] = b;
        out[i + 2] = c;
        out[i + 3] = d;
    }
    for (; i < n; ++i) out[i] = t[in[i]];
}
#endif

/** Four values in [-128, 127] as the bytes of one word, in order: v1 and v3 inserted as the
 *  second byte of v0 and v2 (BFI), the two low half-words joined (PKHBT); three instructions. */
FR_INLINE uint32_t fr_pack4(int32_t v0, int32_t v1, int32_t v2, int32_t v3)
{
    uint32_t lo = (uint32_t)v0, hi = (uint32_t)v2;
    __asm__("bfi %0, %1, #8, #8" : "+r"(lo) : "r"((uint32_t)v1));
    __asm__("bfi %0, %1, #8, #8" : "+r"(hi) : "r"((uint32_t)v3));
    return fr_pkhbt16(lo, hi);
}

/** __sxtb16(b rotated right by 8 bits): bytes 1 and 3 of b sign-extended, one instruction. */
FR_INLINE uint32_t fr_sxtb16_r8(uint32_t b)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(b));
    return r;
}

/** __sxtab16(a, b rotated right by 8 bits): bytes 1 and 3 of b sign-extended and added to a's
 *  half-words, one instruction (GCC 12 does not fold the rotation into SXTAB16). */
FR_INLINE uint32_t fr_sxtab16_r8(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

/** Clamps the four signed bytes of v to [lo, hi] (lo4, hi4: the bounds in every byte). */
FR_INLINE uint32_t fr_clamp4(uint32_t v, uint32_t lo4, uint32_t hi4)
{
    (void)__ssub8((int8x4_t)v, (int8x4_t)lo4); /* GE where v >= lo */
    v = __sel(v, lo4);
    (void)__ssub8((int8x4_t)v, (int8x4_t)hi4); /* GE where v >= hi */
    return __sel(hi4, v);
}

/** The bytewise signed maximum of a and b (SSUB8 sets GE where a >= b). */
FR_INLINE uint32_t fr_max4(uint32_t a, uint32_t b)
{
    (void)__ssub8((int8x4_t)a, (int8x4_t)b);
    return __sel(a, b);
}

/** x with each byte repeated four times. */
static inline uint32_t fr_bytes4(int32_t x) { return ((uint32_t)x & 0xFFu) * 0x01010101u; }

FR_INLINE uint32_t fr_load4(const int8_t *p)
{
    uint32_t w;
    memcpy(&w, p, 4);
    return w;
}

FR_INLINE void fr_store4(int8_t *p, uint32_t w) { memcpy(p, &w, 4); }

FR_INLINE uint32_t fr_ror8(uint32_t x) { return (x >> 8) | (x << 24); }
#endif /* FLYREF_ARM_DSP */

#endif /* FLYREF_TARGET_H_ */
