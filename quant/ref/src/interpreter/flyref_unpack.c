/*
 * Unpacking PACKED int8 constants (flynet_format.h, CONSTANTS): element k's value is
 * table[index k], index k being bits [k * bits, (k + 1) * bits) of the stream, LSB first.
 *
 * Why a pair table: a node decodes its weights (a block of rows at a time, flyref_decode.c) just
 * before its kernel runs, every inference, so the unpacking costs instructions per weight on the
 * target. For 1 to 4 bits, eight elements are bits bytes of the stream, one little-endian word
 * read at once; each two consecutive indices (2 * bits bits of that word) select a precomputed
 * pair of values (pair[i] = table[i & mask] | table[i >> bits] << 8), so eight elements take four
 * table loads and two word stores. The same values as the element-by-element definition
 * (fr_unpack_each) by construction: the pair entry of indices (a, b) is table[a], table[b] in
 * memory order on the little-endian targets the reader requires. Words are read only where all
 * four bytes lie inside the stream, so a stream of exactly ceil(count * bits / 8) bytes is never
 * overrun; the rest goes element by element.
 *
 * On the Cortex-M55 (MVE), sixteen elements (2 * bits bytes) at a time: lane i gathers the byte
 * holding the start of its field and the byte after (VLDRB gather, offsets (i * bits) / 8), shifts
 * them into place ((b0 >> s) | (b1 << (8 - s)), s = (i * bits) % 8; a byte shifted by 8 is 0),
 * masks the index and gathers its value from the code table: the same bits, so the same values.
 * Those runs read 2 * bits + 1 bytes and stop where that would pass the stream.
 */

#include <string.h>

#include "flyref_interp_internal.h"
#include "../support/flyref_target.h"

#if FLYREF_ARM_MVE
#include <arm_mve.h>
#endif

uint32_t fr_packed_index(const uint8_t *p, int32_t bits, int32_t k)
{
    const uint64_t pos = (uint64_t)k * (uint64_t)bits;
    const size_t byte = (size_t)(pos >> 3);
    const uint32_t sh = (uint32_t)(pos & 7u);
    uint32_t v = p[byte];
    if (sh + (uint32_t)bits > 8u) v |= (uint32_t)p[byte + 1] << 8;
    return (v >> sh) & ((1u << bits) - 1u);
}

/* Elements [k, k + n) one at a time, the bit position kept running (any width). */
static void fr_unpack_each(const fr_unpacker *u, int32_t k, int32_t n, int8_t *out)
{
    const uint64_t pos = (uint64_t)k * (uint64_t)u->bits;
    const uint8_t *p = u->stream + (size_t)(pos >> 3);
    const uint32_t b = (uint32_t)u->bits, mask = (1u << b) - 1u;
    uint32_t sh = (uint32_t)(pos & 7u);
    int32_t e;
    for (e = 0; e < n; ++e) {
        uint32_t v = p[0];
        if (sh + b > 8u) v |= (uint32_t)p[1] << 8;
        out[e] = u->table[(v >> sh) & mask];
        sh += b;
        p += sh >> 3;
        sh &= 7u;
    }
}

void fr_unpacker_init(fr_unpacker *u, const uint8_t *stream, int32_t bits, const int8_t *table, int32_t count)
{
    u->stream = stream;
    u->table = table;
    u->bits = bits;
    u->fast_end = 0;
    u->vec_end = 0;
    u->bytes = (int32_t)(((int64_t)count * bits + 7) / 8);
    if (bits <= 4) {
        const uint32_t mask = (1u << bits) - 1u, n = 1u << (2 * bits);
        /* group g (elements [8 g, 8 g + 8)) reads bytes [g * bits, g * bits + 4) */
        const int64_t bytes = ((int64_t)count * bits + 7) / 8;
        uint32_t i;
        /* bytes < 2^31 (at most 4 bits an element): the division is 32-bit */
        if (bytes >= 4) u->fast_end = fr_min(count, 8 * (int32_t)((uint32_t)(bytes - 4) / (uint32_t)bits + 1u));
        u->fast_end &= ~7;
        /* a vector run from element 8 j reads bytes [j * bits, j * bits + 2 * bits + 1) */
        if (bytes >= 2 * bits + 1) {
            u->vec_end = fr_min(count, 8 * (int32_t)((uint32_t)(bytes - 2 * bits - 1) / (uint32_t)bits + 2u));
        }
        u->vec_end &= ~7;
        for (i = 0; i < n; ++i) {
            u->pair[i] = (uint16_t)((uint8_t)table[i & mask] | ((uint32_t)(uint8_t)table[i >> bits] << 8));
        }
    }
}

void fr_unpacker_of(fr_unpacker *u, const flyref_tensor *t)
{
    const uint8_t *p = (const uint8_t *)t->data;
    fr_unpacker_init(u, p + (1u << t->bits), t->bits, (const int8_t *)p, fr_dims_count(&t->dims));
}

/* One group of eight elements of B bits from the stream at p to out. */
#define FR_UNPACK_GROUP(p, out, B)                                                                            \
    do {                                                                                                       \
        uint32_t v_, lo_, hi_;                                                                                 \
        memcpy(&v_, (p), 4);                                                                                   \
        lo_ = pair[v_ & m] | ((uint32_t)pair[(v_ >> (2 * (B))) & m] << 16);                                     \
        hi_ = pair[(v_ >> (4 * (B))) & m] | ((uint32_t)pair[(v_ >> (6 * (B))) & m] << 16);                       \
        memcpy((out), &lo_, 4);                                                                                \
        memcpy((out) + 4, &hi_, 4);                                                                            \
    } while (0)

/* groups runs of eight elements from the stream at p into out, B bits each, two per iteration. */
static inline void fr_unpack_groups(const uint16_t *pair, const uint8_t *p, int8_t *out, int32_t groups, const int B)
{
    const uint32_t m = (1u << (2 * B)) - 1u;
    const uint8_t *const end = p + (size_t)(groups & ~1) * (size_t)B;
    for (; p != end; p += 2 * B, out += 16) {
        FR_UNPACK_GROUP(p, out, B);
        FR_UNPACK_GROUP(p + B, out + 8, B);
    }
    if (groups & 1) FR_UNPACK_GROUP(p, out, B);
}

#if FLYREF_ARM_MVE
/* n16 runs of sixteen elements from the stream at p (a byte boundary) into out. */
static void fr_unpack_mve(const fr_unpacker *u, const uint8_t *p, int8_t *out, int32_t n16)
{
    const uint32_t b = (uint32_t)u->bits;
    const uint8x16_t pos = vmulq_n_u8(vidupq_n_u8(0, 1), (uint8_t)b);
    const uint8x16_t offs = vshrq_n_u8(pos, 3);
    const int8x16_t sh = vreinterpretq_s8_u8(vandq_u8(pos, vdupq_n_u8(7)));
    const int8x16_t right = vnegq_s8(sh), left = vsubq_s8(vdupq_n_s8(8), sh);
    const uint8x16_t mask = vdupq_n_u8((uint8_t)((1u << b) - 1u));
    const int8_t *const table = u->table;
    int32_t i;
    for (i = 0; i < n16; ++i, p += 2 * b, out += 16) {
        const uint8x16_t b0 = vldrbq_gather_offset_u8(p, offs), b1 = vldrbq_gather_offset_u8(p + 1, offs);
        const uint8x16_t idx = vandq_u8(vorrq_u8(vshlq_u8(b0, right), vshlq_u8(b1, left)), mask);
        vstrbq_s8(out, vldrbq_gather_offset_s8(table, idx));
    }
}
#endif

/* Elements [k, k + n): the head up to a multiple of eight (a byte boundary of the stream), whole
 * groups up to fast_end (vector runs first up to vec_end on MVE), the rest one at a time. */
static void fr_unpack_run(const fr_unpacker *u, int32_t k, int32_t n, int8_t *out)
{
    const int32_t end = k + n, b = u->bits;
    const int32_t head = fr_min(n, (8 - (k & 7)) & 7);
    int32_t groups;
    if (head > 0) {
        fr_unpack_each(u, k, head, out);
        k += head;
        out += head;
    }
#if FLYREF_ARM_MVE
    {
        const int32_t n16 = (fr_min(end, u->vec_end) - k) / 16;
        if (n16 > 0) {
            fr_unpack_mve(u, u->stream + (size_t)(k / 8) * (size_t)b, out, n16);
            k += 16 * n16;
            out += 16 * n16;
        }
    }
#endif
    groups = (fr_min(end, u->fast_end) - k) / 8;
    if (groups > 0) {
        const uint8_t *p = u->stream + (size_t)(k / 8) * (size_t)b;
        switch (b) {
        case 1: fr_unpack_groups(u->pair, p, out, groups, 1); break;
        case 2: fr_unpack_groups(u->pair, p, out, groups, 2); break;
        case 3: fr_unpack_groups(u->pair, p, out, groups, 3); break;
        default: fr_unpack_groups(u->pair, p, out, groups, 4); break;
        }
        k += 8 * groups;
        out += 8 * groups;
    }
    if (k < end) fr_unpack_each(u, k, end - k, out);
}

void fr_unpack(const fr_unpacker *u, int32_t first, int32_t count, int8_t *out)
{
    fr_unpack_rows(u, first, count, 0, 1, out);
}

void fr_unpack_rows(const fr_unpacker *u, int32_t first, int32_t count, int32_t stride, int32_t rows, int8_t *out)
{
    int32_t r;
    for (r = 0; r < rows; ++r, first += stride, out += count) {
        if (u->bits <= 4) {
            fr_unpack_run(u, first, count, out);
        } else {
            fr_unpack_each(u, first, count, out);
        }
    }
}
