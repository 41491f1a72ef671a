/* SysTick tick counter (see systick_clock.h). Register addresses and bits: ARMv7-M / ARMv8-M
 * Architecture Reference Manual, System timer (SysTick) and ICSR. */
#include "systick_clock.h"

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SCB_ICSR (*(volatile uint32_t *)0xE000ED04u)
#define CSR_ENABLE 1u
#define CSR_TICKINT 2u
#define CSR_CLKSOURCE_CPU 4u
#define ICSR_PENDSTSET (1u << 26)
#define RELOAD 0x00FFFFFFu

static volatile uint32_t g_wraps;

void SysTick_Handler(void);
void SysTick_Handler(void) { ++g_wraps; }

void systick_start(void)
{
    SYST_CSR = 0;
    SYST_RVR = RELOAD;
    SYST_CVR = 0; /* any write clears the counter; it reloads on the next clock */
    g_wraps = 0;
    SYST_CSR = CSR_ENABLE | CSR_TICKINT | CSR_CLKSOURCE_CPU;
    /* The reload that follows the write to CVR is not a wrap (no exception): tick 0 is when the
     * counter first shows RELOAD. */
    while (SYST_CVR == 0u) {
    }
}

uint64_t systick_ticks(void)
{
    uint32_t before, after, pending, wraps;
    __asm__ volatile("cpsid i" ::: "memory");
    before = SYST_CVR;
    pending = SCB_ICSR & ICSR_PENDSTSET;
    after = SYST_CVR;
    wraps = g_wraps;
    __asm__ volatile("cpsie i" ::: "memory");
    /* Pending: the counter wrapped before ICSR was read, so `after` is past that wrap. Not
     * pending: no uncounted wrap before ICSR was read, so `before` belongs to `wraps`. */
    if (pending) return ((uint64_t)wraps + 1u) * (RELOAD + 1u) + (RELOAD - after);
    return (uint64_t)wraps * (RELOAD + 1u) + (RELOAD - before);
}

void systick_known_loop(uint32_t iterations)
{
    register uint32_t n __asm__("r0") = iterations;
    __asm__ volatile("1: subs %0, %0, #1\n\tbne 1b" : "+r"(n) : : "cc");
}

uint32_t systick_instructions_per_tick_x1000(uint32_t a, uint32_t b)
{
    uint64_t t0, t1, t2, t3, da, db;
    t0 = systick_ticks();
    systick_known_loop(a);
    t1 = systick_ticks();
    t2 = systick_ticks();
    systick_known_loop(b);
    t3 = systick_ticks();
    da = t1 - t0;
    db = t3 - t2;
    if (db <= da) return 0;
    return (uint32_t)(((uint64_t)2u * (b - a) * 1000u + (db - da) / 2u) / (db - da));
}
