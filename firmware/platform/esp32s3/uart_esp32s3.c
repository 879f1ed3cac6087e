/* Byte link over UART0 with the ESP-IDF driver (its RX ring buffer holds bytes that arrive while
 * an inference runs). */
#include "driver/uart.h"
#include "freertos/FreeRTOS.h"
#include "platform.h"

#ifndef EBQ_UART_BAUD
#define EBQ_UART_BAUD 115200
#endif
#define EBQ_UART UART_NUM_0

static uint8_t rx_buf[256];
static size_t rx_len, rx_pos;

void esp32s3_uart_init(void) {
    const uart_config_t cfg = {
        .baud_rate = EBQ_UART_BAUD,
        .data_bits = UART_DATA_8_BITS,
        .parity = UART_PARITY_DISABLE,
        .stop_bits = UART_STOP_BITS_1,
        .flow_ctrl = UART_HW_FLOWCTRL_DISABLE,
        .source_clk = UART_SCLK_DEFAULT,
    };
    ESP_ERROR_CHECK(uart_driver_install(EBQ_UART, 4096, 0, 0, NULL, 0));
    ESP_ERROR_CHECK(uart_param_config(EBQ_UART, &cfg));
}

int plat_getc(uint32_t timeout_ms) {
    if (rx_pos == rx_len) {
        const TickType_t wait =
            timeout_ms == PLAT_FOREVER ? portMAX_DELAY : pdMS_TO_TICKS(timeout_ms) + 1;
        if (uart_read_bytes(EBQ_UART, rx_buf, 1, wait) != 1) return PLAT_TIMEOUT;
        size_t more = 0;
        uart_get_buffered_data_len(EBQ_UART, &more);
        if (more > sizeof rx_buf - 1) more = sizeof rx_buf - 1;
        const int n = more ? uart_read_bytes(EBQ_UART, rx_buf + 1, (uint32_t)more, 0) : 0;
        rx_len = 1 + (n > 0 ? (size_t)n : 0);
        rx_pos = 0;
    }
    return rx_buf[rx_pos++];
}

void plat_write(const uint8_t *data, size_t n) {
    uart_write_bytes(EBQ_UART, data, n);
}
