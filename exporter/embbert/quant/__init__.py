"""Quantization: the reference quantizer (the spec) and the integer-exact simulation of C.

    mq = quantize(ckpt, calib)            # calib: [(ids, segs), ...] numpy int arrays
    mq.logits(ids, segs)                  # [num_labels] float32, bit-exact with ebq_infer
    mq.logits_batch([(ids, segs), ...])   # [N, num_labels]
"""

from .quantize import (
                       DEFAULT_THRESHOLD,
                       QUANT_VERSION,
                       QLayer,
                       QTensor,
                       QuantModel,
                       fold,
                       folded_forward,
                       quantize,
                       random_calibration,
)

__all__ = ["DEFAULT_THRESHOLD", "QUANT_VERSION", "QLayer", "QTensor", "QuantModel", "fold",
           "folded_forward", "quantize", "random_calibration"]
