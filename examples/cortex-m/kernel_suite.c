/*
 * Deterministic flyref kernel suite (see kernel_suite.h). C99, no stdio, no malloc: all buffers
 * are static so the same file runs on a Cortex-M with a few hundred KB of RAM.
 */
#include "kernel_suite.h"

#include <string.h>

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

static void fam_bytes(family *f, const void *p, int32_t n);

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

/* ------------------------------------------------------------------ buffers, shapes, draws */

#define MAXB 4096
/* The output buffers g_y and g_y2 carry GUARD bytes past MAXB: each case starts with both filled
 * with GUARD_BYTE, and fam_bytes() fails the case when a kernel wrote past the n bytes it was
 * given (a fast path's off-by-one store lands there and changes no hash). */
#define GUARD 16
#define GUARD_BYTE 0xA5
static int8_t g_x[MAXB], g_x2[MAXB], g_w[MAXB], g_y[MAXB + GUARD], g_y2[MAXB + GUARD], g_scratch[MAXB];

static void fam_bytes(family *f, const void *p, int32_t n)
{
    const uint8_t *b = (const uint8_t *)p;
    int32_t i;
    for (i = 0; i < n; ++i) {
        f->hash ^= b[i];
        f->hash *= 16777619u;
    }
    if (p == (const void *)g_y || p == (const void *)g_y2) {
        for (i = n; i < n + GUARD && i < MAXB + GUARD; ++i) {
            if (b[i] != (uint8_t)GUARD_BYTE) {
                f->fails++;
                break;
            }
        }
    }
}
static int32_t g_bias[256], g_mult[256], g_shift[256], g_idx[256];
static uint8_t g_arena[8192];

/*
 * No call below draws more than once among its arguments, nor does an initializer list: the order
 * in which they are evaluated is unspecified, and the host and the boards must draw alike.
 */

static int32_t rounding(void) { return (rnd() & 1u) ? FLYNET_ROUNDING_SINGLE : FLYNET_ROUNDING_DOUBLE; }

static flyref_dims dims(int32_t n, int32_t h, int32_t w, int32_t c)
{
    flyref_dims d;
    d.n = n;
    d.h = h;
    d.w = w;
    d.c = c;
    return d;
}

static int32_t count(const flyref_dims *d) { return d->n * d->h * d->w * d->c; }

/* A map of 1..n_hi images of 1..hw_hi x 1..hw_hi pixels with c channels. */
static void draw_map(flyref_dims *d, int32_t n_hi, int32_t hw_hi, int32_t c)
{
    d->n = rint_in(1, n_hi);
    d->h = rint_in(1, hw_hi);
    d->w = rint_in(1, hw_hi);
    d->c = c;
}

static flyref_activation full_range(void)
{
    flyref_activation a;
    a.min = -128;
    a.max = 127;
    return a;
}

static flyref_quant_params quant_of(const int32_t *multiplier, const int32_t *shift, int32_t n)
{
    flyref_quant_params q;
    q.multiplier = multiplier;
    q.shift = shift;
    q.count = n;
    return q;
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

/* A multiplier: mostly in [2^30, 2^31), sometimes small or 2^31-1. */
static int32_t any_mult(void)
{
    switch (rnd() % 8u) {
    case 0: return (int32_t)(rnd() % 1000u);
    case 1: return 0x7FFFFFFF;
    default: return rmult();
    }
}

/* A multiplier (rmult, or with `any` any_mult) and its shift in [lo, hi]. */
static void draw_requant(int32_t *multiplier, int32_t *shift, int32_t any, int32_t lo, int32_t hi)
{
    *multiplier = any ? any_mult() : rmult();
    *shift = rint_in(lo, hi);
}

/* The full range half of the time, else a random window. */
static void any_clamp(flyref_activation *a)
{
    if (rnd() % 2u) {
        *a = full_range();
    } else {
        a->min = rint_in(-128, 20);
        a->max = rint_in(a->min, 127);
    }
}

/* The random zero points, strides (1..2 down, 1..stride_w_hi across) and, along an axis where
 * `spread_h` / `spread_w` is set, dilation 1..2 and padding 0..pad_hi (1 and 0 elsewhere). */
static void conv_geometry(flyref_conv_params *p, int32_t stride_w_hi, int32_t pad_hi, int32_t spread_h, int32_t spread_w)
{
    p->input_offset = -zero_point();
    p->output_offset = zero_point();
    p->stride_h = rint_in(1, 2);
    p->stride_w = rint_in(1, stride_w_hi);
    p->dilation_h = spread_h ? rint_in(1, 2) : 1;
    p->dilation_w = spread_w ? rint_in(1, 2) : 1;
    p->pad_h = spread_h ? rint_in(0, pad_hi) : 0;
    p->pad_w = spread_w ? rint_in(0, pad_hi) : 0;
}

/* The output map of a kh x kw convolution with p's geometry, c channels, each side at least 1;
 * with `jitter`, each side one above or below the natural size as drawn. */
static flyref_dims conv_out(const flyref_conv_params *p, const flyref_dims *in, int32_t kh, int32_t kw, int32_t c,
                            int32_t jitter)
{
    flyref_dims od;
    od.n = in->n;
    od.h = (in->h + 2 * p->pad_h - ((kh - 1) * p->dilation_h + 1)) / p->stride_h + 1;
    if (jitter) od.h += rint_in(-1, 1);
    od.w = (in->w + 2 * p->pad_w - ((kw - 1) * p->dilation_w + 1)) / p->stride_w + 1;
    if (jitter) od.w += rint_in(-1, 1);
    if (od.h < 1) od.h = 1;
    if (od.w < 1) od.w = 1;
    od.c = c;
    return od;
}

/* Random zero points; a weight zero point in one case of `odds` (symmetric weights otherwise). */
static void fc_offsets(flyref_fc_params *p, uint32_t odds)
{
    p->input_offset = -zero_point();
    p->filter_offset = (rnd() % odds == 0) ? rint_in(-127, 128) : 0;
    p->output_offset = zero_point();
}

/* The add kernel's parameters: the constants prepared in r, random zero points, the full range. */
static flyref_add_params add_params(const flynet_add_params *r, int32_t rd)
{
    const int32_t in1 = -zero_point(), in2 = -zero_point(), out = zero_point();
    const flyref_add_params p = {in1, in2, r->left_shift, r->input1_multiplier, r->input1_shift, r->input2_multiplier,
                                 r->input2_shift, r->output_multiplier, r->output_shift, out, {-128, 127}, rd};
    return p;
}

/* ------------------------------------------------------------------ families */

/* One case of a family: draws its shapes and constants, runs the kernel, hashes status and output. */
typedef void (*case_fn)(family *f, int32_t it);

/* A family: its transcript name, its number of cases and, when it draws from a sequence of its
 * own, the seed (0: it continues the global sequence). */
typedef struct suite_family {
    const char *name;
    int32_t cases;
    uint32_t seed;
    case_fn one;
} suite_family;

/*
 * Runs a family's cases and prints its line. A family with a seed draws from a sequence of its
 * own and the global one resumes after it, so that the families before it keep their sequences
 * (and hashes) when it is added.
 */
static int run_family(suite_puts_fn out, const suite_family *fam)
{
    family f;
    int32_t it;
    const uint32_t saved = g_state;
    if (fam->seed != 0u) g_state = fam->seed;
    fam_init(&f);
    for (it = 0; it < fam->cases; ++it) {
        memset(g_y, GUARD_BYTE, sizeof g_y);
        memset(g_y2, GUARD_BYTE, sizeof g_y2);
        fam->one(&f, it);
    }
    if (fam->seed != 0u) g_state = saved;
    return report(out, fam->name, &f);
}

static void fixed_point(family *f, int32_t it)
{
    const int32_t x = (int32_t)rnd(), m = (int32_t)(rnd() >> 1), s = rint_in(-31, 30);
    uint64_t v;
    (void)it;
    fam_i32(f, flyref_srdhm(x, (int32_t)rnd()));
    fam_i32(f, flyref_rdbpot(x, rint_in(0, 31)));
    fam_i32(f, flyref_requantize_double(x, m, s));
    fam_i32(f, flyref_requantize_single(x, m, s));
    v = rnd();
    v = v << 32 | rnd();
    fam_i32(f, (int32_t)flyref_isqrt_u64(v));
    f->cases++;
}
static const suite_family k_fixed_point = {"fixed_point", 20000, 0u, fixed_point};

/* Soft-float (target) and SSE (host) must derive the same integers from the same scales. */
static void param_derivation(family *f, int32_t it)
{
    const float s1 = (float)(int32_t)(rnd() % 1000000u + 1u) / 16777216.0f;
    const float s2 = (float)(int32_t)(rnd() % 1000000u + 1u) / 16777216.0f;
    const float s3 = (float)(int32_t)(rnd() % 1000000u + 1u) / 8388608.0f;
    int32_t m = 0, s = 0, lo = 0, hi = 0;
    flynet_add_params pa;
    flynet_softmax_params ps;
    flynet_logistic_params pl;
    flynet_hard_swish_params ph;
    (void)it;
    fam_status(f, flyref_conv_multiplier(s1, s2, s3, FLYNET_ROUNDING_DOUBLE, &m, &s));
    fam_i32(f, m);
    fam_i32(f, s);
    fam_status(f, flyref_fc_multiplier(s1, s2, s3, FLYNET_ROUNDING_SINGLE, &m, &s));
    fam_i32(f, m);
    fam_i32(f, s);
    fam_status(f, flyref_activation_range(FLYNET_ACT_RELU6, s3, rint_in(-128, 127), &lo, &hi));
    fam_i32(f, lo);
    fam_i32(f, hi);
    if (flyref_add_prepare(s1, s2, s3, FLYNET_ROUNDING_DOUBLE, &pa) == FLYREF_OK) fam_bytes(f, &pa, sizeof pa);
    if (flyref_softmax_prepare(1.0f, s3, FLYNET_ROUNDING_DOUBLE, &ps) == FLYREF_OK) fam_bytes(f, &ps, sizeof ps);
    if (flyref_logistic_prepare(s3, &pl) == FLYREF_OK) fam_bytes(f, &pl, sizeof pl);
    if (flyref_hard_swish_prepare(s3, s3 * 0.75f, &ph) == FLYREF_OK) fam_bytes(f, &ph, sizeof ph);
}
static const suite_family k_param_derivation = {"param_derivation", 2000, 0u, param_derivation};

static void conv(family *f, int32_t it)
{
    const int32_t groups = rint_in(1, 3), kc = rint_in(1, 3), per = rint_in(1, 3);
    const int32_t kh = (it % 3 == 0) ? 1 : rint_in(1, 3), kw = (it % 3 == 0) ? 1 : rint_in(1, 3);
    flyref_conv_params p;
    flyref_dims in, fd, od;
    flyref_quant_params q;
    flyref_context ctx;
    draw_map(&in, 2, 7, groups * kc);
    fd = dims(groups * per, kh, kw, kc);
    conv_geometry(&p, 2, 1, kh > 1, kw > 1);
    p.activation = full_range();
    p.rounding = rounding();
    od = conv_out(&p, &in, kh, kw, fd.n, 0);
    fill_s8(g_x, count(&in), -128, 127);
    fill_s8(g_w, count(&fd), -127, 127);
    quant_arrays(fd.n, -12, 0);
    q = quant_of(g_mult, g_shift, (rnd() & 1u) ? fd.n : 1);
    ctx.buf = g_scratch;
    ctx.size = flyref_conv2d_wrapper_s8_buffer_size(&p, &in, &fd);
    fam_status(f, flyref_conv2d_wrapper_s8(&ctx, &p, &q, &in, g_x, &fd, g_w, (rnd() & 1u) ? g_bias : 0, &od, g_y));
    fam_bytes(f, g_y, count(&od));
}
static const suite_family k_conv = {"conv2d_s8", 300, 0u, conv};

static void depthwise(family *f, int32_t it)
{
    const int32_t mult = rint_in(1, 8), kh = rint_in(1, 3), kw = rint_in(1, 3);
    flyref_conv_params p;
    flyref_dims in, fd, od;
    flyref_quant_params q;
    (void)it;
    in.n = 1;
    in.h = rint_in(1, 7);
    in.w = rint_in(1, 7);
    in.c = rint_in(1, 4);
    conv_geometry(&p, 2, 1, 1, 1); /* dilation and padding even for a one-tap filter */
    p.activation.min = rint_in(-128, 0);
    p.activation.max = 127;
    p.rounding = rounding();
    od = conv_out(&p, &in, kh, kw, in.c * mult, 0);
    fd = dims(1, kh, kw, od.c);
    fill_s8(g_x, count(&in), -128, 127);
    fill_s8(g_w, count(&fd), -127, 127);
    quant_arrays(od.c, -11, 0);
    q = quant_of(g_mult, g_shift, od.c);
    fam_status(f, flyref_depthwise_conv2d_s8(&p, mult, &q, &in, g_x, &fd, g_w, g_bias, &od, g_y));
    fam_bytes(f, g_y, count(&od));
}
static const suite_family k_depthwise = {"depthwise_conv2d_s8", 300, 0u, depthwise};

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
static void depthwise_paths(family *f, int32_t it)
{
    static const int32_t ksz[][2] = {{3, 3}, {5, 5}, {3, 3}, {5, 5}, {1, 1}, {2, 2}, {3, 5}, {5, 3}, {1, 4}, {7, 7}, {4, 6}};
    const int32_t mult = rint_in(1, 5), kind = rint_in(0, 5);
    const int32_t kh = ksz[it % 11][0], kw = ksz[it % 11][1];
    int32_t mismatch = 0, n_out, i;
    flyref_conv_params p;
    flyref_dims in, fd, od;
    flyref_quant_params q;
    const int32_t *bias = g_bias;
    in.n = rint_in(1, 4) == 1 ? 2 : 1;
    in.h = rint_in(1, 9);
    in.w = rint_in(1, 9);
    in.c = rint_in(1, 4) == 1 ? rint_in(1, 3) : rint_in(4, 22);
    if (it % 50 == 7) /* one very wide row: more than the fast path's row buffer */
        in = dims(1, 2, rint_in(600, 1000), 1);
    while (in.c * mult > 64 || count(&in) > MAXB || kh * kw * in.c * mult > MAXB) {
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
    od = conv_out(&p, &in, kh, kw, in.c * mult, 1);
    n_out = count(&od);
    if (n_out > MAXB) {
        od.h = 1;
        n_out = count(&od);
        if (n_out > MAXB) od.w = MAXB / (od.n * od.c);
        n_out = count(&od);
    }
    fd = dims(1, kh, kw, od.c);
    fill_s8(g_x, count(&in), -128, 127);
    fill_s8(g_w, count(&fd), -128, 127);
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
    q = quant_of(g_mult, g_shift, rint_in(1, 5) == 1 ? 1 : od.c);
    fill_s8(g_y, n_out, 0, 0);
    fam_status(f, flyref_depthwise_conv2d_s8(&p, mult, &q, &in, g_x, &fd, g_w, bias, &od, g_y));
    naive_depthwise(&p, mult, &q, &in, g_x, &fd, g_w, bias, &od, g_y2);
    for (i = 0; i < n_out; ++i) mismatch |= g_y[i] != g_y2[i];
    if (mismatch) f->fails++;
    fam_bytes(f, g_y, n_out);
}
static const suite_family k_depthwise_paths = {"depthwise_paths", 400, 0u, depthwise_paths};

static void fully_connected(family *f, int32_t it)
{
    const int32_t n = rint_in(1, 3), k = rint_in(1, 64), co = rint_in(1, 16);
    const flyref_dims in = dims(n, 1, 1, k), fd = dims(co, 1, 1, k), od = dims(n, 1, 1, co);
    flyref_fc_params p;
    flyref_quant_params q;
    (void)it;
    fc_offsets(&p, 4u);
    p.activation.min = -128;
    p.activation.max = rint_in(0, 127);
    p.rounding = rounding();
    fill_s8(g_x, n * k, -128, 127);
    fill_s8(g_w, co * k, -127, 127);
    quant_arrays(co, -14, 0);
    q = quant_of(g_mult, g_shift, (rnd() & 1u) ? co : 1);
    fam_status(f, flyref_fully_connected_s8(&p, &q, &in, g_x, &fd, g_w, g_bias, &od, g_y));
    fam_bytes(f, g_y, n * co);
}
static const suite_family k_fully_connected = {"fully_connected_s8", 300, 0u, fully_connected};

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

/* A 1x1 (`pointwise`) or general convolution on the fast paths. */
static void conv_fast(family *f, int32_t pointwise)
{
    flyref_conv_params p;
    flyref_context ctx;
    flyref_quant_params q;
    flyref_dims in, fd, od;
    const int32_t groups = (rnd() % 5u == 0) ? rint_in(2, 3) : 1;
    const int32_t kh = pointwise ? 1 : rint_in(1, 5), kw = pointwise ? 1 : rint_in(1, 5);
    int32_t kc = cf_depth(pointwise ? 600 : 60), per = rint_in(1, 40);
    if (!pointwise && rnd() % 8u == 0) kc = rint_in(40, 48); /* patches past 1024 with 5x5 */
    while (groups * per * kc * kh * kw > (int32_t)sizeof s_cw) per = (per + 1) / 2;
    draw_map(&in, 2, 9, groups * kc);
    while (count(&in) > (int32_t)sizeof s_cx) {
        if (in.h > 1) in.h = (in.h + 1) / 2;
        else if (in.w > 1) in.w = (in.w + 1) / 2;
        else in.n = 1;
    }
    fd = dims(groups * per, kh, kw, kc);
    conv_geometry(&p, 3, 2, kh > 1, kw > 1);
    cf_act(&p.activation);
    p.rounding = rounding();
    od = conv_out(&p, &in, kh, kw, fd.n, 0);
    while (count(&od) > (int32_t)sizeof s_cy) od.h = (od.h + 1) / 2;
    fill_s8(s_cx, count(&in), -128, 127);
    fill_s8(s_cw, count(&fd), (rnd() & 1u) ? -128 : -127, 127);
    cf_quant(fd.n);
    q = quant_of(s_cm, s_cs, (rnd() % 4u) ? fd.n : 1);
    ctx.buf = g_scratch;
    ctx.size = flyref_conv2d_wrapper_s8_buffer_size(&p, &in, &fd);
    fam_status(f, flyref_conv2d_wrapper_s8(&ctx, &p, &q, &in, s_cx, &fd, s_cw, (rnd() % 5u) ? s_cb : 0, &od, s_cy));
    fam_bytes(f, s_cy, count(&od));
}

static void fc_fast(family *f)
{
    flyref_fc_params p;
    flyref_quant_params q;
    flyref_dims in, fd, od;
    const int32_t k = (rnd() % 6u == 0) ? rint_in(1000, 1100) : cf_depth(1100);
    int32_t co = rint_in(1, 21), n = rint_in(1, 3);
    while (co * k > (int32_t)sizeof s_cw) co = (co + 1) / 2;
    while (n * k > (int32_t)sizeof s_cx) n = 1;
    in = dims(n, 1, 1, k);
    fd = dims(co, 1, 1, k);
    od = dims(n, 1, 1, co);
    fc_offsets(&p, 8u);
    cf_act(&p.activation);
    p.rounding = rounding();
    fill_s8(s_cx, n * k, -128, 127);
    fill_s8(s_cw, co * k, (rnd() & 1u) ? -128 : -127, 127);
    cf_quant(co);
    q = quant_of(s_cm, s_cs, (rnd() % 4u) ? co : 1);
    fam_status(f, flyref_fully_connected_s8(&p, &q, &in, s_cx, &fd, s_cw, (rnd() % 5u) ? s_cb : 0, &od, s_cy));
    fam_bytes(f, s_cy, n * co);
}

static void conv_fc_fast(family *f, int32_t it)
{
    if (it % 3 == 2) fc_fast(f);
    else conv_fast(f, it % 3 == 0);
}
static const suite_family k_conv_fc_fast = {"conv_fc_fast", 360, 0x2545F491u, conv_fc_fast};

/* ------------------------------------------------------------------ elementwise, pooling, activations */

static void rand_dims(flyref_dims *o, flyref_dims *a, flyref_dims *b)
{
    draw_map(o, 2, 5, 0);
    o->c = rint_in(1, 6);
    *a = *o;
    *b = *o;
    if (rnd() & 1u) a->h = 1;
    if (rnd() & 1u) a->w = 1;
    if (rnd() & 1u) b->h = 1;
    if (rnd() & 1u) b->w = 1;
    if (rnd() % 4u == 0) b->c = 1;
}

static void elementwise(family *f, int32_t it)
{
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
        if (flyref_add_prepare(s1, s2, s1 + s2, rd, &r) != FLYREF_OK) return;
        p = add_params(&r, rd);
        fam_status(f, flyref_add_s8(&p, &a, g_x, &b, g_x2, &o, g_y));
        break;
    }
    case 1: {
        flyref_mul_params p;
        p.input1_offset = -zero_point();
        p.input2_offset = -zero_point();
        p.output_multiplier = rmult();
        p.output_shift = rint_in(-16, 0);
        p.output_offset = zero_point();
        p.activation = full_range();
        p.rounding = rounding();
        fam_status(f, flyref_mul_s8(&p, &a, g_x, &b, g_x2, &o, g_y));
        break;
    }
    case 2:
        fam_status(f, flyref_maximum_s8(&a, g_x, &b, g_x2, &o, g_y));
        break;
    default: {
        flyref_dims in = o;
        const int32_t g = rint_in(1, 4);
        in.c = o.c * g;
        fill_s8(g_x, count(&in), -128, 127);
        fam_status(f, flyref_max_group_s8(g, &in, g_x, &o, g_y));
        break;
    }
    }
    fam_bytes(f, g_y, count(&o));
}
static const suite_family k_elementwise = {"elementwise_s8", 600, 0u, elementwise};

static void pooling(family *f, int32_t it)
{
    flyref_pool_params p;
    flyref_dims in, od;
    draw_map(&in, 2, 8, 0);
    in.c = rint_in(1, 4);
    p.filter_h = rint_in(1, 3);
    p.filter_w = rint_in(1, 3);
    p.stride_h = rint_in(1, 3);
    p.stride_w = rint_in(1, 3);
    p.pad_h = rint_in(0, p.filter_h - 1);
    p.pad_w = rint_in(0, p.filter_w - 1);
    p.activation.min = rint_in(-128, 0);
    p.activation.max = 127;
    if (in.h + 2 * p.pad_h < p.filter_h || in.w + 2 * p.pad_w < p.filter_w) return;
    od = dims(in.n, (in.h + 2 * p.pad_h - p.filter_h) / p.stride_h + 1, (in.w + 2 * p.pad_w - p.filter_w) / p.stride_w + 1,
              in.c);
    fill_s8(g_x, count(&in), -128, 127);
    fam_status(f, (it & 1) ? flyref_avg_pool_s8(&p, &in, g_x, &od, g_y) : flyref_max_pool_s8(&p, &in, g_x, &od, g_y));
    fam_bytes(f, g_y, count(&od));
}
static const suite_family k_pooling = {"pool_s8", 400, 0u, pooling};

/* Softmax of `rows` rows of `len` codes of g_x2, drawn over the whole range or, `narrow`, over
 * a random [lo, hi] around 0. */
static void run_softmax(family *f, float beta, float si, int32_t rows, int32_t len, int32_t narrow)
{
    flynet_softmax_params r;
    flyref_softmax_params p;
    int32_t lo = -128, hi = 127;
    if (flyref_softmax_prepare(beta, si, FLYNET_ROUNDING_DOUBLE, &r) != FLYREF_OK) return;
    p.input_multiplier = r.input_multiplier;
    p.input_left_shift = r.input_left_shift;
    p.diff_min = r.diff_min;
    if (narrow) {
        lo = rint_in(-128, 0);
        hi = rint_in(0, 127);
    }
    fill_s8(g_x2, rows * len, lo, hi);
    memset(g_y, GUARD_BYTE, sizeof g_y); /* a shorter output than the case's earlier ones */
    fam_status(f, flyref_softmax_s8(&p, rows, len, g_x2, g_y));
    fam_bytes(f, g_y, rows * len);
}

/* Logistic of g_x[0, size) for input scale si, with a random zero point and rounding. */
static void run_logistic(family *f, float si, int32_t size)
{
    flynet_logistic_params r;
    flyref_logistic_params p;
    if (flyref_logistic_prepare(si, &r) != FLYREF_OK) return;
    p.input_zero_point = zero_point();
    p.input_multiplier = r.input_multiplier;
    p.input_left_shift = r.input_left_shift;
    p.input_range_radius = r.input_range_radius;
    p.rounding = rounding();
    fam_status(f, flyref_logistic_s8(&p, size, g_x, g_y));
    fam_bytes(f, g_y, size);
}

/* Hard-swish of g_x[0, size) for scales si -> so, with random zero points. */
static void run_hard_swish(family *f, float si, float so, int32_t size)
{
    flynet_hard_swish_params r;
    flyref_hard_swish_params p;
    if (flyref_hard_swish_prepare(si, so, &r) != FLYREF_OK) return;
    p.input_zero_point = zero_point();
    p.output_zero_point = zero_point();
    p.output_multiplier_int16 = r.output_multiplier_int16;
    p.output_exponent = r.output_exponent;
    p.reluish_multiplier_int16 = r.reluish_multiplier_int16;
    p.reluish_exponent = r.reluish_exponent;
    fam_status(f, flyref_hard_swish_s8(&p, size, g_x, g_y));
    fam_bytes(f, g_y, size);
}

/* The activations of every input code (g_x = -128..127). */
static void activations(family *f, int32_t it)
{
    const float si = (float)(int32_t)(rnd() % 2000u + 10u) / 8192.0f;
    const float so = (float)(int32_t)(rnd() % 2000u + 10u) / 8192.0f;
    const int32_t rows = rint_in(1, 8), len = rint_in(1, 32);
    flynet_hard_sigmoid_params rg;
    int32_t i;
    (void)it;
    for (i = 0; i < 256; ++i) g_x[i] = (int8_t)(i - 128);
    run_softmax(f, 1.0f, si, rows, len, 0);
    run_logistic(f, si, 256);
    run_hard_swish(f, si, so, 256);
    if (flyref_hard_sigmoid_prepare(si, 1.0f / 256.0f, -128, FLYNET_ROUNDING_DOUBLE, &rg) == FLYREF_OK) {
        flyref_hard_sigmoid_params p;
        p.input_zero_point = zero_point();
        p.reluish_multiplier_int16 = rg.reluish_multiplier_int16;
        p.reluish_exponent = rg.reluish_exponent;
        p.output_multiplier = rg.output_multiplier;
        p.output_shift = rg.output_shift;
        p.output_offset = -128;
        p.activation = full_range();
        p.rounding = rounding();
        fam_status(f, flyref_hard_sigmoid_s8(&p, 256, g_x, g_y));
        fam_bytes(f, g_y, 256);
    }
    {
        flyref_requantize_params p;
        p.input_offset = -zero_point();
        p.output_offset = zero_point();
        p.multiplier = rmult();
        p.shift = rint_in(-8, 2);
        p.activation = full_range();
        p.rounding = rounding();
        fam_status(f, flyref_requantize_s8(&p, 256, g_x, g_y));
        fam_bytes(f, g_y, 256);
    }
    {
        flyref_leaky_relu_params p;
        p.input_offset = -zero_point();
        p.output_offset = zero_point();
        p.identity_multiplier = rmult();
        p.identity_shift = rint_in(-8, 2);
        p.alpha_multiplier = rmult();
        p.alpha_shift = rint_in(-12, 0);
        p.activation = full_range();
        p.rounding = rounding();
        fam_status(f, flyref_leaky_relu_s8(&p, 256, g_x, g_y));
        fam_bytes(f, g_y, 256);
    }
}
static const suite_family k_activations = {"activation_s8", 300, 0u, activations};

static void data_movement(family *f, int32_t it)
{
    const int32_t outer = rint_in(1, 20), c1 = rint_in(1, 6), c2 = rint_in(1, 6), cout = rint_in(1, 12);
    const int8_t *ins[2];
    int32_t ch[2], o;
    flyref_dims in, od;
    (void)it;
    ins[0] = g_x;
    ins[1] = g_x2;
    ch[0] = c1;
    ch[1] = c2;
    fill_s8(g_x, outer * c1, -128, 127);
    fill_s8(g_x2, outer * c2, -128, 127);
    fam_status(f, flyref_concat_s8(2, ins, ch, outer, g_y));
    fam_bytes(f, g_y, outer * (c1 + c2));
    in = dims(1, 1, outer, c1 + c2);
    od = dims(1, 1, outer, cout);
    for (o = 0; o < cout; ++o) g_idx[o] = rint_in(0, c1 + c2 - 1);
    fam_status(f, flyref_channel_gather_s8(&in, g_y, g_idx, &od, g_y2));
    fam_bytes(f, g_y2, outer * cout);
}
static const suite_family k_data_movement = {"data_movement_s8", 200, 0u, data_movement};

/* The VA-ECA descriptor of z (g_x): mean and std per image and channel, into g_y and g_y2. */
static void run_descriptor(family *f, const flyref_vaeca_descriptor_params *p, const flyref_dims *z)
{
    fam_status(f, flyref_vaeca_descriptor_s8(p, z, g_x, g_y, g_y2));
    fam_bytes(f, g_y, z->n * z->c);
    fam_bytes(f, g_y2, z->n * z->c);
}

static void vaeca(family *f, int32_t it)
{
    const int32_t heads = rint_in(1, 4), e = rint_in(1, 10), k = 2 * rint_in(0, 2) + 1;
    flyref_vaeca_descriptor_params p;
    flyref_eca_conv1d_params c;
    flyref_dims z, d, fd;
    (void)it;
    draw_map(&z, 2, 8, e * heads);
    fill_s8(g_x, count(&z), -128, 127);
    p.input_offset = -zero_point();
    draw_requant(&p.mean_multiplier, &p.mean_shift, 0, -14, -6);
    p.mean_offset = rint_in(-10, 10);
    draw_requant(&p.std_multiplier, &p.std_shift, 0, -18, -8);
    p.std_offset = -128;
    p.eps_q = rnd() % 100000u;
    p.sqrt_frac_bits = rint_in(0, 8);
    p.rounding = rounding();
    run_descriptor(f, &p, &z);
    d = dims(z.n, 1, 1, z.c);
    fd = dims(1, 1, k, 2);
    fill_s8(g_w, 2 * k, -127, 127);
    c.heads = heads;
    c.mean_offset = -p.mean_offset;
    c.std_offset = 128;
    draw_requant(&c.mean_multiplier, &c.mean_shift, 0, -10, 0);
    draw_requant(&c.std_multiplier, &c.std_shift, 0, -10, 0);
    c.sum_shift = rint_in(0, 8);
    c.output_offset = zero_point();
    c.activation = full_range();
    c.rounding = rounding();
    fam_status(f, flyref_eca_conv1d_s8(&c, &d, g_y, g_y2, &fd, g_w, g_x2));
    fam_bytes(f, g_x2, z.n * z.c);
}
static const suite_family k_vaeca = {"vaeca_s8", 200, 0u, vaeca};

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

/* Mul (even cases) and add (odd) with a gate, same shapes or any broadcast. */
static void binary_fast(family *f, int32_t it)
{
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
        fam_status(f, flyref_mul_s8(&p, &a, g_x, &b, g_x2, &o, g_y));
    } else {
        flyref_add_params p;
        flynet_add_params r;
        const float s1 = (float)(int32_t)(rnd() % 1000u + 1u) / 4096.0f, s2 = (float)(int32_t)(rnd() % 1000u + 1u) / 4096.0f;
        const float so = (s1 + s2) * (float)(int32_t)(rnd() % 8u + 1u) / 4.0f;
        const int32_t rd = rounding();
        if (flyref_add_prepare(s1, s2, so, rd, &r) != FLYREF_OK) return;
        p = add_params(&r, rd);
        any_clamp(&p.activation);
        fam_status(f, flyref_add_s8(&p, &a, g_x, &b, g_x2, &o, g_y));
    }
    fam_bytes(f, g_y, count(&o));
}

/* 400 binary cases, then 100 of the max over head groups. */
static void elementwise_fast(family *f, int32_t it)
{
    flyref_dims o, in;
    int32_t g;
    if (it < 400) {
        binary_fast(f, it);
        return;
    }
    g = rint_in(1, 5);
    map_dims(&o, 100, MAXB / g);
    in = o;
    in.c = o.c * g;
    fill_s8(g_x, count(&in), -128, 127);
    fam_status(f, flyref_max_group_s8(g, &in, g_x, &o, g_y));
    fam_bytes(f, g_y, count(&o));
}
static const suite_family k_elementwise_fast = {"elementwise_fast_s8", 500, 0x9E3779B9u, elementwise_fast};

static void activation_fast(family *f, int32_t it)
{
    const float si = (float)(int32_t)(rnd() % 4000u + 10u) / 8192.0f;
    const float so = (float)(int32_t)(rnd() % 2000u + 10u) / 8192.0f;
    const int32_t size = rnd() % 2u ? rint_in(1, 100) : rint_in(100, MAXB);
    int32_t rows, len;
    float beta;
    (void)it;
    fill_s8(g_x, size, -128, 127);
    run_logistic(f, si, size);
    run_hard_swish(f, si, so, size);
    /* Softmax rows: the head softmax (2 .. 5) most often, and longer rows. */
    len = rnd() % 2u ? rint_in(1, 5) : rint_in(6, 300);
    rows = rint_in(1, MAXB / len);
    beta = (float)(int32_t)(rnd() % 4u + 1u);
    run_softmax(f, beta, si, rows, len, 1);
}
static const suite_family k_activation_fast = {"activation_fast_s8", 150, 0x2545F491u, activation_fast};

static void vaeca_fast(family *f, int32_t it)
{
    const int32_t heads = rint_in(1, 4), k = 2 * rint_in(0, 4) + 1;
    int32_t lo, hi;
    flyref_vaeca_descriptor_params p;
    flyref_eca_conv1d_params c;
    flyref_dims z, d, fd;
    (void)it;
    map_dims(&z, 60, MAXB);
    z.c = (z.c + heads - 1) / heads * heads;
    if (count(&z) > MAXB) z.h = 1;
    if (count(&z) > MAXB) z.w = 1;
    /* Narrow value ranges too: large maps of small spread. */
    lo = rint_in(-128, 0);
    hi = rint_in(0, 127);
    fill_s8(g_x, count(&z), lo, hi);
    p.input_offset = -zero_point();
    draw_requant(&p.mean_multiplier, &p.mean_shift, 1, -20, -4);
    p.mean_offset = rint_in(-20, 20);
    draw_requant(&p.std_multiplier, &p.std_shift, 1, -24, -6);
    p.std_offset = -128;
    p.eps_q = rnd() % 4u ? rnd() % 100000u : (uint64_t)rnd() << 8;
    p.sqrt_frac_bits = rint_in(0, 8);
    p.rounding = rounding();
    run_descriptor(f, &p, &z);
    d = dims(z.n, 1, 1, z.c);
    if (rnd() % 2u == 0) d.c = rint_in(1, 250) * heads;
    fd = dims(1, 1, k, 2);
    fill_s8(g_y, d.n * d.c, -128, 127);
    fill_s8(g_y2, d.n * d.c, -128, 127);
    fill_s8(g_w, 2 * k, -127, 127);
    c.heads = heads;
    c.mean_offset = -zero_point();
    c.std_offset = -zero_point();
    draw_requant(&c.mean_multiplier, &c.mean_shift, 1, -12, 8);
    draw_requant(&c.std_multiplier, &c.std_shift, 1, -12, 8);
    c.sum_shift = rint_in(0, 10);
    c.output_offset = zero_point();
    any_clamp(&c.activation);
    c.rounding = rounding();
    fam_status(f, flyref_eca_conv1d_s8(&c, &d, g_y, g_y2, &fd, g_w, g_x2));
    fam_bytes(f, g_x2, d.n * d.c);
}
static const suite_family k_vaeca_fast = {"vaeca_fast_s8", 150, 0x61C88647u, vaeca_fast};

/* Saturated maps (every value -128, then 127), more pixels than the DSP descriptor sums in 16-bit
 * lanes at a time, with a mean in range: a longer 16-bit run overflows and fails the boards. */
static void vaeca_saturated(family *f, int32_t it)
{
    flyref_vaeca_descriptor_params p;
    const flyref_dims z = dims(1, 25, 24, 4);
    int32_t i;
    for (i = 0; i < count(&z); ++i) g_x[i] = (int8_t)(it ? 127 : -128);
    p.input_offset = 0;
    p.mean_multiplier = 1 << 30;
    p.mean_shift = -9;
    p.mean_offset = 0;
    p.std_multiplier = 1 << 30;
    p.std_shift = -8;
    p.std_offset = 0;
    p.eps_q = 0;
    p.sqrt_frac_bits = 0;
    p.rounding = FLYNET_ROUNDING_DOUBLE;
    run_descriptor(f, &p, &z);
}
static const suite_family k_vaeca_saturated = {"vaeca_saturated_s8", 2, 0x5A7E0001u, vaeca_saturated};

/* VA-ECA descriptors the other families do not reach: positive mean shifts (a left shift before
 * the mean's requantization) and maps of wide spread with many fraction bits, whose radicands pass
 * 2^53 (where a double no longer holds them exactly). */
static void vaeca_edges(family *f, int32_t it)
{
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
    run_descriptor(f, &p, &z);
}
static const suite_family k_vaeca_edges = {"vaeca_edges_s8", 40, 0x2545F491u, vaeca_edges};

/* ------------------------------------------------------------------ interpreter */

/* expansion 1x1 -> depthwise 3x3 x3 heads -> max-out -> global avg pool, through the interpreter */
static flyref_tensor s_t[12];
static flyref_node s_nodes[4];
static int8_t s_we[6 * 4], s_wd[9 * 18];
static int32_t s_m1[1] = {0x50000000}, s_s1[1] = {-7}, s_m2[18], s_s2[18];
static flyref_graph s_graph;

static void build_interpreter_graph(void)
{
    static const flynet_conv2d_params pe = {1, 1, 0, 0, 1, 1, -128, 127, FLYNET_ROUNDING_DOUBLE};
    static const flynet_conv2d_params pd = {1, 1, 1, 1, 1, 1, -128, 127, FLYNET_ROUNDING_SINGLE};
    static const flynet_max_group_params pg = {3};
    static const flynet_pool2d_params pp = {4, 4, 1, 1, 0, 0, -128, 127};
    flyref_tensor *t = s_t;
    flyref_node *nodes = s_nodes;
    int32_t i;
    for (i = 0; i < 12; ++i) {
        t[i].type = FLYNET_TYPE_INT8;
        t[i].data = 0;
        t[i].zero_point = 0;
    }
#define DIMS(k, N, H, W, C) (t[k].dims.n = N, t[k].dims.h = H, t[k].dims.w = W, t[k].dims.c = C)
    DIMS(0, 1, 4, 4, 4); t[0].arena_offset = 0; t[0].zero_point = -3;
    DIMS(1, 6, 1, 1, 4); t[1].data = s_we;
    DIMS(2, 1, 1, 1, 1); t[2].type = FLYNET_TYPE_INT32; t[2].data = s_m1;
    DIMS(3, 1, 1, 1, 1); t[3].type = FLYNET_TYPE_INT32; t[3].data = s_s1;
    DIMS(4, 1, 4, 4, 6); t[4].arena_offset = 64; t[4].zero_point = -128;
    DIMS(5, 1, 3, 3, 18); t[5].data = s_wd;
    DIMS(6, 1, 1, 1, 18); t[6].type = FLYNET_TYPE_INT32; t[6].data = s_m2;
    DIMS(7, 1, 1, 1, 18); t[7].type = FLYNET_TYPE_INT32; t[7].data = s_s2;
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
    s_graph.tensors = t;
    s_graph.num_tensors = 11;
    s_graph.nodes = nodes;
    s_graph.num_nodes = 4;
}

static void interpreter(family *f, int32_t it)
{
    size_t need = 0;
    int32_t i;
    (void)it;
    fill_s8(s_we, 24, -127, 127);
    fill_s8(s_wd, 162, -127, 127);
    for (i = 0; i < 18; ++i) draw_requant(&s_m2[i], &s_s2[i], 0, -9, -6);
    fill_s8((int8_t *)g_arena, 64, -128, 127);
    fam_status(f, flyref_plan_scratch(&s_graph, &need));
    fam_status(f, flyref_graph_prepare(&s_graph, sizeof g_arena));
    fam_status(f, flyref_graph_invoke(&s_graph, g_arena, sizeof g_arena));
    fam_bytes(f, g_arena + 64, 486);
}
static const suite_family k_interpreter = {"interpreter", 50, 0u, interpreter};

/* ------------------------------------------------------------------ packed weights through the interpreter */

/*
 * 1x1 convs whose weights are PACKED (1..4-bit codes into a random code table), run through the
 * interpreter, which on the DSP and MVE boards unpacks the codes straight into the kernels' weight
 * staging (fr_conv2d_1x1_s8_packed) and elsewhere decodes them block by block: depths that are
 * multiples of 8 (the direct path) and not, deep enough for the MVE path (> 64) and not, more
 * weights than one 8 KB block (several calls at row offsets), rows at the stream's end, strides,
 * batches, zero points, clamps, both roundings, per-tensor and per-channel constants, no bias.
 * Each case is checked on the board against the int8 kernel on the same weights decoded by the
 * naive bit loop below, and its outputs go into the hash. Draws from its own seed.
 */
static uint8_t s_pk[256 + 10240];          /* code table, then the stream */
static int32_t s_pq[3 * 1024];             /* bias, multipliers, shifts */
static uint32_t s_parena[(4096 + 4096 + 8192 + 12288 + 64) / 4]; /* x, y, the decode region */

/* Element k of a stream of bits-bit indices, LSB first, one bit at a time. */
static int32_t naive_code(const uint8_t *stream, int32_t bits, int32_t k)
{
    int32_t b, v = 0;
    for (b = 0; b < bits; ++b) {
        const int32_t at = k * bits + b;
        v |= ((stream[at / 8] >> (at % 8)) & 1) << b;
    }
    return v;
}

/* count PACKED weights at s_pk: a random code table of 2^bits values (sometimes with -128), then a
 * stream of exactly ceil(count * bits / 8) random bytes; s_cw gets their values by naive_code. */
static void draw_packed(int32_t bits, int32_t count)
{
    const int32_t stream_bytes = (count * bits + 7) / 8;
    int32_t i;
    fill_s8((int8_t *)s_pk, 1 << bits, (rnd() & 1u) ? -128 : -127, 127);
    for (i = 0; i < stream_bytes; ++i) s_pk[256 + i] = (uint8_t)rnd();
    for (i = 0; i < count; ++i) s_cw[i] = (int8_t)s_pk[naive_code(s_pk + 256, bits, i)];
    memmove(s_pk + (1 << bits), s_pk + 256, (size_t)stream_bytes);
}

/* Biases, multipliers and shifts of oc channels into s_pq (biases at 0, the others at 1024, 2048). */
static void draw_channel_constants(int32_t oc, int32_t shift_lo)
{
    int32_t i;
    for (i = 0; i < oc; ++i) {
        const int32_t any = rnd() % 8u == 0, hi = rnd() % 8u == 0 ? 1 : -2;
        s_pq[i] = rint_in(-70000, 70000);
        draw_requant(&s_pq[1024 + i], &s_pq[2048 + i], any, shift_lo, hi);
    }
}

/* One node x -> y of `op` (parameters `record`) through the interpreter: x (in, zero point zx) at
 * arena offset 0, the PACKED weights s_pk (fd, bits), the bias (oc = od->c values, absent without
 * has_bias) and nq multipliers and shifts from s_pq, y (od, zero point zy) at 4096 and the decode
 * region planned after them. Hashes the statuses; 0 when the plan does not fit (a failed case). */
static int run_packed_node(family *f, int32_t op, const void *record, const flyref_dims *in, int32_t zx,
                           const flyref_dims *fd, int32_t bits, const flyref_dims *od, int32_t zy, int32_t nq,
                           int32_t has_bias)
{
    static flyref_tensor t[6];
    static flyref_node node;
    flyref_graph g;
    size_t need = 0;
    int32_t i;
    memset(t, 0, sizeof t);
    t[0].dims = *in;
    t[0].type = FLYNET_TYPE_INT8;
    t[0].zero_point = zx;
    t[0].arena_offset = 0;
    t[1].dims = *fd;
    t[1].type = FLYNET_TYPE_INT8;
    t[1].data = s_pk;
    t[1].storage = FLYNET_STORAGE_PACKED;
    t[1].bits = bits;
    t[2].dims = dims(1, 1, 1, od->c);
    t[3].dims = t[4].dims = dims(1, 1, 1, nq);
    for (i = 2; i < 5; ++i) {
        t[i].type = FLYNET_TYPE_INT32;
        t[i].storage = FLYNET_STORAGE_RAW;
        t[i].data = s_pq + 1024 * (i - 2);
    }
    t[5].dims = *od;
    t[5].type = FLYNET_TYPE_INT8;
    t[5].zero_point = zy;
    t[5].arena_offset = 4096;
    node.op = op;
    node.num_inputs = 5;
    node.num_outputs = 1;
    node.inputs[0] = 0;
    node.inputs[1] = 1;
    node.inputs[2] = has_bias ? 2 : -1;
    node.inputs[3] = 3;
    node.inputs[4] = 4;
    node.outputs[0] = 5;
    node.params = record;
    g.tensors = t;
    g.num_tensors = 6;
    g.nodes = &node;
    g.num_nodes = 1;
    fam_status(f, flyref_plan_scratch(&g, &need));
    if (need > sizeof s_parena) {
        f->fails++;
        return 0;
    }
    fam_status(f, flyref_graph_prepare(&g, sizeof s_parena));
    fam_status(f, flyref_graph_invoke(&g, (uint8_t *)s_parena, sizeof s_parena));
    return 1;
}

/* The interpreter's outputs (n bytes at 4096) against the reference's in s_cy, and into the hash. */
static void check_packed(family *f, int32_t n)
{
    const uint8_t *y = (const uint8_t *)s_parena + 4096;
    if (memcmp(s_cy, y, (size_t)n) != 0) f->fails++;
    fam_bytes(f, y, n);
}

static void packed_conv(family *f, int32_t it)
{
    static flynet_conv2d_params r;
    const int32_t bits = 1 + it % 4;
    const int32_t per_tensor = rnd() % 4u == 0, has_bias = rnd() % 5u != 0;
    flyref_conv_params p;
    flyref_quant_params q;
    flyref_context ctx;
    flyref_dims in, fd, od;
    int32_t kc, oc, nq;
    uint8_t *arena = (uint8_t *)s_parena;
    switch (rnd() % 4u) {
    case 0: kc = rint_in(1, 40); break;            /* any depth: the decode path where k % 8 != 0 */
    case 1: kc = 8 * rint_in(9, 64); break;        /* past 64: the MVE staging path too */
    default: kc = 8 * rint_in(1, 12); break;
    }
    oc = rint_in(1, 48);
    if (rnd() % 3u == 0) oc = rint_in(8192 / kc + 1, 20000 / kc + 1); /* several 8 KB blocks */
    while (oc * kc > 20000 || oc > 1024) oc = (oc + 1) / 2;
    /* one draw per statement: the order of a call's arguments is unspecified */
    in = dims(rint_in(1, 2), 1, 1, kc);
    in.h = rint_in(1, 6);
    in.w = rint_in(1, 6);
    while (count(&in) > 4096) {
        if (in.h > 1) in.h = (in.h + 1) / 2;
        else if (in.w > 1) in.w = (in.w + 1) / 2;
        else in.n = 1;
    }
    r.stride_h = rint_in(1, 2);
    r.stride_w = rint_in(1, 2);
    r.pad_h = r.pad_w = 0;
    r.dilation_h = r.dilation_w = 1;
    p.activation = full_range();
    if (rnd() & 1u) any_clamp(&p.activation);
    r.act_min = p.activation.min;
    r.act_max = p.activation.max;
    r.rounding = rounding();
    od = dims(in.n, (in.h - 1) / r.stride_h + 1, (in.w - 1) / r.stride_w + 1, oc);
    while (count(&od) > 4096) oc = (oc + 1) / 2, od.c = oc;
    fd = dims(oc, 1, 1, kc);
    draw_packed(bits, oc * kc);
    nq = per_tensor ? 1 : oc;
    draw_channel_constants(oc, -12);
    p.input_offset = -zero_point();
    p.output_offset = zero_point();
    fill_s8((int8_t *)arena, count(&in), -128, 127);
    if (!run_packed_node(f, FLYNET_OP_CONV2D, &r, &in, -p.input_offset, &fd, bits, &od, p.output_offset, nq,
                         has_bias)) {
        return;
    }
    /* the int8 kernel on the decoded weights, into s_cy */
    p.stride_h = r.stride_h;
    p.stride_w = r.stride_w;
    p.pad_h = p.pad_w = 0;
    p.dilation_h = p.dilation_w = 1;
    p.rounding = r.rounding;
    q = quant_of(s_pq + 1024, s_pq + 2048, nq);
    ctx.buf = g_scratch;
    ctx.size = 0;
    fam_status(f, flyref_conv2d_wrapper_s8(&ctx, &p, &q, &in, (const int8_t *)arena, &fd, s_cw, has_bias ? s_pq : 0,
                                           &od, s_cy));
    check_packed(f, count(&od));
}
static const suite_family k_packed_conv = {"packed_conv", 160, 0x9E3779B9u, packed_conv};

/*
 * Depthwise convs and FC layers whose weights are PACKED, through the interpreter: the depthwise
 * runs a block of input channels at a time, each block's weights decoded just before its kernel
 * call (the DSP and MVE depthwise paths then run on them), the FC reads its codes in its inner
 * loop (fr_fully_connected_packed_s8: DSP pair tables, MVE gathers). Multipliers 1..4, kernels
 * 1x1 to 5x5, strides, padding, more input channels than one 8 KB block holds, FC depths that are
 * multiples of 8 and not (the portable loop), rows at the stream's end, batches, weight zero
 * points, both roundings, clamps, per-tensor constants, no bias. Each case is checked on the board
 * against the int8 kernel on the weights decoded by naive_code. Draws from its own seed.
 */
static void packed_depthwise(family *f, int32_t has_bias, int32_t bits)
{
    static flynet_conv2d_params r;
    const int32_t mult = rint_in(1, 4), kh = rint_in(1, 5), kw = rint_in(1, 5);
    flyref_conv_params p;
    flyref_quant_params q;
    flyref_dims in, fd, od;
    int32_t nq;
    /* one draw per statement: the order of a call's arguments is unspecified */
    in = dims(rint_in(1, 2), 1, 1, 1);
    in.c = rint_in(1, 24);
    if (rnd() % 3u == 0) in.c = rint_in(100, 1024 / mult); /* several 8 KB blocks (s_pq: 1024 channels) */
    in.h = rint_in(1, 7);
    in.w = rint_in(1, 7);
    conv_geometry(&p, 2, 2, 1, 1);
    p.dilation_h = p.dilation_w = 1;
    p.activation = full_range();
    if (rnd() & 1u) any_clamp(&p.activation);
    p.rounding = rounding();
    od = conv_out(&p, &in, kh, kw, in.c * mult, 0);
    while (count(&in) > 4096 || count(&od) > 4096 || kh * kw * od.c > 20000) {
        in.n = 1;
        in.h = (in.h + 1) / 2;
        in.w = (in.w + 1) / 2;
        if (in.h == 1 && in.w == 1) in.c = (in.c + 1) / 2;
        od = conv_out(&p, &in, kh, kw, in.c * mult, 0);
    }
    fd = dims(1, kh, kw, od.c);
    r.stride_h = p.stride_h;
    r.stride_w = p.stride_w;
    r.pad_h = p.pad_h;
    r.pad_w = p.pad_w;
    r.dilation_h = r.dilation_w = 1;
    r.act_min = p.activation.min;
    r.act_max = p.activation.max;
    r.rounding = p.rounding;
    draw_packed(bits, count(&fd));
    nq = rnd() % 4u == 0 ? 1 : od.c;
    draw_channel_constants(od.c, -14);
    fill_s8((int8_t *)s_parena, count(&in), -128, 127);
    if (!run_packed_node(f, FLYNET_OP_DEPTHWISE_CONV2D, &r, &in, -p.input_offset, &fd, bits, &od, p.output_offset,
                         nq, has_bias)) {
        return;
    }
    q = quant_of(s_pq + 1024, s_pq + 2048, nq);
    fam_status(f, flyref_depthwise_conv2d_s8(&p, mult, &q, &in, (const int8_t *)s_parena, &fd, s_cw,
                                             has_bias ? s_pq : 0, &od, s_cy));
    check_packed(f, count(&od));
}

static void packed_fc(family *f, int32_t has_bias, int32_t bits)
{
    static flynet_fully_connected_params r;
    flyref_fc_params p;
    flyref_quant_params q;
    flyref_dims in, fd, od;
    int32_t k, co, nq;
    k = rnd() % 3u == 0 ? rint_in(1, 100) : 8 * rint_in(1, 80);
    co = rint_in(1, 64);
    while (co * k > 20000) co = (co + 1) / 2;
    in = dims(rint_in(1, 3), 1, 1, k);
    while (count(&in) > 4096) in.n--;
    fd = dims(co, 1, 1, k);
    od = dims(in.n, 1, 1, co);
    fc_offsets(&p, 6u);
    p.activation = full_range();
    if (rnd() & 1u) any_clamp(&p.activation);
    p.rounding = rounding();
    r.filter_offset = p.filter_offset;
    r.act_min = p.activation.min;
    r.act_max = p.activation.max;
    r.rounding = p.rounding;
    draw_packed(bits, co * k);
    nq = rnd() % 4u == 0 ? 1 : co;
    draw_channel_constants(co, -14);
    fill_s8((int8_t *)s_parena, count(&in), -128, 127);
    if (!run_packed_node(f, FLYNET_OP_FULLY_CONNECTED, &r, &in, -p.input_offset, &fd, bits, &od, p.output_offset, nq,
                         has_bias)) {
        return;
    }
    q = quant_of(s_pq + 1024, s_pq + 2048, nq);
    fam_status(f, flyref_fully_connected_s8(&p, &q, &in, (const int8_t *)s_parena, &fd, s_cw, has_bias ? s_pq : 0,
                                            &od, s_cy));
    check_packed(f, count(&od));
}

static void packed_dw_fc(family *f, int32_t it)
{
    const int32_t has_bias = rnd() % 5u != 0, bits = 1 + (it / 2) % 4;
    if (it % 2 == 0) {
        packed_depthwise(f, has_bias, bits);
    } else {
        packed_fc(f, has_bias, bits);
    }
}
static const suite_family k_packed_dw_fc = {"packed_dw_fc", 200, 0x7F4A7C15u, packed_dw_fc};

/* ------------------------------------------------------------------ CMSIS-NN vectors on target */

static int8_t g_out[16384];

static flyref_activation cfg_activation(const int32_t *c)
{
    flyref_activation a;
    a.min = c[K_ACTIVATION_MIN];
    a.max = c[K_ACTIVATION_MAX];
    return a;
}

static flyref_conv_params cmsis_conv_params(const int32_t *c)
{
    flyref_conv_params p;
    p.input_offset = c[K_INPUT_OFFSET];
    p.output_offset = c[K_OUTPUT_OFFSET];
    p.stride_h = c[K_STRIDE_H];
    p.stride_w = c[K_STRIDE_W];
    p.pad_h = c[K_PAD_H];
    p.pad_w = c[K_PAD_W];
    p.dilation_h = c[K_DILATION_H];
    p.dilation_w = c[K_DILATION_W];
    p.activation = cfg_activation(c);
    p.rounding = FLYNET_ROUNDING_DOUBLE;
    return p;
}

static flyref_status cmsis_run(const fw_cmsis_case *k)
{
    const int32_t *c = k->cfg;
    const flyref_dims in = dims(c[K_BATCHES], c[K_INPUT_H], c[K_INPUT_W], c[K_INPUT_C]);
    const flyref_dims od = dims(c[K_BATCHES], c[K_OUTPUT_H], c[K_OUTPUT_W], c[K_OUTPUT_C]);
    const flyref_dims vec = dims(1, 1, 1, c[K_SIZE]); /* add and mul: flat vectors */
    const flyref_quant_params q = quant_of(k->multiplier, k->shift, k->n_multiplier);
    if (k->n_expected > (int32_t)sizeof g_out) return FLYREF_ARENA_TOO_SMALL;
    switch (k->op) {
    case FW_OP_CONV: {
        const flyref_conv_params p = cmsis_conv_params(c);
        const flyref_dims fd = dims(c[K_OUTPUT_C], c[K_KERNEL_H], c[K_KERNEL_W], c[K_KERNEL_C]);
        flyref_context ctx;
        ctx.buf = g_scratch;
        ctx.size = (int32_t)sizeof g_scratch;
        return flyref_conv2d_wrapper_s8(&ctx, &p, &q, &in, k->input, &fd, k->weights, k->bias, &od, g_out);
    }
    case FW_OP_DEPTHWISE: {
        const flyref_conv_params p = cmsis_conv_params(c);
        const flyref_dims fd = dims(1, c[K_KERNEL_H], c[K_KERNEL_W], c[K_OUTPUT_C]);
        return flyref_depthwise_conv2d_s8(&p, c[K_CH_MULT], &q, &in, k->input, &fd, k->weights, k->bias, &od, g_out);
    }
    case FW_OP_FC: {
        const flyref_fc_params p = {c[K_INPUT_OFFSET], c[K_FILTER_OFFSET], c[K_OUTPUT_OFFSET], cfg_activation(c),
                                    FLYNET_ROUNDING_DOUBLE};
        const flyref_dims fd = dims(c[K_OUTPUT_C], 1, 1, c[K_ACCUMULATION_DEPTH]);
        const flyref_dims out = dims(c[K_BATCHES], 1, 1, c[K_OUTPUT_C]);
        return flyref_fully_connected_s8(&p, &q, &in, k->input, &fd, k->weights, k->bias, &out, g_out);
    }
    case FW_OP_ADD: {
        const flyref_add_params p = {c[K_INPUT1_OFFSET], c[K_INPUT2_OFFSET], c[K_LEFT_SHIFT],
                                     c[K_INPUT1_MULTIPLIER], c[K_INPUT1_SHIFT],
                                     c[K_INPUT2_MULTIPLIER], c[K_INPUT2_SHIFT],
                                     c[K_OUTPUT_MULTIPLIER], c[K_OUTPUT_SHIFT],
                                     c[K_OUTPUT_OFFSET], cfg_activation(c), FLYNET_ROUNDING_DOUBLE};
        return flyref_add_s8(&p, &vec, k->input, &vec, k->input2, &vec, g_out);
    }
    case FW_OP_MUL: {
        const flyref_mul_params p = {c[K_INPUT1_OFFSET], c[K_INPUT2_OFFSET], c[K_OUTPUT_MULTIPLIER], c[K_OUTPUT_SHIFT],
                                     c[K_OUTPUT_OFFSET], cfg_activation(c), FLYNET_ROUNDING_DOUBLE};
        return flyref_mul_s8(&p, &vec, k->input, &vec, k->input2, &vec, g_out);
    }
    case FW_OP_AVGPOOL:
    case FW_OP_MAXPOOL: {
        const flyref_pool_params p = {c[K_KERNEL_H], c[K_KERNEL_W], c[K_STRIDE_H], c[K_STRIDE_W], c[K_PAD_H], c[K_PAD_W],
                                      cfg_activation(c)};
        return k->op == FW_OP_AVGPOOL ? flyref_avg_pool_s8(&p, &in, k->input, &od, g_out)
                                      : flyref_max_pool_s8(&p, &in, k->input, &od, g_out);
    }
    case FW_OP_SOFTMAX: {
        const flyref_softmax_params p = {c[K_INPUT_MULTIPLIER], c[K_INPUT_LEFT_SHIFT], c[K_DIFF_MIN]};
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
    /* The families in transcript order. */
    static const suite_family *const families[] = {
        &k_fixed_point, &k_param_derivation, &k_conv, &k_depthwise, &k_depthwise_paths, &k_fully_connected,
        &k_conv_fc_fast, &k_elementwise, &k_pooling, &k_activations, &k_data_movement, &k_vaeca, &k_interpreter,
        &k_elementwise_fast, &k_activation_fast, &k_vaeca_fast, &k_vaeca_saturated, &k_vaeca_edges, &k_packed_conv,
        &k_packed_dw_fc};
    int fails = 0;
    size_t i;
    g_state = 0x12345678u;
    out("flyref kernel suite v2\n");
    build_interpreter_graph();
    for (i = 0; i < sizeof families / sizeof families[0]; ++i) fails += run_family(out, families[i]);
    fails += cmsis_vectors(out);
    out(fails == 0 ? "flyref kernel suite: all OK\n" : "flyref kernel suite: FAILURES\n");
    return fails;
}
