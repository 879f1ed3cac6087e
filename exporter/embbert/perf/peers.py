"""Peer comparison (make bench-peers): the same model through TensorFlow Lite Micro and ONNX
Runtime, side by side with our arena, flash and logits -> docs/PEERS.md, docs/peers.json.

    python -m embbert.perf.peers [--model models/sst2.pt] [--out docs] [--n 100]

Needs tensorflow-cpu, tflite-micro, onnx and onnxruntime (the Makefile target installs them).
- Ours: the exporter's quantization (calibrated as `embbert-export` calibrates), its arena plan
  (embbert.export.arena) and flash bytes (export report for qemu-m4), and the logits of the integer
  simulation, which the C runtime reproduces bit for bit (make test / make bench check that).
  Runs at the real length of each sentence.
- TFLite Micro: peers_tf.py's TensorFlow rewrite at a fixed T, converted to full-integer int8
  with the TFLite converter (representative data: the task's training sentences), run with the
  tflite-micro Python interpreter; its RecordingMicroAllocator gives the arena. Sentences are
  right-padded to T with the padded keys masked, so the logits are comparable.
- ONNX Runtime: perf.host's ONNX export, fp32 and dynamic int8, at the real length.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
import time
from pathlib import Path

import numpy as np

from ..errors import EmbBertError
from ..paths import REPO

LENGTHS = (64, 128, 256)
TF_FP32_TOL = 1e-4     # TF rewrite (fp32) vs PyTorch: max |logit difference| allowed
# docs/MODEL.md reference numbers: TFLM + CMSIS-NN on the Cortex-M4, arena KB per T; int8
# model 438-462 KB
ANCHOR_ARENA_KB = {64: 136, 128: 243, 256: 456}
ANCHOR_MODEL_KB = "438-462"
ALLOC = re.compile(r"Arena allocation (total|head|tail) (\d+) bytes")


def parse_allocations(text: str) -> dict[str, int]:
    """{"total", "head", "tail": bytes} from RecordingMicroAllocator's print_allocations().
    head = the planned, reused activation buffers; tail = persistent (tensor structs, kernel
    data such as quantization multipliers and lookup tables)."""
    out = {k: int(v) for k, v in ALLOC.findall(text)}
    if set(out) != {"total", "head", "tail"}:
        raise EmbBertError(f"tflite-micro printed no arena usage:\n{text[:300]}")
    return out


def compare(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Argmax agreement (fraction), max and mean |difference| of two [N, C] logit arrays."""
    return {"agree": float(np.mean(a.argmax(1) == b.argmax(1))),
            "max_abs": float(np.abs(a - b).max()), "mean_abs": float(np.abs(a - b).mean())}


def accuracy(logits: np.ndarray, gold: np.ndarray) -> float:
    return float(np.mean(logits.argmax(1) == gold))


def mask_floors(model, seqs, margin: float) -> list[float]:
    """Per layer: the score given to masked keys in the TF rewrite, `margin` below the smallest
    row maximum over real keys (and real query rows) seen on `seqs` (PyTorch fp32)."""
    import torch

    from ..tokenizer import pad_batch
    from ..train.evaluate import length_batches
    lows = [math.inf] * len(model.layers)

    def hook(i):
        def fn(attn, inp, out):
            h, key_pad = inp
            s = attn.q(h) @ h.transpose(1, 2) / math.sqrt(h.shape[-1])     # [B, T, T]
            s = s.masked_fill(key_pad[:, None, :], float("-inf")).amax(-1)  # [B, T]
            lows[i] = min(lows[i], float(s[~key_pad].min()))
        return fn

    handles = [L.attn.register_forward_hook(hook(i)) for i, L in enumerate(model.layers)]
    try:
        with torch.no_grad():
            for idx in length_batches(seqs, 64):
                ids, segs = pad_batch([seqs[i] for i in idx])
                model(torch.from_numpy(ids), torch.from_numpy(segs))
    finally:
        for h in handles:
            h.remove()
    return [lo - margin for lo in lows]


def _capture_stderr(fn) -> str:
    """What a C++ extension writes to file descriptor 2 while fn() runs."""
    import sys
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as f:
        os.dup2(f.fileno(), 2)
        try:
            fn()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        f.seek(0)
        return f.read().decode(errors="replace")


def tflm_run(model: bytes, seqs, T: int) -> tuple[np.ndarray, dict[str, int]]:
    """Logits [N, C] (dequantized) of the int8 model on seqs padded to T, and the arena usage.
    The arena is checked: the model also runs in exactly `total` bytes."""
    from tflite_micro import runtime

    from ..tokenizer import pad_batch
    ids, segs = pad_batch(seqs, T)
    ids, segs = ids.astype(np.int32), segs.astype(np.int32)
    interp = runtime.Interpreter.from_bytes(model, arena_size=8 << 20)
    q = interp.get_output_details(0)["quantization_parameters"]
    scale, zero = float(q["scales"][0]), int(q["zero_points"][0])
    out = []
    for i in range(len(seqs)):
        interp.set_input(ids[i:i + 1], 0)
        interp.set_input(segs[i:i + 1], 1)
        interp.invoke()
        out.append((interp.get_output(0)[0].astype(np.float32) - zero) * scale)
    arena = parse_allocations(_capture_stderr(interp.print_allocations))
    tight = runtime.Interpreter.from_bytes(model, arena_size=arena["total"])
    tight.set_input(ids[:1], 0)
    tight.set_input(segs[:1], 1)
    tight.invoke()
    return np.stack(out), arena


def run_all(model_path: Path | None = None, n: int = 0, n_calib: int = 200,
            lengths=LENGTHS, echo=print) -> dict:
    import torch

    from ..boards import load_board
    from ..checkpoint import file_sha256, load
    from ..data import load_split
    from ..export.arena import plan_for
    from ..export.exporter import export_quantized
    from ..quant.as_exported import quantize_as_exported
    from ..quant.testing import limit_threads
    from ..tokenizer import encode_examples, from_json, pad_batch
    from ..train.evaluate import fp32_logits
    from .host import ort_sessions
    limit_threads()
    t_start = time.time()
    path = Path(model_path or REPO / "models" / "sst2.pt")
    ck = load(path)
    if not ck.tokenizer or not ck.task or ck.task == "pretrain":
        raise EmbBertError(f"{path}: the peer comparison needs a finetuned checkpoint with a "
                           "tokenizer (e.g. models/sst2.pt)")
    desc = f"{path.name} ({ck.task}, {ck.config.n_layers} layers, d = {ck.config.d_model})"
    cfg = ck.config
    lengths = [T for T in lengths if T <= cfg.max_len]
    enc, task = from_json(ck.tokenizer), ck.task
    dev = load_split(task, "dev")
    examples = dev[:n or None]
    # Encoded once at the smallest T: every engine sees the same tokens at every T
    seqs = encode_examples(enc, examples, min(lengths))
    gold = np.array([e.label for e in examples])
    train = load_split(task, "train")
    rep = encode_examples(enc, train[::max(1, len(train) // n_calib)][:n_calib], min(lengths))
    real = [len(ids) for ids, _ in seqs]
    model = ck.model()
    logits: dict[str, np.ndarray] = {"pytorch_fp32": fp32_logits(model, seqs)}

    echo("ours: quantizing as embbert-export does, integer simulation ...")
    sha = file_sha256(path)
    mq = quantize_as_exported(ck, sha256=sha)
    how = mq.meta["calibration"]
    logits["ours_int8"] = mq.logits_batch([(np.asarray(i), np.asarray(s)) for i, s in seqs])
    report = export_quantized(mq, load_board("qemu-m4"), None, sha256=sha).report
    ours = {"weights_bytes": report["weights_bytes"], "flash_bytes": report["flash_bytes"],
            "arena_bytes": {T: plan_for(mq, T).total for T in lengths}, "calibration": how}

    echo("ONNX Runtime fp32 and dynamic int8 ...")
    with tempfile.TemporaryDirectory() as tmp:
        sessions = ort_sessions(model, *[np.asarray(a) for a in seqs[0]], Path(tmp))
        for name, sess in sessions.items():
            logits[name] = np.stack([sess.run(None, {"ids": np.asarray(i)[None],
                                                     "segs": np.asarray(s)[None]})[0][0]
                                     for i, s in seqs]).astype(np.float32)
    import onnxruntime
    versions = {"onnxruntime": onnxruntime.__version__, "torch": torch.__version__}

    import tensorflow as tf
    import tflite_micro

    from . import peers_tf
    versions.update(tensorflow=tf.__version__, tflite_micro=getattr(
        tflite_micro, "__version__", "?"))
    floors = mask_floors(model, rep, peers_tf.MASK_MARGIN)
    tflm: dict[int, dict] = {}
    for T in lengths:
        echo(f"TFLM T={T}: TensorFlow rewrite, fp32 check, int8 conversion, tflite-micro ...")
        t0 = time.time()
        fwd = peers_tf.make_forward(ck.state_dict, cfg, T, floors)
        ids, segs = (a.astype(np.int32) for a in pad_batch(seqs, T))
        tf32 = np.concatenate([fwd(ids[i:i + 1], segs[i:i + 1]).numpy()
                               for i in range(len(seqs))])
        err = float(np.abs(tf32 - logits["pytorch_fp32"]).max())
        if err > TF_FP32_TOL:
            raise EmbBertError(f"T={T}: the TensorFlow rewrite differs from PyTorch by {err:.2g}"
                               f" (> {TF_FP32_TOL:g}): fix peers_tf.py before comparing")
        rids, rsegs = (a.astype(np.int32) for a in pad_batch(rep, T))
        flat = peers_tf.to_tflite_int8(
            fwd, lambda rids=rids, rsegs=rsegs: ([rids[i:i + 1], rsegs[i:i + 1]]
                                                 for i in range(len(rids))))
        lg, arena = tflm_run(flat, seqs, T)
        logits[f"tflm_int8_{T}"] = lg
        tflm[T] = {"arena": arena, "model_bytes": len(flat), "tf_fp32_max_abs": err,
                   "seconds": round(time.time() - t0, 1)}

    ref, ours_l = logits["pytorch_fp32"], logits["ours_int8"]
    engines = {k: {"accuracy": accuracy(v, gold), "vs_fp32": compare(v, ref),
                   "vs_ours": compare(v, ours_l)} for k, v in logits.items()}
    return {"model": desc, "sha256": sha, "task": task, "n": len(seqs), "n_dev": len(dev),
            "real_len": {"min": min(real), "max": max(real), "mean": float(np.mean(real))},
            "n_calib": len(rep), "lengths": lengths, "mask_floors": floors,
            "versions": versions, "ours": ours, "tflm": tflm, "engines": engines,
            "logits": {k: np.round(v, 5).tolist() for k, v in logits.items()},
            "seconds": round(time.time() - t_start, 1)}


# ------------------------------------------------------------------------------------ report

def _kb(n: int) -> str:
    return f"{n:,} ({n / 1024:.1f} KiB)"


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    return out + ["| " + " | ".join(r) + " |" for r in rows]


ENGINE_NAMES = {"pytorch_fp32": "PyTorch fp32 (reference)",
                "ours_int8": "ours int8 (C runtime = simulation)",
                "ort_fp32": "ONNX Runtime fp32", "ort_int8": "ONNX Runtime dynamic int8"}


def _which(res: dict) -> str:
    n, total = res["n"], res.get("n_dev", res["n"])
    return f"all {n} of" if n == total else f"the first {n} of the {total} in"


def render(res: dict) -> str:
    """docs/PEERS.md from run_all's result (JSON keys may be strings)."""
    L = res["lengths"]
    tflm = {int(k): v for k, v in res["tflm"].items()}
    ours = res["ours"]
    arena = {int(k): v for k, v in ours["arena_bytes"].items()}
    v = res["versions"]
    md = ["# Peer comparison: TensorFlow Lite Micro and ONNX Runtime", "",
          "Generated by `make bench-peers` (`python -m embbert.perf.peers`); raw numbers and every "
          "logit in [peers.json](peers.json). Do not edit by hand.", "",
          f"Model: {res['model']}. Sentences: {_which(res)} {res['task']}/dev "
          f"({res['real_len']['min']}-{res['real_len']['max']} tokens, mean "
          f"{res['real_len']['mean']:.1f}). Versions: " +
          ", ".join(f"{k} {x}" for k, x in v.items()) + ".", "",
          "**How.** *Ours*: the exporter's int8 scheme (calibration: "
          f"{ours['calibration']}); arena = the exporter's plan (`embbert.export.arena`), flash = "
          "weights + descriptors from the export report (qemu-m4); logits = the integer "
          "simulation, which the C runtime matches bit for bit (`make test`, `make bench`); "
          "runs at the real length. *TFLM*: the forward pass rewritten in TensorFlow for a "
          "fixed T (`embbert/perf/peers_tf.py`: position projection and lambdas folded, exact in "
          f"fp32 — max |logit error| vs PyTorch below), converted with `TFLiteConverter` to full"
          f" int8 (representative data: {res['n_calib']} {res['task']}/train sentences padded "
          "to T), run by the `tflite-micro` Python interpreter; each sentence is right-padded "
          "to T and padded keys are masked (they get a score far below every real row maximum "
          "instead of -inf, which int8 cannot hold), so its logits compare with the others. "
          "*ONNX Runtime*: `torch.onnx.export` of the PyTorch model (dynamic T, real length), "
          "fp32 and `quantize_dynamic` int8 weights.", "",
          "## Memory", ""]
    rows = []
    for T in L:
        t = tflm[T]
        rows.append([str(T), _kb(arena[T]), _kb(t["arena"]["total"]),
                     _kb(t["arena"]["head"]), _kb(t["arena"]["tail"]),
                     f"{ANCHOR_ARENA_KB.get(T, '-')} KB",
                     f"{t['arena']['total'] / arena[T]:.1f}x"])
    md += _table(["T", "ours arena", "TFLM arena (total)", "TFLM head (activations)",
                  "TFLM tail (persistent)", "docs/MODEL.md reference (TFLM + CMSIS-NN, M4)",
                  "TFLM / ours"], rows)
    md += ["", "TFLM arena = `RecordingMicroAllocator` totals after one inference; the model "
           "also runs in exactly that many bytes (checked). This is the x86-64 Python build "
           "with the reference kernels: its persistent part holds 64-bit structs, and "
           "CMSIS-NN's scratch buffers are not in it, so the Cortex-M figure differs (anchor "
           "column). The persistent part grows by T x d bytes per layer: TFLM's BATCH_MATMUL keeps "
           "a transposed copy of its right-hand operand (h in softmax(s) @ h) in a persistent "
           "buffer. Our arena is the whole activation memory of `ebq_infer` (no persistent "
           "part: the model descriptors are const, in flash).", ""]
    rows = [[str(T), _kb(ours["flash_bytes"]), _kb(tflm[T]["model_bytes"]),
             f"{tflm[T]['model_bytes'] / ours['flash_bytes']:.2f}x"] for T in L]
    md += _table(["T", "ours flash (weights + descriptors)", "TFLM .tflite model",
                  "TFLM / ours"], rows)
    md += ["", f"Ours: {ours['weights_bytes']:,} weight bytes, independent of T (the runtime "
           "reads the position table up to the real length). The .tflite file grows with T: "
           "the folded position table is [T, d] int8. docs/MODEL.md reference: "
           f"{ANCHOR_MODEL_KB} KB model (+ 173 KB interpreter code).", "",
           "## Logits and accuracy", ""]
    eng = res["engines"]
    rows = []
    order = list(ENGINE_NAMES) + [f"tflm_int8_{T}" for T in L]
    for k in order:
        if k not in eng:
            continue
        e = eng[k]
        name = ENGINE_NAMES.get(k) or f"TFLM int8, padded to T = {k.rsplit('_', 1)[1]}"
        f, o = e["vs_fp32"], e["vs_ours"]
        rows.append([name, f"{100 * e['accuracy']:.1f}%", f"{100 * f['agree']:.1f}%",
                     f"{f['max_abs']:.3f} / {f['mean_abs']:.3f}", f"{100 * o['agree']:.1f}%",
                     f"{o['max_abs']:.3f} / {o['mean_abs']:.3f}"])
    md += _table(["engine", f"accuracy ({res['n']} sentences)", "argmax = fp32",
                  "abs Δ vs fp32 (max / mean)", "argmax = ours", "abs Δ vs ours (max / mean)"],
                 rows)
    md += ["", "TensorFlow fp32 rewrite vs PyTorch, max |logit difference|: " + ", ".join(
        f"T = {T}: {tflm[T]['tf_fp32_max_abs']:.1e}" for T in L) + ". Masked-key score per "
        "layer: " + ", ".join(f"{x:.1f}" for x in res["mask_floors"]) + ".", "",
        f"Run time of `make bench-peers` here: {res['seconds']:.0f} s (TFLM per T: " +
        ", ".join(f"{tflm[T]['seconds']:.0f} s" for T in L) + ").", ""]
    return "\n".join(md)


def to_json(res: dict) -> str:
    """Indented JSON, but one line per engine's logits (one number per line would be huge)."""
    body = {k: v for k, v in res.items() if k != "logits"}
    lines = [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in res.get("logits", {}).items()]
    return (json.dumps(body, indent=1)[:-2] + ',\n "logits": {\n' + ",\n".join(lines) +
            "\n }\n}\n")


def main(argv=None) -> int:
    import argparse
    ap = argparse.ArgumentParser(prog="python -m embbert.perf.peers", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=None,
                    help="finetuned checkpoint (default models/sst2.pt)")
    ap.add_argument("--out", type=Path, default=REPO / "docs")
    ap.add_argument("--n", type=int, default=0,
                    help="compare the first N dev sentences (default: the whole dev split)")
    args = ap.parse_args(argv)
    try:
        res = run_all(args.model, n=args.n)
    except ImportError as e:
        print(f"error: {e.name or e} is not installed: run `make bench-peers` (it installs "
              "tensorflow-cpu, tflite-micro, onnx, onnxruntime)")
        return 1
    except EmbBertError as e:
        print(f"error: {e}")
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "peers.json").write_text(to_json(res))
    (args.out / "PEERS.md").write_text(render(res))
    print(f"wrote {args.out / 'PEERS.md'} and peers.json ({res['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
