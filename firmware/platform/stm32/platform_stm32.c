/* plat_init for the STM32 Nucleo boards (started by the STM32Cube startup file and SystemInit). */
#include "platform.h"
#include "stm32_device.h"

/* The firmware runs on the reset clock (HSI: 16 MHz on F446, 64 MHz on H743), which needs no
 * board-specific PLL, supply or flash wait-state setup. For full speed, define this function
 * (e.g. CubeMX's SystemClock_Config body); the UART divider and INFO's clock follow it. */
__attribute__((weak)) void ebq_stm32_clock_init(void) {}

uint32_t plat_clock_hz(void) { return SystemCoreClock; }

void plat_init(void) {
    ebq_stm32_clock_init();
    SystemCoreClockUpdate();
#if defined(EBQ_STM32_H7)
    /* Caches are off after reset on the M7; the runtime is far faster with them (no DMA here,
     * so no coherency work is needed). */
    SCB_EnableICache();
    SCB_EnableDCache();
#endif
    stm32_counter_init();
    stm32_uart_init();
}
