/* Cycle counter: the Cortex-M DWT CYCCNT (ARMv7-M Architecture Reference Manual, C1.8), 32-bit
 * at the core clock (wraps after 2^32 cycles: ~268 s at 16 MHz, ~67 s at 64 MHz); extended to
 * 64 bits in software, which is exact as long as it is read at least once per wrap (the main
 * loop reads it around every inference). */
#include "platform.h"
#include "protocol.h"
#include "stm32_device.h"

const uint8_t plat_counter_kind = EBQ_COUNTER_CYCLES;

static uint32_t last_low, high;

void stm32_counter_init(void) {
    CoreDebug->DEMCR |= CoreDebug_DEMCR_TRCENA_Msk; /* DWT needs the trace enable */
#if defined(EBQ_STM32_H7)
    DWT->LAR = 0xC5ACCE55u; /* Cortex-M7: unlock the DWT registers for software writes */
#endif
    DWT->CYCCNT = 0u;
    DWT->CTRL |= DWT_CTRL_CYCCNTENA_Msk;
}

uint32_t stm32_cycles32(void) { return DWT->CYCCNT; }

uint64_t plat_counter_now(void) {
    const uint32_t low = DWT->CYCCNT;
    if (low < last_low) high++;
    last_low = low;
    return ((uint64_t)high << 32) | low;
}
