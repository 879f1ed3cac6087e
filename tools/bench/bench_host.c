/* Host latency of the C runtime (make bench), one thread, driven by exporter/embbert/perf/host.py
 * so that its runs alternate with ONNX Runtime's in one process tree. Reads lines "T n" on
 * stdin; for each runs ebq_infer on the same pseudo-random tokens as bench_fw.c once untimed
 * (warm-up) and n times timed, and prints
 *     T <T> ns <wall ns of run 1>,... cpu <thread CPU ns of run 1>,... logits <hex bits>
 * Built with -DEBQ_PROFILE it adds " stages <ns per stage>,..." (ebq_stage order, summed over
 * the n runs; the clock reads add ~20 ns per stage entry). */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "embbert/embbert.h"
#include "model_data.h"

static uint8_t arena[EBQ_ARENA_BYTES] EBQ_ARENA_ATTR;
static uint16_t ids[EBQ_MAX_LEN];
static uint8_t segs[EBQ_MAX_LEN];
static float logits[EBQ_NUM_LABELS];
static int64_t took[4096], cpu[4096];

static int64_t clock_ns(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + (int64_t)ts.tv_nsec;
}

static int64_t now_ns(void) { return clock_ns(CLOCK_MONOTONIC); }

#ifdef EBQ_PROFILE
static int64_t stage_ns[EBQ_STAGE_COUNT], mark_at;
static int mark_stage = -1;
void ebq_profile_mark(ebq_stage stage, uint32_t layer) {
    (void)layer;
    const int64_t t = now_ns();
    if (mark_stage >= 0) stage_ns[mark_stage] += t - mark_at;
    mark_stage = stage == EBQ_STAGE_DONE ? -1 : (int)stage;
    mark_at = t;
}
#endif

int main(void) {
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
    unsigned T, n;
    while (scanf("%u %u", &T, &n) == 2) {
        if (T == 0u || T > cfg->max_len || n > 4096u) return 2;
        const uint16_t last = ids[T - 1u];
        ids[T - 1u] = 4u;
        if (ebq_infer(&ctx, ids, segs, T, logits) != EBQ_OK) return 3; /* warm-up */
#ifdef EBQ_PROFILE
        memset(stage_ns, 0, sizeof stage_ns);
#endif
        for (unsigned i = 0; i < n; i++) {
            const int64_t c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID), t0 = now_ns();
            (void)ebq_infer(&ctx, ids, segs, T, logits);
            took[i] = now_ns() - t0;
            cpu[i] = clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
        }
        printf("T %u ns ", T);
        for (unsigned i = 0; i < n; i++) printf("%s%lld", i ? "," : "", (long long)took[i]);
        printf(" cpu ");
        for (unsigned i = 0; i < n; i++) printf("%s%lld", i ? "," : "", (long long)cpu[i]);
        printf(" logits ");
        for (uint32_t c = 0; c < cfg->num_labels; c++) {
            uint32_t b;
            memcpy(&b, &logits[c], sizeof b);
            printf("%s%08x", c ? "," : "", (unsigned)b);
        }
#ifdef EBQ_PROFILE
        printf(" stages ");
        for (unsigned s = 0; s < EBQ_STAGE_DONE; s++)
            printf("%s%lld", s ? "," : "", (long long)stage_ns[s]);
#endif
        printf("\n");
        fflush(stdout);
        ids[T - 1u] = last;
    }
    return 0;
}
