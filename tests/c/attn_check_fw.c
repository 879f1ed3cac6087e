/* The attention and conv kernels on the emulated board, for a bit-exact comparison of two builds
 * (ref and cortexm) of this same program: every case runs a kernel on pseudo-random data (fixed
 * LCG) and prints "<case> <T> <FNV-1a 64 of the output bytes>" on UART0, then END. The host
 * tests of src/arch/cortexm run its C twins; this runs the assembly paths (Cortex-M4 / M7) at
 * the default width (d = 128, k = 32) for T = 1, 2, 3, 31, 33, 128, 256 and 1 to 4 query rows:
 * scores, softmax rows (peaked, flat and padded), softmax @ V on those numerators (sparse and
 * dense), the causal conv at every row t in steps of 1 to 4 rows, SiLU.
 * Built by tests/test_arch_kernels.py with cbuild.build_program. */
#include <stdint.h>
#include <string.h>

#include "embbert/kernels.h"
#include "embbert/numerics.h"
#include "check_fw.h"

#define D 128u
#define K 32u
#define MAXT 256u

static int8_t H[MAXT * D] __attribute__((aligned(16))), Q[4u * D], WQ[D * K];
static uint16_t HO[MAXT], SC[D];
static uint8_t SEGS[MAXT];
static float BIAS[D], S[4u * MAXT], A[4u * D], C[4u * D];
static int16_t E[4u * MAXT];

static int8_t rnd_i8(void) { return (int8_t)((int32_t)(rnd() % 255u) - 127); }

/* scores of n queries, their softmax rows (scaled: peaked or flat), softmax @ V */
static void attention(uint32_t T, uint32_t n, float spread, int padded) {
    for (uint32_t i = 0; i < n * D; i++) Q[i] = rnd_i8();
    for (uint32_t j = 0; j < T; j++) SEGS[j] = (uint8_t)(!padded || j < T - T / 3u);
    const float qs[4] = {spread * 1e-4f, spread * 2e-4f, spread * 5e-5f, spread * 1.5e-4f};
    ebq_attn_scores(S, Q, qs, 0, 0u, n, H, HO, 1u, SEGS, T, D);
    for (uint32_t j = 0; j < n * T; j++) /* masked keys: the ref writes no score there */
        if (!SEGS[j % T]) S[j] = 0.0f;
    uint64_t h = fnv(FNV0, S, n * T * 4u);
    int32_t Z[4];
    for (uint32_t i = 0; i < n; i++) Z[i] = ebq_softmax_q8(E + i * T, S + i * T, SEGS, T);
    h = fnv(fnv(h, E, n * T * 2u), Z, n * 4u);
    ebq_attn_sum(A, E, Z, n, H, HO, 1u, T, D, 0.02f, 0, 0u);
    check_line(n == 4u ? "attn4" : n == 3u ? "attn3" : n == 2u ? "attn2" : "attn1", T,
           fnv(h, A, n * D * 4u));
}

/* every output row t of the causal conv, n rows per call (the forward's 4) */
static void conv(uint32_t T, uint32_t n) {
    const ebq_qtensor w = {WQ, SC, 0, 0, BIAS, D, K, K, 1u, 0u, 0u};
    uint64_t h = 0xcbf29ce484222325u;
    for (uint32_t t = 0; t < T; t += n) {
        const uint32_t m = T - t < n ? T - t : n;
        ebq_dwconv_q8(C, H, HO, 1u, t, m, D, 1u, 0.03f, &w);
        h = fnv(h, C, m * D * 4u);
        ebq_silu_inplace(C, m * D);
        h = fnv(h, C, m * D * 4u);
    }
    check_line(n == 4u ? "conv4" : n == 3u ? "conv3" : n == 2u ? "conv2" : "conv1", T, h);
}

int main(void) {
    plat_init();
    for (uint32_t i = 0; i < D * K; i++) WQ[i] = rnd_i8();
    for (uint32_t i = 0; i < D; i++) SC[i] = ebq_f32_to_f16(unif(1e-3f, 0.05f)), BIAS[i] = unif(-2, 2);
    SC[7] = ebq_f32_to_f16(-0.01f); /* a negative scale: -0 products */
    BIAS[7] = -0.0f;
    static const uint32_t lengths[] = {1u, 2u, 3u, 31u, 33u, 128u, 256u};
    for (uint32_t l = 0; l < sizeof lengths / sizeof lengths[0]; l++) {
        const uint32_t T = lengths[l];
        for (uint32_t i = 0; i < T * D; i++) H[i] = rnd_i8();
        for (uint32_t n = 1; n <= 4u; n++) {
            attention(T, n, 1.0f, 0);  /* peaked: many numerators 0, listed pairs */
            attention(T, n, 0.05f, 0); /* flat: every numerator > 0, the dense walk */
            attention(T, n, 1.0f, 1);  /* the last third padded */
            conv(T, n);
        }
        for (uint32_t i = 0; i < T * D; i++) H[i] = (int8_t)(i % 7u == 0u ? 0 : H[0]);
        attention(T, 4u, 0.2f, 0); /* one row repeated: near-uniform attention */
    }
    put("END\n");
    return 0;
}
