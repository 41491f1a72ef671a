/*
 * flyref_interp_internal.h -- what the interpreter's three files share (not installed, not public
 * API). The interpreter is split by concern, one concern per file:
 *
 *   flyref_decode.c      constants in their stored form: storage rules, sizes, and where each
 *                        node's encoded inputs sit decoded in its decode region (the unpacking
 *                        of PACKED streams is flyref_unpack.c, declared in flyref_internal.h:
 *                        the packed FC kernel reads it too)
 *   flyref_op_adapters.c the op table: per op its arity, the checks it shares with other ops,
 *                        its own checks and the eval that builds the kernel's parameter struct
 *   flyref_graph.c       the graph: index and storage checks, the scratch/decode plan, prepare
 *                        and the invoke loop
 *
 * The functions here have external linkage only so that the three files can call each other;
 * the fr_ prefix keeps them apart from the public flyref_ API.
 */
#ifndef FLYREF_INTERP_INTERNAL_H_
#define FLYREF_INTERP_INTERNAL_H_

#include "flyref_interpreter.h"
#include "flyref_internal.h"

/** Tensor idx of the graph, 0 when idx is out of range (-1 is an absent optional input). */
static inline const flyref_tensor *fr_tensor(const flyref_graph *g, int32_t idx)
{
    return (idx >= 0 && idx < g->num_tensors) ? &g->tensors[idx] : 0;
}

/** A constant the kernels cannot read as it is stored: it is decoded into the decode region. */
static inline int fr_is_encoded(const flyref_tensor *t)
{
    return t->data != 0 && (t->storage == FLYNET_STORAGE_PACKED || t->storage == FLYNET_STORAGE_S8 ||
                            t->storage == FLYNET_STORAGE_S16);
}

/* ---- flyref_decode.c ---- */

/** The unpacker of PACKED constant t (code table, then the stream; flyref_unpack.c). */
void fr_unpacker_of(fr_unpacker *u, const flyref_tensor *t);


/** A constant's storage agrees with its type; arena tensors ignore storage and bits. */
int fr_storage_ok(const flyref_tensor *t);

/** Element k (< element count) of a constant in any storage, as int32. */
int32_t fr_const_value(const flyref_tensor *t, int32_t k);

/** Elements [first, first + count) of an int32 constant (any storage) as int32. */
void fr_decode_s32(const flyref_tensor *t, int32_t first, int32_t count, int32_t *out);

/** 1 when input i of n is read as it is stored although encoded: the PACKED weights of a
 *  FULLY_CONNECTED (fr_fully_connected_packed_s8). */
int fr_reads_packed(const flyref_node *n, int32_t i, const flyref_tensor *t);

/** How a blocked node (PACKED weights of a one-group CONV2D or a DEPTHWISE_CONV2D; flynet_format.h,
 *  PLAN) splits into blocks. */
typedef struct fr_blocks {
    int32_t units;       /* output channels (conv) or input channels (depthwise) */
    int32_t ch_per_unit; /* output channels per unit: 1, or ch_mult for depthwise */
    int32_t c_out;       /* output channels of the node */
    int32_t unit_bytes;  /* decoded weights of one unit */
    int32_t per_block;   /* units per block (the last block may hold fewer) */
} fr_blocks;

/** 1 and *b when node n runs block by block, else 0. */
int fr_blocked(const flyref_graph *g, const flyref_node *n, fr_blocks *b);

/** Decodes units [u0, u0 + nu) of blocked node n (weights through u, the node's unpacker, and its
 *  per-channel encoded inputs) into their slots, and sets x[1..4] to what the kernel call on
 *  those channels reads: weights, bias (0 if absent), multipliers, shifts; a per-tensor (count
 *  1) input is the node's whole one. u = 0: the weights are left packed (x[1] = 0), for a
 *  kernel that reads them as stored (fr_conv2d_1x1_s8_packed). */
void fr_decode_block(const flyref_graph *g, const flyref_node *n, uint8_t *arena, const fr_blocks *b,
                     const fr_unpacker *u, int32_t u0, int32_t nu, const void *x[5]);

/** Where input i of n (encoded) is decoded: its slot in the node's decode region. */
uint8_t *fr_decode_dest(const flyref_graph *g, const flyref_node *n, uint8_t *arena, int32_t i);

/** Bytes of the node's decode region; 0 with *ok = 0 when it does not fit in 31 bits. */
uint32_t fr_decode_needed(const flyref_graph *g, const flyref_node *n, int *ok);

/** Decodes the node's encoded inputs into its decode region (prepare sized it), except those a
 *  blocked node decodes block by block. */
flyref_status fr_decode_inputs(const flyref_graph *g, const flyref_node *n, uint8_t *arena, size_t arena_size);

/** Data of input i as the kernel reads it: decoded copy, constant data or arena tensor. */
const void *fr_node_input(const flyref_graph *g, const flyref_node *n, uint8_t *arena, int32_t i);

/* ---- flyref_op_adapters.c ---- */

/** Checks node n against its tensors and the op's rules; *scratch = the scratch bytes it needs. */
flyref_status fr_op_prepare(const flyref_graph *g, const flyref_node *n, uint32_t *scratch);

/** Runs node n (prepared, encoded inputs decoded) on arena. */
flyref_status fr_op_eval(const flyref_graph *g, const flyref_node *n, uint8_t *arena);

/** Index of the input op may leave absent (-1: the bias of the weighted ops), else -1. */
int32_t fr_op_optional_input(int32_t op);

#endif /* FLYREF_INTERP_INTERNAL_H_ */
