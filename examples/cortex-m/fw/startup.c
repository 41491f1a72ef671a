/* Minimal Cortex-M startup for the MPS2/MPS3 boards (ARMv7-M, ARMv8-M and ARMv8.1-M Mainline):
 * vector table, reset handler (FPU/MVE enable where present, .data copy, .bss clear, main),
 * fault handlers that report over semihosting and exit with a distinct status. SysTick_Handler is weak so a firmware can count timer wraps. */
#include <stdint.h>

#include "semihost.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _sstack, _estack;
int main(void);

void Reset_Handler(void);
void HardFault_Handler(void);
void Default_Handler(void);
void SysTick_Handler(void) __attribute__((weak, alias("Default_Handler")));

#if defined(__ARM_FP) || defined(__ARM_FEATURE_MVE)
/* With an FPU or MVE (the Cortex-M55 build), the compiler may use their registers anywhere, even
 * in the .data copy loop (MVE vectorizes it), and they fault until CPACR grants CP10 and CP11.
 * So the reset handler is assembly that enables them, waits for the write to take effect (DSB,
 * ISB) and only then enters C. The core resets in Secure state, where NSACR does not apply. */
__attribute__((used)) static void reset_c(void);

__attribute__((naked)) void Reset_Handler(void)
{
    __asm__ volatile("ldr r0, =0xE000ED88\n\t" /* CPACR */
                     "ldr r1, [r0]\n\t"
                     "orr r1, r1, #0x00F00000\n\t" /* CP10, CP11: full access */
                     "str r1, [r0]\n\t"
                     "dsb\n\t"
                     "isb\n\t"
                     "b reset_c\n\t"
                     ".ltorg");
}

static void reset_c(void)
#else
void Reset_Handler(void)
#endif
{
    uint32_t *src = &_sidata, *dst = &_sdata;
    while (dst < &_edata) *dst++ = *src++;
    for (dst = &_sbss; dst < &_ebss; ++dst) *dst = 0;
    semihost_exit(main());
}

/* The fault may come from a stack overflow, so the report runs on a fresh stack: the handler
 * passes the faulting SP and resets SP to the top before calling C. */
__attribute__((used)) static void hard_fault_report(uintptr_t sp)
{
    /* Exception entry pushes 8 words; with less room than that left the push itself faulted. */
    if (sp < (uintptr_t)&_sstack + 32u) semihost_write0("flyref-fw: HardFault (stack overflow)\n");
    else semihost_write0("flyref-fw: HardFault\n");
    semihost_exit(3);
}

__attribute__((naked)) void HardFault_Handler(void)
{
    __asm__ volatile("mov r0, sp\n\t"
                     "ldr r1, =_estack\n\t"
                     "mov sp, r1\n\t"
                     "b hard_fault_report\n\t"
                     ".ltorg");
}

void Default_Handler(void)
{
    semihost_write0("flyref-fw: unexpected exception\n");
    semihost_exit(4);
}

/* Initial stack pointer, then the 15 system exception vectors. Slot 7 is SecureFault on ARMv8-M
 * with the Security Extension (an505, an547) and reserved on ARMv7-M. No device interrupt is enabled,
 * so the table stops there. */
__attribute__((section(".isr_vector"), used)) const uintptr_t g_vectors[16] = {
    (uintptr_t)&_estack,
    (uintptr_t)Reset_Handler,
    (uintptr_t)Default_Handler,   /* NMI */
    (uintptr_t)HardFault_Handler, /* HardFault */
    (uintptr_t)Default_Handler,   /* MemManage */
    (uintptr_t)Default_Handler,   /* BusFault */
    (uintptr_t)Default_Handler,   /* UsageFault */
    (uintptr_t)Default_Handler,   /* SecureFault (ARMv8-M), reserved (ARMv7-M) */
    0, 0, 0,
    (uintptr_t)Default_Handler,   /* SVCall */
    (uintptr_t)Default_Handler,   /* DebugMonitor */
    0,
    (uintptr_t)Default_Handler,   /* PendSV */
    (uintptr_t)SysTick_Handler,
};
