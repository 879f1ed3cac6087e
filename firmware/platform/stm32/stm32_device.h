/* Device header and board wiring for the supported Nucleo boards (from the ST user manuals:
 * UM1724 Nucleo-64, UM2407 Nucleo-144 H7). The ST-LINK virtual COM port is
 *   NUCLEO-F446RE: USART2, TX PA2 / RX PA3, AF7 (APB1)
 *   NUCLEO-H743ZI: USART3, TX PD8 / RX PD9, AF7 (APB1, kernel clock rcc_pclk1 after reset)
 * CMSIS only (device header + core): no HAL, so the same sources build with PlatformIO's
 * stm32cube framework and with the vendored CMSIS files alone.
 *
 * Counter and time base, chosen at build time:
 *   default                    DWT->CYCCNT (core cycles); if it does not run (an emulator
 *                              without DWT), the counter is reported as unavailable and
 *                              timeouts use SysTick
 *   EBQ_STM32_COUNTER_QEMU_TIM2  QEMU netduinoplus2 under -icount shift=10: TIM2, whose clock
 *                              QEMU fixes at 1 GHz of virtual time, prescaled by 1024 counts one
 *                              tick per instruction (the qemu-stm32f4 board) */
#ifndef EBQ_STM32_DEVICE_H
#define EBQ_STM32_DEVICE_H

#include <stdint.h>

#if defined(STM32F446xx)
#include "stm32f4xx.h"
#define EBQ_STM32_F4 1
#elif defined(STM32H743xx)
#include "stm32h7xx.h"
#define EBQ_STM32_H7 1
#else
#error "firmware/platform/stm32 supports STM32F446xx and STM32H743xx (set by the board)"
#endif

#ifndef EBQ_UART_BAUD
#define EBQ_UART_BAUD 115200u
#endif

/* Core clock setup (clock_stm32.c): full speed, or the reset clock when any step does not
 * become ready in time. Returns 1 when the target clock runs. */
int ebq_stm32_clock_init(void);

/* The APB1 clock in Hz, read back from RCC (the UART's kernel clock on both boards). */
uint32_t stm32_pclk1_hz(void);

void stm32_uart_init(void);
void stm32_counter_init(void);

/* Free-running 32-bit time base for timeouts, and its ticks per (firmware) millisecond. */
uint32_t stm32_time32(void);
uint32_t stm32_ticks_per_ms(void);

#endif /* EBQ_STM32_DEVICE_H */
