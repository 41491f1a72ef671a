/*
 * Armv8.1-M MVE (Helium) path of flyref_depthwise_conv2d_s8 (Cortex-M55): private, included by
 * flyref_depthwise_conv2d_s8.c only. Selected at compile time (FLYREF_ARM_MVE, from
 * __ARM_FEATURE_MVE; intrinsics of arm_mve.h); FLYREF_NO_VECTOR_PATHS turns it off.
 *
 * Vectors run across four output pixels of one output channel (int32 lanes), so every multiply-
 * accumulate is VMLA by a scalar weight: acc[p] += w * (x[p] + input_offset). The inputs are
 * widened once per channel group into rows of int16 (x + input_offset), zero where a tap falls
 * left or right of the image, and split by column phase for strides above 1 (column j of the
 * padded row goes to phase j % stride, index j / stride), so the four pixels' inputs of one tap are
 * consecutive and one widening load (VLDRH.S32) reads them. Up to three heads (output channels
 * ic * ch_mult + m of one input channel) share each load. Rows above or below the image are
 * skipped, as in the spec.
 *
 * Why it is bit-exact with the spec loop (fr_dw_generic): each product w * (x + input_offset) is
 * exact in int32 and VMLA.I32 adds modulo 2^32 like the spec's fr_add chain (the order of a sum
 * modulo 2^32 does not matter); a tap outside the input adds w * 0. Requantization per output
 * channel, four lanes at once:
 *   double rounding: VSHL (x << ls, wrapping like fr_shl), VQRDMULH = SRDHM (its saturating case
 *     needs both operands INT32_MIN; the multiplier is >= 0), and for rs > 0 RDBPOT as VRSHL by
 *     -rs of h + (h >> 31): VRSHL rounds half up, (t + 2^(rs-1)) >> rs, in exact arithmetic, and
 *     h - [h < 0] turns that into round half away from zero; h > INT32_MIN, so h - 1 cannot wrap;
 *   single rounding, t = 31 - shift: t >= 33 gives (x m + 2^(t-1)) >> t = (H + 2^(t-33)) >> (t-32)
 *     with H = VMULH (floor(x m / 2^32)), i.e. VRSHL by -(t - 32); t = 32 is VRMULH; t < 32
 *     (shift >= 0, where the spec wraps the 64-bit result) goes lane by lane through fr_rq_apply;
 *   then + output_offset (VADD wraps like fr_add), VMAX / VMIN with the activation range, and a
 *   predicated byte scatter (VSTRB.32) to the four pixels.
 *
 * Memory: one stack block of FR_DWM_BYTES holds, per group of input channels, the channel
 * constants and a rolling window of kernel-height widened rows; layers whose single channel does
 * not fit and dilated kernels take the next path (DSP, then portable).
 */
#ifndef FLYREF_DW_MVE_H_
#define FLYREF_DW_MVE_H_

#include "../support/flyref_target.h"

#if FLYREF_ARM_MVE
#include <arm_mve.h>

#include "flyref_conv_common.h"

#define FR_DWM_BYTES 4096
#define FR_DWM_MAX_KW 32
#define FR_DWM_MAX_KH 32

enum { FR_DWM_DOUBLE = 0, FR_DWM_DOUBLE_RS0 = 1, FR_DWM_SINGLE_HI = 2, FR_DWM_SINGLE_32 = 3, FR_DWM_LANES = 4 };

/* Constants of one output channel. */
typedef struct fr_dwm_ch {
    int32_t bias, mult, ls, rsh, form; /* rsh: the (negative) VRSHL amount */
    fr_rq rq;                          /* form FR_DWM_LANES */
} fr_dwm_ch;

/* One output row of one channel group. */
typedef struct fr_dwm_job {
    const int16_t *rows[FR_DWM_MAX_KH]; /* kernel row ky's widened row of channel 0 (valid ky) */
    const int8_t *filter;    /* weights of the group's first output channel, kernel row 0 */
    const fr_dwm_ch *ch;     /* [g * h] */
    int8_t *dst;             /* output row at the group's first output channel */
    int32_t ky0, ky1, kh, kw, sw, len, rstride, rowlen, g, h, out_c, out_w;
    int32_t out_stride;      /* elements between two output pixels (out_c, or more for a channel block) */
    int32_t out_off, act_min, act_max;
    int32_t phoff[FR_DWM_MAX_KW]; /* tap kx: its input at pixel p is row[phoff[kx] + p] */
} fr_dwm_job;

/* fr_rq_apply lane by lane (single rounding with shift >= 0, where the spec wraps); out of line,
 * it is rare. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static int32x4_t fr_dwm_lanes(int32x4_t acc, const fr_rq *rq)
{
    int32_t a[4], i;
    vst1q_s32(a, acc);
    for (i = 0; i < 4; ++i) a[i] = fr_rq_apply(rq, a[i]);
    return vld1q_s32(a);
}

/* Requantizes four lanes of one output channel, adds out_off, clamps to [lo, hi] and stores the
 * lanes of predicate p to dst, dst + out_stride, ... (offs) (see the top comment). */
static inline void fr_dwm_store(int32x4_t acc, const fr_dwm_ch *c, int32_t out_off, int32x4_t lo, int32x4_t hi,
                                int8_t *dst, uint32x4_t offs, mve_pred16_t p)
{
    int32x4_t v;
    switch (c->form) {
    case FR_DWM_DOUBLE:
        v = vqrdmulhq_n_s32(vshlq_r_s32(acc, c->ls), c->mult);
        v = vrshlq_n_s32(vaddq_s32(v, vshrq_n_s32(v, 31)), c->rsh);
        break;
    case FR_DWM_DOUBLE_RS0:
        v = vqrdmulhq_n_s32(vshlq_r_s32(acc, c->ls), c->mult);
        break;
    case FR_DWM_SINGLE_HI:
        v = vrshlq_n_s32(vmulhq_s32(acc, vdupq_n_s32(c->mult)), c->rsh);
        break;
    case FR_DWM_SINGLE_32:
        v = vrmulhq_s32(acc, vdupq_n_s32(c->mult));
        break;
    default:
        v = fr_dwm_lanes(acc, &c->rq);
        break;
    }
    v = vminq_s32(vmaxq_s32(vaddq_n_s32(v, out_off), lo), hi);
    vstrbq_scatter_offset_p_s32(dst, offs, v, p);
}

/*
 * K heads (1..3, from head m0) of group channel c along the output row, four pixels at a time.
 * KW > 0 and S > 0 are the kernel width and stride at compile time (the taps' offsets then are
 * constants), 0 takes them from the job. The empty asm statement after each tap keeps GCC from
 * hoisting the weight loads of a whole kernel row ahead of their multiplies (it then spills
 * them).
 */
static inline void fr_dwm_heads(const fr_dwm_job *j, int32_t c, int32_t m0, const int K, const int KW, const int S)
{
    const int32_t kw = KW > 0 ? KW : j->kw, out_c = j->out_c, len = j->len, i0 = c * j->h + m0;
    const int32_t nrows = j->ky1 - j->ky0, out_w = j->out_w, coff = c * j->rowlen;
    const int32_t wrow = kw * out_c;
    const fr_dwm_ch *ch = j->ch + i0;
    const int8_t *wc = j->filter + i0 + j->ky0 * wrow;
    const int16_t *const *rows = j->rows + j->ky0;
    const uint32x4_t offs = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)j->out_stride);
    const int32x4_t lo = vdupq_n_s32(j->act_min), hi = vdupq_n_s32(j->act_max);
    const int32_t out_off = j->out_off;
    int8_t *dst = j->dst + i0;
    int32_t p0, r, kx;
    for (p0 = 0; p0 < out_w; p0 += 4) {
        const mve_pred16_t p = vctp32q((uint32_t)(out_w - p0));
        int32x4_t a0 = vdupq_n_s32(ch[0].bias), a1 = a0, a2 = a0;
        const int8_t *w = wc;
        if (K > 1) a1 = vdupq_n_s32(ch[1].bias);
        if (K > 2) a2 = vdupq_n_s32(ch[2].bias);
        for (r = 0; r < nrows; ++r) {
            const int16_t *q = rows[r] + coff + p0;
            const int8_t *wk = w;
            for (kx = 0; kx < kw; ++kx) {
                const int32_t off = S == 1 ? kx : (S == 2 ? (kx & 1) * len + (kx >> 1) : j->phoff[kx]);
                const int32x4_t x = vldrhq_s32(q + off);
                a0 = vmlaq_n_s32(a0, x, wk[0]);
                if (K > 1) a1 = vmlaq_n_s32(a1, x, wk[1]);
                if (K > 2) a2 = vmlaq_n_s32(a2, x, wk[2]);
                wk += out_c;
                __asm__("" : "+r"(wk));
            }
            w += wrow;
        }
        fr_dwm_store(a0, &ch[0], out_off, lo, hi, dst, offs, p);
        if (K > 1) fr_dwm_store(a1, &ch[1], out_off, lo, hi, dst + 1, offs, p);
        if (K > 2) fr_dwm_store(a2, &ch[2], out_off, lo, hi, dst + 2, offs, p);
        dst += 4 * j->out_stride;
    }
}

/* Every head of every group channel along the output row. */
static inline void fr_dwm_row(const fr_dwm_job *j, const int KW, const int S)
{
    const int32_t h = j->h;
    int32_t c, m0;
    for (c = 0; c < j->g; ++c) {
        for (m0 = 0; m0 + 3 <= h; m0 += 3) fr_dwm_heads(j, c, m0, 3, KW, S);
        if (h - m0 == 2) fr_dwm_heads(j, c, m0, 2, KW, S);
        if (h - m0 == 1) fr_dwm_heads(j, c, m0, 1, KW, S);
    }
}

typedef void (*fr_dwm_row_fn)(const fr_dwm_job *j);
#define FR_DWM_ROW(KW, S) \
    static void fr_dwm_row_##KW##_##S(const fr_dwm_job *j) { fr_dwm_row(j, KW, S); }
FR_DWM_ROW(3, 1)
FR_DWM_ROW(5, 1)
FR_DWM_ROW(3, 2)
FR_DWM_ROW(5, 2)
FR_DWM_ROW(0, 0)

/* Widens input row iy of the group's channels into one slot: padded column pw + ix of channel c
 * goes to phase (pw + ix) % sw, index (pw + ix) / sw. Eight channels of a pixel at a time: a
 * widening load, the offset, and a halfword scatter to the eight channels' rows. */
static void fr_dwm_build(int16_t *slot, const int8_t *src, int32_t in_c, int32_t in_w, int32_t g, int32_t rowlen,
                         int32_t len, int32_t pw, int32_t sw, int32_t off)
{
    const uint16x8_t offs = vmulq_n_u16(vidupq_n_u16(0, 1), (uint16_t)(2 * rowlen));
    int32_t ix, c;
    for (ix = 0; ix < in_w; ++ix) {
        const int32_t col = pw + ix;
        int16_t *dst = slot + (col % sw) * len + col / sw;
        const int8_t *s = src + ix * in_c;
        for (c = 0; c < g; c += 8) {
            const mve_pred16_t p = vctp16q((uint32_t)(g - c));
            const int16x8_t x = vaddq_n_s16(vldrbq_z_s16(s + c, p), (int16_t)off);
            vstrhq_scatter_offset_p_s16(dst + c * rowlen, offs, x, p);
        }
    }
}

/* Returns 0 (nothing written) when the layer does not suit the path. */
static int fr_dw_mve(const flyref_conv_params *params, int32_t ch_mult, const flyref_quant_params *quant,
                     const flyref_dims *input_dims, const int8_t *input, const flyref_dims *filter_dims,
                     const int8_t *filter, const int32_t *bias, const flyref_dims *output_dims, int8_t *output,
                     int32_t mode, int32_t in_stride, int32_t out_stride)
{
    uint64_t block[FR_DWM_BYTES / 8];
    fr_dwm_job j;
    fr_dwm_row_fn row;
    const int32_t h = ch_mult, in_c = input_dims->c, in_h = input_dims->h, in_w = input_dims->w;
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = in_c * h;
    const int32_t kh = filter_dims->h, kw = filter_dims->w;
    const int32_t sh = params->stride_h, sw = params->stride_w, ph = params->pad_h, pw = params->pad_w;
    int64_t len64, per_ch;
    int32_t g_max, c0, b, kx, rowlen, len;
    if (params->dilation_h != 1 || params->dilation_w != 1 || kw > FR_DWM_MAX_KW || kh > FR_DWM_MAX_KH) return 0;
    /* Phase length: the padded input row, and the last tap of the last group of four pixels. */
    len64 = ((int64_t)pw + in_w + sw - 1) / sw;
    if ((int64_t)((out_w + 3) & ~3) + (kw - 1) / sw > len64) len64 = (int64_t)((out_w + 3) & ~3) + (kw - 1) / sw;
    /* Per input channel: the constants of its heads and kh widened rows of sw phases. */
    per_ch = (int64_t)h * (int64_t)sizeof(fr_dwm_ch) + 2 * (int64_t)kh * sw * len64;
    if (per_ch > FR_DWM_BYTES || len64 * sw > 0x7FFF) return 0;
    len = (int32_t)len64;
    rowlen = len * sw;
    g_max = (int32_t)(FR_DWM_BYTES / per_ch);
    if (g_max > in_c) g_max = in_c;
    for (kx = 0; kx < kw; ++kx) j.phoff[kx] = (kx % sw) * len + kx / sw;
    row = kw == 3 && sw == 1 ? fr_dwm_row_3_1
        : kw == 5 && sw == 1 ? fr_dwm_row_5_1
        : kw == 3 && sw == 2 ? fr_dwm_row_3_2
        : kw == 5 && sw == 2 ? fr_dwm_row_5_2 : fr_dwm_row_0_0;
    j.kh = kh;
    j.kw = kw;
    j.sw = sw;
    j.len = len;
    j.rowlen = rowlen;
    j.rstride = g_max * rowlen;
    j.h = h;
    j.out_c = out_c;
    j.out_stride = out_stride;
    j.out_w = out_w;
    j.out_off = params->output_offset;
    j.act_min = params->activation.min;
    j.act_max = params->activation.max;
    {
        fr_dwm_ch *ch = (fr_dwm_ch *)(void *)block;
        int16_t *q = (int16_t *)(void *)(ch + g_max * h);
        /* The padding columns stay zero: rows only write the image's columns. */
        int16_t *qz = q, *qz_end = q + kh * j.rstride;
        while (qz != qz_end) *qz++ = 0;
        j.ch = ch;
        for (c0 = 0; c0 < in_c; c0 += g_max) {
            const int32_t g = fr_min(g_max, in_c - c0), n = g * h, oc0 = c0 * h;
            int32_t i;
            for (i = 0; i < n; ++i) {
                const int32_t qi = quant->count != 1 ? oc0 + i : 0, shift = quant->shift[qi];
                fr_dwm_ch *c = &ch[i];
                c->bias = bias ? bias[oc0 + i] : 0;
                c->mult = quant->multiplier[qi];
                c->ls = shift > 0 ? shift : 0;
                if (mode == FLYNET_ROUNDING_DOUBLE) {
                    c->form = shift >= 0 ? FR_DWM_DOUBLE_RS0 : FR_DWM_DOUBLE;
                    c->rsh = shift >= 0 ? 0 : shift;
                } else {
                    c->form = shift <= -2 ? FR_DWM_SINGLE_HI : (shift == -1 ? FR_DWM_SINGLE_32 : FR_DWM_LANES);
                    c->rsh = shift <= -2 ? shift + 1 : 0; /* -(t - 32) */
                    fr_rq_init(&c->rq, c->mult, shift, mode);
                }
            }
            j.g = g;
            j.filter = filter + oc0;
            for (b = 0; b < input_dims->n; ++b) {
                const int8_t *in_b = input + (int64_t)b * in_h * in_w * in_stride + c0;
                int32_t next_row = 0, oy;
                for (oy = 0; oy < out_h; ++oy) {
                    const int32_t iy0 = oy * sh - ph;
                    const int32_t ky0 = iy0 < 0 ? fr_min(-iy0, kh) : 0;
                    const int32_t ky1 = fr_max(ky0, fr_min(kh, in_h - iy0));
                    int32_t iy;
                    for (iy = fr_max(next_row, iy0 + ky0); iy < iy0 + ky1; ++iy) {
                        fr_dwm_build(q + (iy % kh) * j.rstride, in_b + (int64_t)iy * in_w * in_stride, in_stride, in_w,
                                     g, rowlen, len, pw, sw, params->input_offset);
                    }
                    if (iy0 + ky1 > next_row) next_row = iy0 + ky1;
                    for (iy = ky0; iy < ky1; ++iy) j.rows[iy] = q + ((iy0 + iy) % kh) * j.rstride;
                    j.ky0 = ky0;
                    j.ky1 = ky1;
                    j.dst = output + ((int64_t)b * out_h + oy) * out_w * out_stride + oc0;
                    row(&j);
                }
            }
        }
    }
    return 1;
}
#endif /* FLYREF_ARM_MVE */

#endif /* FLYREF_DW_MVE_H_ */
