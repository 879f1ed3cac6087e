/* FAKE runtime (tests only): the ebq_* API with a deterministic toy "model":
 *   logits[k] = (acc_k mod 1009) / 16 - k,  acc_k = sum_i (ids[i] + 1) (k + 1) + 7 segs[i]
 * exact in float32 and mirrored in tests/fake_model.py. It validates like the real runtime
 * and writes its arena, so ASan sees arena misuse. */
#include <string.h>

#include "fake_model_format.h"

ebq_status ebq_init(ebq_ctx *ctx, const ebq_model *model, void *arena, size_t arena_bytes) {
    if (ctx == NULL || model == NULL || arena == NULL) return EBQ_BAD_ARGUMENT;
    ctx->initialized = 0;
    if (((uintptr_t)arena & 15u) != 0) return EBQ_BAD_ARGUMENT;
    if (model->magic != FAKE_MAGIC) return EBQ_BAD_MAGIC;
    if (model->format_version != FAKE_RUNTIME_FORMAT_VERSION) return EBQ_BAD_FORMAT_VERSION;
    if (model->quant_version != FAKE_RUNTIME_QUANT_VERSION) return EBQ_BAD_QUANT_VERSION;
    if (arena_bytes < model->arena_bytes) return EBQ_ARENA_TOO_SMALL;
    ctx->model = model;
    ctx->arena = arena;
    ctx->arena_bytes = arena_bytes;
    ctx->initialized = 1;
    return EBQ_OK;
}

ebq_status ebq_infer(ebq_ctx *ctx, const uint16_t *ids, const uint8_t *segs, uint32_t T,
                     float *logits) {
    if (ctx == NULL || ids == NULL || segs == NULL || logits == NULL) return EBQ_BAD_ARGUMENT;
    if (!ctx->initialized) return EBQ_NOT_INITIALIZED;
    const ebq_config *cfg = &ctx->model->config;
    if (T == 0) return EBQ_EMPTY_INPUT;
    if (T > cfg->max_len) return EBQ_TOO_LONG;
#ifdef FAKE_CRASH_ON_T /* simulates a runtime bug: a wild read (bus fault / SIGSEGV) */
    if (T == FAKE_CRASH_ON_T) return (ebq_status) * (volatile uint32_t *)(uintptr_t)0xF0000000u;
#endif
    uint32_t *acc = (uint32_t *)(void *)ctx->arena; /* [num_labels] scratch in the arena */
    memset(acc, 0, cfg->num_labels * sizeof *acc);
    for (uint32_t i = 0; i < T; i++) {
        if (ids[i] >= cfg->vocab_size) return EBQ_TOKEN_OUT_OF_RANGE;
        if (segs[i] > 2) return EBQ_SEGMENT_OUT_OF_RANGE;
        for (uint32_t k = 0; k < cfg->num_labels; k++) {
            acc[k] = (acc[k] + (ids[i] + 1u) * (k + 1u) + 7u * segs[i]) % 1009u;
        }
    }
    for (uint32_t k = 0; k < cfg->num_labels; k++) {
        logits[k] = (float)acc[k] * 0.0625f - (float)k;
    }
    return EBQ_OK;
}

const ebq_config *ebq_model_config(const ebq_model *model) { return &model->config; }
const uint8_t *ebq_model_sha256(const ebq_model *model) { return model->sha256; }
uint32_t ebq_model_format_version(const ebq_model *model) { return model->format_version; }
uint32_t ebq_model_quant_version(const ebq_model *model) { return model->quant_version; }
size_t ebq_arena_bytes(const ebq_model *model, uint32_t T) {
    (void)T;
    return model->arena_bytes;
}
