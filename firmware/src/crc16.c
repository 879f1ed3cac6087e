/* CRC-16/CCITT-FALSE, four bits at a time: a 16-entry table (32 bytes of flash) is a good trade
 * between the 512-byte full table and the bitwise loop on small MCUs. */
#include "crc16.h"

/* CRC of each nibble value n shifted in from the top: crc(n << 12) after 4 steps of poly 0x1021. */
static const uint16_t nibble_table[16] = {
    0x0000, 0x1021, 0x2042, 0x3063, 0x4084, 0x50A5, 0x60C6, 0x70E7,
    0x8108, 0x9129, 0xA14A, 0xB16B, 0xC18C, 0xD1AD, 0xE1CE, 0xF1EF,
};

uint16_t ebq_crc16_update(uint16_t crc, const uint8_t *data, size_t n) {
    for (size_t i = 0; i < n; i++) {
        crc = (uint16_t)((crc << 4) ^ nibble_table[(crc >> 12) ^ (data[i] >> 4)]);
        crc = (uint16_t)((crc << 4) ^ nibble_table[(crc >> 12) ^ (data[i] & 0x0Fu)]);
    }
    return crc;
}
