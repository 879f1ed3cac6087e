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
    c->window_logits = c->logits + cfg->num_labels;
    p += EBQ_ALIGN16_(8u * cfg->num_labels);
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

static uint64_t tick(ebq_counter_fn counter) {
    return counter ? counter() : 0u;
}

/* Inference of ids/segs into out, its ticks added to run. */
static ebq_status infer_timed(ebq_ctx *ctx, const uint16_t *ids, const uint8_t *segs,
                              uint32_t T, float *out, ebq_counter_fn counter, ebq_text_run *run) {
    const uint64_t t0 = tick(counter);
    ebq_status s = ebq_infer(ctx, ids, segs, T, out);
    run->infer_cost += tick(counter) - t0;
    return s;
}

/* Mean logits of the windows of a single text (see ebq_infer_text). */
static ebq_status infer_windows(ebq_ctx *ctx, const ebq_tokenizer *tok, const uint8_t *a,
                                size_t na, uint16_t *ids, uint8_t *segs, float *logits,
                                float *window_logits, ebq_counter_fn counter,
                                ebq_text_run *run) {
    const ebq_config *cfg = ebq_model_config(ctx->model);
    const uint32_t max_len = cfg->max_len, nl = cfg->num_labels;
    if (max_len < 3u || !window_logits) return EBQ_BAD_ARGUMENT; /* a window holds a piece */
    if (ctx->arena_bytes < ebq_tok_work_bytes(tok)) return EBQ_ARENA_TOO_SMALL;
    const uint32_t budget = max_len - 2u;
    uint64_t t0 = tick(counter);
    const uint32_t total = ebq_tokenize_pieces(tok, a, na, ctx->arena, NULL, UINT32_MAX);
    run->tokenize_cost += tick(counter) - t0;
    for (uint32_t k = 0; k < nl; k++) logits[k] = 0.0f;
    for (uint32_t start = 0;;) {
        t0 = tick(counter);
        ebq_status s = ebq_tokenize_window(tok, a, na, start, max_len, ctx->arena,
                                           ctx->arena_bytes, ids, segs, &run->T);
        run->tokenize_cost += tick(counter) - t0;
        if (s == EBQ_OK) s = infer_timed(ctx, ids, segs, run->T, window_logits, counter, run);
        if (s != EBQ_OK) return s;
        for (uint32_t k = 0; k < nl; k++) logits[k] += window_logits[k];
        run->windows++;
        if (start + budget >= total) break;
        start += budget; /* back to back; the last window ends with the text */
        if (start + budget > total) start = total - budget;
    }
    /* one division by the count, as window_mean (not a running mean: that rounds per step) */
    for (uint32_t k = 0; k < nl; k++) logits[k] /= (float)run->windows;
    return EBQ_OK;
}

ebq_status ebq_infer_text(ebq_ctx *ctx, const ebq_tokenizer *tok, const uint8_t *a,
                          size_t na, const uint8_t *b, size_t nb, uint16_t *ids,
                          uint8_t *segs, float *logits, float *window_logits,
                          ebq_counter_fn counter, ebq_text_run *run) {
    if (!ctx || !tok || !run || !logits || (!a && na)) return EBQ_BAD_ARGUMENT;
    if (ctx->initialized != 1u || !ctx->model) return EBQ_NOT_INITIALIZED;
    memset(run, 0, sizeof *run);
    const uint8_t *text = a ? a : (const uint8_t *)"";
    if (tok->windows && !b)
        return infer_windows(ctx, tok, text, na, ids, segs, logits, window_logits, counter, run);
    /* the tokenizer borrows the arena: it is done before the inference starts */
    const uint64_t t0 = tick(counter);
    ebq_status s = ebq_tokenize(tok, text, na, b, b ? nb : 0u,
                                ebq_model_config(ctx->model)->max_len, ctx->arena,
                                ctx->arena_bytes, ids, segs, &run->T);
    run->tokenize_cost = tick(counter) - t0;
    if (s != EBQ_OK) return s;
    run->windows = 1u;
    return infer_timed(ctx, ids, segs, run->T, logits, counter, run);
}

/* Label and confidence of the logits in c->logits. */
static void report(const ebq_classifier *c, const ebq_text_run *run, ebq_result *out) {
    uint32_t best = 0;
    for (uint32_t k = 1; k < c->num_labels; k++)
        if (c->logits[k] > c->logits[best]) best = k;
    float z = 0.0f;
    for (uint32_t k = 0; k < c->num_labels; k++) z += ebq_exp(c->logits[k] - c->logits[best]);
    out->label = best;
    out->confidence = c->num_labels > 1 ? 1.0f / z : 1.0f;
    out->logits = c->logits;
    out->num_labels = c->num_labels;
    out->T = run->T;
    out->windows = run->windows;
    out->tokenize_cost = run->tokenize_cost;
    out->infer_cost = run->infer_cost;
}

ebq_status ebq_classify_text(ebq_classifier *c, const char *text, size_t n, const char *pair,
                             size_t pair_n, ebq_result *out) {
    if (!c || !out || (!text && n) || !c->ids) return EBQ_BAD_ARGUMENT;
    if (!c->tok) return EBQ_NO_TOKENIZER;
    ebq_text_run run;
    ebq_status s = ebq_infer_text(&c->ctx, c->tok, (const uint8_t *)text, n,
                                  (const uint8_t *)pair, pair_n, c->ids, c->segs, c->logits,
                                  c->window_logits, c->counter, &run);
    if (s != EBQ_OK) return s;
    report(c, &run, out);
    return EBQ_OK;
}

ebq_status ebq_classify_ids(ebq_classifier *c, const uint16_t *ids, const uint8_t *segs,
                            uint32_t T, ebq_result *out) {
    if (!c || !out || !ids || !segs || !c->ids) return EBQ_BAD_ARGUMENT;
    if (T == 0) return EBQ_EMPTY_INPUT;
    if (T > c->max_len) return EBQ_TOO_LONG;
    memcpy(c->ids, ids, 2u * T);
    memcpy(c->segs, segs, T);
    ebq_text_run run = {.T = T, .windows = 1u};
    ebq_status s = infer_timed(&c->ctx, c->ids, c->segs, T, c->logits, c->counter, &run);
    if (s != EBQ_OK) return s;
    report(c, &run, out);
    return EBQ_OK;
}

const char *ebq_label_name(const ebq_classifier *c, uint32_t k) {
    if (!c || !c->labels || k >= c->num_labels || !c->labels[k]) return "?";
    return c->labels[k];
}
