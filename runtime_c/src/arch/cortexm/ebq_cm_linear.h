/* The 2 x 4 dense tiles of ebq_linear_q8.c (two weight rows x four tokens, in assembly on the
 * Cortex-M), shared with the kernels that fuse work around a linear layer: the residual sum
 * (ebq_linear_acc_q8.c) and the embedding projections (ebq_embed_row.c). */
#ifndef EBQ_ARCH_CORTEXM_CM_LINEAR_H
#define EBQ_ARCH_CORTEXM_CM_LINEAR_H

#include <stdint.h>

#include "embbert/model_format.h"

/* y[t][rows] = W xt[t] as ebq_linear_q8 computes it for four tokens (scales xs[4], outlier
 * inputs xo[4][n_outliers]), or with res y[t][rows] + that (the sum in this order); layers of
 * 128 columns in 32-column blocks with a bias, or of 16 columns in one block without. Returns
 * 0 without touching y for any other layer. */
int ebq_cm_linear4(float *restrict y, const ebq_qtensor *restrict w, const int8_t *const xt[4],
                   const float *restrict xs, const float *restrict xo, int res);

#endif /* EBQ_ARCH_CORTEXM_CM_LINEAR_H */
