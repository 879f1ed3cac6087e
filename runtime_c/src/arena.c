/* Static arena planning: one 16-byte aligned block, buffers laid out in a fixed order. */
#include "arena.h"

#define EBQ_UP(n) (((n) + (EBQ_ARENA_ALIGN - 1u)) & ~(size_t)(EBQ_ARENA_ALIGN - 1u))

static size_t take(size_t *at, size_t bytes) {
    const size_t off = *at;
    *at = EBQ_UP(off + bytes);
    return off;
}

static size_t max2(size_t a, size_t b) { return a > b ? a : b; }

void ebq_plan_arena(const ebq_model *m, uint32_t T, ebq_plan *p) {
    const size_t d = m->config.d_model, ad = (size_t)m->config.expansion * d;
    const size_t nh = m->max_h_outliers, nb = (m->config.n_layers > 1u) ? 2u : 1u;
    const size_t wide = max2(ad, d), e_row = (size_t)T * 2u;
    size_t at = 0;
    p->h[0] = take(&at, (size_t)T * d);
    p->h[1] = nb > 1u ? take(&at, (size_t)T * d) : p->h[0];
    p->ho[0] = take(&at, (size_t)T * nh * 2u);
    p->ho[1] = nb > 1u ? take(&at, (size_t)T * nh * 2u) : p->ho[0];
    p->qb = take(&at, EBQ_ROWS * wide);
    p->qo = take(&at, EBQ_ROWS * (size_t)m->max_outliers * 4u);
    /* e row 0 lies before r, over qb/qo; e row i >= 1 over score rows < i (see arena.h) */
    p->r = max2(at, EBQ_UP(p->qb + e_row));
    p->e = (p->r - e_row) & ~(size_t)(EBQ_ARENA_ALIGN - 1u);
    at = p->r;
    size_t rn = EBQ_ROWS * wide * 4u;                       /* q', c/u, o2 */
    rn = max2(p->r + rn, p->e + EBQ_ROWS * e_row) - p->r;   /* e stays clear of x */
    if (T > d)                                              /* the score rows run on into x */
        rn = max2(rn, EBQ_ROWS * ((size_t)T - d) * 4u);
    take(&at, rn);
    p->x = take(&at, EBQ_ROWS * d * 4u);
    p->total = at;
}
