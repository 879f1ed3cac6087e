/* plat_init for the STM32 boards (entered from the CMSIS startup file after SystemInit, which
 * enables the FPU when the build uses it). */
#include "platform.h"
#include "stm32_device.h"

/* The clock SystemCoreClockUpdate() read back from RCC: what really runs, whether the PLL
 * setup succeeded or fell back to the reset clock. */
uint32_t plat_clock_hz(void) { return SystemCoreClock; }

void plat_init(void) {
    /* The link comes up at the reset clock first, so bytes that arrive while the clock is set
     * up wait in the receiver (an emulator drops them while the USART is off), and again at
     * the final clock for the right baud divider. */
    stm32_uart_init();
    (void)ebq_stm32_clock_init();
#if defined(EBQ_STM32_H7)
    /* Caches are off after reset on the M7; the runtime is far faster with them (no DMA here,
     * so no coherency work is needed). */
    SCB_EnableICache();
    SCB_EnableDCache();
#endif
    stm32_counter_init();
    stm32_uart_init();
}

/* Faults stop at a breakpoint instead of the startup file's endless Default_Handler loop: under
 * a debugger it halts where it is, and QEMU exits (no debugger attached) instead of hanging. */
__attribute__((noreturn)) static void halt(void) {
    for (;;) __asm volatile("bkpt #0");
}

void HardFault_Handler(void);
void MemManage_Handler(void);
void BusFault_Handler(void);
void UsageFault_Handler(void);
void HardFault_Handler(void) { halt(); }
void MemManage_Handler(void) { halt(); }
void BusFault_Handler(void) { halt(); }
void UsageFault_Handler(void) { halt(); }
