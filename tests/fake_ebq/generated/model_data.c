/* FAKE model data (tests only). -DFAKE_MODEL_FORMAT_VERSION=n simulates a format mismatch. */
#include "model_data.h"

#include "fake_model_format.h"

#ifndef FAKE_MODEL_FORMAT_VERSION
#define FAKE_MODEL_FORMAT_VERSION 1u
#endif
#ifndef FAKE_NUM_LABELS
#define FAKE_NUM_LABELS 2u
#endif

const ebq_model ebq_model_data = {
    .magic = FAKE_MAGIC,
    .format_version = FAKE_MODEL_FORMAT_VERSION,
    .quant_version = 1u,
    .config = {.vocab_size = 8192u, .max_len = 128u, .d_model = 128u, .reduced_dim = 16u,
               .n_layers = 4u, .conv_kernel = 32u, .expansion = 1u, .num_labels = FAKE_NUM_LABELS},
    .sha256 = {0x01, 0x08, 0x0f, 0x16, 0x1d, 0x24, 0x2b, 0x32, 0x39, 0x40, 0x47,
               0x4e, 0x55, 0x5c, 0x63, 0x6a, 0x71, 0x78, 0x7f, 0x86, 0x8d, 0x94,
               0x9b, 0xa2, 0xa9, 0xb0, 0xb7, 0xbe, 0xc5, 0xcc, 0xd3, 0xda},
    .arena_bytes = 4096u,
};
