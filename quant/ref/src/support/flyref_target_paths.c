/*
 * Which target paths this build of flyref compiled (flyref_target_isa, flyref_target_paths).
 * The board tests print the list on every firmware and fail when a kernel reports a path below
 * what the board supports, so a fast path that silently stopped compiling is caught.
 *
 * To register a kernel's target path: define its fr_path_<kernel> string in the kernel file
 * (see flyref_target.h), declare it there and add one line to g_paths below.
 */
#include <stddef.h>

#include "flyref_target.h"

#include "flyref.h"

const char *flyref_target_isa(void)
{
#if FLYREF_ARM_MVE
    return "mve";
#elif FLYREF_ARM_DSP
    return "dsp";
#else
    return "portable";
#endif
}

/* One line per kernel file with a target path; the terminator keeps the array non-empty. */
static const flyref_target_path g_paths[] = {
    {"depthwise_conv2d_s8", fr_path_depthwise_conv2d_s8},
    {NULL, NULL},
};

const flyref_target_path *flyref_target_paths(int32_t *count)
{
    if (count != NULL) *count = (int32_t)(sizeof g_paths / sizeof g_paths[0]) - 1;
    return g_paths;
}
