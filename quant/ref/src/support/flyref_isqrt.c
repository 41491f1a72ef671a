/* Exact integer square root (VA-ECA descriptor). */
#include "../flyref_internal.h"

uint32_t flyref_isqrt_u64(uint64_t v)
{
    /* Digit-by-digit (base 4) method: exact floor(sqrt(v)) using only shifts, adds and compares,
     * so it gives the same bits on every target. Invariant: res^2 + rem = the bits consumed. */
    uint64_t rem = v;
    uint64_t res = 0;
    uint64_t bit = (uint64_t)1 << 62;
    while (bit > rem) {
        bit >>= 2;
    }
    while (bit != 0) {
        if (rem >= res + bit) {
            rem -= res + bit;
            res = (res >> 1) + bit;
        } else {
            res >>= 1;
        }
        bit >>= 2;
    }
    return (uint32_t)res;
}
