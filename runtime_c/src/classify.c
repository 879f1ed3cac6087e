/* Application API (embbert.h): text or ids -> label, confidence and cost, on one work buffer. */
#include <string.h>

#include "embbert/embbert.h"
#include "embbert/numerics.h"
#include "embbert/tokenize.h"

static uint8_t *align16(uint8_t *p) {
    return (uint8_t *)(((uintptr_t)p + 15u) & ~(uintptr_t)15u);
}

ebq_status ebq_classifier_init(ebq_classifier *c, const ebq_model *model,
                               const struct ebq_tokenizer_s *tok, const char *const *labels,
                               void *work, size_t work_bytes, ebq_counter_fn counter) {
    if (!c || !model || !work) return EBQ_BAD_ARGUMENT;
    memset(c, 0, sizeof *c);
    const ebq_config *cfg = ebq_model_config(model);
    if (!cfg) return EBQ_BAD_ARGUMENT;
    size_t tail = EBQ_CLASSIFIER_BYTES(0u, cfg->max_len, cfg->num_labels);
    if (work_bytes < tail) return EBQ_ARENA_TOO_SMALL;
    /* the end of the buffer holds logits, ids and segments; the rest is the arena */
    size_t arena_bytes = (work_bytes - tail) & ~(size_t)15u;
    uint8_t *base = align16((uint8_t *)work);
    ebq_status s = ebq_init(&c->ctx, model, base, arena_bytes);
    if (s != EBQ_OK) return s;
    if (tok && arena_bytes < ebq_tok_work_bytes(tok)) return EBQ_ARENA_TOO_SMALL;
    uint8_t *p = base + arena_bytes;
    c->logits = (float *)(void *)p;
    p += EBQ_ALIGN16_(4u * cfg->num_labels);
    c->ids = (uint16_t *)(void *)p;
    p += EBQ_ALIGN16_(2u * cfg->max_len);
    c->segs = p;
    c->tok = tok;
    c->labels = labels;
    c->max_len = cfg->max_len;
    c->num_labels = cfg->num_labels;
    c->counter = counter;
    return EBQ_OK;
}

static uint64_t now(const ebq_classifier *c) {
    return c->counter ? c->counter() : 0u;
}

static ebq_status finish(ebq_classifier *c, uint32_t T, uint64_t tok_cost, ebq_result *out) {
    const uint64_t t0 = now(c);
    ebq_status s = ebq_infer(&c->ctx, c->ids, c->segs, T, c->logits);
    const uint64_t t1 = now(c);
    if (s != EBQ_OK) return s;
    uint32_t best = 0;
    for (uint32_t k = 1; k < c->num_labels; k++)
        if (c->logits[k] > c->logits[best]) best = k;
    float z = 0.0f;
    for (uint32_t k = 0; k < c->num_labels; k++) z += ebq_exp(c->logits[k] - c->logits[best]);
    out->label = best;
    out->confidence = c->num_labels > 1 ? 1.0f / z : 1.0f;
    out->logits = c->logits;
    out->num_labels = c->num_labels;
    out->T = T;
    out->tokenize_cost = tok_cost;
    out->infer_cost = t1 - t0;
    return EBQ_OK;
}

ebq_status ebq_classify_text(ebq_classifier *c, const char *text, size_t n, const char *pair,
                             size_t pair_n, ebq_result *out) {
    if (!c || !out || (!text && n) || !c->ids) return EBQ_BAD_ARGUMENT;
    if (!c->tok) return EBQ_NO_TOKENIZER;
    uint32_t T = 0;
    const uint64_t t0 = now(c);
    /* the tokenizer borrows the arena: it is done before the inference starts */
    ebq_status s = ebq_tokenize(c->tok, (const uint8_t *)(text ? text : ""), n,
                                (const uint8_t *)pair, pair ? pair_n : 0u, c->max_len,
                                c->ctx.arena, c->ctx.arena_bytes, c->ids, c->segs, &T);
    const uint64_t t1 = now(c);
    if (s != EBQ_OK) return s;
    return finish(c, T, t1 - t0, out);
}

ebq_status ebq_classify_ids(ebq_classifier *c, const uint16_t *ids, const uint8_t *segs,
                            uint32_t T, ebq_result *out) {
    if (!c || !out || !ids || !segs || !c->ids) return EBQ_BAD_ARGUMENT;
    if (T == 0) return EBQ_EMPTY_INPUT;
    if (T > c->max_len) return EBQ_TOO_LONG;
    memcpy(c->ids, ids, 2u * T);
    memcpy(c->segs, segs, T);
    return finish(c, T, 0u, out);
}

const char *ebq_label_name(const ebq_classifier *c, uint32_t k) {
    if (!c || !c->labels || k >= c->num_labels || !c->labels[k]) return "?";
    return c->labels[k];
}
