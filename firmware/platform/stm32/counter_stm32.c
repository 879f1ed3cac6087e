/* Event counter and timeout time base (see stm32_device.h for the two build variants).
 *
 * DWT CYCCNT (ARMv7-M ARM C1.8) counts core cycles in 32 bits (~24 s at 180 MHz, ~9 s at
 * 480 MHz); it is extended to 64 bits in software, exact as long as it is read at least once per
 * wrap (the main loop reads it around every inference). A core without a running CYCCNT (QEMU
 * models no DWT: it reads as zero) reports the counter as unavailable, and timeouts fall back
 * to SysTick, which every Cortex-M has and QEMU models. */
#include "platform.h"
#include "protocol.h"
#include "stm32_device.h"

static uint32_t last_low, high;

static uint64_t extend(uint32_t low) {
    if (low < last_low) high++;
    last_low = low;
    return ((uint64_t)high << 32) | low;
}

#if defined(EBQ_STM32_COUNTER_QEMU_TIM2)

/* QEMU's STM32 timers count virtual nanoseconds / (PSC + 1) whatever RCC says, and -icount
 * shift=10 advances virtual time by exactly 1024 ns per instruction: PSC = 1023 makes TIM2 (32
 * bits) count instructions. Timeouts use the same count. The receive loop polls two emulated
 * registers per iteration, which QEMU runs slowly on this machine (about 0.8 M instructions per
 * wall-clock second here), so one firmware "ms" is 4096 instructions: the 200 ms inter-byte
 * timeout lasts about a second of wall time, as on the mps2 boards. */
#define QEMU_INSTRUCTIONS_PER_MS 4096u

uint8_t plat_counter_kind = EBQ_COUNTER_INSTRUCTIONS;

void stm32_counter_init(void) {
    RCC->APB1ENR |= RCC_APB1ENR_TIM2EN;
    (void)RCC->APB1ENR;
    TIM2->CR1 = 0u;
    TIM2->PSC = 1023u;
    TIM2->ARR = 0xFFFFFFFFu;
    TIM2->EGR = TIM_EGR_UG; /* load the prescaler now */
    TIM2->CR1 = TIM_CR1_CEN;
}

uint32_t stm32_time32(void) { return TIM2->CNT; }
uint32_t stm32_ticks_per_ms(void) { return QEMU_INSTRUCTIONS_PER_MS; }
uint64_t plat_counter_now(void) { return extend(TIM2->CNT); }

#else

uint8_t plat_counter_kind = EBQ_COUNTER_CYCLES;
static int have_dwt;

void stm32_counter_init(void) {
    CoreDebug->DEMCR |= CoreDebug_DEMCR_TRCENA_Msk; /* DWT needs the trace enable */
#if defined(EBQ_STM32_H7)
    DWT->LAR = 0xC5ACCE55u; /* Cortex-M7: unlock the DWT registers for software writes */
#endif
    DWT->CYCCNT = 0u;
    DWT->CTRL |= DWT_CTRL_CYCCNTENA_Msk;
    const uint32_t start = DWT->CYCCNT;
    for (volatile uint32_t i = 0; i < 16u; i = i + 1u) {
    }
    have_dwt = DWT->CYCCNT != start;
    /* SysTick free-running at the core clock: the time base when there is no CYCCNT. */
    SysTick->LOAD = SysTick_LOAD_RELOAD_Msk;
    SysTick->VAL = 0u;
    SysTick->CTRL = SysTick_CTRL_CLKSOURCE_Msk | SysTick_CTRL_ENABLE_Msk;
    if (!have_dwt) plat_counter_kind = EBQ_COUNTER_NONE;
}

/* SysTick counts down in 24 bits; the accumulated elapsed ticks make an up-counter, exact as
 * long as it is read at least once per 2^24 cycles (the receive loop polls far faster) */
static uint32_t systick_up(void) {
    static uint32_t prev, total;
    const uint32_t now = SysTick->VAL;
    total += (prev - now) & SysTick_LOAD_RELOAD_Msk;
    prev = now;
    return total;
}

uint32_t stm32_time32(void) { return have_dwt ? DWT->CYCCNT : systick_up(); }
uint32_t stm32_ticks_per_ms(void) { return SystemCoreClock / 1000u; }
uint64_t plat_counter_now(void) { return have_dwt ? extend(DWT->CYCCNT) : 0u; }

#endif
