/* Device header and board wiring for the supported Nucleo boards (from the ST user manuals:
 * UM1724 Nucleo-64, UM2407 Nucleo-144 H7). The ST-LINK virtual COM port is
 *   NUCLEO-F446RE: USART2, TX PA2 / RX PA3, AF7 (APB1)
 *   NUCLEO-H743ZI: USART3, TX PD8 / RX PD9, AF7 (APB1, kernel clock rcc_pclk1 after reset)
 * The USART kernel clock is APB1's (PCLK1, the reset default on both), read back from RCC by
 * the STM32Cube HAL so a custom ebq_stm32_clock_init() keeps the baud rate right. */
#ifndef EBQ_STM32_DEVICE_H
#define EBQ_STM32_DEVICE_H

#if defined(STM32F446xx)
#include "stm32f4xx.h"
#include "stm32f4xx_hal.h" /* HAL_RCC_GetPCLK1Freq only */
#define EBQ_STM32_F4 1
#elif defined(STM32H743xx)
#include "stm32h7xx.h"
#include "stm32h7xx_hal.h"
#define EBQ_STM32_H7 1
#else
#error "firmware/platform/stm32 supports STM32F446xx and STM32H743xx (set by the board)"
#endif

#ifndef EBQ_UART_BAUD
#define EBQ_UART_BAUD 115200u
#endif

void stm32_uart_init(void);
void stm32_counter_init(void);
uint32_t stm32_cycles32(void);

#endif /* EBQ_STM32_DEVICE_H */
