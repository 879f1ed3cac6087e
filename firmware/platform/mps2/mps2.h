/* Registers of the QEMU mps2-an386 / mps2-an500 boards used by the glue (ARM CMSDK peripherals
 * and Cortex-M system control). Addresses from the ARM MPS2 AN386/AN500 application notes and
 * QEMU hw/arm/mps2.c; no CMSIS needed. */
#ifndef EBQ_MPS2_H
#define EBQ_MPS2_H

#include <stdint.h>

#define MPS2_REG(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

/* CMSDK APB UART0 (the -serial backend). */
#define UART0_BASE 0x40004000u
#define UART0_DATA MPS2_REG(UART0_BASE + 0x00u)
#define UART0_STATE MPS2_REG(UART0_BASE + 0x04u) /* bit0 TX full, bit1 RX full */
#define UART0_CTRL MPS2_REG(UART0_BASE + 0x08u)  /* bit0 TX enable, bit1 RX enable */
#define UART0_BAUDDIV MPS2_REG(UART0_BASE + 0x10u)
#define UART_STATE_TX_FULL 1u
#define UART_STATE_RX_FULL 2u

/* CMSDK APB TIMER0: 32-bit down counter at 25 MHz, IRQ 8 on reaching zero. */
#define TIMER0_BASE 0x40000000u
#define TIMER0_CTRL MPS2_REG(TIMER0_BASE + 0x00u) /* bit0 enable, bit3 IRQ enable */
#define TIMER0_VALUE MPS2_REG(TIMER0_BASE + 0x04u)
#define TIMER0_RELOAD MPS2_REG(TIMER0_BASE + 0x08u)
#define TIMER0_INT MPS2_REG(TIMER0_BASE + 0x0Cu) /* read: status, write 1: clear */
#define TIMER0_IRQN 8u
#define MPS2_TIMER_HZ 25000000u

/* Cortex-M system control. */
#define NVIC_ISER0 MPS2_REG(0xE000E100u)
#define SCB_AIRCR MPS2_REG(0xE000ED0Cu)
#define SCB_CPACR MPS2_REG(0xE000ED88u)
#define AIRCR_SYSRESETREQ (0x05FA0000u | 4u)

void mps2_uart_init(void);
void mps2_counter_init(void);
uint64_t mps2_ticks(void); /* TIMER0 ticks since mps2_counter_init, 64-bit */

#endif /* EBQ_MPS2_H */
