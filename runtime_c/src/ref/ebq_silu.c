/* SiLU in float with the bit-exact ebq_exp. */
#include "embbert/kernels.h"
#include "embbert/numerics.h"

/* v[n] <- v / (1 + exp(-v)) */
void ebq_silu_inplace(float *v, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) v[i] = v[i] / (1.0f + ebq_exp(-v[i]));
}
