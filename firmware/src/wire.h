/* Little-endian field access for the protocol: byte-wise, so it is alignment- and
 * endianness-independent (payload fields sit at odd offsets). */
#ifndef EBQ_FW_WIRE_H
#define EBQ_FW_WIRE_H

#include <stdint.h>
#include <string.h>

static inline uint16_t ebq_rd16(const uint8_t *p) {
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline void ebq_wr16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void ebq_wr32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static inline void ebq_wr64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* IEEE-754 binary32 as its bit pattern, so logits cross the wire bit-exactly. */
static inline void ebq_wrf32(uint8_t *p, float f) {
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    ebq_wr32(p, bits);
}

#endif /* EBQ_FW_WIRE_H */
