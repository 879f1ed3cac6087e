"""Host latency, one thread, same model and lengths: the C runtime (-O2 -march=native, the
host board's kernels: src/arch/vec, SIMD) vs PyTorch eager fp32, ONNX Runtime fp32
and ONNX Runtime dynamic int8 (when `onnxruntime` and `onnx` are installed). Median of repeated
runs; ratios are taken within one run of this module so they share the machine's state."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from ..cbuild import board_kernels, build_host_tool
from ..paths import REPO

BENCH_HOST = REPO / "tools" / "bench" / "bench_host.c"
MIN_SECONDS = 0.3


def c_runtime_ns(generated: Path, work: Path, lengths,
                 kernels: str | None = None) -> dict[int, float]:
    """{T: ns} for the C runtime with `kernels` (default: boards/host.toml's)."""
    exe = build_host_tool(work / "bench_host", [BENCH_HOST], model_dir=generated,
                          kernels=board_kernels("host", kernels), cflags="-march=native")
    out = subprocess.run([str(exe), *map(str, lengths)], capture_output=True, text=True,
                         check=True, env={**os.environ, "OMP_NUM_THREADS": "1"}).stdout
    res = {}
    for ln in out.splitlines():
        p = ln.split()
        res[int(p[1])] = float(p[3])
    return res


def _median_ns(fn, min_s: float = MIN_SECONDS) -> float:
    fn()
    times, start = [], time.perf_counter()
    while len(times) < 5 or (time.perf_counter() - start < min_s and len(times) < 2000):
        t0 = time.perf_counter_ns()
        fn()
        times.append(time.perf_counter_ns() - t0)
    return float(np.median(times))


def python_ns(ckpt, lengths, vocab_size: int) -> tuple[dict[str, dict[int, float]], str]:
    """{"pytorch": {T: ns}, "ort_fp32": ..., "ort_int8": ...} and a note on what was skipped."""
    import torch

    from .counts import bench_ids
    torch.set_num_threads(1)
    model = ckpt.model().eval()
    res: dict[str, dict[int, float]] = {"pytorch": {}}
    inputs = {T: bench_ids(vocab_size, T) for T in lengths}
    with torch.no_grad():
        for T, (ids, segs) in inputs.items():
            ti, ts = torch.as_tensor(ids)[None], torch.as_tensor(segs)[None]
            res["pytorch"][T] = _median_ns(lambda ti=ti, ts=ts: model(ti, ts))
    try:
        import onnxruntime as ort
    except ImportError:
        return res, "onnxruntime not installed: ORT columns skipped (pip install onnx onnxruntime)"
    with tempfile.TemporaryDirectory() as tmp:
        for name, sess in ort_sessions(model, *inputs[max(lengths)], Path(tmp)).items():
            res[name] = {}
            for T, (ids, segs) in inputs.items():
                feed = {"ids": ids[None], "segs": segs[None]}
                res[name][T] = _median_ns(lambda s=sess, f=feed: s.run(None, f))
    return res, f"onnxruntime {ort.__version__}"


def ort_sessions(model, ids: np.ndarray, segs: np.ndarray, tmp: Path) -> dict:
    """{"ort_fp32": session, "ort_int8": session} (one thread each) for the PyTorch model,
    exported to ONNX with a dynamic T (example input ids[T], segs[T]) and quantized with ORT's
    dynamic int8 (int8 weights, activations quantized per call). Needs onnx + onnxruntime."""
    import logging
    import warnings

    import onnxruntime as ort
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    fp32, int8 = tmp / "m.onnx", tmp / "m.int8.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.as_tensor(ids)[None], torch.as_tensor(segs)[None]),
                          str(fp32), input_names=["ids", "segs"], output_names=["logits"],
                          dynamic_axes={"ids": {1: "T"}, "segs": {1: "T"}}, dynamo=False,
                          opset_version=17)
    root, level = logging.getLogger(), logging.getLogger().level
    root.setLevel(logging.ERROR)   # the quantizer logs a "cannot quantize" note per int tensor
    try:
        quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
    finally:
        root.setLevel(level)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    return {name: ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
            for name, path in (("ort_fp32", fp32), ("ort_int8", int8))}
