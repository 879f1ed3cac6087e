/* CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, xorout 0; check("123456789") =
 * 0x29B1), the frame checksum of the serial protocol (docs/PROTOCOL.md). */
#ifndef EBQ_FW_CRC16_H
#define EBQ_FW_CRC16_H

#include <stddef.h>
#include <stdint.h>

#define EBQ_CRC16_INIT 0xFFFFu

/* Continues a CRC over n more bytes; start with EBQ_CRC16_INIT. */
uint16_t ebq_crc16_update(uint16_t crc, const uint8_t *data, size_t n);

static inline uint16_t ebq_crc16(const uint8_t *data, size_t n) {
    return ebq_crc16_update(EBQ_CRC16_INIT, data, n);
}

#endif /* EBQ_FW_CRC16_H */
