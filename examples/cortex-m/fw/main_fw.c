/* Firmware entry: runs the deterministic flyref kernel suite and prints over semihosting. */
#include "../kernel_suite.h"
#include "semihost.h"

int main(void)
{
    return flyref_kernel_suite_run(semihost_write0) == 0 ? 0 : 1;
}
