/*
 * The ops as the interpreter sees them: a const table with one row per flynet_op, and the
 * adapters the rows name. A row states what a node of the op looks like (arity, parameter
 * record, which input may be absent), which checks it shares with other ops, its own checks,
 * and its eval. fr_op_prepare applies a row to a node; an eval builds the kernel's parameter
 * struct from the node's record and tensors and calls the kernel. Encoded inputs are already
 * decoded when an eval runs (flyref_decode.c), so the kernels only ever see plain int8/int32.
 *
 * Why rows: most ops differ only in arity and a few shared rules, which a row says in one line;
 * what is left as functions is what is really op-specific (shape rules, record -> parameters).
 */

#include "flyref_interp_internal.h"

/* A node as its checks and eval read it. graph_check has run: in[i] exists for i < num_inputs
 * (except an absent optional bias, 0) with a valid size, and out[i] for i < num_outputs. */
typedef struct fr_args {
    const flyref_graph *g;
    const flyref_node *n;
    const void *record;                               /* the op's flynet_*_params record */
    const flyref_tensor *in[FLYREF_MAX_NODE_INPUTS];  /* 0 past num_inputs */
    const flyref_tensor *out[FLYREF_MAX_NODE_OUTPUTS];
    /* Eval only; 0 in prepare. */
    uint8_t *arena;
    const void *x[FLYREF_MAX_NODE_INPUTS];            /* input data as the kernel reads it */
    int8_t *y[FLYREF_MAX_NODE_OUTPUTS];               /* output data */
} fr_args;

/* What a row says about a node besides its arity. fr_op_prepare checks, in this order: arity and
 * the record (unless FR_NO_RECORD), outputs int8 arena tensors, FR_S8_IN, FR_SAME_COUNT, the op's
 * own check, FR_PROB_OUT; then asks for the scratch size. */
enum {
    FR_NO_RECORD = 1,  /* the op has no parameter record (MAXIMUM) */
    FR_OPT_BIAS = 2,   /* input 2, the bias of the weighted ops, may be -1 (absent) */
    FR_S8_IN = 4,      /* every input is int8 (else FLYREF_FORMAT_ERROR) */
    FR_SAME_COUNT = 8, /* output 0 has as many elements as input 0 (else FLYREF_SHAPE_ERROR) */
    FR_PROB_OUT = 16,  /* output 0 is a probability: zero point -128 (else FLYREF_ARG_ERROR) */
    FR_UNARY = FR_S8_IN | FR_SAME_COUNT,
    FR_MAX_IN = FLYREF_MAX_NODE_INPUTS /* short for the table */
};

typedef flyref_status (*fr_check_fn)(const fr_args *a);
typedef uint32_t (*fr_scratch_fn)(const fr_args *a);
typedef flyref_status (*fr_eval_fn)(const fr_args *a);

typedef struct fr_op {
    int32_t min_inputs, max_inputs, outputs;
    int32_t rules;         /* FR_* */
    fr_check_fn check;     /* the op's own checks; 0 = none */
    fr_scratch_fn scratch; /* scratch bytes, once the checks pass; 0 = none */
    fr_eval_fn eval;       /* record and tensors -> the kernel's parameters, then the kernel */
} fr_op;

/* ---------------------------------------------------------------- helpers */

#if defined(__GNUC__)
#define FR_OUT_OF_LINE __attribute__((noinline))
#else
#define FR_OUT_OF_LINE
#endif

static int is_s8(const flyref_tensor *t) { return t != 0 && t->type == FLYNET_TYPE_INT8; }
static int is_s32(const flyref_tensor *t) { return t != 0 && t->type == FLYNET_TYPE_INT32; }
static int32_t count_of(const flyref_tensor *t) { return fr_dims_count(&t->dims); }

static flyref_activation act_of(int32_t lo, int32_t hi)
{
    flyref_activation a;
    a.min = lo;
    a.max = hi;
    return a;
}

/* ---------------------------------------------------------------- conv / depthwise / fc */

/* Inputs x, w, bias (optional), mult, shift; all but x are constants. mult and shift may still be
 * encoded here, so their values are read through fr_const_value. */
static flyref_status weighted_check(const fr_args *a, int32_t out_c)
{
    const flyref_tensor *x = a->in[0], *w = a->in[1], *b = a->in[2], *m = a->in[3], *s = a->in[4];
    int32_t i, count;
    if (!is_s8(x) || !is_s8(w) || w->data == 0 || !is_s32(m) || !is_s32(s) || m->data == 0 || s->data == 0) {
        return FLYREF_FORMAT_ERROR;
    }
    if (b != 0 && (!is_s32(b) || b->data == 0 || count_of(b) != out_c)) return FLYREF_FORMAT_ERROR;
    if (count_of(m) != count_of(s)) return FLYREF_FORMAT_ERROR;
    count = count_of(m);
    if (count != 1 && count != out_c) return FLYREF_ARG_ERROR;
    for (i = 0; i < count; ++i) {
        if (!fr_mult_ok(fr_const_value(m, i), fr_const_value(s, i))) return FLYREF_ARG_ERROR;
    }
    return FLYREF_OK;
}

static void conv_params(const fr_args *a, flyref_conv_params *p, flyref_quant_params *q)
{
    const flynet_conv2d_params *r = a->record;
    p->input_offset = -a->in[0]->zero_point;
    p->output_offset = a->out[0]->zero_point;
    p->stride_h = r->stride_h;
    p->stride_w = r->stride_w;
    p->pad_h = r->pad_h;
    p->pad_w = r->pad_w;
    p->dilation_h = r->dilation_h;
    p->dilation_w = r->dilation_w;
    p->activation = act_of(r->act_min, r->act_max);
    p->rounding = r->rounding;
    q->multiplier = a->x[3];
    q->shift = a->x[4];
    q->count = count_of(a->in[3]);
}

static flyref_status conv_check(const fr_args *a)
{
    const flyref_tensor *x = a->in[0], *w = a->in[1], *o = a->out[0];
    const flyref_status st = weighted_check(a, w->dims.n);
    if (st != FLYREF_OK) return st;
    if (w->dims.c < 1 || x->dims.c % w->dims.c != 0 || w->dims.n % (x->dims.c / w->dims.c) != 0 ||
        o->dims.c != w->dims.n || o->dims.n != x->dims.n) {
        return FLYREF_SHAPE_ERROR;
    }
    return FLYREF_OK;
}

/* The im2col patch of the generic path (0 when the wrapper takes the 1x1 path). */
static uint32_t conv_scratch(const fr_args *a)
{
    flyref_conv_params p;
    flyref_quant_params q;
    conv_params(a, &p, &q);
    return (uint32_t)flyref_conv2d_wrapper_s8_buffer_size(&p, &a->in[0]->dims, &a->in[1]->dims);
}

/* One block of a blocked node (fr_blocked): units [u0, u0 + nu), output channels [c0, c0 + nc), the
 * data its kernel call reads and its quantization. */
typedef struct fr_block {
    int32_t u0, nu, c0, nc;
    const void *x[5];
    flyref_quant_params q;
} fr_block;

/* The next block of a blocked node's eval: decodes it (fr_decode_block; the weights too unless
 * `packed`) into blk; 0 past the last. Start with blk->u0 = blk->nu = 0. */
static int next_block(const fr_args *a, const fr_blocks *bl, const fr_unpacker *u, int packed, fr_block *blk)
{
    blk->u0 += blk->nu;
    if (blk->u0 >= bl->units) return 0;
    blk->nu = fr_min(bl->per_block, bl->units - blk->u0);
    blk->c0 = blk->u0 * bl->ch_per_unit;
    blk->nc = blk->nu * bl->ch_per_unit;
    fr_decode_block(a->g, a->n, a->arena, bl, packed ? 0 : u, blk->u0, blk->nu, blk->x);
    blk->q.multiplier = blk->x[3];
    blk->q.shift = blk->x[4];
    blk->q.count = count_of(a->in[3]) == 1 ? 1 : blk->nc;
    return 1;
}

/* Bytes of a weight slot an unpacker takes (16-aligned). */
#define FR_UNPACKER_SLOT ((int32_t)((sizeof(fr_unpacker) + 15) & ~(size_t)15))

/* The blocks of a 1x1 conv whose target path unpacks PACKED rows itself (fr_conv2d_reads_packed:
 * DSP, MVE): each block gets them as stored, with no decode; ws holds the path's tables. */
static flyref_status run_1x1_packed(const fr_args *a, const fr_blocks *bl, const flyref_conv_params *p,
                                    const fr_unpacker *u, fr_1x1_ws *ws)
{
    fr_block blk;
    flyref_dims xd = a->in[0]->dims, wd = a->in[1]->dims, od = a->out[0]->dims;
    blk.u0 = blk.nu = 0;
    while (next_block(a, bl, u, 1, &blk)) {
        flyref_status st;
        od.c = blk.nc;
        wd.n = blk.nc;
        st = fr_conv2d_1x1_s8_packed(p, &blk.q, &xd, a->x[0], &wd, u, blk.c0, blk.x[2], &od, a->y[0] + blk.c0,
                                     bl->c_out, ws);
        if (st != FLYREF_OK) return st;
    }
    return FLYREF_OK;
}

/* The unpacker, and the path's tables that do not fit its own stack block (deep rows), go to the
 * node's weight slot, which nothing else uses then (stack use). */
static FR_OUT_OF_LINE flyref_status blocked_1x1_packed(const fr_args *a, const fr_blocks *bl,
                                                       const flyref_conv_params *p)
{
    uint8_t *const slot = fr_decode_dest(a->g, a->n, a->arena, 1);
    fr_unpacker *const u = (fr_unpacker *)(void *)slot;
    fr_1x1_ws ws;
    fr_unpacker_of(u, a->in[1]);
    ws.mem = slot + FR_UNPACKER_SLOT;
    ws.bytes = bl->per_block * bl->unit_bytes - FR_UNPACKER_SLOT;
    ws.built = 0;
    ws.tail_from = -1;
    return run_1x1_packed(a, bl, p, u, &ws);
}

/* 1 when the weight slot (4-aligned in the arena) holds the unpacker and the 1x1 path's tables; a
 * node with fewer weights (a few hundred) decodes them, which costs about as much. */
static int fr_1x1_ws_fits(const fr_args *a, const fr_blocks *bl)
{
    return (int64_t)bl->per_block * bl->unit_bytes >= FR_UNPACKER_SLOT + fr_conv2d_1x1_packed_ws(a->in[1]->dims.c);
}

/* next_block with the weights decoded, its unpacker on the stack only while it decodes: the kernel
 * call that follows then runs without it below (stack use on the target; building the unpacker
 * costs a pass over 2^(2 bits) table pairs per block). */
static FR_OUT_OF_LINE int next_block_decoded(const fr_args *a, const fr_blocks *bl, fr_block *blk)
{
    fr_unpacker u;
    if (blk->u0 + blk->nu >= bl->units) return 0;
    fr_unpacker_of(&u, a->in[1]);
    return next_block(a, bl, &u, 0, blk);
}

/* The blocked conv or depthwise (fr_blocked), kept out of line: the int8 path's frame then does not
 * carry its locals (stack use on the target). Each block is one kernel call on its channels,
 * writing them straight into the output (the strided kernels of flyref_internal.h): a conv's
 * block is its filter rows; a depthwise's is input channels [u0, u0 + nu) and their heads, each
 * block's weights decoded into the node's weight slot just before its call. */
static FR_OUT_OF_LINE flyref_status blocked_eval(const fr_args *a, const fr_blocks *bl, const flyref_conv_params *p,
                                                 const flyref_context *ctx)
{
    const int32_t in_c = a->in[0]->dims.c, ch_mult = bl->ch_per_unit;
    fr_block blk;
    flyref_dims xd = a->in[0]->dims, wd = a->in[1]->dims, od = a->out[0]->dims;
    blk.u0 = blk.nu = 0;
    while (next_block_decoded(a, bl, &blk)) {
        flyref_status st;
        od.c = blk.nc;
        if (a->n->op == FLYNET_OP_DEPTHWISE_CONV2D) {
            xd.c = blk.nu;
            wd.c = blk.nc;
            st = fr_depthwise_conv2d_s8_strided(p, ch_mult, &blk.q, &xd, (const int8_t *)a->x[0] + blk.u0, in_c, &wd,
                                                blk.x[1], blk.x[2], &od, a->y[0] + blk.c0, bl->c_out);
        } else {
            wd.n = blk.nc;
            st = fr_conv2d_wrapper_s8_strided(ctx, p, &blk.q, &xd, a->x[0], &wd, blk.x[1], blk.x[2], &od,
                                              a->y[0] + blk.c0, bl->c_out);
        }
        if (st != FLYREF_OK) return st;
    }
    return FLYREF_OK;
}

static flyref_status conv_eval(const fr_args *a)
{
    flyref_conv_params p;
    flyref_quant_params q;
    flyref_context ctx;
    fr_blocks bl;
    conv_params(a, &p, &q);
    ctx.buf = a->n->scratch_size > 0 ? a->arena + a->n->scratch_offset : 0;
    ctx.size = (int32_t)a->n->scratch_size;
    if (fr_blocked(a->g, a->n, &bl)) {
        if (fr_conv2d_reads_packed(&p, &a->in[0]->dims, &a->in[1]->dims, &a->out[0]->dims, a->in[1]->bits) &&
            fr_1x1_ws_fits(a, &bl)) {
            return blocked_1x1_packed(a, &bl, &p);
        }
        return blocked_eval(a, &bl, &p, &ctx);
    }
    return flyref_conv2d_wrapper_s8(&ctx, &p, &q, &a->in[0]->dims, a->x[0], &a->in[1]->dims, a->x[1], a->x[2],
                                    &a->out[0]->dims, a->y[0]);
}

static flyref_status dw_check(const fr_args *a)
{
    const flyref_tensor *x = a->in[0], *w = a->in[1], *o = a->out[0];
    const flyref_status st = weighted_check(a, o->dims.c);
    if (st != FLYREF_OK) return st;
    if (o->dims.c % x->dims.c != 0 || w->dims.n != 1 || w->dims.c != o->dims.c || o->dims.n != x->dims.n) {
        return FLYREF_SHAPE_ERROR;
    }
    return FLYREF_OK;
}

static flyref_status dw_eval(const fr_args *a)
{
    flyref_conv_params p;
    flyref_quant_params q;
    fr_blocks bl;
    conv_params(a, &p, &q);
    if (fr_blocked(a->g, a->n, &bl)) return blocked_eval(a, &bl, &p, 0);
    return flyref_depthwise_conv2d_s8(&p, a->out[0]->dims.c / a->in[0]->dims.c, &q, &a->in[0]->dims, a->x[0],
                                      &a->in[1]->dims, a->x[1], a->x[2], &a->out[0]->dims, a->y[0]);
}

static flyref_status fc_check(const fr_args *a)
{
    const flyref_tensor *x = a->in[0], *w = a->in[1], *o = a->out[0];
    const flyref_status st = weighted_check(a, w->dims.n);
    if (st != FLYREF_OK) return st;
    if ((int64_t)x->dims.h * x->dims.w * x->dims.c != (int64_t)w->dims.h * w->dims.w * w->dims.c ||
        o->dims.n != x->dims.n || (int64_t)o->dims.h * o->dims.w * o->dims.c != w->dims.n) {
        return FLYREF_SHAPE_ERROR;
    }
    return FLYREF_OK;
}

/* FC with PACKED weights, read as they are stored (out of line, as blocked_eval). */
static FR_OUT_OF_LINE flyref_status fc_eval_packed(const fr_args *a, const flyref_fc_params *p,
                                                   const flyref_quant_params *q)
{
    fr_unpacker u;
    fr_unpacker_of(&u, a->in[1]);
    return fr_fully_connected_packed_s8(p, q, &a->in[0]->dims, a->x[0], &a->in[1]->dims, &u, a->x[2],
                                        &a->out[0]->dims, a->y[0]);
}

static flyref_status fc_eval(const fr_args *a)
{
    const flynet_fully_connected_params *r = a->record;
    flyref_fc_params p;
    flyref_quant_params q;
    p.input_offset = -a->in[0]->zero_point;
    p.filter_offset = r->filter_offset;
    p.output_offset = a->out[0]->zero_point;
    p.activation = act_of(r->act_min, r->act_max);
    p.rounding = r->rounding;
    q.multiplier = a->x[3];
    q.shift = a->x[4];
    q.count = count_of(a->in[3]);
    if (fr_reads_packed(a->n, 1, a->in[1])) return fc_eval_packed(a, &p, &q);
    return flyref_fully_connected_s8(&p, &q, &a->in[0]->dims, a->x[0], &a->in[1]->dims, a->x[1], a->x[2],
                                     &a->out[0]->dims, a->y[0]);
}

/* ---------------------------------------------------------------- elementwise */

static int bdim(int32_t i, int32_t o) { return i == o || i == 1; }

static int broadcasts(const flyref_dims *d, const flyref_dims *o)
{
    return bdim(d->n, o->n) && bdim(d->h, o->h) && bdim(d->w, o->w) && bdim(d->c, o->c);
}

/* Each input dimension equals the output's or is 1 (4-D broadcast). */
static flyref_status broadcast_check(const fr_args *a)
{
    const flyref_dims *o = &a->out[0]->dims;
    return broadcasts(&a->in[0]->dims, o) && broadcasts(&a->in[1]->dims, o) ? FLYREF_OK : FLYREF_SHAPE_ERROR;
}

/* MAXIMUM compares raw codes, so both inputs share the output's zero point. */
static flyref_status maximum_check(const fr_args *a)
{
    const int32_t zp = a->out[0]->zero_point;
    const flyref_status st = broadcast_check(a);
    if (st != FLYREF_OK) return st;
    return a->in[0]->zero_point == zp && a->in[1]->zero_point == zp ? FLYREF_OK : FLYREF_ARG_ERROR;
}

static flyref_status add_eval(const fr_args *a)
{
    const flynet_add_params *r = a->record;
    flyref_add_params p;
    p.input1_offset = -a->in[0]->zero_point;
    p.input2_offset = -a->in[1]->zero_point;
    p.left_shift = r->left_shift;
    p.input1_multiplier = r->input1_multiplier;
    p.input1_shift = r->input1_shift;
    p.input2_multiplier = r->input2_multiplier;
    p.input2_shift = r->input2_shift;
    p.output_multiplier = r->output_multiplier;
    p.output_shift = r->output_shift;
    p.output_offset = a->out[0]->zero_point;
    p.activation = act_of(r->act_min, r->act_max);
    p.rounding = r->rounding;
    return flyref_add_s8(&p, &a->in[0]->dims, a->x[0], &a->in[1]->dims, a->x[1], &a->out[0]->dims, a->y[0]);
}

static flyref_status mul_eval(const fr_args *a)
{
    const flynet_mul_params *r = a->record;
    flyref_mul_params p;
    p.input1_offset = -a->in[0]->zero_point;
    p.input2_offset = -a->in[1]->zero_point;
    p.output_multiplier = r->output_multiplier;
    p.output_shift = r->output_shift;
    p.output_offset = a->out[0]->zero_point;
    p.activation = act_of(r->act_min, r->act_max);
    p.rounding = r->rounding;
    return flyref_mul_s8(&p, &a->in[0]->dims, a->x[0], &a->in[1]->dims, a->x[1], &a->out[0]->dims, a->y[0]);
}

static flyref_status maximum_eval(const fr_args *a)
{
    return flyref_maximum_s8(&a->in[0]->dims, a->x[0], &a->in[1]->dims, a->x[1], &a->out[0]->dims, a->y[0]);
}

/* ---------------------------------------------------------------- pooling, softmax, activations */

/* Pooling keeps the input's quantization: same zero point (checked before the shapes). */
static flyref_status pool_check(const fr_args *a)
{
    const flyref_tensor *x = a->in[0], *o = a->out[0];
    if (x->zero_point != o->zero_point) return FLYREF_ARG_ERROR;
    if (x->dims.c != o->dims.c || x->dims.n != o->dims.n) return FLYREF_SHAPE_ERROR;
    return FLYREF_OK;
}

/* AVG_POOL2D and MAX_POOL2D share the record, the parameter struct and the kernel signature. */
static flyref_status pool_eval(const fr_args *a)
{
    const flynet_pool2d_params *r = a->record;
    flyref_pool_params p;
    p.filter_h = r->filter_h;
    p.filter_w = r->filter_w;
    p.stride_h = r->stride_h;
    p.stride_w = r->stride_w;
    p.pad_h = r->pad_h;
    p.pad_w = r->pad_w;
    p.activation = act_of(r->act_min, r->act_max);
    if (a->n->op == FLYNET_OP_AVG_POOL2D) {
        return flyref_avg_pool_s8(&p, &a->in[0]->dims, a->x[0], &a->out[0]->dims, a->y[0]);
    }
    return flyref_max_pool_s8(&p, &a->in[0]->dims, a->x[0], &a->out[0]->dims, a->y[0]);
}

/* Row size 0 in the record means rows of the channel count. */
static int32_t softmax_row(const fr_args *a)
{
    const flynet_softmax_params *r = a->record;
    return r->row_size > 0 ? r->row_size : a->in[0]->dims.c;
}

static flyref_status softmax_check(const fr_args *a)
{
    const int32_t row = softmax_row(a);
    return row >= 1 && count_of(a->in[0]) % row == 0 ? FLYREF_OK : FLYREF_SHAPE_ERROR;
}

static flyref_status softmax_eval(const fr_args *a)
{
    const flynet_softmax_params *r = a->record;
    flyref_softmax_params p;
    const int32_t row = softmax_row(a);
    p.input_multiplier = r->input_multiplier;
    p.input_left_shift = r->input_left_shift;
    p.diff_min = r->diff_min;
    return flyref_softmax_s8(&p, count_of(a->in[0]) / row, row, a->x[0], a->y[0]);
}

static flyref_status logistic_eval(const fr_args *a)
{
    const flynet_logistic_params *r = a->record;
    flyref_logistic_params p;
    p.input_zero_point = a->in[0]->zero_point;
    p.input_multiplier = r->input_multiplier;
    p.input_left_shift = r->input_left_shift;
    p.input_range_radius = r->input_range_radius;
    p.rounding = r->rounding;
    return flyref_logistic_s8(&p, count_of(a->in[0]), a->x[0], a->y[0]);
}

static flyref_status hard_swish_eval(const fr_args *a)
{
    const flynet_hard_swish_params *r = a->record;
    flyref_hard_swish_params p;
    p.input_zero_point = a->in[0]->zero_point;
    p.output_zero_point = a->out[0]->zero_point;
    p.output_multiplier_int16 = r->output_multiplier_int16;
    p.output_exponent = r->output_exponent;
    p.reluish_multiplier_int16 = r->reluish_multiplier_int16;
    p.reluish_exponent = r->reluish_exponent;
    return flyref_hard_swish_s8(&p, count_of(a->in[0]), a->x[0], a->y[0]);
}

static flyref_status hard_sigmoid_eval(const fr_args *a)
{
    const flynet_hard_sigmoid_params *r = a->record;
    flyref_hard_sigmoid_params p;
    p.input_zero_point = a->in[0]->zero_point;
    p.reluish_multiplier_int16 = r->reluish_multiplier_int16;
    p.reluish_exponent = r->reluish_exponent;
    p.output_multiplier = r->output_multiplier;
    p.output_shift = r->output_shift;
    p.output_offset = a->out[0]->zero_point;
    p.activation = act_of(r->act_min, r->act_max);
    p.rounding = r->rounding;
    return flyref_hard_sigmoid_s8(&p, count_of(a->in[0]), a->x[0], a->y[0]);
}

static flyref_status leaky_relu_eval(const fr_args *a)
{
    const flynet_leaky_relu_params *r = a->record;
    flyref_leaky_relu_params p;
    p.input_offset = -a->in[0]->zero_point;
    p.output_offset = a->out[0]->zero_point;
    p.identity_multiplier = r->identity_multiplier;
    p.identity_shift = r->identity_shift;
    p.alpha_multiplier = r->alpha_multiplier;
    p.alpha_shift = r->alpha_shift;
    p.activation = act_of(r->act_min, r->act_max);
    p.rounding = r->rounding;
    return flyref_leaky_relu_s8(&p, count_of(a->in[0]), a->x[0], a->y[0]);
}

static flyref_status requantize_eval(const fr_args *a)
{
    const flynet_requantize_params *r = a->record;
    flyref_requantize_params p;
    p.input_offset = -a->in[0]->zero_point;
    p.output_offset = a->out[0]->zero_point;
    p.multiplier = r->multiplier;
    p.shift = r->shift;
    p.activation = act_of(r->act_min, r->act_max);
    p.rounding = r->rounding;
    return flyref_requantize_s8(&p, count_of(a->in[0]), a->x[0], a->y[0]);
}

/* Max-out over g adjacent channels of raw codes: same zero point (checked after the shapes). */
static flyref_status max_group_check(const fr_args *a)
{
    const flynet_max_group_params *r = a->record;
    const flyref_tensor *x = a->in[0], *o = a->out[0];
    if (r->group_size < 1 || (int64_t)o->dims.c * r->group_size != x->dims.c || o->dims.n != x->dims.n ||
        o->dims.h != x->dims.h || o->dims.w != x->dims.w) {
        return FLYREF_SHAPE_ERROR;
    }
    return x->zero_point == o->zero_point ? FLYREF_OK : FLYREF_ARG_ERROR;
}

static flyref_status max_group_eval(const fr_args *a)
{
    const flynet_max_group_params *r = a->record;
    return flyref_max_group_s8(r->group_size, &a->in[0]->dims, a->x[0], &a->out[0]->dims, a->y[0]);
}

/* ---------------------------------------------------------------- data movement */

/* Raw copies along channels; each input is checked in turn (type, shape, zero point). */
static flyref_status concat_check(const fr_args *a)
{
    const flyref_tensor *o = a->out[0];
    int32_t i, total = 0;
    if (((const flynet_concat_params *)a->record)->axis != 3) return FLYREF_ARG_ERROR;
    for (i = 0; i < a->n->num_inputs; ++i) {
        const flyref_tensor *x = a->in[i];
        if (!is_s8(x)) return FLYREF_FORMAT_ERROR;
        if (x->dims.n != o->dims.n || x->dims.h != o->dims.h || x->dims.w != o->dims.w) return FLYREF_SHAPE_ERROR;
        if (x->zero_point != o->zero_point) return FLYREF_ARG_ERROR;
        total += x->dims.c;
    }
    return total == o->dims.c ? FLYREF_OK : FLYREF_SHAPE_ERROR;
}

static flyref_status concat_eval(const fr_args *a)
{
    const int8_t *ins[FLYREF_MAX_NODE_INPUTS];
    int32_t ch[FLYREF_MAX_NODE_INPUTS];
    const flyref_tensor *o = a->out[0];
    int32_t i;
    for (i = 0; i < a->n->num_inputs; ++i) {
        ins[i] = a->x[i];
        ch[i] = a->in[i]->dims.c;
    }
    return flyref_concat_s8(a->n->num_inputs, ins, ch, o->dims.n * o->dims.h * o->dims.w, a->y[0]);
}

/* Input 1 is a constant int32 index per output channel (maybe stored narrow). */
static flyref_status gather_check(const fr_args *a)
{
    const flyref_tensor *x = a->in[0], *idx = a->in[1], *o = a->out[0];
    int32_t i;
    if (!is_s8(x) || !is_s32(idx) || idx->data == 0) return FLYREF_FORMAT_ERROR;
    if (count_of(idx) != o->dims.c || x->dims.n != o->dims.n || x->dims.h != o->dims.h || x->dims.w != o->dims.w) {
        return FLYREF_SHAPE_ERROR;
    }
    for (i = 0; i < o->dims.c; ++i) {
        const int32_t v = fr_const_value(idx, i);
        if (v < 0 || v >= x->dims.c) return FLYREF_ARG_ERROR;
    }
    return x->zero_point == o->zero_point ? FLYREF_OK : FLYREF_ARG_ERROR;
}

static flyref_status gather_eval(const fr_args *a)
{
    return flyref_channel_gather_s8(&a->in[0]->dims, a->x[0], a->x[1], &a->out[0]->dims, a->y[0]);
}

/* ---------------------------------------------------------------- VA-ECA */

/* Z [N,H,W,C] -> mean and std, each [N,1,1,C]. */
static flyref_status vaeca_check(const fr_args *a)
{
    const flyref_tensor *z = a->in[0], *m = a->out[0], *s = a->out[1];
    if (m->dims.n != z->dims.n || s->dims.n != z->dims.n || count_of(m) != z->dims.n * z->dims.c ||
        count_of(s) != z->dims.n * z->dims.c || m->dims.c != z->dims.c || s->dims.c != z->dims.c) {
        return FLYREF_SHAPE_ERROR;
    }
    return FLYREF_OK;
}

static flyref_status vaeca_eval(const fr_args *a)
{
    const flynet_vaeca_descriptor_params *r = a->record;
    flyref_vaeca_descriptor_params p;
    p.input_offset = -a->in[0]->zero_point;
    p.mean_multiplier = r->mean_multiplier;
    p.mean_shift = r->mean_shift;
    p.mean_offset = a->out[0]->zero_point;
    p.std_multiplier = r->std_multiplier;
    p.std_shift = r->std_shift;
    p.std_offset = a->out[1]->zero_point;
    p.eps_q = ((uint64_t)r->eps_q_hi << 32) | r->eps_q_lo;
    p.sqrt_frac_bits = r->sqrt_frac_bits;
    p.rounding = r->rounding;
    return flyref_vaeca_descriptor_s8(&p, &a->in[0]->dims, a->x[0], a->y[0], a->y[1]);
}

/* Inputs mean, std (each [N,1,1,C]) and the constant filter. */
static flyref_status eca_check(const fr_args *a)
{
    const flyref_tensor *m = a->in[0], *s = a->in[1], *w = a->in[2], *o = a->out[0];
    if (w->data == 0) return FLYREF_FORMAT_ERROR;
    if (m->dims.n != o->dims.n || m->dims.h != 1 || m->dims.w != 1 || m->dims.c != o->dims.c ||
        s->dims.n != m->dims.n || s->dims.h != 1 || s->dims.w != 1 || s->dims.c != m->dims.c ||
        count_of(o) != count_of(m)) {
        return FLYREF_SHAPE_ERROR;
    }
    return FLYREF_OK;
}

static flyref_status eca_eval(const fr_args *a)
{
    const flynet_eca_conv1d_params *r = a->record;
    flyref_eca_conv1d_params p;
    p.heads = r->heads;
    p.mean_offset = -a->in[0]->zero_point;
    p.std_offset = -a->in[1]->zero_point;
    p.mean_multiplier = r->mean_multiplier;
    p.mean_shift = r->mean_shift;
    p.std_multiplier = r->std_multiplier;
    p.std_shift = r->std_shift;
    p.sum_shift = r->sum_shift;
    p.output_offset = a->out[0]->zero_point;
    p.activation = act_of(r->act_min, r->act_max);
    p.rounding = r->rounding;
    return flyref_eca_conv1d_s8(&p, &a->in[0]->dims, a->x[0], a->x[1], &a->in[2]->dims, a->x[2], a->y[0]);
}

/* ---------------------------------------------------------------- op table */

/* Columns: min and max inputs, outputs, rules (FR_*), the op's own check, its scratch size, its eval. */
static const fr_op k_ops[] = {
    [FLYNET_OP_INVALID]          = {0, 0,         0, 0,                       0,               0,            0},
    [FLYNET_OP_CONV2D]           = {5, 5,         1, FR_OPT_BIAS,             conv_check,      conv_scratch, conv_eval},
    [FLYNET_OP_DEPTHWISE_CONV2D] = {5, 5,         1, FR_OPT_BIAS,             dw_check,        0,            dw_eval},
    [FLYNET_OP_FULLY_CONNECTED]  = {5, 5,         1, FR_OPT_BIAS,             fc_check,        0,            fc_eval},
    [FLYNET_OP_ADD]              = {2, 2,         1, FR_S8_IN,                broadcast_check, 0,            add_eval},
    [FLYNET_OP_MUL]              = {2, 2,         1, FR_S8_IN,                broadcast_check, 0,            mul_eval},
    [FLYNET_OP_MAXIMUM]          = {2, 2,         1, FR_S8_IN | FR_NO_RECORD, maximum_check,   0,            maximum_eval},
    [FLYNET_OP_AVG_POOL2D]       = {1, 1,         1, FR_S8_IN,                pool_check,      0,            pool_eval},
    [FLYNET_OP_MAX_POOL2D]       = {1, 1,         1, FR_S8_IN,                pool_check,      0,            pool_eval},
    [FLYNET_OP_SOFTMAX]          = {1, 1,         1, FR_UNARY | FR_PROB_OUT,  softmax_check,   0,            softmax_eval},
    [FLYNET_OP_HARD_SWISH]       = {1, 1,         1, FR_UNARY,                0,               0,            hard_swish_eval},
    [FLYNET_OP_LOGISTIC]         = {1, 1,         1, FR_UNARY | FR_PROB_OUT,  0,               0,            logistic_eval},
    [FLYNET_OP_HARD_SIGMOID]     = {1, 1,         1, FR_UNARY,                0,               0,            hard_sigmoid_eval},
    [FLYNET_OP_CONCAT]           = {1, FR_MAX_IN, 1, 0,                       concat_check,    0,            concat_eval},
    [FLYNET_OP_CHANNEL_GATHER]   = {2, 2,         1, 0,                       gather_check,    0,            gather_eval},
    [FLYNET_OP_REQUANTIZE]       = {1, 1,         1, FR_UNARY,                0,               0,            requantize_eval},
    [FLYNET_OP_VAECA_DESCRIPTOR] = {1, 1,         2, FR_S8_IN,                vaeca_check,     0,            vaeca_eval},
    [FLYNET_OP_ECA_CONV1D]       = {3, 3,         1, FR_S8_IN,                eca_check,       0,            eca_eval},
    [FLYNET_OP_MAX_GROUP]        = {1, 1,         1, FR_S8_IN,                max_group_check, 0,            max_group_eval},
    [FLYNET_OP_LEAKY_RELU]       = {1, 1,         1, FR_UNARY,                0,               0,            leaky_relu_eval},
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
FR_RECORD_SIZE(flynet_leaky_relu_params, 7);

int flyref_op_supported(int32_t op)
{
    return op > 0 && op < FLYNET_OP_COUNT && k_ops[op].eval != 0;
}

int32_t fr_op_optional_input(int32_t op)
{
    return flyref_op_supported(op) && (k_ops[op].rules & FR_OPT_BIAS) != 0 ? 2 : -1;
}

/* ---------------------------------------------------------------- applying a row */

static void args_init(fr_args *a, const flyref_graph *g, const flyref_node *n, uint8_t *arena)
{
    int32_t i;
    a->g = g;
    a->n = n;
    a->record = n->params;
    a->arena = arena;
    for (i = 0; i < FLYREF_MAX_NODE_INPUTS; ++i) {
        a->in[i] = i < n->num_inputs ? fr_tensor(g, n->inputs[i]) : 0;
        a->x[i] = arena != 0 ? fr_node_input(g, n, arena, i) : 0;
    }
    for (i = 0; i < FLYREF_MAX_NODE_OUTPUTS; ++i) {
        a->out[i] = i < n->num_outputs ? fr_tensor(g, n->outputs[i]) : 0;
        a->y[i] = arena != 0 && a->out[i] != 0 ? (int8_t *)(arena + a->out[i]->arena_offset) : 0;
    }
}

flyref_status fr_op_prepare(const flyref_graph *g, const flyref_node *n, uint32_t *scratch)
{
    const fr_op *op = &k_ops[n->op];
    fr_args a;
    int32_t i;
    args_init(&a, g, n, 0);
    *scratch = 0;
    if (n->num_inputs < op->min_inputs || n->num_inputs > op->max_inputs || n->num_outputs != op->outputs ||
        (n->params == 0 && !(op->rules & FR_NO_RECORD))) {
        return FLYREF_FORMAT_ERROR;
    }
    for (i = 0; i < op->outputs; ++i) {
        const flyref_tensor *t = a.out[i];
        if (!is_s8(t) || t->data != 0 || flyref_tensor_bytes(t) == 0) return FLYREF_FORMAT_ERROR;
    }
    if (op->rules & FR_S8_IN) {
        for (i = 0; i < n->num_inputs; ++i) {
            if (!is_s8(a.in[i])) return FLYREF_FORMAT_ERROR;
        }
    }
    if ((op->rules & FR_SAME_COUNT) && count_of(a.in[0]) != count_of(a.out[0])) return FLYREF_SHAPE_ERROR;
    if (op->check != 0) {
        const flyref_status st = op->check(&a);
        if (st != FLYREF_OK) return st;
    }
    if ((op->rules & FR_PROB_OUT) && a.out[0]->zero_point != -128) return FLYREF_ARG_ERROR;
    if (op->scratch != 0) *scratch = op->scratch(&a);
    return FLYREF_OK;
}

flyref_status fr_op_eval(const flyref_graph *g, const flyref_node *n, uint8_t *arena)
{
    fr_args a;
    args_init(&a, g, n, arena);
    return k_ops[n->op].eval(&a);
}

