/* Max pool s8. Refer to flyref_kernels.h; the loop is fr_pool (flyref_pool_common.h). */
#include "flyref_pool_common.h"

flyref_status flyref_max_pool_s8(const flyref_pool_params *p, const flyref_dims *in_d,
                                 const int8_t *input, const flyref_dims *out_d, int8_t *output)
{
    return fr_pool(p, in_d, input, out_d, output, 0);
}
