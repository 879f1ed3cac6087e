/* Host latency of the C runtime (make bench): for each length T given on the command line,
 * runs ebq_infer on the same pseudo-random tokens as bench_fw.c until at least `min_ms` of
 * wall time has passed and prints "T <T> ns <median ns per inference> reps <n>". Single
 * thread; built -O2 -march=native by exporter/embbert/perf/host.py. */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "embbert/embbert.h"
#include "model_data.h"

static uint8_t arena[EBQ_ARENA_BYTES] EBQ_ARENA_ATTR;
static uint16_t ids[EBQ_MAX_LEN];
static uint8_t segs[EBQ_MAX_LEN];
static float logits[EBQ_NUM_LABELS];
static double samples[4096];

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    ebq_ctx ctx;
    if (ebq_init(&ctx, &ebq_model_data, arena, sizeof arena) != EBQ_OK) return 1;
    const ebq_config *cfg = ebq_model_config(&ebq_model_data);
    uint32_t seed = 12345u;
    for (uint32_t t = 0; t < EBQ_MAX_LEN; t++) {
        seed = seed * 1664525u + 1013904223u;
        ids[t] = (uint16_t)(5u + (seed >> 8) % (cfg->vocab_size - 5u));
        segs[t] = 1u;
    }
    ids[0] = 2u;
    const double min_ns = 300e6;
    for (int a = 1; a < argc; a++) {
        const uint32_t T = (uint32_t)strtoul(argv[a], 0, 10);
        if (T == 0u || T > cfg->max_len) continue;
        const uint16_t last = ids[T - 1u];
        ids[T - 1u] = 4u;
        (void)ebq_infer(&ctx, ids, segs, T, logits); /* warm up */
        int n = 0;
        const double start = now_ns();
        while (n < 4096 && (n < 5 || now_ns() - start < min_ns)) {
            const double t0 = now_ns();
            (void)ebq_infer(&ctx, ids, segs, T, logits);
            samples[n++] = now_ns() - t0;
        }
        qsort(samples, (size_t)n, sizeof samples[0], cmp);
        printf("T %u ns %.0f reps %d\n", (unsigned)T, samples[n / 2], n);
        ids[T - 1u] = last;
    }
    return 0;
}
