/*
 * Armv7E-M DSP path of flyref_depthwise_conv2d_s8 (Cortex-M4, M7, M33, M55): private, included by
 * flyref_depthwise_conv2d_s8.c only. Selected at compile time from __ARM_FEATURE_DSP (ACLE
 * intrinsics of arm_acle.h); FLYREF_NO_VECTOR_PATHS turns it off like the host paths.
 *
 * Why it is bit-exact with the spec loop (fr_dw_generic):
 *   - SMLAD adds two 16 x 16-bit products to an int32 modulo 2^32. Its two lanes are two taps of
 *     one output channel at one output pixel: the horizontally adjacent taps (kx, kx + 1) of a
 *     kernel row. The weights w are int8 and the inputs x + input_offset lie in [-255, 255], so
 *     both fit a 16-bit lane and every product is exact; the sum modulo 2^32 is the spec's fr_add
 *     chain in another order (addition modulo 2^32 does not depend on the order).
 *   - The inputs are widened once per channel group into rows of int16 (x + input_offset) with
 *     zeros where a tap falls left or right of the image, so a row's tap pair is one 32-bit load
 *     and a tap outside the input adds w * 0 = 0, exactly as the spec's skipped tap; rows above
 *     or below the image are skipped as in the spec. An odd kernel width pairs its last tap with
 *     a zero weight.
 *   - Requantization, per output channel, in one of three forms chosen per channel group:
 *     D (double rounding, shift <= -1, multiplier > 2^30, |bias| + taps * 128 * 255 < 2^30): the
 *       weights and bias are doubled (2w fits the 16-bit lane) so the accumulator is a2 = 2 acc
 *       with no overflow, and fr_requant_double(acc) = RDBPOT(h, rs) with
 *       h = SRDHM(acc, m) = floor((2 acc m + 2^31) / 2^32); for m > 2^30, h < 0 exactly when
 *       acc < 0 (acc <= -1 gives acc m + 2^30 < 0, acc >= 0 gives h >= 0), so
 *       out = (floor((a2 m + 2^(rs-1) 2^32 + 2^31) / 2^32) - [a2 < 0]) >> rs;
 *     S (single rounding, shift <= -2, so t = 31 - shift >= 33): (acc m + 2^(t-1)) >> t equals
 *       (H + 2^(t-33)) >> (t - 32) with H = floor(acc m / 2^32), because 2^(t-1) is a multiple of
 *       2^32 and adding the low word's fraction cannot cross an integer;
 *     G (anything else): fr_rq_apply, equal to fr_requant (flyref_internal.h).
 *     Then + output_offset, saturated to [-128, 127] (SSAT); a range narrower than that is
 *     applied by one pass over the output at the end, as clamp(ssat8(v)) = clamp(v) when
 *     [act_min, act_max] lies inside [-128, 127].
 * Two output pixels of a row share each weight load; up to three heads (output channels
 * ic * ch_mult + m of one input channel) share each input load. Chunks of three heads in the
 * forms D and S (the MDW heads) are requantized and stored by the row kernel itself (inline
 * assembly, fr_dwd_row3q_*); the other chunks go through rows of accumulators and fr_dwd_out_*.
 *
 * Memory: one stack block of FR_DWD_BYTES holds, per group of G input channels, the channel
 * constants, the widened weights and a rolling window of kernel-height input rows. Layers whose
 * single channel does not fit (rows wider than about 600 pixels at 3x3) and dilated kernels take
 * the portable path.
 */
#ifndef FLYREF_DW_DSP_H_
#define FLYREF_DW_DSP_H_

#include "../support/flyref_target.h"

/* The Cortex-M55 takes the MVE path (flyref_dw_mve.h) and, where that declines, the portable loops:
 * the DSP path would add flash for shapes FlyNet does not have. */
#if FLYREF_ARM_DSP && !FLYREF_ARM_MVE
#define FLYREF_DW_DSP 1
#include <arm_acle.h>
#include <string.h>

#include "flyref_conv_common.h"

#define FR_DWD_BYTES 4096

enum { FR_DWD_D = 1, FR_DWD_S = 2, FR_DWD_G = 3 };

/* Requantization constants of one output channel for the forms D and S: the result is
 * (hi(acc * mult + rnd * 2^32 [+ 2^31 in D]) [+ (acc < 0 ? -1 : 0) in D]) >> rs, with
 * rnd = 2^(rs-1) + output_offset * 2^rs, which adds the offset exactly (see fr_dwd_kind). */
typedef struct fr_dwd_ch {
    int32_t mult, rnd, rs, pad;
} fr_dwd_ch;

static inline uint32_t fr_dwd_ld(const int16_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4); /* an unaligned LDR: Armv7-M allows it for word loads */
    return v;
}

/* One output row of one channel group. */
typedef struct fr_dwd_job {
    int32_t *acc;           /* [g * h][accw]: accumulators of output channel i = c * h + m at pixel ox */
    const int32_t *bias;    /* [g * h] */
    const int16_t *q0;      /* widened row of channel 0, first valid kernel row, at pixel 0's first tap */
    const uint32_t *w;      /* weight pairs, per channel per chunk of K heads [kh][np][K] */
    int32_t accw, nrows, ky0, sw, rstride, rowlen, out_w, np, wrow, h, g;
} fr_dwd_job;

/*
 * The accumulators of K heads (1..3) of one channel along one output row, into acc[k * accw + ox]
 * (accw: out_w rounded up to even), over nrows >= 1 kernel rows. bias: the K heads' start values. q0 points at the widened row of the
 * first kernel row at the first pixel's first tap, the next kernel row rstride int16 further and
 * the next pixel sw int16 further. w walks the chunk's [row][pair][K] weights from the first
 * kernel row. NP > 0 is the number of tap pairs per kernel row at compile time, 0 takes np_rt.
 * Two pixels at a time share every weight load; the K heads share every input load. An odd row
 * end computes pixel out_w too, into acc[out_w] (the rows have room for its taps).
 */
static inline void fr_dwd_mac_row(int32_t *restrict acc, int32_t accw, const int32_t *restrict bias,
                                  const int16_t *q0, const uint32_t *restrict w, int32_t nrows, int32_t sw,
                                  int32_t rstride, int32_t out_w, int32_t np_rt, const int K, const int NP)
{
    const int32_t np = NP > 0 ? NP : np_rt;
    int32_t ox, kp;
    for (ox = 0; ox < out_w; ox += 2) {
        const int16_t *p0 = q0 + ox * sw, *p1 = p0 + sw;
        const uint32_t *wk = w;
        int32_t a0 = bias[0], a1 = K > 1 ? bias[1] : 0, a2 = K > 2 ? bias[2] : 0;
        int32_t b0 = a0, b1 = a1, b2 = a2, r = nrows;
        do {
            for (kp = 0; kp < np; ++kp) {
                const uint32_t x0 = fr_dwd_ld(p0 + 2 * kp), x1 = fr_dwd_ld(p1 + 2 * kp);
                uint32_t v = wk[0];
                a0 = __smlad(x0, v, a0);
                b0 = __smlad(x1, v, b0);
                if (K > 1) {
                    v = wk[1];
                    a1 = __smlad(x0, v, a1);
                    b1 = __smlad(x1, v, b1);
                }
                if (K > 2) {
                    v = wk[2];
                    a2 = __smlad(x0, v, a2);
                    b2 = __smlad(x1, v, b2);
                }
                wk += K;
            }
            p0 += rstride;
            p1 += rstride;
        } while (--r > 0);
        acc[ox] = a0;
        acc[ox + 1] = b0;
        if (K > 1) {
            acc[accw + ox] = a1;
            acc[accw + ox + 1] = b1;
        }
        if (K > 2) {
            acc[2 * accw + ox] = a2;
            acc[2 * accw + ox + 1] = b2;
        }
    }
}

/* The row kernels out of line: inlined into the channel loop, GCC spills the accumulators. */
#if defined(__GNUC__)
#define FR_DWD_NOINLINE __attribute__((noinline))
#else
#define FR_DWD_NOINLINE
#endif
#define FR_DWD_MAC_ROW(K, NP)                                                                                     \
    static FR_DWD_NOINLINE void fr_dwd_mac_row_##K##_##NP(int32_t *acc, int32_t accw, const int32_t *bias,        \
                                                         const int16_t *q0, const uint32_t *w, int32_t nrows,    \
                                                         int32_t sw, int32_t rstride, int32_t out_w, int32_t np) \
    {                                                                                                            \
        fr_dwd_mac_row(acc, accw, bias, q0, w, nrows, sw, rstride, out_w, np, K, NP);                            \
    }
FR_DWD_MAC_ROW(1, 2)
FR_DWD_MAC_ROW(2, 2)
FR_DWD_MAC_ROW(3, 2)
FR_DWD_MAC_ROW(1, 3)
FR_DWD_MAC_ROW(2, 3)
FR_DWD_MAC_ROW(3, 3)
FR_DWD_MAC_ROW(1, 0)
FR_DWD_MAC_ROW(2, 0)
FR_DWD_MAC_ROW(3, 0)

#if defined(__GNUC__)
/*
 * fr_dwd_mac_row for K = 3 heads, NP tap pairs per row and stride SW in inline assembly: GCC keeps
 * the six accumulators, two inputs, a weight and four pointers/counters of this loop in registers
 * only when the loop is one asm statement (C code spills). The same arithmetic as fr_dwd_mac_row:
 * per tap pair, the two pixels' inputs (offsets 4 kp and 4 kp + 2 SW bytes in the row) and the
 * three heads' weights (post-incremented), six SMLADs.
 */
#define FR_DWD_STR2(x) #x
#define FR_DWD_STR(x) FR_DWD_STR2(x)
#define FR_DWD_PAIR(O0, O1)                                                                                        \
    "ldr %[x0], [%[p], #" FR_DWD_STR(O0) "]\n\t"                                                                   \
    "ldr %[x1], [%[p], #" FR_DWD_STR(O1) "]\n\t"                                                                   \
    "ldr %[v], [%[w]], #4\n\t"                                                                                     \
    "smlad %[a0], %[x0], %[v], %[a0]\n\t"                                                                          \
    "smlad %[b0], %[x1], %[v], %[b0]\n\t"                                                                          \
    "ldr %[v], [%[w]], #4\n\t"                                                                                     \
    "smlad %[a1], %[x0], %[v], %[a1]\n\t"                                                                          \
    "smlad %[b1], %[x1], %[v], %[b1]\n\t"                                                                          \
    "ldr %[v], [%[w]], #4\n\t"                                                                                     \
    "smlad %[a2], %[x0], %[v], %[a2]\n\t"                                                                          \
    "smlad %[b2], %[x1], %[v], %[b2]\n\t"
#define FR_DWD_PAIRS_2(SW) FR_DWD_PAIR(0, 2 * SW) FR_DWD_PAIR(4, 4 + 2 * SW)
#define FR_DWD_PAIRS_3(SW) FR_DWD_PAIR(0, 2 * SW) FR_DWD_PAIR(4, 4 + 2 * SW) FR_DWD_PAIR(8, 8 + 2 * SW)
/* The common start of the three-head rows below: both pixels' accumulators from the bias (%[bp]
 * holds its address), then the nrows kernel rows of NP weight pairs each, p one row pair further
 * per row. */
#define FR_DWD_ROW3_LOOP(NP, SW)                                                                                 \
    "ldr %[x0], %[bp]\n\t"                                                                                        \
    "ldr %[a0], [%[x0]]\n\t"                                                                                      \
    "ldr %[a1], [%[x0], #4]\n\t"                                                                                  \
    "ldr %[a2], [%[x0], #8]\n\t"                                                                                  \
    "mov %[b0], %[a0]\n\t"                                                                                        \
    "mov %[b1], %[a1]\n\t"                                                                                        \
    "mov %[b2], %[a2]\n"                                                                                           \
    "1:\n\t" FR_DWD_PAIRS_##NP(SW)                                                                                 \
    "add %[p], %[p], %[rs]\n\t"                                                                                   \
    "subs %[n], %[n], #1\n\t"                                                                                     \
    "bne 1b\n\t"

#define FR_DWD_ROW3_ASM(NP, SW)                                                                                   \
    static FR_DWD_NOINLINE void fr_dwd_row3_##NP##_##SW(int32_t *acc, int32_t accw, const int32_t *bias,          \
                                                       const int16_t *q0, const uint32_t *w, int32_t nrows,      \
                                                       int32_t sw, int32_t rstride, int32_t out_w, int32_t np)   \
    {                                                                                                            \
        const int32_t rs = 2 * rstride, aw = 4 * accw;                                                           \
        int32_t ox;                                                                                              \
        (void)sw;                                                                                                \
        (void)np;                                                                                                \
        for (ox = 0; ox < out_w; ox += 2) {                                                                      \
            int32_t a0, a1, a2, b0, b1, b2, *ap = acc + ox;                                                      \
            uint32_t x0, x1, v;                                                                                  \
            const int16_t *p = q0 + ox * SW;                                                                     \
            const uint32_t *wk = w;                                                                              \
            int32_t n = nrows;                                                                                   \
            __asm__ volatile(FR_DWD_ROW3_LOOP(NP, SW)                                                            \
                             "ldr %[x0], %[ap]\n\t"                                                              \
                             "ldr %[x1], %[aw]\n\t"                                                              \
                             "strd %[a0], %[b0], [%[x0]]\n\t"                                                    \
                             "add %[x0], %[x0], %[x1]\n\t"                                                       \
                             "strd %[a1], %[b1], [%[x0]]\n\t"                                                    \
                             "add %[x0], %[x0], %[x1]\n\t"                                                       \
                             "strd %[a2], %[b2], [%[x0]]\n\t"                                                    \
                             : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [b0] "=&r"(b0), [b1] "=&r"(b1),  \
                               [b2] "=&r"(b2), [x0] "=&r"(x0), [x1] "=&r"(x1), [v] "=&r"(v), [p] "+r"(p),       \
                               [w] "+r"(wk), [n] "+r"(n)                                                         \
                             : [rs] "r"(rs), [bp] "m"(bias), [ap] "m"(ap), [aw] "m"(aw)                          \
                             : "cc", "memory");                                                                  \
        }                                                                                                        \
    }
FR_DWD_ROW3_ASM(2, 1)
FR_DWD_ROW3_ASM(2, 2)
FR_DWD_ROW3_ASM(3, 1)
FR_DWD_ROW3_ASM(3, 2)

/*
 * The same rows with the requantization of the forms D and S fused in (fr_dwd_out_d / _s on
 * registers): after the last kernel row the six accumulators are requantized with their head's
 * constants (ch[k]: mult, rnd, rs at byte 16 k), saturated to int8 and stored, heads k of pixel
 * ox at d0[k] and of pixel ox + 1 at d1[k], with no trip through the accumulator rows. For an odd
 * row end d1 = d0 (pixel out_w is not an output): pixel ox + 1 is stored first and overwritten.
 *   D: (SMMLAR(a, mult, rnd) + (a >> 31)) >> rs, a = 2 acc (doubled weights and bias);
 *   S: SMMLA(a, mult, rnd) >> rs.
 * The pointer p is free once the rows are done and holds ch.
 */
#define FR_DWD_RQ_D(A, B, O)                                                                                      \
    "ldrd %[x0], %[x1], [%[p], #" FR_DWD_STR(O) "]\n\t"                                                           \
    "smmlar %[v], %[" #A "], %[x0], %[x1]\n\t"                                                                    \
    "add %[" #A "], %[v], %[" #A "], asr #31\n\t"                                                                 \
    "smmlar %[v], %[" #B "], %[x0], %[x1]\n\t"                                                                    \
    "add %[" #B "], %[v], %[" #B "], asr #31\n\t"                                                                 \
    "ldr %[x0], [%[p], #" FR_DWD_STR(O + 8) "]\n\t"                                                               \
    "asr %[" #A "], %[" #A "], %[x0]\n\t"                                                                         \
    "asr %[" #B "], %[" #B "], %[x0]\n\t"                                                                         \
    "ssat %[" #A "], #8, %[" #A "]\n\t"                                                                           \
    "ssat %[" #B "], #8, %[" #B "]\n\t"
#define FR_DWD_RQ_S(A, B, O)                                                                                      \
    "ldrd %[x0], %[x1], [%[p], #" FR_DWD_STR(O) "]\n\t"                                                           \
    "smmla %[" #A "], %[" #A "], %[x0], %[x1]\n\t"                                                                \
    "smmla %[" #B "], %[" #B "], %[x0], %[x1]\n\t"                                                                \
    "ldr %[x0], [%[p], #" FR_DWD_STR(O + 8) "]\n\t"                                                               \
    "asr %[" #A "], %[" #A "], %[x0]\n\t"                                                                         \
    "asr %[" #B "], %[" #B "], %[x0]\n\t"                                                                         \
    "ssat %[" #A "], #8, %[" #A "]\n\t"                                                                           \
    "ssat %[" #B "], #8, %[" #B "]\n\t"
#define FR_DWD_ROW3Q_ASM(NP, SW, F)                                                                              \
    static FR_DWD_NOINLINE void fr_dwd_row3q_##NP##_##SW##_##F(const int32_t *bias, const int16_t *q0,          \
                                                              const uint32_t *w, int32_t nrows, int32_t rstride, \
                                                              int32_t out_w, const fr_dwd_ch *ch, int8_t *dst,  \
                                                              int32_t ostride)                                  \
    {                                                                                                            \
        const int32_t rs = 2 * rstride;                                                                          \
        int32_t ox;                                                                                              \
        for (ox = 0; ox < out_w; ox += 2) {                                                                      \
            int32_t a0, a1, a2, b0, b1, b2;                                                                      \
            uint32_t x0, x1, v;                                                                                  \
            const int16_t *p = q0 + ox * SW;                                                                     \
            const uint32_t *wk = w;                                                                              \
            /* d1 = d0 at an odd row end ((out_w - 2 - ox) >> 31 = -1): arithmetic, not a branch, or GCC \
             * splits the loop there and the asm is compiled twice */                                         \
            int8_t *const d0 = dst + ox * ostride, *const d1 = d0 + (ostride & ~((out_w - 2 - ox) >> 31));       \
            int32_t n = nrows;                                                                                   \
            __asm__ volatile(FR_DWD_ROW3_LOOP(NP, SW)                                                            \
                             "ldr %[p], %[chp]\n\t"                                                               \
                             FR_DWD_RQ_##F(a0, b0, 0) FR_DWD_RQ_##F(a1, b1, 16) FR_DWD_RQ_##F(a2, b2, 32)         \
                             "ldr %[x0], %[d1p]\n\t"                                                              \
                             "strb %[b0], [%[x0]]\n\t"                                                            \
                             "strb %[b1], [%[x0], #1]\n\t"                                                        \
                             "strb %[b2], [%[x0], #2]\n\t"                                                        \
                             "ldr %[x0], %[d0p]\n\t"                                                              \
                             "strb %[a0], [%[x0]]\n\t"                                                            \
                             "strb %[a1], [%[x0], #1]\n\t"                                                        \
                             "strb %[a2], [%[x0], #2]\n\t"                                                        \
                             : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [b0] "=&r"(b0), [b1] "=&r"(b1),  \
                               [b2] "=&r"(b2), [x0] "=&r"(x0), [x1] "=&r"(x1), [v] "=&r"(v), [p] "+r"(p),       \
                               [w] "+r"(wk), [n] "+r"(n)                                                         \
                             : [rs] "r"(rs), [bp] "m"(bias), [chp] "m"(ch), [d0p] "m"(d0), [d1p] "m"(d1)         \
                             : "cc", "memory");                                                                  \
        }                                                                                                        \
    }
FR_DWD_ROW3Q_ASM(2, 1, D)
FR_DWD_ROW3Q_ASM(2, 2, D)
FR_DWD_ROW3Q_ASM(3, 1, D)
FR_DWD_ROW3Q_ASM(3, 2, D)
FR_DWD_ROW3Q_ASM(2, 1, S)
FR_DWD_ROW3Q_ASM(2, 2, S)
FR_DWD_ROW3Q_ASM(3, 1, S)
FR_DWD_ROW3Q_ASM(3, 2, S)

typedef void (*fr_dwd_row3q_fn)(const int32_t *bias, const int16_t *q0, const uint32_t *w, int32_t nrows,
                                int32_t rstride, int32_t out_w, const fr_dwd_ch *ch, int8_t *dst, int32_t ostride);

/* Every chunk of three heads of every group channel through a fused row (output row dst). */
static void fr_dwd_mac_q(const fr_dwd_job *j, fr_dwd_row3q_fn row, const fr_dwd_ch *ch, int8_t *dst,
                         int32_t ostride)
{
    const int32_t h = j->h, np = j->np;
    const int16_t *q0 = j->q0;
    int32_t c, m0;
    for (c = 0; c < j->g; ++c) {
        for (m0 = 0; m0 + 3 <= h; m0 += 3) {
            const int32_t i = c * h + m0;
            row(j->bias + i, q0, j->w + i * j->wrow + j->ky0 * np * 3, j->nrows, j->rstride, j->out_w, ch + i,
                dst + i, ostride);
        }
        q0 += j->rowlen;
    }
}
#endif

typedef void (*fr_dwd_row_fn)(int32_t *acc, int32_t accw, const int32_t *bias, const int16_t *q0,
                              const uint32_t *w, int32_t nrows, int32_t sw, int32_t rstride, int32_t out_w,
                              int32_t np);

/* Every chunk of K heads of every group channel: heads [m0, m0 + 3) for K = 3, the last h % 3
 * heads for K = h % 3; row is the row kernel of that K. */
static void fr_dwd_mac(const fr_dwd_job *j, fr_dwd_row_fn row, int32_t K)
{
    const int32_t h = j->h, g = j->g, np = j->np, wrow = j->wrow, accw = j->accw;
    const int32_t m_first = K == 3 ? 0 : h - h % 3, m_end = K == 3 ? h - h % 3 : h;
    const int16_t *q0 = j->q0;
    int32_t c, m0;
    for (c = 0; c < g; ++c) {
        for (m0 = m_first; m0 < m_end; m0 += K) {
            const int32_t i = c * h + m0;
            row(j->acc + i * accw, accw, j->bias + i, q0, j->w + i * wrow + j->ky0 * np * K, j->nrows, j->sw,
                j->rstride, j->out_w, np);
        }
        q0 += j->rowlen;
    }
}

/* Armv7E-M instructions ACLE does not provide, one instruction each where GCC would emit two or
 * three: SMMLAR / SMMLA, the high word of a * b + (c << 32) rounded (+ 2^31 before the shift) or
 * not; PKHBT / PKHTB, halfword packing; SXTAB16 with its input rotated by 8 bits. */
#if defined(__GNUC__)
static inline int32_t fr_dwd_smmlar(int32_t a, int32_t b, int32_t c)
{
    int32_t r;
    __asm__("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(c));
    return r;
}
static inline int32_t fr_dwd_smmla(int32_t a, int32_t b, int32_t c)
{
    int32_t r;
    __asm__("smmla %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(c));
    return r;
}
/* (a & 0xFFFF) | (b << 16) */
static inline uint32_t fr_dwd_pkhbt(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
/* (a & 0xFFFF0000) | (b >> 16) */
static inline uint32_t fr_dwd_pkhtb(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
/* __sxtab16(a, b rotated right by 8): bytes 1 and 3 of b, sign-extended, added to a's halfwords */
static inline uint32_t fr_dwd_sxtab16_r8(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
#else
static inline int32_t fr_dwd_smmlar(int32_t a, int32_t b, int32_t c)
{
    return (int32_t)(((int64_t)a * b + ((int64_t)c << 32) + 0x80000000LL) >> 32);
}
static inline int32_t fr_dwd_smmla(int32_t a, int32_t b, int32_t c)
{
    return (int32_t)(((int64_t)a * b + ((int64_t)c << 32)) >> 32);
}
static inline uint32_t fr_dwd_pkhbt(uint32_t a, uint32_t b) { return (a & 0xFFFFu) | (b << 16); }
static inline uint32_t fr_dwd_pkhtb(uint32_t a, uint32_t b) { return (a & 0xFFFF0000u) | (b >> 16); }
static inline uint32_t fr_dwd_sxtab16_r8(uint32_t a, uint32_t b) { return __sxtab16(a, (b >> 8) | (b << 24)); }
#endif

/* The outputs of heads [0, kk) of one channel along one output row from their accumulators:
 * head k, pixel ox: acc[k * accw + ox] -> dst[k + ox * stride]. */
static void fr_dwd_out_d(const int32_t *acc, int32_t accw, int32_t n, const fr_dwd_ch *ch, const fr_rq *rq,
                         int32_t out_off, int8_t *dst, int32_t stride, int32_t kk)
{
    int32_t k;
    (void)rq;
    (void)out_off;
    for (k = 0; k < kk; ++k) {
        const int32_t m = ch[k].mult, rnd = ch[k].rnd, rs = ch[k].rs;
        const int32_t *a = acc + k * accw, *end = a + (n & ~1);
        int8_t *o = dst + k;
        for (; a != end; a += 2) {
            const int32_t x = a[0], y = a[1];
            const int32_t vx = __ssat((fr_dwd_smmlar(x, m, rnd) + (x >> 31)) >> rs, 8);
            const int32_t vy = __ssat((fr_dwd_smmlar(y, m, rnd) + (y >> 31)) >> rs, 8);
            o[0] = (int8_t)vx;
            o[stride] = (int8_t)vy;
            o += 2 * stride;
        }
        if (n & 1) o[0] = (int8_t)__ssat((fr_dwd_smmlar(a[0], m, rnd) + (a[0] >> 31)) >> rs, 8);
    }
}

static void fr_dwd_out_s(const int32_t *acc, int32_t accw, int32_t n, const fr_dwd_ch *ch, const fr_rq *rq,
                         int32_t out_off, int8_t *dst, int32_t stride, int32_t kk)
{
    int32_t k;
    (void)rq;
    (void)out_off;
    for (k = 0; k < kk; ++k) {
        const int32_t m = ch[k].mult, rnd = ch[k].rnd, rs = ch[k].rs;
        const int32_t *a = acc + k * accw, *end = a + (n & ~1);
        int8_t *o = dst + k;
        for (; a != end; a += 2) {
            const int32_t vx = __ssat(fr_dwd_smmla(a[0], m, rnd) >> rs, 8);
            const int32_t vy = __ssat(fr_dwd_smmla(a[1], m, rnd) >> rs, 8);
            o[0] = (int8_t)vx;
            o[stride] = (int8_t)vy;
            o += 2 * stride;
        }
        if (n & 1) o[0] = (int8_t)__ssat(fr_dwd_smmla(a[0], m, rnd) >> rs, 8);
    }
}

static void fr_dwd_out_g(const int32_t *acc, int32_t accw, int32_t n, const fr_dwd_ch *ch, const fr_rq *rq,
                         int32_t out_off, int8_t *dst, int32_t stride, int32_t kk)
{
    int32_t k, i;
    (void)ch;
    for (k = 0; k < kk; ++k) {
        const fr_rq q = rq[k];
        for (i = 0; i < n; ++i) {
            dst[k + i * stride] = (int8_t)__ssat(fr_add(fr_rq_apply(&q, acc[k * accw + i]), out_off), 8);
        }
    }
}

/* Widens input row iy of the group's channels into two slots at once, qs and qt:
 * q[pw + ix] = x + input_offset. Four channels of two pixels at a time: SXTAB16 widens bytes 0, 2
 * and (rotated) 1, 3 with the offset added in each 16-bit lane, and each channel's two pixels are
 * stored as one word, in both slots. */
static void fr_dwd_row(int16_t *qs, int16_t *qt, const int8_t *src, int32_t in_c, int32_t in_w, int32_t g,
                       int32_t rowlen, int32_t pw, int32_t off)
{
    const uint32_t off2 = ((uint32_t)off & 0xFFFFu) | ((uint32_t)off << 16);
    const int32_t dt = (int32_t)(qt - qs);
    int32_t c = 0, ix;
    for (; c + 4 <= g; c += 4) {
        int16_t *q0 = qs + c * rowlen + pw, *q1 = q0 + rowlen, *q2 = q1 + rowlen, *q3 = q2 + rowlen;
        const int8_t *s = src + c;
        for (ix = 0; ix + 2 <= in_w; ix += 2) {
            uint32_t xa, xb, p;
            uint32_t a02, a13, b02, b13;
            memcpy(&xa, s, 4);
            memcpy(&xb, s + in_c, 4);
            s += 2 * in_c;
            a02 = __sxtab16(off2, xa);
            a13 = fr_dwd_sxtab16_r8(off2, xa);
            b02 = __sxtab16(off2, xb);
            b13 = fr_dwd_sxtab16_r8(off2, xb);
            p = fr_dwd_pkhbt(a02, b02);
            memcpy(q0 + ix, &p, 4);
            memcpy(q0 + dt + ix, &p, 4);
            p = fr_dwd_pkhbt(a13, b13);
            memcpy(q1 + ix, &p, 4);
            memcpy(q1 + dt + ix, &p, 4);
            p = fr_dwd_pkhtb(b02, a02);
            memcpy(q2 + ix, &p, 4);
            memcpy(q2 + dt + ix, &p, 4);
            p = fr_dwd_pkhtb(b13, a13);
            memcpy(q3 + ix, &p, 4);
            memcpy(q3 + dt + ix, &p, 4);
        }
        if (ix < in_w) {
            q0[ix] = q0[dt + ix] = (int16_t)(s[0] + off);
            q1[ix] = q1[dt + ix] = (int16_t)(s[1] + off);
            q2[ix] = q2[dt + ix] = (int16_t)(s[2] + off);
            q3[ix] = q3[dt + ix] = (int16_t)(s[3] + off);
        }
    }
    for (; c < g; ++c) {
        int16_t *q = qs + c * rowlen + pw;
        const int8_t *s = src + c;
        for (ix = 0; ix < in_w; ++ix) q[ix] = q[dt + ix] = (int16_t)(s[(int64_t)ix * in_c] + off);
    }
}

/* The weight pairs of kk heads (output channels f[0 .. kk-1] of each tap): for each kernel row,
 * each tap pair (w(kx), w(kx + 1)) and each head one word, low half first, times `scale`; an odd
 * kernel width's last pair has a zero high half. */
static void fr_dwd_prep(uint32_t *d, const int8_t *f, int32_t out_c, int32_t kh, int32_t kw, int32_t kk,
                        int32_t scale)
{
    const int32_t sh = scale == 2 ? 1 : 0;
    int32_t ky = 0, kx, k;
    if (kk == 3) {
        /* Three heads from one word of each tap (bytes 0..2; byte 3 is the next channel's, read
         * but unused): SXTB16 gives heads 0, 2 and (rotated) 1 as half-words, PKHBT / PKHTB pair
         * them with the next tap's, SADD16 doubles. Not on the last kernel row, where byte 3 of
         * the last tap may lie past the filter. */
        for (; ky + 1 < kh; ++ky) {
            const int8_t *lo = f + ky * kw * out_c;
            for (kx = 0; kx + 1 < kw; kx += 2, lo += 2 * out_c, d += 3) {
                uint32_t a, b, ae, ao, be, bo;
                memcpy(&a, lo, 4);
                memcpy(&b, lo + out_c, 4);
                ae = __sxtb16(a);
                ao = fr_dwd_sxtab16_r8(0, a);
                be = __sxtb16(b);
                bo = fr_dwd_sxtab16_r8(0, b);
                if (sh) {
                    ae = __sadd16(ae, ae);
                    ao = __sadd16(ao, ao);
                    be = __sadd16(be, be);
                    bo = __sadd16(bo, bo);
                }
                d[0] = fr_dwd_pkhbt(ae, be);
                d[1] = fr_dwd_pkhbt(ao, bo);
                d[2] = fr_dwd_pkhtb(be, ae);
            }
            if (kx < kw) {
                uint32_t a, ae, ao;
                memcpy(&a, lo, 4);
                ae = __sxtb16(a);
                ao = fr_dwd_sxtab16_r8(0, a);
                if (sh) {
                    ae = __sadd16(ae, ae);
                    ao = __sadd16(ao, ao);
                }
                d[0] = ae & 0xFFFFu;
                d[1] = ao & 0xFFFFu;
                d[2] = ae >> 16;
                d += 3;
            }
        }
    }
    for (; ky < kh; ++ky) {
        const int8_t *lo = f + ky * kw * out_c;
        for (kx = 0; kx + 1 < kw; kx += 2) {
            for (k = 0; k < kk; ++k) {
                *d++ = fr_dwd_pkhbt((uint32_t)((int32_t)lo[k] << sh), (uint32_t)((int32_t)lo[out_c + k] << sh));
            }
            lo += 2 * out_c;
        }
        if (kx < kw) {
            for (k = 0; k < kk; ++k) *d++ = (uint32_t)((int32_t)lo[k] << sh) & 0xFFFFu;
        }
    }
}

/* The requantization form of the group's output channels [oc0, oc0 + n) (see the top comment):
 * D and S also need rs <= 21, so that rnd (with the output offset) plus the high word fits int32:
 * |hi| < 2^30 and |rnd| <= 2^20 + 128 * 2^21. */
static int32_t fr_dwd_kind(const flyref_quant_params *quant, const int32_t *bias, int32_t mode, int32_t taps,
                           int32_t oc0, int32_t n)
{
    int32_t i, d = mode == FLYNET_ROUNDING_DOUBLE, s = mode == FLYNET_ROUNDING_SINGLE;
    for (i = 0; i < n && (d || s); ++i) {
        const int32_t q = quant->count != 1 ? oc0 + i : 0, shift = quant->shift[q];
        const int64_t b = bias ? bias[oc0 + i] : 0;
        if (shift > -1 || shift < -21 || quant->multiplier[q] <= (1 << 30) ||
            (b < 0 ? -b : b) + (int64_t)taps * 128 * 255 >= ((int64_t)1 << 30)) {
            d = 0;
        }
        if (shift > -2 || shift < -22) s = 0;
    }
    return d ? FR_DWD_D : (s ? FR_DWD_S : FR_DWD_G);
}

/* The narrower clamp of n output bytes, four at a time: SSUB8 sets a lane's GE flag when v >= lo
 * (resp. hi >= v) and SEL keeps that lane of v, else takes the bound. */
static void fr_dwd_clamp(int8_t *output, int32_t n, const flyref_activation *act)
{
    const uint32_t lo = 0x01010101u * (uint8_t)act->min;
    const uint32_t hi = 0x01010101u * (uint8_t)act->max;
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        uint32_t v;
        memcpy(&v, output + i, 4);
        (void)__ssub8(v, lo);
        v = __sel(v, lo);
        (void)__ssub8(hi, v);
        v = __sel(v, hi);
        memcpy(output + i, &v, 4);
    }
    for (; i < n; ++i) output[i] = (int8_t)fr_clamp(output[i], act->min, act->max);
}

/* Returns 0 (nothing written) when the layer does not suit the path. */
static int fr_dw_dsp(const flyref_conv_params *params, int32_t ch_mult, const flyref_quant_params *quant,
                     const flyref_dims *input_dims, const int8_t *input, const flyref_dims *filter_dims,
                     const int8_t *filter, const int32_t *bias, const flyref_dims *output_dims, int8_t *output,
                     int32_t mode, int32_t in_stride, int32_t out_stride)
{
    static const fr_dwd_row_fn rows[3][3] = {{fr_dwd_mac_row_1_0, fr_dwd_mac_row_2_0, fr_dwd_mac_row_3_0},
                                             {fr_dwd_mac_row_1_2, fr_dwd_mac_row_2_2, fr_dwd_mac_row_3_2},
                                             {fr_dwd_mac_row_1_3, fr_dwd_mac_row_2_3, fr_dwd_mac_row_3_3}};
    uint64_t block[FR_DWD_BYTES / 8];
    const int32_t h = ch_mult, in_c = input_dims->c, in_h = input_dims->h, in_w = input_dims->w;
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = in_c * h;
    const int32_t kh = filter_dims->h, kw = filter_dims->w, np = (kw + 1) / 2, wrow = kh * np;
    const int32_t sh = params->stride_h, sw = params->stride_w, ph = params->pad_h, pw = params->pad_w;
    const int32_t out_off = params->output_offset, accw = (out_w + 1) & ~1;
    const fr_dwd_row_fn *row = rows[np == 2 ? 1 : (np == 3 ? 2 : 0)];
    fr_dwd_row_fn row3 = row[2];
#if defined(__GNUC__)
    static const fr_dwd_row3q_fn rows3q[2][2][2] = {
        {{fr_dwd_row3q_2_1_D, fr_dwd_row3q_2_1_S}, {fr_dwd_row3q_2_2_D, fr_dwd_row3q_2_2_S}},
        {{fr_dwd_row3q_3_1_D, fr_dwd_row3q_3_1_S}, {fr_dwd_row3q_3_2_D, fr_dwd_row3q_3_2_S}}};
#endif
    int64_t rowlen64, per_ch;
    int32_t g_max, c0, b, rowlen;
    if (params->dilation_h != 1 || params->dilation_w != 1) return 0;
#if defined(__GNUC__)
    if (sw == 1 || sw == 2) {
        static const fr_dwd_row_fn asm3[2][2] = {{fr_dwd_row3_2_1, fr_dwd_row3_2_2}, {fr_dwd_row3_3_1, fr_dwd_row3_3_2}};
        if (np == 2 || np == 3) row3 = asm3[np - 2][sw - 1];
    }
#endif
    /* Row length: the padded input row, and the last tap pair of pixel out_w (the unused partner
     * of an odd row end's last pixel). */
    rowlen64 = (int64_t)pw + in_w;
    if ((int64_t)out_w * sw + 2 * np > rowlen64) rowlen64 = (int64_t)out_w * sw + 2 * np;
    rowlen64 = (rowlen64 + 1) & ~(int64_t)1;
    /* Per input channel: rq, ch, bias, a row of accumulators and the weights of each head, and
     * 2 kh widened rows. */
    per_ch = (int64_t)h * (int64_t)(sizeof(fr_rq) + sizeof(fr_dwd_ch) + 4 + 4 * (int64_t)accw + 4 * (int64_t)wrow) +
             4 * kh * rowlen64;
    if (per_ch > FR_DWD_BYTES) return 0;
    rowlen = (int32_t)rowlen64;
    g_max = (int32_t)(FR_DWD_BYTES / per_ch);
    if (g_max > in_c) g_max = in_c;
    if (g_max > 4) g_max &= ~3;
    {
        /* Fixed regions sized for g_max channels, so the zero padding columns of the row slots
         * are written once for every group. */
        const int32_t n_max = g_max * h, rstride = g_max * rowlen;
        fr_rq *rq = (fr_rq *)(void *)block;
        fr_dwd_ch *ch = (fr_dwd_ch *)(void *)(rq + n_max);
        int32_t *bs = (int32_t *)(void *)(ch + n_max);
        int32_t *acc = bs + n_max;
        uint32_t *w = (uint32_t *)(void *)(acc + n_max * accw);
        int16_t *q = (int16_t *)(void *)(w + n_max * wrow);
        uint32_t *qz = (uint32_t *)(void *)q, *qz_end = qz + kh * rstride; /* 2 kh rows of int16 */
        while (qz != qz_end) *qz++ = 0;
        for (c0 = 0; c0 < in_c; c0 += g_max) {
            const int32_t g = fr_min(g_max, in_c - c0), n = g * h, oc0 = c0 * h;
            const int32_t kind = fr_dwd_kind(quant, bias, mode, kh * kw, oc0, n), scale = kind == FR_DWD_D ? 2 : 1;
            void (*out)(const int32_t *, int32_t, int32_t, const fr_dwd_ch *, const fr_rq *, int32_t, int8_t *,
                        int32_t, int32_t) =
                kind == FR_DWD_D ? fr_dwd_out_d : (kind == FR_DWD_S ? fr_dwd_out_s : fr_dwd_out_g);
            int32_t i, c, m;
            fr_dwd_job job;
            /* the fused rows for the chunks of three heads, where they exist */
#if defined(__GNUC__)
            const fr_dwd_row3q_fn row3q = h >= 3 && kind != FR_DWD_G && (np == 2 || np == 3) && (sw == 1 || sw == 2)
                                              ? rows3q[np - 2][sw - 1][kind == FR_DWD_D ? 0 : 1]
                                              : 0;
#else
            const void *const row3q = 0;
#endif
            job.acc = acc;
            job.bias = bs;
            job.w = w;
            job.accw = accw;
            job.sw = sw;
            job.rstride = rstride;
            job.rowlen = rowlen;
            job.out_w = out_w;
            job.np = np;
            job.wrow = wrow;
            job.h = h;
            job.g = g;
            for (i = 0; i < n; ++i) {
                const int32_t qi = quant->count != 1 ? oc0 + i : 0, shift = quant->shift[qi];
                const int32_t rs = kind == FR_DWD_D ? -shift : -shift - 1;
                bs[i] = (bias ? bias[oc0 + i] : 0) * scale; /* D: |bias| < 2^30 */
                ch[i].mult = quant->multiplier[qi];
                ch[i].rs = rs;
                ch[i].pad = 0;
                if (kind == FR_DWD_G) {
                    fr_rq_init(&rq[i], ch[i].mult, shift, mode);
                    ch[i].rnd = 0;
                } else {
                    ch[i].rnd = ((int32_t)1 << (rs - 1)) + (int32_t)((uint32_t)out_off << rs);
                }
            }
            /* Weight pairs, per channel per chunk of kk heads from m0, in the order the row
             * kernels read them: [ky][kp][k] (see fr_dwd_prep). */
            for (c = 0; c < g; ++c) {
                for (m = 0; m < h; m += 3) {
                    const int32_t kk = fr_min(3, h - m), i0 = c * h + m;
                    fr_dwd_prep(w + i0 * wrow, filter + oc0 + i0, out_c, kh, kw, kk, scale);
                }
            }
            for (b = 0; b < input_dims->n; ++b) {
                const int8_t *in_b = input + (int64_t)b * in_h * in_w * in_stride + c0;
                int32_t next_row = 0, oy;
                for (oy = 0; oy < out_h; ++oy) {
                    const int32_t iy0 = oy * sh - ph;
                    const int32_t ky0 = iy0 < 0 ? fr_min(-iy0, kh) : 0;
                    const int32_t ky1 = fr_max(ky0, fr_min(kh, in_h - iy0));
                    int8_t *dst = output + ((int64_t)b * out_h + oy) * out_w * out_stride + oc0;
                    const int16_t *q0 = q + ((iy0 + ky0) % kh) * rstride;
                    int32_t iy;
                    /* Each row goes to slots iy % kh and iy % kh + kh, so the kernel rows of every
                     * output row are consecutive slots. */
                    for (iy = fr_max(next_row, iy0 + ky0); iy < iy0 + ky1; ++iy) {
                        const int8_t *src = in_b + (int64_t)iy * in_w * in_stride;
                        fr_dwd_row(q + (iy % kh) * rstride, q + (iy % kh + kh) * rstride, src, in_stride, in_w, g, rowlen,
                                   pw, params->input_offset);
                    }
                    if (iy0 + ky1 > next_row) next_row = iy0 + ky1;
                    job.q0 = q0;
                    job.ky0 = ky0;
                    job.nrows = ky1 - ky0;
                    if (ky1 > ky0) {
#if defined(__GNUC__)
                        if (row3q) {
                            fr_dwd_mac_q(&job, row3q, ch, dst, out_stride);
                        } else if (h >= 3) {
                            fr_dwd_mac(&job, row3, 3);
                        }
#else
                        if (h >= 3) fr_dwd_mac(&job, row3, 3);
#endif
                        if (h % 3 != 0) fr_dwd_mac(&job, row[h % 3 - 1], h % 3);
                    } else {
                        for (i = 0; i < n * accw; ++i) acc[i] = bs[i / accw];
                    }
                    if (row3q && ky1 > ky0) {
                        /* the fused rows stored heads [0, h - h % 3) of each channel */
                        for (c = 0; c < g && h % 3 != 0; ++c) {
                            i = c * h + h - h % 3;
                            out(acc + i * accw, accw, out_w, ch + i, rq + i, out_off, dst + i, out_stride, h % 3);
                        }
                    } else {
                        out(acc, accw, out_w, ch, rq, out_off, dst, out_stride, n);
                    }
                }
            }
        }
    }
    if (params->activation.min > -128 || params->activation.max < 127) {
        const int32_t npix = input_dims->n * out_h * out_w;
        /* one run when the pixels' channels follow each other, else one per pixel */
        if (out_stride == out_c) {
            fr_dwd_clamp(output, npix * out_c, &params->activation);
        } else {
            int32_t p;
            for (p = 0; p < npix; ++p) fr_dwd_clamp(output + (int64_t)p * out_stride, out_c, &params->activation);
        }
    }
    return 1;
}
#else
#define FLYREF_DW_DSP 0
#endif /* FLYREF_ARM_DSP && !FLYREF_ARM_MVE */

#endif /* FLYREF_DW_DSP_H_ */
