/* Causal depthwise Conv1D for hosts with SIMD (see ebq_vec.h). The taps of a channel are
 * contiguous but its inputs run down a column of H, so the window of rows the n outputs read
 * is first transposed to int16 [channel][row]; each output is then one fixed-length dot
 * product of 32 taps, which the compiler vectorizes. Fast path: a = 1, k = 32 in one block,
 * no row before 0; other rows and shapes take the reference loop. Float epilogue and outlier
 * channels in the ref's order: same bits as src/ref/ebq_dwconv_q8.c. */
#include "ebq_vec.h"
#include "embbert/kernels.h"
#include "embbert/numerics.h"
#include "../../ref/ref_loops.h"

#define K 32u     /* taps of the fast path */
#define MAXD 256u /* channels of the fast path */
#define MAXN 8u   /* output rows per call of the fast path */

/* c[n][a*d] <- rows t .. t+n-1 */
void ebq_dwconv_q8(float *restrict c, const int8_t *restrict H, const uint16_t *restrict HO,
                   uint32_t ho_stride, uint32_t t, uint32_t n, uint32_t d, uint32_t a,
                   float h_scale, const ebq_qtensor *restrict w) {
    const uint32_t k = w->cols, rows = w->rows;
#if EBQ_VEC_AVX512
    const int tiled = ebq_vec_dwconv_tiles(c, H, t, n, d, a, h_scale, w);
#elif EBQ_VEC_AVX2_TILES
    const int tiled = ebq_vec_dwconv_tiles8(c, H, t, n, d, a, h_scale, w);
#else
    const int tiled = 0;
#endif
    if (tiled) {
        for (uint32_t i = 0; i < n; i++)
            ebq_ref_dwconv_outliers_row(c + (size_t)i * rows, HO, ho_stride, t + i, a, w);
        return;
    }
    const int fast = a == 1u && k == K && w->n_blocks == 1u && d <= MAXD && n <= MAXN &&
                     t + 1u >= k;
    if (fast) {
        int16_t win[MAXD][K + MAXN - 1u]; /* [channel][row t - k + 1 + r] */
        const int8_t *base = H + (size_t)(t + 1u - k) * d;
        for (uint32_t r = 0; r < k + n - 1u; r++)
            for (uint32_t ch = 0; ch < d; ch++) win[ch][r] = base[(size_t)r * d + ch];
        for (uint32_t i = 0; i < n; i++) {
            float *ci = c + (size_t)i * rows;
            for (uint32_t ch = 0; ch < d; ch++) {
                const int32_t acc = ebq_vec_dot32(w->q + (size_t)ch * K, win[ch] + i);
                float acc_f = 0.0f + (float)acc * ebq_vec_f16(w->scale[ch]);
                acc_f = acc_f * h_scale;
                ci[ch] = acc_f + w->bias[ch];
            }
        }
    } else {
        for (uint32_t i = 0; i < n; i++)
            ebq_ref_dwconv_int8_row(c + (size_t)i * rows, H, t + i, d, a, h_scale, w);
    }
    /* outlier input channels: their full kernels in float (ref order) */
    for (uint32_t i = 0; i < n; i++)
        ebq_ref_dwconv_outliers_row(c + (size_t)i * rows, HO, ho_stride, t + i, a, w);
}
