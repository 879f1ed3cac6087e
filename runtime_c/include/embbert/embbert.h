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

/* Optional per-stage profiling. Build the runtime with -DEBQ_PROFILE and define
 * ebq_profile_mark() in the firmware: the forward pass calls it whenever it enters a stage
 * (stages interleave, one token row at a time); accumulate cycle-counter deltas per stage.
 * Without EBQ_PROFILE the calls compile to nothing. */
typedef enum {
    EBQ_STAGE_EMBED = 0,    /* embedding gather + projections + first RMSNorm */
    EBQ_STAGE_NORM,         /* RMSNorm + int8 quantization of the next layer's input */
    EBQ_STAGE_Q,            /* query projection + row quantization */
    EBQ_STAGE_ATTN,         /* scores, int8 softmax, softmax @ hn */
    EBQ_STAGE_OUT,          /* row quantization + output projection */
    EBQ_STAGE_CONV,         /* depthwise causal conv + SiLU */
    EBQ_STAGE_PW,           /* row quantization + pointwise projection + residual sum */
    EBQ_STAGE_CLASSIFIER,   /* [CLS] row quantization + classifier */
    EBQ_STAGE_DONE,         /* end of inference */
    EBQ_STAGE_COUNT
} ebq_stage;

void ebq_profile_mark(ebq_stage stage, uint32_t layer);

#ifdef __cplusplus
}
#endif

#endif /* EMBBERT_EMBBERT_H */
