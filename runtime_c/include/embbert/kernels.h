/* Kernels of the EmbBERT-Q forward pass. src/ref/ holds the portable reference versions (the
 * oracle, one kernel per file); src/arch/<isa>/ may provide the same symbols, chosen at build
 * time, and must give the same bits on every integer result and the same float results.
 * Kernels work on one to four token rows (n), so the arena never holds a T x T matrix and the
 * optimized kernels can share every weight / key load between rows (2 x 2 and 1 x 4 tiles).
 * Shapes: d model width, a expansion, k conv taps, T tokens, n outlier channels. */
#ifndef EMBBERT_KERNELS_H
#define EMBBERT_KERNELS_H

#include <stdint.h>

#include "embbert/model_format.h"

#ifdef __cplusplus
extern "C" {
#endif

/* y[n][rows] = W x_i + bias for n input rows x_i = xs[i] * xq[i][cols] (int8, outlier
 * channels 0) plus the outlier channels in float xo[i][n_outliers]; per row:
 *   y = 0; for each block b: y += (float)sum_int(W_q[b] * xq[b]) * scale[b]
 *   y *= xs; for each outlier m: y += xo[m] * W_out[m]; y += bias
 * The forward pass calls it with n = 4 (four token rows share every weight load) down to 1. */
void ebq_linear_q8(float *restrict y, const int8_t *restrict xq, const float *restrict xs,
                   const float *restrict xo, uint32_t n, const ebq_qtensor *restrict w);

/* y[n][rows] = y + (the ebq_linear_q8 output), the sum in this order (the residual sum after
 * the pointwise conv); tmp[n][rows] scratch. */
void ebq_linear_q8_acc(float *restrict y, float *restrict tmp, const int8_t *restrict xq,
                       const float *restrict xs, const float *restrict xo, uint32_t n,
                       const ebq_qtensor *restrict w);

/* q[n] int8, *scale, vo[n_idx] <- v[n] float: per-row absmax over the non-outlier channels,
 * q = sat_i8(v * (127 / absmax)), scale = absmax / 127 (0 when absmax < 2^-100);
 * outlier channels idx[] are copied to vo[] in float and zeroed in q. */
void ebq_quantize_row(int8_t *restrict q, float *restrict scale, float *restrict vo,
                      const float *restrict v, uint32_t n, const uint16_t *restrict idx,
                      uint32_t n_idx);

/* RMSNorm without gain (folded), straight to the layer's int8 input:
 * h[d] = sat_i8(x * r * h_inv), r = 1 / sqrtf(sum(x^2) / d + eps) (sequential sum);
 * outlier channels idx[] -> ho[n_idx] as FP16, 0 in h. */
void ebq_rmsnorm_q8(int8_t *restrict h, uint16_t *restrict ho, const float *restrict x,
                    uint32_t d, float eps, float h_inv, const uint16_t *restrict idx,
                    uint32_t n_idx);

/* x[d] = tok_proj(tok[id]) + pos_proj(pos[t]) + seg[s]; tmp[d] scratch. */
void ebq_embed_row(float *restrict x, float *restrict tmp, const ebq_model *restrict m,
                   uint32_t id, uint32_t t, uint32_t s);

/* ebq_embed_row for the n tokens ids[i], segs[i] at positions t0 + i: x[n][d], tmp[n][d]. */
void ebq_embed_rows(float *restrict x, float *restrict tmp, const ebq_model *restrict m,
                    const uint16_t *restrict ids, const uint8_t *restrict segs, uint32_t t0,
                    uint32_t n);

/* s[n][T] for n query rows q[n][d] (scales qs[n], outlier channels qo[n][n_o]):
 * s[i][j] = (float)sum_int(q[i] * H[j]) * qs[i] + sum_m qo[i][m] * HO[j][m] over the unmasked
 * keys (segs[j] != 0); masked s[i][j] are left unspecified.
 * H [T][d] int8, HO [T][ho_stride] FP16. */
void ebq_attn_scores(float *restrict s, const int8_t *restrict q, const float *restrict qs,
                     const float *restrict qo, uint32_t n_o, uint32_t n,
                     const int8_t *restrict H, const uint16_t *restrict HO, uint32_t ho_stride,
                     const uint8_t *restrict segs, uint32_t T, uint32_t d);

/* e[T] = sat_i8(127 * ebq_exp(s - max)) over unmasked keys, 0 on masked ones, stored as int16
 * (values 0..127: the next kernel multiplies them in 16-bit pairs without widening);
 * returns Z = sum(e) (0 when every key is masked). */
int32_t ebq_softmax_q8(int16_t *restrict e, const float *restrict s,
                       const uint8_t *restrict segs, uint32_t T);

/* a[n][d] = softmax @ hn for n query rows e[n][T] (sums Z[n]):
 * a[i][c] = (float)sum_int(e[i] * H[.][c]) * (h_scale / Z[i]);
 * outlier channel idx[m]: (sum_j (float)e[i][j] * HO[j][m]) / Z[i] (sequential over j).
 * Row i is all zero when Z[i] == 0. */
void ebq_attn_sum(float *restrict a, const int16_t *restrict e, const int32_t *restrict Z,
                  uint32_t n, const int8_t *restrict H, const uint16_t *restrict HO,
                  uint32_t ho_stride, uint32_t T, uint32_t d, float h_scale,
                  const uint16_t *restrict idx, uint32_t n_idx);

/* c[n][a*d] for rows t .. t+n-1 of the causal depthwise conv (zeros before row 0):
 * int8 channels: c = (sum over blocks (float)sum_int(w * H) * scale) * h_scale + bias;
 * outlier channels: c = sum_j w16 * HO (sequential over taps) + bias. */
void ebq_dwconv_q8(float *restrict c, const int8_t *restrict H, const uint16_t *restrict HO,
                   uint32_t ho_stride, uint32_t t, uint32_t n, uint32_t d, uint32_t a,
                   float h_scale, const ebq_qtensor *restrict w);

/* v[n] = v / (1 + ebq_exp(-v)), in place. */
void ebq_silu_inplace(float *v, uint32_t n);

#ifdef __cplusplus
}
#endif

#endif /* EMBBERT_KERNELS_H */
