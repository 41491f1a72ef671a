/* Max over groups of adjacent channels (Max-out over MDW heads). Refer to flyref_kernels.h. */
#include "../flyref_internal.h"

flyref_status flyref_max_group_s8(int32_t group_size, const flyref_dims *input_dims,
                                  const int8_t *input, const flyref_dims *output_dims,
                                  int8_t *output)
{
    int32_t pixels, p, c, j;
    if (input == 0 || output == 0 || group_size < 1) return FLYREF_ARG_ERROR;
    if (!fr_dims_ok(input_dims) || !fr_dims_ok(output_dims) || fr_dims_count(input_dims) < 0) return FLYREF_SHAPE_ERROR;
    if (input_dims->n != output_dims->n || input_dims->h != output_dims->h ||
        input_dims->w != output_dims->w || (int64_t)output_dims->c * group_size != input_dims->c) {
        return FLYREF_SHAPE_ERROR;
    }
    pixels = input_dims->n * input_dims->h * input_dims->w;
    for (p = 0; p < pixels; ++p) {
        const int8_t *src = input + (int64_t)p * input_dims->c;
        int8_t *dst = output + (int64_t)p * output_dims->c;
        for (c = 0; c < output_dims->c; ++c) {
            int8_t m = src[c * group_size];
            for (j = 1; j < group_size; ++j) {
                if (src[c * group_size + j] > m) m = src[c * group_size + j];
            }
            dst[c] = m;
        }
    }
    return FLYREF_OK;
}
