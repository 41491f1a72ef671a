/*
 * VA-ECA descriptor: per-channel mean and standard deviation of a map, all integer.
 * Refer to flyref_kernels.h and quant/ref/README.md for the definition and its bounds.
 *
 * Why D = n*S2 - S1^2: n^2 * var (in input LSB^2) is exactly that integer, so the only rounding
 * of the whole descriptor is the final requantization (and the floor of the square root).
 */
#include "../flyref_internal.h"
#include "../support/flyref_target.h"

const char fr_path_vaeca_descriptor_s8[] = FR_TARGET_PATH;

#define FR_MAX_PIXELS 65536
/* Channels summed side by side (stack: 8 bytes each). */
#define FR_VAECA_CB 64

/*
 * floor(sqrt(v)) for v < 2^62, exact like flyref_isqrt_u64 but by integer Newton iteration,
 * which needs a handful of divisions instead of 31 dependent steps (the square roots were most of
 * the descriptor's time). Why it is exact: from any start x0 >= floor(sqrt(v)), the iteration
 * x' = floor((x + floor(v / x)) / 2) decreases strictly while x > floor(sqrt(v)) and then stops
 * decreasing, at floor(sqrt(v)). The start: with 2^n <= v < 2^(n+1) and k = floor(n / 2),
 * v = 4^k * m with m in [1, 4), and sqrt(v) = 2^k sqrt(m) <= 2^k (m + 1) / 2 (AM-GM)
 * = (v / 2^k + 2^k) / 2 <= floor((floor(v / 2^k) + 2^k) / 2) + 1.
 */
static uint32_t fr_isqrt_newton(uint64_t v)
{
    uint64_t x, y, t = v;
    int32_t n = 0, k;
    if (v < 2) return (uint32_t)v;
    if (t >> 32) { n += 32; t >>= 32; }
    if (t >> 16) { n += 16; t >>= 16; }
    if (t >> 8) { n += 8; t >>= 8; }
    if (t >> 4) { n += 4; t >>= 4; }
    if (t >> 2) { n += 2; t >>= 2; }
    if (t >> 1) n += 1;
    k = n / 2;
    x = (((v >> k) + ((uint64_t)1 << k)) >> 1) + 1;
    for (;;) {
        y = (x + v / x) >> 1;
        if (y >= x) break;
        x = y;
    }
    return (uint32_t)x;
}

static void fr_vaeca_sum(int32_t *restrict s1, uint32_t *restrict s2, const int8_t *restrict x, int32_t off,
                         int32_t n)
{
    int32_t c;
    for (c = 0; c < n; ++c) {
        const int32_t v = (int32_t)x[c] + off;
        s1[c] += v;
        s2[c] += (uint32_t)(v * v);
    }
}

#if FLYREF_ARM_DSP || FLYREF_ARM_MVE
/*
 * Target paths. The square root: floor(sqrt(v)) for v < 2^62 from one 32-bit Newton iteration
 * and one correction step, where fr_isqrt_newton divides 64-bit numbers (a library call on a
 * Cortex-M). With an even shift s, V = v * 2^s is in [2^60, 2^62), and
 * floor(sqrt(v)) = floor(floor(sqrt(V)) / 2^(s/2)) (floor(y / m) = floor(floor(y) / m) for an
 * integer m). x = floor(sqrt(floor(V / 2^32))) is in [2^14, 2^15) (Newton from above as in
 * fr_isqrt_newton, 32-bit division), so R0 = x * 2^16 <= sqrt(V) < R0 + 2^16. One Newton step
 * R0 + floor((V - R0^2) / (2 R0)), with 2 R0 = x * 2^17 and V - R0^2 < 2^48, takes a 32-bit
 * division too; it lands at most 2 above sqrt(V) ((sqrt(V) - R0)^2 / (2 R0) <= 2^32 / 2^31) and
 * at most 2 below (the two truncations). The last two loops make R exact whatever the estimate:
 * they stop at R^2 <= V < (R + 1)^2, and R + 1 < 2^31 + 4 keeps (R + 1)^2 in uint64.
 */
#if FLYREF_ARM_MVE && defined(__ARM_FP) && (__ARM_FP & 8)
/* With a double-precision FPU (the Cortex-M55 build): the correctly rounded double of v (one
 * fused multiply-add of its halves) and its square root are within 2^-22 of sqrt(v) < 2^31, so
 * the truncated root is floor(sqrt(v)) or one off, which the loops fix exactly as below. */
static uint32_t fr_isqrt_target(uint64_t v)
{
    const double dv = (double)(uint32_t)(v >> 32) * 4294967296.0 + (double)(uint32_t)v;
    double root;
    uint32_t r;
    /* VSQRT itself: dv >= 0, so none of the library's domain handling (errno) applies */
    __asm__("vsqrt.f64 %P0, %P1" : "=w"(root) : "w"(dv));
    /* root <= 2^31, and r + 1 <= 2^31 + 1 cannot wrap */
    r = (uint32_t)root;
    while ((uint64_t)r * r > v) --r;
    while ((uint64_t)(r + 1) * (r + 1) <= v) ++r;
    return r;
}
#else
static uint32_t fr_isqrt_target(uint64_t v)
{
    uint64_t V, R;
    uint32_t vh, x, y;
    int32_t s;
    if (v < 2) return (uint32_t)v;
    s = (__builtin_clzll(v) - 2) & ~1;
    V = v << s;
    vh = (uint32_t)(V >> 32);
    x = (((vh >> 14) + (1u << 14)) >> 1) + 1;
    for (;;) {
        y = (x + vh / x) >> 1;
        if (y >= x) break;
        x = y;
    }
    R = (uint64_t)x << 16;
    R += (uint32_t)((V - R * R) >> 17) / x;
    while (R * R > V) --R;
    while ((R + 1) * (R + 1) <= V) ++R;
    return (uint32_t)(R >> (s / 2));
}
#endif

#if FLYREF_ARM_MVE
/* Raw sums of x and x^2 per channel (t1, t2) over npx pixels of rows of stride ch, channel by
 * channel: eight pixels per gather load (offsets 0, ch, .., 7 ch: ch < 9362), summed across
 * the lanes by VADDVA and VMLADAVA. |sum x^2| <= 2^14 * 2^16: int32. */
static void fr_vaeca_sums_target(const int8_t *src, int32_t ch, int32_t npx, int32_t nb, int32_t *t1, int32_t *t2)
{
    const uint16x8_t offs = vmulq_n_u16(vidupq_n_u16(0, 1), (uint16_t)ch);
    int32_t c, i;
    for (c = 0; c < nb; ++c) {
        const int8_t *p = src + c;
        int32_t a = 0, q = 0;
        for (i = 0; i + 8 <= npx; i += 8, p += 8 * ch) {
            const int16x8_t v = vldrbq_gather_offset_s16(p, offs);
            a = vaddvaq_s16(a, v);
            q = vmladavaq_s16(q, v, v);
        }
        if (i < npx) {
            const int16x8_t v = vldrbq_gather_offset_z_s16(p, offs, vctp16q((uint32_t)(npx - i)));
            a = vaddvaq_s16(a, v);
            q = vmladavaq_s16(q, v, v);
        }
        t1[c] = a;
        t2[c] = q;
    }
}
#define FR_VAECA_MAX_CH 9362

/* fr_trq_mve of a kind known at run time (a few instructions per vector). */
static int32x4_t fr_vaeca_trq(const fr_trq *q, int32x4_t x)
{
    switch (q->kind) {
    case FR_TRQ_D0: return fr_trq_mve(FR_TRQ_D0, q, x);
    case FR_TRQ_D: return fr_trq_mve(FR_TRQ_D, q, x);
    case FR_TRQ_S32: return fr_trq_mve(FR_TRQ_S32, q, x);
    default: return fr_trq_mve(FR_TRQ_S, q, x);
    }
}

/* The descriptor of nb channels from their raw sums, both requantizations by fr_trq (qm with its
 * left shift, fr_trq_init_ls): the square roots one channel at a time (npx^2 var =
 * npx t2 - t1^2, the offset cancels), then mean and std four channels per vector. */
static void fr_vaeca_out_mve(const fr_trq *qm, const fr_trq *qs, const int32_t *t1, const int32_t *t2, int32_t nb,
                             int32_t npx, int32_t off, int32_t fb2, uint64_t eps_q, int8_t *mean_out, int8_t *std_out)
{
    int32_t r[FR_VAECA_CB];
    const int32x4_t lo = vdupq_n_s32(-128), hi = vdupq_n_s32(127);
    int32_t c;
    for (c = 0; c < nb; ++c) {
        const uint64_t dd = (uint64_t)((int64_t)npx * t2[c] - (int64_t)t1[c] * t1[c]);
        r[c] = (int32_t)fr_isqrt_target((dd << fb2) + eps_q);
    }
    for (c = 0; c < nb; c += 4) {
        const mve_pred16_t p = vctp32q((uint32_t)(nb - c));
        /* s1 = sum (x + off), |s1| < 2^24; R < 2^31 */
        const int32x4_t s1 = vaddq_n_s32(vldrwq_z_s32(t1 + c, p), npx * off);
        const int32x4_t m = vaddq_n_s32(fr_vaeca_trq(qm, vshlq_r_s32(s1, qm->ls)), qm->out_off);
        const int32x4_t sd = vaddq_n_s32(fr_vaeca_trq(qs, vldrwq_z_s32(r + c, p)), qs->out_off);
        vstrbq_p_s32(mean_out + c, vminq_s32(vmaxq_s32(m, lo), hi), p);
        vstrbq_p_s32(std_out + c, vminq_s32(vmaxq_s32(sd, lo), hi), p);
    }
}
#else
/* Raw sums of x and x^2 per channel (t1, t2), four channels at a time: SXTB16 splits a pixel's
 * four bytes into channels 0, 2 and (rotated) 1, 3 as half-words; SMLABB / SMLATT add each
 * half-word's square to its channel's int32 sum, and SADD16 adds the half-words to two lanes of
 * 16-bit sums, emptied into int32 every FR_VAECA_RUN pixels (|256 * x| <= 2^15: no wrap). Nine
 * instructions per pixel and four channels, few enough registers for GCC to keep them all. */
#define FR_VAECA_RUN 256

#define FR_VAECA_PIXEL(w)                                                                                     \
    do {                                                                                                       \
        const int16x2_t e_ = __sxtb16((int8x4_t)(w)), o_ = (int16x2_t)fr_sxtb16_r8(w);                           \
        q0 = __smlabb(e_, e_, q0);                                                                             \
        q2 = __smlatt(e_, e_, q2);                                                                             \
        q1 = __smlabb(o_, o_, q1);                                                                             \
        q3 = __smlatt(o_, o_, q3);                                                                             \
        s02 = __sadd16(s02, e_);                                                                               \
        s13 = __sadd16(s13, o_);                                                                               \
    } while (0)

static void fr_vaeca_sums_target(const int8_t *src, int32_t ch, int32_t npx, int32_t nb, int32_t *t1, int32_t *t2)
{
    int32_t c, i, i0;
    for (c = 0; c + 4 <= nb; c += 4) {
        const int8_t *p = src + c;
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, q0 = 0, q1 = 0, q2 = 0, q3 = 0;
        for (i0 = 0; i0 < npx; i0 += FR_VAECA_RUN) {
            const int32_t end = fr_min(npx, i0 + FR_VAECA_RUN);
            int16x2_t s02 = 0, s13 = 0;
            for (i = i0; i + 2 <= end; i += 2, p += 2 * ch) {
                const uint32_t w0 = fr_load4(p), w1 = fr_load4(p + ch);
                FR_VAECA_PIXEL(w0);
                FR_VAECA_PIXEL(w1);
            }
            if (i < end) {
                const uint32_t w0 = fr_load4(p);
                FR_VAECA_PIXEL(w0);
                p += ch;
            }
            a0 += (int16_t)s02;
            a2 += (int32_t)s02 >> 16;
            a1 += (int16_t)s13;
            a3 += (int32_t)s13 >> 16;
        }
        t1[c] = a0;
        t1[c + 1] = a1;
        t1[c + 2] = a2;
        t1[c + 3] = a3;
        t2[c] = q0;
        t2[c + 1] = q1;
        t2[c + 2] = q2;
        t2[c + 3] = q3;
    }
    for (; c < nb; ++c) {
        const int8_t *p = src + c;
        int32_t a = 0, q = 0;
        for (i = 0; i < npx; ++i, p += ch) {
            a += *p;
            q += (int32_t)*p * *p;
        }
        t1[c] = a;
        t2[c] = q;
    }
}
#define FR_VAECA_MAX_CH INT32_MAX
#endif

/* The descriptor from the raw sums: with v = x + off, sum v = sum x + npx off and
 * sum v^2 = sum x^2 + 2 off sum x + npx off^2, the same integers as the portable loop's. */
static void fr_vaeca_target(const flyref_vaeca_descriptor_params *p, int32_t mode, const flyref_dims *d,
                            const int8_t *input, int8_t *mean_out, int8_t *std_out, const fr_rq *rq_mean,
                            const fr_rq *rq_std)
{
    int32_t t1[FR_VAECA_CB], t2[FR_VAECA_CB];
    const int32_t npx = d->h * d->w, ch = d->c, off = p->input_offset, fb2 = 2 * p->sqrt_frac_bits;
    /* the requantizations by fr_trq where it applies: |S1| < 2^24, R < 2^30 checked per value */
    fr_trq qm, qs;
    const int tm = fr_trq_init_ls(&qm, p->mean_multiplier, p->mean_shift, mode, p->mean_offset, 24);
    const int ts = fr_trq_init(&qs, p->std_multiplier, p->std_shift, mode, p->std_offset);
    int32_t b, c0, c;
    for (b = 0; b < d->n; ++b) {
        for (c0 = 0; c0 < ch; c0 += FR_VAECA_CB) {
            const int32_t nb = fr_min(FR_VAECA_CB, ch - c0);
            fr_vaeca_sums_target(input + (int64_t)b * npx * ch + c0, ch, npx, nb, t1, t2);
#if FLYREF_ARM_MVE
            if (tm && ts) {
                fr_vaeca_out_mve(&qm, &qs, t1, t2, nb, npx, off, fb2, p->eps_q, mean_out + (int64_t)b * ch + c0,
                                 std_out + (int64_t)b * ch + c0);
                continue;
            }
#endif
            for (c = 0; c < nb; ++c) {
                const int64_t s1 = (int64_t)t1[c] + (int64_t)npx * off;
                const int64_t s2 = (int64_t)t2[c] + 2 * (int64_t)off * t1[c] + (int64_t)npx * off * off;
                const uint64_t dd = (uint64_t)((int64_t)npx * s2 - s1 * s1);
                const int32_t r = (int32_t)fr_isqrt_target((dd << fb2) + p->eps_q);
                const int32_t m = tm ? fr_trq_one(&qm, (int32_t)s1) : fr_add(fr_rq_apply(rq_mean, (int32_t)s1), p->mean_offset);
                const int32_t sd = ts && r < (1 << 30) ? fr_trq_one(&qs, r) : fr_add(fr_rq_apply(rq_std, r), p->std_offset);
                mean_out[(int64_t)b * ch + c0 + c] = (int8_t)fr_clamp(m, -128, 127);
                std_out[(int64_t)b * ch + c0 + c] = (int8_t)fr_clamp(sd, -128, 127);
            }
        }
    }
}
#endif /* FLYREF_ARM_DSP || FLYREF_ARM_MVE */

flyref_status flyref_vaeca_descriptor_s8(const flyref_vaeca_descriptor_params *p,
                                         const flyref_dims *d, const int8_t *input,
                                         int8_t *mean_out, int8_t *std_out)
{
    int32_t mode, npx, b, c0, c, i;
    uint64_t limit;
    fr_rq rq_mean, rq_std;
    if (p == 0 || input == 0 || mean_out == 0 || std_out == 0) return FLYREF_ARG_ERROR;
    if (!fr_dims_ok(d) || fr_dims_count(d) < 0) return FLYREF_SHAPE_ERROR;
    mode = fr_mode(p->rounding);
    if (mode == 0 || !fr_in_offset_ok(p->input_offset) || !fr_mult_ok(p->mean_multiplier, p->mean_shift) ||
        !fr_mult_ok(p->std_multiplier, p->std_shift) || !fr_out_offset_ok(p->mean_offset) ||
        !fr_out_offset_ok(p->std_offset) || p->sqrt_frac_bits < 0 || p->sqrt_frac_bits > 15) {
        return FLYREF_ARG_ERROR;
    }
    if ((int64_t)d->h * d->w > FR_MAX_PIXELS) return FLYREF_ARG_ERROR;
    npx = d->h * d->w;
    /* D <= npx^2 * 255^2 / 4 < npx^2 * 16257 (the variance of values in a range of width 255 is
     * at most (255/2)^2). Require D * 4^F + eps_q < 2^62, so R = isqrt(...) < 2^31. */
    if (p->eps_q >= ((uint64_t)1 << 62)) return FLYREF_ARG_ERROR;
    limit = (((uint64_t)1 << 62) - 1 - p->eps_q) >> (2 * p->sqrt_frac_bits);
    if ((uint64_t)npx * (uint64_t)npx * 16257u > limit) return FLYREF_ARG_ERROR;

    fr_rq_init(&rq_mean, p->mean_multiplier, p->mean_shift, mode);
    fr_rq_init(&rq_std, p->std_multiplier, p->std_shift, mode);
#if FLYREF_ARM_DSP || FLYREF_ARM_MVE
    if (d->c <= FR_VAECA_MAX_CH) {
        fr_vaeca_target(p, mode, d, input, mean_out, std_out, &rq_mean, &rq_std);
        return FLYREF_OK;
    }
#endif
    for (b = 0; b < d->n; ++b) {
        const int32_t ch = d->c, off = p->input_offset;
        for (c0 = 0; c0 < ch; c0 += FR_VAECA_CB) {
            const int32_t nb = fr_min(FR_VAECA_CB, ch - c0);
            const int8_t *src = input + (int64_t)b * npx * ch + c0;
            /* Per channel: |s1| <= 255 * 65536 < 2^24; s2 <= 65025 * 65536 < 2^32, so uint32 holds
             * it exactly (the spec's int64 sum has the same value). */
            int32_t s1[FR_VAECA_CB];
            uint32_t s2[FR_VAECA_CB];
            for (c = 0; c < nb; ++c) {
                s1[c] = 0;
                s2[c] = 0;
            }
            for (i = 0; i < npx; ++i) {
                const int8_t *x = src + (int64_t)i * ch;
                fr_vaeca_sum(s1, s2, x, off, nb);
            }
            for (c = 0; c < nb; ++c) {
                /* >= 0 by Cauchy-Schwarz */
                const uint64_t dd = (uint64_t)((int64_t)npx * (int64_t)s2[c] - (int64_t)s1[c] * s1[c]);
                const uint64_t radicand = (dd << (2 * p->sqrt_frac_bits)) + p->eps_q;
                const int32_t r = (int32_t)fr_isqrt_newton(radicand);
                const int32_t m = fr_add(fr_rq_apply(&rq_mean, s1[c]), p->mean_offset);
                const int32_t s = fr_add(fr_rq_apply(&rq_std, r), p->std_offset);
                mean_out[(int64_t)b * ch + c0 + c] = (int8_t)fr_clamp(m, -128, 127);
                std_out[(int64_t)b * ch + c0 + c] = (int8_t)fr_clamp(s, -128, 127);
            }
        }
    }
    return FLYREF_OK;
}
