/* Arm semihosting calls (Arm "Semihosting for AArch32 and AArch64", v2). On M-profile the trap
 * is BKPT 0xAB with the operation in r0 and the parameter (block) in r1; r0 returns. */
#include "semihost.h"

#include <stdint.h>

#define SYS_WRITEC 0x03
#define SYS_WRITE0 0x04
#define SYS_EXIT 0x18
#define SYS_EXIT_EXTENDED 0x20
#define ADP_STOPPED_APPLICATION_EXIT 0x20026

static int semihost_call(int op, const void *arg)
{
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void semihost_write0(const char *s) { (void)semihost_call(SYS_WRITE0, s); }

void semihost_writec(char c) { (void)semihost_call(SYS_WRITEC, &c); }

void semihost_exit(int status)
{
    /* Extended exit carries the status; plain SYS_EXIT (32-bit: reason code in r1) is the
     * fallback for hosts without the extension (exit status 0 for ApplicationExit only). */
    const uint32_t block[2] = {ADP_STOPPED_APPLICATION_EXIT, (uint32_t)status};
    (void)semihost_call(SYS_EXIT_EXTENDED, block);
    (void)semihost_call(SYS_EXIT, (const void *)(uintptr_t)(status == 0 ? ADP_STOPPED_APPLICATION_EXIT : 0x20023));
    for (;;) {
    }
}
