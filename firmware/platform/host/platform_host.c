/* Host glue: the protocol over stdin/stdout (a pipe from the bench or the tests), wall-clock
 * nanoseconds as the counter. POSIX; used for fast tests, fuzzing and host benchmarks. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "platform.h"
#include "protocol.h"

uint8_t plat_counter_kind = EBQ_COUNTER_NANOSECONDS;

static uint8_t rx_buf[4096]; /* read() in chunks: one syscall per byte would dominate fuzzing */
static size_t rx_len, rx_pos;

void plat_init(void) {
    signal(SIGPIPE, SIG_IGN); /* a closed reader shows up as a write error instead */
}

int plat_getc(uint32_t timeout_ms) {
    while (rx_pos == rx_len) {
        struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
        const int wait = timeout_ms == PLAT_FOREVER ? -1 : (int)timeout_ms;
        const int r = poll(&pfd, 1, wait);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return PLAT_EOF;
        if (r == 0) return PLAT_TIMEOUT;
        const ssize_t n = read(STDIN_FILENO, rx_buf, sizeof rx_buf);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) return PLAT_EOF;
        rx_len = (size_t)n;
        rx_pos = 0;
    }
    return rx_buf[rx_pos++];
}

void plat_write(const uint8_t *data, size_t n) {
    while (n > 0) {
        const ssize_t w = write(STDOUT_FILENO, data, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) exit(0); /* the reader went away: nobody left to serve */
        data += w;
        n -= (size_t)w;
    }
}

uint32_t plat_clock_hz(void) { return 0; }

uint64_t plat_counter_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
