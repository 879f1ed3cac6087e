/* EmbBERT-Q C runtime: public API.
 *
 * The exporter generates the model data (model_data.h/.c) as one `ebq_model` in flash; the caller
 * owns one 16-byte aligned arena of at least EBQ_ARENA_BYTES (from the generated header) and the
 * runtime never allocates. Inference runs at the real sequence length T (1..max_len).
 *
 * Text in, label out (the application API, at the end of this header). A complete program, as
 * in examples/uart_classifier: `embbert-export model.pt --board <board>` writes model_data.h/.c
 * (with the tokenizer tables and the label names); this reads lines and prints labels.
 *
 *     #include <stdio.h>
 *     #include <string.h>
 *     #include "embbert/embbert.h"
 *     #include "model_data.h"
 *
 *     static uint8_t work[EBQ_CLASSIFIER_WORK_BYTES] EBQ_ARENA_ATTR;   // the only RAM it needs
 *
 *     int main(void) {
 *         ebq_classifier clf;
 *         ebq_status s = ebq_classifier_init(&clf, &ebq_model_data, EBQ_TOKENIZER,
 *                                            ebq_model_labels, work, sizeof work, NULL);
 *         if (s != EBQ_OK) { printf("init: %s\n", ebq_status_name(s)); return 1; }
 *         char line[512];
 *         while (fgets(line, sizeof line, stdin)) {
 *             ebq_result r;
 *             s = ebq_classify_text(&clf, line, strlen(line), NULL, 0, &r);
 *             if (s == EBQ_OK) printf("%s %.3f\n", ebq_label_name(&clf, r.label), r.confidence);
 *             else printf("error %s\n", ebq_status_name(s));
 *         }
 *         return 0;
 *     }
 *
 * Pass a counter function (e.g. the cycle counter) instead of NULL to get the cost of each call
 * in ebq_result; EBQ_TOKENIZER is NULL when the board was exported without the tokenizer, and
 * then only ebq_classify_ids works (NO_TOKENIZER from ebq_classify_text).
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

/* ---------------------------------------------------------- application API: text -> label */

struct ebq_tokenizer_s;
typedef uint64_t (*ebq_counter_fn)(void); /* any monotonic counter: cycles, ticks, ns */

/* Bytes of the one work buffer ebq_classifier_init takes: the arena, then the logits (and
 * those of one window), ids and segments of the last call (model_data.h:
 * EBQ_CLASSIFIER_WORK_BYTES). */
#define EBQ_ALIGN16_(n) ((((size_t)(n)) + 15u) & ~(size_t)15u)
#define EBQ_CLASSIFIER_BYTES(arena_bytes, max_len, num_labels)                                 \
    (EBQ_ALIGN16_(arena_bytes) + EBQ_ALIGN16_(8u * (num_labels)) +                            \
     EBQ_ALIGN16_(2u * (max_len)) + EBQ_ALIGN16_(max_len) + 16u)

typedef struct {
    uint32_t label;          /* argmax of the logits */
    float confidence;        /* softmax probability of that label (1 for a single output) */
    const float *logits;     /* num_labels values, valid until the next call */
    uint32_t num_labels;
    uint32_t T;              /* tokens the model saw ([CLS] .. [SEP]); of the last window */
    uint32_t windows;        /* inferences run: 1, or the windows of a long text */
    uint64_t tokenize_cost;  /* counter ticks of tokenizing (0 without a counter / for ids) */
    uint64_t infer_cost;     /* counter ticks of the inference(s) */
} ebq_result;

/* State; fields are private. */
typedef struct {
    ebq_ctx ctx;
    const struct ebq_tokenizer_s *tok;
    const char *const *labels;
    float *logits;
    float *window_logits;
    uint16_t *ids;
    uint8_t *segs;
    uint32_t max_len, num_labels;
    ebq_counter_fn counter;
} ebq_classifier;

/* Binds model, tokenizer (NULL: ids only), label names (NULL: none) and the work buffer of
 * EBQ_CLASSIFIER_WORK_BYTES; counter may be NULL. */
ebq_status ebq_classifier_init(ebq_classifier *c, const ebq_model *model,
                               const struct ebq_tokenizer_s *tok, const char *const *labels,
                               void *work, size_t work_bytes, ebq_counter_fn counter);

/* UTF-8 text (and an optional second text for pair tasks; pair == NULL for one text) ->
 * label, as the Python TextEncoder + model would give: truncated to max_len (longest first
 * for pairs), or, when the model was finetuned with windows (ebq_tokenizer.windows), a single
 * text by the mean logits of its windows (ebq_infer_text). */
ebq_status ebq_classify_text(ebq_classifier *c, const char *text, size_t n, const char *pair,
                             size_t pair_n, ebq_result *out);

/* What ebq_infer_text did. */
typedef struct {
    uint32_t T;              /* tokens in ids/segs: those of the last window */
    uint32_t windows;        /* inferences run (1 unless a windowed model got a long text) */
    uint64_t tokenize_cost;  /* counter ticks, summed over the windows */
    uint64_t infer_cost;
} ebq_text_run;

/* The layer under ebq_classify_text, for callers that own their buffers (the firmware):
 * a[na] (and b[nb] when b != NULL: a pair) -> logits[num_labels]. ids and segs hold max_len
 * entries; the tokenizer borrows ctx's arena between inferences. A single text on a windowed
 * model (tok->windows): one inference per window of max_len-2 pieces, back to back, the last
 * one aligned to the end (Python window_starts), each into window_logits[num_labels]; logits =
 * their float32 sum in window order divided once by the count, so it equals Python's
 * window_mean bit for bit. Else (a pair, or no windows): one inference of the truncated text
 * (window_logits unused, may be NULL). counter may be NULL. Errors: those of ebq_tokenize and
 * ebq_infer; BAD_ARGUMENT for a windowed text without window_logits. */
ebq_status ebq_infer_text(ebq_ctx *ctx, const struct ebq_tokenizer_s *tok, const uint8_t *a,
                          size_t na, const uint8_t *b, size_t nb, uint16_t *ids,
                          uint8_t *segs, float *logits, float *window_logits,
                          ebq_counter_fn counter, ebq_text_run *run);

/* Token ids and segments (as from TextEncoder) -> label. */
ebq_status ebq_classify_ids(ebq_classifier *c, const uint16_t *ids, const uint8_t *segs,
                            uint32_t T, ebq_result *out);

/* Name of label k ("label" names from the checkpoint), or "?" when unknown. */
const char *ebq_label_name(const ebq_classifier *c, uint32_t k);

#ifdef __cplusplus
}
#endif

#endif /* EMBBERT_EMBBERT_H */
