/* The dense kernels on the emulated board, for a bit-exact comparison of two builds (ref and
 * cortexm) of this same program: every case runs a kernel on pseudo-random data (fixed LCG)
 * and prints "<case> <id> <FNV-1a 64 of the output bytes>" on UART0, then END. The host tests of
 * src/arch/cortexm run its C twins; this runs the assembly paths (Cortex-M4 / M7) at the
 * default width and at odd shapes next to them (outlier counts, odd rows, no bias, 5 tokens).
 * Built by tests/test_arch_kernels.py with cbuild.build_program. */
#include <stdint.h>
#include <string.h>

#include "embbert/kernels.h"
#include "embbert/numerics.h"
#include "check_fw.h"

#define MAXR 128u
#define MAXC 256u
#define MAXN 8u
#define MAXO 4u

static int8_t W[MAXR * MAXC], X[MAXN * MAXC];
static uint16_t S[MAXR * (MAXC / 16u)], OW[MAXR * MAXO], IDX[MAXO];
static float B[MAXR], XS[MAXN], XO[MAXN * MAXO], Y[MAXN * MAXR], V[MAXN * MAXR];

static void report(const char *name, uint32_t id, const void *p, uint32_t n) {
    check_line(name, id, fnv(FNV0, p, n));
}

/* rows x cols weights in 32-column blocks (the last may be short), `no` outlier columns */
static ebq_qtensor weights(uint32_t rows, uint32_t cols, uint32_t no, int bias) {
    const uint32_t bl = cols < 32u ? cols : 32u, nb = (cols + bl - 1u) / bl;
    for (uint32_t i = 0; i < rows * cols; i++) W[i] = (int8_t)((int32_t)(rnd() % 255u) - 127);
    for (uint32_t i = 0; i < cols; i++) W[i] = 0; /* a zero row */
    for (uint32_t i = 0; i < rows * nb; i++) S[i] = ebq_f32_to_f16(unif(1e-4f, 0.05f));
    S[rows * nb - 1u] = 0u; /* a zero scale */
    for (uint32_t m = 0; m < no; m++) IDX[m] = (uint16_t)(m * (cols / no) + 1u);
    for (uint32_t i = 0; i < rows * no; i++) OW[i] = ebq_f32_to_f16(unif(-0.5f, 0.5f));
    for (uint32_t i = 0; i < rows; i++) B[i] = unif(-1.0f, 1.0f);
    const ebq_qtensor w = {W, S, IDX, OW, bias ? B : 0, (uint16_t)rows, (uint16_t)cols,
                           (uint16_t)bl, (uint16_t)nb, (uint16_t)no, 0u};
    return w;
}

static void inputs(uint32_t n, uint32_t cols, uint32_t no, const ebq_qtensor *w) {
    for (uint32_t i = 0; i < n * cols; i++) X[i] = (int8_t)((int32_t)(rnd() % 255u) - 127);
    for (uint32_t t = 0; t < n; t++)
        for (uint32_t m = 0; m < no; m++) X[t * cols + w->outlier_idx[m]] = 0;
    for (uint32_t t = 0; t < n; t++) XS[t] = unif(0.001f, 0.1f);
    for (uint32_t i = 0; i < n * no; i++) XO[i] = unif(-4.0f, 4.0f);
}

/* rows, cols, outlier columns, bias, tokens */
static const uint16_t LINEAR[][5] = {
    {128, 128, 0, 1, 4}, {128, 128, 4, 1, 4}, {2, 128, 4, 1, 4},  {6, 128, 0, 1, 5},
    {8, 128, 4, 0, 4},   {10, 128, 3, 1, 4},  {7, 128, 0, 1, 4},  {128, 128, 0, 1, 8},
    {4, 64, 2, 1, 4},    {6, 256, 1, 1, 4},   {5, 100, 0, 0, 2},  {128, 16, 0, 1, 1},
    {2, 128, 0, 1, 1},   {3, 128, 4, 1, 3},   {128, 128, 4, 1, 2},  {128, 16, 0, 0, 4},
    {6, 16, 0, 0, 5},    {128, 16, 0, 1, 4},
};

int main(void) {
    plat_init();
    for (uint32_t c = 0; c < sizeof LINEAR / sizeof LINEAR[0]; c++) {
        const uint32_t rows = LINEAR[c][0], cols = LINEAR[c][1], no = LINEAR[c][2];
        const uint32_t n = LINEAR[c][4];
        const ebq_qtensor w = weights(rows, cols, no, LINEAR[c][3]);
        inputs(n, cols, no, &w);
        memset(Y, 0, sizeof Y);
        ebq_linear_q8(Y, X, XS, no ? XO : 0, n, &w);
        report("linear_", c, Y, (uint32_t)sizeof(float) * n * rows);
        for (uint32_t i = 0; i < n * rows; i++) Y[i] = unif(-2.0f, 2.0f);
        ebq_linear_q8_acc(Y, V, X, XS, no ? XO : 0, n, &w);
        report("linacc_", c, Y, (uint32_t)sizeof(float) * n * rows);
    }
    /* row quantization and RMSNorm: lengths, outlier lists, rows of zeros, a NaN, values that
     * land on rounding ties and beyond the int8 range */
    static const uint16_t ROWS[][2] = {{128, 0}, {128, 4}, {130, 3}, {7, 0}, {128, 1}, {64, 2}};
    for (uint32_t c = 0; c < 3u * (sizeof ROWS / sizeof ROWS[0]); c++) {
        const uint32_t len = ROWS[c % 6u][0], no = ROWS[c % 6u][1], kind = c / 6u;
        for (uint32_t i = 0; i < len; i++) V[i] = unif(-3.0f, 3.0f);
        for (uint32_t m = 0; m < no; m++) IDX[m] = (uint16_t)(m * 31u + 2u);
        if (kind == 1u) V[5] = 6.0f, V[6] = -1.5f * 6.0f / 127.0f, V[7] = 2.5f * 6.0f / 127.0f;
        if (kind == 2u) memset(V, 0, sizeof V), V[3] = (c & 1u) ? __builtin_nanf("") : 1e-30f;
        if (kind == 2u && c % 4u == 0u) V[1] = -__builtin_inff(), V[2] = -2.0f;
        float sc = -1.0f;
        memset(X, 0x55, sizeof X), memset(XO, 0, sizeof XO);
        ebq_quantize_row(X, &sc, XO, V, len, IDX, no);
        report("quant_", c, X, len);
        report("quants", c, &sc, sizeof sc);
        report("quanto", c, XO, no * (uint32_t)sizeof(float));
        memset(X, 0x55, sizeof X), memset(OW, 0, sizeof OW);
        const float h_inv = kind == 1u ? 200.0f : kind ? -30.0f : 30.0f;
        ebq_rmsnorm_q8(X, OW, V, len, 1.1920929e-07f, h_inv, IDX, no);
        report("rms_", c, X, len);
        report("rmso", c, OW, no * 2u);
    }
    put("END\n");
    return 0;
}
