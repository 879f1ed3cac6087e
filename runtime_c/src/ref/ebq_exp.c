/* e^x for the softmax and SiLU: bit-exact with exporter/embbert/quant/numerics.py exp_f32.
 * x = n ln2 + r (two-part ln 2), e^r by a degree-6 Taylor polynomial (Horner), 2^n from bits. */
#include "embbert/numerics.h"

float ebq_exp(float x) {
    if (x < -0x1.5cp+6f) x = -0x1.5cp+6f; /* -87 */
    if (x > 0x1.6p+6f) x = 0x1.6p+6f;     /*  88 */
    if (x != x) x = 0.0f;
    const int32_t n = ebq_round_i32(x * 0x1.715476p+0f); /* [-126, 127] */
    const float nf = (float)n;
    float r = x - nf * 0x1.63p-1f;
    r = r - nf * -0x1.bd0106p-13f;
    float p = 0x1.6c16c2p-10f;
    p = 0x1.111112p-7f + r * p;
    p = 0x1.555556p-5f + r * p;
    p = 0x1.555556p-3f + r * p;
    p = 0x1p-1f + r * p;
    p = 1.0f + r * p;
    p = 1.0f + r * p;
    return p * ebq_f32_from_bits((uint32_t)(n + 127) << 23);
}
