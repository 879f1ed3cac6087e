/* Entry point for the bare-metal and host builds (ESP-IDF enters through app_main instead). */
#include "loop.h"
#include "platform.h"

int main(void) {
    plat_init();
    ebq_fw_run();
    return 0;
}
