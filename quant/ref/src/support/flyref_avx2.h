/*
 * x86-64 AVX2 building blocks of the host fast paths (private).
 *
 * Why this exists: `flynet verify` runs the reference over whole test sets on the host, and the
 * portable loops leave the per-output requantization scalar (a 64-bit product per lane, which
 * baseline x86-64 cannot vectorize) and redo the int8 -> int16 widening at every tap. The host
 * paths keep the spec's arithmetic and only change how it is scheduled; the portable C loops stay
 * what a Cortex-M runs, and the tests run every kernel both ways (flyref_set_vector_paths).
 *
 * Compiled only with GCC/Clang on x86-64 (FLYREF_AVX2 = 1); the functions carry a target
 * attribute, so the library still builds for baseline x86-64 and picks them at run time when
 * the CPU has AVX2. Elsewhere (arm-none-eabi, other hosts, FLYREF_NO_VECTOR_PATHS) the header
 * defines FLYREF_AVX2 = 0 and nothing else.
 */
#ifndef FLYREF_AVX2_H_
#define FLYREF_AVX2_H_

#include "../flyref_internal.h"

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__) && !defined(FLYREF_NO_VECTOR_PATHS)
#define FLYREF_AVX2 1
#else
#define FLYREF_AVX2 0
#endif

#if FLYREF_AVX2
#include <immintrin.h>

#define FR_AVX2 __attribute__((target("avx2")))

/** 1 when the AVX2 paths may run: the CPU has AVX2 and flyref_set_vector_paths did not turn
 *  them off. */
int fr_avx2_enabled(void);

/** Per-lane requantization constants of up to FR_V_LANES channels, in the lane order of the
 *  accumulators they apply to (see fr_rqv_set). */
#define FR_V_LANES 16
typedef struct fr_rqv {
    int32_t mult[FR_V_LANES];
    int32_t a[FR_V_LANES]; /* double: left shift max(shift, 0); single: t = 31 - shift */
    int32_t b[FR_V_LANES]; /* double: right shift max(-shift, 0); single: unused */
    int32_t mode;
} fr_rqv;

/** Lane `lane` requantizes with (mult, shift) in `mode` (FLYNET_ROUNDING_DOUBLE or SINGLE). */
static inline void fr_rqv_set(fr_rqv *q, int32_t lane, int32_t mult, int32_t shift, int32_t mode)
{
    q->mode = mode;
    q->mult[lane] = mult;
    if (mode == FLYNET_ROUNDING_SINGLE) {
        q->a[lane] = 31 - shift;
        q->b[lane] = 0;
    } else {
        q->a[lane] = shift > 0 ? shift : 0;
        q->b[lane] = shift > 0 ? 0 : -shift;
    }
}

/*
 * Eight lanes of fr_requant (double rounding). Equal to it lane by lane:
 *   - x << ls modulo 2^32 is fr_shl;
 *   - vpmuldq forms the exact signed 64-bit product of each lane (even lanes in place, odd lanes
 *     after moving them down), plus 2^30; SRDHM is that sum >> 31, which fits int32 (mult >= 0,
 *     so the saturating case cannot occur), so bits 31..62 of it are SRDHM's result whether the
 *     64-bit shift is logical or arithmetic;
 *   - RDBPOT(h, rs) = (h >> rs) + ((h & m) > (m >> 1) + [h < 0]) with m = 2^rs - 1: the same
 *     round-half-away-from-zero without the int32 overflow of h + 2^(rs-1).
 */
FR_AVX2 static inline __m256i fr_rq8_double(__m256i x, __m256i mult, __m256i ls, __m256i rs)
{
    const __m256i one = _mm256_set1_epi32(1);
    const __m256i nudge = _mm256_set1_epi64x((int64_t)1 << 30);
    const __m256i v = _mm256_sllv_epi32(x, ls);
    const __m256i pe = _mm256_add_epi64(_mm256_mul_epi32(v, mult), nudge);
    const __m256i po = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(v, 32), _mm256_srli_epi64(mult, 32)), nudge);
    const __m256i h = _mm256_blend_epi32(_mm256_srli_epi64(pe, 31), _mm256_slli_epi64(_mm256_srli_epi64(po, 31), 32),
                                         0xAA);
    const __m256i m = _mm256_sub_epi32(_mm256_sllv_epi32(one, rs), one);
    const __m256i rem = _mm256_and_si256(h, m);
    const __m256i thr = _mm256_sub_epi32(_mm256_srli_epi32(m, 1), _mm256_srai_epi32(h, 31));
    return _mm256_sub_epi32(_mm256_srav_epi32(h, rs), _mm256_cmpgt_epi32(rem, thr));
}

/* Low 32 bits of floor(q / 2^t) for 64-bit lanes q and t in [1, 62]: the logical shift adds
 * 2^(64-t) for negative q, which matters modulo 2^32 only when t > 32. */
FR_AVX2 static inline __m256i fr_sra64_low(__m256i q, __m256i t)
{
    const __m256i one = _mm256_set1_epi64x(1);
    const __m256i neg = _mm256_cmpgt_epi64(_mm256_setzero_si256(), q);
    const __m256i corr = _mm256_sllv_epi64(one, _mm256_sub_epi64(_mm256_set1_epi64x(64), t));
    return _mm256_sub_epi64(_mm256_srlv_epi64(q, t), _mm256_and_si256(neg, corr));
}

/* Eight lanes of fr_requant (single rounding): (x * mult + 2^(t-1)) >> t wrapped to int32, with
 * t = 31 - shift in [1, 62]; |x * mult| < 2^62 and 2^(t-1) <= 2^61, so the 64-bit sum is exact. */
FR_AVX2 static inline __m256i fr_rq8_single(__m256i x, __m256i mult, __m256i t)
{
    const __m256i one = _mm256_set1_epi64x(1);
    const __m256i lo = _mm256_set1_epi64x(0xFFFFFFFF);
    const __m256i te = _mm256_and_si256(t, lo), to = _mm256_srli_epi64(t, 32);
    const __m256i qe = _mm256_add_epi64(_mm256_mul_epi32(x, mult), _mm256_sllv_epi64(one, _mm256_sub_epi64(te, one)));
    const __m256i qo = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32), _mm256_srli_epi64(mult, 32)),
                                        _mm256_sllv_epi64(one, _mm256_sub_epi64(to, one)));
    return _mm256_blend_epi32(fr_sra64_low(qe, te), _mm256_slli_epi64(fr_sra64_low(qo, to), 32), 0xAA);
}

/** Lanes [j, j+8) of q applied to x, + out_offset (wrapping, like fr_add), clamped: the
 *  epilogue of conv / depthwise / FC / mul for eight channels. */
FR_AVX2 static inline __m256i fr_rq8_out(__m256i x, const fr_rqv *q, int32_t j, __m256i out_off, __m256i lo,
                                         __m256i hi)
{
    const __m256i mult = _mm256_loadu_si256((const __m256i *)(q->mult + j));
    const __m256i a = _mm256_loadu_si256((const __m256i *)(q->a + j));
    __m256i r;
    if (q->mode == FLYNET_ROUNDING_SINGLE) {
        r = fr_rq8_single(x, mult, a);
    } else {
        r = fr_rq8_double(x, mult, a, _mm256_loadu_si256((const __m256i *)(q->b + j)));
    }
    return _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(r, out_off), lo), hi);
}

/** Sixteen int32 lanes (a: 0-7, b: 8-15), already within int8, to sixteen int8 in order. */
FR_AVX2 static inline __m128i fr_pack16(__m256i a, __m256i b)
{
    const __m256i w = _mm256_permute4x64_epi64(_mm256_packs_epi32(a, b), 0xD8);
    return _mm_packs_epi16(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1));
}

/** Sixteen output channels oc0 .. oc0 + 15 of a conv-like kernel: their biases and
 *  requantization constants (lanes from nb on: zero bias, multiplier 0, never stored) and the
 *  epilogue's output offset and clamp. */
typedef struct fr_out16 {
    fr_rqv rq;
    __m256i bias0, bias1; /* accumulator start of lanes 0-7 and 8-15 */
    __m256i out_off, act_lo, act_hi;
} fr_out16;

FR_AVX2 static inline void fr_out16_init(fr_out16 *o, const int32_t *bias, const flyref_quant_params *quant,
                                         int32_t mode, int32_t oc0, int32_t nb, int32_t out_offset, int32_t act_min,
                                         int32_t act_max)
{
    int32_t b16[16], i;
    for (i = 0; i < 16; ++i) {
        const int32_t q = quant->count != 1 ? oc0 + i : 0;
        b16[i] = i < nb && bias ? bias[oc0 + i] : 0;
        fr_rqv_set(&o->rq, i, i < nb ? quant->multiplier[q] : 0, i < nb ? quant->shift[q] : 0, mode);
    }
    o->bias0 = _mm256_loadu_si256((const __m256i *)b16);
    o->bias1 = _mm256_loadu_si256((const __m256i *)(b16 + 8));
    o->out_off = _mm256_set1_epi32(out_offset);
    o->act_lo = _mm256_set1_epi32(act_min);
    o->act_hi = _mm256_set1_epi32(act_max);
}

/** Stores the first n (<= 16) bytes of v. */
FR_AVX2 static inline void fr_store_n(int8_t *dst, __m128i v, int32_t n)
{
    if (n == 16) {
        _mm_storeu_si128((__m128i *)dst, v);
    } else {
        int8_t tmp[16];
        int32_t i;
        _mm_storeu_si128((__m128i *)tmp, v);
        for (i = 0; i < n; ++i) dst[i] = tmp[i];
    }
}

/** The epilogue of a block: lanes 0-7 (acc0) and 8-15 (acc1) requantized, offset, clamped,
 *  and the first nb stored at dst. */
FR_AVX2 static inline void fr_out16_store(int8_t *dst, const fr_out16 *o, __m256i acc0, __m256i acc1, int32_t nb)
{
    fr_store_n(dst,
               fr_pack16(fr_rq8_out(acc0, &o->rq, 0, o->out_off, o->act_lo, o->act_hi),
                         fr_rq8_out(acc1, &o->rq, 8, o->out_off, o->act_lo, o->act_hi)),
               nb);
}

/** Loads 16 bytes from src when `avail` >= 16 of them are readable, else the readable ones
 *  (the rest zero). */
FR_AVX2 static inline __m128i fr_load_n(const int8_t *src, int64_t avail)
{
    if (avail >= 16) return _mm_loadu_si128((const __m128i *)src);
    {
        int8_t tmp[16] = {0};
        int64_t i;
        for (i = 0; i < avail; ++i) tmp[i] = src[i];
        return _mm_loadu_si128((const __m128i *)tmp);
    }
}

#endif /* FLYREF_AVX2 */
#endif /* FLYREF_AVX2_H_ */
