/* Arm semihosting calls (Arm "Semihosting for AArch32 and AArch64", v2). On M-profile the trap
 * is BKPT 0xAB with the operation in r0 and the parameter (block) in r1; r0 returns. */
#include "semihost.h"

#define SYS_OPEN 0x01
#define SYS_CLOSE 0x02
#define SYS_WRITEC 0x03
#define SYS_WRITE0 0x04
#define SYS_WRITE 0x05
#define SYS_READ 0x06
#define SYS_FLEN 0x0C
#define SYS_EXIT 0x18
#define SYS_EXIT_EXTENDED 0x20
#define ADP_STOPPED_APPLICATION_EXIT 0x20026
/* SYS_OPEN modes are indices into fopen's table: 1 = "rb", 5 = "wb". */
#define OPEN_MODE_RB 1
#define OPEN_MODE_WB 5

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

int semihost_open(const char *name, int write)
{
    size_t len = 0;
    uint32_t block[3];
    while (name[len] != '\0') ++len;
    block[0] = (uint32_t)(uintptr_t)name;
    block[1] = write ? OPEN_MODE_WB : OPEN_MODE_RB;
    block[2] = (uint32_t)len;
    return semihost_call(SYS_OPEN, block);
}

int semihost_close(int handle)
{
    const uint32_t block[1] = {(uint32_t)handle};
    return semihost_call(SYS_CLOSE, block);
}

long semihost_flen(int handle)
{
    const uint32_t block[1] = {(uint32_t)handle};
    return semihost_call(SYS_FLEN, block);
}

size_t semihost_read(int handle, void *buf, size_t n)
{
    /* SYS_READ returns the number of bytes NOT read. */
    const uint32_t block[3] = {(uint32_t)handle, (uint32_t)(uintptr_t)buf, (uint32_t)n};
    const int left = semihost_call(SYS_READ, block);
    return left < 0 || (size_t)left > n ? 0 : n - (size_t)left;
}

int semihost_write(int handle, const void *buf, size_t n)
{
    /* SYS_WRITE returns the number of bytes NOT written. */
    const uint32_t block[3] = {(uint32_t)handle, (uint32_t)(uintptr_t)buf, (uint32_t)n};
    return semihost_call(SYS_WRITE, block);
}
