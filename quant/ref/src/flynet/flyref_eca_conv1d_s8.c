/*
 * VA-ECA 1-D convolution across channels (2 inputs: mean, std; shared by the heads).
 * Refer to flyref_kernels.h. Each input keeps its own scale: each partial sum is requantized to
 * the output scale times 2^sum_shift, then the sum is rounded once more (as TFLM's add does
 * with its left shift), so no precision is lost when the two scales differ.
 */
#include "../flyref_internal.h"
#include "../support/flyref_target.h"

const char fr_path_eca_conv1d_s8[] = FR_TARGET_PATH;

#if FLYREF_ARM_DSP || FLYREF_ARM_MVE
/*
 * Target paths. Per head j, the head's mean and std channels (stride h) are copied with their
 * offsets added into int16 rows with pad zeros on both sides, so every output channel sums all
 * k taps (a padded tap adds w * 0, as the spec's skipped tap adds nothing); the partial sums
 * (|.| < 2^23) are requantized with fr_trq (fr_trq_init_ls: positive shifts up to 6 too; else the
 * portable loop runs). DSP: tap pairs by SMLAD against packed weight pairs; MVE: four output
 * channels per vector, one VMLA (by the tap's weight) per tap, scattered back at stride h.
 */
#define FR_ECA_ROW 640

static int fr_eca_target(const flyref_eca_conv1d_params *p, int32_t mode, const flyref_dims *d, const int8_t *mean_in,
                         const int8_t *std_in, const int8_t *w, int32_t k, int8_t *output)
{
    int16_t mm[FR_ECA_ROW], ss[FR_ECA_ROW];
    const int32_t h = p->heads, e = d->c / h, pad = (k - 1) / 2;
    const int32_t out_off = p->output_offset, lo = p->activation.min, hi = p->activation.max, sum_shift = p->sum_shift;
    fr_trq qm, qs;
    int32_t b, j, c, t;
    /* the rows with their padding, and the 3 entries the last (partly inactive) MVE vector reads */
    if (e + 2 * pad + 3 > FR_ECA_ROW) return 0;
    if (!fr_trq_init_ls(&qm, p->mean_multiplier, p->mean_shift, mode, 0, 23) ||
        !fr_trq_init_ls(&qs, p->std_multiplier, p->std_shift, mode, 0, 23)) {
        return 0;
    }
    for (t = 0; t < pad; ++t) mm[t] = ss[t] = 0;
    for (t = pad + e; t < e + 2 * pad + 3; ++t) mm[t] = ss[t] = 0;
    for (b = 0; b < d->n; ++b) {
        const int8_t *mb = mean_in + (int64_t)b * d->c;
        const int8_t *sb = std_in + (int64_t)b * d->c;
        int8_t *ob = output + (int64_t)b * d->c;
        for (j = 0; j < h; ++j) {
            for (c = 0; c < e; ++c) {
                mm[pad + c] = (int16_t)(mb[c * h + j] + p->mean_offset);
                ss[pad + c] = (int16_t)(sb[c * h + j] + p->std_offset);
            }
#if FLYREF_ARM_MVE
            {
                const uint32_t hh = (uint32_t)h;
                const uint32x4_t offs = vmulq_n_u32(vidupq_n_u32(0, 1), hh);
                for (c = 0; c < e; c += 4) {
                    const mve_pred16_t pr = vctp32q((uint32_t)(e - c));
                    int32x4_t am = vdupq_n_s32(0), as = vdupq_n_s32(0), v;
                    for (t = 0; t < k; ++t) {
                        am = vmlaq_n_s32(am, vldrhq_s32(mm + c + t), w[t * 2 + 0]);
                        as = vmlaq_n_s32(as, vldrhq_s32(ss + c + t), w[t * 2 + 1]);
                    }
                    if (qm.ls > 0) am = vshlq_s32(am, vdupq_n_s32(qm.ls));
                    if (qs.ls > 0) as = vshlq_s32(as, vdupq_n_s32(qs.ls));
                    switch (qm.kind) {
                    case FR_TRQ_D0: am = fr_trq_mve(FR_TRQ_D0, &qm, am); break;
                    case FR_TRQ_D: am = fr_trq_mve(FR_TRQ_D, &qm, am); break;
                    case FR_TRQ_S32: am = fr_trq_mve(FR_TRQ_S32, &qm, am); break;
                    default: am = fr_trq_mve(FR_TRQ_S, &qm, am); break;
                    }
                    switch (qs.kind) {
                    case FR_TRQ_D0: as = fr_trq_mve(FR_TRQ_D0, &qs, as); break;
                    case FR_TRQ_D: as = fr_trq_mve(FR_TRQ_D, &qs, as); break;
                    case FR_TRQ_S32: as = fr_trq_mve(FR_TRQ_S32, &qs, as); break;
                    default: as = fr_trq_mve(FR_TRQ_S, &qs, as); break;
                    }
                    v = vaddq_s32(am, as);
                    if (sum_shift > 0) v = fr_rdbpot_mve(v, sum_shift);
                    v = vminq_s32(vmaxq_s32(vaddq_n_s32(v, out_off), vdupq_n_s32(lo)), vdupq_n_s32(hi));
                    vstrbq_scatter_offset_p_s32(ob + (int64_t)c * h + j, offs, v, pr);
                }
            }
#else
            {
                /* weight pairs (w_t, w_t+1), the last one padded with 0 */
                int32_t wm[128], ws[128];
                const int32_t np = (k + 1) / 2;
                for (t = 0; t < np; ++t) {
                    const int32_t m1 = 2 * t + 1 < k ? w[(2 * t + 1) * 2 + 0] : 0;
                    const int32_t s1 = 2 * t + 1 < k ? w[(2 * t + 1) * 2 + 1] : 0;
                    wm[t] = (int32_t)(((uint32_t)w[(2 * t) * 2 + 0] & 0xFFFFu) | ((uint32_t)m1 << 16));
                    ws[t] = (int32_t)(((uint32_t)w[(2 * t) * 2 + 1] & 0xFFFFu) | ((uint32_t)s1 << 16));
                }
                for (c = 0; c < e; ++c) {
                    int32_t am = 0, as = 0, v;
                    for (t = 0; t < np; ++t) {
                        int32_t pm, ps;
                        memcpy(&pm, mm + c + 2 * t, 4);
                        memcpy(&ps, ss + c + 2 * t, 4);
                        am = __smlad(pm, wm[t], am);
                        as = __smlad(ps, ws[t], as);
                    }
                    v = fr_add(fr_trq_one(&qm, am), fr_trq_one(&qs, as));
                    v = fr_add(fr_rdbpot(v, sum_shift), out_off);
                    ob[c * h + j] = (int8_t)fr_clamp(v, lo, hi);
                }
            }
#endif
        }
    }
    return 1;
}
#endif

flyref_status flyref_eca_conv1d_s8(const flyref_eca_conv1d_params *p, const flyref_dims *d,
                                   const int8_t *mean_in, const int8_t *std_in,
                                   const flyref_dims *f_d, const int8_t *w, int8_t *output)
{
    int32_t mode, k, pad, h, e, b;
    if (p == 0 || mean_in == 0 || std_in == 0 || w == 0 || output == 0) return FLYREF_ARG_ERROR;
    if (!fr_dims_ok(d) || !fr_dims_ok(f_d) || fr_dims_count(d) < 0) return FLYREF_SHAPE_ERROR;
    mode = fr_mode(p->rounding);
    if (mode == 0 || p->heads < 1 || !fr_in_offset_ok(p->mean_offset) || !fr_in_offset_ok(p->std_offset) ||
        !fr_mult_ok(p->mean_multiplier, p->mean_shift) || !fr_mult_ok(p->std_multiplier, p->std_shift) ||
        p->sum_shift < 0 || p->sum_shift > 16 || !fr_out_offset_ok(p->output_offset) ||
        !fr_act_ok(&p->activation)) {
        return FLYREF_ARG_ERROR;
    }
    if (d->h != 1 || d->w != 1 || d->c % p->heads != 0) return FLYREF_SHAPE_ERROR;
    if (f_d->n != 1 || f_d->h != 1 || f_d->c != 2 || (f_d->w & 1) == 0 || f_d->w > 255) return FLYREF_SHAPE_ERROR;
    k = f_d->w;
    pad = (k - 1) / 2;
    h = p->heads;
    e = d->c / h;
#if FLYREF_ARM_DSP || FLYREF_ARM_MVE
    if (fr_eca_target(p, mode, d, mean_in, std_in, w, k, output)) return FLYREF_OK;
#endif
    {
        /* Channel i = c*h + j walked as (c, j), without a division per element. */
        const int32_t mo = p->mean_offset, so = p->std_offset, sum_shift = p->sum_shift;
        fr_rq rq_mean, rq_std;
        const int32_t out_off = p->output_offset, lo = p->activation.min, hi = p->activation.max;
        fr_rq_init(&rq_mean, p->mean_multiplier, p->mean_shift, mode);
        fr_rq_init(&rq_std, p->std_multiplier, p->std_shift, mode);
        for (b = 0; b < d->n; ++b) {
            const int8_t *mb = mean_in + (int64_t)b * d->c;
            const int8_t *sb = std_in + (int64_t)b * d->c;
            int8_t *ob = output + (int64_t)b * d->c;
            int32_t c, j;
            for (c = 0; c < e; ++c) {
                /* taps t with 0 <= c + t - pad < e; the others are zero padding and contribute nothing */
                const int32_t t0 = fr_max(0, pad - c), t1 = fr_min(k, e + pad - c);
                for (j = 0; j < h; ++j) {
                    int32_t am = 0, as = 0, t, v;
                    for (t = t0; t < t1; ++t) {
                        const int32_t idx = (c + t - pad) * h + j;
                        am += (int32_t)w[t * 2 + 0] * ((int32_t)mb[idx] + mo);
                        as += (int32_t)w[t * 2 + 1] * ((int32_t)sb[idx] + so);
                    }
                    /* |am|, |as| <= 255 * 128 * 255 < 2^23: no overflow. */
                    v = fr_add(fr_rq_apply(&rq_mean, am), fr_rq_apply(&rq_std, as));
                    v = fr_add(fr_rdbpot(v, sum_shift), out_off);
                    ob[c * h + j] = (int8_t)fr_clamp(v, lo, hi);
                }
            }
        }
    }
    return FLYREF_OK;
}
