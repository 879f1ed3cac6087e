/* Wire constants of the EmbBERT-Q serial protocol, version 3 (docs/PROTOCOL.md).
 * Mirrored in exporter/embbert/protocol.py; tests/test_protocol_c.py checks the two agree. */
#ifndef EBQ_FW_PROTOCOL_H
#define EBQ_FW_PROTOCOL_H

#define EBQ_PROTOCOL_VERSION 3u

/* Frame: magic(2) type(1) seq(u16) len(u16) payload[len] crc16(u16), little-endian;
 * the CRC covers type..payload (everything but the magic and itself). */
#define EBQ_MAGIC0 0xEBu
#define EBQ_MAGIC1 0x51u
#define EBQ_FRAME_HEADER_BYTES 7u
#define EBQ_FRAME_CRC_BYTES 2u
#define EBQ_FRAME_OVERHEAD (EBQ_FRAME_HEADER_BYTES + EBQ_FRAME_CRC_BYTES)

/* Longest sequence a frame can carry; the model's max_len is checked separately (TOO_LONG).
 * Sized for INFER (2 + 3 T bytes); override with -DEBQ_FW_MAX_T=... for bigger models. */
#ifndef EBQ_FW_MAX_T
#define EBQ_FW_MAX_T 512u
#endif
#define EBQ_FRAME_MAX_PAYLOAD (2u + 3u * (EBQ_FW_MAX_T))

/* Most logits an INFER response carries (num_labels above this fails init with BAD_CONFIG). */
#define EBQ_FW_MAX_LABELS 64u

/* Requests; a response has the request's type | 0x80 and echoes its seq. */
#define EBQ_TYPE_PING 0x01u  /* payload: anything; answered by PONG with the same bytes */
#define EBQ_TYPE_INFO 0x02u  /* payload: empty */
#define EBQ_TYPE_INFER 0x03u /* payload: T u16, ids u16[T], segs u8[T] */
/* payload: flags u8 (bit 0: a pair), na u16, a[na] UTF-8, then for a pair nb u16, b[nb] */
#define EBQ_TYPE_INFER_TEXT 0x04u
#define EBQ_TYPE_RESPONSE 0x80u
#define EBQ_TYPE_PONG (EBQ_TYPE_PING | EBQ_TYPE_RESPONSE)
#define EBQ_TYPE_INFO_RESP (EBQ_TYPE_INFO | EBQ_TYPE_RESPONSE)
#define EBQ_TYPE_INFER_RESP (EBQ_TYPE_INFER | EBQ_TYPE_RESPONSE)
#define EBQ_TYPE_INFER_TEXT_RESP (EBQ_TYPE_INFER_TEXT | EBQ_TYPE_RESPONSE)
/* payload: status u8 (ebq_status), type u8 of the offending frame; seq echoes the offender's. */
#define EBQ_TYPE_ERROR 0xFFu

/* INFO response payload (offsets in bytes). */
#define EBQ_INFO_PROTOCOL 0u     /* u16 EBQ_PROTOCOL_VERSION */
#define EBQ_INFO_MAX_PAYLOAD 2u  /* u16 EBQ_FRAME_MAX_PAYLOAD */
#define EBQ_INFO_FORMAT 4u       /* u32 model format version */
#define EBQ_INFO_QUANT 8u        /* u32 quantization version */
#define EBQ_INFO_SHA256 12u      /* u8[32] sha256 of the exported checkpoint */
#define EBQ_INFO_CONFIG 44u      /* u32[8] ebq_config, in declaration order */
#define EBQ_INFO_ARENA 76u       /* u32 arena bytes (static arena of this build) */
#define EBQ_INFO_CLOCK 80u       /* u32 board clock in Hz (0 = unknown) */
#define EBQ_INFO_COUNTER 84u     /* u8 ebq_counter_kind of the INFER count */
#define EBQ_INFO_INIT_STATUS 85u /* u8 ebq_status of ebq_init (INFER fails with it if not OK) */
#define EBQ_INFO_BOARD_LEN 86u   /* u8 n, then n bytes of board name (no NUL) */
#define EBQ_INFO_BOARD 87u
#define EBQ_INFO_MAX_BOARD 32u
/* After the board name (v2): u8 feature bits. */
#define EBQ_FEATURE_TOKENIZER 0x01u /* INFER_TEXT works: the build has the tokenizer tables */
#define EBQ_FEATURE_WINDOWS 0x02u   /* (v3) INFER_TEXT of a long single text: mean of windows */

/* INFER response payload: status u8 (EBQ_OK; failures come as ERROR frames), n_labels u8,
 * T u16, count u64, logits f32[n_labels]. */
#define EBQ_INFER_RESP_FIXED 12u

/* INFER_TEXT response payload: status u8, n_labels u8, T u16, tokenize count u64, infer count
 * u64, logits f32[n_labels], ids u16[T], segs u8[T], windows u16 (v3; ids and segs are the last
 * window's, counts summed over the windows). */
#define EBQ_INFER_TEXT_RESP_FIXED 20u
#define EBQ_TEXT_FLAG_PAIR 0x01u

/* What the INFER count measures. */
#define EBQ_COUNTER_NONE 0u
#define EBQ_COUNTER_INSTRUCTIONS 1u /* QEMU -icount: instructions retired */
#define EBQ_COUNTER_CYCLES 2u       /* real boards: CPU cycles */
#define EBQ_COUNTER_NANOSECONDS 3u  /* host: wall time */

#endif /* EBQ_FW_PROTOCOL_H */
