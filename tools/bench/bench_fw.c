/* Instruction-count benchmark firmware for the QEMU mps2 boards (make bench; driven by
 * exporter/embbert/perf/). No protocol: it runs ebq_infer once per sequence length on fixed
 * pseudo-random tokens and prints one line per length on UART0, then exits (SYSRESETREQ):
 *
 *   T <T> instr <n> stack <peak bytes> arena <bytes> logits <hex bits,...> stages <n,...>
 *
 * Built with -DEBQ_BENCH_REPEAT, the tokens between [CLS] and [SEP] are all the first one
 * (near-uniform attention: the worst case of softmax @ V). Built with
 * -DEBQ_BENCH_TEXT_H='"path/bench_text.h"' (written by perf/counts.py: EBQ_BENCH_TEXTS rows of
 * real text, [CLS] and its first EBQ_MAX_LEN - 1 tokens), every length runs on every row, and
 * each line carries "text <row>" after T.
 * instr: instructions of ebq_infer (CMSDK timer under -icount, exact). stack: peak stack depth
 * below the caller's frame (the stack is painted before the call and scanned after). stages:
 * instructions per ebq_stage when built with -DEBQ_PROFILE (the marks cost a few dozen
 * instructions each), else empty. */
#include <stdint.h>
#include <string.h>

#include "embbert/embbert.h"
#include "model_data.h"
#include "platform.h"
#ifdef EBQ_BENCH_TEXT_H
#include EBQ_BENCH_TEXT_H
#else
#define EBQ_BENCH_TEXTS 0u
#endif

#ifndef EBQ_BENCH_LENGTHS
#define EBQ_BENCH_LENGTHS 16, 32, 64, 128, 256
#endif
#define STACK_WINDOW (48u * 1024u) /* painted below the caller's stack pointer */
#define PAINT 0x5AA5C33Cu

static uint8_t arena[EBQ_ARENA_BYTES] EBQ_ARENA_ATTR;
static uint16_t ids[EBQ_MAX_LEN];
static uint8_t segs[EBQ_MAX_LEN];
static float logits[EBQ_NUM_LABELS];

#ifdef EBQ_PROFILE
static uint64_t stage_count[EBQ_STAGE_COUNT];
static uint64_t stage_last;
static int stage_cur = -1;

void ebq_profile_mark(ebq_stage stage, uint32_t layer) {
    (void)layer;
    const uint64_t now = plat_counter_now();
    if (stage_cur >= 0) stage_count[stage_cur] += now - stage_last;
    stage_cur = (int)stage;
    stage_last = now;
}
#endif

static void put(const char *s) { plat_write((const uint8_t *)s, strlen(s)); }

static void put_u64(uint64_t v) {
    char buf[24];
    int i = 23;
    buf[i] = 0;
    do {
        buf[--i] = (char)('0' + (int)(v % 10u));
        v /= 10u;
    } while (v && i > 0);
    put(buf + i);
}

static void put_hex32(uint32_t v) {
    char buf[9];
    for (int i = 7; i >= 0; i--, v >>= 4) buf[i] = "0123456789abcdef"[v & 15u];
    buf[8] = 0;
    put(buf);
}

static inline uintptr_t stack_pointer(void) {
    uintptr_t sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    return sp;
}

/* the window below sp is free stack: fill it with the paint word */
static __attribute__((noinline)) void paint_below(uintptr_t sp) {
    volatile uint32_t *p = (volatile uint32_t *)(sp - STACK_WINDOW);
    /* stop well below this function's own frame */
    for (; (uintptr_t)p < sp - 256u; p++) *p = PAINT;
}

static __attribute__((noinline)) uint32_t stack_used(uintptr_t sp) {
    const volatile uint32_t *p = (const volatile uint32_t *)(sp - STACK_WINDOW);
    while ((uintptr_t)p < sp && *p == PAINT) p++;
    return (uint32_t)(sp - (uintptr_t)p);
}

/* One inference at length T ([SEP] at T - 1) and its line on UART0. */
static void run_length(ebq_ctx *ctx, const ebq_config *cfg, uint32_t T, int text) {
    const uint16_t last = ids[T - 1u];
    ids[T - 1u] = 4u;
#ifdef EBQ_PROFILE
    memset(stage_count, 0, sizeof stage_count);
    stage_cur = -1;
#endif
    const uintptr_t sp = stack_pointer();
    paint_below(sp);
    const uint64_t t0 = plat_counter_now();
    const ebq_status st = ebq_infer(ctx, ids, segs, T, logits);
    const uint64_t n = plat_counter_now() - t0;
    const uint32_t stack = stack_used(sp);
    ids[T - 1u] = last;
    put("T ");
    put_u64(T);
    if (text >= 0) {
        put(" text ");
        put_u64((uint64_t)text);
    }
    if (st != EBQ_OK) {
        put(" ERROR ");
        put(ebq_status_name(st));
        put("\n");
        return;
    }
    put(" instr ");
    put_u64(n);
    put(" stack ");
    put_u64(stack);
    put(" arena ");
    put_u64(ebq_arena_bytes(&ebq_model_data, T));
    put(" logits ");
    for (uint32_t k = 0; k < cfg->num_labels; k++) {
        uint32_t b;
        memcpy(&b, &logits[k], sizeof b);
        if (k) put(",");
        put_hex32(b);
    }
    put(" stages ");
#ifdef EBQ_PROFILE
    for (uint32_t s = 0; s < EBQ_STAGE_DONE; s++) {
        if (s) put(",");
        put_u64(stage_count[s]);
    }
#endif
    put("\n");
}

int main(void) {
    static const uint32_t lengths[] = {EBQ_BENCH_LENGTHS};
    const uint32_t n_lengths = sizeof lengths / sizeof lengths[0];
    plat_init();
    ebq_ctx ctx;
    if (ebq_init(&ctx, &ebq_model_data, arena, sizeof arena) != EBQ_OK) {
        put("ERROR init\n");
        return 1;
    }
    const ebq_config *cfg = ebq_model_config(&ebq_model_data);
    for (uint32_t t = 0; t < EBQ_MAX_LEN; t++) segs[t] = 1u; /* one segment */
#if EBQ_BENCH_TEXTS
    for (uint32_t r = 0; r < EBQ_BENCH_TEXTS; r++) {
        memcpy(ids, bench_text[r], sizeof ids);
        for (uint32_t i = 0; i < n_lengths; i++)
            if (lengths[i] <= cfg->max_len) run_length(&ctx, cfg, lengths[i], (int)r);
    }
#else
    uint32_t seed = 12345u;
    for (uint32_t t = 0; t < EBQ_MAX_LEN; t++) { /* [CLS] w ... w [SEP] */
        seed = seed * 1664525u + 1013904223u;
        ids[t] = (uint16_t)(5u + (seed >> 8) % (cfg->vocab_size - 5u));
#ifdef EBQ_BENCH_REPEAT /* the adversarial input: one token repeated (near-uniform attention) */
        if (t > 1u) ids[t] = ids[1];
#endif
    }
    ids[0] = 2u;
    for (uint32_t i = 0; i < n_lengths; i++)
        if (lengths[i] <= cfg->max_len) run_length(&ctx, cfg, lengths[i], -1);
#endif
    put("END\n");
    return 0;
}
