/* plat_init for the ESP32-S3. */
#include "platform.h"

void esp32s3_uart_init(void);

uint32_t plat_clock_hz(void) { return 0; } /* 240 MHz, set by sdkconfig.defaults */

void plat_init(void) {
    (void)plat_counter_now(); /* start the 64-bit extension from the current count */
    esp32s3_uart_init();
}
