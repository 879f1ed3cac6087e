/* Layout of the FAKE model (tests only); the real one is runtime_c's model_format.h. */
#ifndef FAKE_MODEL_FORMAT_H
#define FAKE_MODEL_FORMAT_H

#include <stdint.h>

#include "embbert/embbert.h"

#define FAKE_MAGIC 0x454B4146u /* "FAKE" */
#define FAKE_RUNTIME_FORMAT_VERSION 1u
#define FAKE_RUNTIME_QUANT_VERSION 1u

struct ebq_model {
    uint32_t magic, format_version, quant_version;
    ebq_config config;
    uint8_t sha256[32];
    uint32_t arena_bytes;
};

#endif /* FAKE_MODEL_FORMAT_H */
