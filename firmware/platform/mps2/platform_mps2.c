/* plat_init for the QEMU mps2 boards. */
#include "mps2.h"
#include "platform.h"

uint32_t plat_clock_hz(void) { return 0; } /* the board file's 25 MHz timer clock */

void plat_init(void) {
    mps2_counter_init();
    mps2_uart_init();
}
