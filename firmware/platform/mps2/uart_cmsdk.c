/* Byte link over CMSDK UART0, polled. QEMU delivers received bytes one at a time and only when
 * the RX holding register is empty, so the host-side socket provides the flow control. */
#include "mps2.h"
#include "platform.h"

/* Timeouts are counted in TIMER0 ticks, i.e. virtual time. Under -icount shift=10,sleep=off the
 * polling loop (MMIO-bound, ~50 M instructions/s of wall time here) runs virtual time ~50x faster
 * than wall time, so one "ms" here is 64 virtual ms: roughly a wall-clock ms, and the firmware's
 * 200 ms inter-byte timeout stays well above QEMU's byte-delivery gaps on a loaded host. */
#define TICKS_PER_TIMEOUT_MS (MPS2_TIMER_HZ / 1000u * 64u)

void mps2_uart_init(void) {
    UART0_BAUDDIV = 16u; /* minimum legal divider; QEMU ignores the rate */
    UART0_CTRL = 3u;     /* TX and RX enable, no interrupts */
    (void)UART0_DATA;    /* reading once avoids a ~0.8 s delay of the first received byte */
}

int plat_getc(uint32_t timeout_ms) {
    if (UART0_STATE & UART_STATE_RX_FULL) return (int)(UART0_DATA & 0xFFu);
    const uint64_t start = mps2_ticks();
    const uint64_t limit = (uint64_t)timeout_ms * TICKS_PER_TIMEOUT_MS;
    while (!(UART0_STATE & UART_STATE_RX_FULL)) {
        if (timeout_ms != PLAT_FOREVER && mps2_ticks() - start >= limit) return PLAT_TIMEOUT;
    }
    return (int)(UART0_DATA & 0xFFu);
}

void plat_write(const uint8_t *data, size_t n) {
    for (size_t i = 0; i < n; i++) {
        while (UART0_STATE & UART_STATE_TX_FULL) {
        }
        UART0_DATA = data[i];
    }
}
