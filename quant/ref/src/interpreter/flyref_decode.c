/*
 * Constants in their stored form. A .fly file may store a constant encoded (flynet_format.h:
 * PACKED int8 values as 1..8-bit indices into a 2^bits code table, S8 / S16 int32 values stored
 * narrow); the kernels only ever read plain int8/int32 arrays. This file holds the storage rules
 * and the layout of each node's decode region, where its encoded inputs are decoded just before
 * they are used (the unpacking itself: flyref_unpack.c).
 *
 * Blocked nodes (flynet_format.h, PLAN): a CONV2D of one group, a DEPTHWISE_CONV2D or a
 * FULLY_CONNECTED whose weights are PACKED runs a block of channels at a time, each block's
 * weights and per-channel encoded inputs decoded into the node's slots just before the kernel
 * call on those channels (fr_decode_block, driven by the op's eval). Output channels are
 * independent, so the integers are those of one call on the whole tensor, and RAM holds one
 * block's decoded weights instead of the whole tensor.
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

void flyref_unpack_s8(const uint8_t *packed, int32_t bits, const int8_t *table, int32_t count, int8_t *out)
{
    fr_unpacker u;
    if (packed == 0 || table == 0 || out == 0 || bits < 1 || bits > 8 || count <= 0) return;
    fr_unpacker_init(&u, packed, bits, table, count);
    fr_unpack(&u, 0, count, out);
}

int32_t fr_const_value(const flyref_tensor *t, int32_t k)
{
    const uint8_t *p = (const uint8_t *)t->data;
    switch (t->storage) {
    case FLYNET_STORAGE_PACKED: return sext8(p[fr_packed_index(p + (1u << t->bits), t->bits, k)]);
    case FLYNET_STORAGE_S8: return sext8(p[k]);
    case FLYNET_STORAGE_S16: return sext16((uint32_t)p[2 * k] | ((uint32_t)p[2 * k + 1] << 8));
    default: return t->type == FLYNET_TYPE_INT8 ? ((const int8_t *)t->data)[k] : ((const int32_t *)t->data)[k];
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
        fr_decode_s32(t, 0, count, (int32_t *)out);
    }
    return FLYREF_OK;
}

/* Elements [first, first + count) of an int32 constant in any storage, as int32: the storage
 * switch outside the loop (the per-channel shifts of every conv are decoded every inference). */
void fr_decode_s32(const flyref_tensor *t, int32_t first, int32_t count, int32_t *out)
{
    const uint8_t *p = (const uint8_t *)t->data;
    int32_t k;
    if (t->storage == FLYNET_STORAGE_S8) {
        const int8_t *s8 = (const int8_t *)t->data + first;
        for (k = 0; k < count; ++k) out[k] = s8[k];
    } else if (t->storage == FLYNET_STORAGE_S16) {
        p += 2 * (size_t)first;
        for (k = 0; k < count; ++k) out[k] = sext16((uint32_t)p[2 * k] | ((uint32_t)p[2 * k + 1] << 8));
    } else {
        for (k = 0; k < count; ++k) out[k] = fr_const_value(t, first + k);
    }
}

/* ---------------------------------------------------------------- decode region */

static uint32_t align4(uint32_t v) { return (v + 3u) & ~3u; }

int fr_blocked(const flyref_graph *g, const flyref_node *n, fr_blocks *b)
{
    const flyref_tensor *x, *w;
    int64_t unit, per;
    if (n->num_inputs < 2 || (n->op != FLYNET_OP_CONV2D && n->op != FLYNET_OP_DEPTHWISE_CONV2D)) return 0;
    x = fr_tensor(g, n->inputs[0]);
    w = fr_tensor(g, n->inputs[1]);
    if (x == 0 || w == 0 || w->data == 0 || w->storage != FLYNET_STORAGE_PACKED) return 0;
    if (n->op == FLYNET_OP_DEPTHWISE_CONV2D) {
        /* units: input channels, each with its ch_mult output channels at every tap */
        if (w->dims.n != 1 || x->dims.c < 1 || w->dims.c % x->dims.c != 0) return 0;
        b->units = x->dims.c;
        b->ch_per_unit = w->dims.c / x->dims.c;
        b->c_out = w->dims.c;
        unit = (int64_t)w->dims.h * w->dims.w * b->ch_per_unit;
    } else {
        /* units: output channels (filter rows); a grouped conv is decoded whole */
        if (w->dims.c != x->dims.c) return 0;
        b->units = w->dims.n;
        b->ch_per_unit = 1;
        b->c_out = w->dims.n;
        unit = (int64_t)w->dims.h * w->dims.w * w->dims.c;
    }
    per = (int64_t)FLYNET_FILE_DECODE_BLOCK_BYTES / unit;
    if (per < 1) per = 1;
    if (per >= 8) {
        per &= ~(int64_t)7;
    } else if (per >= 4) {
        per &= ~(int64_t)3;
    }
    if (per > b->units) per = b->units;
    b->unit_bytes = (int32_t)unit;
    b->per_block = (int32_t)per;
    return 1;
}

int fr_reads_packed(const flyref_node *n, int32_t i, const flyref_tensor *t)
{
    return n->op == FLYNET_OP_FULLY_CONNECTED && i == 1 && t->data != 0 && t->storage == FLYNET_STORAGE_PACKED;
}

/* Input i of a blocked node that is decoded block by block: the weights, and the encoded
 * per-channel inputs (bias, multiplier, shift with one value per output channel). */
static int block_decoded(const flyref_tensor *t, int32_t i, const fr_blocks *b)
{
    return i == 1 || (i >= 2 && i <= 4 && t->data != 0 && fr_dims_count(&t->dims) == b->c_out);
}

/* Bytes input i (encoded) takes in the decode region, before 4-alignment. */
static uint64_t slot_bytes(const flyref_node *n, int32_t i, const flyref_tensor *t, int blocked, const fr_blocks *b)
{
    if (fr_reads_packed(n, i, t)) return 0;
    if (blocked && block_decoded(t, i, b)) {
        return i == 1 ? (uint64_t)b->per_block * (uint64_t)b->unit_bytes
                      : 4u * (uint64_t)b->per_block * (uint64_t)b->ch_per_unit;
    }
    return (uint64_t)flyref_tensor_bytes(t);
}

/* Byte offset of input i's decoded copy in the node's decode region (encoded inputs in input
 * order, each 4-aligned). Sizes were bounded by fr_decode_needed() in prepare. */
static uint32_t decode_slot(const flyref_graph *g, const flyref_node *n, int32_t i)
{
    fr_blocks b;
    const int blocked = fr_blocked(g, n, &b);
    uint32_t off = 0;
    int32_t j;
    for (j = 0; j < i; ++j) {
        const flyref_tensor *t = j < n->num_inputs ? fr_tensor(g, n->inputs[j]) : 0;
        if (t != 0 && fr_is_encoded(t)) off += align4((uint32_t)slot_bytes(n, j, t, blocked, &b));
    }
    return off;
}

uint8_t *fr_decode_dest(const flyref_graph *g, const flyref_node *n, uint8_t *arena, int32_t i)
{
    return arena + n->decode_offset + decode_slot(g, n, i);
}

uint32_t fr_decode_needed(const flyref_graph *g, const flyref_node *n, int *ok)
{
    fr_blocks b;
    const int blocked = fr_blocked(g, n, &b);
    uint64_t total = 0;
    int32_t j;
    for (j = 0; j < n->num_inputs; ++j) {
        const flyref_tensor *t = fr_tensor(g, n->inputs[j]);
        if (t != 0 && fr_is_encoded(t)) total += (slot_bytes(n, j, t, blocked, &b) + 3u) & ~(uint64_t)3u;
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
    fr_blocks b;
    const int blocked = fr_blocked(g, n, &b);
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
        if (t == 0 || !fr_is_encoded(t)) continue;
        /* a blocked node's block-decoded inputs wait for their block (fr_decode_block); a packed
         * FC reads its weights as they are */
        if (!(blocked && block_decoded(t, j, &b)) && !fr_reads_packed(n, j, t)) {
            const size_t bytes = flyref_tensor_bytes(t);
            const flyref_status st = flyref_tensor_decode(t, arena + n->decode_offset + off, bytes);
            if (st != FLYREF_OK) return st;
        }
        off += align4((uint32_t)slot_bytes(n, j, t, blocked, &b));
    }
    return FLYREF_OK;
}

void fr_decode_block(const flyref_graph *g, const flyref_node *n, uint8_t *arena, const fr_blocks *b,
                     const fr_unpacker *u, int32_t u0, int32_t nu, const void *x[5])
{
    const int32_t c0 = u0 * b->ch_per_unit, nc = nu * b->ch_per_unit;
    int32_t j;
    for (j = 1; j < 5; ++j) {
        const flyref_tensor *t = j < n->num_inputs ? fr_tensor(g, n->inputs[j]) : 0;
        x[j] = 0;
        if (t == 0) continue; /* an absent bias */
        if (j == 1 && u == 0) continue; /* weights the kernel reads packed */
        if (j == 1) {
            int8_t *dst = (int8_t *)fr_decode_dest(g, n, arena, 1);
            if (n->op == FLYNET_OP_DEPTHWISE_CONV2D) {
                /* [tap][channel]: the block's channels of every tap, one run each */
                fr_unpack_rows(u, c0, nc, b->c_out, t->dims.h * t->dims.w, dst);
            } else {
                fr_unpack(u, u0 * b->unit_bytes, nu * b->unit_bytes, dst);
            }
            x[1] = dst;
        } else if (!block_decoded(t, j, b)) {
            x[j] = fr_node_input(g, n, arena, j); /* one value for every channel */
        } else if (fr_is_encoded(t)) {
            int32_t *dst = (int32_t *)(void *)fr_decode_dest(g, n, arena, j);
            fr_decode_s32(t, c0, nc, dst);
            x[j] = dst;
        } else {
            x[j] = (const int32_t *)t->data + c0;
        }
    }
}
