/* A 64-bit tick counter from the core's SysTick timer (processor clock, 24-bit down counter whose
 * wraps an interrupt counts). Under qemu -icount shift=0 the virtual clock advances 1 ns per
 * executed instruction, so ticks convert to instructions at SYSCLK-period instructions per tick
 * (40 at the 25 MHz of an385/an386/an500, 50 at the 20 MHz of an505, 31.25 at the 32 MHz of
 * an547);
 * systick_instructions_per_tick measures the factor on a loop of known length. */
#ifndef FLYREF_FW_SYSTICK_CLOCK_H_
#define FLYREF_FW_SYSTICK_CLOCK_H_

#include <stdint.h>

/** Starts SysTick from zero with the wrap interrupt enabled. */
void systick_start(void);
/** Ticks since systick_start. Reads with interrupts masked, so a wrap that has happened but is
 *  not yet counted is still accounted for. */
uint64_t systick_ticks(void);
/** Executes exactly 2 * iterations instructions (subs + bne per iteration; iterations >= 1). */
void systick_known_loop(uint32_t iterations);
/** Measures instructions per tick: the tick difference between two known loops of 2 * a and
 *  2 * b instructions, so the fixed cost of the measurement cancels. Returns the factor times
 *  1000 (rounded) to show a non-integer factor rather than hide it. */
uint32_t systick_instructions_per_tick_x1000(uint32_t a, uint32_t b);

#endif /* FLYREF_FW_SYSTICK_CLOCK_H_ */
