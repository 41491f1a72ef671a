/* Rewrites the two CRC-32s of a .fly header (flynet_format.h: payload CRC at 20 over
 * [header_end, file_size), header CRC at 28 over [0, 28) and [32, header_end)) so that a mutated
 * file reaches the checks behind them; the fuzz targets read each input as it is and fixed. */
#ifndef FLYNET_TESTS_FUZZ_FLY_CRC_H_
#define FLYNET_TESTS_FUZZ_FLY_CRC_H_

#include <stddef.h>
#include <stdint.h>

static uint32_t fuzz_crc32(uint32_t crc, const uint8_t *p, size_t n)
{
    size_t i;
    int k;
    crc = ~crc;
    for (i = 0; i < n; ++i) {
        crc ^= p[i];
        for (k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static uint32_t fuzz_rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void fuzz_wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

/* Returns 0 when the header is too short or its sizes do not fit the buffer (nothing to fix). */
static int fuzz_fly_fix_crcs(uint8_t *b, size_t size)
{
    uint64_t file_size, header_end;
    if (size < 32) return 0;
    file_size = fuzz_rd32(b + 8);
    header_end = 32 + 16 * (uint64_t)fuzz_rd32(b + 12);
    if (file_size > size || header_end > file_size) return 0;
    fuzz_wr32(b + 20, fuzz_crc32(0, b + header_end, (size_t)(file_size - header_end)));
    fuzz_wr32(b + 28, fuzz_crc32(fuzz_crc32(0, b, 28), b + 32, (size_t)(header_end - 32)));
    return 1;
}

#endif /* FLYNET_TESTS_FUZZ_FLY_CRC_H_ */
