/* Test driver for the C frame codec (tests/test_protocol_c.py compares it with the Python one).
 *   frame_driver parse < bytes            one line per parser event, EOF flushed as in loop.c
 *   frame_driver seal TYPE SEQ HEXPAYLOAD  the encoded frame as hex
 *   frame_driver crc HEX                   CRC-16/CCITT-FALSE of the bytes */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc16.h"
#include "frame.h"

static ebq_frame_parser parser;
static uint8_t buf[EBQ_FRAME_OVERHEAD + EBQ_FRAME_MAX_PAYLOAD];

static size_t unhex(const char *hex, uint8_t *out, size_t cap) {
    size_t n = strlen(hex) / 2;
    if (n > cap) n = cap;
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1) exit(2);
        out[i] = (uint8_t)v;
    }
    return n;
}

static void print_event(const ebq_frame_event *ev) {
    if (ev->status != EBQ_OK) {
        printf("E %d %u %u\n", (int)ev->status, ev->type, ev->seq);
        return;
    }
    printf("F %u %u ", ev->type, ev->seq);
    for (unsigned i = 0; i < ev->len; i++) printf("%02x", ev->payload[i]);
    printf("\n");
}

static void drain(void) {
    ebq_frame_event ev;
    while (ebq_parser_next(&parser, &ev)) print_event(&ev);
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "parse") == 0) {
        ebq_parser_init(&parser);
        int c;
        while ((c = getchar()) != EOF) {
            ebq_parser_push(&parser, (uint8_t)c);
            drain();
        }
        ebq_frame_event ev;
        while (ebq_parser_in_frame(&parser)) {
            if (ebq_parser_timeout(&parser, &ev)) print_event(&ev);
            drain();
        }
        return 0;
    }
    if (argc == 5 && strcmp(argv[1], "seal") == 0) {
        const size_t n = unhex(argv[4], buf + EBQ_FRAME_HEADER_BYTES, EBQ_FRAME_MAX_PAYLOAD);
        const size_t len = ebq_frame_seal(buf, (uint8_t)atoi(argv[2]), (uint16_t)atoi(argv[3]),
                                          (uint16_t)n);
        for (size_t i = 0; i < len; i++) printf("%02x", buf[i]);
        printf("\n");
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "crc") == 0) {
        const size_t n = unhex(argv[2], buf, sizeof buf);
        printf("%04x\n", ebq_crc16(buf, n));
        return 0;
    }
    fprintf(stderr, "usage: frame_driver parse | seal TYPE SEQ HEX | crc HEX\n");
    return 2;
}
