/* Max over groups of adjacent channels (Max-out over MDW heads). Refer to flyref_kernels.h.
 * Pixels are contiguous, so the whole tensor is one run of groups; the common head counts get
 * loops with a constant group size. */
#include "../flyref_internal.h"

static inline int8_t fr_max8(int8_t a, int8_t b) { return a > b ? a : b; }

flyref_status flyref_max_group_s8(int32_t group_size, const flyref_dims *input_dims,
                                  const int8_t *input, const flyref_dims *output_dims,
                                  int8_t *output)
{
    int32_t total, i, j;
    const int8_t *src = input;
    int8_t *dst = output;
    if (input == 0 || output == 0 || group_size < 1) return FLYREF_ARG_ERROR;
    if (!fr_dims_ok(input_dims) || !fr_dims_ok(output_dims) || fr_dims_count(input_dims) < 0) return FLYREF_SHAPE_ERROR;
    if (input_dims->n != output_dims->n || input_dims->h != output_dims->h ||
        input_dims->w != output_dims->w || (int64_t)output_dims->c * group_size != input_dims->c) {
        return FLYREF_SHAPE_ERROR;
    }
    total = input_dims->n * input_dims->h * input_dims->w * output_dims->c;
    switch (group_size) {
    case 1:
        for (i = 0; i < total; ++i) dst[i] = src[i];
        break;
    case 2:
        for (i = 0; i < total; ++i) dst[i] = fr_max8(src[2 * i], src[2 * i + 1]);
        break;
    case 3:
        for (i = 0; i < total; ++i) dst[i] = fr_max8(fr_max8(src[3 * i], src[3 * i + 1]), src[3 * i + 2]);
        break;
    case 4:
        for (i = 0; i < total; ++i) {
            dst[i] = fr_max8(fr_max8(src[4 * i], src[4 * i + 1]), fr_max8(src[4 * i + 2], src[4 * i + 3]));
        }
        break;
    default:
        for (i = 0; i < total; ++i) {
            const int8_t *g = src + (int64_t)i * group_size;
            int8_t m = g[0];
            for (j = 1; j < group_size; ++j) m = fr_max8(m, g[j]);
            dst[i] = m;
        }
        break;
    }
    return FLYREF_OK;
}
