/* The C reader of .fly files (quant/ref): flyref_model_info_get, then flyref_model_load into
 * tables of the size it asked for, on the input as it is and with its CRCs fixed. Plain C, as
 * on the device. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fly_crc.h"
#include "flyref_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void load(const uint8_t *model, size_t size)
{
    flyref_model_info info;
    flyref_graph g;
    uint64_t *tables;
    if (flyref_model_info_get(model, size, &info) != FLYREF_OK || info.table_bytes >= (1u << 24)) return;
    tables = (uint64_t *)malloc((info.table_bytes / 8 + 1) * 8);
    if (tables == 0) return;
    (void)flyref_model_load(model, size, tables, info.table_bytes, &g);
    free(tables);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The reader requires 4-byte alignment for RAW constants read in place: copy as the host does. */
    uint64_t *model = (uint64_t *)malloc((size / 8 + 1) * 8);
    if (model == 0) return 0;
    if (size > 0) memcpy(model, data, size);
    load((const uint8_t *)model, size);
    if (fuzz_fly_fix_crcs((uint8_t *)model, size)) load((const uint8_t *)model, size);
    free(model);
    return 0;
}
