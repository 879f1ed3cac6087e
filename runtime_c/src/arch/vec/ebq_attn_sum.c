/* softmax(s) @ V for hosts with SIMD (see ebq_vec.h): row by row of V, a[c] += e[j] * H[j][c]
 * into int32 sums over the whole width (a loop the compiler vectorizes), and keys whose int8
 * numerator is 0 (most of them: e < 0.5 / 127 of the max) are skipped, which leaves the exact
 * integer sums unchanged. Outlier channels: the ref's float loop. Same bits as
 * src/ref/ebq_attn_sum.c. */
#include "ebq_vec.h"
#include "embbert/kernels.h"
#include "embbert/numerics.h"

#define MAXD 1024u

/* outlier channel idx[m] of one row: the ref's sequential float sum */
static void outliers(float *restrict ai, const int16_t *restrict ei, float zf,
                     const uint16_t *restrict HO, uint32_t ho_stride, uint32_t T,
                     const uint16_t *restrict idx, uint32_t n_idx) {
    for (uint32_t m = 0; m < n_idx; m++) {
        float v = 0.0f;
        for (uint32_t j = 0; j < T; j++)
            v = v + (float)ei[j] * ebq_f16_to_f32(HO[(size_t)j * ho_stride + m]);
        ai[idx[m]] = v / zf;
    }
}

/* a[n][d] <- e[n][T] . H[T][d] / Z[n] (+ float outlier channels) */
void ebq_attn_sum(float *restrict a, const int16_t *restrict e, const int32_t *restrict Z,
                  uint32_t n, const int8_t *restrict H, const uint16_t *restrict HO,
                  uint32_t ho_stride, uint32_t T, uint32_t d, float h_scale,
                  const uint16_t *restrict idx, uint32_t n_idx) {
    int32_t acc[MAXD];
#if EBQ_VEC_AVX2_TILES
    if (ebq_vec_attn_sum_tiles8(a, e, Z, n, H, T, d, h_scale)) {
        for (uint32_t k = 0; k < n; k++)
            if (Z[k] > 0) outliers(a + (size_t)k * d, e + (size_t)k * T, (float)Z[k], HO,
                                   ho_stride, T, idx, n_idx);
        return;
    }
#endif
#if EBQ_VEC_AVX512
    for (uint32_t i = 0; i < n; i += 2u) {
        const uint32_t m = n - i < 2u ? n - i : 2u;
        if (!ebq_vec_attn_sum_tiles(a + (size_t)i * d, e + (size_t)i * T, Z + i, m, H, T, d,
                                    h_scale))
            break;
        for (uint32_t k = i; k < i + m; k++)
            if (Z[k] > 0) outliers(a + (size_t)k * d, e + (size_t)k * T, (float)Z[k], HO,
                                   ho_stride, T, idx, n_idx);
        if (i + m == n) return;
    }
#endif
    for (uint32_t i = 0; i < n; i++) {
        const int16_t *ei = e + (size_t)i * T;
        float *ai = a + (size_t)i * d;
        if (Z[i] <= 0) {
            for (uint32_t c = 0; c < d; c++) ai[c] = 0.0f;
            continue;
        }
        const float zf = (float)Z[i];
        const float az = h_scale / zf;
        if (d <= MAXD) {
            for (uint32_t c = 0; c < d; c++) acc[c] = 0;
            for (uint32_t j = 0; j < T; j++) {
                const int32_t ej = ei[j];
                if (ej == 0) continue;
                const int8_t *hj = H + (size_t)j * d;
                for (uint32_t c = 0; c < d; c++) acc[c] += ej * (int32_t)hj[c];
            }
            for (uint32_t c = 0; c < d; c++) ai[c] = (float)acc[c] * az;
        } else {
            for (uint32_t c = 0; c < d; c++) {
                int32_t s = 0;
                for (uint32_t j = 0; j < T; j++)
                    s += (int32_t)ei[j] * (int32_t)H[(size_t)j * d + c];
                ai[c] = (float)s * az;
            }
        }
        outliers(ai, ei, zf, HO, ho_stride, T, idx, n_idx);
    }
}
