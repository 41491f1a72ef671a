/*
 * Convolution s8, generic path. Refer to flyref_kernels.h for details.
 * Like arm_convolve_s8, one output pixel's patch is gathered (im2col) into the caller's scratch;
 * padded taps are filled with the input zero point so that (x + input_offset) = 0 for them.
 */
#include "flyref_conv_common.h"

/* im2col: group g's taps of output pixel (b, oy, ox) into col, filter_dims->c per tap; padded
 * taps hold -input_offset (the input zero point) so that (x + input_offset) = 0 for them. Every
 * path below gathers with it, so their patches are the same bytes. */
static void fr_conv_gather(const flyref_conv_params *params, const flyref_dims *input_dims, const int8_t *input,
                           const flyref_dims *filter_dims, int32_t b, int32_t oy, int32_t ox, int32_t g, int8_t *col)
{
    const int32_t kc = filter_dims->c;
    int32_t ky, kx, ic, k = 0;
    for (ky = 0; ky < filter_dims->h; ++ky) {
        const int32_t iy = oy * params->stride_h - params->pad_h + ky * params->dilation_h;
        for (kx = 0; kx < filter_dims->w; ++kx) {
            const int32_t ix = ox * params->stride_w - params->pad_w + kx * params->dilation_w;
            if (iy < 0 || iy >= input_dims->h || ix < 0 || ix >= input_dims->w) {
                for (ic = 0; ic < kc; ++ic) col[k++] = (int8_t)(-params->input_offset);
            } else {
                const int8_t *src =
                    input + (((int64_t)b * input_dims->h + iy) * input_dims->w + ix) * input_dims->c + (int64_t)g * kc;
                for (ic = 0; ic < kc; ++ic) col[k++] = src[ic];
            }
        }
    }
}

#if FR_CONV_MVE
const char fr_path_conv2d_s8[] = "mve";

/* Cortex-M55 Helium path (MVE notes in flyref_conv_common.h). Output channels in chunks of up to
 * FR_CONV_MVE_OC whose biases (with input_offset * sum(w) folded in) and epilogues are prepared
 * once per call; per output pixel and chunk the group's patch is gathered as in the portable loop
 * (padded taps hold the input zero point, so w * (zp + input_offset) = 0 there as in the spec) and
 * dotted with four filter rows at a time, sixteen raw inputs per VMLADAVA. Stack: about 1.3 KB. */
#define FR_CONV_MVE_OC 16

static void fr_conv_mve(const flyref_conv_params *params, const flyref_quant_params *quant,
                        const flyref_dims *input_dims, const int8_t *input, const flyref_dims *filter_dims,
                        const int8_t *filter, const int32_t *bias, const flyref_dims *output_dims, int8_t *output,
                        int8_t *col, int32_t mode, int32_t per_group, int32_t out_stride)
{
    fr_mve_out4 ep[FR_CONV_MVE_OC / 4];
    int32_t bq[FR_CONV_MVE_OC];
    const int32_t patch = filter_dims->h * filter_dims->w * filter_dims->c;
    int32_t c0, b, oy, ox, j;
    /* chunks never straddle groups: a chunk is at most the rest of its group */
    for (c0 = 0; c0 < filter_dims->n;) {
        const int32_t g = c0 / per_group;
        const int32_t cn = fr_min(FR_CONV_MVE_OC, (g + 1) * per_group - c0);
        for (j = 0; j < cn; ++j) {
            const int8_t *w = filter + (int64_t)(c0 + j) * patch;
            bq[j] = fr_add(bias ? bias[c0 + j] : 0, fr_mul(params->input_offset, fr_mve_wsum(w, patch)));
        }
        for (j = 0; j < cn; j += 4) {
            fr_mve_out4_init(&ep[j / 4], quant, c0 + j, fr_min(4, cn - j), mode, params->output_offset,
                             params->activation.min, params->activation.max);
        }
        for (b = 0; b < input_dims->n; ++b) {
            for (oy = 0; oy < output_dims->h; ++oy) {
                for (ox = 0; ox < output_dims->w; ++ox) {
                    int8_t *dst = output + (((int64_t)b * output_dims->h + oy) * output_dims->w + ox) * out_stride;
                    fr_conv_gather(params, input_dims, input, filter_dims, b, oy, ox, g, col);
                    for (j = 0; j < cn; j += 4) {
                        const int32_t nb = fr_min(4, cn - j), oc = c0 + j;
                        const int8_t *w0 = filter + (int64_t)oc * patch;
                        int32_t acc[4], t;
                        for (t = 0; t < 4; ++t) acc[t] = bq[j + (t < nb ? t : 0)];
                        if (nb == 4) {
                            fr_mve_dot4(col, w0, patch, patch, acc, 0);
                        } else {
                            for (t = 0; t < nb; ++t) {
                                int32_t one[4];
                                one[0] = one[1] = one[2] = one[3] = acc[t];
                                fr_mve_dot4(col, w0 + (int64_t)t * patch, 0, patch, one, 0);
                                acc[t] = one[0];
                            }
                        }
                        fr_mve_out4_store(&ep[j / 4], acc, dst + oc, nb);
                    }
                }
            }
        }
        c0 += cn;
    }
}
#elif FR_CONV_DSP
const char fr_path_conv2d_s8[] = "dsp";

/* Cortex-M DSP path (DSP notes in flyref_conv_common.h). Output channels are taken in chunks of
 * up to FR_CONV_DSP_OC whose epilogues are prepared once per call; for each output pixel and
 * chunk, the group's patch is gathered as in the portable loop (padded taps hold the input zero
 * point), widened once into int16 lane pairs with the offset added, and dotted with four filter
 * rows at a time (fr_dsp_dot2). Stack: 2 * FR_CONV_DSP_K bytes of widened patch plus the chunk's
 * epilogues (about 4 KB in all). */
#define FR_CONV_DSP_K 1024
#define FR_CONV_DSP_OC 32

static void fr_conv_dsp(const flyref_conv_params *params, const flyref_quant_params *quant,
                        const flyref_dims *input_dims, const int8_t *input, const flyref_dims *filter_dims,
                        const int8_t *filter, const int32_t *bias, const flyref_dims *output_dims, int8_t *output,
                        int8_t *col, int32_t mode, int32_t per_group, int32_t out_stride)
{
    uint32_t xw[FR_CONV_DSP_K / 2];
    fr_dsp_out4 ep[FR_CONV_DSP_OC / 4];
    const int32_t patch = filter_dims->h * filter_dims->w * filter_dims->c;
    int32_t c0, b, oy, ox;
    /* chunks never straddle groups: a chunk is at most the rest of its group */
    for (c0 = 0; c0 < filter_dims->n;) {
        const int32_t g = c0 / per_group;
        const int32_t cn = fr_min(FR_CONV_DSP_OC, (g + 1) * per_group - c0);
        int32_t j;
        for (j = 0; j < cn; j += 4) {
            fr_dsp_out4_init(&ep[j / 4], quant, bias, c0 + j, fr_min(4, cn - j), patch, mode, params->output_offset,
                             params->activation.min, params->activation.max);
        }
        for (b = 0; b < input_dims->n; ++b) {
            for (oy = 0; oy < output_dims->h; ++oy) {
                for (ox = 0; ox < output_dims->w; ++ox) {
                    int8_t *dst = output + (((int64_t)b * output_dims->h + oy) * output_dims->w + ox) * out_stride;
                    fr_conv_gather(params, input_dims, input, filter_dims, b, oy, ox, g, col);
                    fr_dsp_widen(col, patch, params->input_offset, xw);
                    for (j = 0; j < cn; j += 4) {
                        const int32_t nb = fr_min(4, cn - j), oc = c0 + j;
                        const int8_t *w0 = filter + (int64_t)oc * patch;
                        int32_t acc[4], t, j2;
                        for (t = 0; t < 4; ++t) acc[t] = bias ? bias[oc + (t < nb ? t : 0)] : 0;
                        /* two rows at a time; a last odd row pairs with itself */
                        for (j2 = 0; j2 < nb; j2 += 2) {
                            fr_dsp_dot2(xw, w0 + (int64_t)j2 * patch, j2 + 1 < nb ? patch : 0, patch, acc + j2);
                        }
                        fr_dsp_out4_store(&ep[j / 4], acc[0], acc[1], acc[2], acc[3], dst + oc, nb);
                    }
                }
            }
        }
        c0 += cn;
    }
}
#else
const char fr_path_conv2d_s8[] = "portable";
#endif

int32_t flyref_conv2d_s8_buffer_size(const flyref_dims *input_dims, const flyref_dims *filter_dims)
{
    (void)input_dims;
    if (!fr_dims_ok(filter_dims)) return 0;
    return filter_dims->h * filter_dims->w * filter_dims->c;
}

flyref_status fr_conv2d_s8_strided(const flyref_context *ctx, const flyref_conv_params *params,
                                   const flyref_quant_params *quant, const flyref_dims *input_dims,
                                   const int8_t *input, const flyref_dims *filter_dims, const int8_t *filter,
                                   const int32_t *bias, const flyref_dims *output_dims, int8_t *output,
                                   int32_t out_stride)
{
    int32_t groups, per_group, patch, mode, b, oy, ox, g;
    int8_t *col;
    flyref_status s = fr_conv_check(params, quant, input_dims, input, filter_dims, filter, output_dims,
                                    output, filter_dims ? filter_dims->n : 0);
    if (s != FLYREF_OK) return s;
    if (out_stride == 0) out_stride = output_dims->c;
    if (out_stride < output_dims->c) return FLYREF_ARG_ERROR;
    if (input_dims->c % filter_dims->c != 0) return FLYREF_SHAPE_ERROR;
    groups = input_dims->c / filter_dims->c;
    if (filter_dims->n % groups != 0) return FLYREF_SHAPE_ERROR;
    per_group = filter_dims->n / groups;
    patch = filter_dims->h * filter_dims->w * filter_dims->c;
    if (ctx == 0 || ctx->buf == 0 || ctx->size < patch) return FLYREF_ARENA_TOO_SMALL;
    col = (int8_t *)ctx->buf;
    mode = fr_mode(params->rounding);
#if FR_CONV_MVE
    fr_conv_mve(params, quant, input_dims, input, filter_dims, filter, bias, output_dims, output, col, mode,
                per_group, out_stride);
    return FLYREF_OK;
#elif FR_CONV_DSP
    if (patch <= FR_CONV_DSP_K) {
        fr_conv_dsp(params, quant, input_dims, input, filter_dims, filter, bias, output_dims, output, col, mode,
                    per_group, out_stride);
        return FLYREF_OK;
    }
#endif

    for (b = 0; b < input_dims->n; ++b) {
        for (oy = 0; oy < output_dims->h; ++oy) {
            for (ox = 0; ox < output_dims->w; ++ox) {
                int8_t *dst = output + (((int64_t)b * output_dims->h + oy) * output_dims->w + ox) * out_stride;
                for (g = 0; g < groups; ++g) {
                    int32_t oc;
                    fr_conv_gather(params, input_dims, input, filter_dims, b, oy, ox, g, col);
                    for (oc = g * per_group; oc < (g + 1) * per_group; ++oc) {
                        const int8_t *w = filter + (int64_t)oc * patch;
                        int32_t acc = bias ? bias[oc] : 0;
                        int32_t i;
                        for (i = 0; i < patch; ++i) {
                            acc = fr_add(acc, (int32_t)w[i] * ((int32_t)col[i] + params->input_offset));
                        }
                        dst[oc] = fr_epilogue(acc, quant, oc, mode, params->output_offset, &params->activation);
                    }
                }
            }
        }
    }
    return FLYREF_OK;
}

flyref_status flyref_conv2d_s8(const flyref_context *ctx, const flyref_conv_params *params,
                               const flyref_quant_params *quant, const flyref_dims *input_dims,
                               const int8_t *input, const flyref_dims *filter_dims,
                               const int8_t *filter, const int32_t *bias,
                               const flyref_dims *output_dims, int8_t *output)
{
    return fr_conv2d_s8_strided(ctx, params, quant, input_dims, input, filter_dims, filter, bias, output_dims, output,
                                0);
}
