/*
 * Armv8.1-M MVE (Helium) path of flyref_depthwise_conv2d_s8 (Cortex-M55): private, included by
 * flyref_depthwise_conv2d_s8.c only. Selected at compile time (FLYREF_ARM_MVE, from
 * __ARM_FEATURE_MVE; intrinsics of arm_mve.h); FLYREF_NO_VECTOR_PATHS turns it off.
 *
 * One output value is a dot product of its kh * kw taps with the kernel of its channel, so the
 * path makes each output pixel's taps one contiguous run of bytes and lets VMLADAV (sixteen int8
 * products summed into a 32-bit scalar) do sixteen multiply-accumulates per instruction:
 *   - per input channel and pass (a run of output rows), the input rows the pass reads are copied
 *     column-major into a "strip" (byte gathers across the channel's pixels, byte scatters down
 *     the strip's columns), and from it, sixteen bytes per gather, each output row's "band",
 *     band[col * kh + ky] = x[iy0 + ky * dh][col - pw]: the taps of output pixel p are then the
 *     kh * kw bytes from band[p * sw * kh], in the order kx * kh + ky;
 *   - the kernel of each head (output channel ic * ch_mult + m) is stored once per channel group
 *     in the same order, zero padded to whole 16-byte vectors; up to four heads of a channel
 *     share each load of the taps (three with two vectors of taps, whose kernels then fill the
 *     vector registers), and their dot products go to an accumulator block;
 *   - a tap outside the image holds the input zero point zp = -input_offset (an int8, since
 *     input_offset is in [-127, 128]).
 * Why it is bit-exact with the spec loop (fr_dw_generic): with the raw codes x every product is
 * exact, and VMLADAV(A) adds them modulo 2^32. Over all kh * kw taps, with bias' = bias +
 * input_offset * sum(w) (sum over the whole kernel, modulo 2^32),
 *   bias' + sum(w * x) = bias + sum_inside(w * (x + input_offset)) + sum_outside(w * (zp + input_offset))
 * and the last sum is 0, so this is the spec's acc (which skips the outside taps) modulo 2^32.
 * Padding lanes of the last vector meet zero weights, so whatever the band holds there adds 0.
 * Requantization per output channel, four pixels at once (the accumulators of a pass are stored
 * and read back as vectors): flyref_conv_mve.h, then + output_offset, VMAX / VMIN with the
 * activation range, and a byte scatter (VSTRB.32) to the four pixels.
 *
 * Memory: one stack block of FR_DWM_BYTES holds the accumulators of one pass (FR_DWM_K heads x
 * FR_DWM_PX pixels), the constants and kernels of a channel group, the bands of the pass's output
 * rows, its strip and the bands' gather offsets. Kernels of more than 16 * FR_DWM_MAX_NV taps,
 * dilated columns, and layers whose band or heads do not fit take the portable path.
 */
#ifndef FLYREF_DW_MVE_H_
#define FLYREF_DW_MVE_H_

#include "../support/flyref_target.h"

#if FLYREF_ARM_MVE
#include <arm_mve.h>

#include "flyref_conv_common.h"
#include "flyref_conv_mve.h"

#define FR_DWM_BYTES 4096
#define FR_DWM_MAX_NV 4 /* vectors of taps: kernels up to 64 taps */
#define FR_DWM_PX 64    /* accumulators per head and pass */
#define FR_DWM_K 4      /* heads per pass (three with two vectors of taps: their kernels fill the Q registers) */

/* fr_dwm_out for one form: whole vectors, then a predicated last one. */
FR_INLINE void fr_dwm_out_form(const int32_t *acc, int32_t n, const fr_mch *c, int32_t out_off, int32x4_t lo,
                               int32x4_t hi, int8_t *dst, int32_t out_c, const int FORM)
{
    const uint32x4_t offs = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)out_c);
    const int32_t bias = c->bias, mult = c->mult, ls = c->ls, rsh = c->rsh, step = 4 * out_c;
    const int32_t *const end = acc + (n & ~3);
    for (; acc != end; acc += 4, dst += step) {
        const int32x4_t v = fr_mch_rq(FORM, vaddq_n_s32(vldrwq_s32(acc), bias), mult, ls, rsh, &c->rq);
        vstrbq_scatter_offset_s32(dst, offs, vminq_s32(vmaxq_s32(vaddq_n_s32(v, out_off), lo), hi));
    }
    if ((n & 3) != 0) {
        const mve_pred16_t p = vctp32q((uint32_t)(n & 3));
        const int32x4_t v = fr_mch_rq(FORM, vaddq_n_s32(vldrwq_z_s32(acc, p), bias), mult, ls, rsh, &c->rq);
        vstrbq_scatter_offset_p_s32(dst, offs, vminq_s32(vmaxq_s32(vaddq_n_s32(v, out_off), lo), hi), p);
    }
}

/* Requantizes the n accumulators of each of k heads (FR_DWM_PX apart from acc; consecutive output
 * pixels, out_c bytes apart from dst + head), adds out_off, clamps to [lo, hi] and stores them (see
 * the top comment). */
static void fr_dwm_out(const int32_t *acc, int32_t n, int32_t k, const fr_mch *c, int32_t out_off, int32x4_t lo,
                       int32x4_t hi, int8_t *dst, int32_t out_c)
{
    int32_t i;
    for (i = 0; i < k; ++i, acc += FR_DWM_PX, ++c, ++dst) {
        switch (c->form) {
        case FR_MCH_DOUBLE: fr_dwm_out_form(acc, n, c, out_off, lo, hi, dst, out_c, FR_MCH_DOUBLE); break;
        case FR_MCH_DOUBLE_RS0: fr_dwm_out_form(acc, n, c, out_off, lo, hi, dst, out_c, FR_MCH_DOUBLE_RS0); break;
        case FR_MCH_SINGLE_HI: fr_dwm_out_form(acc, n, c, out_off, lo, hi, dst, out_c, FR_MCH_SINGLE_HI); break;
        case FR_MCH_SINGLE_32: fr_dwm_out_form(acc, n, c, out_off, lo, hi, dst, out_c, FR_MCH_SINGLE_32); break;
        default: fr_dwm_out_form(acc, n, c, out_off, lo, hi, dst, out_c, FR_MCH_LANES); break;
        }
    }
}

/*
 * The dot products of K heads (kernels wlen bytes apart from w) with the taps of nr band rows
 * (bsz bytes apart) of np pixels each (step bytes apart): acc[k * FR_DWM_PX + r * np + p].
 * NV = 1 or 2: the kernels stay in registers; NV = 0: nv vectors, the kernels loaded per pixel.
 */
FR_INLINE void fr_dwm_win(const int8_t *band, int32_t bsz, int32_t nr, int32_t np, int32_t step, const int8_t *w,
                          int32_t wlen, int32_t nv, int32_t *acc, const int K, const int NV)
{
    int32_t r, p, j;
    if (NV == 1 || NV == 2) {
        const int8x16_t w00 = vldrbq_s8(w), w10 = vldrbq_s8(w + (K > 1 ? wlen : 0));
        const int8x16_t w20 = vldrbq_s8(w + (K > 2 ? 2 * wlen : 0)), w30 = vldrbq_s8(w + (K > 3 ? 3 * wlen : 0));
        const int8x16_t w01 = vldrbq_s8(w + (NV > 1 ? 16 : 0)), w11 = vldrbq_s8(w + (NV > 1 && K > 1 ? wlen + 16 : 0));
        const int8x16_t w21 = vldrbq_s8(w + (NV > 1 && K > 2 ? 2 * wlen + 16 : 0));
        for (r = 0; r < nr; ++r) {
            const int8_t *x = band + r * bsz;
            for (p = 0; p < np; ++p, x += step, ++acc) {
                const int8x16_t x0 = vldrbq_s8(x);
                int32_t a0 = vmladavq_s8(x0, w00), a1 = 0, a2 = 0, a3 = 0;
                if (K > 1) a1 = vmladavq_s8(x0, w10);
                if (K > 2) a2 = vmladavq_s8(x0, w20);
                if (K > 3) a3 = vmladavq_s8(x0, w30);
                if (NV > 1) {
                    const int8x16_t x1 = vldrbq_s8(x + 16);
                    a0 = vmladavaq_s8(a0, x1, w01);
                    if (K > 1) a1 = vmladavaq_s8(a1, x1, w11);
                    if (K > 2) a2 = vmladavaq_s8(a2, x1, w21);
                }
                acc[0] = a0;
                if (K > 1) acc[FR_DWM_PX] = a1;
                if (K > 2) acc[2 * FR_DWM_PX] = a2;
                if (K > 3) acc[3 * FR_DWM_PX] = a3;
            }
        }
    } else {
        for (r = 0; r < nr; ++r) {
            const int8_t *x = band + r * bsz;
            for (p = 0; p < np; ++p, x += step, ++acc) {
                int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
                for (j = 0; j < nv; ++j) {
                    const int8x16_t xj = vldrbq_s8(x + 16 * j);
                    a0 = vmladavaq_s8(a0, xj, vldrbq_s8(w + 16 * j));
                    if (K > 1) a1 = vmladavaq_s8(a1, xj, vldrbq_s8(w + wlen + 16 * j));
                    if (K > 2) a2 = vmladavaq_s8(a2, xj, vldrbq_s8(w + 2 * wlen + 16 * j));
                    if (K > 3) a3 = vmladavaq_s8(a3, xj, vldrbq_s8(w + 3 * wlen + 16 * j));
                }
                acc[0] = a0;
                if (K > 1) acc[FR_DWM_PX] = a1;
                if (K > 2) acc[2 * FR_DWM_PX] = a2;
                if (K > 3) acc[3 * FR_DWM_PX] = a3;
            }
        }
    }
}

/* fr_dwm_win for k heads (1 .. fr_dwm_kmax(nv)) and nv vectors of taps; called, so the kernels
 * have the vector registers to themselves. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void fr_dwm_pass(const int8_t *band, int32_t bsz, int32_t nr, int32_t np, int32_t step, const int8_t *w,
                        int32_t wlen, int32_t nv, int32_t *acc, int32_t k)
{
    switch ((nv < 3 ? nv : 0) * 8 + k) {
    case 8 + 1: fr_dwm_win(band, bsz, nr, np, step, w, wlen, nv, acc, 1, 1); break;
    case 8 + 2: fr_dwm_win(band, bsz, nr, np, step, w, wlen, nv, acc, 2, 1); break;
    case 8 + 3: fr_dwm_win(band, bsz, nr, np, step, w, wlen, nv, acc, 3, 1); break;
    case 8 + 4: fr_dwm_win(band, bsz, nr, np, step, w, wlen, nv, acc, 4, 1); break;
    case 16 + 1: fr_dwm_win(band, bsz, nr, np, step, w, wlen, nv, acc, 1, 2); break;
    case 16 + 2: fr_dwm_win(band, bsz, nr, np, step, w, wlen, nv, acc, 2, 2); break;
    case 16 + 3: fr_dwm_win(band, bsz, nr, np, step, w, wlen, nv, acc, 3, 2); break;
    case 1: fr_dwm_win(band, bsz, nr, np, step, w, wlen, nv, acc, 1, 0); break;
    case 2: fr_dwm_win(band, bsz, nr, np, step, w, wlen, nv, acc, 2, 0); break;
    case 3: fr_dwm_win(band, bsz, nr, np, step, w, wlen, nv, acc, 3, 0); break;
    default: fr_dwm_win(band, bsz, nr, np, step, w, wlen, nv, acc, 4, 0); break;
    }
}

/* Heads per pass. */
static inline int32_t fr_dwm_kmax(int32_t nv) { return nv == 2 ? 3 : FR_DWM_K; }

/* The layer's geometry as the strip and band builders need it. */
typedef struct fr_dwm_geo {
    int32_t kh, dh, sh, in_h, in_w, in_c, pw, zp;
    int32_t hp;           /* rows of the strip: the input rows of one pass */
    int32_t nchunk;       /* 16-byte chunks of a band */
    const int32_t *base;  /* [nchunk]: the strip offset of each chunk's first byte */
    const uint8_t *off;   /* [nchunk][16]: each byte's strip offset from its chunk's base */
} fr_dwm_geo;

/* Strip offset of band byte i (column i / kh, kernel row i % kh) for the first row of a pass. */
static inline int32_t fr_dwm_spos(int32_t i, int32_t kh, int32_t dh, int32_t hp) { return (i / kh) * hp + (i % kh) * dh; }

/* The strip of one pass of one channel (plane: the channel's first input byte), column-major:
 * input row iy0 + s to strip[(pw + ix) * hp + s], or with zp (rows outside the image) the zero
 * point. The columns left and right of the image keep the zero point they were filled with.
 * Eight columns at a time, all the strip's rows: a byte gather (offsets ix * in_c) and a byte
 * scatter (ix * hp), the last columns predicated. */
static void fr_dwm_strip(int8_t *strip, const int8_t *plane, int32_t iy0, int zp_rows, const fr_dwm_geo *g)
{
    const int32_t hp = g->hp, in_w = g->in_w, in_c = g->in_c;
    const uint16x8_t gi = vmulq_n_u16(vidupq_n_u16(0, 1), (uint16_t)in_c);
    const uint16x8_t so = vmulq_n_u16(vidupq_n_u16(0, 1), (uint16_t)hp);
    const int16x8_t z = vdupq_n_s16((int16_t)g->zp);
    const int64_t row = (int64_t)in_w * in_c;
    /* rows [s0, s1) lie inside the image */
    const int32_t s0 = fr_min(fr_max(-iy0, 0), hp), s1 = fr_max(s0, fr_min(g->in_h - iy0, hp));
    int32_t ix, s;
    for (ix = 0; ix < in_w; ix += 8) {
        const mve_pred16_t p = vctp16q((uint32_t)(in_w - ix));
        int8_t *d = strip + (g->pw + ix) * hp;
        /* (no valid rows: the pointer is never read, and stays inside the input) */
        const int8_t *x = s1 > s0 ? plane + (int64_t)(iy0 + s0) * row + (int64_t)ix * in_c : plane;
        if (zp_rows) {
            for (s = 0; s < s0; ++s) vstrbq_scatter_offset_p_s16(d + s, so, z, p);
            for (s = s1; s < hp; ++s) vstrbq_scatter_offset_p_s16(d + s, so, z, p);
        }
        if (in_w - ix >= 8) {
            for (s = s0; s < s1; ++s, x += row) vstrbq_scatter_offset_s16(d + s, so, vldrbq_gather_offset_s16(x, gi));
        } else {
            for (s = s0; s < s1; ++s, x += row) {
                vstrbq_scatter_offset_p_s16(d + s, so, vldrbq_gather_offset_z_s16(x, gi, p), p);
            }
        }
    }
}

/* The bands of the nr output rows of a pass (bsz bytes apart) from its strip: band byte i of row r
 * is strip byte fr_dwm_spos(i) + r * sh, sixteen per gather. */
static void fr_dwm_bands(int8_t *band, int32_t bsz, int32_t nr, const int8_t *strip, const fr_dwm_geo *g)
{
    const int32_t nchunk = g->nchunk, sh = g->sh;
    int32_t r, j;
    for (j = 0; j < nchunk; ++j, band += 16) {
        const uint8x16_t off = vldrbq_u8(g->off + 16 * j);
        const int8_t *src = strip + g->base[j];
        int8_t *d = band;
        for (r = 0; r < nr; ++r, d += bsz, src += sh) vstrbq_s8(d, vldrbq_gather_offset_s8(src, off));
    }
}

/* The kernels of the n heads from output channel oc0 into wv (wlen bytes each, lane kx * kh + ky,
 * zero past the taps): per tap, eight heads' weights (consecutive in the filter) at a time,
 * widened and scattered to their kernels. */
static void fr_dwm_kernels(int8_t *wv, const int8_t *filter, int32_t oc0, int32_t n, int32_t out_c, int32_t kh,
                           int32_t kw, int32_t wlen)
{
    const uint16x8_t so = vmulq_n_u16(vidupq_n_u16(0, 1), (uint16_t)wlen);
    const mve_pred16_t tail = vctp16q((uint32_t)(n & 7));
    const int32_t whole = n & ~7;
    int32_t i, t, j;
    for (i = 0; i < n * wlen; i += 16) vstrbq_s8(wv + i, vdupq_n_s8(0));
    for (t = 0; t < kh * kw; ++t) {
        const int8_t *f = filter + (int64_t)t * out_c + oc0;
        int8_t *d = wv + (t % kw) * kh + t / kw;
        for (j = 0; j < whole; j += 8, d += 8 * wlen) vstrbq_scatter_offset_s16(d, so, vldrbq_s16(f + j));
        if (whole != n) vstrbq_scatter_offset_p_s16(d, so, vldrbq_z_s16(f + j, tail), tail);
    }
}

/* The stack block's layout for a pass of `rows` output rows and channel groups of g channels. */
typedef struct fr_dwm_plan {
    int64_t hp, strip, tables, need;
} fr_dwm_plan;

static void fr_dwm_plan_for(fr_dwm_plan *pl, int32_t rows, int32_t g, int32_t h, int64_t head, int64_t bsz, int32_t kh,
                            int32_t dh, int32_t sh)
{
    pl->hp = (int64_t)(rows - 1) * sh + (int64_t)(kh - 1) * dh + 1;
    /* every band byte's column, whole */
    pl->strip = (((bsz - 1) / kh + 1) * pl->hp + 3) & ~(int64_t)3;
    pl->tables = bsz / 16 * 20;
    pl->need = (int64_t)FR_DWM_K * FR_DWM_PX * 4 + (int64_t)g * h * head + rows * bsz + pl->strip + pl->tables;
}

/* 1 when the byte offsets of every chunk from its base fit the gather's eight bits. */
static int fr_dwm_offsets_ok(int64_t bsz, int32_t kh, int32_t dh, int64_t hp)
{
    int64_t j;
    for (j = 0; j < bsz; j += 16) {
        const int64_t a0 = (j / kh) * hp + (j % kh) * dh, a1 = ((j + 15) / kh) * hp + ((j + 15) % kh) * dh;
        if (a1 - a0 > 255) return 0;
    }
    return 1;
}

/* What the passes of every channel share. */
typedef struct fr_dwm_ctx {
    fr_dwm_geo geo;
    int8_t *band, *strip;
    int32_t *acc;
    int32_t bsz, rows, np, step, nv, wlen, kmax, h, out_h, out_w, out_c, sh, ph, out_off;
    int32x4_t lo, hi;
} fr_dwm_ctx;

/* Every output of one input channel and image (plane: its first input byte; out: its first
 * head's first output; its heads' kernels wc and constants cc); called, so the layer's loops keep
 * their registers. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void fr_dwm_channel(const fr_dwm_ctx *x, const int8_t *plane, int8_t *out, const int8_t *wc, const fr_mch *cc)
{
    const int32_t out_w = x->out_w, out_c = x->out_c, np = x->np, h = x->h, kmax = x->kmax, wlen = x->wlen;
    int32_t oy0, p0, m0;
    for (oy0 = 0; oy0 < x->out_h; oy0 += x->rows) {
        const int32_t nr = fr_min(x->rows, x->out_h - oy0);
        fr_dwm_strip(x->strip, plane, oy0 * x->sh - x->ph, x->rows < x->out_h, &x->geo);
        fr_dwm_bands(x->band, x->bsz, nr, x->strip, &x->geo);
        for (p0 = 0; p0 < out_w; p0 += np) {
            const int32_t n = fr_min(np, out_w - p0);
            /* nr > 1 only with whole rows: the pass's pixels are consecutive in the output */
            int8_t *dst = out + ((int64_t)oy0 * out_w + p0) * out_c;
            for (m0 = 0; m0 < h; m0 += kmax) {
                const int32_t k = fr_min(kmax, h - m0);
                fr_dwm_pass(x->band + (int64_t)p0 * x->step, x->bsz, nr, n, x->step, wc + m0 * wlen, wlen, x->nv, x->acc, k);
                fr_dwm_out(x->acc, nr * n, k, &cc[m0], x->out_off, x->lo, x->hi, dst + m0, out_c);
            }
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
    fr_dwm_ctx x;
    fr_dwm_plan pl;
    const int32_t h = ch_mult, in_c = input_dims->c, in_h = input_dims->h, in_w = input_dims->w;
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = in_c * h;
    const int32_t kh = filter_dims->h, kw = filter_dims->w, taps = kh * kw;
    const int32_t sh = params->stride_h, sw = params->stride_w, ph = params->pad_h, pw = params->pad_w;
    const int32_t dh = params->dilation_h, in_off = params->input_offset, zp = -in_off;
    const int32_t nv = (taps + 15) / 16, wlen = 16 * nv, kmax = fr_dwm_kmax(nv);
    const int64_t head = (int64_t)sizeof(fr_mch) + wlen;
    int64_t cols, bsz64;
    int32_t bsz, rows, g_max, i, j, c0, b;
    fr_mch *ch;
    int8_t *wv;
    int32_t *base;
    uint8_t *off;
    if (params->dilation_w != 1 || nv > FR_DWM_MAX_NV || zp < -128 || zp > 127) return 0;
    if ((int64_t)7 * in_stride > 0xFFFF || (int64_t)7 * wlen > 0xFFFF) return 0; /* 16-bit offsets */
    /* Band: the columns of the padded image and of every window, and the last window's whole
     * vectors of taps, in whole 16-byte chunks. */
    cols = (int64_t)pw + in_w;
    if ((int64_t)(out_w - 1) * sw + kw > cols) cols = (int64_t)(out_w - 1) * sw + kw;
    bsz64 = cols * kh;
    if ((int64_t)(out_w - 1) * sw * kh + wlen > bsz64) bsz64 = (int64_t)(out_w - 1) * sw * kh + wlen;
    bsz64 = (bsz64 + 15) & ~(int64_t)15;
    if (bsz64 > FR_DWM_BYTES) return 0;
    /* A pass: up to FR_DWM_PX pixels, whole rows when they fit, fewer rows while the stack block
     * or the gathers' offsets want it; channel groups of up to 24 heads. */
    rows = out_w <= FR_DWM_PX ? fr_min(out_h, FR_DWM_PX / out_w) : 1;
    g_max = fr_max(1, fr_min(in_c, 24 / h));
    for (;;) {
        fr_dwm_plan_for(&pl, rows, g_max, h, head, bsz64, kh, dh, sh);
        if (pl.need <= FR_DWM_BYTES && fr_dwm_offsets_ok(bsz64, kh, dh, pl.hp)) break;
        if (rows > 1) {
            --rows;
        } else if (g_max > 1 && pl.need > FR_DWM_BYTES) {
            --g_max;
        } else {
            return 0;
        }
    }
    while (g_max < fr_min(in_c, 24 / h)) { /* rows gave back room */
        fr_dwm_plan_for(&pl, rows, g_max + 1, h, head, bsz64, kh, dh, sh);
        if (pl.need > FR_DWM_BYTES) break;
        ++g_max;
    }
    fr_dwm_plan_for(&pl, rows, g_max, h, head, bsz64, kh, dh, sh);
    bsz = (int32_t)bsz64;
    x.acc = (int32_t *)(void *)block;
    ch = (fr_mch *)(void *)(x.acc + FR_DWM_K * FR_DWM_PX);
    wv = (int8_t *)(void *)(ch + g_max * h);
    x.band = wv + g_max * h * wlen;
    x.strip = x.band + rows * bsz;
    base = (int32_t *)(void *)(x.strip + pl.strip);
    off = (uint8_t *)(void *)(base + bsz / 16);
    x.bsz = bsz;
    x.rows = rows;
    x.np = fr_min(out_w, FR_DWM_PX);
    x.step = sw * kh;
    x.nv = nv;
    x.wlen = wlen;
    x.kmax = kmax;
    x.h = h;
    x.out_h = out_h;
    x.out_w = out_w;
    x.out_c = out_stride; /* bytes between output pixels: out_c, or more for a block of channels */
    x.sh = sh;
    x.ph = ph;
    x.out_off = params->output_offset;
    x.lo = vdupq_n_s32(params->activation.min);
    x.hi = vdupq_n_s32(params->activation.max);
    x.geo.kh = kh;
    x.geo.dh = dh;
    x.geo.sh = sh;
    x.geo.in_h = in_h;
    x.geo.in_w = in_w;
    x.geo.in_c = in_stride; /* bytes between input pixels */
    x.geo.pw = pw;
    x.geo.zp = zp;
    x.geo.hp = (int32_t)pl.hp;
    x.geo.nchunk = bsz / 16;
    x.geo.base = base;
    x.geo.off = off;
    for (j = 0; j < bsz; j += 16) {
        base[j / 16] = fr_dwm_spos(j, kh, dh, x.geo.hp);
        for (i = 0; i < 16; ++i) off[j + i] = (uint8_t)(fr_dwm_spos(j + i, kh, dh, x.geo.hp) - base[j / 16]);
    }
    memset(x.strip, zp, (size_t)pl.strip);
    for (c0 = 0; c0 < in_c; c0 += g_max) {
        const int32_t g = fr_min(g_max, in_c - c0), oc0 = c0 * h;
        int32_t c;
        /* the kernels and constants of the group's heads */
        fr_dwm_kernels(wv, filter, oc0, g * h, out_c, kh, kw, wlen);
        for (i = 0; i < g * h; ++i) {
            const int32_t oc = oc0 + i, qi = quant->count != 1 ? oc : 0;
            fr_mch *q = &ch[i];
            int32_t sum = 0;
            for (j = 0; j < wlen; j += 16) sum = vaddvaq_s8(sum, vldrbq_s8(wv + i * wlen + j));
            fr_mch_init(q, fr_add(bias ? bias[oc] : 0, fr_mul(in_off, sum)), quant->multiplier[qi], quant->shift[qi], mode);
        }
        for (c = 0; c < g; ++c) {
            for (b = 0; b < input_dims->n; ++b) {
                fr_dwm_channel(&x, input + (int64_t)b * in_h * in_w * in_stride + c0 + c,
                               output + (int64_t)b * out_h * out_w * out_stride + (c0 + c) * h, wv + c * h * wlen,
                               ch + c * h);
            }
        }
    }
    return 1;
}
#endif /* FLYREF_ARM_MVE */

#endif /* FLYREF_DW_MVE_H_ */
