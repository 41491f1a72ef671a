/* Elementwise max s8 of raw codes (same scale and zero point). Refer to flyref_kernels.h. */
#include "flyref_broadcast.h"

flyref_status flyref_maximum_s8(const flyref_dims *input1_dims, const int8_t *input1,
                                const flyref_dims *input2_dims, const int8_t *input2,
                                const flyref_dims *output_dims, int8_t *output)
{
    fr_bcast b;
    const flyref_status s = fr_bcast_init(&b, input1_dims, input1, input2_dims, input2, output_dims, output);
    if (s != FLYREF_OK) return s;
    FR_BCAST_LOOP(b, output_dims, { output[io] = input1[i1] > input2[i2] ? input1[i1] : input2[i2]; });
    return FLYREF_OK;
}
