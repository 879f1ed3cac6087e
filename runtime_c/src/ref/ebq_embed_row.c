/* Nano Embedder, one row: int8 table rows (per-row FP16 scale) through int8 projections. */
#include "embbert/kernels.h"
#include "embbert/numerics.h"

/* x[d] = tok_proj(tok[id]) + pos_proj(pos[t]) + seg[s]; tmp[d] scratch */
void ebq_embed_row(float *restrict x, float *restrict tmp, const ebq_model *restrict m,
                   uint32_t id, uint32_t t, uint32_t s) {
    const uint32_t d = m->config.d_model, rd = m->config.reduced_dim;
    const float ts = ebq_f16_to_f32(m->tok_scale[id]), ps = ebq_f16_to_f32(m->pos_scale[t]);
    ebq_linear_q8(x, m->tok_q + (size_t)id * rd, &ts, 0, 1u, &m->tok_proj);
    ebq_linear_q8(tmp, m->pos_q + (size_t)t * rd, &ps, 0, 1u, &m->pos_proj);
    const float *seg = m->seg + (size_t)s * d;
    for (uint32_t c = 0; c < d; c++) x[c] = (x[c] + tmp[c]) + seg[c];
}

/* x[n][d]: ebq_embed_row for the n tokens ids[i], segs[i] at positions t0 + i */
void ebq_embed_rows(float *restrict x, float *restrict tmp, const ebq_model *restrict m,
                    const uint16_t *restrict ids, const uint8_t *restrict segs, uint32_t t0,
                    uint32_t n) {
    for (uint32_t i = 0; i < n; i++)
        ebq_embed_row(x + (size_t)i * m->config.d_model, tmp, m, ids[i], t0 + i, segs[i]);
}
