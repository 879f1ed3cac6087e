/* UART line classifier: read a line of UTF-8 text, classify it on the device (tokenizer and
 * model both on the chip), print the label, its confidence and the milliseconds it took.
 *
 * Everything model-specific comes from `embbert-export model.pt --board <board> --out generated`
 * (model_data.h/.c: weights, tokenizer tables, label names); the runtime is the embbert-runtime
 * library (lib_deps). The four plat_* calls are the board glue (here the QEMU mps2 one from
 * lib_deps; on your board: your UART driver and cycle counter).
 */
#include <stdint.h>
#include <string.h>

#include "embbert/embbert.h"
#include "model_data.h"
#include "platform.h"

#define LINE_MAX_BYTES 1024u

static uint8_t work[EBQ_CLASSIFIER_WORK_BYTES] EBQ_ARENA_ATTR;
static char line[LINE_MAX_BYTES];

static void put(const char *s) { plat_write((const uint8_t *)s, strlen(s)); }

static void put_u(uint64_t v) {
    char buf[24];
    size_t i = sizeof buf;
    buf[--i] = '\0';
    do {
        buf[--i] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    put(buf + i);
}

/* v / 10 with one decimal, e.g. 973 -> "97.3" */
static void put_tenths(uint64_t v) {
    put_u(v / 10u);
    put(".");
    put_u(v % 10u);
}

/* counter ticks -> tenths of a millisecond at the board clock (1 instruction per cycle on QEMU) */
static uint64_t tenths_ms(uint64_t ticks) { return ticks * 10000u / EBQ_CLOCK_HZ; }

int main(void) {
    plat_init();
    ebq_classifier clf;
    ebq_status s = ebq_classifier_init(&clf, &ebq_model_data, EBQ_TOKENIZER, ebq_model_labels,
                                       work, sizeof work, plat_counter_now);
    if (s != EBQ_OK) {
        put("init failed: ");
        put(ebq_status_name(s));
        put("\r\n");
        for (;;) {
        }
    }
    put("EmbBERT-Q on " EBQ_BOARD_NAME ": type a sentence\r\n");
    for (;;) {
        size_t n = 0;
        int too_long = 0;
        for (;;) { /* one line; \r is ignored, \n ends it */
            const int c = plat_getc(PLAT_FOREVER);
            if (c == PLAT_EOF) return 0;
            if (c < 0 || c == '\r') continue;
            if (c == '\n') break;
            if (n < LINE_MAX_BYTES) line[n++] = (char)c; else too_long = 1;
        }
        if (too_long) {
            put("error: line longer than 1024 bytes\r\n");
            continue;
        }
        ebq_result r;
        s = ebq_classify_text(&clf, line, n, NULL, 0, &r);
        if (s != EBQ_OK) {
            put("error: ");
            put(ebq_status_name(s));
            put("\r\n");
            continue;
        }
        put(ebq_label_name(&clf, r.label));
        put(" ");
        put_tenths((uint64_t)(r.confidence * 1000.0f + 0.5f));
        put("% ");
        put_tenths(tenths_ms(r.tokenize_cost + r.infer_cost));
        put(" ms (");
        put_u(r.T);
        put(" tokens, tokenizing ");
        put_tenths(tenths_ms(r.tokenize_cost));
        put(" ms)\r\n");
    }
}
