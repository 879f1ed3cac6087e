/* EmbBERT-Q C runtime: public API.
 *
 * The exporter generates the model data (model_data.h/.c) as one `ebq_model` in flash; the caller
 * owns one 16-byte aligned arena of at least EBQ_ARENA_BYTES (from the generated header) and the
 * runtime never allocates. Inference runs at the real sequence length T (1..max_len).
 */
#ifndef EMBBERT_EMBBERT_H
#define EMBBERT_EMBBERT_H

#include <stddef.h>
#include <stdint.h>

#include "embbert/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Model configuration, as in the checkpoint (EmbBertConfig). */
typedef struct {
    uint32_t vocab_size, max_len, d_model, reduced_dim, n_layers, conv_kernel, expansion,
        num_labels;
} ebq_config;

typedef struct ebq_model ebq_model; /* generated, opaque to users; see model_format.h */

/* Runtime state; fields are private. */
typedef struct {
    const ebq_model *model;
    uint8_t *arena;
    size_t arena_bytes;
    uint32_t initialized;
} ebq_ctx;

/* Checks magic, format and quant versions, config and arena size; binds the arena. */
ebq_status ebq_init(ebq_ctx *ctx, const ebq_model *model, void *arena, size_t arena_bytes);

/* ids[T], segs[T] (segment 1 up to and including the first [SEP], 2 after, 0 = padding)
 * -> logits[num_labels] as float32. Errors: EMPTY_INPUT (T = 0), TOO_LONG (T > max_len),
 * TOKEN_OUT_OF_RANGE, SEGMENT_OUT_OF_RANGE, NOT_INITIALIZED, BAD_ARGUMENT. */
ebq_status ebq_infer(ebq_ctx *ctx, const uint16_t *ids, const uint8_t *segs, uint32_t T,
                     float *logits);

/* Facts about a model (for the INFO frame). */
const ebq_config *ebq_model_config(const ebq_model *model);
const uint8_t *ebq_model_sha256(const ebq_model *model);        /* 32 bytes, of model.pt */
uint32_t ebq_model_format_version(const ebq_model *model);
uint32_t ebq_model_quant_version(const ebq_model *model);
size_t ebq_arena_bytes(const ebq_model *model, uint32_t T);     /* arena needed at length T */

#ifdef __cplusplus
}
#endif

#endif /* EMBBERT_EMBBERT_H */
