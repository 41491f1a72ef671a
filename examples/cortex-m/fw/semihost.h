/* Arm semihosting (the debugger/emulator services behind BKPT 0xAB): text output, host files
 * and exit. With qemu's -semihosting-config enable=on,target=native, file names are relative to
 * qemu's working directory. */
#ifndef FLYREF_FW_SEMIHOST_H_
#define FLYREF_FW_SEMIHOST_H_

#include <stddef.h>
#include <stdint.h>

/** SYS_WRITE0: writes a NUL-terminated string to the host's stdout. */
void semihost_write0(const char *s);
/** SYS_WRITEC: writes one character. */
void semihost_writec(char c);
/** SYS_EXIT_EXTENDED with ADP_Stopped_ApplicationExit: qemu exits with this status. */
void semihost_exit(int status);

/** SYS_OPEN in binary mode, for reading (write = 0) or for writing, truncated (write = 1).
 *  Returns a handle >= 0, or -1. */
int semihost_open(const char *name, int write);
/** SYS_CLOSE. Returns 0 on success. */
int semihost_close(int handle);
/** SYS_FLEN: the file's length in bytes, or -1. */
long semihost_flen(int handle);
/** SYS_READ: reads up to n bytes; returns the number read (short only at the end of the file). */
size_t semihost_read(int handle, void *buf, size_t n);
/** SYS_WRITE: returns 0 when all n bytes were written. */
int semihost_write(int handle, const void *buf, size_t n);

#endif /* FLYREF_FW_SEMIHOST_H_ */
