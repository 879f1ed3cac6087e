/* Frame parser and encoder (format in protocol.h / docs/PROTOCOL.md).
 *
 * The parser keeps the candidate frame at the start of its buffer. It never holds more than one
 * frame's worth of bytes: next() returns as soon as the candidate is complete or rejected, and a
 * rejected candidate drops only its first byte, so every later byte gets rescanned for a magic. */
#include "frame.h"

#include <string.h>

#include "crc16.h"
#include "wire.h"

void ebq_parser_init(ebq_frame_parser *p) {
    p->have = 0;
    p->consumed = 0;
}

static void drop(ebq_frame_parser *p, size_t n) {
    if (n >= p->have) {
        p->have = 0;
        return;
    }
    memmove(p->buf, p->buf + n, p->have - n);
    p->have -= n;
}

/* The frame returned last stays readable until the caller comes back. */
static void release_frame(ebq_frame_parser *p) {
    if (p->consumed) {
        drop(p, p->consumed);
        p->consumed = 0;
    }
}

void ebq_parser_push(ebq_frame_parser *p, uint8_t byte) {
    release_frame(p);
    if (p->have == sizeof p->buf) {
        /* Only if the caller skipped next(): a candidate never outgrows the buffer otherwise. */
        drop(p, 1);
    }
    p->buf[p->have++] = byte;
}

static void bad_frame(ebq_frame_parser *p, ebq_frame_event *ev, ebq_status status) {
    ev->status = status;
    ev->type = p->have > 2 ? p->buf[2] : 0;
    ev->seq = p->have > 4 ? ebq_rd16(p->buf + 3) : 0;
    ev->len = 0;
    ev->payload = NULL;
    drop(p, 1); /* rescan from the byte after this candidate's first magic byte */
}

bool ebq_parser_next(ebq_frame_parser *p, ebq_frame_event *ev) {
    release_frame(p);
    for (;;) {
        if (p->have == 0) return false;
        if (p->buf[0] != EBQ_MAGIC0) {
            const uint8_t *m = memchr(p->buf + 1, EBQ_MAGIC0, p->have - 1);
            drop(p, m ? (size_t)(m - p->buf) : p->have);
            continue;
        }
        if (p->have < 2) return false;
        if (p->buf[1] != EBQ_MAGIC1) {
            drop(p, 1);
            continue;
        }
        if (p->have < EBQ_FRAME_HEADER_BYTES) return false;
        const uint16_t len = ebq_rd16(p->buf + 5);
        if (len > EBQ_FRAME_MAX_PAYLOAD) {
            bad_frame(p, ev, EBQ_FRAME_TOO_LONG);
            return true;
        }
        const size_t total = EBQ_FRAME_OVERHEAD + (size_t)len;
        if (p->have < total) return false;
        const uint16_t crc = ebq_crc16(p->buf + 2, EBQ_FRAME_HEADER_BYTES - 2 + (size_t)len);
        if (crc != ebq_rd16(p->buf + EBQ_FRAME_HEADER_BYTES + len)) {
            bad_frame(p, ev, EBQ_BAD_CRC);
            return true;
        }
        ev->status = EBQ_OK;
        ev->type = p->buf[2];
        ev->seq = ebq_rd16(p->buf + 3);
        ev->len = len;
        ev->payload = p->buf + EBQ_FRAME_HEADER_BYTES;
        p->consumed = total;
        return true;
    }
}

bool ebq_parser_in_frame(const ebq_frame_parser *p) {
    /* After next() returned false, buffered bytes are always a frame prefix. */
    return p->have - p->consumed >= 2;
}

bool ebq_parser_timeout(ebq_frame_parser *p, ebq_frame_event *ev) {
    release_frame(p);
    if (p->have < 2) {
        p->have = 0; /* a lone first magic byte is noise, not a frame */
        return false;
    }
    bad_frame(p, ev, EBQ_FRAME_TRUNCATED);
    return true;
}

size_t ebq_frame_seal(uint8_t *out, uint8_t type, uint16_t seq, uint16_t len) {
    out[0] = EBQ_MAGIC0;
    out[1] = EBQ_MAGIC1;
    out[2] = type;
    ebq_wr16(out + 3, seq);
    ebq_wr16(out + 5, len);
    const uint16_t crc = ebq_crc16(out + 2, EBQ_FRAME_HEADER_BYTES - 2 + (size_t)len);
    ebq_wr16(out + EBQ_FRAME_HEADER_BYTES + len, crc);
    return EBQ_FRAME_OVERHEAD + (size_t)len;
}
