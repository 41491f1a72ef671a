/*
 * Fully connected s8 whose weights stay PACKED (flynet_format.h, CONSTANTS): row o of the filter
 * is elements [o * K, (o + 1) * K) of a bits-bit index stream into a code table. Refer to
 * flyref_fully_connected_s8 (flyref_kernels.h) for the arithmetic; this kernel gives the same
 * integers for the same decoded weights.
 *
 * Why read the weights packed: a classifier uses each weight once per inference, so a decode pass
 * (about two instructions a weight on a Cortex-M4) costs more than the multiply-accumulates it
 * feeds; decoding inside the dot product costs a table load per two weights instead, and the
 * node needs no decode region for its weights.
 *
 * Why it is bit-exact: every product w * (x + input_offset) is exact (|w| <= 128, |x + input_offset|
 * <= 255) whatever instruction forms it, and the sum modulo 2^32 does not depend on the order.
 *   - portable: each row decoded into a stack chunk (fr_unpack), then the spec's loop;
 *   - DSP (Cortex-M4, M7, M33): each two consecutive indices (a 2 * bits-bit field) select a
 *     precomputed int16 pair [t[a], t[b]] (the table's values sign-extended into SMLAD lanes), and
 *     SMLAD adds its two products with the inputs' pair [x0 + off, x1 + off] (widened once per
 *     batch row); two rows share the input loads;
 *   - MVE (Cortex-M55): sixteen indices unpacked into byte lanes as in flyref_unpack.c, their
 *     values gathered from the code table, VMLADAVA with sixteen raw inputs and VADDVA for
 *     input_offset * sum(w), as the int8 kernel's MVE path does; four rows share each input load.
 * Rows whose stream reads would pass the end of the stream, a K that does not start every row on
 * a byte (K * bits % 8 != 0), widths above 4 bits and a non-zero filter_offset take the portable
 * loop.
 */
#include "../convolution/flyref_conv_common.h"

#define FR_FCP_CHUNK 256 /* portable: weights of a row decoded at once */

/* The epilogues out of line: one copy each (inlined, they double the kernel's flash). */
#if defined(__GNUC__)
#define FR_FCP_NOINLINE __attribute__((noinline))
#else
#define FR_FCP_NOINLINE
#endif
#define FR_FCP_DSP_K 1024 /* DSP: inputs widened on the stack (2 KB) */

/* Output channels [o0, o1) of batch row x, y the batch row's outputs: the spec's loop on decoded
 * chunks. */
static void fr_fcp_rows(const flyref_fc_params *params, const flyref_quant_params *quant, const fr_unpacker *w,
                        int32_t k, const int8_t *x, const int32_t *bias, int8_t *y, int32_t o0, int32_t o1,
                        int32_t mode)
{
    int8_t wc[FR_FCP_CHUNK];
    int32_t o, i0, i;
    for (o = o0; o < o1; ++o) {
        int32_t acc = bias ? bias[o] : 0;
        for (i0 = 0; i0 < k; i0 += FR_FCP_CHUNK) {
            const int32_t n = fr_min(FR_FCP_CHUNK, k - i0);
            fr_unpack(w, (int32_t)((int64_t)o * k + i0), n, wc);
            for (i = 0; i < n; ++i) {
                acc = fr_add(acc, ((int32_t)wc[i] + params->filter_offset) * ((int32_t)x[i0 + i] + params->input_offset));
            }
        }
        y[o] = fr_epilogue(acc, quant, o, mode, params->output_offset, &params->activation);
    }
}

#if FR_CONV_MVE || FR_CONV_DSP
/* The rows [0, rows) that end at or below element `end` (a bound of the unpacker's up to which its
 * reads stay inside the stream). */
static int32_t fr_fcp_safe_rows(int32_t k, int32_t out_c, int32_t end)
{
    const int32_t rows = k > 0 && end > 0 ? end / k : 0;
    return rows < out_c ? rows : out_c;
}

#endif

#if FR_CONV_MVE
const char fr_path_fully_connected_packed_s8[] = "mve";

/* acc[j] += dot(row j, x), sums[j] = sum(row j) for the two rows whose streams start at p and q
 * (k a multiple of 8; a last half vector is predicated). Two rows keep the loop in registers. */
static void fr_fcp_mve_dot2(const fr_unpacker *w, const uint8_t *p, const uint8_t *q, const int8_t *x, int32_t k,
                            int32_t *acc, int32_t *sums)
{
    const uint32_t b = (uint32_t)w->bits;
    fr_mve_codes c;
    int32_t a0 = acc[0], a1 = acc[1], s0 = 0, s1 = 0, i;
    fr_mve_codes_init(&c, w);
/* The weights of sixteen elements whose stream starts at r. */
#define FR_FCP_W16(r) fr_mve_codes16(&c, (r))
    for (i = 0; i + 16 <= k; i += 16, p += 2 * b, q += 2 * b) {
        const int8x16_t xv = vldrbq_s8(x + i), v = FR_FCP_W16(p), u = FR_FCP_W16(q);
        a0 = vmladavaq_s8(a0, xv, v);
        s0 = vaddvaq_s8(s0, v);
        a1 = vmladavaq_s8(a1, xv, u);
        s1 = vaddvaq_s8(s1, u);
    }
    if (i < k) {
        /* eight elements left: lanes 8..15 are zero in x and predicated off in the sums */
        const mve_pred16_t pr = vctp8q(8u);
        const int8x16_t xv = vldrbq_z_s8(x + i, pr), v = FR_FCP_W16(p), u = FR_FCP_W16(q);
        a0 = vmladavaq_s8(a0, xv, v);
        s0 = vaddvaq_p_s8(s0, v, pr);
        a1 = vmladavaq_s8(a1, xv, u);
        s1 = vaddvaq_p_s8(s1, u, pr);
    }
#undef FR_FCP_W16
    acc[0] = a0;
    acc[1] = a1;
    sums[0] = s0;
    sums[1] = s1;
}

/* The epilogue of output channels [oc, oc + nb) (nb <= 4) of one batch row, out of line: one copy. */
static FR_FCP_NOINLINE void fr_fcp_mve_out4(const flyref_fc_params *params, const flyref_quant_params *quant,
                                             int32_t oc, int32_t nb, int32_t mode, int32_t *acc, const int32_t *sums,
                                             int8_t *y)
{
    fr_mve_out4 ep;
    int32_t j;
    fr_mve_out4_init(&ep, quant, oc, nb, mode, params->output_offset, params->activation.min, params->activation.max);
    for (j = 0; j < 4; ++j) acc[j] = fr_add(acc[j], fr_mul(params->input_offset, sums[j]));
    fr_mve_out4_store(&ep, acc, y + oc, nb);
}

/* Rows [0, rows) (whole blocks of four, or a last partial one) of every batch row. */
static void fr_fcp_fast(const flyref_fc_params *params, const flyref_quant_params *quant, const fr_unpacker *w,
                        int32_t batches, int32_t k, int32_t out_c, int32_t rows, const int8_t *input,
                        const int32_t *bias, int8_t *output, int32_t mode)
{
    const size_t row_bytes = (size_t)k * (size_t)w->bits / 8u;
    int32_t oc, b, j;
    for (oc = 0; oc < rows; oc += 4) {
        const int32_t nb = fr_min(4, rows - oc);
        const uint8_t *p[4];
        /* lanes past nb repeat the block's first row (computed, never stored) */
        for (j = 0; j < 4; ++j) p[j] = w->stream + (size_t)(oc + (j < nb ? j : 0)) * row_bytes;
        for (b = 0; b < batches; ++b) {
            const int8_t *x = input + (int64_t)b * k;
            int32_t acc[4], sums[4] = {0, 0, 0, 0};
            for (j = 0; j < 4; ++j) acc[j] = bias ? bias[oc + (j < nb ? j : 0)] : 0;
            fr_fcp_mve_dot2(w, p[0], p[1], x, k, acc, sums);
            if (nb > 2) fr_fcp_mve_dot2(w, p[2], p[3], x, k, acc + 2, sums + 2);
            fr_fcp_mve_out4(params, quant, oc, nb, mode, acc, sums, output + (int64_t)b * out_c);
        }
    }
}

/* A vector run reads 2 * bits + 1 bytes from its start, a row's last half vector too: the rows
 * inside vec_end. */
static int32_t fr_fcp_fast_rows(const fr_unpacker *w, int32_t k, int32_t out_c)
{
    return fr_fcp_safe_rows(k, out_c, w->vec_end - (k % 16 != 0 ? 8 : 0));
}
#elif FR_CONV_DSP
const char fr_path_fully_connected_packed_s8[] = "dsp";

/* (x + offset) of k values (k even) as int16 pairs [v(2j), v(2j + 1)]. */
static void fr_fcp_widen(const int8_t *x, int32_t k, int32_t offset, uint32_t *xp)
{
    const uint32_t off2 = fr_pair16(offset);
    int32_t i;
    for (i = 0; i < k; i += 4) {
        /* SXTAB16 gives [v0, v2] and [v1, v3]; PKHBT / PKHTB put them in element order */
        const uint32_t v = fr_ld4(x + i), e = __sxtab16(off2, v), o = fr_sxtab16_odd(off2, v);
        xp[i / 2] = (e & 0xFFFFu) | (o << 16);
        xp[i / 2 + 1] = (o & 0xFFFF0000u) | (e >> 16);
    }
}

/* acc[0] and acc[1] += the dots of the rows whose streams start at p and q with the widened
 * inputs xp, k a multiple of 8 (one group of eight elements: B bytes, four pair fields). */
static inline void fr_fcp_dsp_dot2(const uint32_t *pair, const uint8_t *p, const uint8_t *q, const uint32_t *xp,
                                   int32_t k, int32_t *acc, const int B)
{
    const uint32_t m = (1u << (2 * B)) - 1u;
    const uint32_t *const xe = xp + k / 2;
    int32_t a0 = acc[0], a1 = acc[1];
    for (; xp != xe; xp += 4, p += B, q += B) {
        uint32_t v, u, x0, x1;
        memcpy(&v, p, 4);
        memcpy(&u, q, 4);
        FR_LDRD32(x0, x1, xp, 0);
        a0 = __smlad(pair[v & m], x0, a0);
        a1 = __smlad(pair[u & m], x0, a1);
        a0 = __smlad(pair[(v >> (2 * B)) & m], x1, a0);
        a1 = __smlad(pair[(u >> (2 * B)) & m], x1, a1);
        FR_LDRD32(x0, x1, xp, 2);
        a0 = __smlad(pair[(v >> (4 * B)) & m], x0, a0);
        a1 = __smlad(pair[(u >> (4 * B)) & m], x0, a1);
        a0 = __smlad(pair[(v >> (6 * B)) & m], x1, a0);
        a1 = __smlad(pair[(u >> (6 * B)) & m], x1, a1);
    }
    acc[0] = a0;
    acc[1] = a1;
}

/* One loop per width, out of line (the loop then keeps its pointers in registers). */
#define FR_FCP_DOT2(B)                                                                                        \
    static FR_CONV_NOINLINE void fr_fcp_dsp_dot2_##B(const uint32_t *pair, const uint8_t *p, const uint8_t *q, \
                                                     const uint32_t *xp, int32_t k, int32_t *acc)             \
    {                                                                                                          \
        fr_fcp_dsp_dot2(pair, p, q, xp, k, acc, B);                                                            \
    }
FR_FCP_DOT2(1)
FR_FCP_DOT2(2)
FR_FCP_DOT2(3)
FR_FCP_DOT2(4)

/* The epilogue of output channels [oc, oc + nb) (nb <= 4), out of line: one copy of it. */
static FR_FCP_NOINLINE void fr_fcp_dsp_out4(const flyref_fc_params *params, const flyref_quant_params *quant,
                                             const int32_t *bias, int32_t oc, int32_t nb, int32_t k, int32_t mode,
                                             const int32_t *acc, int8_t *y)
{
    fr_dsp_out4 ep;
    fr_dsp_out4_init(&ep, quant, bias, oc, nb, k, mode, params->output_offset, params->activation.min,
                     params->activation.max);
    fr_dsp_out4_store(&ep, acc[0], acc[1], acc[2], acc[3], y + oc, nb);
}

/* Rows [0, rows) of every batch row, four at a time through the shared epilogue. */
static void fr_fcp_fast(const flyref_fc_params *params, const flyref_quant_params *quant, const fr_unpacker *w,
                        int32_t batches, int32_t k, int32_t out_c, int32_t rows, const int8_t *input,
                        const int32_t *bias, int8_t *output, int32_t mode)
{
    uint32_t xp[FR_FCP_DSP_K / 2];
    uint32_t pair[256];
    const int32_t bits = w->bits, n = 1 << (2 * bits), mask = (1 << bits) - 1;
    const size_t row_bytes = (size_t)k * (size_t)bits / 8u;
    int32_t i, b, oc, j;
    /* pair[a | c << bits] = [t[a], t[c]] as int16 lanes */
    for (i = 0; i < n; ++i) {
        pair[i] = ((uint32_t)w->table[i & mask] & 0xFFFFu) | ((uint32_t)(int32_t)w->table[i >> bits] << 16);
    }
    for (b = 0; b < batches; ++b) {
        int8_t *y = output + (int64_t)b * out_c;
        fr_fcp_widen(input + (int64_t)b * k, k, params->input_offset, xp);
        for (oc = 0; oc < rows; oc += 4) {
            const int32_t nb = fr_min(4, rows - oc);
            int32_t acc[4];
            for (j = 0; j < 4; ++j) acc[j] = bias ? bias[oc + (j < nb ? j : 0)] : 0;
            for (j = 0; j < nb; j += 2) {
                const uint8_t *p = w->stream + (size_t)(oc + j) * row_bytes;
                const uint8_t *q = j + 1 < nb ? p + row_bytes : p; /* a last odd row pairs with itself */
                switch (bits) {
                case 1: fr_fcp_dsp_dot2_1(pair, p, q, xp, k, acc + j); break;
                case 2: fr_fcp_dsp_dot2_2(pair, p, q, xp, k, acc + j); break;
                case 3: fr_fcp_dsp_dot2_3(pair, p, q, xp, k, acc + j); break;
                default: fr_fcp_dsp_dot2_4(pair, p, q, xp, k, acc + j); break;
                }
            }
            fr_fcp_dsp_out4(params, quant, bias, oc, nb, k, mode, acc, y);
        }
    }
}

/* A group read takes 4 bytes from its start: the rows inside fast_end. */
static int32_t fr_fcp_fast_rows(const fr_unpacker *w, int32_t k, int32_t out_c)
{
    return k <= FR_FCP_DSP_K ? fr_fcp_safe_rows(k, out_c, w->fast_end) : 0;
}
#else
const char fr_path_fully_connected_packed_s8[] = "portable";
#endif

flyref_status fr_fully_connected_packed_s8(const flyref_fc_params *params, const flyref_quant_params *quant,
                                           const flyref_dims *input_dims, const int8_t *input,
                                           const flyref_dims *filter_dims, const fr_unpacker *filter,
                                           const int32_t *bias, const flyref_dims *output_dims, int8_t *output)
{
    int32_t k, out_c, mode, b, rows = 0;
    if (params == 0 || input == 0 || filter == 0 || output == 0) return FLYREF_ARG_ERROR;
    {
        const flyref_status st = fr_fc_check(params, quant, input_dims, filter_dims, output_dims, &k, &out_c);
        if (st != FLYREF_OK) return st;
    }
    mode = fr_mode(params->rounding);
#if FR_CONV_MVE || FR_CONV_DSP
    /* whole groups of eight elements per row, every row starting on a byte */
    if (params->filter_offset == 0 && filter->bits <= 4 && k % 8 == 0) {
        rows = fr_fcp_fast_rows(filter, k, out_c);
        if (rows > 0) fr_fcp_fast(params, quant, filter, input_dims->n, k, out_c, rows, input, bias, output, mode);
    }
#endif
    for (b = 0; b < input_dims->n && rows < out_c; ++b) {
        fr_fcp_rows(params, quant, filter, k, input + (int64_t)b * k, bias, output + (int64_t)b * out_c, rows, out_c,
                    mode);
    }
    return FLYREF_OK;
}
