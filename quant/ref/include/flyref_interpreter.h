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
    const void *data;              /**< constant data, or NULL for an arena tensor */
} flyref_tensor;

typedef struct flyref_node {
    int32_t op;                    /**< flynet_op */
    int32_t num_inputs, num_outputs;
    int32_t inputs[FLYREF_MAX_NODE_INPUTS];   /**< tensor indices, -1 = absent optional input */
    int32_t outputs[FLYREF_MAX_NODE_OUTPUTS];
    const void *params;            /**< the op's flynet_*_params record (NULL for MAXIMUM) */
    uint32_t scratch_offset;       /**< arena offset of scratch (caller or flyref_plan_scratch) */
    uint32_t scratch_size;         /**< written by flyref_graph_prepare / flyref_plan_scratch */
} flyref_node;

typedef struct flyref_graph {
    const flyref_tensor *tensors;
    int32_t num_tensors;
    flyref_node *nodes;
    int32_t num_nodes;
} flyref_graph;

/** Validates every node (op code, arity, tensor types, shapes, parameter ranges), records each
 *  node's scratch size and checks that all arena tensors and scratch regions fit in arena_size.
 *  FLYREF_NO_IMPL for an unknown op, FLYREF_ARENA_TOO_SMALL when something does not fit,
 *  FLYREF_FORMAT_ERROR for bad indices/arity/types or a scratch region overlapping the node's own
 *  tensors, FLYREF_SHAPE_ERROR / FLYREF_ARG_ERROR for inconsistent shapes / parameters. Some
 *  parameter ranges (shifts, clamps of records) are checked by the kernels at invoke time. */
flyref_status flyref_graph_prepare(flyref_graph *graph, size_t arena_size);

/** Runs the nodes in order. Call flyref_graph_prepare first. */
flyref_status flyref_graph_invoke(const flyref_graph *graph, uint8_t *arena, size_t arena_size);

/** Simple planner: puts every node's scratch at one shared, aligned region after the last byte
 *  of all arena tensors (scratch only lives during its node), and returns the arena size needed.
 *  Tensor placement itself is the caller's (the offline planner is a later issue). */
flyref_status flyref_plan_scratch(flyref_graph *graph, size_t *arena_needed);

/** 1 when the op table has {prepare, eval} for op, else 0. */
int flyref_op_supported(int32_t op);

/** Data of tensor index in the given arena (constant data or arena + offset), NULL if invalid. */
const void *flyref_tensor_data(const flyref_graph *graph, const uint8_t *arena, int32_t index);

/** Byte size of a tensor (elements * element size), 0 if invalid. */
size_t flyref_tensor_bytes(const flyref_tensor *t);

#ifdef __cplusplus
}
#endif

#endif /* FLYREF_INTERPRETER_H_ */
