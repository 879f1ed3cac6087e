/* Main loop. Single-threaded and blocking: one request is answered before the next byte is read,
 * so the receive side needs no buffer beyond the parser's (the link's flow control or FIFO holds
 * the rest). */
#include "loop.h"

#include "frame.h"
#include "platform.h"
#include "server.h"

static ebq_frame_parser parser;
static uint8_t reply[EBQ_REPLY_BUFFER_BYTES];

static void serve_pending(void) {
    ebq_frame_event ev;
    while (ebq_parser_next(&parser, &ev)) {
        const size_t n = ebq_server_reply(&ev, reply);
        if (n) plat_write(reply, n);
    }
}

static void flush_truncated(void) {
    ebq_frame_event ev;
    if (ebq_parser_timeout(&parser, &ev)) {
        const size_t n = ebq_server_reply(&ev, reply);
        if (n) plat_write(reply, n);
    }
}

void ebq_fw_run(void) {
    ebq_parser_init(&parser);
    ebq_server_init();
    for (;;) {
        const int c = plat_getc(ebq_parser_in_frame(&parser) ? EBQ_FW_RX_TIMEOUT_MS : PLAT_FOREVER);
        if (c == PLAT_EOF) {
            while (ebq_parser_in_frame(&parser)) { /* report the cut-off frame(s), then stop */
                flush_truncated();
                serve_pending();
            }
            return;
        }
        if (c == PLAT_TIMEOUT) {
            flush_truncated();
        } else {
            ebq_parser_push(&parser, (uint8_t)c);
        }
        serve_pending();
    }
}
