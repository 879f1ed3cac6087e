/* Byte link over the ST-LINK virtual COM port, register-level and polled (RM0390 for F446,
 * RM0433 for H743). The ST-LINK bridge buffers the host's bytes; the main loop reads a request
 * fully before computing, and the host never sends the next request before the reply. */
#include "platform.h"
#include "stm32_device.h"

#if defined(EBQ_STM32_F4)
#define UART USART2
#define RX_READY() (UART->SR & USART_SR_RXNE)
#define TX_READY() (UART->SR & USART_SR_TXE)
#define RX_BYTE() ((int)(UART->DR & 0xFFu)) /* reading SR then DR also clears an overrun */
#define TX_BYTE(b) (UART->DR = (b))
#define RX_CLEAR_ERRORS() ((void)0)
#else
#define UART USART3
#define RX_READY() (UART->ISR & USART_ISR_RXNE_RXFNE)
#define TX_READY() (UART->ISR & USART_ISR_TXE_TXFNF)
#define RX_BYTE() ((int)(UART->RDR & 0xFFu))
#define TX_BYTE(b) (UART->TDR = (b))
/* An overrun flag must be cleared explicitly on this USART, or reception stays flagged. */
#define RX_CLEAR_ERRORS() (UART->ICR = USART_ICR_ORECF | USART_ICR_FECF | USART_ICR_NECF)
#endif

/* Pins to alternate function 7 (MODER = 0b10, AFR nibble = 7). */
static void pin_af7(GPIO_TypeDef *port, uint32_t pin) {
    port->MODER = (port->MODER & ~(3u << (2u * pin))) | (2u << (2u * pin));
    port->OSPEEDR |= 2u << (2u * pin);
    volatile uint32_t *afr = &port->AFR[pin / 8u];
    const uint32_t shift = 4u * (pin % 8u);
    *afr = (*afr & ~(0xFu << shift)) | (7u << shift);
}

void stm32_uart_init(void) {
#if defined(EBQ_STM32_F4)
    RCC->AHB1ENR |= RCC_AHB1ENR_GPIOAEN;
    RCC->APB1ENR |= RCC_APB1ENR_USART2EN;
    (void)RCC->APB1ENR; /* errata: wait for the clock before touching the peripheral */
    pin_af7(GPIOA, 2u);
    pin_af7(GPIOA, 3u);
    GPIOA->PUPDR = (GPIOA->PUPDR & ~(3u << 6)) | (1u << 6); /* RX pull-up: idle high unplugged */
#else
    RCC->AHB4ENR |= RCC_AHB4ENR_GPIODEN;
    RCC->APB1LENR |= RCC_APB1LENR_USART3EN;
    (void)RCC->APB1LENR;
    pin_af7(GPIOD, 8u);
    pin_af7(GPIOD, 9u);
#endif
    UART->CR1 = 0u;
    /* Oversampling by 16: BRR = f_ck / baud, rounded; f_ck = PCLK1 as RCC is set now. */
    const uint32_t f_ck = stm32_pclk1_hz();
    UART->BRR = (f_ck + EBQ_UART_BAUD / 2u) / EBQ_UART_BAUD;
    UART->CR1 = USART_CR1_UE | USART_CR1_TE | USART_CR1_RE;
}

int plat_getc(uint32_t timeout_ms) {
    const uint32_t per_ms = stm32_ticks_per_ms();
    uint32_t ms = 0, last = stm32_time32();
    while (!RX_READY()) {
        RX_CLEAR_ERRORS();
        if (timeout_ms == PLAT_FOREVER) continue;
        const uint32_t now = stm32_time32();
        if (now - last >= per_ms) { /* count whole ms, so the 32-bit time base may wrap freely */
            last += per_ms;
            if (++ms >= timeout_ms) return PLAT_TIMEOUT;
        }
    }
    return RX_BYTE();
}

void plat_write(const uint8_t *data, size_t n) {
    for (size_t i = 0; i < n; i++) {
        while (!TX_READY()) {
        }
        TX_BYTE(data[i]);
    }
}
