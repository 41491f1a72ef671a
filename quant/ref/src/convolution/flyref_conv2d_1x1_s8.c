/*
 * 1x1 convolution fast path (no padding, any stride, groups). Refer to flyref_kernels.h.
 *
 * Output channels are taken in blocks whose requantization constants are prepared once
 * (fr_rq_apply, equal to fr_requant: see flyref_internal.h). Each output pixel of a block is then
 * computed one of two ways, both bit-exact because |w| <= 128 and |x + input_offset| <= 255 make
 * every product exact, and sums modulo 2^32 do not depend on the order:
 *   - few input channels (the expansions): the block's weights transposed to a stack block
 *     [k][channel], and each input value multiplied into all the block's accumulators (uint32,
 *     i.e. modulo 2^32 like the spec's fr_add chain);
 *   - many input channels (the projections): the pixel's (x + input_offset) widened once to int16
 *     on the stack and dotted with each filter row in int32 (at most FR_1X1_K products, below
 *     2^24), then added to the bias modulo 2^32 (fr_add).
 * Channels per group above FR_1X1_K take the spec's loop.
 */
#include "flyref_conv_common.h"
#include "../support/flyref_avx2.h"

/* Stack use: FR_1X1_WT bytes of transposed weights + 2 * FR_1X1_K bytes + FR_1X1_OB * 40 bytes
 * (about 4.6 KB). */
#define FR_1X1_K 512
#define FR_1X1_OB 64
#define FR_1X1_WT 1024
/* Up to this many input channels the transposed (outer-product) form is used. */
#define FR_1X1_SMALL_K 32

typedef struct fr_1x1_block {
    int32_t bias[FR_1X1_OB];
    fr_rq rq[FR_1X1_OB];
} fr_1x1_block;

static void fr_1x1_fast(const flyref_conv_params *params, const flyref_quant_params *quant,
                        const flyref_dims *input_dims, const int8_t *input, const flyref_dims *filter_dims,
                        const int8_t *filter, const int32_t *bias, const flyref_dims *output_dims,
                        int8_t *output, int32_t mode, int32_t groups, int32_t per_group, int32_t out_stride)
{
    int16_t xs[FR_1X1_K];
    int8_t wt[FR_1X1_WT];
    uint32_t acc[FR_1X1_OB];
    int32_t sum[4];
    fr_1x1_block blk;
    const int32_t kc = filter_dims->c, out_c = out_stride, in_c = input_dims->c;
    const int32_t in_off = params->input_offset, out_off = params->output_offset;
    const int32_t act_min = params->activation.min, act_max = params->activation.max;
    const int32_t small = kc <= FR_1X1_SMALL_K;
    /* Output channels per block: whole 16-lane vectors when the transposed weights allow. */
    const int32_t ob_max = small ? fr_min(FR_1X1_OB, FR_1X1_WT / kc) : FR_1X1_OB;
    const int32_t ob = ob_max >= 16 ? ob_max & ~15 : ob_max;
    int32_t g, oc0, b, oy, ox, i, j, np = 0;
    for (g = 0; g < groups; ++g) {
        for (oc0 = g * per_group; oc0 < (g + 1) * per_group; oc0 += ob) {
            const int32_t nb = fr_min(ob, (g + 1) * per_group - oc0);
            for (j = 0; j < nb; ++j) {
                const int32_t q = quant->count != 1 ? oc0 + j : 0;
                blk.bias[j] = bias ? bias[oc0 + j] : 0;
                fr_rq_init(&blk.rq[j], quant->multiplier[q], quant->shift[q], mode);
            }
            for (; j < FR_1X1_OB; ++j) blk.bias[j] = 0;
            if (small) {
                /* rows padded with zero weights to whole 16-lane vectors (np <= ob, ob a multiple of 16) */
                np = (nb + 15) & ~15;
                for (i = 0; i < kc; ++i) {
                    for (j = 0; j < np; ++j) wt[i * np + j] = j < nb ? filter[(int64_t)(oc0 + j) * kc + i] : 0;
                }
            }
            for (b = 0; b < input_dims->n; ++b) {
                for (oy = 0; oy < output_dims->h; ++oy) {
                    for (ox = 0; ox < output_dims->w; ++ox) {
                        const int8_t *src = input + (((int64_t)b * input_dims->h + (int64_t)oy * params->stride_h) *
                                                         input_dims->w + (int64_t)ox * params->stride_w) * in_c +
                                            (int64_t)g * kc;
                        int8_t *dst = output + (((int64_t)b * output_dims->h + oy) * output_dims->w + ox) * out_c + oc0;
                        if (small) {
                            for (j = 0; j < np; ++j) acc[j] = (uint32_t)blk.bias[j];
                            for (i = 0; i + 1 < kc; i += 2) {
                                fr_mac16_2(acc, wt + i * np, wt + (i + 1) * np, src[i] + in_off, src[i + 1] + in_off, np);
                            }
                            if (i < kc) fr_mac16_1(acc, wt + i * np, src[i] + in_off, np);
                            for (j = 0; j < nb; ++j) dst[j] = fr_rq_out8(&blk.rq[j], fr_wrap(acc[j]), out_off, act_min, act_max);
                        } else {
                            const int8_t *w = filter + (int64_t)oc0 * kc;
                            for (i = 0; i < kc; ++i) xs[i] = (int16_t)(src[i] + in_off);
                            for (j = 0; j + 4 <= nb; j += 4, w += 4 * kc) {
                                int32_t t;
                                fr_dot4(w, w + kc, w + 2 * kc, w + 3 * kc, xs, kc, sum);
                                for (t = 0; t < 4; ++t) {
                                    dst[j + t] = fr_rq_out8(&blk.rq[j + t], fr_add(blk.bias[j + t], sum[t]), out_off,
                                                            act_min, act_max);
                                }
                            }
                            for (; j < nb; ++j, w += kc) {
                                dst[j] = fr_rq_out8(&blk.rq[j], fr_add(blk.bias[j], fr_dot1(w, xs, kc)), out_off,
                                                    act_min, act_max);
                            }
                        }
                    }
                }
            }
        }
    }
}

#if FLYREF_AVX2
/* Host AVX2 path (see support/flyref_avx2.h): 16 output channels per block. The block's weights
 * are widened once to int16 pairs [k/2][channel][2], and each pixel's (x + input_offset) to int16
 * pairs, so one 16-bit multiply-add instruction (vpmaddwd) gives w[c][k] * v[k] + w[c][k+1] *
 * v[k+1] for eight channels: both products are exact (|w| <= 128, |v| <= 255) and so is their
 * sum, which is then added modulo 2^32 like the spec's chain. An odd last k pairs with a zero
 * weight; lanes past the block's last channel have zero weights and are not stored. */
#define FR_1X1_V_K 512

FR_AVX2 static void fr_1x1_avx2(const flyref_conv_params *params, const flyref_quant_params *quant,
                                const flyref_dims *input_dims, const int8_t *input, const flyref_dims *filter_dims,
                                const int8_t *filter, const int32_t *bias, const flyref_dims *output_dims,
                                int8_t *output, int32_t mode, int32_t groups, int32_t per_group, int32_t out_stride)
{
    int16_t wp[FR_1X1_V_K * 16];
    int32_t xp[FR_1X1_V_K / 2 + 8];
    fr_out16 blk;
    const int32_t kc = filter_dims->c, kp = (kc + 1) / 2, out_c = out_stride, in_c = input_dims->c;
    const int64_t total = (int64_t)input_dims->n * input_dims->h * input_dims->w * in_c;
    const __m256i voff = _mm256_set1_epi16((int16_t)params->input_offset);
    int32_t g, oc0, i, k, b, oy, ox;
    for (g = 0; g < groups; ++g) {
        for (oc0 = g * per_group; oc0 < (g + 1) * per_group; oc0 += 16) {
            const int32_t nb = fr_min(16, (g + 1) * per_group - oc0);
            fr_out16_init(&blk, bias, quant, mode, oc0, nb, params->output_offset, params->activation.min,
                          params->activation.max);
            for (i = 0; i < 16; ++i) {
                const int8_t *w = filter + (int64_t)(oc0 + i) * kc;
                for (k = 0; k < 2 * kp; ++k) {
                    wp[(k / 2) * 32 + i * 2 + (k & 1)] = (int16_t)(i < nb && k < kc ? w[k] : 0);
                }
            }
            for (b = 0; b < input_dims->n; ++b) {
                for (oy = 0; oy < output_dims->h; ++oy) {
                    for (ox = 0; ox < output_dims->w; ++ox) {
                        const int64_t pos = (((int64_t)b * input_dims->h + (int64_t)oy * params->stride_h) * input_dims->w +
                                             (int64_t)ox * params->stride_w) * in_c + (int64_t)g * kc;
                        __m256i acc0 = blk.bias0, acc1 = blk.bias1;
                        /* (x + input_offset) as int16, 16 at a time; values past kc (the next pixel's,
                         * or zero at the end of the tensor) meet zero weights */
                        for (k = 0; k < kc; k += 16) {
                            _mm256_storeu_si256((__m256i *)(xp + k / 2),
                                                _mm256_add_epi16(_mm256_cvtepi8_epi16(fr_load_n(input + pos + k, total - pos - k)),
                                                                 voff));
                        }
                        for (k = 0; k < kp; ++k) {
                            const __m256i xx = _mm256_set1_epi32(xp[k]);
                            acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(xx, _mm256_loadu_si256((const __m256i *)(wp + k * 32))));
                            acc1 = _mm256_add_epi32(acc1,
                                                    _mm256_madd_epi16(xx, _mm256_loadu_si256((const __m256i *)(wp + k * 32 + 16))));
                        }
                        fr_out16_store(output + (((int64_t)b * output_dims->h + oy) * output_dims->w + ox) * out_c + oc0,
                                       &blk, acc0, acc1, nb);
                    }
                }
            }
        }
    }
}
#endif

#if FR_CONV_MVE
#include <string.h>

#include "flyref_conv_mve.h"

const char fr_path_conv2d_1x1_s8[] = "mve";

/* Cortex-M55 Helium path (MVE notes in flyref_conv_common.h): blocks of four output channels
 * whose weights are copied once per call into a stack block [k/16][channel][16] (zero padded to
 * whole vectors), so one pointer with immediate offsets reaches the four rows, and whose biases
 * carry input_offset * sum(w). Per pixel, sixteen raw inputs at a time (the last vector
 * tail-predicated: zero lanes) meet the four rows in VMLADAVA, and the accumulators are
 * requantized as one vector. (Eight channels per block would share each input vector further, but
 * GCC 12 then spills the accumulators.) Depths past FR_1X1_MVE_K take the portable fast path's
 * loops. Stack: FR_1X1_MVE_K * 4 bytes (2 KB). */
#define FR_1X1_MVE_K 512

typedef struct fr_1x1_mblk {
    fr_mve_out4 ep;
    int32_t b[4];
    int32_t chunks, rem, nb; /* whole vectors of inputs, the inputs left, channels of the block */
    int8_t wb[FR_1X1_MVE_K * 4];
} fr_1x1_mblk;

/* The four accumulators of one vector of inputs x against the block's rows at w. */
#define FR_1X1_MVE_CHUNK(x, w)                                                                                \
    do {                                                                                                       \
        a0 = vmladavaq_s8(a0, x, vldrbq_s8((w)));                                                              \
        a1 = vmladavaq_s8(a1, x, vldrbq_s8((w) + 16));                                                         \
        a2 = vmladavaq_s8(a2, x, vldrbq_s8((w) + 32));                                                         \
        a3 = vmladavaq_s8(a3, x, vldrbq_s8((w) + 48));                                                         \
    } while (0)

/* The pixel loop: the accumulators of each pixel, then STORE() (a statement using a0..a3). */
#define FR_1X1_MVE_LOOP(STORE)                                                                                \
    for (p = 0;; src += step_x, dst += out_c) {                                                               \
        int32_t a0 = k->b[0], a1 = k->b[1], a2 = k->b[2], a3 = k->b[3], c;                                     \
        const int8_t *w = k->wb;                                                                               \
        for (c = 0; c < chunks; ++c, w += 64) {                                                                \
            const int8x16_t x = vldrbq_s8(src + 16 * c);                                                       \
            FR_1X1_MVE_CHUNK(x, w);                                                                            \
        }                                                                                                      \
        if (k->rem != 0) {                                                                                     \
            const int8x16_t x = vldrbq_z_s8(src + 16 * c, tail);                                               \
            FR_1X1_MVE_CHUNK(x, w);                                                                            \
        }                                                                                                      \
        STORE();                                                                                               \
        if (++p == count) break;                                                                               \
    }

/* a0..a3 as one vector. */
#define FR_1X1_MVE_VEC() vsetq_lane_s32(a3, vsetq_lane_s32(a2, vsetq_lane_s32(a1, vdupq_n_s32(a0), 1), 2), 3)

/* One vector of the requantization forms with the constants in registers: + output_offset and the
 * clamp follow. */
#define FR_1X1_MVE_CLAMP(v) vminq_s32(vmaxq_s32(vaddq_n_s32((v), e.out_off), lo), hi)

/* The stores of the pixel loop: the double rounding form without left shifts, the single one, any
 * block. */
#define FR_1X1_MVE_STORE_DOUBLE()                                                                             \
    do {                                                                                                       \
        const int32x4_t h_ = vqrdmulhq_s32(FR_1X1_MVE_VEC(), mult);                                            \
        vstrbq_s32(dst, FR_1X1_MVE_CLAMP(vrshlq_s32(vaddq_s32(h_, vandq_s32(vshrq_n_s32(h_, 31), mask)), rsh))); \
    } while (0)
#define FR_1X1_MVE_STORE_SINGLE() vstrbq_s32(dst, FR_1X1_MVE_CLAMP(vrshlq_s32(vqdmulhq_s32(FR_1X1_MVE_VEC(), mult), rsh)))
#define FR_1X1_MVE_STORE_ANY()                                                                                \
    do {                                                                                                       \
        const int32_t a_[4] = {a0, a1, a2, a3};                                                                \
        fr_mve_out4_store(&e, a_, dst, nb);                                                                    \
    } while (0)

/* count (>= 1) pixels, inputs step_x apart from src, outputs out_c apart from dst (the pointers
 * never step past the last pixel). A whole block in a vector form has a loop per form, with the
 * constants in vector registers. */
static void fr_1x1_mve_run(const fr_1x1_mblk *k, const int8_t *src, int8_t *dst, int32_t count, int32_t step_x,
                           int32_t out_c)
{
    const fr_mve_out4 e = k->ep; /* a copy the int8 stores cannot alias */
    const int32_t chunks = k->chunks, nb = k->nb;
    const mve_pred16_t tail = vctp8q((uint32_t)k->rem);
    const int32x4_t mult = e.mult, mask = e.mask, rsh = e.rsh;
    const int32x4_t lo = vdupq_n_s32(e.act_min), hi = vdupq_n_s32(e.act_max);
    int32_t p;
    if (nb == 4 && e.kind == FLYNET_ROUNDING_DOUBLE && !e.any_ls) {
        FR_1X1_MVE_LOOP(FR_1X1_MVE_STORE_DOUBLE)
    } else if (nb == 4 && e.kind == FLYNET_ROUNDING_SINGLE) {
        FR_1X1_MVE_LOOP(FR_1X1_MVE_STORE_SINGLE)
    } else {
        FR_1X1_MVE_LOOP(FR_1X1_MVE_STORE_ANY)
    }
}

/*
 * Depths up to FR_1X1_MVE_COLS_K (the expansions): one output channel at a time, its kernel zero
 * padded to nv whole vectors and held in vector registers for the whole map, and four pixels per
 * vector: four dot products by VMLADAV(A) of the raw inputs (with input_offset * sum(w) folded
 * into the bias, as above), moved into one vector, requantized by the channel's scalar constants
 * (flyref_conv_mve.h) and scattered to the four pixels' outputs. Loads of whole vectors read up to
 * 15 bytes past a pixel's inputs (they meet zero weights); near the end of the input tensor the
 * last vector is tail-predicated instead, and lanes past the run's last pixel repeat it and are
 * not stored.
 */
#define FR_1X1_MVE_COLS_K 64

/* One run of pixels of one channel. */
typedef struct fr_1x1_run {
    const int8_t *src;   /* the first pixel's inputs */
    int8_t *dst;         /* the first pixel's output at the channel */
    int32_t count;       /* pixels */
    int32_t safe;        /* the first `safe` pixels' whole vectors lie inside the input tensor */
    int32_t step, out_c, kc, out_off;
    int32x4_t lo, hi;
} fr_1x1_run;

/* The dot product of one pixel's inputs at x with the kernel in w0..w3 (NV vectors); with PRED
 * the last vector is loaded under p. */
FR_INLINE int32_t fr_1x1_dot(const int8_t *x, int8x16_t w0, int8x16_t w1, int8x16_t w2, int8x16_t w3, mve_pred16_t p,
                             const int NV, const int PRED)
{
#define FR_1X1_LD(j) (PRED && (j) == NV - 1 ? vldrbq_z_s8(x + 16 * (j), p) : vldrbq_s8(x + 16 * (j)))
    int32_t a = vmladavq_s8(FR_1X1_LD(0), w0);
    if (NV > 1) a = vmladavaq_s8(a, FR_1X1_LD(1), w1);
    if (NV > 2) a = vmladavaq_s8(a, FR_1X1_LD(2), w2);
    if (NV > 3) a = vmladavaq_s8(a, FR_1X1_LD(3), w3);
    return a;
#undef FR_1X1_LD
}

/* One channel (kernel w: NV vectors; constants c) along one run of pixels; FORM FR_MCH_LANES takes
 * any form through fr_mch_rq_any. One input pointer steps from pixel to pixel, and the bias waits
 * in a vector register, so the loop's scalars fit the core registers. */
FR_INLINE void fr_1x1_col(const fr_1x1_run *r, const int8_t *w, const fr_mch *c, const int NV, const int FORM)
{
    const int8x16_t w0 = vldrbq_s8(w), w1 = vldrbq_s8(w + (NV > 1 ? 16 : 0));
    const int8x16_t w2 = vldrbq_s8(w + (NV > 2 ? 32 : 0)), w3 = vldrbq_s8(w + (NV > 3 ? 48 : 0));
    const int32_t step = r->step, dstep = 4 * r->out_c, mult = c->mult, ls = c->ls, rsh = c->rsh;
    const int32_t out_off = r->out_off;
    const int32x4_t lo = r->lo, hi = r->hi, bias = vdupq_n_s32(c->bias);
    const uint32x4_t offs = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)r->out_c);
    const mve_pred16_t pk = vctp8q((uint32_t)(r->kc - 16 * (NV - 1)));
    const int8_t *x = r->src;
    int8_t *d = r->dst;
    int32_t n = r->count, i;
    int32x4_t v;
    for (i = fr_min(n, r->safe) >> 2; i > 0; --i, d += dstep) {
        int32_t a0, a1, a2, a3;
        /* the empty asm statements keep GCC from turning the one pointer into four */
        a0 = fr_1x1_dot(x, w0, w1, w2, w3, pk, NV, 0);
        x += step;
        __asm__("" : "+r"(x));
        a1 = fr_1x1_dot(x, w0, w1, w2, w3, pk, NV, 0);
        x += step;
        __asm__("" : "+r"(x));
        a2 = fr_1x1_dot(x, w0, w1, w2, w3, pk, NV, 0);
        x += step;
        __asm__("" : "+r"(x));
        a3 = fr_1x1_dot(x, w0, w1, w2, w3, pk, NV, 0);
        x += step;
        __asm__("" : "+r"(x));
        v = vaddq_s32(fr_mch_vec4(a0, a1, a2, a3), bias);
        v = FORM == FR_MCH_LANES ? fr_mch_rq_any(v, c) : fr_mch_rq(FORM, v, mult, ls, rsh, &c->rq);
        vstrbq_scatter_offset_s32(d, offs, vminq_s32(vmaxq_s32(vaddq_n_s32(v, out_off), lo), hi));
        n -= 4;
    }
    for (; n > 0; n -= 4, x += 4 * step, d += dstep) {
        const int32_t a0 = fr_1x1_dot(x, w0, w1, w2, w3, pk, NV, 1);
        const int32_t a1 = fr_1x1_dot(x + (n > 1 ? step : 0), w0, w1, w2, w3, pk, NV, 1);
        const int32_t a2 = fr_1x1_dot(x + (n > 2 ? 2 : n - 1) * step, w0, w1, w2, w3, pk, NV, 1);
        const int32_t a3 = fr_1x1_dot(x + (n > 3 ? 3 : n - 1) * step, w0, w1, w2, w3, pk, NV, 1);
        v = vaddq_s32(fr_mch_vec4(a0, a1, a2, a3), bias);
        v = FORM == FR_MCH_LANES ? fr_mch_rq_any(v, c) : fr_mch_rq(FORM, v, mult, ls, rsh, &c->rq);
        vstrbq_scatter_offset_p_s32(d, offs, vminq_s32(vmaxq_s32(vaddq_n_s32(v, out_off), lo), hi),
                                    vctp32q((uint32_t)n));
    }
}

/* fr_1x1_col for n channels (kernels 16 NV bytes apart from wk, constants ch, outputs at r->dst
 * onwards), the two common forms compiled with their constants in registers. */
#define FR_1X1_COLS_FN(NV)                                                                                    \
    static void fr_1x1_cols_##NV(const fr_1x1_run *r, const int8_t *wk, const fr_mch *ch, int32_t n)          \
    {                                                                                                          \
        fr_1x1_run q = *r;                                                                                     \
        int32_t i;                                                                                             \
        for (i = 0; i < n; ++i, ++q.dst, wk += 16 * (NV), ++ch) {                                              \
            if (ch->form == FR_MCH_DOUBLE) {                                                                   \
                fr_1x1_col(&q, wk, ch, NV, FR_MCH_DOUBLE);                                                     \
            } else if (ch->form == FR_MCH_SINGLE_HI) {                                                         \
                fr_1x1_col(&q, wk, ch, NV, FR_MCH_SINGLE_HI);                                                  \
            } else {                                                                                           \
                fr_1x1_col(&q, wk, ch, NV, FR_MCH_LANES);                                                      \
            }                                                                                                  \
        }                                                                                                      \
    }
FR_1X1_COLS_FN(1)
FR_1X1_COLS_FN(2)
FR_1X1_COLS_FN(3)
FR_1X1_COLS_FN(4)

/*
 * The weights of the MVE path for depths past FR_1X1_MVE_COLS_K come from the int8 rows, or
 * straight from their PACKED codes (fr_conv2d_1x1_s8_packed: K a multiple of 8, so every row
 * starts on a byte): sixteen codes unpacked into a vector by fr_mve_codes16 where the int8 path
 * loads sixteen bytes, into the same stack block, so the same weights meet the same inputs. A row whose vector reads would pass the
 * stream (past the unpacker's vec_end: rows within about 24 codes of the tensor's end) is read
 * from a zero-padded copy of the stream's last FR_1X1_MVE_TAIL bytes, which holds every such row
 * (each ends in the stream and is at most FR_1X1_MVE_K / 2 bytes long).
 */
#define FR_1X1_MVE_TAIL (FR_1X1_MVE_K / 2 + 64)

typedef struct fr_1x1_src {
    const fr_unpacker *u;   /* the PACKED rows, the call's first row0 rows of the stream */
    int32_t row0, tail_from; /* tail_from: the stream byte tail[0] copies, -1 before the copy */
    uint8_t tail[FR_1X1_MVE_TAIL + 16];
} fr_1x1_src;

/* Where row oc (k codes) of the call starts in the stream, or in the tail copy. */
static const uint8_t *fr_1x1_mve_codes_at(fr_1x1_src *s, int32_t oc, int32_t k)
{
    const fr_unpacker *u = s->u;
    const int32_t first = (s->row0 + oc) * k, at = first / 8 * u->bits;
    /* the last vector of the row starts at element first + 16 * ((k - 1) / 16) */
    if (first + 16 * ((k - 1) / 16) + 16 <= u->vec_end) return u->stream + at;
    if (s->tail_from < 0) {
        s->tail_from = fr_max(0, u->bytes - FR_1X1_MVE_TAIL);
        memset(s->tail, 0, sizeof s->tail);
        memcpy(s->tail, u->stream + s->tail_from, (size_t)(u->bytes - s->tail_from));
    }
    return s->tail + (at - s->tail_from);
}

/* Where rows oc0 .. oc0 + n - 1 of the call start (consecutive in the stream): rows[r]. */
static void fr_1x1_mve_codes_rows(fr_1x1_src *s, int32_t oc0, int32_t n, int32_t k, const uint8_t **rows)
{
    const fr_unpacker *u = s->u;
    const int32_t first = (s->row0 + oc0) * k, rb = k / 8 * u->bits;
    int32_t r;
    if (first + (n - 1) * k + 16 * ((k - 1) / 16) + 16 <= u->vec_end) {
        /* the last row is inside vec_end, so every row is */
        const uint8_t *p = u->stream + first / 8 * u->bits;
        for (r = 0; r < n; ++r, p += rb) rows[r] = p;
    } else {
        for (r = 0; r < n; ++r) rows[r] = fr_1x1_mve_codes_at(s, oc0 + r, k);
    }
}

/* n rows of k codes (k % 8 == 0) from p[0 .. n-1] into dst, row r at dst + r * rstep and its
 * vector j at + j * vstep, lanes from k on zero; sums[r] = the sum of row r's weights. Out of line
 * with its constants as locals: they stay in vector registers. */
static FR_CONV_NOINLINE void fr_1x1_mve_unpack(const fr_unpacker *u, const uint8_t *const *p, int32_t n, int32_t k,
                                               int8_t *dst, int32_t rstep, int32_t vstep, int32_t *sums)
{
    const int32_t nv = (k + 15) / 16, step = 2 * u->bits;
    const mve_pred16_t last = vctp8q((uint32_t)(k - 16 * (nv - 1)));
    fr_mve_codes c;
    int32_t r, j;
    fr_mve_codes_init(&c, u);
    for (r = 0; r < n; ++r) {
        const uint8_t *q = p[r];
        int8_t *d = dst + r * rstep;
        int32_t sum = 0;
        int8x16_t v;
        for (j = 1; j < nv; ++j, q += step, d += vstep) {
            v = fr_mve_codes16(&c, q);
            sum = vaddvaq_s8(sum, v);
            vstrbq_s8(d, v);
        }
        v = vpselq_s8(fr_mve_codes16(&c, q), vdupq_n_s8(0), last);
        sums[r] = vaddvaq_s8(sum, v);
        vstrbq_s8(d, v);
    }
}

/* Channels per batch of prepared kernels and constants (stack: about 1.9 KB). */
#define FR_1X1_MVE_COLS_N 16

FR_INLINE void fr_1x1_mve_cols(const flyref_conv_params *params, const flyref_quant_params *quant,
                            const flyref_dims *input_dims, const int8_t *input, const flyref_dims *filter_dims,
                            const int8_t *filter, const int32_t *bias, const flyref_dims *output_dims, int8_t *output,
                            int32_t mode, int32_t groups, int32_t per_group, int32_t out_stride, int32_t stream,
                            int64_t step_x, int64_t row_x, int64_t image_x)
{
    int8_t wk[FR_1X1_MVE_COLS_N * FR_1X1_MVE_COLS_K];
    fr_mch ch[FR_1X1_MVE_COLS_N];
    fr_1x1_run r;
    void (*cols)(const fr_1x1_run *, const int8_t *, const fr_mch *, int32_t);
    const int32_t kc = filter_dims->c, out_c = out_stride, nv = (kc + 15) / 16; /* out_c: between output pixels */
    const int32_t oh = output_dims->h, ow = output_dims->w;
    const int64_t total = (int64_t)input_dims->n * image_x;
    int32_t safe_stream = 0, g, oc0, i, j, b, oy;
    cols = nv == 1 ? fr_1x1_cols_1 : nv == 2 ? fr_1x1_cols_2 : nv == 3 ? fr_1x1_cols_3 : fr_1x1_cols_4;
    r.step = (int32_t)step_x;
    if (stream) {
        /* pixel i's whole vectors end at g * kc + i * step + 16 nv <= total, the worst group's */
        const int64_t room = total - (int64_t)(groups - 1) * kc - 16 * nv;
        const int64_t all = (int64_t)input_dims->n * oh * ow;
        const int64_t safe = room < 0 ? 0 : step_x == 0 ? all : room / step_x + 1;
        safe_stream = (int32_t)(safe < all ? safe : all);
    }
    r.out_c = out_c;
    r.kc = kc;
    r.out_off = params->output_offset;
    r.lo = vdupq_n_s32(params->activation.min);
    r.hi = vdupq_n_s32(params->activation.max);
    for (g = 0; g < groups; ++g) {
        for (oc0 = g * per_group; oc0 < (g + 1) * per_group; oc0 += FR_1X1_MVE_COLS_N) {
            const int32_t n = fr_min(FR_1X1_MVE_COLS_N, (g + 1) * per_group - oc0);
            for (i = 0; i < n; ++i) {
                const int32_t oc = oc0 + i, qi = quant->count != 1 ? oc : 0;
                int32_t sum = 0;
                for (j = 0; j < 16 * nv; j += 16) {
                    const int8x16_t v = vldrbq_z_s8(filter + (int64_t)oc * kc + j, vctp8q((uint32_t)(kc - j)));
                    sum = vaddvaq_s8(sum, v);
                    vstrbq_s8(wk + i * 16 * nv + j, v);
                }
                fr_mch_init(&ch[i], fr_add(bias ? bias[oc] : 0, fr_mul(params->input_offset, sum)),
                            quant->multiplier[qi], quant->shift[qi], mode);
            }
            if (stream) {
                r.src = input + (int64_t)g * kc;
                r.dst = output + oc0;
                r.count = input_dims->n * oh * ow;
                r.safe = safe_stream;
                cols(&r, wk, ch, n);
                continue;
            }
            for (b = 0; b < input_dims->n; ++b) {
                for (oy = 0; oy < oh; ++oy) {
                    r.src = input + (int64_t)b * image_x + (int64_t)oy * row_x + (int64_t)g * kc;
                    r.dst = output + (((int64_t)b * oh + oy) * ow) * out_c + oc0;
                    r.count = ow;
                    /* rows that end more than a vector before the tensor's end: every pixel */
                    r.safe = (r.src - input) + (int64_t)(ow - 1) * step_x + 16 * nv <= total ? ow : 0;
                    cols(&r, wk, ch, n);
                }
            }
        }
    }
}

/* filter: the int8 rows, or 0 with pk their PACKED codes from row row0 on. */
static void fr_1x1_mve(const flyref_conv_params *params, const flyref_quant_params *quant,
                       const flyref_dims *input_dims, const int8_t *input, const flyref_dims *filter_dims,
                       const int8_t *filter, const fr_unpacker *pk, int32_t row0, const int32_t *bias,
                       const flyref_dims *output_dims, int8_t *output, int32_t mode, int32_t groups,
                       int32_t per_group, int32_t out_stride)
{
    fr_1x1_mblk k;
    fr_1x1_src src;
    const uint8_t *rows[4];
    int32_t sums[4];
    const int32_t kc = filter_dims->c, out_c = out_stride, in_c = input_dims->c;
    const int32_t oh = output_dims->h, ow = output_dims->w;
    /* int64: a stride is only bounded when it is used ((ow - 1) * stride_w < W) */
    const int64_t step_x = ow > 1 ? (int64_t)params->stride_w * in_c : 0;
    const int64_t row_x = (int64_t)params->stride_h * input_dims->w * in_c;
    const int64_t image_x = (int64_t)input_dims->h * input_dims->w * in_c;
    /* the rows of the map follow each other in memory (stride 1): one stream of pixels */
    const int32_t stream = row_x == ow * step_x && image_x == oh * row_x;
    int32_t g, oc0, j, i, b, oy;
    src.u = pk;
    src.row0 = row0;
    src.tail_from = -1;
    if (kc <= FR_1X1_MVE_COLS_K) {
        fr_1x1_mve_cols(params, quant, input_dims, input, filter_dims, filter, bias, output_dims, output, mode, groups,
                        per_group, out_stride, stream, step_x, row_x, image_x);
        return;
    }
    k.chunks = kc / 16;
    k.rem = kc % 16;
    for (g = 0; g < groups; ++g) {
        for (oc0 = g * per_group; oc0 < (g + 1) * per_group; oc0 += 4) {
            k.nb = fr_min(4, (g + 1) * per_group - oc0);
            if (pk != 0) {
                /* lanes past nb repeat row 0 */
                fr_1x1_mve_codes_rows(&src, oc0, k.nb, kc, rows);
                for (j = k.nb; j < 4; ++j) rows[j] = rows[0];
                fr_1x1_mve_unpack(pk, rows, 4, kc, k.wb, 16, 64, sums);
            }
            for (j = 0; j < 4; ++j) {
                /* lanes past nb repeat row 0 */
                const int32_t c = oc0 + (j < k.nb ? j : 0);
                const int8_t *w = pk == 0 ? filter + (int64_t)c * kc : 0;
                int8_t *d = k.wb + j * 16;
                int32_t sum = 0;
                for (i = 0; i < k.chunks && pk == 0; ++i, w += 16, d += 64) {
                    const int8x16_t v = vldrbq_s8(w);
                    sum = vaddvaq_s8(sum, v);
                    vstrbq_s8(d, v);
                }
                if (k.rem != 0 && pk == 0) {
                    const int8x16_t v = vldrbq_z_s8(w, vctp8q((uint32_t)k.rem));
                    sum = vaddvaq_s8(sum, v);
                    vstrbq_s8(d, v);
                }
                if (pk != 0) sum = sums[j];
                k.b[j] = fr_add(bias ? bias[c] : 0, fr_mul(params->input_offset, sum));
            }
            fr_mve_out4_init(&k.ep, quant, oc0, k.nb, mode, params->output_offset, params->activation.min,
                             params->activation.max);
            if (stream) {
                fr_1x1_mve_run(&k, input + (int64_t)g * kc, output + oc0, input_dims->n * oh * ow, (int32_t)step_x,
                               out_c);
                continue;
            }
            for (b = 0; b < input_dims->n; ++b) {
                for (oy = 0; oy < oh; ++oy) {
                    fr_1x1_mve_run(&k, input + (int64_t)b * image_x + (int64_t)oy * row_x + (int64_t)g * kc,
                                   output + (((int64_t)b * oh + oy) * ow) * out_c + oc0, ow, (int32_t)step_x, out_c);
                }
            }
        }
    }
}
#elif FR_CONV_DSP
const char fr_path_conv2d_1x1_s8[] = "dsp";

/* Cortex-M DSP path (see the DSP notes in flyref_conv_common.h): four output channels per block.
 * The block's weights are widened once into int16 lane pairs, [k/4][channel][2 words] in SXTB16
 * order, and input_offset * sum(w) is folded into the block's biases, so per pixel and four inputs
 * the loop loads one word of x, widens it with two SXTB16 and runs eight SMLAD against the stored
 * pairs (one LDM per two channels, inline assembly under GCC). A last partial group of inputs pads with zero weights; lanes past
 * the block's last channel repeat its first channel and are not stored. Stride-1 maps (and any
 * map whose rows follow each other) run as one stream of pixels. Stack: FR_1X1_DSP_K * 8 bytes of
 * widened weights (4 KB). */
#define FR_1X1_DSP_K 512

/* The small fields first: short offsets from the block's address. */
typedef struct fr_1x1_blk {
    fr_dsp_out4 ep;
    int32_t b4[4];
    int32_t pairs, odd, kr, rest, nb; /* the pixel loop: pairs of whole groups, a last whole group,
                                       * kc % 4, either of the last two */
    uint64_t wt[FR_1X1_DSP_K];  /* group i, channel j: wt[4 i + j] = [w0,w2] | [w1,w3] << 32 */
} fr_1x1_blk;

/* Eight SMLAD of one group of four inputs (x: its word) against the block's four widened channels
 * at w + i (one LDRD per channel: [w0,w2] low, [w1,w3] high). */
#define FR_1X1_DSP_GROUP(x, w, i)                                                                             \
    do {                                                                                                       \
        const uint32_t xa_ = __sxtb16(x), xb_ = fr_sxtb16_odd(x);                                             \
        uint32_t lo_, hi_;                                                                                     \
        FR_LDRD(lo_, hi_, w, (i));                                                                             \
        a0 = __smlad(lo_, xa_, a0);                                                                            \
        a0 = __smlad(hi_, xb_, a0);                                                                            \
        FR_LDRD(lo_, hi_, w, (i) + 1);                                                                         \
        a1 = __smlad(lo_, xa_, a1);                                                                            \
        a1 = __smlad(hi_, xb_, a1);                                                                            \
        FR_LDRD(lo_, hi_, w, (i) + 2);                                                                         \
        a2 = __smlad(lo_, xa_, a2);                                                                            \
        a2 = __smlad(hi_, xb_, a2);                                                                            \
        FR_LDRD(lo_, hi_, w, (i) + 3);                                                                         \
        a3 = __smlad(lo_, xa_, a3);                                                                            \
        a3 = __smlad(hi_, xb_, a3);                                                                            \
    } while (0)

/* One filter row of k weights widened into its lane of the block: d[4 i] = the pair of group i,
 * doubled when `twice` (SADD16 of the pair with itself; |2w| <= 256 fits the lanes). Returns the
 * sum of the weights (SMLAD with ones). */
static int32_t fr_1x1_dsp_widen(uint64_t *d, const int8_t *w, int32_t k, int32_t twice)
{
    const int8_t *const end = w + 4 * (k / 4);
    const uint32_t ones = 0x00010001u;
    int32_t sum = 0;
    uint32_t v, wa, wb;
    if (twice) {
        for (; w != end; w += 4, d += 4) {
            v = fr_ld4(w);
            wa = __sxtb16(v);
            wb = fr_sxtb16_odd(v);
            sum = __smlad(wa, ones, __smlad(wb, ones, sum));
            *d = (uint64_t)(uint32_t)__sadd16(wa, wa) | ((uint64_t)(uint32_t)__sadd16(wb, wb) << 32);
        }
    } else {
        for (; w != end; w += 4, d += 4) {
            v = fr_ld4(w);
            wa = __sxtb16(v);
            wb = fr_sxtb16_odd(v);
            sum = __smlad(wa, ones, __smlad(wb, ones, sum));
            *d = (uint64_t)wa | ((uint64_t)wb << 32);
        }
    }
    if (k % 4 != 0) {
        v = fr_ld_tail(w, k % 4);
        wa = __sxtb16(v);
        wb = fr_sxtb16_odd(v);
        sum = __smlad(wa, ones, __smlad(wb, ones, sum));
        if (twice) {
            wa = __sadd16(wa, wa);
            wb = __sadd16(wb, wb);
        }
        *d = (uint64_t)wa | ((uint64_t)wb << 32);
    }
    return sum;
}

/*
 * The same widening straight from PACKED codes (fr_conv2d_1x1_s8_packed), with no int8 copy of the
 * weights in between. A row of K (a multiple of 8) codes of B <= 3 bits starts on a byte, and each
 * eight codes k0..k7 are B bytes of the stream, read as one word v. The pair [w0, w2] of the
 * SXTB16 order is the first and last code of the 3B-bit field at bit 0 of v (k0 k1 k2), [w1, w3]
 * of the field at bit B, [w4, w6] at 4B and [w5, w7] at 5B: a table of 2^(3B) words,
 * quad[a | x << B | c << 2B] = [t[a], t[c]] (the middle code x ignored), turns each field into its
 * int16 pair with one load, already doubled when `twice`. Same weights in the same lanes as
 * fr_1x1_dsp_widen on the decoded row, so the same integers.
 */
#define FR_1X1_DSP_TAIL ((FR_1X1_DSP_K + 40) * 3 / 8)

typedef struct fr_1x1_packed {
    const fr_unpacker *u;
    int32_t row0;       /* the call's first filter row in the stream */
    fr_1x1_ws *ws;      /* the node's tables, kept across its calls */
    const uint32_t *quad[2]; /* the table of each form while it is in ws, else 0 */
    uint8_t *tail;      /* the tail copy, after the tables */
} fr_1x1_packed;
#define FR_1X1_QUAD_BYTES (512 * 4)
#define FR_1X1_WS_MIN (FR_1X1_QUAD_BYTES + FR_1X1_DSP_TAIL + 4)
#define FR_1X1_WS_TWO (2 * FR_1X1_QUAD_BYTES + FR_1X1_DSP_TAIL + 4)

/* Depths whose widened block leaves room for the tables in the block itself (512 - K words of 8
 * bytes >= FR_1X1_WS_MIN): no workspace needed. */
#define FR_1X1_SPARE_K 224

/* pk's tables in ws. */
static void fr_1x1_packed_at(fr_1x1_packed *pk, fr_1x1_ws *ws)
{
    pk->ws = ws;
    pk->quad[0] = pk->quad[1] = 0;
    pk->tail = ws->mem + ws->bytes - (FR_1X1_DSP_TAIL + 4);
}

/* The quad table for `twice` (built into the workspace the first time; with room for two, each
 * variant once per node, else rebuilt when the blocks' form changes): per code c, the eight pairs
 * [t[a], t[c]] stored for every middle code x. */
static FR_CONV_NOINLINE const uint32_t *fr_1x1_quad(fr_1x1_packed *pk, int32_t twice)
{
    fr_1x1_ws *ws = pk->ws;
    const int32_t b = pk->u->bits, n = 1 << b, two = ws->bytes >= FR_1X1_WS_TWO;
    const int32_t bit = 1 << twice;
    uint32_t lo[8], *const quad = (uint32_t *)(void *)(ws->mem + (two ? twice * FR_1X1_QUAD_BYTES : 0)), *q = quad;
    int32_t a, c, x;
    pk->quad[twice] = quad;
    if (!two) pk->quad[1 - twice] = 0; /* one slot: the other form is overwritten */
    if (two ? (ws->built & bit) != 0 : ws->built == bit) return quad;
    for (a = 0; a < n; ++a) lo[a] = (uint32_t)((int32_t)pk->u->table[a] * (twice ? 2 : 1)) & 0xFFFFu;
    for (c = 0; c < n; ++c) {
        const uint32_t hi = lo[c] << 16;
        if (b == 3) {
            const uint32_t e0 = lo[0] | hi, e1 = lo[1] | hi, e2 = lo[2] | hi, e3 = lo[3] | hi;
            const uint32_t e4 = lo[4] | hi, e5 = lo[5] | hi, e6 = lo[6] | hi, e7 = lo[7] | hi;
            for (x = 0; x < 8; ++x, q += 8) {
                q[0] = e0;
                q[1] = e1;
                q[2] = e2;
                q[3] = e3;
                q[4] = e4;
                q[5] = e5;
                q[6] = e6;
                q[7] = e7;
            }
        } else {
            for (x = 0; x < n; ++x, q += n) {
                for (a = 0; a < n; ++a) q[a] = lo[a] | hi;
            }
        }
    }
    ws->built = two ? ws->built | bit : bit;
    return quad;
}

/* The four lanes of a block (rows at p[0..3], groups runs of eight codes each) into d
 * (fr_1x1_dsp_widen's layout: lane j at d + j); sums[j] = the sum of lane j's pairs (its weights,
 * doubled when the table is). B at compile time: fixed shifts. */
static inline void fr_1x1_dsp_unpack(uint64_t *d, const uint32_t *quad, const uint8_t *const *p, int32_t groups,
                                     int32_t *sums, const int B)
{
    const uint32_t m = (1u << (3 * B)) - 1u, ones = 0x00010001u;
    int32_t j;
    for (j = 0; j < 4; ++j) {
        const uint8_t *r = p[j], *const end = r + (size_t)groups * B;
        uint64_t *dj = d + j;
        int32_t sum = 0;
        for (; r != end; r += B, dj += 8) {
            uint32_t v, w0, w1, w2, w3;
            memcpy(&v, r, 4);
            w0 = quad[v & m];
            w1 = quad[(v >> B) & m];
            w2 = quad[(v >> (4 * B)) & m];
            w3 = quad[(v >> (5 * B)) & m];
            sum = __smlad(w0, ones, __smlad(w1, ones, sum));
            sum = __smlad(w2, ones, __smlad(w3, ones, sum));
            dj[0] = (uint64_t)w0 | ((uint64_t)w1 << 32);
            dj[4] = (uint64_t)w2 | ((uint64_t)w3 << 32);
        }
        sums[j] = sum;
    }
}

#define FR_1X1_DSP_UNPACK(B)                                                                                  \
    static FR_CONV_NOINLINE void fr_1x1_dsp_unpack_##B(uint64_t *d, const uint32_t *quad, const uint8_t *const *p, \
                                                       int32_t groups, int32_t *sums)                         \
    {                                                                                                          \
        fr_1x1_dsp_unpack(d, quad, p, groups, sums, B);                                                        \
    }
FR_1X1_DSP_UNPACK(1)
FR_1X1_DSP_UNPACK(2)
FR_1X1_DSP_UNPACK(3)

/* The block's four lanes (rows c[0..3] of the call, K = k codes, k % 8 == 0) widened from their
 * codes, as fr_1x1_dsp_widen does from int8 rows; sums[j] = the sum of row j's weights. A row
 * whose last word read would pass the stream (past u->fast_end, which lies at most 31 codes
 * before the stream's end) is read from a zero-padded copy of the stream's last FR_1X1_DSP_TAIL
 * bytes, which holds every such row whole. */
static void fr_1x1_dsp_widen_packed(uint64_t *d, fr_1x1_packed *pk, const int32_t *c, int32_t k, int32_t twice,
                                    int32_t *sums)
{
    const fr_unpacker *u = pk->u;
    fr_1x1_ws *ws = pk->ws;
    const int32_t b = u->bits;
    const uint32_t *const quad = pk->quad[twice] ? pk->quad[twice] : fr_1x1_quad(pk, twice);
    uint8_t *const tail = pk->tail;
    const uint8_t *p[4];
    int32_t j;
    for (j = 0; j < 4; ++j) {
        const int32_t first = (pk->row0 + c[j]) * k, at = first / 8 * b;
        p[j] = u->stream + at;
        if (first + k > u->fast_end) {
            if (ws->tail_from < 0) {
                ws->tail_from = fr_max(0, u->bytes - FR_1X1_DSP_TAIL);
                memset(tail, 0, FR_1X1_DSP_TAIL + 4);
                memcpy(tail, u->stream + ws->tail_from, (size_t)(u->bytes - ws->tail_from));
            }
            p[j] = tail + (at - ws->tail_from);
        }
    }
    switch (b) {
    case 1: fr_1x1_dsp_unpack_1(d, quad, p, k / 8, sums); break;
    case 2: fr_1x1_dsp_unpack_2(d, quad, p, k / 8, sums); break;
    default: fr_1x1_dsp_unpack_3(d, quad, p, k / 8, sums); break;
    }
    /* doubled weights: the sum of the weights is half their sum (exact: every term is even) */
    for (j = 0; j < 4 && twice; ++j) sums[j] /= 2;
}

/* a0..a3 += the block's four widened channels at wp_ against the inputs x_ .. xe_ (a positive
 * multiple of 8 bytes), both pointers advanced past them. */
#if defined(__GNUC__)
/* Inline assembly: LDM loads a channel pair's four words of a group in one instruction, where
 * GCC emits two LDRD (and cannot be told to use LDM: its register list must ascend, so the
 * registers are named, r4-r7). Per eight inputs: two LDR, four SXTB16, four LDM, sixteen SMLAD
 * and the loop's CMP + BNE, 28 instructions for 32 products (the C loop: 34). Operands: a0..a3
 * the accumulators, x / xe the inputs and their end, w the weights, t0 / t1 scratch. */
#define FR_1X1_DSP_GROUP_ASM                                                                                  \
    "ldr     %[t0], [%[x]], #4\n\t"                                                                            \
    "ldmia   %[w]!, {r4, r5, r6, r7}\n\t"                                                                      \
    "sxtb16  %[t1], %[t0], ror #8\n\t"                                                                         \
    "sxtb16  %[t0], %[t0]\n\t"                                                                                 \
    "smlad   %[a0], r4, %[t0], %[a0]\n\t"                                                                      \
    "smlad   %[a0], r5, %[t1], %[a0]\n\t"                                                                      \
    "smlad   %[a1], r6, %[t0], %[a1]\n\t"                                                                      \
    "smlad   %[a1], r7, %[t1], %[a1]\n\t"                                                                      \
    "ldmia   %[w]!, {r4, r5, r6, r7}\n\t"                                                                      \
    "smlad   %[a2], r4, %[t0], %[a2]\n\t"                                                                      \
    "smlad   %[a2], r5, %[t1], %[a2]\n\t"                                                                      \
    "smlad   %[a3], r6, %[t0], %[a3]\n\t"                                                                      \
    "smlad   %[a3], r7, %[t1], %[a3]\n\t"
#define FR_1X1_DSP_LOOP_ASM "1:\n\t" FR_1X1_DSP_GROUP_ASM FR_1X1_DSP_GROUP_ASM "cmp %[x], %[xe]\n\tbne 1b\n\t"
#define FR_1X1_DSP_PAIRS(x_, xe_, wp_)                                                                        \
    do {                                                                                                       \
        uint32_t t0_, t1_;                                                                                     \
        __asm__(FR_1X1_DSP_LOOP_ASM                                                                            \
                : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x_), [w] "+r"(wp_),      \
                  [t0] "=&r"(t0_), [t1] "=&r"(t1_)                                                             \
                : [xe] "r"(xe_), "m"(*(const char(*)[])x_), "m"(*(const uint64_t(*)[])wp_)                      \
                : "r4", "r5", "r6", "r7", "cc");                                                               \
    } while (0)
#else
#define FR_1X1_DSP_PAIRS(x_, xe_, wp_)                                                                        \
    for (; x_ != xe_; x_ += 8, wp_ += 8) {                                                                     \
        const uint32_t v0_ = fr_ld4(x_), v1_ = fr_ld4(x_ + 4);                                                 \
        FR_1X1_DSP_GROUP(v0_, wp_, 0);                                                                         \
        FR_1X1_DSP_GROUP(v1_, wp_, 4);                                                                         \
    }
#endif

/* a0..a3 = the block's accumulators of the pixel whose inputs start at x0. */
#define FR_1X1_DSP_PIXEL(blk, x0)                                                                             \
    do {                                                                                                       \
        const int8_t *x_ = (x0), *const xe_ = x_ + 8 * (blk)->pairs;                                           \
        const uint64_t *wp_ = (blk)->wt;                                                                       \
        a0 = (blk)->b4[0];                                                                                     \
        a1 = (blk)->b4[1];                                                                                     \
        a2 = (blk)->b4[2];                                                                                     \
        a3 = (blk)->b4[3];                                                                                     \
        if (x_ != xe_) FR_1X1_DSP_PAIRS(x_, xe_, wp_);                                                         \
        if ((blk)->rest) {                                                                                     \
            if ((blk)->odd) {                                                                                  \
                const uint32_t v_ = fr_ld4(x_);                                                                \
                FR_1X1_DSP_GROUP(v_, wp_, 0);                                                                  \
                x_ += 4;                                                                                       \
                wp_ += 4;                                                                                      \
            }                                                                                                  \
            if ((blk)->kr != 0) {                                                                              \
                const uint32_t v_ = fr_ld_tail(x_, (blk)->kr);                                                 \
                FR_1X1_DSP_GROUP(v_, wp_, 0);                                                                  \
            }                                                                                                  \
        }                                                                                                      \
    } while (0)

/* The pixel loop of a block of four channels whose requantization takes the closed form rq. */
#define FR_1X1_DSP_FAST_LOOP(rq)                                                                              \
    for (;; src += step_x, dst += out_c) {                                                                    \
        FR_1X1_DSP_PIXEL(blk, src);                                                                            \
        fr_st4(dst, fr_dsp_clamp4(fr_dsp_pack4(rq(&e->lane[0], a0), rq(&e->lane[1], a1), rq(&e->lane[2], a2),  \
                                               rq(&e->lane[3], a3)),                                           \
                                  e->lo4, e->hi4));                                                            \
        if (src == last) break;                                                                                \
    }

/* The common block: a closed form (kind, a constant at the call site), four channels, whole pairs
 * of groups (pairs >= 1), and `clamp` 0 when the activation range is all of int8 (SSAT clamps). */
#if defined(__GNUC__)
/*
 * One pixel in one asm statement: the block's biases, the loop above, then the closed form of
 * each lane with its constants (fr_dsp_lane: mult, add, sh, unused) loaded by one LDM into r4-r7,
 *   double: (SMMLAR(d, mult, add) + (d >> 31)) >> sh    (fr_dsp_rq_double)
 *   single: SMMLA(d, mult, add) >> sh                   (fr_dsp_rq_single),
 * SSAT to int8, BFI + BFI + PKHBT into one word (fr_dsp_pack4), the clamp (fr_dsp_clamp4: after
 * the four LDM, w points just past the lanes) and one STR. In C, GCC keeps the twelve lane
 * constants on the stack and reloads them one by one (48 instructions per pixel besides the
 * loop; this: 32). The block pointer and dst are memory operands (no register to spare).
 */
#define FR_1X1_RQ_D(A)                                                                                        \
    "ldmia   %[w]!, {r4, r5, r6, r7}\n\t"                                                                      \
    "smmlar  %[t0], %[" A "], r4, r5\n\t"                                                                      \
    "add     %[" A "], %[t0], %[" A "], asr #31\n\t"                                                           \
    "asr     %[" A "], %[" A "], r6\n\t"                                                                       \
    "ssat    %[" A "], #8, %[" A "]\n\t"
#define FR_1X1_RQ_S(A)                                                                                        \
    "ldmia   %[w]!, {r4, r5, r6, r7}\n\t"                                                                      \
    "smmla   %[" A "], %[" A "], r4, r5\n\t"                                                                   \
    "asr     %[" A "], %[" A "], r6\n\t"                                                                       \
    "ssat    %[" A "], #8, %[" A "]\n\t"
#define FR_1X1_CLAMP_0 ""
#define FR_1X1_CLAMP_1                                                                                        \
    "ldrd    %[t0], %[t1], [%[w], %[olo]]\n\t"                                                                 \
    "ssub8   %[a1], %[a0], %[t0]\n\t"                                                                          \
    "sel     %[a0], %[a0], %[t0]\n\t"                                                                          \
    "ssub8   %[a1], %[a0], %[t1]\n\t"                                                                          \
    "sel     %[a0], %[t1], %[a0]\n\t"
#define FR_1X1_DSP_PIXEL_ASM(F, C)                                                                            \
    __asm__ volatile("ldr     %[w], %[blkp]\n\t"                                                                \
                     "ldrd    %[a0], %[a1], [%[w], %[ob]]\n\t"                                                  \
                     "ldrd    %[a2], %[a3], [%[w], %[ob8]]\n\t"                                                 \
                     "ldr     %[xe], [%[w], %[okb]]\n\t"                                                        \
                     "add     %[xe], %[x], %[xe], lsl #3\n\t"                                                   \
                     "add     %[w], %[w], %[owt]\n\t" FR_1X1_DSP_LOOP_ASM                                       \
                     "ldr     %[w], %[blkp]\n\t" FR_1X1_RQ_##F("a0") FR_1X1_RQ_##F("a1") FR_1X1_RQ_##F("a2")     \
                         FR_1X1_RQ_##F("a3")                                                                  \
                     "bfi     %[a0], %[a1], #8, #8\n\t"                                                         \
                     "bfi     %[a2], %[a3], #8, #8\n\t"                                                         \
                     "pkhbt   %[a0], %[a0], %[a2], lsl #16\n\t" FR_1X1_CLAMP_##C                                \
                     "ldr     %[t0], %[dstp]\n\t"                                                               \
                     "str     %[a0], [%[t0]]"                                                                   \
                     : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [x] "+r"(x), [w] "=&r"(w), \
                       [xe] "=&r"(xe), [t0] "=&r"(t0), [t1] "=&r"(t1)                                          \
                     : [blkp] "m"(blk), [dstp] "m"(dst), [ob] "i"(offsetof(fr_1x1_blk, b4)),                   \
                       [ob8] "i"(offsetof(fr_1x1_blk, b4) + 8),                                                \
                       [okb] "i"(offsetof(fr_1x1_blk, pairs)), [owt] "i"(offsetof(fr_1x1_blk, wt)),            \
                       [olo] "i"(offsetof(fr_dsp_out4, lo4) - 4 * sizeof(fr_dsp_lane))                          \
                     : "r4", "r5", "r6", "r7", "cc", "memory")

static inline __attribute__((always_inline)) void fr_1x1_dsp_whole(int32_t kind, int32_t clamp,
                                                                   const fr_1x1_blk *blk, const int8_t *src,
                                                                   int8_t *dst, int32_t count, int32_t step_x,
                                                                   int32_t out_c)
{
    /* the pixel asm reads ep.lane at the block's start and the clamp bounds past the lanes */
    typedef char fr_1x1_lane_first[offsetof(fr_1x1_blk, ep.lane) == 0 ? 1 : -1];
    const int32_t back = step_x - 8 * blk->pairs; /* x ends 8 * pairs past the pixel's inputs */
    const int8_t *x = src;
    (void)sizeof(fr_1x1_lane_first);
    for (;;) {
        int32_t a0, a1, a2, a3;
        uint32_t w, xe, t0, t1;
        if (kind == FLYNET_ROUNDING_DOUBLE) {
            if (clamp) {
                FR_1X1_DSP_PIXEL_ASM(D, 1);
            } else {
                FR_1X1_DSP_PIXEL_ASM(D, 0);
            }
        } else if (clamp) {
            FR_1X1_DSP_PIXEL_ASM(S, 1);
        } else {
            FR_1X1_DSP_PIXEL_ASM(S, 0);
        }
        if (--count == 0) break;
        x += back;
        dst += out_c;
    }
}
#else
static inline void fr_1x1_dsp_whole(int32_t kind, int32_t clamp, const fr_1x1_blk *blk, const int8_t *src,
                                    int8_t *dst, int32_t count, int32_t step_x, int32_t out_c)
{
    const fr_dsp_lane *const l = blk->ep.lane;
    const int32_t kb = 8 * blk->pairs;
    for (;;) {
        int32_t a0 = blk->b4[0], a1 = blk->b4[1], a2 = blk->b4[2], a3 = blk->b4[3];
        const int8_t *x_ = src;
        const int8_t *const xe_ = src + kb;
        const uint64_t *wp_ = blk->wt;
        uint32_t v;
        FR_1X1_DSP_PAIRS(x_, xe_, wp_);
        if (kind == FLYNET_ROUNDING_DOUBLE) {
            v = fr_dsp_pack4(fr_dsp_rq_double(&l[0], a0), fr_dsp_rq_double(&l[1], a1), fr_dsp_rq_double(&l[2], a2),
                             fr_dsp_rq_double(&l[3], a3));
        } else {
            v = fr_dsp_pack4(fr_dsp_rq_single(&l[0], a0), fr_dsp_rq_single(&l[1], a1), fr_dsp_rq_single(&l[2], a2),
                             fr_dsp_rq_single(&l[3], a3));
        }
        if (clamp) v = fr_dsp_clamp4(v, blk->ep.lo4, blk->ep.hi4);
        fr_st4(dst, v);
        if (--count == 0) break;
        src += step_x;
        dst += out_c;
    }
}
#endif

/* count (>= 1) pixels, their inputs step_x apart from src, their outputs out_c apart from dst (the
 * pointers never step past the last pixel). The two common cases (a closed form, four channels)
 * have loops of their own. */
static void fr_1x1_dsp_run(const fr_1x1_blk *blk, const int8_t *src, int8_t *dst, int32_t count, int32_t step_x,
                           int32_t out_c)
{
    const fr_dsp_out4 *e = &blk->ep;
    int32_t a0, a1, a2, a3;
    const int8_t *const last = src + (int64_t)(count - 1) * step_x;
    /* with a closed form the accumulators hold d = 2 acc (doubled weights and biases) */
    if (e->kind != 0 && blk->nb == 4 && !blk->rest && blk->pairs != 0) {
        const int32_t clamp = e->lo4 != 0x80808080u || e->hi4 != 0x7F7F7F7Fu;
        switch (e->kind * 2 + clamp) {
        case FLYNET_ROUNDING_DOUBLE * 2: fr_1x1_dsp_whole(FLYNET_ROUNDING_DOUBLE, 0, blk, src, dst, count, step_x, out_c); break;
        case FLYNET_ROUNDING_DOUBLE * 2 + 1: fr_1x1_dsp_whole(FLYNET_ROUNDING_DOUBLE, 1, blk, src, dst, count, step_x, out_c); break;
        case FLYNET_ROUNDING_SINGLE * 2: fr_1x1_dsp_whole(FLYNET_ROUNDING_SINGLE, 0, blk, src, dst, count, step_x, out_c); break;
        default: fr_1x1_dsp_whole(FLYNET_ROUNDING_SINGLE, 1, blk, src, dst, count, step_x, out_c); break;
        }
    } else if (e->kind == FLYNET_ROUNDING_DOUBLE && blk->nb == 4) {
        FR_1X1_DSP_FAST_LOOP(fr_dsp_rq_double)
    } else if (e->kind == FLYNET_ROUNDING_SINGLE && blk->nb == 4) {
        FR_1X1_DSP_FAST_LOOP(fr_dsp_rq_single)
    } else {
        for (;; src += step_x, dst += out_c) {
            FR_1X1_DSP_PIXEL(blk, src);
            if (e->kind != 0) {
                const uint32_t v = fr_dsp_out4_fast(e, a0, a1, a2, a3);
                int32_t j;
                for (j = 0; j < blk->nb; ++j) dst[j] = fr_dsp_byte(v, j);
            } else {
                fr_dsp_out4_store(e, a0, a1, a2, a3, dst, blk->nb);
            }
            if (src == last) break;
        }
    }
}

/* filter: the int8 rows, or 0 with pk their PACKED codes. Inlined into each caller, so each copy
 * keeps only its own weight path (one call per 4-channel block saved on the packed one). */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline void fr_1x1_dsp(const flyref_conv_params *params, const flyref_quant_params *quant,
                       const flyref_dims *input_dims, const int8_t *input, const flyref_dims *filter_dims,
                       const int8_t *filter, fr_1x1_packed *pk, const int32_t *bias, const flyref_dims *output_dims,
                       int8_t *output, int32_t mode, int32_t groups, int32_t per_group, int32_t out_stride)
{
    fr_1x1_blk blk;
    const int32_t kc = filter_dims->c, kq = kc / 4, out_c = out_stride, in_c = input_dims->c;
    const int32_t oh = output_dims->h, ow = output_dims->w;
    /* int64: a stride is only bounded when it is used ((ow - 1) * stride_w < W) */
    const int64_t step_x = ow > 1 ? (int64_t)params->stride_w * in_c : 0;
    const int64_t row_x = (int64_t)params->stride_h * input_dims->w * in_c;
    const int64_t image_x = (int64_t)input_dims->h * input_dims->w * in_c;
    /* the rows of the map follow each other in memory (stride 1): one stream of pixels */
    const int32_t stream = row_x == ow * step_x && image_x == oh * row_x;
    int32_t g, oc0, b, oy;
    fr_1x1_ws spare;
    blk.pairs = kq / 2;
    blk.odd = kq & 1;
    blk.kr = kc % 4;
    blk.rest = blk.odd || blk.kr;
    if (pk && pk->ws == 0) {
        /* K <= FR_1X1_SPARE_K: the widened block leaves room for the tables behind its K words */
        spare.mem = (uint8_t *)(void *)(blk.wt + kc);
        spare.bytes = (int32_t)sizeof blk.wt - 8 * kc;
        spare.built = 0;
        spare.tail_from = -1;
        fr_1x1_packed_at(pk, &spare);
    }
    for (g = 0; g < groups; ++g) {
        for (oc0 = g * per_group; oc0 < (g + 1) * per_group; oc0 += 4) {
            int32_t j, twice, rows[4], sums[4];
            blk.nb = fr_min(4, (g + 1) * per_group - oc0);
            fr_dsp_out4_init(&blk.ep, quant, bias, oc0, blk.nb, kc, mode, params->output_offset,
                             params->activation.min, params->activation.max);
            /* the closed forms read d = 2 acc: with doubled weights and biases the accumulators
             * hold it */
            twice = blk.ep.kind != 0;
            for (j = 0; j < 4; ++j) {
                /* lanes past nb repeat row 0 */
                rows[j] = oc0 + (j < blk.nb ? j : 0);
                if (!pk) sums[j] = fr_1x1_dsp_widen(blk.wt + j, filter + (int64_t)rows[j] * kc, kc, twice);
            }
            if (pk) fr_1x1_dsp_widen_packed(blk.wt, pk, rows, kc, twice, sums);
            for (j = 0; j < 4; ++j) {
                const int32_t c = rows[j];
                /* |sum(w)| <= 512 * 128, so input_offset * sum(w) fits int32 */
                const int32_t bj = fr_add(bias ? bias[c] : 0, params->input_offset * sums[j]);
                /* doubled modulo 2^32 like the sums: d = 2 acc exactly, since |acc| < 2^30 */
                blk.b4[j] = twice ? fr_add(bj, bj) : bj;
            }
            if (stream) {
                fr_1x1_dsp_run(&blk, input + (int64_t)g * kc, output + oc0, input_dims->n * oh * ow, (int32_t)step_x,
                               out_c);
                continue;
            }
            for (b = 0; b < input_dims->n; ++b) {
                for (oy = 0; oy < oh; ++oy) {
                    fr_1x1_dsp_run(&blk, input + (int64_t)b * image_x + (int64_t)oy * row_x + (int64_t)g * kc,
                                   output + (((int64_t)b * oh + oy) * ow) * out_c + oc0, ow, (int32_t)step_x, out_c);
                }
            }
        }
    }
}
#else
const char fr_path_conv2d_1x1_s8[] = "portable";
#endif

/* The checks of a 1x1 call (filter: the weights in whatever form), its groups and the output stride. */
static flyref_status fr_1x1_args(const flyref_conv_params *params, const flyref_quant_params *quant,
                                 const flyref_dims *input_dims, const int8_t *input, const flyref_dims *filter_dims,
                                 const void *filter, const flyref_dims *output_dims, int8_t *output,
                                 int32_t *out_stride, int32_t *groups, int32_t *per_group)
{
    const flyref_status s = fr_conv_check(params, quant, input_dims, input, filter_dims, filter, output_dims, output,
                                          filter_dims ? filter_dims->n : 0);
    if (s != FLYREF_OK) return s;
    if (*out_stride == 0) *out_stride = output_dims->c;
    if (*out_stride < output_dims->c) return FLYREF_ARG_ERROR;
    if (filter_dims->h != 1 || filter_dims->w != 1 || params->pad_h != 0 || params->pad_w != 0) {
        return FLYREF_ARG_ERROR;
    }
    if ((int64_t)(output_dims->h - 1) * params->stride_h >= input_dims->h ||
        (int64_t)(output_dims->w - 1) * params->stride_w >= input_dims->w) {
        return FLYREF_SHAPE_ERROR;
    }
    if (input_dims->c % filter_dims->c != 0) return FLYREF_SHAPE_ERROR;
    *groups = input_dims->c / filter_dims->c;
    if (filter_dims->n % *groups != 0) return FLYREF_SHAPE_ERROR;
    *per_group = filter_dims->n / *groups;
    return FLYREF_OK;
}

/* The path fr_conv2d_1x1_s8_packed compiled (flyref_target_paths): unpacking into the MVE or DSP
 * staging, or none (portable: the interpreter decodes the weights). */
#if FR_CONV_MVE
const char fr_path_conv2d_1x1_packed_s8[] = "mve";
#elif FR_CONV_DSP
const char fr_path_conv2d_1x1_packed_s8[] = "dsp";
#else
const char fr_path_conv2d_1x1_packed_s8[] = "portable";
#endif

int fr_conv2d_1x1_packed_ok(int32_t kc, int32_t bits)
{
#if FR_CONV_MVE
    /* depths up to FR_1X1_MVE_COLS_K hold their kernels in vector registers for the whole map: a
     * decode pass (fr_unpack's vector runs) into the region costs less there than unpacking rows */
    return kc % 8 == 0 && kc > FR_1X1_MVE_COLS_K && kc <= FR_1X1_MVE_K && bits >= 1 && bits <= 4;
#elif FR_CONV_DSP
    return kc % 8 == 0 && kc <= FR_1X1_DSP_K && bits >= 1 && bits <= 3;
#else
    (void)kc;
    (void)bits;
    return 0;
#endif
}

int32_t fr_conv2d_1x1_packed_ws(int32_t kc)
{
#if FR_CONV_DSP && !FR_CONV_MVE
    return kc > FR_1X1_SPARE_K ? FR_1X1_WS_MIN : 0;
#else
    (void)kc;
    return 0;
#endif
}

flyref_status fr_conv2d_1x1_s8_packed(const flyref_conv_params *params, const flyref_quant_params *quant,
                                      const flyref_dims *input_dims, const int8_t *input,
                                      const flyref_dims *filter_dims, const fr_unpacker *filter, int32_t row0,
                                      const int32_t *bias, const flyref_dims *output_dims, int8_t *output,
                                      int32_t out_stride, fr_1x1_ws *ws)
{
    int32_t groups, per_group;
    flyref_status s = fr_1x1_args(params, quant, input_dims, input, filter_dims, filter, output_dims, output,
                                  &out_stride, &groups, &per_group);
    if (s != FLYREF_OK) return s;
    if (!fr_conv2d_1x1_packed_ok(filter_dims->c, filter->bits) || row0 < 0) return FLYREF_NO_IMPL;
#if FR_CONV_MVE
    (void)ws;
    fr_1x1_mve(params, quant, input_dims, input, filter_dims, 0, filter, row0, bias, output_dims, output,
               fr_mode(params->rounding), groups, per_group, out_stride);
#elif FR_CONV_DSP
    {
        /* the tables (2 KB each for 3 bits) live in the widened block's spare room or in the
         * caller's workspace, not in a frame of their own on the stack */
        fr_1x1_packed pk;
        pk.u = filter;
        pk.row0 = row0;
        const int ws_ok = ws != 0 && ws->mem != 0 && ((uintptr_t)ws->mem & 3u) == 0;
        pk.ws = 0;
        /* the workspace when it holds both forms' tables (built once per node) or the block has
         * no room for one */
        if (ws_ok && (ws->bytes >= FR_1X1_WS_TWO || (filter_dims->c > FR_1X1_SPARE_K && ws->bytes >= FR_1X1_WS_MIN))) {
            fr_1x1_packed_at(&pk, ws);
        } else if (filter_dims->c > FR_1X1_SPARE_K) {
            return FLYREF_ARG_ERROR;
        }
        fr_1x1_dsp(params, quant, input_dims, input, filter_dims, 0, &pk, bias, output_dims, output,
                   fr_mode(params->rounding), groups, per_group, out_stride);
    }
#else
    (void)bias;
    (void)ws;
#endif
    return FLYREF_OK;
}

flyref_status fr_conv2d_1x1_s8_strided(const flyref_conv_params *params, const flyref_quant_params *quant,
                                       const flyref_dims *input_dims, const int8_t *input,
                                       const flyref_dims *filter_dims, const int8_t *filter, const int32_t *bias,
                                       const flyref_dims *output_dims, int8_t *output, int32_t out_stride)
{
    int32_t groups, per_group, kc, mode, b, oy, ox;
    flyref_status s = fr_1x1_args(params, quant, input_dims, input, filter_dims, filter, output_dims, output,
                                  &out_stride, &groups, &per_group);
    if (s != FLYREF_OK) return s;
    kc = filter_dims->c;
    mode = fr_mode(params->rounding);

#if FLYREF_AVX2
    if (kc <= FR_1X1_V_K && fr_avx2_enabled()) {
        fr_1x1_avx2(params, quant, input_dims, input, filter_dims, filter, bias, output_dims, output, mode, groups,
                    per_group, out_stride);
        return FLYREF_OK;
    }
#endif
#if FR_CONV_MVE
    if (kc <= FR_1X1_MVE_K) {
        fr_1x1_mve(params, quant, input_dims, input, filter_dims, filter, 0, 0, bias, output_dims, output, mode,
                   groups, per_group, out_stride);
        return FLYREF_OK;
    }
#elif FR_CONV_DSP
    if (kc <= FR_1X1_DSP_K) {
        fr_1x1_dsp(params, quant, input_dims, input, filter_dims, filter, 0, bias, output_dims, output, mode, groups,
                   per_group, out_stride);
        return FLYREF_OK;
    }
#endif
    if (kc <= FR_1X1_K) {
        fr_1x1_fast(params, quant, input_dims, input, filter_dims, filter, bias, output_dims, output, mode, groups,
                    per_group, out_stride);
        return FLYREF_OK;
    }
    for (b = 0; b < input_dims->n; ++b) {
        for (oy = 0; oy < output_dims->h; ++oy) {
            for (ox = 0; ox < output_dims->w; ++ox) {
                const int8_t *src = input + (((int64_t)b * input_dims->h + oy * params->stride_h) * input_dims->w
                                             + ox * params->stride_w) * input_dims->c;
                int8_t *dst = output + (((int64_t)b * output_dims->h + oy) * output_dims->w + ox) * out_stride;
                int32_t oc;
                for (oc = 0; oc < filter_dims->n; ++oc) {
                    const int8_t *x = src + (int64_t)(oc / per_group) * kc;
                    const int8_t *w = filter + (int64_t)oc * kc;
                    int32_t acc = bias ? bias[oc] : 0;
                    int32_t i;
                    for (i = 0; i < kc; ++i) {
                        acc = fr_add(acc, (int32_t)w[i] * ((int32_t)x[i] + params->input_offset));
                    }
                    dst[oc] = fr_epilogue(acc, quant, oc, mode, params->output_offset, &params->activation);
                }
            }
        }
    }
    return FLYREF_OK;
}

flyref_status flyref_conv2d_1x1_s8(const flyref_conv_params *params, const flyref_quant_params *quant,
                                   const flyref_dims *input_dims, const int8_t *input,
                                   const flyref_dims *filter_dims, const int8_t *filter,
                                   const int32_t *bias, const flyref_dims *output_dims,
                                   int8_t *output)
{
    return fr_conv2d_1x1_s8_strided(params, quant, input_dims, input, filter_dims, filter, bias, output_dims, output,
                                    0);
}
