/*
 * cmsis_cases.h -- the CMSIS-NN int8 unit-test vectors (shared/data/cmsis-nn-vectors) as C
 * arrays, generated at configure time by gen_cmsis_cases.cmake, so that the firmware can check
 * every case on the target itself. When the shared folder is absent the table is empty.
 */
#ifndef FLYREF_CMSIS_CASES_H_
#define FLYREF_CMSIS_CASES_H_

#include <stdint.h>

enum fw_cmsis_op { FW_OP_CONV = 1, FW_OP_DEPTHWISE, FW_OP_FC, FW_OP_ADD, FW_OP_MUL, FW_OP_AVGPOOL, FW_OP_MAXPOOL, FW_OP_SOFTMAX };

/* Indices into fw_cmsis_case.cfg (the README's config keys; absent keys are 0). */
enum fw_cmsis_key {
    K_BATCHES, K_INPUT_H, K_INPUT_W, K_INPUT_C, K_OUTPUT_H, K_OUTPUT_W, K_OUTPUT_C, K_KERNEL_H,
    K_KERNEL_W, K_KERNEL_C, K_CH_MULT, K_STRIDE_H, K_STRIDE_W, K_PAD_H, K_PAD_W, K_DILATION_H,
    K_DILATION_W, K_INPUT_OFFSET, K_FILTER_OFFSET, K_OUTPUT_OFFSET, K_ACTIVATION_MIN,
    K_ACTIVATION_MAX, K_OUTPUT_SIZE, K_ACCUMULATION_DEPTH, K_SIZE, K_INPUT1_OFFSET, K_INPUT2_OFFSET,
    K_LEFT_SHIFT, K_INPUT1_MULTIPLIER, K_INPUT1_SHIFT, K_INPUT2_MULTIPLIER, K_INPUT2_SHIFT,
    K_OUTPUT_MULTIPLIER, K_OUTPUT_SHIFT, K_NUM_ROWS, K_ROW_SIZE, K_INPUT_MULTIPLIER,
    K_INPUT_LEFT_SHIFT, K_DIFF_MIN, K_COUNT
};

typedef struct fw_cmsis_case {
    const char *name;
    int32_t op;                     /* fw_cmsis_op */
    int32_t cfg[K_COUNT];
    const int8_t *input, *input2, *weights;
    const int32_t *bias;            /* NULL for a null bias */
    const int32_t *multiplier, *shift;
    int32_t n_multiplier;
    const int8_t *expected;
    int32_t n_expected;
} fw_cmsis_case;

extern const fw_cmsis_case fw_cmsis_cases[];
extern const int32_t fw_cmsis_case_count;

#endif /* FLYREF_CMSIS_CASES_H_ */
