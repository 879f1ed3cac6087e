"""Python mirror of the C structs in runtime_c/include/embbert/model_format.h (ggml style).

`struct_layout(name, ptr)` gives sizeof and offsetof for a target with `ptr`-byte pointers
(8 on the 64-bit host, 4 on Cortex-M / Xtensa); tests/test_export.py checks the host numbers
against the C compiler's, so a field added on one side only is caught.
"""

from __future__ import annotations

# (field, kind, count); kinds: u8, u16, u32, f32, ptr, or another struct name
STRUCTS: dict[str, list[tuple[str, str, int]]] = {
    "ebq_config": [(f, "u32", 1) for f in ("vocab_size", "max_len", "d_model", "reduced_dim",
                                            "n_layers", "conv_kernel", "expansion",
                                            "num_labels")],
    "ebq_qtensor": [("q", "ptr", 1), ("scale", "ptr", 1), ("outlier_idx", "ptr", 1),
                    ("outlier_w", "ptr", 1), ("bias", "ptr", 1), ("rows", "u16", 1),
                    ("cols", "u16", 1), ("block", "u16", 1), ("n_blocks", "u16", 1),
                    ("n_outliers", "u16", 1), ("reserved", "u16", 1)],
    "ebq_layer": [("q", "ebq_qtensor", 1), ("out", "ebq_qtensor", 1), ("dw", "ebq_qtensor", 1),
                  ("pw", "ebq_qtensor", 1), ("h_scale", "f32", 1), ("h_inv", "f32", 1)],
    "ebq_model": [("magic", "u32", 1), ("format_version", "u32", 1),
                  ("quant_version", "u32", 1), ("block", "u32", 1),
                  ("config", "ebq_config", 1), ("sha256", "u8", 32), ("arena_bytes", "u32", 1),
                  ("max_outliers", "u32", 1), ("max_h_outliers", "u32", 1),
                  ("rms_eps", "f32", 1), ("tok_q", "ptr", 1), ("tok_scale", "ptr", 1),
                  ("pos_q", "ptr", 1), ("pos_scale", "ptr", 1), ("tok_proj", "ebq_qtensor", 1),
                  ("pos_proj", "ebq_qtensor", 1), ("seg", "ptr", 1), ("layers", "ptr", 1),
                  ("classifier", "ebq_qtensor", 1)],
}
_PRIM = {"u8": 1, "u16": 2, "u32": 4, "f32": 4}


def _size_align(kind: str, ptr: int) -> tuple[int, int]:
    if kind == "ptr":
        return ptr, ptr
    if kind in _PRIM:
        return _PRIM[kind], _PRIM[kind]
    lay = struct_layout(kind, ptr)
    return lay["sizeof"], lay["alignof"]


def struct_layout(name: str, ptr: int = 8) -> dict:
    """{"sizeof": n, "alignof": a, "offsetof": {field: offset}} under the usual C ABI rules."""
    off, align, offsets = 0, 1, {}
    for fname, kind, count in STRUCTS[name]:
        size, al = _size_align(kind, ptr)
        off = (off + al - 1) // al * al
        offsets[fname] = off
        off += size * count
        align = max(align, al)
    return {"sizeof": (off + align - 1) // align * align, "alignof": align, "offsetof": offsets}
