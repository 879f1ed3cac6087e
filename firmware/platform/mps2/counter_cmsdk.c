/* Instruction counter for QEMU: TIMER0 runs at 25 MHz of virtual time, and under
 * -icount shift=10 every instruction advances virtual time by exactly 2^10 ns, i.e. 25.6 ticks.
 * QEMU does not emulate DWT->CYCCNT, so this is the only exact, repeatable count available.
 * The 32-bit timer wraps every 2^32 ticks (~168 M instructions); the IRQ extends it to 64 bits. */
#include "mps2.h"
#include "platform.h"
#include "protocol.h"

uint8_t plat_counter_kind = EBQ_COUNTER_INSTRUCTIONS;

static volatile uint32_t wraps;

void TIMER0_Handler(void) {
    TIMER0_INT = 1u;
    wraps = wraps + 1u;
}

void mps2_counter_init(void) {
    TIMER0_CTRL = 0u;
    TIMER0_RELOAD = 0xFFFFFFFFu;
    TIMER0_VALUE = 0xFFFFFFFFu;
    TIMER0_INT = 1u;
    NVIC_ISER0 = 1u << TIMER0_IRQN;
    TIMER0_CTRL = 1u | 8u; /* enable, interrupt on wrap */
}

uint64_t mps2_ticks(void) {
    for (;;) {
        const uint32_t hi = wraps;
        const uint32_t value = TIMER0_VALUE;
        const uint32_t pending = TIMER0_INT & 1u;
        if (hi != wraps) continue; /* the IRQ ran in between: read again */
        /* Wrapped but the IRQ is not taken yet: the fresh value is near the top. */
        const uint32_t h = (pending && value > 0x80000000u) ? hi + 1u : hi;
        return ((uint64_t)h << 32) + (uint64_t)(0xFFFFFFFFu - value);
    }
}

uint64_t plat_counter_now(void) {
    return mps2_ticks() * 10u / 256u; /* ticks / 25.6 */
}
