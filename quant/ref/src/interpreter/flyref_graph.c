/*
 * The graph as a whole (flyref_interpreter.h): the checks every node gets before its op looks
 * at it (op code, arity bounds, tensor indices, constant storage), the simple planner that puts
 * each node's decode region and scratch after the tensors, prepare, which checks a given plan
 * against the arena, and the invoke loop (decode the node's encoded inputs, then its eval). What
 * one op checks and runs lives in flyref_op_adapters.c; the decode region's layout in
 * flyref_decode.c.
 */

#include "flyref_interp_internal.h"

static flyref_status graph_check(const flyref_graph *g)
{
    int32_t i, j;
    if (g == 0 || g->tensors == 0 || g->nodes == 0 || g->num_tensors < 0 || g->num_nodes < 0) {
        return FLYREF_ARG_ERROR;
    }
    for (i = 0; i < g->num_tensors; ++i) {
        if (!fr_storage_ok(&g->tensors[i])) return FLYREF_FORMAT_ERROR;
    }
    for (i = 0; i < g->num_nodes; ++i) {
        const flyref_node *n = &g->nodes[i];
        if (!flyref_op_supported(n->op)) return FLYREF_NO_IMPL;
        if (n->num_inputs < 0 || n->num_inputs > FLYREF_MAX_NODE_INPUTS || n->num_outputs < 1 ||
            n->num_outputs > FLYREF_MAX_NODE_OUTPUTS) {
            return FLYREF_FORMAT_ERROR;
        }
        for (j = 0; j < n->num_inputs; ++j) {
            /* -1 is allowed only for the optional bias of the weighted ops */
            if (n->inputs[j] == -1 && j == fr_op_optional_input(n->op)) continue;
            if (fr_tensor(g, n->inputs[j]) == 0 || flyref_tensor_bytes(fr_tensor(g, n->inputs[j])) == 0) {
                return FLYREF_FORMAT_ERROR;
            }
        }
        for (j = 0; j < n->num_outputs; ++j) {
            if (fr_tensor(g, n->outputs[j]) == 0) return FLYREF_FORMAT_ERROR;
        }
    }
    return FLYREF_OK;
}

static size_t tensors_end(const flyref_graph *g, int *overflow)
{
    size_t end = 0;
    int32_t i;
    *overflow = 0;
    for (i = 0; i < g->num_tensors; ++i) {
        const flyref_tensor *t = &g->tensors[i];
        size_t e;
        if (t->data != 0) continue;
        e = (size_t)t->arena_offset + flyref_tensor_bytes(t);
        if (e < (size_t)t->arena_offset) *overflow = 1;
        if (e > end) end = e;
    }
    return end;
}

flyref_status flyref_plan_scratch(flyref_graph *g, size_t *arena_needed)
{
    size_t end, base, need = 0;
    int overflow;
    int32_t i;
    flyref_status st = graph_check(g);
    if (st != FLYREF_OK) return st;
    if (arena_needed == 0) return FLYREF_ARG_ERROR;
    end = tensors_end(g, &overflow);
    if (overflow) return FLYREF_ARENA_TOO_SMALL;
    base = (end + (FLYREF_SCRATCH_ALIGN - 1u)) & ~(size_t)(FLYREF_SCRATCH_ALIGN - 1u);
    if (base > 0xFFFFFFFFu) return FLYREF_ARENA_TOO_SMALL;
    for (i = 0; i < g->num_nodes; ++i) {
        flyref_node *n = &g->nodes[i];
        uint32_t s = 0, d, d_end;
        int ok;
        st = fr_op_prepare(g, n, &s);
        if (st != FLYREF_OK) return st;
        d = fr_decode_needed(g, n, &ok);
        if (!ok) return FLYREF_ARENA_TOO_SMALL;
        /* One shared region after the tensors: the decode region, then the scratch. */
        d_end = (d + (FLYREF_SCRATCH_ALIGN - 1u)) & ~(uint32_t)(FLYREF_SCRATCH_ALIGN - 1u);
        n->scratch_size = s;
        n->decode_size = d;
        n->decode_offset = (uint32_t)base;
        n->scratch_offset = (uint32_t)base + d_end;
        if ((uint64_t)base + d_end + s > 0xFFFFFFFFu) return FLYREF_ARENA_TOO_SMALL;
        if (base + d_end + s > need) need = base + d_end + s;
    }
    *arena_needed = need > base ? need : base;
    return FLYREF_OK;
}

static int overlaps(size_t a, size_t an, size_t b, size_t bn) { return a < b + bn && b < a + an; }

/* A node's scratch or decode region must lie in the arena and clear of the node's own arena
 * tensors. */
static flyref_status region_check(const flyref_graph *g, const flyref_node *n, uint32_t offset, uint32_t size,
                                  size_t arena_size)
{
    int32_t j;
    if (size == 0) return FLYREF_OK;
    if ((size_t)offset + size > arena_size || (size_t)offset + size < size) return FLYREF_ARENA_TOO_SMALL;
    for (j = 0; j < n->num_inputs + n->num_outputs; ++j) {
        const int32_t idx = j < n->num_inputs ? n->inputs[j] : n->outputs[j - n->num_inputs];
        const flyref_tensor *t = fr_tensor(g, idx);
        if (t != 0 && t->data == 0 && overlaps(t->arena_offset, flyref_tensor_bytes(t), offset, size)) {
            return FLYREF_FORMAT_ERROR;
        }
    }
    return FLYREF_OK;
}

flyref_status flyref_graph_prepare(flyref_graph *g, size_t arena_size)
{
    int overflow;
    int32_t i;
    flyref_status st = graph_check(g);
    if (st != FLYREF_OK) return st;
    if (tensors_end(g, &overflow) > arena_size || overflow) return FLYREF_ARENA_TOO_SMALL;
    for (i = 0; i < g->num_nodes; ++i) {
        flyref_node *n = &g->nodes[i];
        uint32_t s = 0, d;
        int ok;
        st = fr_op_prepare(g, n, &s);
        if (st != FLYREF_OK) return st;
        n->scratch_size = s;
        d = fr_decode_needed(g, n, &ok);
        if (!ok) return FLYREF_ARENA_TOO_SMALL;
        n->decode_size = d;
        st = region_check(g, n, n->scratch_offset, s, arena_size);
        if (st != FLYREF_OK) return st;
        st = region_check(g, n, n->decode_offset, d, arena_size);
        if (st != FLYREF_OK) return st;
        if (d > 0) {
            /* decoded int32 values are stored through int32_t pointers */
            if ((n->decode_offset & 3u) != 0) return FLYREF_FORMAT_ERROR;
            if (s > 0 && overlaps(n->scratch_offset, s, n->decode_offset, d)) return FLYREF_FORMAT_ERROR;
        }
    }
    return FLYREF_OK;
}

flyref_status flyref_graph_invoke_range(const flyref_graph *g, uint8_t *arena, size_t arena_size, int32_t begin,
                                        int32_t end)
{
    int overflow;
    int32_t i;
    flyref_status st = graph_check(g);
    if (st != FLYREF_OK) return st;
    if (arena == 0 || begin < 0 || end < begin || end > g->num_nodes) return FLYREF_ARG_ERROR;
    if (tensors_end(g, &overflow) > arena_size || overflow) return FLYREF_ARENA_TOO_SMALL;
    for (i = begin; i < end; ++i) {
        const flyref_node *n = &g->nodes[i];
        if (n->scratch_size > 0 && (size_t)n->scratch_offset + n->scratch_size > arena_size) {
            return FLYREF_ARENA_TOO_SMALL;
        }
        st = fr_decode_inputs(g, n, arena, arena_size);
        if (st != FLYREF_OK) return st;
        st = fr_op_eval(g, n, arena);
        if (st != FLYREF_OK) return st;
    }
    return FLYREF_OK;
}

flyref_status flyref_graph_invoke(const flyref_graph *g, uint8_t *arena, size_t arena_size)
{
    if (g == 0) return FLYREF_ARG_ERROR;
    return flyref_graph_invoke_range(g, arena, arena_size, 0, g->num_nodes);
}
