"""The format constants of the generated C data, in one place: the Python mirror of
runtime_c/include/embbert/model_format.h (tests/test_export.py compares them with the header).

BLOCK and QUANT_VERSION belong to the quantization scheme and are defined in quant/quantize.py;
they are repeated here by import so this module lists everything the header fixes.
"""

from __future__ import annotations

from ..quant.quantize import BLOCK, QUANT_VERSION

FORMAT_VERSION = 1          # EBQ_FORMAT_VERSION
MAGIC = 0x31514245          # EBQ_MAGIC, "EBQ1" as little-endian bytes
ALIGN = 16                  # EBQ_ARENA_ALIGN; every weight array is aligned the same way
TARGET_PTR = 4              # pointer size of the 32-bit MCUs (descriptor bytes in the report)

__all__ = ["ALIGN", "BLOCK", "FORMAT_VERSION", "MAGIC", "QUANT_VERSION", "TARGET_PTR"]
