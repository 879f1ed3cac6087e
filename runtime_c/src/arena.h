/* Arena plan (private): offsets of every buffer for a sequence length T.
 * Mirrored by exporter/embbert/export/arena.py; a test checks both agree for many T. */
#ifndef EMBBERT_ARENA_H
#define EMBBERT_ARENA_H

#include <stddef.h>
#include <stdint.h>

#include "embbert/model_format.h"

/* Token rows the forward pass runs together (the kernels tile 2 x 2 or 1 weight row x 4 tokens;
 * 4 rather than 2 costs 2.8 KiB of arena at T = 128 and saves ~1.2 M instructions on the M4). */
#define EBQ_ROWS 4u

typedef struct {
    size_t h[2];  /* hn int8 [T][d], layer input / next layer input (ping-pong) */
    size_t ho[2]; /* hn outlier channels FP16 [T][max_h_outliers] */
    /* row buffers, EBQ_ROWS rows each, packed [n][len] by every kernel call: */
    size_t x;     /* float [d]: x row, attention output a, o1, then o1 + o2 */
    size_t r;     /* float [max(d, a*d, T)]: q', score row, conv row c/u, o2 */
    size_t qb;    /* int8 [max(d, a*d)]: quantized q' / a / u / [CLS] row */
    size_t qo;    /* float [max_outliers]: their outlier channels */
    size_t e;     /* int16 [T]: softmax numerators (int8 values) of one query row */
    size_t total; /* bytes, a multiple of EBQ_ARENA_ALIGN */
} ebq_plan;

void ebq_plan_arena(const ebq_model *m, uint32_t T, ebq_plan *p);

#endif /* EMBBERT_ARENA_H */
