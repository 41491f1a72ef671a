/*
 * .fly reader. Refer to flyref_model.h and the format at the top of flynet_format.h.
 *
 * Every field is read byte by byte (rd16/rd32), so validation is independent of the target's
 * alignment and endianness; only the final graph points into the file (RAW constants and
 * parameter records), which is why the file must be 4-byte aligned on a little-endian target.
 * Every sum of untrusted sizes is computed in 64 bits before it is compared.
 */

#include "flyref_model.h"

typedef struct fr_section {
    uint32_t offset, size, count;
    int present;
} fr_section;

typedef struct fr_file {
    const uint8_t *p;
    uint32_t file_size, header_end;
    fr_section sec[FLYNET_SECTION_COUNT];
    uint32_t num_tensors, num_ops, num_consts, num_acts;
} fr_file;

static uint32_t rd16(const uint8_t *p) { return (uint32_t)p[0] | ((uint32_t)p[1] << 8); }

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint32_t align4(uint32_t v) { return (v + 3u) & ~3u; }

/* Four bits at a time: a 64-byte table instead of 1 KB, fast enough for a load-time check. */
static const uint32_t k_crc_nibble[16] = {
    0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u, 0x4DB26158u, 0x5005713Cu,
    0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu, 0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu,
};

uint32_t flyref_crc32(uint32_t crc, const uint8_t *data, size_t size)
{
    size_t i;
    if (data == 0) return crc;
    crc = ~crc;
    for (i = 0; i < size; ++i) {
        crc ^= data[i];
        crc = (crc >> 4) ^ k_crc_nibble[crc & 15u];
        crc = (crc >> 4) ^ k_crc_nibble[crc & 15u];
    }
    return ~crc;
}

static int little_endian(void)
{
    const uint16_t probe = 1u;
    return *(const uint8_t *)&probe == 1u;
}

static float f32_of(uint32_t bits)
{
    union {
        uint32_t u;
        float f;
    } v;
    v.u = bits;
    return v.f;
}

/* ---------------------------------------------------------------- tensor records */

typedef struct fr_rec {
    int32_t dims[4];
    int32_t type, zero_point, storage, bits;
} fr_rec;

static void tensor_rec(const fr_file *f, uint32_t i, fr_rec *r)
{
    const uint8_t *p = f->p + f->sec[FLYNET_SECTION_TENSORS].offset + i * FLYNET_FILE_TENSOR_RECORD_SIZE;
    int32_t d;
    for (d = 0; d < 4; ++d) r->dims[d] = (int32_t)rd16(p + 2 * d);
    r->type = p[8];
    r->zero_point = (int32_t)(p[9] & 0x7Fu) - (int32_t)(p[9] & 0x80u);
    r->storage = p[10];
    r->bits = p[11];
}

static uint64_t rec_count(const fr_rec *r)
{
    return (uint64_t)r->dims[0] * (uint64_t)r->dims[1] * (uint64_t)r->dims[2] * (uint64_t)r->dims[3];
}

/* Bytes of the constant as stored in CONSTANTS (< 2^40, no overflow in 64 bits). */
static uint64_t stored_bytes(const fr_rec *r)
{
    const uint64_t n = rec_count(r);
    switch (r->storage) {
    case FLYNET_STORAGE_RAW: return r->type == FLYNET_TYPE_INT32 ? 4u * n : n;
    case FLYNET_STORAGE_PACKED: return ((uint64_t)1u << r->bits) + (n * (uint64_t)r->bits + 7u) / 8u;
    case FLYNET_STORAGE_S8: return n;
    case FLYNET_STORAGE_S16: return 2u * n;
    default: return 0;
    }
}

static flyref_status check_tensor(const fr_rec *r)
{
    int32_t d;
    for (d = 0; d < 4; ++d) {
        if (r->dims[d] < 1) return FLYREF_MODEL_BAD_TENSOR;
    }
    if (r->type != FLYNET_TYPE_INT8 && r->type != FLYNET_TYPE_INT32) return FLYREF_MODEL_BAD_TENSOR;
    if (r->type == FLYNET_TYPE_INT32 && r->zero_point != 0) return FLYREF_MODEL_BAD_TENSOR;
    /* the interpreter counts elements and bytes in int32 */
    if (rec_count(r) * (r->type == FLYNET_TYPE_INT32 ? 4u : 1u) > 0x7FFFFFFFu) return FLYREF_MODEL_BAD_TENSOR;
    switch (r->storage) {
    case FLYNET_STORAGE_ARENA:
    case FLYNET_STORAGE_RAW: return r->bits == 0 ? FLYREF_OK : FLYREF_MODEL_BAD_TENSOR;
    case FLYNET_STORAGE_PACKED:
        return r->type == FLYNET_TYPE_INT8 && r->bits >= 1 && r->bits <= 8 ? FLYREF_OK : FLYREF_MODEL_BAD_TENSOR;
    case FLYNET_STORAGE_S8:
    case FLYNET_STORAGE_S16: return r->type == FLYNET_TYPE_INT32 && r->bits == 0 ? FLYREF_OK : FLYREF_MODEL_BAD_TENSOR;
    default: return FLYREF_MODEL_BAD_TENSOR;
    }
}

/* ---------------------------------------------------------------- validation */

static flyref_status check_header(const uint8_t *file, size_t size, fr_file *f, flyref_model_info *info)
{
    uint32_t count, crc;
    if (size < FLYNET_FILE_HEADER_SIZE) return FLYREF_MODEL_TRUNCATED;
    if (file[0] != FLYNET_FILE_MAGIC_0 || file[1] != FLYNET_FILE_MAGIC_1 || file[2] != FLYNET_FILE_MAGIC_2 ||
        file[3] != FLYNET_FILE_MAGIC_3) {
        return FLYREF_MODEL_BAD_MAGIC;
    }
    info->version_major = rd16(file + FLYNET_FILE_OFF_VERSION_MAJOR);
    info->version_minor = rd16(file + FLYNET_FILE_OFF_VERSION_MINOR);
    /* 1.x files were planned by the 1.0 decode rule, whose regions are never smaller than those of
     * the current rule (flynet_format.h, PLAN): they run as they are */
    if (info->version_major < FLYNET_FILE_VERSION_MAJOR_MIN || info->version_major > FLYNET_FILE_VERSION_MAJOR) {
        return FLYREF_MODEL_UNSUPPORTED_VERSION;
    }
    f->file_size = rd32(file + FLYNET_FILE_OFF_FILE_SIZE);
    if (f->file_size > size) return FLYREF_MODEL_TRUNCATED;
    count = rd32(file + FLYNET_FILE_OFF_SECTION_COUNT);
    if (count < 1u || count > FLYNET_FILE_MAX_SECTIONS) return FLYREF_MODEL_BAD_HEADER;
    f->header_end = FLYNET_FILE_HEADER_SIZE + count * FLYNET_FILE_SECTION_ENTRY_SIZE;
    if (f->header_end > f->file_size) return FLYREF_MODEL_BAD_HEADER;
    crc = flyref_crc32(0, file, FLYNET_FILE_OFF_HEADER_CRC);
    crc = flyref_crc32(crc, file + FLYNET_FILE_HEADER_SIZE, f->header_end - FLYNET_FILE_HEADER_SIZE);
    if (crc != rd32(file + FLYNET_FILE_OFF_HEADER_CRC)) return FLYREF_MODEL_HEADER_CRC;
    crc = flyref_crc32(0, file + f->header_end, f->file_size - f->header_end);
    if (crc != rd32(file + FLYNET_FILE_OFF_PAYLOAD_CRC)) return FLYREF_MODEL_PAYLOAD_CRC;
    if (rd32(file + FLYNET_FILE_OFF_FLAGS) != 0 || rd32(file + FLYNET_FILE_OFF_RESERVED) != 0) {
        return FLYREF_MODEL_BAD_HEADER;
    }
    return FLYREF_OK;
}

static flyref_status check_sections(fr_file *f)
{
    const uint32_t count = (f->header_end - FLYNET_FILE_HEADER_SIZE) / FLYNET_FILE_SECTION_ENTRY_SIZE;
    uint64_t prev_end = f->header_end;
    uint32_t i;
    for (i = 0; i < count; ++i) {
        const uint8_t *e = f->p + FLYNET_FILE_HEADER_SIZE + i * FLYNET_FILE_SECTION_ENTRY_SIZE;
        const uint32_t id = rd32(e), off = rd32(e + 4), sz = rd32(e + 8), cnt = rd32(e + 12);
        if (off % FLYNET_FILE_SECTION_ALIGN != 0 || off < prev_end || (uint64_t)off + sz > f->file_size) {
            return FLYREF_MODEL_BAD_SECTION;
        }
        prev_end = (uint64_t)off + sz;
        if (id >= 1u && id < (uint32_t)FLYNET_SECTION_COUNT) { /* unknown ids: a later minor version */
            if (f->sec[id].present) return FLYREF_MODEL_BAD_SECTION;
            f->sec[id].present = 1;
            f->sec[id].offset = off;
            f->sec[id].size = sz;
            f->sec[id].count = cnt;
        }
    }
    for (i = FLYNET_SECTION_MODEL; i <= FLYNET_SECTION_PLAN; ++i) {
        if (!f->sec[i].present) return FLYREF_MODEL_BAD_SECTION;
    }
    if (f->sec[FLYNET_SECTION_MODEL].size != FLYNET_FILE_MODEL_SIZE || f->sec[FLYNET_SECTION_MODEL].count != 0) {
        return FLYREF_MODEL_BAD_SECTION;
    }
    f->num_tensors = f->sec[FLYNET_SECTION_TENSORS].count;
    f->num_ops = f->sec[FLYNET_SECTION_OPS].count;
    if (f->num_tensors < 1u || f->num_tensors > FLYNET_FILE_MAX_TENSORS ||
        f->sec[FLYNET_SECTION_TENSORS].size != f->num_tensors * FLYNET_FILE_TENSOR_RECORD_SIZE) {
        return FLYREF_MODEL_BAD_SECTION;
    }
    if (f->num_ops < 1u || f->num_ops > FLYNET_FILE_MAX_OPS) return FLYREF_MODEL_BAD_SECTION;
    if ((uint64_t)f->sec[FLYNET_SECTION_PLAN].size !=
        8u + 4u * (uint64_t)f->sec[FLYNET_SECTION_PLAN].count + 8u * (uint64_t)f->num_ops) {
        return FLYREF_MODEL_BAD_SECTION;
    }
    {
        /* scales: finite and positive (sign bit clear, exponent not all ones, not zero) */
        const uint8_t *m = f->p + f->sec[FLYNET_SECTION_MODEL].offset;
        const uint32_t si = rd32(m + 8), so = rd32(m + 12);
        if ((si >> 31) != 0 || (si & 0x7F800000u) == 0x7F800000u || si == 0 || (so >> 31) != 0 ||
            (so & 0x7F800000u) == 0x7F800000u || so == 0) {
            return FLYREF_MODEL_BAD_SECTION;
        }
    }
    return FLYREF_OK;
}

static flyref_status check_tensors_and_constants(fr_file *f)
{
    const fr_section *c = &f->sec[FLYNET_SECTION_CONSTANTS];
    uint64_t cursor = 0;
    uint32_t i;
    fr_rec r;
    f->num_consts = f->num_acts = 0;
    for (i = 0; i < f->num_tensors; ++i) {
        flyref_status st;
        tensor_rec(f, i, &r);
        st = check_tensor(&r);
        if (st != FLYREF_OK) return st;
    }
    for (i = 0; i < f->num_tensors; ++i) {
        tensor_rec(f, i, &r);
        if (r.storage == FLYNET_STORAGE_ARENA) {
            ++f->num_acts;
            continue;
        }
        ++f->num_consts;
        cursor = (cursor + 3u) & ~(uint64_t)3u;
        cursor += stored_bytes(&r);
        if (cursor > c->size) return FLYREF_MODEL_BAD_CONSTANTS;
    }
    if (cursor != c->size || f->num_consts != c->count) return FLYREF_MODEL_BAD_CONSTANTS;
    return FLYREF_OK;
}

/* Walks the op records; with nodes != NULL also fills them (tensor indices already checked). */
static flyref_status walk_ops(const fr_file *f, flyref_node *nodes)
{
    const fr_section *s = &f->sec[FLYNET_SECTION_OPS];
    const uint8_t *base = f->p + s->offset;
    uint32_t pos = 0, k;
    for (k = 0; k < f->num_ops; ++k) {
        const uint8_t *o = base + pos;
        uint32_t nin, nout, np, rec, j;
        int32_t words;
        if (s->size - pos < FLYNET_FILE_OP_HEADER_SIZE) return FLYREF_MODEL_BAD_OP;
        if (!flyref_op_supported(o[0])) return FLYREF_NO_IMPL;
        nin = o[1];
        nout = o[2];
        np = o[3];
        words = flynet_op_param_words(o[0]);
        if (nin > FLYREF_MAX_NODE_INPUTS || nout < 1u || nout > FLYREF_MAX_NODE_OUTPUTS) return FLYREF_MODEL_BAD_OP;
        if (words < 0 || np < (uint32_t)words) return FLYREF_MODEL_BAD_OP;
        rec = FLYNET_FILE_OP_HEADER_SIZE + align4(2u * (nin + nout)) + 4u * np;
        if (rec > s->size - pos) return FLYREF_MODEL_BAD_OP;
        for (j = 0; j < nin + nout; ++j) {
            const uint32_t t = rd16(o + FLYNET_FILE_OP_HEADER_SIZE + 2u * j);
            if (j < nin && t == FLYNET_FILE_NO_TENSOR) continue;
            if (t >= f->num_tensors) return FLYREF_MODEL_BAD_INDEX;
            if (j >= nin) {
                const uint8_t *tr = f->p + f->sec[FLYNET_SECTION_TENSORS].offset + t * FLYNET_FILE_TENSOR_RECORD_SIZE;
                if (tr[10] != FLYNET_STORAGE_ARENA) return FLYREF_MODEL_BAD_INDEX;
            }
        }
        if (nodes != 0) {
            flyref_node *n = &nodes[k];
            n->op = o[0];
            n->num_inputs = (int32_t)nin;
            n->num_outputs = (int32_t)nout;
            for (j = 0; j < FLYREF_MAX_NODE_INPUTS; ++j) n->inputs[j] = -1;
            for (j = 0; j < FLYREF_MAX_NODE_OUTPUTS; ++j) n->outputs[j] = -1;
            for (j = 0; j < nin; ++j) {
                const uint32_t t = rd16(o + FLYNET_FILE_OP_HEADER_SIZE + 2u * j);
                n->inputs[j] = t == FLYNET_FILE_NO_TENSOR ? -1 : (int32_t)t;
            }
            for (j = 0; j < nout; ++j) n->outputs[j] = (int32_t)rd16(o + FLYNET_FILE_OP_HEADER_SIZE + 2u * (nin + j));
            /* parameter records are read in place (4-aligned: section and record sizes are) */
            n->params = np > 0 ? (const void *)(o + FLYNET_FILE_OP_HEADER_SIZE + align4(2u * (nin + nout))) : 0;
            n->scratch_size = 0;
            n->decode_size = 0;
        }
        pos += rec;
    }
    return pos == s->size ? FLYREF_OK : FLYREF_MODEL_BAD_OP;
}

static flyref_status check_io(const fr_file *f, flyref_model_info *info)
{
    const uint8_t *m = f->p + f->sec[FLYNET_SECTION_MODEL].offset;
    const uint32_t io[2] = {rd32(m), rd32(m + 4)};
    int32_t zp[2];
    fr_rec r;
    int k;
    for (k = 0; k < 2; ++k) {
        if (io[k] >= f->num_tensors) return FLYREF_MODEL_BAD_INDEX;
        tensor_rec(f, io[k], &r);
        if (r.storage != FLYNET_STORAGE_ARENA || r.type != FLYNET_TYPE_INT8) return FLYREF_MODEL_BAD_INDEX;
        zp[k] = r.zero_point;
    }
    info->input = (int32_t)io[0];
    info->output = (int32_t)io[1];
    info->input_scale = f32_of(rd32(m + 8));
    info->output_scale = f32_of(rd32(m + 12));
    info->input_zero_point = zp[0];
    info->output_zero_point = zp[1];
    return FLYREF_OK;
}

static flyref_status check_plan(const fr_file *f, flyref_model_info *info)
{
    const fr_section *s = &f->sec[FLYNET_SECTION_PLAN];
    const uint8_t *p = f->p + s->offset;
    const uint32_t arena = rd32(p), lower = rd32(p + 4);
    uint32_t i, a = 0;
    fr_rec r;
    if (s->count != f->num_acts || lower > arena) return FLYREF_MODEL_BAD_PLAN;
    for (i = 0; i < f->num_tensors; ++i) {
        uint32_t off;
        tensor_rec(f, i, &r);
        if (r.storage != FLYNET_STORAGE_ARENA) continue;
        off = rd32(p + 8u + 4u * a++);
        if (off % FLYNET_FILE_ARENA_ALIGN != 0 ||
            (uint64_t)off + rec_count(&r) * (r.type == FLYNET_TYPE_INT32 ? 4u : 1u) > arena) {
            return FLYREF_MODEL_BAD_PLAN;
        }
    }
    for (i = 0; i < 2u * f->num_ops; ++i) {
        const uint32_t off = rd32(p + 8u + 4u * f->num_acts + 4u * i);
        if (off % FLYNET_FILE_ARENA_ALIGN != 0 || off > arena) return FLYREF_MODEL_BAD_PLAN;
    }
    info->arena_size = arena;
    info->arena_lower_bound = lower;
    return FLYREF_OK;
}

static size_t tensor_table_bytes(uint32_t num_tensors)
{
    const size_t t = (size_t)num_tensors * sizeof(flyref_tensor);
    return (t + (FLYREF_MODEL_TABLE_ALIGN - 1u)) & ~(size_t)(FLYREF_MODEL_TABLE_ALIGN - 1u);
}

static flyref_status validate(const uint8_t *file, size_t size, fr_file *f, flyref_model_info *info)
{
    flyref_status st;
    uint32_t i;
    if (file == 0 || info == 0) return FLYREF_ARG_ERROR;
    for (i = 0; i < (uint32_t)FLYNET_SECTION_COUNT; ++i) {
        f->sec[i].offset = f->sec[i].size = f->sec[i].count = 0;
        f->sec[i].present = 0;
    }
    f->p = file;
    f->num_tensors = f->num_ops = f->num_consts = f->num_acts = 0;
    info->version_major = info->version_minor = 0;
    info->file_size = 0;
    info->num_tensors = info->num_nodes = 0;
    info->input = info->output = -1;
    info->input_scale = info->output_scale = 0.0f;
    info->input_zero_point = info->output_zero_point = 0;
    info->arena_size = info->arena_lower_bound = 0;
    info->table_bytes = 0;
    info->constants_bytes = 0;
    info->has_host_info = 0;
    if (((size_t)(const void *)file & 3u) != 0) return FLYREF_ARG_ERROR; /* RAW int32 used in place */
    if (!little_endian()) return FLYREF_NO_IMPL;
    st = check_header(file, size, f, info);
    if (st != FLYREF_OK) return st;
    st = check_sections(f);
    if (st != FLYREF_OK) return st;
    st = check_tensors_and_constants(f);
    if (st != FLYREF_OK) return st;
    st = walk_ops(f, 0);
    if (st != FLYREF_OK) return st;
    st = check_io(f, info);
    if (st != FLYREF_OK) return st;
    st = check_plan(f, info);
    if (st != FLYREF_OK) return st;
    info->file_size = f->file_size;
    info->num_tensors = (int32_t)f->num_tensors;
    info->num_nodes = (int32_t)f->num_ops;
    info->table_bytes = tensor_table_bytes(f->num_tensors) + (size_t)f->num_ops * sizeof(flyref_node);
    info->constants_bytes = f->sec[FLYNET_SECTION_CONSTANTS].size;
    info->has_host_info = f->sec[FLYNET_SECTION_HOST].present;
    return FLYREF_OK;
}

flyref_status flyref_model_info_get(const uint8_t *file, size_t size, flyref_model_info *info)
{
    fr_file f;
    return validate(file, size, &f, info);
}

flyref_status flyref_model_load(const uint8_t *file, size_t size, void *tables, size_t table_size,
                                flyref_graph *graph)
{
    fr_file f;
    flyref_model_info info;
    flyref_tensor *tensors;
    flyref_node *nodes;
    const uint8_t *plan, *consts;
    uint32_t i, a = 0, cursor = 0;
    flyref_status st;
    if (graph == 0) return FLYREF_ARG_ERROR;
    st = validate(file, size, &f, &info);
    if (st != FLYREF_OK) return st;
    if (tables == 0 || ((size_t)tables & (FLYREF_MODEL_TABLE_ALIGN - 1u)) != 0) return FLYREF_ARG_ERROR;
    if (table_size < info.table_bytes) return FLYREF_MODEL_TABLES_TOO_SMALL;
    tensors = (flyref_tensor *)tables;
    nodes = (flyref_node *)(void *)((uint8_t *)tables + tensor_table_bytes(f.num_tensors));
    plan = file + f.sec[FLYNET_SECTION_PLAN].offset;
    consts = file + f.sec[FLYNET_SECTION_CONSTANTS].offset;
    for (i = 0; i < f.num_tensors; ++i) {
        flyref_tensor *t = &tensors[i];
        fr_rec r;
        tensor_rec(&f, i, &r);
        t->dims.n = r.dims[0];
        t->dims.h = r.dims[1];
        t->dims.w = r.dims[2];
        t->dims.c = r.dims[3];
        t->type = r.type;
        t->zero_point = r.zero_point;
        t->scale_multiplier = t->scale_shift = 0;
        t->storage = r.storage;
        t->bits = r.bits;
        if (r.storage == FLYNET_STORAGE_ARENA) {
            t->arena_offset = rd32(plan + 8u + 4u * a++);
            t->data = 0;
        } else {
            /* validate() bounded every stored size by the section size (< 2^32) */
            cursor = align4(cursor);
            t->arena_offset = 0;
            t->data = consts + cursor;
            cursor += (uint32_t)stored_bytes(&r);
        }
    }
    st = walk_ops(&f, nodes);
    if (st != FLYREF_OK) return st;
    for (i = 0; i < f.num_ops; ++i) {
        nodes[i].scratch_offset = rd32(plan + 8u + 4u * f.num_acts + 8u * i);
        nodes[i].decode_offset = rd32(plan + 8u + 4u * f.num_acts + 8u * i + 4u);
    }
    graph->tensors = tensors;
    graph->num_tensors = (int32_t)f.num_tensors;
    graph->nodes = nodes;
    graph->num_nodes = (int32_t)f.num_ops;
    return flyref_graph_prepare(graph, info.arena_size);
}
