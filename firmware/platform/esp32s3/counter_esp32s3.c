/* Cycle counter: the Xtensa CCOUNT register via esp_cpu_get_cycle_count() (32-bit at the CPU
 * clock, 240 MHz per sdkconfig.defaults: wraps every ~17.9 s), extended to 64 bits in software;
 * exact as long as it is read at least once per wrap (it is, around every inference). */
#include "esp_cpu.h"
#include "platform.h"
#include "protocol.h"

uint8_t plat_counter_kind = EBQ_COUNTER_CYCLES;

static uint32_t last_low, high;

uint64_t plat_counter_now(void) {
    const uint32_t low = (uint32_t)esp_cpu_get_cycle_count();
    if (low < last_low) high++;
    last_low = low;
    return ((uint64_t)high << 32) | low;
}
