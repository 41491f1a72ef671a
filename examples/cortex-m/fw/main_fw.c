/* Firmware entry: reports the target paths flyref compiled, then runs the deterministic flyref
 * kernel suite and prints over semihosting. The path lines come before the suite's transcript
 * (which must equal the host's); compare_qemu_host.cmake checks them against the board. */
#include "../kernel_suite.h"
#include "flyref.h"
#include "semihost.h"

static void report_target_paths(void)
{
    int32_t n = 0, i;
    const flyref_target_path *p = flyref_target_paths(&n);
    semihost_write0("flyref target isa=");
    semihost_write0(flyref_target_isa());
    semihost_write0("\n");
    for (i = 0; i < n; ++i) {
        semihost_write0("flyref target path ");
        semihost_write0(p[i].kernel);
        semihost_write0("=");
        semihost_write0(p[i].path);
        semihost_write0("\n");
    }
}

int main(void)
{
    report_target_paths();
    return flyref_kernel_suite_run(semihost_write0) == 0 ? 0 : 1;
}
