/* Attention scores for hosts with SIMD (see ebq_vec.h): the two query rows are widened to int16
 * once and each key row is loaded once for both (one vectorized loop, two sums). Same bits as
 * src/ref/ebq_attn_scores.c. */
#include "ebq_vec.h"
#include "embbert/kernels.h"
#include "embbert/numerics.h"

#define MAXD 1024u

/* s[n][T] <- q[n][d] . H[T][d] (+ float outlier channels) */
void ebq_attn_scores(float *restrict s, const int8_t *restrict q, const float *restrict qs,
                     const float *restrict qo, uint32_t n_o, uint32_t n,
                     const int8_t *restrict H, const uint16_t *restrict HO, uint32_t ho_stride,
                     const uint8_t *restrict segs, uint32_t T, uint32_t d) {
    int16_t qw[2][MAXD];
    for (uint32_t i = 0; i < n; i += 2u) {
        /* a lone last query pairs with itself (computed twice, stored once) */
        const uint32_t nq = (n - i >= 2u) ? 2u : 1u, i1 = i + nq - 1u;
        float *s0 = s + (size_t)i * T, *s1 = s + (size_t)i1 * T;
        if (d <= MAXD) {
            for (uint32_t c = 0; c < d; c++)
                qw[0][c] = q[(size_t)i * d + c], qw[1][c] = q[(size_t)i1 * d + c];
            for (uint32_t j = 0; j < T; j++) {
                if (segs[j] == 0) continue; /* padded key: never attended */
                int32_t acc[2];
                ebq_vec_dot2(acc, H + (size_t)j * d, qw[0], qw[1], d);
                s1[j] = (float)acc[1] * qs[i1];
                s0[j] = (float)acc[0] * qs[i];
            }
        } else {
            for (uint32_t k = i; k <= i1; k++) {
                const int8_t *qk = q + (size_t)k * d;
                for (uint32_t j = 0; j < T; j++) {
                    if (segs[j] == 0) continue;
                    int32_t acc = 0;
                    for (uint32_t c = 0; c < d; c++)
                        acc += (int32_t)qk[c] * (int32_t)H[(size_t)j * d + c];
                    s[(size_t)k * T + j] = (float)acc * qs[k];
                }
            }
        }
        if (n_o) { /* outlier channels in float, after the integer part (ref order) */
            for (uint32_t k = i; k <= i1; k++) {
                const float *qok = qo + (size_t)k * n_o;
                float *sk = s + (size_t)k * T;
                for (uint32_t j = 0; j < T; j++) {
                    if (segs[j] == 0) continue;
                    float v = sk[j];
                    for (uint32_t m = 0; m < n_o; m++)
                        v = v + qok[m] * ebq_vec_f16(HO[(size_t)j * ho_stride + m]);
                    sk[j] = v;
                }
            }
        }
    }
}
