/* Static arena planning: one 16-byte aligned block, buffers laid out in a fixed order. */
#include "arena.h"

static size_t take(size_t *at, size_t bytes) {
    const size_t off = *at;
    *at = (off + bytes + (EBQ_ARENA_ALIGN - 1u)) & ~(size_t)(EBQ_ARENA_ALIGN - 1u);
    return off;
}

void ebq_plan_arena(const ebq_model *m, uint32_t T, ebq_plan *p) {
    const size_t d = m->config.d_model, ad = (size_t)m->config.expansion * d;
    const size_t nh = m->max_h_outliers, nb = (m->config.n_layers > 1u) ? 2u : 1u;
    size_t wide = ad > d ? ad : d;
    size_t rn = wide > T ? wide : T;
    size_t at = 0;
    p->h[0] = take(&at, (size_t)T * d);
    p->h[1] = nb > 1u ? take(&at, (size_t)T * d) : p->h[0];
    p->ho[0] = take(&at, (size_t)T * nh * 2u);
    p->ho[1] = nb > 1u ? take(&at, (size_t)T * nh * 2u) : p->ho[0];
    p->x = take(&at, EBQ_ROWS * d * 4u);
    p->r = take(&at, EBQ_ROWS * rn * 4u);
    p->qb = take(&at, EBQ_ROWS * wide);
    p->qo = take(&at, EBQ_ROWS * (size_t)m->max_outliers * 4u);
    p->e = take(&at, EBQ_ROWS * (size_t)T * 2u);
    p->total = at;
}
