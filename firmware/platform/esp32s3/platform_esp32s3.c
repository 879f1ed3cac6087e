/* plat_init for the ESP32-S3. */
#include "esp_clk_tree.h"
#include "platform.h"

void esp32s3_uart_init(void);

/* The CPU clock as the clock tree reports it (240 MHz per sdkconfig.defaults, unless power
 * management or a changed config says otherwise), so the bench turns cycles into time. */
uint32_t plat_clock_hz(void) {
    uint32_t hz = 0;
    if (esp_clk_tree_src_get_freq_hz(SOC_MOD_CLK_CPU, ESP_CLK_TREE_SRC_FREQ_PRECISION_CACHED,
                                     &hz) != ESP_OK) {
        return 0; /* unknown: the board file's clock applies */
    }
    return hz;
}

void plat_init(void) {
    (void)plat_counter_now(); /* start the 64-bit extension from the current count */
    esp32s3_uart_init();
}
