/*
 * flyref_model.h -- reads a .fly model file in place and builds the flyref_graph that runs it.
 *
 * The file format is specified at the top of flynet_format.h. The reader works on the file as
 * it lies in memory (flash): parameter records and RAW constants are used where they are,
 * encoded constants (packed weights, narrow shifts and indices) are decoded by the interpreter
 * into each node's decode region of the arena. The caller owns all memory: the file, the tables
 * the loader fills (one flyref_tensor per tensor, one flyref_node per op) and the arena. No
 * malloc, no stdio, no static mutable state (one model per thread is safe).
 *
 * Every offset, size, count, index, op code and both CRC-32s are checked before anything runs,
 * in the order flynet_format.h lists; whatever the bytes, the reader never reads outside
 * [file, file + size) and returns the status of the first check that fails. flyref_model_load
 * finishes with flyref_graph_prepare on the planned arena size, so a loaded graph is a prepared
 * graph.
 *
 * Requirements: file 4-byte aligned (FLYREF_ARG_ERROR otherwise), a little-endian target
 * (FLYREF_NO_IMPL otherwise), tables FLYREF_MODEL_TABLE_ALIGN-aligned.
 *
 * Usage:
 *   static uint8_t arena[ARENA_BYTES] __attribute__((aligned(16)));
 *   static uint64_t tables[TABLE_BYTES / 8];
 *   flyref_model_info info;
 *   flyref_graph g;
 *   if (flyref_model_info_get(model, model_size, &info) != FLYREF_OK) ...;      // bad file
 *   if (info.arena_size > sizeof arena || info.table_bytes > sizeof tables) ...;
 *   if (flyref_model_load(model, model_size, tables, sizeof tables, &g) != FLYREF_OK) ...;
 *   memcpy(arena + g.tensors[info.input].arena_offset, image, flyref_tensor_bytes(&g.tensors[info.input]));
 *   if (flyref_graph_invoke(&g, arena, info.arena_size) != FLYREF_OK) ...;
 *   logits = (const int8_t *)(arena + g.tensors[info.output].arena_offset);
 */
#ifndef FLYREF_MODEL_H_
#define FLYREF_MODEL_H_

#include "flyref_interpreter.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Alignment the loader needs for its table memory (flyref_tensor holds pointers). */
#define FLYREF_MODEL_TABLE_ALIGN 8u

/** What a valid file declares, filled by flyref_model_info_get. */
typedef struct flyref_model_info {
    uint32_t version_major, version_minor; /**< set as soon as the magic matched */
    uint32_t file_size;                    /**< bytes of the model (the rest of size is ignored) */
    int32_t num_tensors, num_nodes;
    int32_t input, output;                 /**< tensor indices of the image and the logits */
    float input_scale, output_scale;       /**< real = scale * (q - zero_point) */
    int32_t input_zero_point, output_zero_point;
    uint32_t arena_size;                   /**< bytes of arena the stored plan needs */
    uint32_t arena_lower_bound;            /**< what no plan can beat (informational) */
    size_t table_bytes;                    /**< table memory flyref_model_load needs (this build) */
    uint32_t constants_bytes;              /**< bytes of the constant section */
    int32_t has_host_info;                 /**< 1 when the optional HOST section is present */
} flyref_model_info;

/** Validates the whole file (header, CRCs, every section, record, index and the plan's offsets)
 *  and fills info. Statuses: FLYREF_ARG_ERROR (NULL pointer, file not 4-byte aligned),
 *  FLYREF_NO_IMPL (big-endian target, or an op this build cannot run) and the FLYREF_MODEL_*
 *  codes of flyref.h, in the order of flynet_format.h. Node shapes are checked by load. */
flyref_status flyref_model_info_get(const uint8_t *file, size_t size, flyref_model_info *info);

/** Validates the file as flyref_model_info_get does, then fills tables (table_size bytes,
 *  FLYREF_MODEL_TABLE_ALIGN-aligned, at least info.table_bytes: FLYREF_MODEL_TABLES_TOO_SMALL)
 *  with the tensors and nodes and points graph at them. Constant data and parameter records
 *  point into file, which must outlive the graph. Arena offsets, scratch and decode offsets come
 *  from the file's plan. Ends with flyref_graph_prepare(graph, arena_size) and returns its
 *  status, so every node has been checked against its tensors and the arena. */
flyref_status flyref_model_load(const uint8_t *file, size_t size, void *tables, size_t table_size,
                                flyref_graph *graph);

/** CRC-32 (IEEE, reflected 0xEDB88320) continuing from crc (0 to start): the checksum of the
 *  file format. flyref_crc32(0, "123456789", 9) == 0xCBF43926. */
uint32_t flyref_crc32(uint32_t crc, const uint8_t *data, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* FLYREF_MODEL_H_ */
