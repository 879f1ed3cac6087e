/* Shared by the QEMU kernel checks (attn_check_fw.c, kernels_check_fw.c): a fixed LCG for the
 * test data and one "<case> <id> <FNV-1a 64 of the output bytes>" line per case on UART0. The
 * test compares the lines of a ref build and a cortexm build of the same program. */
#ifndef CHECK_FW_H
#define CHECK_FW_H

#include <stdint.h>
#include <string.h>

#include "platform.h"

#define FNV0 0xcbf29ce484222325u

static uint32_t seed = 1u;

static uint32_t rnd(void) { return (seed = seed * 1664525u + 1013904223u) >> 8; }

/* uniform in [lo, hi) */
static float unif(float lo, float hi) {
    return lo + (hi - lo) * (float)(rnd() & 0xffffu) / 65536.0f;
}

static uint64_t fnv(uint64_t h, const void *p, uint32_t n) {
    const uint8_t *b = p;
    for (uint32_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3u;
    return h;
}

static void put(const char *s) { plat_write((const uint8_t *)s, strlen(s)); }

static void check_line(const char *name, uint32_t id, uint64_t h) {
    char buf[64];
    uint32_t i = 0;
    for (const char *s = name; *s && i < 32u; s++) buf[i++] = *s;
    buf[i++] = ' ';
    char num[11];
    int k = 10;
    num[k] = 0;
    do num[--k] = (char)('0' + (char)(id % 10u)); while ((id /= 10u) && k > 0);
    for (const char *s = num + k; *s; s++) buf[i++] = *s;
    buf[i++] = ' ';
    for (int j = 15; j >= 0; j--) buf[i++] = "0123456789abcdef"[(h >> (4 * j)) & 15u];
    buf[i++] = '\n', buf[i] = 0;
    put(buf);
}

#endif
