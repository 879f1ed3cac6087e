/* Frame codec: an incremental parser fed one byte at a time (no malloc, one static buffer) and
 * an in-place encoder. On any bad frame the parser reports it and rescans from the byte after
 * that frame's magic, so a valid frame hidden in garbage (or after a corrupted length) is found. */
#ifndef EBQ_FW_FRAME_H
#define EBQ_FW_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "embbert/status.h"
#include "protocol.h"

/* One parser event: a valid frame (status EBQ_OK) or a bad one (BAD_CRC, FRAME_TOO_LONG,
 * FRAME_TRUNCATED) with whatever type/seq its header claimed, for the ERROR reply. */
typedef struct {
    ebq_status status;
    uint8_t type;
    uint16_t seq;
    uint16_t len;
    const uint8_t *payload; /* valid until the next parser call */
} ebq_frame_event;

typedef struct {
    size_t have;     /* bytes in buf; buf[0] is where the next frame may start */
    size_t consumed; /* length of the frame last returned, dropped at the next call */
    uint8_t buf[EBQ_FRAME_OVERHEAD + EBQ_FRAME_MAX_PAYLOAD];
} ebq_frame_parser;

void ebq_parser_init(ebq_frame_parser *p);

/* Appends one received byte. Call ebq_parser_next() until it returns false after each push. */
void ebq_parser_push(ebq_frame_parser *p, uint8_t byte);

/* Takes the next event out of the buffered bytes; false when more input is needed. */
bool ebq_parser_next(ebq_frame_parser *p, ebq_frame_event *ev);

/* True while a frame has started (magic seen) but not completed. */
bool ebq_parser_in_frame(const ebq_frame_parser *p);

/* The line went quiet mid-frame: reports FRAME_TRUNCATED for it and rescans what came after its
 * magic (call ebq_parser_next() afterwards). False if no frame was pending. */
bool ebq_parser_timeout(ebq_frame_parser *p, ebq_frame_event *ev);

/* Writes header and CRC around a payload already placed at out + EBQ_FRAME_HEADER_BYTES;
 * returns the frame length. out must hold EBQ_FRAME_OVERHEAD + len bytes. */
size_t ebq_frame_seal(uint8_t *out, uint8_t type, uint16_t seq, uint16_t len);

#endif /* EBQ_FW_FRAME_H */
