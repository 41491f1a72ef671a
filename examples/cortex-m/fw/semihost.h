/* Arm semihosting (the debugger/emulator services behind BKPT 0xAB): text output and exit. */
#ifndef FLYREF_FW_SEMIHOST_H_
#define FLYREF_FW_SEMIHOST_H_

/** SYS_WRITE0: writes a NUL-terminated string to the host's stdout. */
void semihost_write0(const char *s);
/** SYS_WRITEC: writes one character. */
void semihost_writec(char c);
/** SYS_EXIT_EXTENDED with ADP_Stopped_ApplicationExit: qemu exits with this status. */
void semihost_exit(int status);

#endif /* FLYREF_FW_SEMIHOST_H_ */
