/*
 * Cortex-M target paths (private): which instruction set extension the kernels may use, chosen
 * at compile time from the compiler's ACLE feature macros.
 *
 *   FLYREF_ARM_MVE  Armv8.1-M MVE (Helium) integer instructions, arm_mve.h (Cortex-M55; gcc
 *                   defines __ARM_FEATURE_MVE only with -mfloat-abi=softfp or hard)
 *   FLYREF_ARM_DSP  the DSP extension: SIMD16 multiply-accumulate, SXTB16, saturation,
 *                   arm_acle.h (Cortex-M4, M7, M33, M55)
 *
 * Both are 0 elsewhere (Cortex-M3, hosts) and with FLYREF_NO_VECTOR_PATHS. A kernel file with a
 * target path keeps its portable loop (the spec, and the fallback) and defines the string that
 * names the branch it compiled, declared here and listed in flyref_target_paths.c:
 *
 *   #if FLYREF_ARM_MVE
 *   const char fr_path_mul_s8[] = "mve";
 *   #elif FLYREF_ARM_DSP
 *   ...
 */
#ifndef FLYREF_TARGET_H_
#define FLYREF_TARGET_H_

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1) && !defined(FLYREF_NO_VECTOR_PATHS)
#define FLYREF_ARM_MVE 1
#else
#define FLYREF_ARM_MVE 0
#endif

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP && !defined(FLYREF_NO_VECTOR_PATHS)
#define FLYREF_ARM_DSP 1
#else
#define FLYREF_ARM_DSP 0
#endif

/* The path each kernel file compiled ("portable", "dsp" or "mve"); one line per kernel file with
 * a target path, in the order of flyref_target_paths.c. */
extern const char fr_path_depthwise_conv2d_s8[];

#endif /* FLYREF_TARGET_H_ */
