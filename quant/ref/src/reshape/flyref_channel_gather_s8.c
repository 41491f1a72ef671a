/* Channel gather. Refer to flyref_kernels.h. */
#include "../flyref_internal.h"

flyref_status flyref_channel_gather_s8(const flyref_dims *input_dims, const int8_t *input,
                                       const int32_t *index, const flyref_dims *output_dims,
                                       int8_t *output)
{
    int32_t pixels, p, o;
    if (input == 0 || index == 0 || output == 0) return FLYREF_ARG_ERROR;
    if (!fr_dims_ok(input_dims) || !fr_dims_ok(output_dims) || fr_dims_count(input_dims) < 0 ||
        fr_dims_count(output_dims) < 0) {
        return FLYREF_SHAPE_ERROR;
    }
    if (input_dims->n != output_dims->n || input_dims->h != output_dims->h || input_dims->w != output_dims->w) {
        return FLYREF_SHAPE_ERROR;
    }
    for (o = 0; o < output_dims->c; ++o) {
        if (index[o] < 0 || index[o] >= input_dims->c) return FLYREF_ARG_ERROR;
    }
    pixels = input_dims->n * input_dims->h * input_dims->w;
    for (p = 0; p < pixels; ++p) {
        const int8_t *src = input + (int64_t)p * input_dims->c;
        int8_t *dst = output + (int64_t)p * output_dims->c;
        for (o = 0; o < output_dims->c; ++o) dst[o] = src[index[o]];
    }
    return FLYREF_OK;
}
