/*
 * The switch between the host vector paths and the portable loops (flyref_set_vector_paths).
 * One process-wide flag: tests and benchmarks flip it between runs, never during one.
 */
#include "flyref_avx2.h"

static int g_vector_paths = 1;

int flyref_set_vector_paths(int enable)
{
    const int previous = g_vector_paths;
    g_vector_paths = enable != 0;
    return previous;
}

int flyref_vector_paths_available(void)
{
#if FLYREF_AVX2
    return __builtin_cpu_supports("avx2") ? 1 : 0;
#else
    return 0;
#endif
}

#if FLYREF_AVX2
int fr_avx2_enabled(void) { return g_vector_paths && __builtin_cpu_supports("avx2"); }
#endif
