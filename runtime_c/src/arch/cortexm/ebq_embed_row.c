/* Nano Embedder row for Cortex-M: both projections (d x rd, rd = 16 by default) in one pass.
 *
 * The ref calls ebq_linear_q8 twice with one token and a 16-column block, which misses its
 * 32-column tiles and pays the per-call widening and epilogue loops twice. Here the two table
 * rows are widened once, each output channel runs both dot products with SMLAD (per 4 columns:
 * 2 LDR + 4 SXTB16 + 4 SMLAD + 2 widened loads) and the float work is the ref's, in the ref's
 * order: (0 + sum * block scale) * row scale (+ bias), then (tok + pos) + seg. Other shapes
 * (outlier columns, several blocks, rd % 4 != 0) call ebq_linear_q8 as the ref does. Four
 * tokens at a time (ebq_embed_rows) take the 2 x 4 tiles of the linear layers instead (rows of
 * 16 columns: each projection row is loaded and split once for four tokens), the position
 * projection adding itself to the token one in its epilogue. Same bits as
 * src/ref/ebq_embed_row.c. */
#include "ebq_cm.h"
#include "ebq_cm_linear.h"
#include "embbert/kernels.h"
#include "embbert/numerics.h"

#define MAXR 64u /* widest table row widened on the stack */

static int simple(const ebq_qtensor *w, uint32_t rd) {
    return w->cols == rd && w->n_blocks == 1u && w->n_outliers == 0u;
}

/* one output channel's float work, the ref's order: (0 + sum * block scale) * row scale
 * (+ bias) for each table, then (tok + pos) + seg */
static inline float embed_out(int32_t at, int32_t ap, float st, float sp, float ts, float ps,
                              const float *bt, const float *bp, uint32_t o, float seg) {
    float vt = (0.0f + (float)at * st) * ts;
    float vp = (0.0f + (float)ap * sp) * ps;
    if (bt) vt = vt + bt[o];
    if (bp) vp = vp + bp[o];
    return (vt + vp) + seg;
}

/* rd = 16 (the default): two output channels per step, the 16 columns unrolled, so the
 * widened table rows are loaded once for both channels and the scales of a channel pair
 * come from one word each */
static void embed16(float *restrict x, const ebq_qtensor *restrict wt,
                    const ebq_qtensor *restrict wp, const uint32_t *restrict xw0, float ts,
                    float ps, const float *restrict seg, uint32_t d) {
    const int8_t *qt = wt->q, *qp = wp->q;
    for (uint32_t o = 0; o + 1u < d; o += 2u, qt += 32, qp += 32) {
        const uint32_t *xw = EBQ_CM_OPAQUE(xw0); /* else GCC hoists the 16 words */
        int32_t t0 = 0, t1 = 0, p0 = 0, p1 = 0; /* tok / pos x channel o / o+1 */
#pragma GCC unroll 4
        for (uint32_t c = 0; c < 16u; c += 4u) {
            const uint32_t ta = ebq_cm_ld32(qt + c), tb = ebq_cm_ld32(qt + 16u + c);
            const uint32_t xe = xw[c], xo = xw[c + 1u];
            t0 = ebq_cm_smlad(ebq_cm_sxtb16(ta), xe, t0);
            t0 = ebq_cm_smlad(ebq_cm_sxtb16_ror8(ta), xo, t0);
            t1 = ebq_cm_smlad(ebq_cm_sxtb16(tb), xe, t1);
            t1 = ebq_cm_smlad(ebq_cm_sxtb16_ror8(tb), xo, t1);
            const uint32_t pa = ebq_cm_ld32(qp + c), pb = ebq_cm_ld32(qp + 16u + c);
            const uint32_t ye = xw[c + 2u], yo = xw[c + 3u];
            p0 = ebq_cm_smlad(ebq_cm_sxtb16(pa), ye, p0);
            p0 = ebq_cm_smlad(ebq_cm_sxtb16_ror8(pa), yo, p0);
            p1 = ebq_cm_smlad(ebq_cm_sxtb16(pb), ye, p1);
            p1 = ebq_cm_smlad(ebq_cm_sxtb16_ror8(pb), yo, p1);
        }
        float st0, st1, sp0, sp1;
        ebq_cm_f16x2(ebq_cm_ld32(wt->scale + o), &st0, &st1);
        ebq_cm_f16x2(ebq_cm_ld32(wp->scale + o), &sp0, &sp1);
        x[o] = embed_out(t0, p0, st0, sp0, ts, ps, wt->bias, wp->bias, o, seg[o]);
        x[o + 1u] = embed_out(t1, p1, st1, sp1, ts, ps, wt->bias, wp->bias, o + 1u, seg[o + 1u]);
    }
}

/* x[d] = tok_proj(tok[id]) + pos_proj(pos[t]) + seg[s]; tmp[d] scratch */
void ebq_embed_row(float *restrict x, float *restrict tmp, const ebq_model *restrict m,
                   uint32_t id, uint32_t t, uint32_t s) {
    const uint32_t d = m->config.d_model, rd = m->config.reduced_dim;
    const ebq_qtensor *wt = &m->tok_proj, *wp = &m->pos_proj;
    const float ts = ebq_cm_f16(m->tok_scale[id]), ps = ebq_cm_f16(m->pos_scale[t]);
    const int8_t *xt = m->tok_q + (size_t)id * rd, *xp = m->pos_q + (size_t)t * rd;
    const float *seg = m->seg + (size_t)s * d;
    if (rd % 4u != 0u || rd > MAXR || !simple(wt, rd) || !simple(wp, rd)) {
        ebq_linear_q8(x, xt, &ts, 0, 1u, wt);
        ebq_linear_q8(tmp, xp, &ps, 0, 1u, wp);
        for (uint32_t c = 0; c < d; c++) x[c] = (x[c] + tmp[c]) + seg[c];
        return;
    }
    uint32_t xw[MAXR]; /* per 4 columns: tok (even, odd), pos (even, odd) */
    for (uint32_t c = 0; c < rd; c += 4u) {
        const uint32_t a = ebq_cm_ld32(xt + c), b = ebq_cm_ld32(xp + c);
        xw[c] = ebq_cm_sxtb16(a), xw[c + 1u] = ebq_cm_sxtb16_ror8(a);
        xw[c + 2u] = ebq_cm_sxtb16(b), xw[c + 3u] = ebq_cm_sxtb16_ror8(b);
    }
    uint32_t o = 0;
    if (rd == 16u) {
        embed16(x, wt, wp, xw, ts, ps, seg, d);
        o = d & ~1u;
    }
    const int8_t *qt = wt->q + (size_t)o * rd, *qp = wp->q + (size_t)o * rd;
    for (; o < d; o++, qt += rd, qp += rd) {
        int32_t at = 0, ap = 0;
        for (uint32_t c = 0; c < rd; c += 4u) {
            const uint32_t a = ebq_cm_ld32(qt + c), b = ebq_cm_ld32(qp + c);
            at = ebq_cm_smlad(ebq_cm_sxtb16(a), xw[c], at);
            at = ebq_cm_smlad(ebq_cm_sxtb16_ror8(a), xw[c + 1u], at);
            ap = ebq_cm_smlad(ebq_cm_sxtb16(b), xw[c + 2u], ap);
            ap = ebq_cm_smlad(ebq_cm_sxtb16_ror8(b), xw[c + 3u], ap);
        }
        x[o] = embed_out(at, ap, ebq_cm_f16(wt->scale[o]), ebq_cm_f16(wp->scale[o]), ts, ps,
                         wt->bias, wp->bias, o, seg[o]);
    }
    (void)tmp;
}

/* x[n][d]: ebq_embed_row for the n tokens ids[i], segs[i] at positions t0 + i */
void ebq_embed_rows(float *restrict x, float *restrict tmp, const ebq_model *restrict m,
                    const uint16_t *restrict ids, const uint8_t *restrict segs, uint32_t t0,
                    uint32_t n) {
    const uint32_t d = m->config.d_model, rd = m->config.reduced_dim;
    uint32_t i = 0;
    for (; n - i >= 4u; i += 4u) {
        const int8_t *xt[4], *xp[4];
        float ts[4], ps[4];
        for (uint32_t k = 0; k < 4u; k++) {
            const uint32_t id = ids[i + k], t = t0 + i + k;
            xt[k] = m->tok_q + (size_t)id * rd, ts[k] = ebq_cm_f16(m->tok_scale[id]);
            xp[k] = m->pos_q + (size_t)t * rd, ps[k] = ebq_cm_f16(m->pos_scale[t]);
        }
        float *xi = x + (size_t)i * d;
        if (m->tok_proj.cols != rd || m->pos_proj.cols != rd ||
            !ebq_cm_linear4(xi, &m->tok_proj, xt, ts, 0, 0))
            break;
        if (!ebq_cm_linear4(xi, &m->pos_proj, xp, ps, 0, 1)) { /* x = tok + pos, row by row */
            for (uint32_t k = 0; k < 4u; k++) {
                float *xk = xi + (size_t)k * d;
                ebq_linear_q8(tmp, xp[k], &ps[k], 0, 1u, &m->pos_proj);
                for (uint32_t c = 0; c < d; c++) xk[c] = xk[c] + tmp[c];
            }
        }
        for (uint32_t k = 0; k < 4u; k++) { /* + seg */
            float *xk = xi + (size_t)k * d;
            const float *seg = m->seg + (size_t)segs[i + k] * d;
#pragma GCC unroll 4
            for (uint32_t c = 0; c < d; c++) xk[c] = xk[c] + seg[c];
        }
    }
    for (; i < n; i++)
        ebq_embed_row(x + (size_t)i * d, tmp, m, ids[i], t0 + i, segs[i]);
}
