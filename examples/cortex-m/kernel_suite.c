/*
 * Deterministic flyref kernel suite (see kernel_suite.h). C99, no stdio, no malloc: all buffers
 * are static so the same file runs on a Cortex-M with a few hundred KB of RAM.
 */
#include "kernel_suite.h"

#include "cmsis/cmsis_cases.h"
#include "flyref.h"
#include "flyref_interpreter.h"

/* ------------------------------------------------------------------ PRNG, hash, printing */

static uint32_t g_state;

static uint32_t rnd(void)
{
    /* xorshift32 (Marsaglia): same sequence on every target */
    uint32_t x = g_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    g_state = x;
    return x;
}

/** Uniform-ish integer in [lo, hi] (modulo bias is irrelevant here, determinism is what counts). */
static int32_t rint_in(int32_t lo, int32_t hi) { return lo + (int32_t)(rnd() % (uint32_t)(hi - lo + 1)); }

static int32_t rmult(void) { return (int32_t)(0x40000000u + (rnd() & 0x3FFFFFFFu)); }

static void fill_s8(int8_t *p, int32_t n, int32_t lo, int32_t hi)
{
    int32_t i;
    for (i = 0; i < n; ++i) p[i] = (int8_t)rint_in(lo, hi);
}

static int32_t zero_point(void)
{
    switch (rnd() % 4u) {
    case 0: return -128;
    case 1: return 127;
    default: return rint_in(-128, 127);
    }
}

typedef struct {
    uint32_t hash;
    int32_t cases;
    int32_t fails;
} family;

static void fam_init(family *f)
{
    f->hash = 2166136261u; /* FNV-1a offset basis */
    f->cases = 0;
    f->fails = 0;
}

static void fam_bytes(family *f, const void *p, int32_t n)
{
    const uint8_t *b = (const uint8_t *)p;
    int32_t i;
    for (i = 0; i < n; ++i) {
        f->hash ^= b[i];
        f->hash *= 16777619u;
    }
}

static void fam_status(family *f, flyref_status s)
{
    const int32_t v = (int32_t)s;
    fam_bytes(f, &v, 4);
    f->cases++;
    if (s != FLYREF_OK) f->fails++;
}

static void fam_i32(family *f, int32_t v) { fam_bytes(f, &v, 4); }

static char *put_str(char *p, const char *s)
{
    while (*s) *p++ = *s++;
    return p;
}

static char *put_dec(char *p, int32_t v)
{
    char tmp[12];
    int n = 0;
    uint32_t u = v < 0 ? (uint32_t)0 - (uint32_t)v : (uint32_t)v;
    if (v < 0) *p++ = '-';
    do {
        tmp[n++] = (char)('0' + u % 10u);
        u /= 10u;
    } while (u != 0);
    while (n > 0) *p++ = tmp[--n];
    return p;
}

static char *put_hex(char *p, uint32_t v)
{
    int i;
    p = put_str(p, "0x");
    for (i = 7; i >= 0; --i) *p++ = "0123456789abcdef"[(v >> (4 * i)) & 15u];
    return p;
}

static int report(suite_puts_fn out, const char *name, const family *f)
{
    char line[128];
    char *p = line;
    p = put_str(p, name);
    p = put_str(p, " cases=");
    p = put_dec(p, f->cases);
    p = put_str(p, " fails=");
    p = put_dec(p, f->fails);
    p = put_str(p, " hash=");
    p = put_hex(p, f->hash);
    *p++ = '\n';
    *p = 0;
    out(line);
    return f->fails;
}

/* ------------------------------------------------------------------ buffers */

#define MAXB 4096
static int8_t g_x[MAXB], g_x2[MAXB], g_w[MAXB], g_y[MAXB], g_y2[MAXB], g_scratch[MAXB];
static int32_t g_bias[256], g_mult[256], g_shift[256], g_idx[256];
static uint8_t g_arena[8192];

static int32_t rounding(void) { return (rnd() & 1u) ? FLYNET_ROUNDING_SINGLE : FLYNET_ROUNDING_DOUBLE; }

/* ------------------------------------------------------------------ families */

static int fixed_point(suite_puts_fn out)
{
    family f;
    int32_t i;
    fam_init(&f);
    for (i = 0; i < 20000; ++i) {
        const int32_t x = (int32_t)rnd(), m = (int32_t)(rnd() >> 1), s = rint_in(-31, 30);
        fam_i32(&f, flyref_srdhm(x, (int32_t)rnd()));
        fam_i32(&f, flyref_rdbpot(x, rint_in(0, 31)));
        fam_i32(&f, flyref_requantize_double(x, m, s));
        fam_i32(&f, flyref_requantize_single(x, m, s));
        fam_i32(&f, (int32_t)flyref_isqrt_u64(((uint64_t)rnd() << 32) | rnd()));
        f.cases++;
    }
    return report(out, "fixed_point", &f);
}

static int param_derivation(suite_puts_fn out)
{
    /* Soft-float (target) and SSE (host) must derive the same integers from the same scales. */
    family f;
    int32_t i;
    fam_init(&f);
    for (i = 0; i < 2000; ++i) {
        const float s1 = (float)(int32_t)(rnd() % 1000000u + 1u) / 16777216.0f;
        const float s2 = (float)(int32_t)(rnd() % 1000000u + 1u) / 16777216.0f;
        const float s3 = (float)(int32_t)(rnd() % 1000000u + 1u) / 8388608.0f;
        int32_t m = 0, s = 0, lo = 0, hi = 0;
        flynet_add_params pa;
        flynet_softmax_params ps;
        flynet_logistic_params pl;
        flynet_hard_swish_params ph;
        fam_status(&f, flyref_conv_multiplier(s1, s2, s3, FLYNET_ROUNDING_DOUBLE, &m, &s));
        fam_i32(&f, m);
        fam_i32(&f, s);
        fam_status(&f, flyref_fc_multiplier(s1, s2, s3, FLYNET_ROUNDING_SINGLE, &m, &s));
        fam_i32(&f, m);
        fam_i32(&f, s);
        fam_status(&f, flyref_activation_range(FLYNET_ACT_RELU6, s3, rint_in(-128, 127), &lo, &hi));
        fam_i32(&f, lo);
        fam_i32(&f, hi);
        if (flyref_add_prepare(s1, s2, s3, FLYNET_ROUNDING_DOUBLE, &pa) == FLYREF_OK) fam_bytes(&f, &pa, sizeof pa);
        if (flyref_softmax_prepare(1.0f, s3, FLYNET_ROUNDING_DOUBLE, &ps) == FLYREF_OK) fam_bytes(&f, &ps, sizeof ps);
        if (flyref_logistic_prepare(s3, &pl) == FLYREF_OK) fam_bytes(&f, &pl, sizeof pl);
        if (flyref_hard_swish_prepare(s3, s3 * 0.75f, &ph) == FLYREF_OK) fam_bytes(&f, &ph, sizeof ph);
    }
    return report(out, "param_derivation", &f);
}

static void quant_arrays(int32_t n, int32_t slo, int32_t shi)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        g_bias[i] = rint_in(-30000, 30000);
        g_mult[i] = rmult();
        g_shift[i] = rint_in(slo, shi);
    }
}

static int conv(suite_puts_fn out)
{
    family f;
    int32_t it;
    fam_init(&f);
    for (it = 0; it < 300; ++it) {
        const int32_t groups = rint_in(1, 3), kc = rint_in(1, 3), per = rint_in(1, 3);
        const int32_t kh = (it % 3 == 0) ? 1 : rint_in(1, 3), kw = (it % 3 == 0) ? 1 : rint_in(1, 3);
        flyref_conv_params p;
        flyref_dims in, fd, od;
        flyref_quant_params q;
        flyref_context ctx;
        in.n = rint_in(1, 2);
        in.h = rint_in(1, 7);
        in.w = rint_in(1, 7);
        in.c = groups * kc;
        fd.n = groups * per;
        fd.h = kh;
        fd.w = kw;
        fd.c = kc;
        p.input_offset = -zero_point();
        p.output_offset = zero_point();
        p.stride_h = rint_in(1, 2);
        p.stride_w = rint_in(1, 2);
        p.dilation_h = kh == 1 ? 1 : rint_in(1, 2);
        p.dilation_w = kw == 1 ? 1 : rint_in(1, 2);
        p.pad_h = kh == 1 ? 0 : rint_in(0, 1);
        p.pad_w = kw == 1 ? 0 : rint_in(0, 1);
        p.activation.min = -128;
        p.activation.max = 127;
        p.rounding = rounding();
        od.n = in.n;
        od.h = (in.h + 2 * p.pad_h - ((kh - 1) * p.dilation_h + 1)) / p.stride_h + 1;
        od.w = (in.w + 2 * p.pad_w - ((kw - 1) * p.dilation_w + 1)) / p.stride_w + 1;
        if (od.h < 1) od.h = 1;
        if (od.w < 1) od.w = 1;
        od.c = fd.n;
        fill_s8(g_x, in.n * in.h * in.w * in.c, -128, 127);
        fill_s8(g_w, fd.n * kh * kw * kc, -127, 127);
        quant_arrays(fd.n, -12, 0);
        q.multiplier = g_mult;
        q.shift = g_shift;
        q.count = (rnd() & 1u) ? fd.n : 1;
        ctx.buf = g_scratch;
        ctx.size = flyref_conv2d_wrapper_s8_buffer_size(&p, &in, &fd);
        fam_status(&f, flyref_conv2d_wrapper_s8(&ctx, &p, &q, &in, g_x, &fd, g_w, (rnd() & 1u) ? g_bias : 0, &od, g_y));
        fam_bytes(&f, g_y, od.n * od.h * od.w * od.c);
    }
    return report(out, "conv2d_s8", &f);
}

static int depthwise(suite_puts_fn out)
{
    family f;
    int32_t it;
    fam_init(&f);
    for (it = 0; it < 300; ++it) {
        const int32_t mult = rint_in(1, 8), kh = rint_in(1, 3), kw = rint_in(1, 3);
        flyref_conv_params p;
        flyref_dims in, fd, od;
        flyref_quant_params q;
        in.n = 1;
        in.h = rint_in(1, 7);
        in.w = rint_in(1, 7);
        in.c = rint_in(1, 4);
        p.input_offset = -zero_point();
        p.output_offset = zero_point();
        p.stride_h = rint_in(1, 2);
        p.stride_w = rint_in(1, 2);
        p.dilation_h = rint_in(1, 2);
        p.dilation_w = rint_in(1, 2);
        p.pad_h = rint_in(0, 1);
        p.pad_w = rint_in(0, 1);
        p.activation.min = rint_in(-128, 0);
        p.activation.max = 127;
        p.rounding = rounding();
        od.n = 1;
        od.h = (in.h + 2 * p.pad_h - ((kh - 1) * p.dilation_h + 1)) / p.stride_h + 1;
        od.w = (in.w + 2 * p.pad_w - ((kw - 1) * p.dilation_w + 1)) / p.stride_w + 1;
        if (od.h < 1) od.h = 1;
        if (od.w < 1) od.w = 1;
        od.c = in.c * mult;
        fd.n = 1;
        fd.h = kh;
        fd.w = kw;
        fd.c = od.c;
        fill_s8(g_x, in.h * in.w * in.c, -128, 127);
        fill_s8(g_w, kh * kw * od.c, -127, 127);
        quant_arrays(od.c, -11, 0);
        q.multiplier = g_mult;
        q.shift = g_shift;
        q.count = od.c;
        fam_status(&f, flyref_depthwise_conv2d_s8(&p, mult, &q, &in, g_x, &fd, g_w, g_bias, &od, g_y));
        fam_bytes(&f, g_y, od.h * od.w * od.c);
    }
    return report(out, "depthwise_conv2d_s8", &f);
}

/* Naive depthwise (int8-semantics.md, written here independently of the library's loops): the
 * golden values of depthwise_paths. Accumulates in uint32 (wrapping like the spec). */
static void naive_depthwise(const flyref_conv_params *p, int32_t mult, const flyref_quant_params *q,
                            const flyref_dims *in, const int8_t *x, const flyref_dims *fd, const int8_t *w,
                            const int32_t *bias, const flyref_dims *od, int8_t *y)
{
    const int32_t oc_n = in->c * mult;
    int32_t b, oy, ox, oc, ky, kx;
    for (b = 0; b < od->n; ++b)
        for (oy = 0; oy < od->h; ++oy)
            for (ox = 0; ox < od->w; ++ox)
                for (oc = 0; oc < oc_n; ++oc) {
                    const int32_t qi = q->count == 1 ? 0 : oc;
                    uint32_t acc = bias ? (uint32_t)bias[oc] : 0u;
                    int32_t v;
                    for (ky = 0; ky < fd->h; ++ky)
                        for (kx = 0; kx < fd->w; ++kx) {
                            const int32_t iy = oy * p->stride_h - p->pad_h + ky * p->dilation_h;
                            const int32_t ix = ox * p->stride_w - p->pad_w + kx * p->dilation_w;
                            if (iy < 0 || ix < 0 || iy >= in->h || ix >= in->w) continue;
                            acc += (uint32_t)((int32_t)w[(ky * fd->w + kx) * oc_n + oc] *
                                              (x[((b * in->h + iy) * in->w + ix) * in->c + oc / mult] +
                                               p->input_offset));
                        }
                    v = acc <= 0x7FFFFFFFu ? (int32_t)acc : (int32_t)(acc - 0x80000000u) - 0x7FFFFFFF - 1;
                    v = p->rounding == FLYNET_ROUNDING_SINGLE ? flyref_requantize_single(v, q->multiplier[qi], q->shift[qi])
                                                              : flyref_requantize_double(v, q->multiplier[qi], q->shift[qi]);
                    v = (int32_t)((uint32_t)v + (uint32_t)p->output_offset);
                    v = v < p->activation.min ? p->activation.min : (v > p->activation.max ? p->activation.max : v);
                    y[((b * od->h + oy) * od->w + ox) * oc_n + oc] = (int8_t)v;
                }
}

/*
 * Depthwise shapes and constants that reach every branch of the target fast paths (the Armv7E-M
 * DSP path on the Cortex-M4/M7/M33 builds): channel counts off multiples of 4 and several
 * channel groups, multipliers 1..5 (head chunks of 3, 2 and 1), kernels 3x3, 5x5 and others (odd
 * and even widths, 1 to 4 tap pairs), strides 1..3, padding 0..3, odd and even output widths,
 * output sizes above and below the natural ones, narrow clamps, both roundings, per-tensor and
 * per-channel constants, and the requantization forms (shifts -22..+2, multipliers at and below
 * 2^30, biases near 2^30, no bias), plus dilated and very wide layers (the portable fallback).
 * Each output is checked against naive_depthwise on the target itself.
 */
static int depthwise_paths(suite_puts_fn out)
{
    static const int32_t ksz[][2] = {{3, 3}, {5, 5}, {3, 3}, {5, 5}, {1, 1}, {2, 2}, {3, 5}, {5, 3}, {1, 4}, {7, 7}, {4, 6}};
    family f;
    int32_t it, i;
    fam_init(&f);
    for (it = 0; it < 400; ++it) {
        const int32_t mult = rint_in(1, 5), kind = rint_in(0, 5);
        const int32_t kh = ksz[it % 11][0], kw = ksz[it % 11][1];
        int32_t mismatch = 0, n_out;
        flyref_conv_params p;
        flyref_dims in, fd, od;
        flyref_quant_params q;
        const int32_t *bias = g_bias;
        in.n = rint_in(1, 4) == 1 ? 2 : 1;
        in.h = rint_in(1, 9);
        in.w = rint_in(1, 9);
        in.c = rint_in(1, 4) == 1 ? rint_in(1, 3) : rint_in(4, 22);
        if (it % 50 == 7) { /* one very wide row: more than the fast path's row buffer */
            in.n = 1;
            in.h = 2;
            in.w = rint_in(600, 1000);
            in.c = 1;
        }
        while (in.c * mult > 64 || in.n * in.h * in.w * in.c > MAXB || kh * kw * in.c * mult > MAXB) {
            in.c = in.c > 1 ? in.c - 1 : 1;
            if (in.c == 1 && in.n * in.h * in.w > MAXB) in.w /= 2;
            if (in.c == 1 && kh * kw * mult > MAXB) break;
        }
        p.input_offset = -zero_point();
        p.output_offset = zero_point();
        p.stride_h = rint_in(1, 4) == 1 ? 3 : rint_in(1, 2);
        p.stride_w = rint_in(1, 4) == 1 ? 3 : rint_in(1, 2);
        p.dilation_h = it % 25 == 3 ? 2 : 1;
        p.dilation_w = it % 25 == 3 ? rint_in(1, 2) : 1;
        p.pad_h = rint_in(0, kh > 3 ? 3 : kh - 1 + (kh == 1));
        p.pad_w = rint_in(0, kw > 3 ? 3 : kw - 1 + (kw == 1));
        p.activation.min = rint_in(1, 4) == 1 ? rint_in(-128, 20) : -128;
        p.activation.max = rint_in(1, 4) == 1 ? rint_in(p.activation.min, 127) : 127;
        p.rounding = rounding();
        od.n = in.n;
        od.h = (in.h + 2 * p.pad_h - ((kh - 1) * p.dilation_h + 1)) / p.stride_h + 1 + rint_in(-1, 1);
        od.w = (in.w + 2 * p.pad_w - ((kw - 1) * p.dilation_w + 1)) / p.stride_w + 1 + rint_in(-1, 1);
        if (od.h < 1) od.h = 1;
        if (od.w < 1) od.w = 1;
        od.c = in.c * mult;
        n_out = od.n * od.h * od.w * od.c;
        if (n_out > MAXB) {
            od.h = 1;
            n_out = od.n * od.w * od.c;
            if (n_out > MAXB) od.w = MAXB / (od.n * od.c);
            n_out = od.n * od.h * od.w * od.c;
        }
        fd.n = 1;
        fd.h = kh;
        fd.w = kw;
        fd.c = od.c;
        fill_s8(g_x, in.n * in.h * in.w * in.c, -128, 127);
        fill_s8(g_w, kh * kw * od.c, -128, 127);
        for (i = 0; i < od.c; ++i) {
            /* kind 0-2: the fast forms (multiplier > 2^30, shift -1..-12); 3: shifts -22..+2 and
             * multipliers 2^30 or small; 4: biases up to 2^30; 5: no bias. */
            g_mult[i] = rmult();
            g_shift[i] = rint_in(-12, -1);
            g_bias[i] = rint_in(-30000, 30000);
            if (kind == 3) {
                g_shift[i] = rint_in(-22, 2);
                if (rnd() % 4u == 0) g_mult[i] = (rnd() & 1u) ? 0x40000000 : (int32_t)(rnd() >> 2);
            }
            if (kind == 4 && rnd() % 3u == 0) g_bias[i] = (int32_t)(rnd() >> 1) - 0x40000000;
        }
        if (kind == 5) bias = 0;
        q.multiplier = g_mult;
        q.shift = g_shift;
        q.count = rint_in(1, 5) == 1 ? 1 : od.c;
        fill_s8(g_y, n_out, 0, 0);
        fam_status(&f, flyref_depthwise_conv2d_s8(&p, mult, &q, &in, g_x, &fd, g_w, bias, &od, g_y));
        naive_depthwise(&p, mult, &q, &in, g_x, &fd, g_w, bias, &od, g_y2);
        for (i = 0; i < n_out; ++i) mismatch |= g_y[i] != g_y2[i];
        if (mismatch) f.fails++;
        fam_bytes(&f, g_y, n_out);
    }
    return report(out, "depthwise_paths", &f);
}

static int fully_connected(suite_puts_fn out)
{
    family f;
    int32_t it;
    fam_init(&f);
    for (it = 0; it < 300; ++it) {
        const int32_t n = rint_in(1, 3), k = rint_in(1, 64), co = rint_in(1, 16);
        flyref_fc_params p;
        flyref_quant_params q;
        flyref_dims in, fd, od;
        in.n = n; in.h = 1; in.w = 1; in.c = k;
        fd.n = co; fd.h = 1; fd.w = 1; fd.c = k;
        od.n = n; od.h = 1; od.w = 1; od.c = co;
        p.input_offset = -zero_point();
        p.filter_offset = (rnd() % 4u == 0) ? rint_in(-127, 128) : 0;
        p.output_offset = zero_point();
        p.activation.min = -128;
        p.activation.max = rint_in(0, 127);
        p.rounding = rounding();
        fill_s8(g_x, n * k, -128, 127);
        fill_s8(g_w, co * k, -127, 127);
        quant_arrays(co, -14, 0);
        q.multiplier = g_mult;
        q.shift = g_shift;
        q.count = (rnd() & 1u) ? co : 1;
        fam_status(&f, flyref_fully_connected_s8(&p, &q, &in, g_x, &fd, g_w, g_bias, &od, g_y));
        fam_bytes(&f, g_y, n * co);
    }
    return report(out, "fully_connected_s8", &f);
}

/* ------------------------------------------------------------------ conv / FC target paths */

/*
 * The conv, 1x1 conv and FC target paths (Cortex-M DSP, MVE) on model-sized shapes: channel
 * counts off the SIMD blocks (odd, not multiples of 4/8/16), input depths with partial groups
 * of four, depths past the paths' stack limits (their portable fallback), pixel runs with tails,
 * strides, padding, dilation, groups, zero points, clamps, both roundings, and requantization
 * constants on both sides of every closed-form condition of the fast epilogue (multiplier
 * exactly 2^30, small or zero; shifts 0, -1, -22/-23/-24, positive; biases near 2^30). The host
 * runs its own paths (portable or AVX2), so a board's identical transcript proves its paths
 * byte-identical with them. The family draws from its own seed.
 */
static int8_t s_cx[12288], s_cw[24576], s_cy[12288];
static int32_t s_cb[640], s_cm[640], s_cs[640];

static void cf_quant(int32_t n)
{
    const int32_t special = (int32_t)(rnd() % 3u) == 0;
    int32_t i;
    for (i = 0; i < n; ++i) {
        const uint32_t r = special ? rnd() % 36u : 35u;
        s_cb[i] = rint_in(-60000, 60000);
        s_cm[i] = rmult();
        s_cs[i] = rint_in(-12, -2);
        switch (r) {
        case 0: s_cm[i] = 0x40000000; break;
        case 1: s_cm[i] = (int32_t)(rnd() % 70000u); break;
        case 2: s_cm[i] = 0x7FFFFFFF; break;
        case 3: s_cs[i] = rint_in(0, 3); break;
        case 4: s_cs[i] = -1; break;
        case 5: s_cs[i] = rint_in(-25, -21); break;
        case 6: s_cs[i] = rint_in(-31, -26); break;
        case 7: s_cb[i] = (int32_t)(rnd() >> 1) - 0x40000000; break;
        case 8: s_cb[i] = (rnd() & 1u) ? 0x3FFFFFFF - rint_in(0, 20000000) : -0x3FFFFFFF + rint_in(0, 20000000); break;
        default: break;
        }
    }
}

static void cf_act(flyref_activation *a)
{
    switch (rnd() % 3u) {
    case 0: a->min = -128; a->max = 127; break;
    case 1: a->min = rint_in(-128, 10); a->max = 127; break;
    default: a->min = rint_in(-128, 0); a->max = rint_in(a->min, 127); break;
    }
}

/* An input depth: short (partial groups of four), a multiple of 4 or 8, or long. */
static int32_t cf_depth(int32_t cap)
{
    int32_t k;
    switch (rnd() % 6u) {
    case 0: k = rint_in(1, 9); break;
    case 1: k = 4 * rint_in(1, 24); break;
    case 2: k = 8 * rint_in(1, 40); break;
    case 3: k = rint_in(100, 700); break;
    default: k = rint_in(1, 64); break;
    }
    return k < cap ? k : cap;
}

static int conv_fc_fast(suite_puts_fn out)
{
    family f;
    int32_t it;
    const uint32_t saved = g_state;
    g_state = 0x2545F491u;
    fam_init(&f);
    for (it = 0; it < 360; ++it) {
        const int32_t kind = it % 3; /* 0: 1x1 conv, 1: general conv, 2: FC */
        flyref_quant_params q;
        flyref_dims in, fd, od;
        q.multiplier = s_cm;
        q.shift = s_cs;
        if (kind < 2) {
            flyref_conv_params p;
            flyref_context ctx;
            const int32_t groups = (rnd() % 5u == 0) ? rint_in(2, 3) : 1;
            const int32_t kh = kind == 0 ? 1 : rint_in(1, 5), kw = kind == 0 ? 1 : rint_in(1, 5);
            int32_t kc = cf_depth(kind == 0 ? 600 : 60), per = rint_in(1, 40);
            if (kind == 1 && rnd() % 8u == 0) kc = rint_in(40, 48); /* patches past 1024 with 5x5 */
            while (groups * per * kc * kh * kw > (int32_t)sizeof s_cw) per = (per + 1) / 2;
            in.n = rint_in(1, 2);
            in.h = rint_in(1, 9);
            in.w = rint_in(1, 9);
            in.c = groups * kc;
            while (in.n * in.h * in.w * in.c > (int32_t)sizeof s_cx) {
                if (in.h > 1) in.h = (in.h + 1) / 2;
                else if (in.w > 1) in.w = (in.w + 1) / 2;
                else in.n = 1;
            }
            fd.n = groups * per;
            fd.h = kh;
            fd.w = kw;
            fd.c = kc;
            p.input_offset = -zero_point();
            p.output_offset = zero_point();
            p.stride_h = rint_in(1, 2);
            p.stride_w = rint_in(1, 3);
            p.dilation_h = kh == 1 ? 1 : rint_in(1, 2);
            p.dilation_w = kw == 1 ? 1 : rint_in(1, 2);
            p.pad_h = kh == 1 ? 0 : rint_in(0, 2);
            p.pad_w = kw == 1 ? 0 : rint_in(0, 2);
            cf_act(&p.activation);
            p.rounding = rounding();
            od.n = in.n;
            od.h = (in.h + 2 * p.pad_h - ((kh - 1) * p.dilation_h + 1)) / p.stride_h + 1;
            od.w = (in.w + 2 * p.pad_w - ((kw - 1) * p.dilation_w + 1)) / p.stride_w + 1;
            if (od.h < 1) od.h = 1;
            if (od.w < 1) od.w = 1;
            od.c = fd.n;
            while (od.n * od.h * od.w * od.c > (int32_t)sizeof s_cy) od.h = (od.h + 1) / 2;
            fill_s8(s_cx, in.n * in.h * in.w * in.c, -128, 127);
            fill_s8(s_cw, fd.n * kh * kw * kc, (rnd() & 1u) ? -128 : -127, 127);
            cf_quant(fd.n);
            q.count = (rnd() % 4u) ? fd.n : 1;
            ctx.buf = g_scratch;
            ctx.size = flyref_conv2d_wrapper_s8_buffer_size(&p, &in, &fd);
            fam_status(&f, flyref_conv2d_wrapper_s8(&ctx, &p, &q, &in, s_cx, &fd, s_cw, (rnd() % 5u) ? s_cb : 0, &od,
                                                    s_cy));
        } else {
            flyref_fc_params p;
            const int32_t k = (rnd() % 6u == 0) ? rint_in(1000, 1100) : cf_depth(1100);
            int32_t co = rint_in(1, 21), n = rint_in(1, 3);
            while (co * k > (int32_t)sizeof s_cw) co = (co + 1) / 2;
            while (n * k > (int32_t)sizeof s_cx) n = 1;
            in.n = n; in.h = 1; in.w = 1; in.c = k;
            fd.n = co; fd.h = 1; fd.w = 1; fd.c = k;
            od.n = n; od.h = 1; od.w = 1; od.c = co;
            p.input_offset = -zero_point();
            p.filter_offset = (rnd() % 8u == 0) ? rint_in(-127, 128) : 0;
            p.output_offset = zero_point();
            cf_act(&p.activation);
            p.rounding = rounding();
            fill_s8(s_cx, n * k, -128, 127);
            fill_s8(s_cw, co * k, (rnd() & 1u) ? -128 : -127, 127);
            cf_quant(co);
            q.count = (rnd() % 4u) ? co : 1;
            fam_status(&f, flyref_fully_connected_s8(&p, &q, &in, s_cx, &fd, s_cw, (rnd() % 5u) ? s_cb : 0, &od, s_cy));
        }
        fam_bytes(&f, s_cy, od.n * od.h * od.w * od.c);
    }
    g_state = saved;
    return report(out, "conv_fc_fast", &f);
}

static void rand_dims(flyref_dims *o, flyref_dims *a, flyref_dims *b)
{
    o->n = rint_in(1, 2);
    o->h = rint_in(1, 5);
    o->w = rint_in(1, 5);
    o->c = rint_in(1, 6);
    *a = *o;
    *b = *o;
    if (rnd() & 1u) a->h = 1;
    if (rnd() & 1u) a->w = 1;
    if (rnd() & 1u) b->h = 1;
    if (rnd() & 1u) b->w = 1;
    if (rnd() % 4u == 0) b->c = 1;
}

static int32_t count(const flyref_dims *d) { return d->n * d->h * d->w * d->c; }

static int elementwise(suite_puts_fn out)
{
    family f;
    int32_t it;
    fam_init(&f);
    for (it = 0; it < 600; ++it) {
        flyref_dims o, a, b;
        rand_dims(&o, &a, &b);
        fill_s8(g_x, count(&a), -128, 127);
        fill_s8(g_x2, count(&b), -128, 127);
        switch (it % 4) {
        case 0: {
            flyref_add_params p;
            flynet_add_params r;
            const float s1 = (float)(int32_t)(rnd() % 1000u + 1u) / 4096.0f, s2 = (float)(int32_t)(rnd() % 1000u + 1u) / 4096.0f;
            const int32_t rd = rounding();
            if (flyref_add_prepare(s1, s2, s1 + s2, rd, &r) != FLYREF_OK) continue;
            p.input1_offset = -zero_point();
            p.input2_offset = -zero_point();
            p.left_shift = r.left_shift;
            p.input1_multiplier = r.input1_multiplier;
            p.input1_shift = r.input1_shift;
            p.input2_multiplier = r.input2_multiplier;
            p.input2_shift = r.input2_shift;
            p.output_multiplier = r.output_multiplier;
            p.output_shift = r.output_shift;
            p.output_offset = zero_point();
            p.activation.min = -128;
            p.activation.max = 127;
            p.rounding = rd;
            fam_status(&f, flyref_add_s8(&p, &a, g_x, &b, g_x2, &o, g_y));
            break;
        }
        case 1: {
            flyref_mul_params p;
            p.input1_offset = -zero_point();
            p.input2_offset = -zero_point();
            p.output_multiplier = rmult();
            p.output_shift = rint_in(-16, 0);
            p.output_offset = zero_point();
            p.activation.min = -128;
            p.activation.max = 127;
            p.rounding = rounding();
            fam_status(&f, flyref_mul_s8(&p, &a, g_x, &b, g_x2, &o, g_y));
            break;
        }
        case 2:
            fam_status(&f, flyref_maximum_s8(&a, g_x, &b, g_x2, &o, g_y));
            break;
        default: {
            flyref_dims in = o;
            const int32_t g = rint_in(1, 4);
            in.c = o.c * g;
            fill_s8(g_x, count(&in), -128, 127);
            fam_status(&f, flyref_max_group_s8(g, &in, g_x, &o, g_y));
            break;
        }
        }
        fam_bytes(&f, g_y, count(&o));
    }
    return report(out, "elementwise_s8", &f);
}

static int pooling(suite_puts_fn out)
{
    family f;
    int32_t it;
    fam_init(&f);
    for (it = 0; it < 400; ++it) {
        flyref_pool_params p;
        flyref_dims in, od;
        in.n = rint_in(1, 2);
        in.h = rint_in(1, 8);
        in.w = rint_in(1, 8);
        in.c = rint_in(1, 4);
        p.filter_h = rint_in(1, 3);
        p.filter_w = rint_in(1, 3);
        p.stride_h = rint_in(1, 3);
        p.stride_w = rint_in(1, 3);
        p.pad_h = rint_in(0, p.filter_h - 1);
        p.pad_w = rint_in(0, p.filter_w - 1);
        p.activation.min = rint_in(-128, 0);
        p.activation.max = 127;
        if (in.h + 2 * p.pad_h < p.filter_h || in.w + 2 * p.pad_w < p.filter_w) continue;
        od.n = in.n;
        od.h = (in.h + 2 * p.pad_h - p.filter_h) / p.stride_h + 1;
        od.w = (in.w + 2 * p.pad_w - p.filter_w) / p.stride_w + 1;
        od.c = in.c;
        fill_s8(g_x, count(&in), -128, 127);
        fam_status(&f, (it & 1) ? flyref_avg_pool_s8(&p, &in, g_x, &od, g_y) : flyref_max_pool_s8(&p, &in, g_x, &od, g_y));
        fam_bytes(&f, g_y, count(&od));
    }
    return report(out, "pool_s8", &f);
}

static int activations(suite_puts_fn out)
{
    family f;
    int32_t it, i;
    fam_init(&f);
    for (i = 0; i < 256; ++i) g_x[i] = (int8_t)(i - 128);
    for (it = 0; it < 300; ++it) {
        const float si = (float)(int32_t)(rnd() % 2000u + 10u) / 8192.0f;
        const float so = (float)(int32_t)(rnd() % 2000u + 10u) / 8192.0f;
        const int32_t rows = rint_in(1, 8), len = rint_in(1, 32);
        flynet_softmax_params rs;
        flynet_logistic_params rl;
        flynet_hard_swish_params rh;
        flynet_hard_sigmoid_params rg;
        if (flyref_softmax_prepare(1.0f, si, FLYNET_ROUNDING_DOUBLE, &rs) == FLYREF_OK) {
            flyref_softmax_params p;
            p.input_multiplier = rs.input_multiplier;
            p.input_left_shift = rs.input_left_shift;
            p.diff_min = rs.diff_min;
            fill_s8(g_x2, rows * len, -128, 127);
            fam_status(&f, flyref_softmax_s8(&p, rows, len, g_x2, g_y));
            fam_bytes(&f, g_y, rows * len);
        }
        if (flyref_logistic_prepare(si, &rl) == FLYREF_OK) {
            flyref_logistic_params p;
            p.input_zero_point = zero_point();
            p.input_multiplier = rl.input_multiplier;
            p.input_left_shift = rl.input_left_shift;
            p.input_range_radius = rl.input_range_radius;
            p.rounding = rounding();
            fam_status(&f, flyref_logistic_s8(&p, 256, g_x, g_y));
            fam_bytes(&f, g_y, 256);
        }
        if (flyref_hard_swish_prepare(si, so, &rh) == FLYREF_OK) {
            flyref_hard_swish_params p;
            p.input_zero_point = zero_point();
            p.output_zero_point = zero_point();
            p.output_multiplier_int16 = rh.output_multiplier_int16;
            p.output_exponent = rh.output_exponent;
            p.reluish_multiplier_int16 = rh.reluish_multiplier_int16;
            p.reluish_exponent = rh.reluish_exponent;
            fam_status(&f, flyref_hard_swish_s8(&p, 256, g_x, g_y));
            fam_bytes(&f, g_y, 256);
        }
        if (flyref_hard_sigmoid_prepare(si, 1.0f / 256.0f, -128, FLYNET_ROUNDING_DOUBLE, &rg) == FLYREF_OK) {
            flyref_hard_sigmoid_params p;
            p.input_zero_point = zero_point();
            p.reluish_multiplier_int16 = rg.reluish_multiplier_int16;
            p.reluish_exponent = rg.reluish_exponent;
            p.output_multiplier = rg.output_multiplier;
            p.output_shift = rg.output_shift;
            p.output_offset = -128;
            p.activation.min = -128;
            p.activation.max = 127;
            p.rounding = rounding();
            fam_status(&f, flyref_hard_sigmoid_s8(&p, 256, g_x, g_y));
            fam_bytes(&f, g_y, 256);
        }
        {
            flyref_requantize_params p;
            p.input_offset = -zero_point();
            p.output_offset = zero_point();
            p.multiplier = rmult();
            p.shift = rint_in(-8, 2);
            p.activation.min = -128;
            p.activation.max = 127;
            p.rounding = rounding();
            fam_status(&f, flyref_requantize_s8(&p, 256, g_x, g_y));
            fam_bytes(&f, g_y, 256);
        }
    }
    return report(out, "activation_s8", &f);
}

static int data_movement(suite_puts_fn out)
{
    family f;
    int32_t it;
    fam_init(&f);
    for (it = 0; it < 200; ++it) {
        const int32_t outer = rint_in(1, 20), c1 = rint_in(1, 6), c2 = rint_in(1, 6), cout = rint_in(1, 12);
        const int8_t *ins[2];
        int32_t ch[2], o;
        flyref_dims in, od;
        ins[0] = g_x;
        ins[1] = g_x2;
        ch[0] = c1;
        ch[1] = c2;
        fill_s8(g_x, outer * c1, -128, 127);
        fill_s8(g_x2, outer * c2, -128, 127);
        fam_status(&f, flyref_concat_s8(2, ins, ch, outer, g_y));
        fam_bytes(&f, g_y, outer * (c1 + c2));
        in.n = 1; in.h = 1; in.w = outer; in.c = c1 + c2;
        od = in;
        od.c = cout;
        for (o = 0; o < cout; ++o) g_idx[o] = rint_in(0, c1 + c2 - 1);
        fam_status(&f, flyref_channel_gather_s8(&in, g_y, g_idx, &od, g_y2));
        fam_bytes(&f, g_y2, outer * cout);
    }
    return report(out, "data_movement_s8", &f);
}

static int vaeca(suite_puts_fn out)
{
    family f;
    int32_t it;
    fam_init(&f);
    for (it = 0; it < 200; ++it) {
        const int32_t heads = rint_in(1, 4), e = rint_in(1, 10), k = 2 * rint_in(0, 2) + 1;
        flyref_vaeca_descriptor_params p;
        flyref_eca_conv1d_params c;
        flyref_dims z, d, fd;
        z.n = rint_in(1, 2);
        z.h = rint_in(1, 8);
        z.w = rint_in(1, 8);
        z.c = e * heads;
        fill_s8(g_x, count(&z), -128, 127);
        p.input_offset = -zero_point();
        p.mean_multiplier = rmult();
        p.mean_shift = rint_in(-14, -6);
        p.mean_offset = rint_in(-10, 10);
        p.std_multiplier = rmult();
        p.std_shift = rint_in(-18, -8);
        p.std_offset = -128;
        p.eps_q = rnd() % 100000u;
        p.sqrt_frac_bits = rint_in(0, 8);
        p.rounding = rounding();
        fam_status(&f, flyref_vaeca_descriptor_s8(&p, &z, g_x, g_y, g_y2));
        fam_bytes(&f, g_y, z.n * z.c);
        fam_bytes(&f, g_y2, z.n * z.c);
        d.n = z.n; d.h = 1; d.w = 1; d.c = z.c;
        fd.n = 1; fd.h = 1; fd.w = k; fd.c = 2;
        fill_s8(g_w, 2 * k, -127, 127);
        c.heads = heads;
        c.mean_offset = -p.mean_offset;
        c.std_offset = 128;
        c.mean_multiplier = rmult();
        c.mean_shift = rint_in(-10, 0);
        c.std_multiplier = rmult();
        c.std_shift = rint_in(-10, 0);
        c.sum_shift = rint_in(0, 8);
        c.output_offset = zero_point();
        c.activation.min = -128;
        c.activation.max = 127;
        c.rounding = rounding();
        fam_status(&f, flyref_eca_conv1d_s8(&c, &d, g_y, g_y2, &fd, g_w, g_x2));
        fam_bytes(&f, g_x2, z.n * z.c);
    }
    return report(out, "vaeca_s8", &f);
}

/* ------------------------------------------------------------------ target fast paths */

/*
 * The elementwise kernels with Cortex-M target paths (DSP, MVE; see flyref_target_paths.c), on
 * shapes the model-sized loops see: long rows, vector tails (counts not a multiple of 4 / 16),
 * channel counts beyond the kernels' blocks, gates in either operand order, random zero points,
 * clamps, multipliers (small ones too), shifts (a few positive, which keep the portable loops)
 * and both roundings. The host runs the portable loops, so an identical transcript on a board
 * proves its fast paths byte-identical. Each family draws from its own seed, so the families
 * before it keep their sequences.
 */
static int32_t any_mult(void)
{
    switch (rnd() % 8u) {
    case 0: return (int32_t)(rnd() % 1000u);
    case 1: return 0x7FFFFFFF;
    default: return rmult();
    }
}

static void any_clamp(flyref_activation *a)
{
    if (rnd() % 2u) {
        a->min = -128;
        a->max = 127;
    } else {
        a->min = rint_in(-128, 20);
        a->max = rint_in(a->min, 127);
    }
}

/* A map [n, h, w, c] of at most `cap` elements, c up to cmax. */
static void map_dims(flyref_dims *o, int32_t cmax, int32_t cap)
{
    o->n = rint_in(1, 2);
    o->c = rint_in(1, cmax);
    o->h = rint_in(1, 16);
    o->w = rint_in(1, 16);
    while (count(o) > cap) {
        if (o->h > 1) o->h = (o->h + 1) / 2;
        else if (o->w > 1) o->w = (o->w + 1) / 2;
        else if (o->n > 1) o->n = 1;
        else o->c = (o->c + 1) / 2;
    }
}

static int elementwise_fast(suite_puts_fn out)
{
    family f;
    int32_t it;
    const uint32_t saved = g_state;
    g_state = 0x9E3779B9u;
    fam_init(&f);
    for (it = 0; it < 400; ++it) {
        flyref_dims o, a, b;
        const int32_t kind = (int32_t)(rnd() % 3u); /* 0: gate, 1: same shape, 2: any broadcast */
        map_dims(&o, rint_in(0, 3) == 0 ? 300 : 40, MAXB);
        a = o;
        b = o;
        if (kind == 0) {
            b.h = 1;
            b.w = 1;
            if (rnd() % 4u == 0) b.n = 1;
        } else if (kind == 2) {
            if (rnd() & 1u) a.h = 1;
            if (rnd() & 1u) a.w = 1;
            if (rnd() & 1u) b.h = 1;
            if (rnd() & 1u) b.c = 1;
        }
        if (rnd() & 1u) {
            const flyref_dims t = a;
            a = b;
            b = t;
        }
        fill_s8(g_x, count(&a), -128, 127);
        fill_s8(g_x2, count(&b), -128, 127);
        if (it % 2 == 0) {
            flyref_mul_params p;
            p.input1_offset = -zero_point();
            p.input2_offset = -zero_point();
            p.output_multiplier = any_mult();
            p.output_shift = rnd() % 16u == 0 ? rint_in(1, 3) : rint_in(-31, 0);
            p.output_offset = zero_point();
            any_clamp(&p.activation);
            p.rounding = rounding();
            fam_status(&f, flyref_mul_s8(&p, &a, g_x, &b, g_x2, &o, g_y));
        } else {
            flyref_add_params p;
            flynet_add_params r;
            const float s1 = (float)(int32_t)(rnd() % 1000u + 1u) / 4096.0f, s2 = (float)(int32_t)(rnd() % 1000u + 1u) / 4096.0f;
            const float so = (s1 + s2) * (float)(int32_t)(rnd() % 8u + 1u) / 4.0f;
            const int32_t rd = rounding();
            if (flyref_add_prepare(s1, s2, so, rd, &r) != FLYREF_OK) continue;
            p.input1_offset = -zero_point();
            p.input2_offset = -zero_point();
            p.left_shift = r.left_shift;
            p.input1_multiplier = r.input1_multiplier;
            p.input1_shift = r.input1_shift;
            p.input2_multiplier = r.input2_multiplier;
            p.input2_shift = r.input2_shift;
            p.output_multiplier = r.output_multiplier;
            p.output_shift = r.output_shift;
            p.output_offset = zero_point();
            any_clamp(&p.activation);
            p.rounding = rd;
            fam_status(&f, flyref_add_s8(&p, &a, g_x, &b, g_x2, &o, g_y));
        }
        fam_bytes(&f, g_y, count(&o));
    }
    for (it = 0; it < 100; ++it) {
        flyref_dims o, in;
        const int32_t g = rint_in(1, 5);
        map_dims(&o, 100, MAXB / g);
        in = o;
        in.c = o.c * g;
        fill_s8(g_x, count(&in), -128, 127);
        fam_status(&f, flyref_max_group_s8(g, &in, g_x, &o, g_y));
        fam_bytes(&f, g_y, count(&o));
    }
    g_state = saved;
    return report(out, "elementwise_fast_s8", &f);
}

static int activation_fast(suite_puts_fn out)
{
    family f;
    int32_t it;
    const uint32_t saved = g_state;
    g_state = 0x2545F491u;
    fam_init(&f);
    for (it = 0; it < 150; ++it) {
        const float si = (float)(int32_t)(rnd() % 4000u + 10u) / 8192.0f;
        const float so = (float)(int32_t)(rnd() % 2000u + 10u) / 8192.0f;
        const int32_t size = rnd() % 2u ? rint_in(1, 100) : rint_in(100, MAXB);
        int32_t rows, len;
        flynet_softmax_params rs;
        flynet_logistic_params rl;
        flynet_hard_swish_params rh;
        fill_s8(g_x, size, -128, 127);
        if (flyref_logistic_prepare(si, &rl) == FLYREF_OK) {
            flyref_logistic_params p;
            p.input_zero_point = zero_point();
            p.input_multiplier = rl.input_multiplier;
            p.input_left_shift = rl.input_left_shift;
            p.input_range_radius = rl.input_range_radius;
            p.rounding = rounding();
            fam_status(&f, flyref_logistic_s8(&p, size, g_x, g_y));
            fam_bytes(&f, g_y, size);
        }
        if (flyref_hard_swish_prepare(si, so, &rh) == FLYREF_OK) {
            flyref_hard_swish_params p;
            p.input_zero_point = zero_point();
            p.output_zero_point = zero_point();
            p.output_multiplier_int16 = rh.output_multiplier_int16;
            p.output_exponent = rh.output_exponent;
            p.reluish_multiplier_int16 = rh.reluish_multiplier_int16;
            p.reluish_exponent = rh.reluish_exponent;
            fam_status(&f, flyref_hard_swish_s8(&p, size, g_x, g_y));
            fam_bytes(&f, g_y, size);
        }
        /* Softmax rows: the head softmax (2 .. 5) most often, and longer rows. */
        len = rnd() % 2u ? rint_in(1, 5) : rint_in(6, 300);
        rows = rint_in(1, MAXB / len);
        if (flyref_softmax_prepare((float)(int32_t)(rnd() % 4u + 1u), si, FLYNET_ROUNDING_DOUBLE, &rs) == FLYREF_OK) {
            flyref_softmax_params p;
            p.input_multiplier = rs.input_multiplier;
            p.input_left_shift = rs.input_left_shift;
            p.diff_min = rs.diff_min;
            const int32_t lo = rint_in(-128, 0), hi = rint_in(0, 127);
            fill_s8(g_x2, rows * len, lo, hi);
            fam_status(&f, flyref_softmax_s8(&p, rows, len, g_x2, g_y));
            fam_bytes(&f, g_y, rows * len);
        }
    }
    g_state = saved;
    return report(out, "activation_fast_s8", &f);
}

static int vaeca_fast(suite_puts_fn out)
{
    family f;
    int32_t it;
    const uint32_t saved = g_state;
    g_state = 0x61C88647u;
    fam_init(&f);
    for (it = 0; it < 150; ++it) {
        const int32_t heads = rint_in(1, 4), k = 2 * rint_in(0, 4) + 1;
        int32_t lo, hi;
        flyref_vaeca_descriptor_params p;
        flyref_eca_conv1d_params c;
        flyref_dims z, d, fd;
        map_dims(&z, 60, MAXB);
        z.c = (z.c + heads - 1) / heads * heads;
        if (count(&z) > MAXB) z.h = 1;
        if (count(&z) > MAXB) z.w = 1;
        /* Narrow value ranges too: large maps of small spread. (The bounds are drawn in two
         * statements: the order of a call's arguments is unspecified.) */
        lo = rint_in(-128, 0);
        hi = rint_in(0, 127);
        fill_s8(g_x, count(&z), lo, hi);
        p.input_offset = -zero_point();
        p.mean_multiplier = any_mult();
        p.mean_shift = rint_in(-20, -4);
        p.mean_offset = rint_in(-20, 20);
        p.std_multiplier = any_mult();
        p.std_shift = rint_in(-24, -6);
        p.std_offset = -128;
        p.eps_q = rnd() % 4u ? rnd() % 100000u : (uint64_t)rnd() << 8;
        p.sqrt_frac_bits = rint_in(0, 8);
        p.rounding = rounding();
        fam_status(&f, flyref_vaeca_descriptor_s8(&p, &z, g_x, g_y, g_y2));
        fam_bytes(&f, g_y, z.n * z.c);
        fam_bytes(&f, g_y2, z.n * z.c);
        d.n = z.n;
        d.h = 1;
        d.w = 1;
        d.c = rnd() % 2u ? z.c : rint_in(1, 250) * heads;
        fd.n = 1;
        fd.h = 1;
        fd.w = k;
        fd.c = 2;
        fill_s8(g_y, d.n * d.c, -128, 127);
        fill_s8(g_y2, d.n * d.c, -128, 127);
        fill_s8(g_w, 2 * k, -127, 127);
        c.heads = heads;
        c.mean_offset = -zero_point();
        c.std_offset = -zero_point();
        c.mean_multiplier = any_mult();
        c.mean_shift = rint_in(-12, 8);
        c.std_multiplier = any_mult();
        c.std_shift = rint_in(-12, 8);
        c.sum_shift = rint_in(0, 10);
        c.output_offset = zero_point();
        any_clamp(&c.activation);
        c.rounding = rounding();
        fam_status(&f, flyref_eca_conv1d_s8(&c, &d, g_y, g_y2, &fd, g_w, g_x2));
        fam_bytes(&f, g_x2, d.n * d.c);
    }
    g_state = saved;
    return report(out, "vaeca_fast_s8", &f);
}

/* VA-ECA descriptors the other families do not reach: positive mean shifts (a left shift before
 * the mean's requantization) and maps of wide spread with many fraction bits, whose radicands pass
 * 2^53 (where a double no longer holds them exactly). */
static int vaeca_edges(suite_puts_fn out)
{
    family f;
    int32_t it;
    const uint32_t saved = g_state;
    g_state = 0x2545F491u;
    fam_init(&f);
    for (it = 0; it < 40; ++it) {
        flyref_vaeca_descriptor_params p;
        flyref_dims z;
        const int wide = it % 2;
        z.n = 1;
        z.c = wide ? rint_in(1, 2) : rint_in(1, 40);
        z.h = wide ? 64 : rint_in(1, 8);
        z.w = wide ? 2048 / z.c / 64 : rint_in(1, 8);
        fill_s8(g_x, count(&z), -128, 127);
        p.input_offset = -zero_point();
        p.mean_multiplier = any_mult();
        p.mean_shift = wide ? rint_in(-20, -4) : rint_in(1, 5);
        p.mean_offset = rint_in(-20, 20);
        p.std_multiplier = any_mult();
        p.std_shift = rint_in(-24, -6);
        p.std_offset = -128;
        p.eps_q = rnd() % 100000u;
        p.sqrt_frac_bits = wide ? rint_in(9, 12) : rint_in(0, 8);
        p.rounding = rounding();
        fam_status(&f, flyref_vaeca_descriptor_s8(&p, &z, g_x, g_y, g_y2));
        fam_bytes(&f, g_y, z.n * z.c);
        fam_bytes(&f, g_y2, z.n * z.c);
    }
    g_state = saved;
    return report(out, "vaeca_edges_s8", &f);
}

static int interpreter(suite_puts_fn out)
{
    /* expansion 1x1 -> depthwise 3x3 x3 heads -> max-out -> global avg pool, through the interpreter */
    static flyref_tensor t[12];
    static flyref_node nodes[4];
    static const flynet_conv2d_params pe = {1, 1, 0, 0, 1, 1, -128, 127, FLYNET_ROUNDING_DOUBLE};
    static const flynet_conv2d_params pd = {1, 1, 1, 1, 1, 1, -128, 127, FLYNET_ROUNDING_SINGLE};
    static const flynet_max_group_params pg = {3};
    static const flynet_pool2d_params pp = {4, 4, 1, 1, 0, 0, -128, 127};
    static int8_t we[6 * 4], wd[9 * 18];
    static int32_t m1[1] = {0x50000000}, s1[1] = {-7}, m2[18], s2[18];
    family f;
    flyref_graph g;
    size_t need = 0;
    int32_t it, i;
    fam_init(&f);
    for (i = 0; i < 12; ++i) {
        t[i].type = FLYNET_TYPE_INT8;
        t[i].data = 0;
        t[i].zero_point = 0;
    }
#define DIMS(k, N, H, W, C) (t[k].dims.n = N, t[k].dims.h = H, t[k].dims.w = W, t[k].dims.c = C)
    DIMS(0, 1, 4, 4, 4); t[0].arena_offset = 0; t[0].zero_point = -3;
    DIMS(1, 6, 1, 1, 4); t[1].data = we;
    DIMS(2, 1, 1, 1, 1); t[2].type = FLYNET_TYPE_INT32; t[2].data = m1;
    DIMS(3, 1, 1, 1, 1); t[3].type = FLYNET_TYPE_INT32; t[3].data = s1;
    DIMS(4, 1, 4, 4, 6); t[4].arena_offset = 64; t[4].zero_point = -128;
    DIMS(5, 1, 3, 3, 18); t[5].data = wd;
    DIMS(6, 1, 1, 1, 18); t[6].type = FLYNET_TYPE_INT32; t[6].data = m2;
    DIMS(7, 1, 1, 1, 18); t[7].type = FLYNET_TYPE_INT32; t[7].data = s2;
    DIMS(8, 1, 4, 4, 18); t[8].arena_offset = 160; t[8].zero_point = 5;
    DIMS(9, 1, 4, 4, 6); t[9].arena_offset = 448; t[9].zero_point = 5;
    DIMS(10, 1, 1, 1, 6); t[10].arena_offset = 544; t[10].zero_point = 5;
#undef DIMS
    for (i = 0; i < 4; ++i) {
        nodes[i].num_outputs = 1;
        nodes[i].scratch_offset = 0;
        nodes[i].scratch_size = 0;
    }
    nodes[0].op = FLYNET_OP_CONV2D; nodes[0].num_inputs = 5; nodes[0].params = &pe;
    nodes[0].inputs[0] = 0; nodes[0].inputs[1] = 1; nodes[0].inputs[2] = -1; nodes[0].inputs[3] = 2; nodes[0].inputs[4] = 3;
    nodes[0].outputs[0] = 4;
    nodes[1].op = FLYNET_OP_DEPTHWISE_CONV2D; nodes[1].num_inputs = 5; nodes[1].params = &pd;
    nodes[1].inputs[0] = 4; nodes[1].inputs[1] = 5; nodes[1].inputs[2] = -1; nodes[1].inputs[3] = 6; nodes[1].inputs[4] = 7;
    nodes[1].outputs[0] = 8;
    nodes[2].op = FLYNET_OP_MAX_GROUP; nodes[2].num_inputs = 1; nodes[2].params = &pg;
    nodes[2].inputs[0] = 8; nodes[2].outputs[0] = 9;
    nodes[3].op = FLYNET_OP_AVG_POOL2D; nodes[3].num_inputs = 1; nodes[3].params = &pp;
    nodes[3].inputs[0] = 9; nodes[3].outputs[0] = 10;
    g.tensors = t;
    g.num_tensors = 11;
    g.nodes = nodes;
    g.num_nodes = 4;
    for (it = 0; it < 50; ++it) {
        fill_s8(we, 24, -127, 127);
        fill_s8(wd, 162, -127, 127);
        for (i = 0; i < 18; ++i) {
            m2[i] = rmult();
            s2[i] = rint_in(-9, -6);
        }
        fill_s8((int8_t *)g_arena, 64, -128, 127);
        fam_status(&f, flyref_plan_scratch(&g, &need));
        fam_status(&f, flyref_graph_prepare(&g, sizeof g_arena));
        fam_status(&f, flyref_graph_invoke(&g, g_arena, sizeof g_arena));
        fam_bytes(&f, g_arena + 64, 486);
    }
    return report(out, "interpreter", &f);
}

/* ------------------------------------------------------------------ CMSIS-NN vectors on target */

static int8_t g_out[16384];

static flyref_conv_params cmsis_conv_params(const fw_cmsis_case *k)
{
    flyref_conv_params p;
    p.input_offset = k->cfg[K_INPUT_OFFSET];
    p.output_offset = k->cfg[K_OUTPUT_OFFSET];
    p.stride_h = k->cfg[K_STRIDE_H];
    p.stride_w = k->cfg[K_STRIDE_W];
    p.pad_h = k->cfg[K_PAD_H];
    p.pad_w = k->cfg[K_PAD_W];
    p.dilation_h = k->cfg[K_DILATION_H];
    p.dilation_w = k->cfg[K_DILATION_W];
    p.activation.min = k->cfg[K_ACTIVATION_MIN];
    p.activation.max = k->cfg[K_ACTIVATION_MAX];
    p.rounding = FLYNET_ROUNDING_DOUBLE;
    return p;
}

static flyref_status cmsis_run(const fw_cmsis_case *k)
{
    const int32_t *c = k->cfg;
    flyref_dims in, fd, od;
    flyref_quant_params q;
    q.multiplier = k->multiplier;
    q.shift = k->shift;
    q.count = k->n_multiplier;
    in.n = c[K_BATCHES]; in.h = c[K_INPUT_H]; in.w = c[K_INPUT_W]; in.c = c[K_INPUT_C];
    od.n = c[K_BATCHES]; od.h = c[K_OUTPUT_H]; od.w = c[K_OUTPUT_W]; od.c = c[K_OUTPUT_C];
    if (k->n_expected > (int32_t)sizeof g_out) return FLYREF_ARENA_TOO_SMALL;
    switch (k->op) {
    case FW_OP_CONV: {
        const flyref_conv_params p = cmsis_conv_params(k);
        flyref_context ctx;
        fd.n = c[K_OUTPUT_C]; fd.h = c[K_KERNEL_H]; fd.w = c[K_KERNEL_W]; fd.c = c[K_KERNEL_C];
        ctx.buf = g_scratch;
        ctx.size = (int32_t)sizeof g_scratch;
        return flyref_conv2d_wrapper_s8(&ctx, &p, &q, &in, k->input, &fd, k->weights, k->bias, &od, g_out);
    }
    case FW_OP_DEPTHWISE: {
        const flyref_conv_params p = cmsis_conv_params(k);
        fd.n = 1; fd.h = c[K_KERNEL_H]; fd.w = c[K_KERNEL_W]; fd.c = c[K_OUTPUT_C];
        return flyref_depthwise_conv2d_s8(&p, c[K_CH_MULT], &q, &in, k->input, &fd, k->weights, k->bias, &od, g_out);
    }
    case FW_OP_FC: {
        flyref_fc_params p;
        p.input_offset = c[K_INPUT_OFFSET];
        p.filter_offset = c[K_FILTER_OFFSET];
        p.output_offset = c[K_OUTPUT_OFFSET];
        p.activation.min = c[K_ACTIVATION_MIN];
        p.activation.max = c[K_ACTIVATION_MAX];
        p.rounding = FLYNET_ROUNDING_DOUBLE;
        fd.n = c[K_OUTPUT_C]; fd.h = 1; fd.w = 1; fd.c = c[K_ACCUMULATION_DEPTH];
        od.h = 1; od.w = 1;
        return flyref_fully_connected_s8(&p, &q, &in, k->input, &fd, k->weights, k->bias, &od, g_out);
    }
    case FW_OP_ADD: {
        flyref_add_params p;
        flyref_dims d;
        d.n = 1; d.h = 1; d.w = 1; d.c = c[K_SIZE];
        p.input1_offset = c[K_INPUT1_OFFSET];
        p.input2_offset = c[K_INPUT2_OFFSET];
        p.left_shift = c[K_LEFT_SHIFT];
        p.input1_multiplier = c[K_INPUT1_MULTIPLIER];
        p.input1_shift = c[K_INPUT1_SHIFT];
        p.input2_multiplier = c[K_INPUT2_MULTIPLIER];
        p.input2_shift = c[K_INPUT2_SHIFT];
        p.output_multiplier = c[K_OUTPUT_MULTIPLIER];
        p.output_shift = c[K_OUTPUT_SHIFT];
        p.output_offset = c[K_OUTPUT_OFFSET];
        p.activation.min = c[K_ACTIVATION_MIN];
        p.activation.max = c[K_ACTIVATION_MAX];
        p.rounding = FLYNET_ROUNDING_DOUBLE;
        return flyref_add_s8(&p, &d, k->input, &d, k->input2, &d, g_out);
    }
    case FW_OP_MUL: {
        flyref_mul_params p;
        flyref_dims d;
        d.n = 1; d.h = 1; d.w = 1; d.c = c[K_SIZE];
        p.input1_offset = c[K_INPUT1_OFFSET];
        p.input2_offset = c[K_INPUT2_OFFSET];
        p.output_multiplier = c[K_OUTPUT_MULTIPLIER];
        p.output_shift = c[K_OUTPUT_SHIFT];
        p.output_offset = c[K_OUTPUT_OFFSET];
        p.activation.min = c[K_ACTIVATION_MIN];
        p.activation.max = c[K_ACTIVATION_MAX];
        p.rounding = FLYNET_ROUNDING_DOUBLE;
        return flyref_mul_s8(&p, &d, k->input, &d, k->input2, &d, g_out);
    }
    case FW_OP_AVGPOOL:
    case FW_OP_MAXPOOL: {
        flyref_pool_params p;
        p.filter_h = c[K_KERNEL_H];
        p.filter_w = c[K_KERNEL_W];
        p.stride_h = c[K_STRIDE_H];
        p.stride_w = c[K_STRIDE_W];
        p.pad_h = c[K_PAD_H];
        p.pad_w = c[K_PAD_W];
        p.activation.min = c[K_ACTIVATION_MIN];
        p.activation.max = c[K_ACTIVATION_MAX];
        return k->op == FW_OP_AVGPOOL ? flyref_avg_pool_s8(&p, &in, k->input, &od, g_out)
                                      : flyref_max_pool_s8(&p, &in, k->input, &od, g_out);
    }
    case FW_OP_SOFTMAX: {
        flyref_softmax_params p;
        p.input_multiplier = c[K_INPUT_MULTIPLIER];
        p.input_left_shift = c[K_INPUT_LEFT_SHIFT];
        p.diff_min = c[K_DIFF_MIN];
        return flyref_softmax_s8(&p, c[K_NUM_ROWS], c[K_ROW_SIZE], k->input, g_out);
    }
    default:
        return FLYREF_NO_IMPL;
    }
}

static int cmsis_vectors(suite_puts_fn out)
{
    static const char *const names[9] = {"", "conv", "depthwise", "fully_connected", "add", "mul",
                                         "avgpool", "maxpool", "softmax"};
    int32_t op, i, j, fails = 0;
    if (fw_cmsis_case_count == 0) {
        out("cmsis_nn_vectors absent (shared/data/cmsis-nn-vectors not found at configure time)\n");
        return 0;
    }
    for (op = FW_OP_CONV; op <= FW_OP_SOFTMAX; ++op) {
        family f;
        int32_t exact = 0;
        char line[128];
        char *p = line;
        fam_init(&f);
        for (i = 0; i < fw_cmsis_case_count; ++i) {
            const fw_cmsis_case *k = &fw_cmsis_cases[i];
            int ok = 1;
            if (k->op != op) continue;
            fam_status(&f, cmsis_run(k));
            for (j = 0; j < k->n_expected; ++j) ok &= g_out[j] == k->expected[j];
            fam_bytes(&f, g_out, k->n_expected);
            exact += ok;
            if (!ok) {
                f.fails++;
                p = put_str(line, "cmsis_nn_vectors MISMATCH ");
                p = put_str(p, k->name);
                *p++ = '\n';
                *p = 0;
                out(line);
            }
        }
        p = put_str(line, "cmsis_nn_vectors ");
        p = put_str(p, names[op]);
        p = put_str(p, " exact=");
        p = put_dec(p, exact);
        p = put_str(p, "/");
        p = put_dec(p, f.cases);
        p = put_str(p, " hash=");
        p = put_hex(p, f.hash);
        *p++ = '\n';
        *p = 0;
        out(line);
        fails += f.fails;
    }
    return fails;
}

int flyref_kernel_suite_run(suite_puts_fn out)
{
    int fails = 0;
    g_state = 0x12345678u;
    out("flyref kernel suite v2\n");
    fails += fixed_point(out);
    fails += param_derivation(out);
    fails += conv(out);
    fails += depthwise(out);
    fails += depthwise_paths(out);
    fails += fully_connected(out);
    fails += conv_fc_fast(out);
    fails += elementwise(out);
    fails += pooling(out);
    fails += activations(out);
    fails += data_movement(out);
    fails += vaeca(out);
    fails += interpreter(out);
    fails += elementwise_fast(out);
    fails += activation_fast(out);
    fails += vaeca_fast(out);
    fails += cmsis_vectors(out);
    fails += vaeca_edges(out);
    out(fails == 0 ? "flyref kernel suite: all OK\n" : "flyref kernel suite: FAILURES\n");
    return fails;
}
