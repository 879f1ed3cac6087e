/* Per-kernel instruction counts on the QEMU mps2 boards (for tuning src/arch/<isa>): each
 * kernel runs on synthetic data of the default shapes (d = 128, k = 32, T = 128, two rows) and
 * prints "<kernel> <instructions per call> <MACs per call>" on UART0. Built and run by
 * `python -m embbert.perf --kernels`. */
#include <stdint.h>
#include <string.h>

#include "embbert/kernels.h"
#include "platform.h"

#define D 128u
#define K 32u
#define T 128u

static int8_t W[D * D], Hb[T * D], X[4 * D];
static uint16_t S[D * 4u], HO[T];
static float bias[D], y[2 * T], r[2 * T * 4u];
static int16_t E[2 * T];
static uint8_t segs[T];

static void put(const char *s) { plat_write((const uint8_t *)s, strlen(s)); }

static void put_u(uint32_t v) {
    char buf[12];
    int i = 11;
    buf[i] = 0;
    do {
        buf[--i] = (char)('0' + (int)(v % 10u));
        v /= 10u;
    } while (v && i > 0);
    put(buf + i);
}

static void report(const char *name, uint64_t n, uint32_t macs) {
    put(name);
    put(" ");
    put_u((uint32_t)n);
    put(" ");
    put_u(macs);
    put("\n");
}

int main(void) {
    plat_init();
    uint32_t seed = 1u;
    for (uint32_t i = 0; i < sizeof W; i++) W[i] = (int8_t)((seed = seed * 1103515245u + 12345u) >> 24);
    for (uint32_t i = 0; i < sizeof Hb; i++) Hb[i] = (int8_t)((seed = seed * 1103515245u + 12345u) >> 24);
    for (uint32_t i = 0; i < sizeof X; i++) X[i] = (int8_t)((seed = seed * 1103515245u + 12345u) >> 24);
    for (uint32_t i = 0; i < D * 4u; i++) S[i] = 0x2000u;
    for (uint32_t i = 0; i < T; i++) segs[i] = 1u, E[i] = (int16_t)(i & 127u), E[T + i] = 3;
    const ebq_qtensor w = {W, S, 0, 0, bias, D, D, 32u, 4u, 0u, 0u};
    const ebq_qtensor dw = {W, S, 0, 0, bias, D, K, 32u, 1u, 0u, 0u};
    const float xs[4] = {0.5f, 0.25f, 0.125f, 0.75f};
    const int32_t Z[2] = {1000, 384};
    uint64_t t0;

    t0 = plat_counter_now();
    ebq_linear_q8(y, X, xs, 0, 2u, &w);
    report("linear_n2", plat_counter_now() - t0, 2u * D * D);
    t0 = plat_counter_now();
    ebq_linear_q8(y, X, xs, 0, 1u, &w);
    report("linear_n1", plat_counter_now() - t0, D * D);
    t0 = plat_counter_now();
    ebq_linear_q8(r, X, xs, 0, 4u, &w);
    report("linear_n4", plat_counter_now() - t0, 4u * D * D);
    t0 = plat_counter_now();
    ebq_attn_scores(r, X, xs, 0, 0u, 2u, Hb, HO, 1u, segs, T, D);
    report("scores_n2", plat_counter_now() - t0, 2u * T * D);
    t0 = plat_counter_now();
    (void)ebq_softmax_q8(E, r, segs, T);
    report("softmax_row", plat_counter_now() - t0, T);
    t0 = plat_counter_now();
    ebq_attn_sum(y, E, Z, 2u, Hb, HO, 1u, T, D, 0.01f, 0, 0u);
    report("attn_sum_n2", plat_counter_now() - t0, 2u * T * D);
    t0 = plat_counter_now();
    ebq_dwconv_q8(r, Hb, HO, 1u, 100u, 2u, D, 1u, 0.01f, &dw);
    report("dwconv_n2", plat_counter_now() - t0, 2u * D * K);
    t0 = plat_counter_now();
    ebq_silu_inplace(r, 2u * D);
    report("silu_2rows", plat_counter_now() - t0, 2u * D);
    float sc;
    t0 = plat_counter_now();
    ebq_quantize_row(X, &sc, y + D, r, D, 0, 0u);
    report("quantize_row", plat_counter_now() - t0, D);
    uint16_t ho[1];
    t0 = plat_counter_now();
    ebq_rmsnorm_q8(X, ho, r, D, 1e-7f, 20.0f, 0, 0u);
    report("rmsnorm_row", plat_counter_now() - t0, D);
    put("END\n");
    return 0;
}
