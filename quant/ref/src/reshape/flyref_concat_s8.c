/* Channel concatenation. Refer to flyref_kernels.h. */
#include "../flyref_internal.h"

flyref_status flyref_concat_s8(int32_t num_inputs, const int8_t *const *inputs, const int32_t *channels,
                               int32_t outer, int8_t *output)
{
    int32_t i, p, c, total = 0;
    if (num_inputs < 1 || inputs == 0 || channels == 0 || output == 0 || outer < 1) return FLYREF_ARG_ERROR;
    for (i = 0; i < num_inputs; ++i) {
        if (inputs[i] == 0 || channels[i] < 1 || channels[i] > INT32_MAX - total) return FLYREF_ARG_ERROR;
        total += channels[i];
    }
    if ((int64_t)total * outer > INT32_MAX) return FLYREF_SHAPE_ERROR;
    for (p = 0; p < outer; ++p) {
        int8_t *dst = output + (int64_t)p * total;
        for (i = 0; i < num_inputs; ++i) {
            const int8_t *src = inputs[i] + (int64_t)p * channels[i];
            for (c = 0; c < channels[i]; ++c) *dst++ = src[c];
        }
    }
    return FLYREF_OK;
}
