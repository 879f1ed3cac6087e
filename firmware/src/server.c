/* Request handling for PING, INFO, INFER and INFER_TEXT (payload layouts in protocol.h). Every request is
 * validated here before the runtime sees it, so a malformed or out-of-range request gets a named
 * ERROR frame and never touches the arena. */
#include "server.h"

#include <string.h>

#include "embbert/embbert.h"
#include "model_data.h"
#include "platform.h"
#include "protocol.h"
#include "wire.h"

#if !defined(EBQ_ARENA_BYTES) || !defined(EBQ_BOARD_NAME) || !defined(EBQ_CLOCK_HZ)
#error "model_data.h must define EBQ_ARENA_BYTES, EBQ_BOARD_NAME and EBQ_CLOCK_HZ (embbert-export)"
#endif
#if defined(EBQ_MAX_LEN) && EBQ_MAX_LEN > EBQ_FW_MAX_T
#error "the model's max_len does not fit an INFER frame: build with -DEBQ_FW_MAX_T=<max_len>"
#endif
#ifndef EBQ_ARENA_ATTR /* placement attribute from the board file, e.g. PSRAM on ESP32-S3 */
#define EBQ_ARENA_ATTR
#endif

static EBQ_ARENA_ATTR _Alignas(16) uint8_t arena[EBQ_ARENA_BYTES];
static ebq_ctx ctx;
static ebq_status init_status = EBQ_NOT_INITIALIZED;
static uint16_t ids[EBQ_FW_MAX_T]; /* aligned copy: ids sit at an odd payload offset */
static float logits[EBQ_FW_MAX_LABELS];
static const char board_name[] = EBQ_BOARD_NAME;

#if defined(EBQ_HAS_TOKENIZER) && EBQ_HAS_TOKENIZER
#define HAS_TOKENIZER 1
static uint8_t text_segs[EBQ_FW_MAX_T];
static float window_logits[EBQ_FW_MAX_LABELS]; /* one window's, while logits sums them */
/* The tokenizer borrows the arena: it is done before ebq_infer starts. */
_Static_assert(EBQ_ARENA_BYTES >= EBQ_TOK_WORK_BYTES, "arena smaller than the tokenizer needs");
#else
#define HAS_TOKENIZER 0
#endif

void ebq_server_init(void) {
    init_status = ebq_init(&ctx, &ebq_model_data, arena, sizeof arena);
    if (init_status == EBQ_OK) {
        const ebq_config *cfg = ebq_model_config(&ebq_model_data);
        if (cfg == NULL || cfg->num_labels == 0 || cfg->num_labels > EBQ_FW_MAX_LABELS ||
            cfg->max_len == 0) {
            init_status = EBQ_BAD_CONFIG;
        }
    }
}

static size_t error_reply(uint8_t *out, ebq_status status, uint8_t type, uint16_t seq) {
    uint8_t *pl = out + EBQ_FRAME_HEADER_BYTES;
    pl[0] = (uint8_t)status;
    pl[1] = type;
    return ebq_frame_seal(out, EBQ_TYPE_ERROR, seq, 2);
}

static size_t info_reply(const ebq_frame_event *ev, uint8_t *out) {
    uint8_t *pl = out + EBQ_FRAME_HEADER_BYTES;
    memset(pl, 0, EBQ_INFO_BOARD + EBQ_INFO_MAX_BOARD);
    ebq_wr16(pl + EBQ_INFO_PROTOCOL, EBQ_PROTOCOL_VERSION);
    ebq_wr16(pl + EBQ_INFO_MAX_PAYLOAD, EBQ_FRAME_MAX_PAYLOAD);
    ebq_wr32(pl + EBQ_INFO_FORMAT, ebq_model_format_version(&ebq_model_data));
    ebq_wr32(pl + EBQ_INFO_QUANT, ebq_model_quant_version(&ebq_model_data));
    const uint8_t *sha = ebq_model_sha256(&ebq_model_data);
    if (sha != NULL) memcpy(pl + EBQ_INFO_SHA256, sha, 32);
    const ebq_config *cfg = ebq_model_config(&ebq_model_data);
    if (cfg != NULL) {
        const uint32_t fields[8] = {cfg->vocab_size, cfg->max_len,   cfg->d_model,
                                    cfg->reduced_dim, cfg->n_layers, cfg->conv_kernel,
                                    cfg->expansion,  cfg->num_labels};
        for (unsigned i = 0; i < 8; i++) ebq_wr32(pl + EBQ_INFO_CONFIG + 4 * i, fields[i]);
    }
    ebq_wr32(pl + EBQ_INFO_ARENA, (uint32_t)sizeof arena);
    const uint32_t clock = plat_clock_hz();
    ebq_wr32(pl + EBQ_INFO_CLOCK, clock ? clock : (uint32_t)(EBQ_CLOCK_HZ));
    pl[EBQ_INFO_COUNTER] = plat_counter_kind;
    pl[EBQ_INFO_INIT_STATUS] = (uint8_t)init_status;
    size_t n = sizeof board_name - 1;
    if (n > EBQ_INFO_MAX_BOARD) n = EBQ_INFO_MAX_BOARD;
    pl[EBQ_INFO_BOARD_LEN] = (uint8_t)n;
    memcpy(pl + EBQ_INFO_BOARD, board_name, n);
#if HAS_TOKENIZER
    pl[EBQ_INFO_BOARD + n] =
        EBQ_FEATURE_TOKENIZER | (ebq_tokenizer_data.windows ? EBQ_FEATURE_WINDOWS : 0u);
#else
    pl[EBQ_INFO_BOARD + n] = 0u;
#endif
    return ebq_frame_seal(out, EBQ_TYPE_INFO_RESP, ev->seq, (uint16_t)(EBQ_INFO_BOARD + n + 1));
}

/* Checks an INFER payload against the model; fills ids on success. */
static ebq_status check_infer(const ebq_frame_event *ev, uint32_t *T_out) {
    if (ev->len < 2) return EBQ_BAD_PAYLOAD;
    const uint32_t T = ebq_rd16(ev->payload);
    if (ev->len != 2 + 3 * T) return EBQ_BAD_PAYLOAD; /* also bounds T by the frame buffer */
    if (T == 0) return EBQ_EMPTY_INPUT;
    const ebq_config *cfg = ebq_model_config(&ebq_model_data);
    if (T > cfg->max_len) return EBQ_TOO_LONG;
    const uint8_t *segs = ev->payload + 2 + 2 * T;
    for (uint32_t i = 0; i < T; i++) {
        ids[i] = ebq_rd16(ev->payload + 2 + 2 * i);
        if (ids[i] >= cfg->vocab_size) return EBQ_TOKEN_OUT_OF_RANGE;
        if (segs[i] > 2) return EBQ_SEGMENT_OUT_OF_RANGE;
    }
    *T_out = T;
    return EBQ_OK;
}

static size_t infer_reply(const ebq_frame_event *ev, uint8_t *out) {
    if (init_status != EBQ_OK) return error_reply(out, init_status, ev->type, ev->seq);
    uint32_t T = 0;
    ebq_status st = check_infer(ev, &T);
    if (st != EBQ_OK) return error_reply(out, st, ev->type, ev->seq);
    const uint8_t *segs = ev->payload + 2 + 2 * T;

    const uint64_t start = plat_counter_now();
    st = ebq_infer(&ctx, ids, segs, T, logits);
    const uint64_t count = plat_counter_now() - start;
    if (st != EBQ_OK) return error_reply(out, st, ev->type, ev->seq);

    /* The request payload lives in the parser's buffer, not in out: safe to overwrite out. */
    const uint32_t n = ebq_model_config(&ebq_model_data)->num_labels;
    uint8_t *pl = out + EBQ_FRAME_HEADER_BYTES;
    pl[0] = (uint8_t)EBQ_OK;
    pl[1] = (uint8_t)n;
    ebq_wr16(pl + 2, (uint16_t)T);
    ebq_wr64(pl + 4, count);
    for (uint32_t k = 0; k < n; k++) ebq_wrf32(pl + EBQ_INFER_RESP_FIXED + 4 * k, logits[k]);
    return ebq_frame_seal(out, EBQ_TYPE_INFER_RESP, ev->seq,
                          (uint16_t)(EBQ_INFER_RESP_FIXED + 4 * n));
}

#if HAS_TOKENIZER
/* INFER_TEXT: tokenize on the device, then infer; both counts and the ids go back. */
static size_t infer_text_reply(const ebq_frame_event *ev, uint8_t *out) {
    if (init_status != EBQ_OK) return error_reply(out, init_status, ev->type, ev->seq);
    const uint8_t *p = ev->payload;
    if (ev->len < 3 || (p[0] & ~EBQ_TEXT_FLAG_PAIR) != 0)
        return error_reply(out, EBQ_BAD_PAYLOAD, ev->type, ev->seq);
    const int pair = (p[0] & EBQ_TEXT_FLAG_PAIR) != 0;
    const uint32_t na = ebq_rd16(p + 1);
    const uint8_t *b = NULL;
    uint32_t nb = 0;
    if (pair) {
        if (ev->len < 5u + na) return error_reply(out, EBQ_BAD_PAYLOAD, ev->type, ev->seq);
        nb = ebq_rd16(p + 3 + na);
        b = p + 5 + na;
        if (ev->len != 5u + na + nb) return error_reply(out, EBQ_BAD_PAYLOAD, ev->type, ev->seq);
    } else if (ev->len != 3u + na) {
        return error_reply(out, EBQ_BAD_PAYLOAD, ev->type, ev->seq);
    }
    const ebq_config *cfg = ebq_model_config(&ebq_model_data);
    /* the reply carries the ids: a max_len it cannot hold is refused, never cut short */
    const uint32_t room =
        (EBQ_FRAME_MAX_PAYLOAD - EBQ_INFER_TEXT_RESP_FIXED - 2u - 4u * cfg->num_labels) / 3u;
    if (cfg->max_len > room) return error_reply(out, EBQ_TOO_LONG, ev->type, ev->seq);
    /* tokenize + infer, once or per window of a long text (the tokenizer's windows flag) */
    ebq_text_run run;
    ebq_status st = ebq_infer_text(&ctx, &ebq_tokenizer_data, p + 3, na, b, nb, ids, text_segs,
                                   logits, window_logits, plat_counter_now, &run);
    if (st != EBQ_OK) return error_reply(out, st, ev->type, ev->seq);

    const uint32_t n = cfg->num_labels, T = run.T;
    uint8_t *pl = out + EBQ_FRAME_HEADER_BYTES;
    pl[0] = (uint8_t)EBQ_OK;
    pl[1] = (uint8_t)n;
    ebq_wr16(pl + 2, (uint16_t)T);
    ebq_wr64(pl + 4, run.tokenize_cost);
    ebq_wr64(pl + 12, run.infer_cost);
    uint8_t *q = pl + EBQ_INFER_TEXT_RESP_FIXED;
    for (uint32_t k = 0; k < n; k++, q += 4) ebq_wrf32(q, logits[k]);
    for (uint32_t i = 0; i < T; i++, q += 2) ebq_wr16(q, ids[i]);
    memcpy(q, text_segs, T);
    q += T;
    /* a text of more than 65535 windows does not fit a frame */
    ebq_wr16(q, (uint16_t)run.windows);
    q += 2;
    return ebq_frame_seal(out, EBQ_TYPE_INFER_TEXT_RESP, ev->seq, (uint16_t)(q - pl));
}
#endif

size_t ebq_server_reply(const ebq_frame_event *ev, uint8_t *out) {
    if (ev->status != EBQ_OK) return error_reply(out, ev->status, ev->type, ev->seq);
    if (ev->type & EBQ_TYPE_RESPONSE) return 0; /* never answer a reply: no echo ping-pong */
    switch (ev->type) {
    case EBQ_TYPE_PING:
        memcpy(out + EBQ_FRAME_HEADER_BYTES, ev->payload, ev->len);
        return ebq_frame_seal(out, EBQ_TYPE_PONG, ev->seq, ev->len);
    case EBQ_TYPE_INFO:
        if (ev->len != 0) return error_reply(out, EBQ_BAD_PAYLOAD, ev->type, ev->seq);
        return info_reply(ev, out);
    case EBQ_TYPE_INFER:
        return infer_reply(ev, out);
    case EBQ_TYPE_INFER_TEXT:
#if HAS_TOKENIZER
        return infer_text_reply(ev, out);
#else
        return error_reply(out, EBQ_NO_TOKENIZER, ev->type, ev->seq);
#endif
    default:
        return error_reply(out, EBQ_UNKNOWN_TYPE, ev->type, ev->seq);
    }
}
