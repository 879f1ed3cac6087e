/* ESP-IDF entry point: app_main runs in the main FreeRTOS task (pinned to core 0, which the
 * cycle counter relies on). The serial link is UART0 (the DevKitC-1 "UART" USB port); the IDF
 * console goes to the native USB-Serial-JTAG port (sdkconfig.defaults) so logs never mix
 * with protocol frames. */
#include "loop.h"
#include "platform.h"

void app_main(void) {
    plat_init();
    ebq_fw_run();
}
