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

const char *flyref_target_isa(void) { return FR_TARGET_PATH; }

/* One line per kernel file with a target path; the terminator keeps the array non-empty. */
static const flyref_target_path g_paths[] = {
    {"conv2d_s8", fr_path_conv2d_s8},
    {"conv2d_1x1_s8", fr_path_conv2d_1x1_s8},
    {"conv2d_1x1_packed_s8", fr_path_conv2d_1x1_packed_s8},
    {"fully_connected_s8", fr_path_fully_connected_s8},
    {"fully_connected_packed_s8", fr_path_fully_connected_packed_s8},
    {"mul_s8", fr_path_mul_s8},
    {"vaeca_descriptor_s8", fr_path_vaeca_descriptor_s8},
    {"add_s8", fr_path_add_s8},
    {"max_group_s8", fr_path_max_group_s8},
    {"softmax_s8", fr_path_softmax_s8},
    {"hard_swish_s8", fr_path_hard_swish_s8},
    {"logistic_s8", fr_path_logistic_s8},
    {"eca_conv1d_s8", fr_path_eca_conv1d_s8},
    {"depthwise_conv2d_s8", fr_path_depthwise_conv2d_s8},
    {NULL, NULL},
};

const flyref_target_path *flyref_target_paths(int32_t *count)
{
    if (count != NULL) *count = (int32_t)(sizeof g_paths / sizeof g_paths[0]) - 1;
    return g_paths;
}
