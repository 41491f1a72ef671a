/* Minimal Cortex-M startup: vector table, reset handler (.data copy, .bss clear, main), fault
 * handlers that report over semihosting and exit with a distinct status. */
#include <stdint.h>

#include "semihost.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
int main(void);

void Reset_Handler(void);
void HardFault_Handler(void);
void Default_Handler(void);

void Reset_Handler(void)
{
    uint32_t *src = &_sidata, *dst = &_sdata;
    while (dst < &_edata) *dst++ = *src++;
    for (dst = &_sbss; dst < &_ebss; ++dst) *dst = 0;
    semihost_exit(main());
}

void HardFault_Handler(void)
{
    semihost_write0("flyref-fw: HardFault\n");
    semihost_exit(3);
}

void Default_Handler(void)
{
    semihost_write0("flyref-fw: unexpected exception\n");
    semihost_exit(4);
}

typedef void (*vector_fn)(void);

/* Initial stack pointer, then the 15 system exception vectors of ARMv7-M. */
__attribute__((section(".isr_vector"), used)) const uintptr_t g_vectors[16] = {
    (uintptr_t)&_estack,
    (uintptr_t)Reset_Handler,
    (uintptr_t)Default_Handler,   /* NMI */
    (uintptr_t)HardFault_Handler, /* HardFault */
    (uintptr_t)Default_Handler,   /* MemManage */
    (uintptr_t)Default_Handler,   /* BusFault */
    (uintptr_t)Default_Handler,   /* UsageFault */
    0, 0, 0, 0,
    (uintptr_t)Default_Handler,   /* SVCall */
    (uintptr_t)Default_Handler,   /* DebugMonitor */
    0,
    (uintptr_t)Default_Handler,   /* PendSV */
    (uintptr_t)Default_Handler,   /* SysTick */
};
