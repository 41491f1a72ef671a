/* Max over groups of adjacent channels (Max-out over MDW heads). Refer to flyref_kernels.h.
 * Pixels are contiguous, so the whole tensor is one run of groups; the common head counts get
 * loops with a constant group size. */
#include "../flyref_internal.h"
#include "../support/flyref_target.h"

const char fr_path_max_group_s8[] = FR_TARGET_PATH;

static inline int8_t fr_max8(int8_t a, int8_t b) { return a > b ? a : b; }

#if FLYREF_ARM_MVE
/* Sixteen groups per loop: member j of the groups by one gather load at offsets j + g * [0, 15]
 * (byte offsets: g <= 17), the maximum over the members by VMAX; the tail predicated. Returns the
 * number of groups done (all, or 0 for g > 17). */
static int32_t fr_max_group_target(int32_t g, const int8_t *src, int8_t *dst, int32_t total)
{
    const uint8x16_t offs = vmulq_n_u8(vidupq_n_u8(0, 1), (uint8_t)g);
    int32_t i, j;
    if (g > 17) return 0;
    for (i = 0; i < total; i += 16, src += 16 * g) {
        const mve_pred16_t pr = vctp8q((uint32_t)(total - i));
        int8x16_t m = vldrbq_gather_offset_z_s8(src, offs, pr);
        for (j = 1; j < g; ++j) m = vmaxq_s8(m, vldrbq_gather_offset_z_s8(src + j, offs, pr));
        vstrbq_p_s8(dst + i, m, pr);
    }
    return total;
}
#elif FLYREF_ARM_DSP
/* Four groups per loop, on words of four bytes with the bytewise maximum fr_max4: with the
 * input as a byte stream, the maximum of the stream and its copies shifted by 1 .. g-1 bytes
 * holds every group's maximum at the group's first byte, from where the four are gathered into
 * one word. Groups of 2, 3, 4 (the head counts); returns the number of groups done. */
static int32_t fr_max_group_target(int32_t g, const int8_t *src, int8_t *dst, int32_t total)
{
    int32_t i = 0;
    if (g == 2) {
        for (; i + 4 <= total; i += 4, src += 8) {
            const uint32_t a = fr_load4(src), b = fr_load4(src + 4);
            const uint32_t ma = fr_max4(a, a >> 8), mb = fr_max4(b, b >> 8); /* bytes 0, 2 */
            fr_store4(dst + i, (ma & 0xFFu) | ((ma >> 8) & 0xFF00u) | ((mb & 0xFFu) << 16) | ((mb & 0xFF0000u) << 8));
        }
    } else if (g == 3) {
        for (; i + 4 <= total; i += 4, src += 12) {
            const uint32_t a = fr_load4(src), b = fr_load4(src + 4), c = fr_load4(src + 8);
            /* bytes 0..3 with 1..4 and 2..5: groups 0 (byte 0) and 1 (byte 3) */
            const uint32_t ma = fr_max4(fr_max4(a, (a >> 8) | (b << 24)), (a >> 16) | (b << 16));
            /* bytes 6..9 with 7..10 and 8..11: groups 2 (byte 0) and 3 (byte 3) */
            const uint32_t mb = fr_max4(fr_max4((b >> 16) | (c << 16), (b >> 24) | (c << 8)), c);
            fr_store4(dst + i, (ma & 0xFFu) | ((ma >> 16) & 0xFF00u) | ((mb & 0xFFu) << 16) | (mb & 0xFF000000u));
        }
    } else if (g == 4) {
        for (; i + 4 <= total; i += 4, src += 16) {
            uint32_t m0 = fr_load4(src), m1 = fr_load4(src + 4), m2 = fr_load4(src + 8), m3 = fr_load4(src + 12);
            m0 = fr_max4(m0, m0 >> 16);
            m1 = fr_max4(m1, m1 >> 16);
            m2 = fr_max4(m2, m2 >> 16);
            m3 = fr_max4(m3, m3 >> 16);
            m0 = fr_max4(m0, m0 >> 8);
            m1 = fr_max4(m1, m1 >> 8);
            m2 = fr_max4(m2, m2 >> 8);
            m3 = fr_max4(m3, m3 >> 8);
            fr_store4(dst + i, (m0 & 0xFFu) | ((m1 & 0xFFu) << 8) | ((m2 & 0xFFu) << 16) | (m3 << 24));
        }
    } else {
        return 0;
    }
    for (; i < total; ++i, src += g) {
        int8_t m = src[0];
        int32_t j;
        for (j = 1; j < g; ++j) m = fr_max8(m, src[j]);
        dst[i] = m;
    }
    return total;
}
#endif

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
#if FLYREF_ARM_DSP || FLYREF_ARM_MVE
    if (group_size > 1 && fr_max_group_target(group_size, src, dst, total) == total) return FLYREF_OK;
#endif
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
