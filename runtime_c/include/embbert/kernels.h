/* Kernels of the EmbBERT-Q forward pass. src/ref/ holds the portable reference versions (the
 * oracle, one kernel per file); src/arch/<isa>/ may provide the same symbols, chosen at build
 * time, and must give the same bits on every integer result and the same float results.
 * Each kernel works on one row so the arena never holds a T x T matrix.
 * Shapes: d model width, a expansion, k conv taps, T tokens, n outlier channels. */
#ifndef EMBBERT_KERNELS_H
#define EMBBERT_KERNELS_H

#include <stdint.h>

#include "embbert/model_format.h"

#ifdef __cplusplus
extern "C" {
#endif

/* y[rows] = W x + bias with x = xs * xq[cols] (int8, outlier channels 0) and the outlier
 * channels in float xo[n_outliers]:
 *   y = 0; for each block b: y += (float)sum_int(W_q[b] * xq[b]) * scale[b]
 *   y *= xs; for each outlier m: y += xo[m] * W_out[m]; y += bias */
void ebq_linear_q8(float *restrict y, const int8_t *restrict xq, float xs,
                   const float *restrict xo, const ebq_qtensor *restrict w);

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

/* s[T] for one query row: s[j] = (float)sum_int(q * H[j]) * qs + sum_m qo[m] * HO[j][m]
 * over the unmasked keys (segs[j] != 0); masked s[j] are left unspecified.
 * H [T][d] int8, HO [T][ho_stride] FP16. */
void ebq_attn_scores(float *restrict s, const int8_t *restrict q, float qs,
                     const float *restrict qo, uint32_t n_o, const int8_t *restrict H,
                     const uint16_t *restrict HO, uint32_t ho_stride,
                     const uint8_t *restrict segs, uint32_t T, uint32_t d);

/* e[T] = sat_i8(127 * ebq_exp(s - max)) over unmasked keys, 0 on masked ones;
 * returns Z = sum(e) (0 when every key is masked). */
int32_t ebq_softmax_q8(int8_t *restrict e, const float *restrict s,
                       const uint8_t *restrict segs, uint32_t T);

/* a[d] = softmax @ hn for one query row: a[c] = (float)sum_int(e * H[.][c]) * (h_scale / Z);
 * outlier channel idx[m]: (sum_j (float)e[j] * HO[j][m]) / Z (sequential over j).
 * All zero when Z == 0. */
void ebq_attn_sum(float *restrict a, const int8_t *restrict e, int32_t Z,
                  const int8_t *restrict H, const uint16_t *restrict HO, uint32_t ho_stride,
                  uint32_t T, uint32_t d, float h_scale, const uint16_t *restrict idx,
                  uint32_t n_idx);

/* c[a*d] for row t of the causal depthwise conv (zeros before t = 0):
 * int8 channels: c = (sum over blocks (float)sum_int(w * H) * scale) * h_scale + bias;
 * outlier channels: c = sum_j w16 * HO (sequential over taps) + bias. */
void ebq_dwconv_q8(float *restrict c, const int8_t *restrict H, const uint16_t *restrict HO,
                   uint32_t ho_stride, uint32_t t, uint32_t d, uint32_t a, float h_scale,
                   const ebq_qtensor *restrict w);

/* v[n] = v / (1 + ebq_exp(-v)), in place. */
void ebq_silu_inplace(float *v, uint32_t n);

#ifdef __cplusplus
}
#endif

#endif /* EMBBERT_KERNELS_H */
