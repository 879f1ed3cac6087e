/* Per-platform glue: a byte link and an event counter. Everything else in the firmware is
 * portable C11. Implementations: firmware/platform/{host,mps2,stm32,esp32s3}/. */
#ifndef EBQ_FW_PLATFORM_H
#define EBQ_FW_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

#define PLAT_TIMEOUT (-1) /* no byte within the timeout */
#define PLAT_EOF (-2)     /* the link is gone (host pipe closed); devices never return it */
#define PLAT_FOREVER UINT32_MAX

/* Brings up the link and the counter. */
void plat_init(void);

/* Next received byte (0..255), PLAT_TIMEOUT after timeout_ms without one, or PLAT_EOF.
 * On QEMU, "ms" are virtual (see platform/mps2/counter_cmsdk.c). */
int plat_getc(uint32_t timeout_ms);

/* Sends n bytes; returns when they are queued for the wire. */
void plat_write(const uint8_t *data, size_t n);

/* The core clock actually running, or 0 when the board file's EBQ_CLOCK_HZ is authoritative
 * (reported in INFO, so the bench turns counts into time with the real clock). */
uint32_t plat_clock_hz(void);

/* Free-running 64-bit count of what plat_counter_kind says (instructions, cycles, ns). */
uint64_t plat_counter_now(void);
extern uint8_t plat_counter_kind; /* EBQ_COUNTER_*, final once plat_init returns */

#endif /* EBQ_FW_PLATFORM_H */
