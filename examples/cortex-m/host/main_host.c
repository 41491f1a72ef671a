/* Host twin of the firmware: runs the same deterministic suite and prints the same transcript. */
#include <stdio.h>

#include "../kernel_suite.h"

static void out(const char *s) { fputs(s, stdout); }

int main(void) { return flyref_kernel_suite_run(out) == 0 ? 0 : 1; }
