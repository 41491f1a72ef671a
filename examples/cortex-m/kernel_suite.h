/*
 * kernel_suite.h -- deterministic flyref kernel test suite shared by the Cortex-M firmware and
 * its host twin. Both builds generate the same cases from the same PRNG and print one line per
 * kernel family (case count, failures, FNV-1a hash of every output byte and status); the ctest
 * compares the two transcripts byte for byte.
 */
#ifndef FLYREF_KERNEL_SUITE_H_
#define FLYREF_KERNEL_SUITE_H_

/** Output sink: writes a NUL-terminated string (semihosting SYS_WRITE0 or stdout). */
typedef void (*suite_puts_fn)(const char *s);

/** Runs every family; returns the number of kernel calls that did not return FLYREF_OK. */
int flyref_kernel_suite_run(suite_puts_fn out);

#endif /* FLYREF_KERNEL_SUITE_H_ */
