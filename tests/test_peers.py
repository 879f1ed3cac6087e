"""The pure-Python parts of embbert.perf.peers (make bench-peers); no tensorflow needed."""

import json

import numpy as np
import pytest
from embbert.errors import EmbBertError
from embbert.perf.peers import (
    accuracy,
    compare,
    mask_floors,
    parse_allocations,
    render,
    to_json,
)

ALLOC_TEXT = """\
[RecordingMicroAllocator] Arena allocation total 111280 bytes
[RecordingMicroAllocator] Arena allocation head 41408 bytes
[RecordingMicroAllocator] Arena allocation tail 69872 bytes
[RecordingMicroAllocator] 'TfLiteEvalTensor data' used 4176 bytes with alignment overhead
"""


def test_parse_allocations():
    assert parse_allocations(ALLOC_TEXT) == {"total": 111280, "head": 41408, "tail": 69872}
    with pytest.raises(EmbBertError, match="no arena usage"):
        parse_allocations("Failed to resize buffer")


def test_compare_and_accuracy():
    a = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 1.0]], np.float32)
    b = np.array([[1.5, 0.0], [1.0, 0.5], [3.0, 1.0]], np.float32)
    assert compare(a, b) == {"agree": pytest.approx(2 / 3), "max_abs": 1.5,
                             "mean_abs": pytest.approx(3.0 / 6)}
    assert accuracy(a, np.array([0, 1, 1])) == pytest.approx(2 / 3)


def test_mask_floors_below_every_real_row_max():
    """The masked-key score sits `margin` below the smallest real row maximum of each layer."""
    import torch
    from embbert.model import EmbBert, EmbBertConfig
    torch.manual_seed(0)
    cfg = EmbBertConfig(vocab_size=50, max_len=16, d_model=8, reduced_dim=4, n_layers=2,
                        conv_kernel=3)
    model = EmbBert(cfg).eval()
    seqs = [([2, 7, 9, 4], [1, 1, 1, 1]), ([2, 11, 4], [1, 1, 1])]
    floors = mask_floors(model, seqs, margin=20.0)
    assert len(floors) == 2
    with torch.no_grad():
        ids, segs = torch.tensor([seqs[0][0]]), torch.tensor([seqs[0][1]])
        h = model.layers[0].norm(model.embed(ids, segs))
        s = model.layers[0].attn.q(h) @ h.transpose(1, 2) / cfg.d_model ** 0.5
    assert floors[0] <= float(s.amax(-1).min()) - 20.0 + 1e-5


def test_render_has_every_engine_and_length():
    eng = {"accuracy": 0.8, "vs_fp32": {"agree": 1.0, "max_abs": 0.1, "mean_abs": 0.01},
           "vs_ours": {"agree": 0.99, "max_abs": 0.2, "mean_abs": 0.02}}
    res = {"model": "m.pt", "task": "sst2", "n": 3, "n_calib": 5, "lengths": [64, 128],
           "real_len": {"min": 3, "max": 9, "mean": 5.0}, "versions": {"tensorflow": "x"},
           "mask_floors": [-20.0], "seconds": 12.0,
           "ours": {"weights_bytes": 1000, "flash_bytes": 1100, "calibration": "c",
                    "arena_bytes": {"64": 500, "128": 900}},
           "tflm": {str(T): {"arena": {"total": 4000, "head": 1000, "tail": 3000},
                             "model_bytes": 1200, "tf_fp32_max_abs": 1e-6, "seconds": 1.0}
                    for T in (64, 128)},
           "engines": {k: eng for k in ("pytorch_fp32", "ours_int8", "ort_fp32", "ort_int8",
                                        "tflm_int8_64", "tflm_int8_128")}}
    md = render(res)
    res["logits"] = {"ours_int8": [[0.5, -1.25], [2.0, 0.0]]}
    assert json.loads(to_json(res)) == res
    assert "Do not edit by hand" in md
    for text in ("TFLM int8, padded to T = 64", "TFLM int8, padded to T = 128",
                 "ONNX Runtime dynamic int8", "| 64 | 500 (0.5 KiB) | 4,000 (3.9 KiB)", "8.0x"):
        assert text in md
