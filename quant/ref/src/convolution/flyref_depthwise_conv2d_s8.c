/*
 * Depthwise convolution s8 with channel multiplier. Refer to flyref_kernels.h.
 *
 * Fast path (why it is bit-exact): output channel oc = ic * ch_mult + m only ever sees input
 * channel ic, so for a fixed m the weights of a block of input channels can be copied to a
 * contiguous, tap-major stack block and the block's channels computed side by side with the
 * input pixel's contiguous channels. Each product w * (x + input_offset) lies in
 * [-128 * 255, 128 * 255] and so fits int16 exactly (the compiler's 16-bit vector multiply);
 * the products are summed in uint32, i.e. modulo 2^32 like the spec's wrapping fr_add chain,
 * and addition modulo 2^32 does not depend on the order. Taps outside the input are skipped
 * exactly as in the spec (they contribute nothing, not offset * w). The requantization is
 * fr_rq_apply (equal to fr_requant, see flyref_internal.h) with each channel's constants
 * prepared once per block. The generic loop below is the spec and serves kernels too large for
 * the stack block.
 */
#include "flyref_conv_common.h"
#include "../support/flyref_avx2.h"
#include "flyref_dw_dsp.h"
#include "flyref_dw_mve.h"

/* The target path this file compiled (flyref_target_paths). */
#if FLYREF_ARM_MVE
const char fr_path_depthwise_conv2d_s8[] = "mve";
#elif FLYREF_ARM_DSP
const char fr_path_depthwise_conv2d_s8[] = "dsp";
#else
const char fr_path_depthwise_conv2d_s8[] = "portable";
#endif

/* Stack use of the fast path: FR_DW_WT bytes of weights + FR_DW_IB * 42 bytes (about 4.3 KB). */
#define FR_DW_WT 1600
#define FR_DW_IB 64

static void fr_dw_generic(const flyref_conv_params *params, int32_t ch_mult, const flyref_quant_params *quant,
                          const flyref_dims *input_dims, const int8_t *input, const flyref_dims *filter_dims,
                          const int8_t *filter, const int32_t *bias, const flyref_dims *output_dims,
                          int8_t *output, int32_t mode, int32_t in_stride, int32_t out_stride)
{
    const int32_t out_c = input_dims->c * ch_mult;
    int32_t b, oy, ox;
    for (b = 0; b < input_dims->n; ++b) {
        for (oy = 0; oy < output_dims->h; ++oy) {
            for (ox = 0; ox < output_dims->w; ++ox) {
                int8_t *dst = output + (((int64_t)b * output_dims->h + oy) * output_dims->w + ox) * out_stride;
                int32_t ic, m;
                for (ic = 0; ic < input_dims->c; ++ic) {
                    for (m = 0; m < ch_mult; ++m) {
                        const int32_t oc = ic * ch_mult + m;
                        int32_t acc = bias ? bias[oc] : 0;
                        int32_t ky, kx;
                        for (ky = 0; ky < filter_dims->h; ++ky) {
                            const int32_t iy = oy * params->stride_h - params->pad_h + ky * params->dilation_h;
                            if (iy < 0 || iy >= input_dims->h) continue;
                            for (kx = 0; kx < filter_dims->w; ++kx) {
                                const int32_t ix = ox * params->stride_w - params->pad_w + kx * params->dilation_w;
                                int32_t x;
                                if (ix < 0 || ix >= input_dims->w) continue;
                                x = input[(((int64_t)b * input_dims->h + iy) * input_dims->w + ix) * in_stride + ic];
                                acc = fr_add(acc, (int32_t)filter[((int64_t)ky * filter_dims->w + kx) * out_c + oc] *
                                                      (x + params->input_offset));
                            }
                        }
                        dst[oc] = fr_epilogue(acc, quant, oc, mode, params->output_offset, &params->activation);
                    }
                }
            }
        }
    }
}

/* acc[i] += w[i] * xs[i]; the product is exact in int16 (see the top comment). */
static void fr_dw_mac(uint32_t *restrict acc, const int8_t *restrict w, const int16_t *restrict xs, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; ++i) acc[i] += (uint32_t)(int32_t)(int16_t)(w[i] * xs[i]);
}

/* acc[i] += w[i] * (x[i] + off), the input widened in the same loop. */
static void fr_dw_mac_x(uint32_t *restrict acc, const int8_t *restrict w, const int8_t *restrict x, int32_t off,
                        int32_t n)
{
    int32_t i;
    for (i = 0; i < n; ++i) acc[i] += (uint32_t)(int32_t)(int16_t)(w[i] * (int16_t)(x[i] + off));
}

/* Two taps at once: half the accumulator loads and stores. */
static void fr_dw_mac2_x(uint32_t *restrict acc, const int8_t *restrict w0, const int8_t *restrict w1,
                         const int8_t *restrict x0, const int8_t *restrict x1, int32_t off, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        acc[i] += (uint32_t)((int32_t)(int16_t)(w0[i] * (int16_t)(x0[i] + off)) +
                             (int32_t)(int16_t)(w1[i] * (int16_t)(x1[i] + off)));
    }
}

/* acc[i] += w[i] * xv: one input value for every lane (a single input channel). */
static void fr_dw_mac_1(uint32_t *restrict acc, const int8_t *restrict w, int32_t xv, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; ++i) acc[i] += (uint32_t)(int32_t)(int16_t)(w[i] * xv);
}

/* Per-channel constants of one block, prepared once so the pixel loop reads them contiguously. */
typedef struct fr_dw_block {
    int32_t bias[FR_DW_IB];
    fr_rq rq[FR_DW_IB];
} fr_dw_block;

static void fr_dw_prepare(fr_dw_block *blk, const int32_t *bias, const flyref_quant_params *quant, int32_t mode,
                          int32_t oc0, int32_t step, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        const int32_t oc = oc0 + i * step;
        const int32_t q = quant->count != 1 ? oc : 0;
        blk->bias[i] = bias ? bias[oc] : 0;
        fr_rq_init(&blk->rq[i], quant->multiplier[q], quant->shift[q], mode);
    }
}

/*
 * One block of nb channels at every output pixel. Lane i of the block writes output channel
 * oc0 + i * out_step and wt holds the block's weights tap-major ([tap][i]). Its input channel:
 *   expand = 0: ic0 + i (contiguous input channels, out_step = ch_mult);
 *   expand = 1: (oc0 + i) / ch_mult (consecutive output channels, out_step = 1), for layers with
 *               too few input channels for a vector block (the stem).
 */
static void fr_dw_block_run(const flyref_conv_params *params, int32_t ch_mult, const fr_dw_block *blk,
                            const flyref_dims *input_dims, const int8_t *input, const flyref_dims *filter_dims,
                            const int8_t *wt, const flyref_dims *output_dims, int8_t *output, int32_t oc0,
                            int32_t out_step, int32_t nb, int expand, int32_t in_stride, int32_t out_stride)
{
    uint32_t acc[FR_DW_IB];
    int16_t xs[FR_DW_IB];
    const int32_t in_c = input_dims->c, in_h = input_dims->h, in_w = input_dims->w;
    const int32_t out_h = output_dims->h, out_w = output_dims->w;
    const int32_t kh = filter_dims->h, kw = filter_dims->w;
    const int32_t sh = params->stride_h, sw = params->stride_w, ph = params->pad_h, pw = params->pad_w;
    const int32_t dh = params->dilation_h, dw = params->dilation_w;
    const int32_t in_off = params->input_offset, out_off = params->output_offset;
    const int32_t act_min = params->activation.min, act_max = params->activation.max;
    const int32_t ic0 = oc0 / ch_mult, m0 = oc0 % ch_mult;
    int32_t b, oy, ox, i;
    for (b = 0; b < input_dims->n; ++b) {
        const int8_t *in_b = input + (int64_t)b * in_h * in_w * in_stride + ic0;
        for (oy = 0; oy < out_h; ++oy) {
            const int32_t iy0 = oy * sh - ph;
            for (ox = 0; ox < out_w; ++ox) {
                const int32_t ix0 = ox * sw - pw;
                int8_t *dst = output + (((int64_t)b * out_h + oy) * out_w + ox) * out_stride + oc0;
                int32_t ky, kx;
                for (i = 0; i < nb; ++i) acc[i] = (uint32_t)blk->bias[i];
                for (ky = 0; ky < kh; ++ky) {
                    const int32_t iy = iy0 + ky * dh;
                    if (iy < 0 || iy >= in_h) continue;
                    for (kx = 0; kx < kw; ++kx) {
                        const int32_t ix = ix0 + kx * dw;
                        const int8_t *x, *wk;
                        if (ix < 0 || ix >= in_w) continue;
                        x = in_b + ((int64_t)iy * in_w + ix) * in_stride;
                        wk = wt + (ky * kw + kx) * nb;
                        if (!expand) {
                            /* the next tap of the row too when it is inside the input */
                            if (kx + 1 < kw && ix + dw < in_w) {
                                fr_dw_mac2_x(acc, wk, wk + nb, x, x + (int64_t)dw * in_stride, in_off, nb);
                                ++kx;
                            } else {
                                fr_dw_mac_x(acc, wk, x, in_off, nb);
                            }
                        } else if (in_c == 1) {
                            fr_dw_mac_1(acc, wk, x[0] + in_off, nb);
                        } else {
                            int32_t c = 0, m = m0;
                            for (i = 0; i < nb; ++i) {
                                xs[i] = (int16_t)(x[c] + in_off);
                                if (++m == ch_mult) {
                                    m = 0;
                                    ++c;
                                }
                            }
                            fr_dw_mac(acc, wk, xs, nb);
                        }
                    }
                }
                for (i = 0; i < nb; ++i) {
                    dst[(int64_t)i * out_step] = fr_rq_out8(&blk->rq[i], fr_wrap(acc[i]), out_off, act_min, act_max);
                }
            }
        }
    }
}

static void fr_dw_fast(const flyref_conv_params *params, int32_t ch_mult, const flyref_quant_params *quant,
                       const flyref_dims *input_dims, const int8_t *input, const flyref_dims *filter_dims,
                       const int8_t *filter, const int32_t *bias, const flyref_dims *output_dims,
                       int8_t *output, int32_t mode, int32_t ib, int32_t in_stride, int32_t out_stride)
{
    int8_t wt[FR_DW_WT];
    fr_dw_block blk;
    const int32_t in_c = input_dims->c, out_c = in_c * ch_mult;
    const int32_t taps = filter_dims->h * filter_dims->w;
    int32_t c0, m, t, i;
    if (ch_mult > 1 && in_c < 8) {
        /* Blocks of consecutive output channels, whose weights are already contiguous per tap. */
        for (c0 = 0; c0 < out_c; c0 += ib) {
            const int32_t nb = fr_min(ib, out_c - c0);
            for (t = 0; t < taps; ++t) {
                for (i = 0; i < nb; ++i) wt[t * nb + i] = filter[(int64_t)t * out_c + c0 + i];
            }
            fr_dw_prepare(&blk, bias, quant, mode, c0, 1, nb);
            fr_dw_block_run(params, ch_mult, &blk, input_dims, input, filter_dims, wt, output_dims, output, c0, 1,
                            nb, 1, in_stride, out_stride);
        }
        return;
    }
    for (c0 = 0; c0 < in_c; c0 += ib) {
        const int32_t nb = fr_min(ib, in_c - c0);
        for (m = 0; m < ch_mult; ++m) {
            const int32_t oc0 = c0 * ch_mult + m;
            for (t = 0; t < taps; ++t) {
                const int8_t *src = filter + (int64_t)t * out_c + oc0;
                for (i = 0; i < nb; ++i) wt[t * nb + i] = src[(int64_t)i * ch_mult];
            }
            fr_dw_prepare(&blk, bias, quant, mode, oc0, ch_mult, nb);
            fr_dw_block_run(params, ch_mult, &blk, input_dims, input, filter_dims, wt, output_dims, output, oc0,
                            ch_mult, nb, 0, in_stride, out_stride);
        }
    }
}

#if FLYREF_AVX2
/* Host AVX2 path (see support/flyref_avx2.h): 16 consecutive output channels per block, their
 * input channels gathered with a byte shuffle (lane i reads input channel (oc0 + i) / ch_mult),
 * weights widened to int16 once per block, each tap one 16-lane int16 multiply (exact, see the
 * top comment) widened into two int32 accumulators, and the requantization eight lanes at a time.
 * Lanes past the last channel have zero weights and are not stored. */
#define FR_DW_V_TAPS 64

FR_AVX2 static void fr_dw_avx2(const flyref_conv_params *params, int32_t ch_mult, const flyref_quant_params *quant,
                               const flyref_dims *input_dims, const int8_t *input, const flyref_dims *filter_dims,
                               const int8_t *filter, const int32_t *bias, const flyref_dims *output_dims,
                               int8_t *output, int32_t mode, int32_t in_stride, int32_t out_stride)
{
    int16_t w16[FR_DW_V_TAPS * 16];
    int8_t shuf[16];
    fr_out16 blk;
    const int32_t in_c = input_dims->c, in_h = input_dims->h, in_w = input_dims->w;
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = in_c * ch_mult;
    const int32_t kh = filter_dims->h, kw = filter_dims->w, taps = kh * kw;
    const int32_t sh = params->stride_h, sw = params->stride_w, ph = params->pad_h, pw = params->pad_w;
    const int32_t dh = params->dilation_h, dw = params->dilation_w;
    /* bytes from input to the end of this call's last pixel (the loads stop there) */
    const int64_t total = ((int64_t)input_dims->n * in_h * in_w - 1) * in_stride + in_c;
    const __m256i in_off = _mm256_set1_epi16((int16_t)params->input_offset);
    int32_t oc0, i, t, b, oy, ox;
    for (oc0 = 0; oc0 < out_c; oc0 += 16) {
        const int32_t nb = fr_min(16, out_c - oc0), ic0 = oc0 / ch_mult, r = oc0 % ch_mult;
        __m128i vshuf;
        fr_out16_init(&blk, bias, quant, mode, oc0, nb, params->output_offset, params->activation.min,
                      params->activation.max);
        for (i = 0; i < 16; ++i) {
            shuf[i] = (int8_t)(i < nb ? (r + i) / ch_mult : -128); /* -128: a zero byte */
            for (t = 0; t < taps; ++t) w16[t * 16 + i] = (int16_t)(i < nb ? filter[(int64_t)t * out_c + oc0 + i] : 0);
        }
        vshuf = _mm_loadu_si128((const __m128i *)shuf);
        for (b = 0; b < input_dims->n; ++b) {
            for (oy = 0; oy < out_h; ++oy) {
                for (ox = 0; ox < out_w; ++ox) {
                    __m256i acc0 = blk.bias0, acc1 = blk.bias1;
                    int32_t ky, kx;
                    for (ky = 0; ky < kh; ++ky) {
                        const int32_t iy = oy * sh - ph + ky * dh;
                        if (iy < 0 || iy >= in_h) continue;
                        for (kx = 0; kx < kw; ++kx) {
                            const int32_t ix = ox * sw - pw + kx * dw;
                            int64_t pos;
                            __m128i xb;
                            __m256i pr;
                            if (ix < 0 || ix >= in_w) continue;
                            pos = (((int64_t)b * in_h + iy) * in_w + ix) * in_stride + ic0;
                            xb = fr_load_n(input + pos, total - pos);
                            if (ch_mult != 1) xb = _mm_shuffle_epi8(xb, vshuf);
                            pr = _mm256_mullo_epi16(_mm256_add_epi16(_mm256_cvtepi8_epi16(xb), in_off),
                                                    _mm256_loadu_si256((const __m256i *)(w16 + (ky * kw + kx) * 16)));
                            acc0 = _mm256_add_epi32(acc0, _mm256_cvtepi16_epi32(_mm256_castsi256_si128(pr)));
                            acc1 = _mm256_add_epi32(acc1, _mm256_cvtepi16_epi32(_mm256_extracti128_si256(pr, 1)));
                        }
                    }
                    fr_out16_store(output + (((int64_t)b * out_h + oy) * out_w + ox) * out_stride + oc0, &blk, acc0,
                                   acc1, nb);
                }
            }
        }
    }
}
#endif

flyref_status fr_depthwise_conv2d_s8_strided(const flyref_conv_params *params, int32_t ch_mult,
                                             const flyref_quant_params *quant, const flyref_dims *input_dims,
                                             const int8_t *input, int32_t in_stride, const flyref_dims *filter_dims,
                                             const int8_t *filter, const int32_t *bias,
                                             const flyref_dims *output_dims, int8_t *output, int32_t out_stride)
{
    int32_t out_c, mode, taps, ib;
    flyref_status s;
    if (input_dims == 0 || ch_mult < 1) return FLYREF_ARG_ERROR;
    if ((int64_t)input_dims->c * ch_mult > INT32_MAX) return FLYREF_SHAPE_ERROR;
    out_c = input_dims->c * ch_mult;
    s = fr_conv_check(params, quant, input_dims, input, filter_dims, filter, output_dims, output, out_c);
    if (s != FLYREF_OK) return s;
    if (filter_dims->n != 1 || filter_dims->c != out_c) return FLYREF_SHAPE_ERROR;
    if (in_stride == 0) in_stride = input_dims->c;
    if (out_stride == 0) out_stride = out_c;
    if (in_stride < input_dims->c || out_stride < out_c) return FLYREF_ARG_ERROR;
    mode = fr_mode(params->rounding);
    taps = filter_dims->h * filter_dims->w;
#if FLYREF_AVX2
    if (taps <= FR_DW_V_TAPS && fr_avx2_enabled()) {
        fr_dw_avx2(params, ch_mult, quant, input_dims, input, filter_dims, filter, bias, output_dims, output, mode,
                   in_stride, out_stride);
        return FLYREF_OK;
    }
#endif
#if FLYREF_ARM_MVE
    if (fr_dw_mve(params, ch_mult, quant, input_dims, input, filter_dims, filter, bias, output_dims, output, mode,
                  in_stride, out_stride)) {
        return FLYREF_OK;
    }
#endif
#if FLYREF_DW_DSP
    if (fr_dw_dsp(params, ch_mult, quant, input_dims, input, filter_dims, filter, bias, output_dims, output, mode,
                  in_stride, out_stride)) {
        return FLYREF_OK;
    }
#endif

    /* Channels per block: as many as the stack block holds the weights of, a multiple of 16 (whole
     * 128-bit vectors) when possible. */
    ib = taps <= FR_DW_WT / FR_DW_IB ? FR_DW_IB : FR_DW_WT / taps;
    if (ib > 16) ib &= ~15;
    if (ib >= 8) {
        fr_dw_fast(params, ch_mult, quant, input_dims, input, filter_dims, filter, bias, output_dims, output,
                   mode, ib, in_stride, out_stride);
    } else {
        fr_dw_generic(params, ch_mult, quant, input_dims, input, filter_dims, filter, bias, output_dims, output,
                      mode, in_stride, out_stride);
    }
    return FLYREF_OK;
}

flyref_status flyref_depthwise_conv2d_s8(const flyref_conv_params *params, int32_t ch_mult,
                                         const flyref_quant_params *quant,
                                         const flyref_dims *input_dims, const int8_t *input,
                                         const flyref_dims *filter_dims, const int8_t *filter,
                                         const int32_t *bias, const flyref_dims *output_dims,
                                         int8_t *output)
{
    return fr_depthwise_conv2d_s8_strided(params, ch_mult, quant, input_dims, input, 0, filter_dims, filter, bias,
                                          output_dims, output, 0);
}
