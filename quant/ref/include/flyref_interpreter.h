/*
 * flyref_interpreter.h -- runs a graph of flyref kernels on one caller-provided arena.
 *
 * The graph lives in caller memory: an array of tensor descriptors and an array of nodes. Each
 * node names an op code (flynet_format.h), its input/output tensor indices and a pointer to the
 * op's fixed-width parameter record (flynet_*_params). Activation tensors live in the arena at
 * their arena_offset; constants (weights, bias, multipliers, indices) point to their data.
 * Scratch for kernels (only conv2d's im2col patch today) is carved from the same arena at the
 * node's scratch_offset. No allocation, no I/O; every failure is a flyref_status.
 *
 * Encoded constants. A constant may be stored encoded (storage PACKED: int8 values as
 * bits-wide indices into a code table; S8 / S16: int32 values stored narrow), as in a .fly file
 * (flynet_format.h). The interpreter decodes a node's encoded inputs just before running it,
 * into the node's decode region at decode_offset (each input in input order at the next
 * multiple of 4; prepare computes decode_size), so the kernels see plain arrays and RAM holds
 * only one node's decoded constants at a time. Constants with storage 0 (ARENA) or RAW are used
 * in place. A .fly file is turned into such a graph by flyref_model_load (flyref_model.h).
 *
 * Per-node inputs (in order; "opt" may be -1):
 *   CONV2D, DEPTHWISE_CONV2D, FULLY_CONNECTED: x, w, bias (opt, int32), mult (int32), shift (int32)
 *   ADD, MUL, MAXIMUM: a, b                    POOLS, SOFTMAX, activations, REQUANTIZE, MAX_GROUP: x
 *   CONCAT: x0 .. x(n-1)                       CHANNEL_GATHER: x, index (int32)
 *   VAECA_DESCRIPTOR: z -> outputs mean, std   ECA_CONV1D: mean, std, w
 * Zero points (offsets) are taken from the tensors; everything else from the parameter record.
 *
 * Usage:
 *   flyref_graph g = { tensors, n_tensors, nodes, n_nodes };
 *   size_t need;
 *   if (flyref_plan_scratch(&g, &need) != FLYREF_OK || need > sizeof arena) ...;
 *   if (flyref_graph_prepare(&g, sizeof arena) != FLYREF_OK) ...;
 *   memcpy(arena + tensors[in].arena_offset, image, n);
 *   if (flyref_graph_invoke(&g, arena, sizeof arena) != FLYREF_OK) ...;
 *
 * Layer by layer (dump every node's output while running the deployed plan):
 *   for (k = 0; k < g.num_nodes; ++k) {
 *       if (flyref_graph_invoke_range(&g, arena, sizeof arena, k, k + 1) != FLYREF_OK) ...;
 *       use(arena + tensors[nodes[k].outputs[0]].arena_offset);   // valid until overwritten
 *   }
 */
#ifndef FLYREF_INTERPRETER_H_
#define FLYREF_INTERPRETER_H_

#include "flyref.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FLYREF_MAX_NODE_INPUTS 8
#define FLYREF_MAX_NODE_OUTPUTS 2
/** Alignment of the scratch region placed by flyref_plan_scratch. */
#define FLYREF_SCRATCH_ALIGN 16u

typedef struct flyref_tensor {
    flyref_dims dims;
    int32_t type;                  /**< flynet_type */
    int32_t zero_point;
    int32_t scale_multiplier, scale_shift; /**< informational */
    uint32_t arena_offset;         /**< used when data == NULL */
    const void *data;              /**< constant data as stored, or NULL for an arena tensor */
    int32_t storage;               /**< flynet_storage of a constant: 0 (ARENA) or RAW = data holds
                                        the values, 4-byte aligned for INT32; PACKED (INT8) = a
                                        2^bits-byte code table then the packed indices; S8 / S16
                                        (INT32) = narrow values. Ignored when data == NULL. */
    int32_t bits;                  /**< PACKED: bits per element, 1 .. 8 */
} flyref_tensor;

typedef struct flyref_node {
    int32_t op;                    /**< flynet_op */
    int32_t num_inputs, num_outputs;
    int32_t inputs[FLYREF_MAX_NODE_INPUTS];   /**< tensor indices, -1 = absent optional input */
    int32_t outputs[FLYREF_MAX_NODE_OUTPUTS];
    const void *params;            /**< the op's flynet_*_params record (NULL for MAXIMUM) */
    uint32_t scratch_offset;       /**< arena offset of scratch (caller or flyref_plan_scratch) */
    uint32_t scratch_size;         /**< written by flyref_graph_prepare / flyref_plan_scratch */
    uint32_t decode_offset;        /**< arena offset of the decode region, a multiple of 4 */
    uint32_t decode_size;          /**< written by flyref_graph_prepare / flyref_plan_scratch */
} flyref_node;

typedef struct flyref_graph {
    const flyref_tensor *tensors;
    int32_t num_tensors;
    flyref_node *nodes;
    int32_t num_nodes;
} flyref_graph;

/** Validates every node (op code, arity, tensor types and storage, shapes, parameter ranges),
 *  records each node's scratch and decode sizes and checks that all arena tensors, scratch and
 *  decode regions fit in arena_size. FLYREF_NO_IMPL for an unknown op, FLYREF_ARENA_TOO_SMALL
 *  when something does not fit, FLYREF_FORMAT_ERROR for bad indices/arity/types/storage, a
 *  misaligned decode region or a scratch/decode region overlapping the node's own tensors or
 *  each other, FLYREF_SHAPE_ERROR / FLYREF_ARG_ERROR for inconsistent shapes / parameters. Some
 *  parameter ranges (shifts, clamps of records) are checked by the kernels at invoke time. */
flyref_status flyref_graph_prepare(flyref_graph *graph, size_t arena_size);

/** Runs the nodes in order. Call flyref_graph_prepare first. arena must be 4-byte aligned when
 *  the graph has encoded INT32 constants (they are decoded through int32_t pointers). */
flyref_status flyref_graph_invoke(const flyref_graph *graph, uint8_t *arena, size_t arena_size);

/** Runs nodes begin .. end-1 only (0 <= begin <= end <= num_nodes, else FLYREF_ARG_ERROR), so a
 *  caller can read every node's output between nodes while the arena keeps the deployed plan.
 *  Running the ranges [0,k), [k,n) in turn equals one flyref_graph_invoke. */
flyref_status flyref_graph_invoke_range(const flyref_graph *graph, uint8_t *arena, size_t arena_size,
                                        int32_t begin, int32_t end);

/** Simple planner: puts every node's decode region and then its scratch at one shared, aligned
 *  region after the last byte of all arena tensors (both only live during their node), and
 *  returns the arena size needed. Tensor placement itself is the caller's (the offline planner
 *  of flynet export does it all: quant/include/flynet/quant/export.hpp). */
flyref_status flyref_plan_scratch(flyref_graph *graph, size_t *arena_needed);

/** 1 when the op table has {prepare, eval} for op, else 0. */
int flyref_op_supported(int32_t op);

/** Data of tensor index in the given arena (constant data or arena + offset), NULL if invalid
 *  or encoded (an encoded constant only exists decoded inside a node's decode region). */
const void *flyref_tensor_data(const flyref_graph *graph, const uint8_t *arena, int32_t index);

/** Byte size of a tensor (elements * element size), 0 if invalid. For a constant this is its
 *  decoded size, whatever its storage. */
size_t flyref_tensor_bytes(const flyref_tensor *t);

/** Decodes constant t (any storage) into out as plain int8 or int32 values (out 4-byte aligned
 *  for INT32). FLYREF_ARG_ERROR if t is not a constant, its storage is invalid or out_size <
 *  flyref_tensor_bytes(t). */
flyref_status flyref_tensor_decode(const flyref_tensor *t, void *out, size_t out_size);

/** out[k] = table[index k] for k < count, index k being bits [k*bits, (k+1)*bits) of packed, LSB
 *  first (bit j = bit j%8 of byte j/8). Reads exactly ceil(count*bits/8) bytes. bits 1 .. 8;
 *  does nothing for other widths or NULL pointers. */
void flyref_unpack_s8(const uint8_t *packed, int32_t bits, const int8_t *table, int32_t count, int8_t *out);

#ifdef __cplusplus
}
#endif

#endif /* FLYREF_INTERPRETER_H_ */
