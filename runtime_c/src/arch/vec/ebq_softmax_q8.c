/* The Cortex-M version is portable C (ebq_cm.h has host twins of its intrinsics) and skips work
 * the ref does with the same bits on any CPU, so the host build reuses it instead of a copy. */
#include "../cortexm/ebq_softmax_q8.c"
