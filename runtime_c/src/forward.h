/* Private: the forward pass over a planned arena (inputs already validated). */
#ifndef EMBBERT_FORWARD_H
#define EMBBERT_FORWARD_H

#include <stdint.h>

#include "arena.h"
#include "embbert/model_format.h"

void ebq_forward(const ebq_model *m, uint8_t *arena, const ebq_plan *p, const uint16_t *ids,
                 const uint8_t *segs, uint32_t T, float *logits);

#endif /* EMBBERT_FORWARD_H */
