/* EmbBERT-Q model data format: what embbert-export generates and the runtime reads.
 *
 * docs/FORMAT.md documents every field byte by byte. The Python mirror of these structs
 * (exporter/embbert/export/layout.py) is checked against sizeof/offsetof by a test.
 * Versions: EBQ_FORMAT_VERSION changes with this layout, EBQ_QUANT_VERSION with the numerics
 * (rounding, scales, the order of float operations). Generated model data checks both at
 * compile time (_Static_assert in model_data.c) and ebq_init checks them again at run time.
 */
#ifndef EMBBERT_MODEL_FORMAT_H
#define EMBBERT_MODEL_FORMAT_H

#include <stdint.h>

#include "embbert/embbert.h"

#define EBQ_MAGIC 0x31514245u /* "EBQ1" as little-endian bytes */
#define EBQ_FORMAT_VERSION 1u
#define EBQ_QUANT_VERSION 1u
#define EBQ_BLOCK 32u         /* weight block length along the input dimension */
#define EBQ_ARENA_ALIGN 16u

/* One quantized weight tensor W[rows][cols] (PyTorch layout [out, in]) with its outlier table.
 * int8 blocks of `block` along cols (block = cols when cols < 32; the last block may be short),
 * one FP16 scale per block. Input channels listed in outlier_idx are 0 in q and live in the FP16
 * outlier table instead: outlier_w[rows][n_outliers], applied in float.
 * Depthwise conv (rows = a*d output channels, cols = k taps): outlier_idx lists *input*
 * channels and outlier_w holds the full kernels of their output channels, [n_outliers*a][k]. */
typedef struct {
    const int8_t *q;             /* [rows][cols] int8, 16-byte aligned */
    const uint16_t *scale;       /* [rows][n_blocks] FP16 bit patterns */
    const uint16_t *outlier_idx; /* [n_outliers] sorted input channels, NULL when none */
    const uint16_t *outlier_w;   /* FP16 outlier table, NULL when none */
    const float *bias;           /* [rows] float32, NULL when the layer has none */
    uint16_t rows, cols, block, n_blocks, n_outliers, reserved;
} ebq_qtensor;

/* One encoder layer. The RMSNorm gain, 1/sqrt(d) and exp(lambda) are folded into the weights:
 *   q   [d][d]    gives q' = (q * g) / sqrt(d)     out [d][d]  includes g and lam1
 *   dw  [a*d][k]  includes g                        pw  [d][a*d] includes -lam2
 * hn (the normalized input) is int8 with the static scale h_scale (h_inv = its inverse);
 * its outlier channels are q.outlier_idx (== out/dw outlier_idx). */
typedef struct {
    ebq_qtensor q, out, dw, pw;
    float h_scale, h_inv;
} ebq_layer;

struct ebq_model {
    uint32_t magic;          /* EBQ_MAGIC */
    uint32_t format_version; /* EBQ_FORMAT_VERSION */
    uint32_t quant_version;  /* EBQ_QUANT_VERSION */
    uint32_t block;          /* EBQ_BLOCK */
    ebq_config config;       /* max_len = the exported max_len */
    uint8_t sha256[32];      /* of the checkpoint file */
    uint32_t arena_bytes;    /* arena planned at config.max_len (== EBQ_ARENA_BYTES) */
    uint32_t max_outliers;   /* largest outlier set of any activation */
    uint32_t max_h_outliers; /* largest hn outlier set (row stride of the FP16 side buffers) */
    float rms_eps;
    const int8_t *tok_q;      /* [vocab_size][reduced_dim] */
    const uint16_t *tok_scale; /* [vocab_size] FP16, one per row */
    const int8_t *pos_q;      /* [max_len][reduced_dim] */
    const uint16_t *pos_scale; /* [max_len] FP16 */
    ebq_qtensor tok_proj;     /* [d][rd], no bias */
    ebq_qtensor pos_proj;     /* [d][rd], no bias */
    const float *seg;         /* [3][d] float32 */
    const ebq_layer *layers;  /* [n_layers] */
    ebq_qtensor classifier;   /* [num_labels][d]; outliers of the final [CLS] row */
};

#endif /* EMBBERT_MODEL_FORMAT_H */
