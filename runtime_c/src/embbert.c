/* Public API: model checks, input validation, arena binding. */
#define EBQ_STATUS_IMPLEMENTATION
#include "embbert/embbert.h"

#include "arena.h"
#include "embbert/model_format.h"
#include "forward.h"

static uint8_t *align_up(void *p) {
    const uintptr_t u = (uintptr_t)p;
    return (uint8_t *)(u + ((EBQ_ARENA_ALIGN - (u % EBQ_ARENA_ALIGN)) % EBQ_ARENA_ALIGN));
}

static int config_ok(const ebq_config *c) {
    return c->vocab_size > 4u && c->vocab_size <= 65536u && c->max_len >= 1u &&
           c->d_model >= 1u && c->d_model <= 65535u && c->reduced_dim >= 1u &&
           c->n_layers >= 1u && c->conv_kernel >= 1u && c->expansion >= 1u &&
           (uint64_t)c->expansion * c->d_model <= 65535u && c->num_labels >= 1u;
}

size_t ebq_arena_bytes(const ebq_model *model, uint32_t T) {
    if (!model) return 0;
    ebq_plan p;
    ebq_plan_arena(model, T, &p);
    return p.total;
}

ebq_status ebq_init(ebq_ctx *ctx, const ebq_model *model, void *arena, size_t arena_bytes) {
    if (!ctx || !model || !arena) return EBQ_BAD_ARGUMENT;
    ctx->initialized = 0;
    if (model->magic != EBQ_MAGIC) return EBQ_BAD_MAGIC;
    if (model->format_version != EBQ_FORMAT_VERSION) return EBQ_BAD_FORMAT_VERSION;
    if (model->quant_version != EBQ_QUANT_VERSION) return EBQ_BAD_QUANT_VERSION;
    if (model->block != EBQ_BLOCK || !config_ok(&model->config)) return EBQ_BAD_CONFIG;
    uint8_t *base = align_up(arena);
    const size_t lost = (size_t)(base - (uint8_t *)arena);
    const size_t usable = arena_bytes > lost ? arena_bytes - lost : 0;
    /* enough for the shortest input; ebq_infer checks the real length */
    if (usable < ebq_arena_bytes(model, 1u)) return EBQ_ARENA_TOO_SMALL;
    ctx->model = model;
    ctx->arena = base;
    ctx->arena_bytes = usable;
    ctx->initialized = 1u;
    return EBQ_OK;
}

ebq_status ebq_infer(ebq_ctx *ctx, const uint16_t *ids, const uint8_t *segs, uint32_t T,
                     float *logits) {
    if (!ctx) return EBQ_BAD_ARGUMENT;
    if (ctx->initialized != 1u || !ctx->model) return EBQ_NOT_INITIALIZED;
    const ebq_model *m = ctx->model;
    if (T == 0u) return EBQ_EMPTY_INPUT;
    if (!ids || !segs || !logits) return EBQ_BAD_ARGUMENT;
    if (T > m->config.max_len) return EBQ_TOO_LONG;
    for (uint32_t t = 0; t < T; t++) {
        if (ids[t] >= m->config.vocab_size) return EBQ_TOKEN_OUT_OF_RANGE;
        if (segs[t] > 2u) return EBQ_SEGMENT_OUT_OF_RANGE;
    }
    ebq_plan p;
    ebq_plan_arena(m, T, &p);
    if (p.total > ctx->arena_bytes) return EBQ_ARENA_TOO_SMALL;
    ebq_forward(m, ctx->arena, &p, ids, segs, T, logits);
    return EBQ_OK;
}

const ebq_config *ebq_model_config(const ebq_model *model) {
    return model ? &model->config : 0;
}

const uint8_t *ebq_model_sha256(const ebq_model *model) {
    return model ? model->sha256 : 0;
}

uint32_t ebq_model_format_version(const ebq_model *model) {
    return model ? model->format_version : 0u;
}

uint32_t ebq_model_quant_version(const ebq_model *model) {
    return model ? model->quant_version : 0u;
}
