/* e^x for the softmax and SiLU: bit-exact with exporter/embbert/quant/numerics.py exp_f32.
 * x = n ln2 + r (two-part ln 2), e^r by a degree-6 Taylor polynomial (Horner), 2^n from bits. */
#include "embbert/numerics.h"

float ebq_exp(float x) {
    if (x < -0x1.5cp+6f) x = -0x1.5cp+6f; /* -87 */
    if (x > 0x1.6p+6f) x = 0x1.6p+6f;     /*  88 */
    if (x != x) x = 0.0f;
    return ebq_exp_core(x, ebq_round_i32(x * 0x1.715476p+0f)); /* n in [-126, 127] */
}
