/* The EmbBERT-Q forward pass, in the order of model.py, on int8 data with four query rows at a
 * time (EBQ_ROWS; the kernels share every weight and key load between them). Only the [CLS] row
 * is computed in the last layer (the logits read nothing else). */
#include "arena.h"
#include "embbert/kernels.h"
#include "embbert/numerics.h"
#include "forward.h"

#ifdef EBQ_PROFILE
#define MARK(stage, layer) ebq_profile_mark((stage), (layer))
#else
#define MARK(stage, layer) ((void)0)
#endif

void ebq_forward(const ebq_model *m, uint8_t *arena, const ebq_plan *p, const uint16_t *ids,
                 const uint8_t *segs, uint32_t T, float *logits) {
    const ebq_config *cfg = &m->config;
    const uint32_t d = cfg->d_model, a = cfg->expansion, ad = a * d, nh = m->max_h_outliers;
    int8_t *H[2] = {(int8_t *)(arena + p->h[0]), (int8_t *)(arena + p->h[1])};
    uint16_t *HO[2] = {(uint16_t *)(void *)(arena + p->ho[0]),
                       (uint16_t *)(void *)(arena + p->ho[1])};
    float *x = (float *)(void *)(arena + p->x);    /* [EBQ_ROWS][d] */
    float *r = (float *)(void *)(arena + p->r);    /* [EBQ_ROWS][max(d, a*d)]; scores run into x */
    int8_t *qb = (int8_t *)(arena + p->qb);        /* [EBQ_ROWS][max(d, a*d)] */
    float *qo = (float *)(void *)(arena + p->qo);  /* [EBQ_ROWS][max_outliers] */
    int16_t *e = (int16_t *)(void *)(arena + p->e); /* [EBQ_ROWS][T], over qb/qo and read scores */

    /* Nano Embedder + the first layer's RMSNorm: x[t] -> H0[t] */
    const ebq_layer *L0 = &m->layers[0];
    MARK(EBQ_STAGE_EMBED, 0u);
    for (uint32_t t = 0; t < T; t += EBQ_ROWS) {
        const uint32_t n = (T - t < EBQ_ROWS) ? T - t : EBQ_ROWS;
        ebq_embed_rows(x, r, m, ids + t, segs + t, t, n);
        for (uint32_t i = 0; i < n; i++)
            ebq_rmsnorm_q8(H[0] + (size_t)(t + i) * d, HO[0] + (size_t)(t + i) * nh, x + i * d,
                           d, m->rms_eps, L0->h_inv, L0->q.outlier_idx, L0->q.n_outliers);
    }

    for (uint32_t l = 0; l < cfg->n_layers; l++) {
        const ebq_layer *L = &m->layers[l];
        const int last = (l + 1u == cfg->n_layers);
        const uint32_t rows = last ? 1u : T;
        const int8_t *h = H[l & 1u];
        const uint16_t *ho = HO[l & 1u];
        const uint16_t *oh = L->q.outlier_idx;
        const uint32_t n_oh = L->q.n_outliers, n_ou = L->pw.n_outliers;
        const float sh = L->h_scale;
        for (uint32_t t = 0; t < rows; t += EBQ_ROWS) {
            const uint32_t n = (rows - t < EBQ_ROWS) ? rows - t : EBQ_ROWS;
            float xs[EBQ_ROWS], sq[EBQ_ROWS];
            int32_t Z[EBQ_ROWS];
            /* attention: q' = hn Wq^T + b (g, 1/sqrt(d) folded) */
            MARK(EBQ_STAGE_Q, l);
            for (uint32_t i = 0; i < n; i++) {
                xs[i] = sh;
                for (uint32_t k = 0; k < n_oh; k++)
                    qo[i * n_oh + k] = ebq_f16_to_f32(ho[(size_t)(t + i) * nh + k]);
            }
            ebq_linear_q8(r, h + (size_t)t * d, xs, qo, n, &L->q);             /* q' [n][d] */
            for (uint32_t i = 0; i < n; i++) {
                ebq_quantize_row(qb + i * d, &sq[i], qo + i * n_oh, r + i * d, d, oh, n_oh);
                sq[i] = sq[i] * sh;
            }
            MARK(EBQ_STAGE_ATTN, l);
            ebq_attn_scores(r, qb, sq, qo, n_oh, n, h, ho, nh, segs, T, d);   /* s [n][T] */
            for (uint32_t i = 0; i < n; i++)   /* in row order: e row i overwrites s rows < i */
                Z[i] = ebq_softmax_q8(e + (size_t)i * T, r + (size_t)i * T, segs, T);
            ebq_attn_sum(x, e, Z, n, h, ho, nh, T, d, sh, oh, n_oh);           /* a [n][d] */
            MARK(EBQ_STAGE_OUT, l);
            for (uint32_t i = 0; i < n; i++)
                ebq_quantize_row(qb + i * d, &xs[i], qo + i * n_oh, x + i * d, d, oh, n_oh);
            ebq_linear_q8(x, qb, xs, qo, n, &L->out);           /* o1 = lam1 * out(a) [n][d] */

            /* conv: c = dw(hn) causal, u = silu(c), o2 = -lam2 * pw(u) */
            MARK(EBQ_STAGE_CONV, l);
            ebq_dwconv_q8(r, h, ho, nh, t, n, d, a, sh, &L->dw);               /* c [n][a*d] */
            ebq_silu_inplace(r, n * ad);
            MARK(EBQ_STAGE_PW, l);
            for (uint32_t i = 0; i < n; i++)
                ebq_quantize_row(qb + i * ad, &xs[i], qo + i * n_ou, r + i * ad, ad,
                                 L->pw.outlier_idx, n_ou);
            ebq_linear_q8_acc(x, r, qb, xs, qo, n, &L->pw);   /* x = lam1 o1 - lam2 o2 [n][d] */

            if (!last) {
                MARK(EBQ_STAGE_NORM, l);
                const ebq_layer *Ln = &m->layers[l + 1u];
                for (uint32_t i = 0; i < n; i++)
                    ebq_rmsnorm_q8(H[(l + 1u) & 1u] + (size_t)(t + i) * d,
                                   HO[(l + 1u) & 1u] + (size_t)(t + i) * nh, x + i * d, d,
                                   m->rms_eps, Ln->h_inv, Ln->q.outlier_idx, Ln->q.n_outliers);
            }
        }
    }

    /* classifier on the final [CLS] row (x holds row 0 of the last layer) */
    MARK(EBQ_STAGE_CLASSIFIER, cfg->n_layers - 1u);
    float sx;
    ebq_quantize_row(qb, &sx, qo, x, d, m->classifier.outlier_idx, m->classifier.n_outliers);
    ebq_linear_q8(logits, qb, &sx, qo, 1u, &m->classifier);
    MARK(EBQ_STAGE_DONE, cfg->n_layers - 1u);
}
