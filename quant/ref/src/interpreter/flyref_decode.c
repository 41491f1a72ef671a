/*
 * Constants in their stored form. A .fly file may store a constant encoded (flynet_format.h:
 * PACKED int8 values as 1..8-bit indices into a 2^bits code table, S8 / S16 int32 values stored
 * narrow); the kernels only ever read plain int8/int32 arrays. This file holds the storage rules,
 * the unpacking, and the layout of each node's decode region, where its encoded inputs are
 * decoded just before its eval. PACKED fully-connected weights are the one exception: they are
 * decoded a block of rows at a time (the FC adapter drives that), so the region stays small.
 */

#include "flyref_interp_internal.h"

int fr_storage_ok(const flyref_tensor *t)
{
    if (t->data == 0) return 1;
    switch (t->storage) {
    case FLYNET_STORAGE_ARENA:
    case FLYNET_STORAGE_RAW: return 1;
    case FLYNET_STORAGE_PACKED: return t->type == FLYNET_TYPE_INT8 && t->bits >= 1 && t->bits <= 8;
    case FLYNET_STORAGE_S8:
    case FLYNET_STORAGE_S16: return t->type == FLYNET_TYPE_INT32;
    default: return 0;
    }
}

static int32_t sext8(uint32_t b) { return (int32_t)(b & 0x7Fu) - (int32_t)(b & 0x80u); }
static int32_t sext16(uint32_t h) { return (int32_t)(h & 0x7FFFu) - (int32_t)(h & 0x8000u); }

/* Index of element k of a packed stream; reads the second byte only when the field crosses into
 * it, so a stream of exactly ceil(count * bits / 8) bytes is never overrun. */
static uint32_t packed_index(const uint8_t *p, int32_t bits, int32_t k)
{
    const uint64_t pos = (uint64_t)k * (uint64_t)bits;
    const size_t byte = (size_t)(pos >> 3);
    const uint32_t sh = (uint32_t)(pos & 7u);
    uint32_t v = p[byte];
    if (sh + (uint32_t)bits > 8u) v |= (uint32_t)p[byte + 1] << 8;
    return (v >> sh) & ((1u << bits) - 1u);
}

void flyref_unpack_s8(const uint8_t *packed, int32_t bits, const int8_t *table, int32_t count, int8_t *out)
{
    int32_t k;
    if (packed == 0 || table == 0 || out == 0 || bits < 1 || bits > 8) return;
    for (k = 0; k < count; ++k) out[k] = table[packed_index(packed, bits, k)];
}

int32_t fr_const_value(const flyref_tensor *t, int32_t k)
{
    const uint8_t *p = (const uint8_t *)t->data;
    switch (t->storage) {
    case FLYNET_STORAGE_PACKED: return sext8(p[packed_index(p + (1u << t->bits), t->bits, k)]);
    case FLYNET_STORAGE_S8: return sext8(p[k]);
    case FLYNET_STORAGE_S16: return sext16((uint32_t)p[2 * k] | ((uint32_t)p[2 * k + 1] << 8));
    default: return t->type == FLYNET_TYPE_INT8 ? ((const int8_t *)t->data)[k] : ((const int32_t *)t->data)[k];
    }
}

/* The code table holds the 2^bits int8 values; the index stream follows it. */
void fr_unpack_range(const flyref_tensor *t, int32_t first, int32_t count, int8_t *out)
{
    const uint8_t *stored = (const uint8_t *)t->data;
    int32_t e;
    for (e = 0; e < count; ++e) {
        out[e] = (int8_t)sext8(stored[packed_index(stored + (1u << t->bits), t->bits, first + e)]);
    }
}

size_t flyref_tensor_bytes(const flyref_tensor *t)
{
    int32_t count;
    if (t == 0 || !fr_dims_ok(&t->dims)) return 0;
    count = fr_dims_count(&t->dims);
    if (count < 0) return 0;
    if (t->type == FLYNET_TYPE_INT8) return (size_t)count;
    if (t->type == FLYNET_TYPE_INT32) return (size_t)count <= (size_t)-1 / 4u ? (size_t)count * 4u : 0;
    return 0;
}

const void *flyref_tensor_data(const flyref_graph *g, const uint8_t *arena, int32_t idx)
{
    const flyref_tensor *t;
    if (g == 0) return 0;
    t = fr_tensor(g, idx);
    if (t == 0 || fr_is_encoded(t)) return 0;
    if (t->data != 0) return t->data;
    return arena != 0 ? arena + t->arena_offset : 0;
}

flyref_status flyref_tensor_decode(const flyref_tensor *t, void *out, size_t out_size)
{
    int32_t k, count;
    if (t == 0 || t->data == 0 || out == 0 || !fr_storage_ok(t)) return FLYREF_ARG_ERROR;
    if (flyref_tensor_bytes(t) == 0 || out_size < flyref_tensor_bytes(t)) return FLYREF_ARG_ERROR;
    count = fr_dims_count(&t->dims);
    if (t->storage == FLYNET_STORAGE_PACKED) {
        const uint8_t *p = (const uint8_t *)t->data;
        flyref_unpack_s8(p + (1u << t->bits), t->bits, (const int8_t *)p, count, (int8_t *)out);
    } else if (t->type == FLYNET_TYPE_INT8) {
        for (k = 0; k < count; ++k) ((int8_t *)out)[k] = ((const int8_t *)t->data)[k];
    } else {
        for (k = 0; k < count; ++k) ((int32_t *)out)[k] = fr_const_value(t, k);
    }
    return FLYREF_OK;
}

/* ---------------------------------------------------------------- decode region */

static uint32_t align4(uint32_t v) { return (v + 3u) & ~3u; }

/* PACKED fully-connected weights are decoded a block of rows at a time (flynet_format.h, PLAN):
 * rows per block for weights {C_OUT, 1, 1, K}. */
int32_t fr_fc_block_rows(const flyref_tensor *w)
{
    const int64_t k = (int64_t)w->dims.h * w->dims.w * w->dims.c;
    int64_t rows = k > 0 ? (int64_t)FLYNET_FILE_FC_DECODE_BYTES / k : 1;
    if (rows < 1) rows = 1;
    if (rows > w->dims.n) rows = w->dims.n;
    return (int32_t)rows;
}

int fr_fc_blocked(const flyref_node *n, int32_t i, const flyref_tensor *t)
{
    return n->op == FLYNET_OP_FULLY_CONNECTED && i == 1 && t->data != 0 && t->storage == FLYNET_STORAGE_PACKED;
}

/* Bytes input i (encoded) takes in the decode region, before 4-alignment. */
static uint64_t slot_bytes(const flyref_node *n, int32_t i, const flyref_tensor *t)
{
    if (fr_fc_blocked(n, i, t)) {
        return (uint64_t)fr_fc_block_rows(t) * (uint64_t)((int64_t)t->dims.h * t->dims.w * t->dims.c);
    }
    return (uint64_t)flyref_tensor_bytes(t);
}

/* Byte offset of input i's decoded copy in the node's decode region (encoded inputs in input
 * order, each 4-aligned). Sizes were bounded by fr_decode_needed() in prepare. */
static uint32_t decode_slot(const flyref_graph *g, const flyref_node *n, int32_t i)
{
    uint32_t off = 0;
    int32_t j;
    for (j = 0; j < i; ++j) {
        const flyref_tensor *t = j < n->num_inputs ? fr_tensor(g, n->inputs[j]) : 0;
        if (t != 0 && fr_is_encoded(t)) off += align4((uint32_t)slot_bytes(n, j, t));
    }
    return off;
}

uint8_t *fr_decode_dest(const flyref_graph *g, const flyref_node *n, uint8_t *arena, int32_t i)
{
    return arena + n->decode_offset + decode_slot(g, n, i);
}

uint32_t fr_decode_needed(const flyref_graph *g, const flyref_node *n, int *ok)
{
    uint64_t total = 0;
    int32_t j;
    for (j = 0; j < n->num_inputs; ++j) {
        const flyref_tensor *t = fr_tensor(g, n->inputs[j]);
        if (t != 0 && fr_is_encoded(t)) total += (slot_bytes(n, j, t) + 3u) & ~(uint64_t)3u;
    }
    *ok = total <= 0x7FFFFFFFu;
    return *ok ? (uint32_t)total : 0;
}

const void *fr_node_input(const flyref_graph *g, const flyref_node *n, uint8_t *arena, int32_t i)
{
    const flyref_tensor *t;
    if (i >= n->num_inputs) return 0;
    t = fr_tensor(g, n->inputs[i]);
    if (t == 0) return 0;
    if (fr_is_encoded(t)) return arena != 0 ? fr_decode_dest(g, n, arena, i) : 0;
    return flyref_tensor_data(g, arena, n->inputs[i]);
}

flyref_status fr_decode_inputs(const flyref_graph *g, const flyref_node *n, uint8_t *arena, size_t arena_size)
{
    uint32_t off = 0, need;
    int32_t j;
    int ok;
    need = fr_decode_needed(g, n, &ok);
    if (need == 0) return ok ? FLYREF_OK : FLYREF_ARENA_TOO_SMALL;
    if (need > n->decode_size || (size_t)n->decode_offset + n->decode_size > arena_size ||
        (size_t)n->decode_offset + n->decode_size < n->decode_size) {
        return FLYREF_ARENA_TOO_SMALL;
    }
    for (j = 0; j < n->num_inputs; ++j) {
        const flyref_tensor *t = fr_tensor(g, n->inputs[j]);
        if (t != 0 && fr_is_encoded(t) && fr_fc_blocked(n, j, t)) {
            off += align4((uint32_t)slot_bytes(n, j, t)); /* decoded block by block by the FC eval */
        } else if (t != 0 && fr_is_encoded(t)) {
            const size_t bytes = flyref_tensor_bytes(t);
            const flyref_status st = flyref_tensor_decode(t, arena + n->decode_offset + off, bytes);
            if (st != FLYREF_OK) return st;
            off += align4((uint32_t)bytes);
        }
    }
    return FLYREF_OK;
}
