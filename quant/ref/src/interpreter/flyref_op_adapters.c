/*
 * The op adapters: a const op table of {prepare, eval} indexed by flynet_op. prepare validates the
 * node against its tensors and reports scratch; eval builds the kernel's parameter struct from the
 * node's record and tensors and calls the kernel. Encoded inputs are already decoded when eval
 * runs (flyref_decode.c), so the kernels only ever see plain int8/int32 arrays.
 */

#include "flyref_interp_internal.h"

typedef flyref_status (*fr_prepare_fn)(const flyref_graph *g, const flyref_node *n, uint32_t *scratch);
typedef flyref_status (*fr_eval_fn)(const flyref_graph *g, const flyref_node *n, uint8_t *arena);

typedef struct fr_op {
    fr_prepare_fn prepare;
    fr_eval_fn eval;
} fr_op;

/* ---------------------------------------------------------------- tensor helpers */

static const flyref_tensor *in_t(const flyref_graph *g, const flyref_node *n, int32_t i)
{
    return i < n->num_inputs ? fr_tensor(g, n->inputs[i]) : 0;
}

static const flyref_tensor *out_t(const flyref_graph *g, const flyref_node *n, int32_t i)
{
    return i < n->num_outputs ? fr_tensor(g, n->outputs[i]) : 0;
}

static const int8_t *in8(const flyref_graph *g, const flyref_node *n, uint8_t *arena, int32_t i)
{
    return (const int8_t *)fr_node_input(g, n, arena, i);
}

static const int32_t *in32(const flyref_graph *g, const flyref_node *n, uint8_t *arena, int32_t i)
{
    if (i >= n->num_inputs || n->inputs[i] < 0) return 0;
    return (const int32_t *)fr_node_input(g, n, arena, i);
}

static int8_t *out8(const flyref_graph *g, const flyref_node *n, uint8_t *arena, int32_t i)
{
    const flyref_tensor *t = out_t(g, n, i);
    return t != 0 ? (int8_t *)(arena + t->arena_offset) : 0;
}

static int is_s8(const flyref_tensor *t) { return t != 0 && t->type == FLYNET_TYPE_INT8; }
static int is_s32(const flyref_tensor *t) { return t != 0 && t->type == FLYNET_TYPE_INT32; }
static int32_t count_of(const flyref_tensor *t) { return fr_dims_count(&t->dims); }

/** Common node checks: arity, int8 arena outputs, params present. */
static flyref_status check_node(const flyref_graph *g, const flyref_node *n, int32_t min_in,
                                int32_t max_in, int32_t outs)
{
    int32_t i;
    if (n->num_inputs < min_in || n->num_inputs > max_in || n->num_outputs != outs ||
        (n->params == 0 && n->op != FLYNET_OP_MAXIMUM)) { /* MAXIMUM has no record */
        return FLYREF_FORMAT_ERROR;
    }
    for (i = 0; i < outs; ++i) {
        const flyref_tensor *t = out_t(g, n, i);
        if (!is_s8(t) || t->data != 0 || flyref_tensor_bytes(t) == 0) return FLYREF_FORMAT_ERROR;
    }
    return FLYREF_OK;
}

static flyref_activation act_of(int32_t lo, int32_t hi)
{
    flyref_activation a;
    a.min = lo;
    a.max = hi;
    return a;
}

/* ---------------------------------------------------------------- conv / depthwise / fc */

/* Inputs x, w, bias (opt), mult, shift; mult/shift are constant int32 vectors. */
static flyref_status weighted_check(const flyref_graph *g, const flyref_node *n, int32_t out_c)
{
    const flyref_tensor *x = in_t(g, n, 0), *w = in_t(g, n, 1), *m = in_t(g, n, 3), *s = in_t(g, n, 4);
    int32_t i, count;
    flyref_status st = check_node(g, n, 5, 5, 1);
    if (st != FLYREF_OK) return st;
    if (!is_s8(x) || !is_s8(w) || w->data == 0 || !is_s32(m) || !is_s32(s) || m->data == 0 || s->data == 0) {
        return FLYREF_FORMAT_ERROR;
    }
    if (n->inputs[2] >= 0) {
        const flyref_tensor *b = in_t(g, n, 2);
        if (!is_s32(b) || b->data == 0 || count_of(b) != out_c) return FLYREF_FORMAT_ERROR;
    }
    if (count_of(m) != count_of(s)) return FLYREF_FORMAT_ERROR;
    /* The values are read through const_value: mult and shift may still be encoded here. */
    count = count_of(m);
    if (count != 1 && count != out_c) return FLYREF_ARG_ERROR;
    for (i = 0; i < count; ++i) {
        if (!fr_mult_ok(fr_const_value(m, i), fr_const_value(s, i))) return FLYREF_ARG_ERROR;
    }
    return FLYREF_OK;
}

static void conv_params(const flyref_graph *g, const flyref_node *n, uint8_t *arena, flyref_conv_params *p,
                        flyref_quant_params *q)
{
    const flynet_conv2d_params *r = (const flynet_conv2d_params *)n->params;
    const flyref_tensor *m = in_t(g, n, 3);
    p->input_offset = -in_t(g, n, 0)->zero_point;
    p->output_offset = out_t(g, n, 0)->zero_point;
    p->stride_h = r->stride_h;
    p->stride_w = r->stride_w;
    p->pad_h = r->pad_h;
    p->pad_w = r->pad_w;
    p->dilation_h = r->dilation_h;
    p->dilation_w = r->dilation_w;
    p->activation = act_of(r->act_min, r->act_max);
    p->rounding = r->rounding;
    q->multiplier = in32(g, n, arena, 3);
    q->shift = in32(g, n, arena, 4);
    q->count = count_of(m);
}

static flyref_status conv_prepare(const flyref_graph *g, const flyref_node *n, uint32_t *scratch)
{
    flyref_conv_params p;
    flyref_quant_params q;
    const flyref_tensor *x, *w, *o;
    flyref_status st = check_node(g, n, 5, 5, 1);
    if (st != FLYREF_OK) return st;
    x = in_t(g, n, 0);
    w = in_t(g, n, 1);
    o = out_t(g, n, 0);
    if (x == 0 || w == 0) return FLYREF_FORMAT_ERROR;
    st = weighted_check(g, n, w->dims.n);
    if (st != FLYREF_OK) return st;
    if (w->dims.c < 1 || x->dims.c % w->dims.c != 0 || w->dims.n % (x->dims.c / w->dims.c) != 0 ||
        o->dims.c != w->dims.n || o->dims.n != x->dims.n) {
        return FLYREF_SHAPE_ERROR;
    }
    conv_params(g, n, 0, &p, &q);
    *scratch = (uint32_t)flyref_conv2d_wrapper_s8_buffer_size(&p, &x->dims, &w->dims);
    return FLYREF_OK;
}

static flyref_status conv_eval(const flyref_graph *g, const flyref_node *n, uint8_t *arena)
{
    flyref_conv_params p;
    flyref_quant_params q;
    flyref_context ctx;
    conv_params(g, n, arena, &p, &q);
    ctx.buf = n->scratch_size > 0 ? arena + n->scratch_offset : 0;
    ctx.size = (int32_t)n->scratch_size;
    return flyref_conv2d_wrapper_s8(&ctx, &p, &q, &in_t(g, n, 0)->dims, in8(g, n, arena, 0),
                                    &in_t(g, n, 1)->dims, in8(g, n, arena, 1), in32(g, n, arena, 2),
                                    &out_t(g, n, 0)->dims, out8(g, n, arena, 0));
}

static flyref_status dw_prepare(const flyref_graph *g, const flyref_node *n, uint32_t *scratch)
{
    const flyref_tensor *x, *w, *o;
    flyref_status st = check_node(g, n, 5, 5, 1);
    if (st != FLYREF_OK) return st;
    x = in_t(g, n, 0);
    w = in_t(g, n, 1);
    o = out_t(g, n, 0);
    if (x == 0 || w == 0) return FLYREF_FORMAT_ERROR;
    st = weighted_check(g, n, o->dims.c);
    if (st != FLYREF_OK) return st;
    if (o->dims.c % x->dims.c != 0 || w->dims.n != 1 || w->dims.c != o->dims.c || o->dims.n != x->dims.n) {
        return FLYREF_SHAPE_ERROR;
    }
    *scratch = 0;
    return FLYREF_OK;
}

static flyref_status dw_eval(const flyref_graph *g, const flyref_node *n, uint8_t *arena)
{
    flyref_conv_params p;
    flyref_quant_params q;
    const flyref_tensor *x = in_t(g, n, 0);
    conv_params(g, n, arena, &p, &q);
    return flyref_depthwise_conv2d_s8(&p, out_t(g, n, 0)->dims.c / x->dims.c, &q, &x->dims,
                                      in8(g, n, arena, 0), &in_t(g, n, 1)->dims, in8(g, n, arena, 1),
                                      in32(g, n, arena, 2), &out_t(g, n, 0)->dims, out8(g, n, arena, 0));
}

static flyref_status fc_prepare(const flyref_graph *g, const flyref_node *n, uint32_t *scratch)
{
    const flyref_tensor *x, *w, *o;
    flyref_status st = check_node(g, n, 5, 5, 1);
    if (st != FLYREF_OK) return st;
    x = in_t(g, n, 0);
    w = in_t(g, n, 1);
    o = out_t(g, n, 0);
    if (x == 0 || w == 0) return FLYREF_FORMAT_ERROR;
    st = weighted_check(g, n, w->dims.n);
    if (st != FLYREF_OK) return st;
    if ((int64_t)x->dims.h * x->dims.w * x->dims.c != (int64_t)w->dims.h * w->dims.w * w->dims.c ||
        o->dims.n != x->dims.n || (int64_t)o->dims.h * o->dims.w * o->dims.c != w->dims.n) {
        return FLYREF_SHAPE_ERROR;
    }
    *scratch = 0;
    return FLYREF_OK;
}

/* FC with PACKED weights: decode R rows, run the kernel on those output channels (one batch
 * row at a time, so the output stays in place), next R rows. Output channels are independent,
 * so the integers are those of one call on the whole matrix. */
static flyref_status fc_eval_blocked(const flyref_graph *g, const flyref_node *n, uint8_t *arena,
                                     const flyref_fc_params *p)
{
    const flyref_tensor *x = in_t(g, n, 0), *w = in_t(g, n, 1), *m = in_t(g, n, 3);
    const int32_t c_out = w->dims.n, k = w->dims.h * w->dims.w * w->dims.c, rows = fr_fc_block_rows(w);
    const int32_t count = count_of(m), batches = x->dims.n;
    int8_t *block = (int8_t *)fr_decode_dest(g, n, arena, 1);
    const int8_t *xin = in8(g, n, arena, 0);
    const int32_t *bias = in32(g, n, arena, 2), *mult = in32(g, n, arena, 3), *shift = in32(g, n, arena, 4);
    int8_t *yout = out8(g, n, arena, 0);
    int32_t c0, b;
    for (c0 = 0; c0 < c_out; c0 += rows) {
        const int32_t r = c_out - c0 < rows ? c_out - c0 : rows;
        flyref_dims xd, wd, od;
        flyref_quant_params q;
        fr_unpack_range(w, c0 * k, r * k, block);
        xd.n = 1;
        xd.h = x->dims.h;
        xd.w = x->dims.w;
        xd.c = x->dims.c;
        wd.n = r;
        wd.h = wd.w = 1;
        wd.c = k;
        od.n = od.h = od.w = 1;
        od.c = r;
        q.multiplier = count == 1 ? mult : mult + c0;
        q.shift = count == 1 ? shift : shift + c0;
        q.count = count == 1 ? 1 : r;
        for (b = 0; b < batches; ++b) {
            const flyref_status st = flyref_fully_connected_s8(p, &q, &xd, xin + (int64_t)b * k, &wd, block,
                                                               bias != 0 ? bias + c0 : 0, &od,
                                                               yout + (int64_t)b * c_out + c0);
            if (st != FLYREF_OK) return st;
        }
    }
    return FLYREF_OK;
}

static flyref_status fc_eval(const flyref_graph *g, const flyref_node *n, uint8_t *arena)
{
    const flynet_fully_connected_params *r = (const flynet_fully_connected_params *)n->params;
    flyref_fc_params p;
    flyref_quant_params q;
    const flyref_tensor *m = in_t(g, n, 3);
    p.input_offset = -in_t(g, n, 0)->zero_point;
    p.filter_offset = r->filter_offset;
    p.output_offset = out_t(g, n, 0)->zero_point;
    p.activation = act_of(r->act_min, r->act_max);
    p.rounding = r->rounding;
    if (fr_fc_blocked(n, 1, in_t(g, n, 1))) return fc_eval_blocked(g, n, arena, &p);
    q.multiplier = in32(g, n, arena, 3);
    q.shift = in32(g, n, arena, 4);
    q.count = count_of(m);
    return flyref_fully_connected_s8(&p, &q, &in_t(g, n, 0)->dims, in8(g, n, arena, 0), &in_t(g, n, 1)->dims,
                                     in8(g, n, arena, 1), in32(g, n, arena, 2), &out_t(g, n, 0)->dims,
                                     out8(g, n, arena, 0));
}

/* ---------------------------------------------------------------- elementwise */

static int bdim(int32_t i, int32_t o) { return i == o || i == 1; }

static flyref_status binary_prepare(const flyref_graph *g, const flyref_node *n, uint32_t *scratch)
{
    const flyref_tensor *a, *b, *o;
    flyref_status st = check_node(g, n, 2, 2, 1);
    if (st != FLYREF_OK) return st;
    a = in_t(g, n, 0);
    b = in_t(g, n, 1);
    o = out_t(g, n, 0);
    if (!is_s8(a) || !is_s8(b)) return FLYREF_FORMAT_ERROR;
    if (!bdim(a->dims.n, o->dims.n) || !bdim(a->dims.h, o->dims.h) || !bdim(a->dims.w, o->dims.w) ||
        !bdim(a->dims.c, o->dims.c) || !bdim(b->dims.n, o->dims.n) || !bdim(b->dims.h, o->dims.h) ||
        !bdim(b->dims.w, o->dims.w) || !bdim(b->dims.c, o->dims.c)) {
        return FLYREF_SHAPE_ERROR;
    }
    if (n->op == FLYNET_OP_MAXIMUM && (a->zero_point != o->zero_point || b->zero_point != o->zero_point)) {
        return FLYREF_ARG_ERROR;
    }
    *scratch = 0;
    return FLYREF_OK;
}

static flyref_status add_eval(const flyref_graph *g, const flyref_node *n, uint8_t *arena)
{
    const flynet_add_params *r = (const flynet_add_params *)n->params;
    flyref_add_params p;
    p.input1_offset = -in_t(g, n, 0)->zero_point;
    p.input2_offset = -in_t(g, n, 1)->zero_point;
    p.left_shift = r->left_shift;
    p.input1_multiplier = r->input1_multiplier;
    p.input1_shift = r->input1_shift;
    p.input2_multiplier = r->input2_multiplier;
    p.input2_shift = r->input2_shift;
    p.output_multiplier = r->output_multiplier;
    p.output_shift = r->output_shift;
    p.output_offset = out_t(g, n, 0)->zero_point;
    p.activation = act_of(r->act_min, r->act_max);
    p.rounding = r->rounding;
    return flyref_add_s8(&p, &in_t(g, n, 0)->dims, in8(g, n, arena, 0), &in_t(g, n, 1)->dims,
                         in8(g, n, arena, 1), &out_t(g, n, 0)->dims, out8(g, n, arena, 0));
}

static flyref_status mul_eval(const flyref_graph *g, const flyref_node *n, uint8_t *arena)
{
    const flynet_mul_params *r = (const flynet_mul_params *)n->params;
    flyref_mul_params p;
    p.input1_offset = -in_t(g, n, 0)->zero_point;
    p.input2_offset = -in_t(g, n, 1)->zero_point;
    p.output_multiplier = r->output_multiplier;
    p.output_shift = r->output_shift;
    p.output_offset = out_t(g, n, 0)->zero_point;
    p.activation = act_of(r->act_min, r->act_max);
    p.rounding = r->rounding;
    return flyref_mul_s8(&p, &in_t(g, n, 0)->dims, in8(g, n, arena, 0), &in_t(g, n, 1)->dims,
                         in8(g, n, arena, 1), &out_t(g, n, 0)->dims, out8(g, n, arena, 0));
}

static flyref_status max_eval(const flyref_graph *g, const flyref_node *n, uint8_t *arena)
{
    return flyref_maximum_s8(&in_t(g, n, 0)->dims, in8(g, n, arena, 0), &in_t(g, n, 1)->dims,
                             in8(g, n, arena, 1), &out_t(g, n, 0)->dims, out8(g, n, arena, 0));
}

/* ---------------------------------------------------------------- unary ops */

/** One int8 input; same_count: output has as many elements as the input. */
static flyref_status unary_check(const flyref_graph *g, const flyref_node *n, int same_count)
{
    const flyref_tensor *x;
    flyref_status st = check_node(g, n, 1, 1, 1);
    if (st != FLYREF_OK) return st;
    x = in_t(g, n, 0);
    if (!is_s8(x) || flyref_tensor_bytes(x) == 0) return FLYREF_FORMAT_ERROR;
    if (same_count && count_of(x) != count_of(out_t(g, n, 0))) return FLYREF_SHAPE_ERROR;
    return FLYREF_OK;
}

static flyref_status pool_prepare(const flyref_graph *g, const flyref_node *n, uint32_t *scratch)
{
    flyref_status st = unary_check(g, n, 0);
    if (st != FLYREF_OK) return st;
    if (in_t(g, n, 0)->zero_point != out_t(g, n, 0)->zero_point) return FLYREF_ARG_ERROR;
    if (in_t(g, n, 0)->dims.c != out_t(g, n, 0)->dims.c || in_t(g, n, 0)->dims.n != out_t(g, n, 0)->dims.n) {
        return FLYREF_SHAPE_ERROR;
    }
    *scratch = 0;
    return FLYREF_OK;
}

static void pool_params(const flyref_node *n, flyref_pool_params *p)
{
    const flynet_pool2d_params *r = (const flynet_pool2d_params *)n->params;
    p->filter_h = r->filter_h;
    p->filter_w = r->filter_w;
    p->stride_h = r->stride_h;
    p->stride_w = r->stride_w;
    p->pad_h = r->pad_h;
    p->pad_w = r->pad_w;
    p->activation = act_of(r->act_min, r->act_max);
}

static flyref_status avg_pool_eval(const flyref_graph *g, const flyref_node *n, uint8_t *arena)
{
    flyref_pool_params p;
    pool_params(n, &p);
    return flyref_avg_pool_s8(&p, &in_t(g, n, 0)->dims, in8(g, n, arena, 0), &out_t(g, n, 0)->dims,
                              out8(g, n, arena, 0));
}

static flyref_status max_pool_eval(const flyref_graph *g, const flyref_node *n, uint8_t *arena)
{
    flyref_pool_params p;
    pool_params(n, &p);
    return flyref_max_pool_s8(&p, &in_t(g, n, 0)->dims, in8(g, n, arena, 0), &out_t(g, n, 0)->dims,
                              out8(g, n, arena, 0));
}

static int32_t softmax_row(const flyref_graph *g, const flyref_node *n)
{
    const flynet_softmax_params *r = (const flynet_softmax_params *)n->params;
    return r->row_size > 0 ? r->row_size : in_t(g, n, 0)->dims.c;
}

static flyref_status softmax_prepare(const flyref_graph *g, const flyref_node *n, uint32_t *scratch)
{
    flyref_status st = unary_check(g, n, 1);
    if (st != FLYREF_OK) return st;
    if (softmax_row(g, n) < 1 || count_of(in_t(g, n, 0)) % softmax_row(g, n) != 0) return FLYREF_SHAPE_ERROR;
    if (out_t(g, n, 0)->zero_point != -128) return FLYREF_ARG_ERROR;
    *scratch = 0;
    return FLYREF_OK;
}

static flyref_status softmax_eval(const flyref_graph *g, const flyref_node *n, uint8_t *arena)
{
    const flynet_softmax_params *r = (const flynet_softmax_params *)n->params;
    flyref_softmax_params p;
    const int32_t row = softmax_row(g, n);
    p.input_multiplier = r->input_multiplier;
    p.input_left_shift = r->input_left_shift;
    p.diff_min = r->diff_min;
    return flyref_softmax_s8(&p, count_of(in_t(g, n, 0)) / row, row, in8(g, n, arena, 0), out8(g, n, arena, 0));
}

static flyref_status same_count_prepare(const flyref_graph *g, const flyref_node *n, uint32_t *scratch)
{
    *scratch = 0;
    return unary_check(g, n, 1);
}

static flyref_status logistic_prepare(const flyref_graph *g, const flyref_node *n, uint32_t *scratch)
{
    flyref_status st = same_count_prepare(g, n, scratch);
    if (st == FLYREF_OK && out_t(g, n, 0)->zero_point != -128) st = FLYREF_ARG_ERROR;
    return st;
}

static flyref_status logistic_eval(const flyref_graph *g, const flyref_node *n, uint8_t *arena)
{
    const flynet_logistic_params *r = (const flynet_logistic_params *)n->params;
    flyref_logistic_params p;
    p.input_zero_point = in_t(g, n, 0)->zero_point;
    p.input_multiplier = r->input_multiplier;
    p.input_left_shift = r->input_left_shift;
    p.input_range_radius = r->input_range_radius;
    p.rounding = r->rounding;
    return flyref_logistic_s8(&p, count_of(in_t(g, n, 0)), in8(g, n, arena, 0), out8(g, n, arena, 0));
}

static flyref_status hard_swish_eval(const flyref_graph *g, const flyref_node *n, uint8_t *arena)
{
    const flynet_hard_swish_params *r = (const flynet_hard_swish_params *)n->params;
    flyref_hard_swish_params p;
    p.input_zero_point = in_t(g, n, 0)->zero_point;
    p.output_zero_point = out_t(g, n, 0)->zero_point;
    p.output_multiplier_int16 = r->output_multiplier_int16;
    p.output_exponent = r->output_exponent;
    p.reluish_multiplier_int16 = r->reluish_multiplier_int16;
    p.reluish_exponent = r->reluish_exponent;
    return flyref_hard_swish_s8(&p, count_of(in_t(g, n, 0)), in8(g, n, arena, 0), out8(g, n, arena, 0));
}

static flyref_status hard_sigmoid_eval(const flyref_graph *g, const flyref_node *n, uint8_t *arena)
{
    const flynet_hard_sigmoid_params *r = (const flynet_hard_sigmoid_params *)n->params;
    flyref_hard_sigmoid_params p;
    p.input_zero_point = in_t(g, n, 0)->zero_point;
    p.reluish_multiplier_int16 = r->reluish_multiplier_int16;
    p.reluish_exponent = r->reluish_exponent;
    p.output_multiplier = r->output_multiplier;
    p.output_shift = r->output_shift;
    p.output_offset = out_t(g, n, 0)->zero_point;
    p.activation = act_of(r->act_min, r->act_max);
    p.rounding = r->rounding;
    return flyref_hard_sigmoid_s8(&p, count_of(in_t(g, n, 0)), in8(g, n, arena, 0), out8(g, n, arena, 0));
}

static flyref_status requantize_eval(const flyref_graph *g, const flyref_node *n, uint8_t *arena)
{
    const flynet_requantize_params *r = (const flynet_requantize_params *)n->params;
    flyref_requantize_params p;
    p.input_offset = -in_t(g, n, 0)->zero_point;
    p.output_offset = out_t(g, n, 0)->zero_point;
    p.multiplier = r->multiplier;
    p.shift = r->shift;
    p.activation = act_of(r->act_min, r->act_max);
    p.rounding = r->rounding;
    return flyref_requantize_s8(&p, count_of(in_t(g, n, 0)), in8(g, n, arena, 0), out8(g, n, arena, 0));
}

static flyref_status max_group_prepare(const flyref_graph *g, const flyref_node *n, uint32_t *scratch)
{
    const flynet_max_group_params *r;
    const flyref_tensor *x, *o;
    flyref_status st = unary_check(g, n, 0);
    if (st != FLYREF_OK) return st;
    r = (const flynet_max_group_params *)n->params;
    x = in_t(g, n, 0);
    o = out_t(g, n, 0);
    if (r->group_size < 1 || (int64_t)o->dims.c * r->group_size != x->dims.c || o->dims.n != x->dims.n ||
        o->dims.h != x->dims.h || o->dims.w != x->dims.w) {
        return FLYREF_SHAPE_ERROR;
    }
    if (x->zero_point != o->zero_point) return FLYREF_ARG_ERROR;
    *scratch = 0;
    return FLYREF_OK;
}

static flyref_status max_group_eval(const flyref_graph *g, const flyref_node *n, uint8_t *arena)
{
    const flynet_max_group_params *r = (const flynet_max_group_params *)n->params;
    return flyref_max_group_s8(r->group_size, &in_t(g, n, 0)->dims, in8(g, n, arena, 0), &out_t(g, n, 0)->dims,
                               out8(g, n, arena, 0));
}

/* ---------------------------------------------------------------- data movement */

static flyref_status concat_prepare(const flyref_graph *g, const flyref_node *n, uint32_t *scratch)
{
    const flyref_tensor *o;
    int32_t i, total = 0;
    flyref_status st = check_node(g, n, 1, FLYREF_MAX_NODE_INPUTS, 1);
    if (st != FLYREF_OK) return st;
    if (((const flynet_concat_params *)n->params)->axis != 3) return FLYREF_ARG_ERROR;
    o = out_t(g, n, 0);
    for (i = 0; i < n->num_inputs; ++i) {
        const flyref_tensor *x = in_t(g, n, i);
        if (!is_s8(x) || flyref_tensor_bytes(x) == 0) return FLYREF_FORMAT_ERROR;
        if (x->dims.n != o->dims.n || x->dims.h != o->dims.h || x->dims.w != o->dims.w) return FLYREF_SHAPE_ERROR;
        if (x->zero_point != o->zero_point) return FLYREF_ARG_ERROR;
        total += x->dims.c;
    }
    if (total != o->dims.c) return FLYREF_SHAPE_ERROR;
    *scratch = 0;
    return FLYREF_OK;
}

static flyref_status concat_eval(const flyref_graph *g, const flyref_node *n, uint8_t *arena)
{
    const int8_t *ins[FLYREF_MAX_NODE_INPUTS];
    int32_t ch[FLYREF_MAX_NODE_INPUTS];
    const flyref_tensor *o = out_t(g, n, 0);
    int32_t i;
    for (i = 0; i < n->num_inputs; ++i) {
        ins[i] = in8(g, n, arena, i);
        ch[i] = in_t(g, n, i)->dims.c;
    }
    return flyref_concat_s8(n->num_inputs, ins, ch, o->dims.n * o->dims.h * o->dims.w, out8(g, n, arena, 0));
}

static flyref_status gather_prepare(const flyref_graph *g, const flyref_node *n, uint32_t *scratch)
{
    const flyref_tensor *x, *idx, *o;
    int32_t i;
    flyref_status st = check_node(g, n, 2, 2, 1);
    if (st != FLYREF_OK) return st;
    x = in_t(g, n, 0);
    idx = in_t(g, n, 1);
    o = out_t(g, n, 0);
    if (!is_s8(x) || !is_s32(idx) || idx->data == 0) return FLYREF_FORMAT_ERROR;
    if (count_of(idx) != o->dims.c || x->dims.n != o->dims.n || x->dims.h != o->dims.h || x->dims.w != o->dims.w) {
        return FLYREF_SHAPE_ERROR;
    }
    for (i = 0; i < o->dims.c; ++i) {
        const int32_t v = fr_const_value(idx, i);
        if (v < 0 || v >= x->dims.c) return FLYREF_ARG_ERROR;
    }
    if (x->zero_point != o->zero_point) return FLYREF_ARG_ERROR;
    *scratch = 0;
    return FLYREF_OK;
}

static flyref_status gather_eval(const flyref_graph *g, const flyref_node *n, uint8_t *arena)
{
    return flyref_channel_gather_s8(&in_t(g, n, 0)->dims, in8(g, n, arena, 0), in32(g, n, arena, 1),
                                    &out_t(g, n, 0)->dims, out8(g, n, arena, 0));
}

/* ---------------------------------------------------------------- VA-ECA */

static flyref_status vaeca_prepare(const flyref_graph *g, const flyref_node *n, uint32_t *scratch)
{
    const flyref_tensor *z, *m, *s;
    flyref_status st = check_node(g, n, 1, 1, 2);
    if (st != FLYREF_OK) return st;
    z = in_t(g, n, 0);
    m = out_t(g, n, 0);
    s = out_t(g, n, 1);
    if (!is_s8(z)) return FLYREF_FORMAT_ERROR;
    if (m->dims.n != z->dims.n || s->dims.n != z->dims.n || count_of(m) != z->dims.n * z->dims.c ||
        count_of(s) != z->dims.n * z->dims.c || m->dims.c != z->dims.c || s->dims.c != z->dims.c) {
        return FLYREF_SHAPE_ERROR;
    }
    *scratch = 0;
    return FLYREF_OK;
}

static flyref_status vaeca_eval(const flyref_graph *g, const flyref_node *n, uint8_t *arena)
{
    const flynet_vaeca_descriptor_params *r = (const flynet_vaeca_descriptor_params *)n->params;
    flyref_vaeca_descriptor_params p;
    p.input_offset = -in_t(g, n, 0)->zero_point;
    p.mean_multiplier = r->mean_multiplier;
    p.mean_shift = r->mean_shift;
    p.mean_offset = out_t(g, n, 0)->zero_point;
    p.std_multiplier = r->std_multiplier;
    p.std_shift = r->std_shift;
    p.std_offset = out_t(g, n, 1)->zero_point;
    p.eps_q = ((uint64_t)r->eps_q_hi << 32) | r->eps_q_lo;
    p.sqrt_frac_bits = r->sqrt_frac_bits;
    p.rounding = r->rounding;
    return flyref_vaeca_descriptor_s8(&p, &in_t(g, n, 0)->dims, in8(g, n, arena, 0), out8(g, n, arena, 0),
                                      out8(g, n, arena, 1));
}

static flyref_status eca_prepare(const flyref_graph *g, const flyref_node *n, uint32_t *scratch)
{
    const flyref_tensor *m, *s, *w, *o;
    flyref_status st = check_node(g, n, 3, 3, 1);
    if (st != FLYREF_OK) return st;
    m = in_t(g, n, 0);
    s = in_t(g, n, 1);
    w = in_t(g, n, 2);
    o = out_t(g, n, 0);
    if (!is_s8(m) || !is_s8(s) || !is_s8(w) || w->data == 0) return FLYREF_FORMAT_ERROR;
    if (m->dims.n != o->dims.n || m->dims.h != 1 || m->dims.w != 1 || m->dims.c != o->dims.c ||
        s->dims.n != m->dims.n || s->dims.h != 1 || s->dims.w != 1 || s->dims.c != m->dims.c ||
        count_of(o) != count_of(m)) {
        return FLYREF_SHAPE_ERROR;
    }
    *scratch = 0;
    return FLYREF_OK;
}

static flyref_status eca_eval(const flyref_graph *g, const flyref_node *n, uint8_t *arena)
{
    const flynet_eca_conv1d_params *r = (const flynet_eca_conv1d_params *)n->params;
    flyref_eca_conv1d_params p;
    p.heads = r->heads;
    p.mean_offset = -in_t(g, n, 0)->zero_point;
    p.std_offset = -in_t(g, n, 1)->zero_point;
    p.mean_multiplier = r->mean_multiplier;
    p.mean_shift = r->mean_shift;
    p.std_multiplier = r->std_multiplier;
    p.std_shift = r->std_shift;
    p.sum_shift = r->sum_shift;
    p.output_offset = out_t(g, n, 0)->zero_point;
    p.activation = act_of(r->act_min, r->act_max);
    p.rounding = r->rounding;
    return flyref_eca_conv1d_s8(&p, &in_t(g, n, 0)->dims, in8(g, n, arena, 0), in8(g, n, arena, 1),
                                &in_t(g, n, 2)->dims, in8(g, n, arena, 2), out8(g, n, arena, 0));
}

/* ---------------------------------------------------------------- op table */

static const fr_op k_ops[] = {
    [FLYNET_OP_INVALID] = {0, 0},
    [FLYNET_OP_CONV2D] = {conv_prepare, conv_eval},
    [FLYNET_OP_DEPTHWISE_CONV2D] = {dw_prepare, dw_eval},
    [FLYNET_OP_FULLY_CONNECTED] = {fc_prepare, fc_eval},
    [FLYNET_OP_ADD] = {binary_prepare, add_eval},
    [FLYNET_OP_MUL] = {binary_prepare, mul_eval},
    [FLYNET_OP_MAXIMUM] = {binary_prepare, max_eval},
    [FLYNET_OP_AVG_POOL2D] = {pool_prepare, avg_pool_eval},
    [FLYNET_OP_MAX_POOL2D] = {pool_prepare, max_pool_eval},
    [FLYNET_OP_SOFTMAX] = {softmax_prepare, softmax_eval},
    [FLYNET_OP_HARD_SWISH] = {same_count_prepare, hard_swish_eval},
    [FLYNET_OP_LOGISTIC] = {logistic_prepare, logistic_eval},
    [FLYNET_OP_HARD_SIGMOID] = {same_count_prepare, hard_sigmoid_eval},
    [FLYNET_OP_CONCAT] = {concat_prepare, concat_eval},
    [FLYNET_OP_CHANNEL_GATHER] = {gather_prepare, gather_eval},
    [FLYNET_OP_REQUANTIZE] = {same_count_prepare, requantize_eval},
    [FLYNET_OP_VAECA_DESCRIPTOR] = {vaeca_prepare, vaeca_eval},
    [FLYNET_OP_ECA_CONV1D] = {eca_prepare, eca_eval},
    [FLYNET_OP_MAX_GROUP] = {max_group_prepare, max_group_eval},
};

/* C99 compile-time check: the table reaches the last op code of flynet_format.h. */
typedef char flyref_op_table_covers_all_ops[(sizeof k_ops / sizeof k_ops[0] == FLYNET_OP_COUNT) ? 1 : -1];

/* The parameter records are ABI (flynet_format.h): all-int32 fields, so no padding anywhere. */
#define FR_RECORD_SIZE(type, n_fields) typedef char fr_size_##type[(sizeof(type) == 4u * (n_fields)) ? 1 : -1]
FR_RECORD_SIZE(flynet_tensor_record, 10);
FR_RECORD_SIZE(flynet_conv2d_params, 9);
FR_RECORD_SIZE(flynet_fully_connected_params, 4);
FR_RECORD_SIZE(flynet_add_params, 10);
FR_RECORD_SIZE(flynet_mul_params, 5);
FR_RECORD_SIZE(flynet_pool2d_params, 8);
FR_RECORD_SIZE(flynet_softmax_params, 4);
FR_RECORD_SIZE(flynet_logistic_params, 4);
FR_RECORD_SIZE(flynet_hard_swish_params, 4);
FR_RECORD_SIZE(flynet_hard_sigmoid_params, 7);
FR_RECORD_SIZE(flynet_concat_params, 1);
FR_RECORD_SIZE(flynet_channel_gather_params, 1);
FR_RECORD_SIZE(flynet_requantize_params, 5);
FR_RECORD_SIZE(flynet_vaeca_descriptor_params, 8);
FR_RECORD_SIZE(flynet_eca_conv1d_params, 9);
FR_RECORD_SIZE(flynet_max_group_params, 1);

int flyref_op_supported(int32_t op)
{
    return op > 0 && op < FLYNET_OP_COUNT && k_ops[op].prepare != 0 && k_ops[op].eval != 0;
}

flyref_status fr_op_prepare(const flyref_graph *g, const flyref_node *n, uint32_t *scratch)
{
    return k_ops[n->op].prepare(g, n, scratch);
}

flyref_status fr_op_eval(const flyref_graph *g, const flyref_node *n, uint8_t *arena)
{
    return k_ops[n->op].eval(g, n, arena);
}

int32_t fr_op_optional_input(int32_t op)
{
    const int weighted = op == FLYNET_OP_CONV2D || op == FLYNET_OP_DEPTHWISE_CONV2D || op == FLYNET_OP_FULLY_CONNECTED;
    return weighted ? 2 : -1;
}
