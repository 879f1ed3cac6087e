"""embbert-bench logic: check a device against its export, stream samples through it, and
compare its logits with the integer-exact quantized simulation and with PyTorch fp32.

    model = resolve_model(export_dir, model_pt)           # the export's quantized model, + model.pt
    info = dev.info()
    check_info(info, model)                               # sha256, format/quant version, config
    samples = select_samples(model, None, None, 100, (), device_max_len(info, model))
    mq, how = quant_reference(model, info.config["max_len"], export_report)
    logits, counts = run_device(dev, samples.seqs)
    summary = summarize(BenchRun(...))                    # the numbers of the table and --json
    print(format_table(summary))

The simulation is the quantized model embbert-export wrote (quantized_model.npz), so checking a
device needs only the export directory; the checkpoint adds the fp32 comparison. Only for an
export without that file is the model quantized again, the way the export does
(quantize_as_exported, with the export report's settings).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from ..data import Example, get_task, load_split
from ..device import protocol as P
from ..device.session import Device, DeviceTimeout
from ..device.transport import TransportError
from ..errors import EmbBertError
from ..export.outdir import recover
from ..macs import dense_macs, runtime_macs

if TYPE_CHECKING:  # torch loads slowly: keep `--help` and the errors fast
    from ..checkpoint import Checkpoint
    from ..quant.quantize import QuantModel

Seq = tuple[list[int], list[int]]
R = TypeVar("R")
REPORT_NAME = "export_report.json"
DEFAULT_LIMIT = 100


class BenchError(EmbBertError):
    """The device cannot be benchmarked against this model (mismatch, silence, rejection)."""


# ------------------------------------------------------------------------- export record

def read_export_report(generated_dir: Path) -> dict | None:
    path = Path(generated_dir) / REPORT_NAME
    if Path(generated_dir).is_dir():
        recover(Path(generated_dir))  # finish an export that was interrupted after its commit
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise BenchError(f"{path}: unreadable export record ({e})") from e


@dataclass
class BenchModel:
    """What the bench knows about the model on the device: the export's quantized model
    (None for an export that predates quantized_model.npz) and the checkpoint (None when only
    the export directory is at hand)."""
    path: Path                   # the model.pt (given, or recorded by the export)
    sha: str
    quantized: QuantModel | None
    ckpt: Checkpoint | None
    missing_ckpt: str = ""       # why there is no fp32 comparison

    @property
    def name(self) -> str:
        return self.path.name

    def _meta(self, key: str, default: object) -> object:
        if self.ckpt is not None:
            return getattr(self.ckpt, key)
        return self.quantized.meta.get(key, default) if self.quantized else default

    @property
    def config(self) -> dict:
        """The checkpoint's config (max_len: the model's own, before any --max-len)."""
        if self.ckpt is not None:
            return self.ckpt.config.to_dict()
        assert self.quantized is not None
        cfg = self.quantized.config.to_dict()
        cfg["max_len"] = int(self.quantized.meta.get("source_max_len", cfg["max_len"]))
        return cfg

    @property
    def tokenizer(self) -> str:
        return str(self._meta("tokenizer", ""))

    @property
    def task(self) -> str:
        return str(self._meta("task", ""))

    @property
    def labels(self) -> list[str]:
        return list(self._meta("labels", []))  # type: ignore[call-overload]


def resolve_model(export_dir: Path, model: Path | None) -> BenchModel:
    """The model to bench: `model` (a model.pt) when given, else the one the export in
    export_dir records; its quantized_model.npz when that belongs to the same checkpoint. Without
    a readable checkpoint the export's quantized model is enough, minus the fp32 comparison."""
    from ..checkpoint import file_sha256, load
    from ..quant import store

    report = read_export_report(export_dir)
    mq = store.load_from(export_dir)
    missing = ""
    if model is None:
        if report is None or not report.get("checkpoint"):
            raise BenchError(f"no --model given and no export record in {export_dir}/"
                             f"{REPORT_NAME} (run: embbert-export model.pt --board <board>, "
                             "or pass --model)")
        model = Path(report["checkpoint"])
        if not model.is_file():
            if mq is None:
                raise BenchError(f"{export_dir}/{REPORT_NAME} names checkpoint {model}, which "
                                 f"no longer exists, and there is no {store.FILE_NAME} beside "
                                 "it (pass --model, or export again)")
            missing = (f"the checkpoint {model} recorded in {REPORT_NAME} is not here "
                       "(pass --model for the fp32 comparison)")
            return BenchModel(model, str(mq.meta.get("sha256", "")), mq, None, missing)
    ckpt = load(model)
    sha = file_sha256(model)
    if mq is not None and mq.meta.get("sha256") != sha:
        mq = None          # the export holds another model: quantize this one as it would
    return BenchModel(model, sha, mq, ckpt)


# --------------------------------------------------------------------------- INFO checks

def check_info(info: P.DeviceInfo, model: BenchModel) -> None:
    """The device must run exactly this model, in the data format this toolchain writes."""
    from ..export.format import FORMAT_VERSION, QUANT_VERSION

    name, sha = model.name, model.sha
    if info.protocol_version != P.PROTOCOL_VERSION:
        raise BenchError(f"device speaks protocol v{info.protocol_version}, this embbert-bench "
                         f"v{P.PROTOCOL_VERSION}: rebuild the firmware")
    if info.sha256 != sha:
        raise BenchError(f"model mismatch: the device runs model sha256 {info.sha256}, but "
                         f"{name} has sha256 {sha} (export and flash {name}, or "
                         "pass the --model the firmware was built from)")
    if (info.format_version, info.quant_version) != (FORMAT_VERSION, QUANT_VERSION):
        raise BenchError(f"device model data is format v{info.format_version} / quant "
                         f"v{info.quant_version}, {name} exports as format "
                         f"v{FORMAT_VERSION} / quant v{QUANT_VERSION}: re-export and rebuild")
    if not info.init_ok:
        raise BenchError(f"the device's model failed to initialize: {info.describe_init()}")
    want = model.config
    diff = [k for k in P.CONFIG_FIELDS if k != "max_len" and info.config.get(k) != want.get(k)]
    if diff or not 1 <= info.config.get("max_len", 0) <= want["max_len"]:
        fields = ", ".join(f"{k} {info.config.get(k)} vs {want.get(k)}"
                           for k in diff or ["max_len"])
        raise BenchError(f"device config differs from {name}: {fields}")


def device_max_len(info: P.DeviceInfo, model: BenchModel) -> int:
    """Longest input to send: the exported max_len, capped by the device's frame buffer."""
    return max(1, min(info.config["max_len"], info.max_t, model.config["max_len"]))


# ------------------------------------------------------------------------------- samples

@dataclass
class Samples:
    seqs: list[Seq]
    examples: list[Example]      # label -1 for --text
    task: str | None             # None for --text
    source: str                  # "sst2/dev" or "--text"
    # a windowed device (INFER_TEXT): every sequence it runs, in order, and the sample each
    # belongs to; seqs then holds each sample's last one, as the device reports it
    windows: list[Seq] | None = None
    owner: np.ndarray | None = None

    @property
    def ref_seqs(self) -> list[Seq]:
        """The sequences the references run: the windows, or one per sample."""
        return self.windows if self.windows is not None else self.seqs

    def per_sample(self, logits: np.ndarray) -> np.ndarray:
        """Logits of ref_seqs -> one row per sample (the window mean, as the device's)."""
        if self.owner is None:
            return logits
        from ..tokenizer import window_mean
        return window_mean(logits, self.owner, len(self.examples))

    def lengths(self) -> list[list[int]]:
        """Per sample, the lengths of the sequences the device runs for it."""
        if self.owner is None:
            return [[len(ids)] for ids, _ in self.seqs]
        out: list[list[int]] = [[] for _ in self.examples]
        for (ids, _), i in zip(self.ref_seqs, self.owner, strict=True):
            out[int(i)].append(len(ids))
        return out


def select_samples(model: BenchModel, task: str | None, split: str | None, limit: int | None,
                   texts: Sequence[str], max_len: int) -> Samples:
    """--text sentences (a tab separates a pair), else the first `limit` examples of the task's
    split (default: the model's own task, dev split, or the eval split when there is no dev)."""
    from ..tokenizer import encode_examples, from_json

    if not model.tokenizer:
        raise BenchError("the model carries no tokenizer, so there is no text to send "
                         "(bench a finetuned model.pt from embbert-train)")
    enc = from_json(model.tokenizer)
    if texts:
        examples = [Example(*(t.split("\t", 1) if "\t" in t else (t, None)), label=-1)
                    for t in texts]
        seqs = [enc.encode(e.text_a, e.text_b, max_len=max_len) for e in examples]
        return Samples(seqs, examples, None, "--text")
    task = task or model.task
    if not task or task == "pretrain":
        raise BenchError("the model is not finetuned on a task: pass --task or --text")
    t = get_task(task)
    split = split or ("dev" if t.has_dev else t.eval_split)
    examples = load_split(task, split)[: DEFAULT_LIMIT if limit is None else limit]
    if not examples:
        raise BenchError(f"{task}/{split}: no examples selected (--limit {limit})")
    return Samples(encode_examples(enc, examples, max_len), examples, task, f"{task}/{split}")


def with_windows(model: BenchModel, samples: Samples, max_len: int) -> Samples:
    """What a windowed device runs for each single text: all the max_len windows covering it
    (pairs stay truncated)."""
    from ..tokenizer import encode_windows, from_json

    single = [i for i, e in enumerate(samples.examples) if e.text_b is None]
    wseqs, wowner = encode_windows(from_json(model.tokenizer),
                                   [samples.examples[i] for i in single], max_len)
    of_single = dict(zip(single, range(len(single)), strict=True))
    seqs, windows, owner = list(samples.seqs), [], []
    for i in range(len(samples.examples)):
        mine = ([wseqs[k] for k in np.flatnonzero(wowner == of_single[i])] if i in of_single
                else [samples.seqs[i]])
        windows += mine
        owner += [i] * len(mine)
        seqs[i] = mine[-1]
    return Samples(seqs, samples.examples, samples.task, samples.source, windows,
                   np.asarray(owner, np.int64))


# ------------------------------------------------------------------------ references

def quant_reference(model: BenchModel, max_len: int, report: dict | None):
    """(QuantModel, how): the export's own quantized model when it was exported at the device's
    max_len; else the checkpoint quantized as `embbert-export` does (quantize_as_exported at
    that max_len, with the export report's threshold and max_outliers when it records them)."""
    from ..quant.as_exported import quantize_as_exported
    from ..quant.store import FILE_NAME

    mq = model.quantized
    if mq is not None and mq.config.max_len == max_len:
        return mq, f"{FILE_NAME} of the export ({mq.meta.get('calibration', '?')})"
    if model.ckpt is None:
        have = f"is for max_len {mq.config.max_len}" if mq else "is missing"
        raise BenchError(f"the export's {FILE_NAME} {have} and the device runs max_len "
                         f"{max_len}: pass the --model it was exported from")
    settings = {}
    if report and report.get("model_sha256") == model.sha:
        settings = report.get("quantization") or {}
    threshold = None                                   # the export's default
    if "threshold" in settings:                        # recorded None: outliers were off
        threshold = float("inf") if settings["threshold"] is None else float(settings["threshold"])
    mq = quantize_as_exported(model.ckpt, max_len=max_len, threshold=threshold,
                              max_outliers=settings.get("max_outliers"), sha256=model.sha)
    how = mq.meta["calibration"]
    recorded = settings.get("calibration")
    if recorded and recorded != how:
        how += f" (the export used {recorded}: the simulation may differ)"
    return mq, how


def fp32_reference(model: BenchModel, seqs: Sequence[Seq]) -> np.ndarray | None:
    """PyTorch fp32 logits, or None without the checkpoint."""
    if model.ckpt is None:
        return None
    from ..train.evaluate import fp32_logits
    return fp32_logits(model.ckpt.model(), seqs)


# ----------------------------------------------------------------------------- device

def _ask(i: int, n: int, what: str, call: Callable[[], R]) -> R:
    """One device request for sample i of n; any failure becomes a BenchError naming it."""
    try:
        return call()
    except DeviceTimeout as e:
        raise BenchError(f"sample {i + 1}/{n} ({what}): the device stopped answering ({e})"
                         ) from e
    except (P.DeviceError, P.ProtocolError, TransportError) as e:
        raise BenchError(f"sample {i + 1}/{n} ({what}): {e}") from e


def run_device(dev: Device, seqs: Sequence[Seq],
               progress: Callable[[int], object] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Device logits [N, C] float32 and counter values [N]; any failure names the sample."""
    logits, counts = [], []
    for i, (ids, segs) in enumerate(seqs):
        r = _ask(i, len(seqs), f"T={len(ids)}", lambda: dev.infer(ids, segs))  # noqa: B023
        logits.append(r.logits)
        counts.append(r.count)
        if progress:
            progress(1)
    return np.asarray(logits, np.float32), np.asarray(counts, np.int64)


def sample_bytes(e: Example) -> tuple[bytes, bytes | None]:
    return e.text_a.encode(), None if e.text_b is None else e.text_b.encode()


def fits_text_frame(info: P.DeviceInfo, e: Example) -> bool:
    a, b = sample_bytes(e)
    return len(P.encode_infer_text(a, b)) <= info.max_payload


def run_device_text(dev: Device, examples: Sequence[Example],
                    progress: Callable[[int], object] | None = None) -> TextRun:
    """INFER_TEXT for each example: the device tokenizes the raw UTF-8 itself."""
    out = TextRun([], [], [], [])
    for i, e in enumerate(examples):
        a, b = sample_bytes(e)
        r = _ask(i, len(examples), f"{len(a)} bytes of text",
                 lambda: dev.infer_text(a, b))  # noqa: B023
        out.logits.append(r.logits)
        out.counts.append(r.count)
        out.tokenize_counts.append(r.tokenize_count)
        out.seqs.append((r.ids, r.segs))
        if progress:
            progress(1)
    return out


@dataclass
class TextRun:
    """What INFER_TEXT returned per sample."""
    logits: list[list[float]]
    counts: list[int]             # ebq_infer alone
    tokenize_counts: list[int]
    seqs: list[Seq]               # the ids and segments the device used


def tokenizer_summary(run: BenchRun) -> dict[str, object]:
    """ids agreement with the host tokenizer and the cost of tokenizing on the device."""
    t = run.text
    if t is None:
        return {}
    unit = run.info.counter
    agree = [d == h for d, h in zip(t.seqs, run.samples.seqs, strict=True)]
    nbytes = np.array([len(a) + (len(b) if b is not None else 0)
                       for a, b in map(sample_bytes, run.samples.examples)], np.float64)
    tok = np.asarray(t.tokenize_counts, np.float64)
    per_byte = tok / np.maximum(nbytes, 1)
    total = tok + np.asarray(t.counts, np.float64)
    return {"ids_agreement": float(np.mean(agree)),
            "ids_disagreeing_samples": [i for i, ok in enumerate(agree) if not ok][:20],
            f"tokenize_{unit}_median": float(np.median(tok)),
            f"tokenize_{unit}_p95": float(np.percentile(tok, 95)),
            f"tokenize_{unit}_per_byte_median": float(np.median(per_byte)),
            f"tokenize_{unit}_per_byte_p95": float(np.percentile(per_byte, 95)),
            "tokenize_share_of_total": float(tok.sum() / total.sum()) if total.sum() else None,
            "text_bytes_median": float(np.median(nbytes))}


# ---------------------------------------------------------------------------- summary

@dataclass
class BenchRun:
    info: P.DeviceInfo
    model: str
    sha: str
    samples: Samples
    device: np.ndarray           # [N, C] float32
    counts: np.ndarray           # [N] in info.counter units
    fp32: np.ndarray | None      # [N, C]; None without the checkpoint
    quant: np.ndarray            # [N, C]
    quant_how: str
    export_report: dict | None = None
    text: TextRun | None = None  # INFER_TEXT (--on-device-tokenizer / --text)


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = a.astype(np.float64), b.astype(np.float64)
    den = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    num = (a * b).sum(1)
    # two zero vectors agree perfectly; one zero vector has no direction to agree with
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.where(num == 0, 1.0, 0.0))


def _compare(dev: np.ndarray, ref: np.ndarray | None, name: str) -> dict[str, float | None]:
    if ref is None:
        return dict.fromkeys((f"argmax_agreement_{name}", f"max_abs_err_{name}",
                              f"mean_abs_err_{name}", f"cosine_min_{name}",
                              f"cosine_mean_{name}"))
    err = np.abs(dev.astype(np.float64) - ref.astype(np.float64))
    cos = _cosines(dev, ref)
    return {f"argmax_agreement_{name}": float((dev.argmax(1) == ref.argmax(1)).mean()),
            f"max_abs_err_{name}": float(err.max()), f"mean_abs_err_{name}": float(err.mean()),
            f"cosine_min_{name}": float(cos.min()), f"cosine_mean_{name}": float(cos.mean())}


def _task_scores(run: BenchRun) -> dict[str, object]:
    if run.samples.task is None:
        return {"metric": None, "accuracy_device": None, "accuracy_fp32": None,
                "accuracy_quant": None}
    from ..train.evaluate import score
    metric = get_task(run.samples.task).metric
    out: dict[str, object] = {"metric": metric}
    for name, logits in (("device", run.device), ("fp32", run.fp32), ("quant", run.quant)):
        if logits is None:
            out[f"accuracy_{name}"] = out[f"metric_{name}"] = None
            continue
        m = score(run.samples.task, logits, run.samples.examples)
        out[f"accuracy_{name}"] = m.get("accuracy")
        out[f"metric_{name}"] = m[metric]
    return out


def _cost(run: BenchRun) -> dict[str, object]:
    info, counts = run.info, run.counts.astype(np.float64)
    per = run.samples.lengths()   # a windowed sample costs all its windows
    macs = np.array([sum(runtime_macs(info.config, T) for T in ts) for ts in per], np.float64)
    dense = np.array([sum(dense_macs(info.config, T) for T in ts) for ts in per], np.float64)
    unit = info.counter
    med, p95 = float(np.median(counts)), float(np.percentile(counts, 95))
    per_mac = float(counts.sum() / macs.sum()) if macs.sum() else None
    out: dict[str, object] = {
        "counter": unit, "clock_hz": info.clock_hz, "count_median": med, "count_p95": p95,
        "macs_median": float(np.median(macs)), "macs_p95": float(np.percentile(macs, 95)),
        "dense_macs_median": float(np.median(dense)),
        "count_per_mac": per_mac}
    for kind in ("instructions", "cycles"):
        mine = unit == kind
        out[f"{kind}_median"] = med if mine else None
        out[f"{kind}_p95"] = p95 if mine else None
        out[f"{kind}_per_mac"] = per_mac if mine else None
    if unit == "nanoseconds":
        scale = 1e-6
    elif unit in ("instructions", "cycles") and info.clock_hz:
        scale = 1e3 / info.clock_hz   # instructions: assumes 1 instruction per cycle
    else:
        scale = None
    out["latency_ms_median"] = med * scale if scale else None
    out["latency_ms_p95"] = p95 * scale if scale else None
    return out


def summarize(run: BenchRun) -> dict[str, object]:
    """Everything the table, --json and --report show (JSON-ready)."""
    lengths = np.array([len(ids) for ids, _ in run.samples.seqs])
    bit_exact = float(np.mean([a.tobytes() == b.tobytes()
                               for a, b in zip(run.device, run.quant, strict=True)]))
    s: dict[str, object] = {
        "board": run.info.board, "model": run.model, "model_sha256": run.sha,
        "source": run.samples.source, "samples": len(lengths),
        "seq_len_median": float(np.median(lengths)), "seq_len_max": int(lengths.max()),
        "device_max_len": run.info.config["max_len"], "arena_bytes": run.info.arena_bytes,
        "quant_reference": run.quant_how, "bit_exact_quant": bit_exact,
        **_compare(run.device, run.fp32, "fp32"), **_compare(run.device, run.quant, "quant"),
        **_task_scores(run), **_cost(run), **tokenizer_summary(run)}
    if run.samples.owner is not None:
        n_win = np.bincount(run.samples.owner, minlength=len(lengths))
        s["windows_median"], s["windows_max"] = float(np.median(n_win)), int(n_win.max())
    rep = run.export_report
    if rep and rep.get("model_sha256") == run.sha:
        s["flash_bytes"] = rep.get("flash_bytes")
        s["weights_bytes"] = rep.get("weights_bytes")
    labels = [e.label if run.samples.task else None for e in run.samples.examples]
    fp32 = run.fp32 if run.fp32 is not None else [None] * len(lengths)
    s["per_sample"] = [
        {"T": int(T), "windows": len(w), "count": int(c), "label": lab, "device": d.tolist(),
         "quant": q.tolist(), "fp32": None if f is None else f.tolist()}
        for T, w, c, lab, d, q, f in zip(lengths, run.samples.lengths(), run.counts, labels,
                                         run.device, run.quant, fp32, strict=True)]
    return s


# ------------------------------------------------------------------------------ table

def _num(v: object, unit: str = "") -> str:
    if v is None:
        return "-"
    x = float(v)  # type: ignore[arg-type]
    for div, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " k")):
        if abs(x) >= div:
            return f"{x / div:.3g}{suffix}{unit}".rstrip()
    return f"{x:.4g}{' ' + unit if unit else ''}"


def _pct(v: object) -> str:
    return "-" if v is None else f"{100 * float(v):.1f}%"  # type: ignore[arg-type]


def _fmt(v: object, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def format_table(s: dict) -> str:
    unit = s["counter"]
    clock = f"{s['clock_hz'] / 1e6:g} MHz" if s.get("clock_hz") else "wall clock"
    note = ", 1 instr/cycle: a lower bound" if unit == "instructions" else ""
    C = 25  # width of the "vs quant simulation" column
    cos_q = f"{s['cosine_min_quant']:.6f} / {s['cosine_mean_quant']:.6f}"
    rows = [
        ("board", f"{s['board']} (arena {s['arena_bytes']:,} B, max_len {s['device_max_len']})"),
        ("model", f"{s['model']} (sha256 {s['model_sha256'][:16]}...)"),
        ("samples", f"{s['samples']} of {s['source']}, T median {s['seq_len_median']:g}, "
                    f"max {s['seq_len_max']}"),
        *([("windows per text", f"median {s['windows_median']:g}, max {s['windows_max']} "
                                "(logits: their mean; costs: their sum)")]
          if s.get("windows_max") else []),
        ("", f"{'vs quant simulation':<{C}}vs PyTorch fp32"),
        ("argmax agreement", f"{_pct(s['argmax_agreement_quant']):<{C}}"
                             f"{_pct(s['argmax_agreement_fp32'])}"),
        ("max abs logit error", f"{s['max_abs_err_quant']:<{C}.4g}"
                                f"{_fmt(s['max_abs_err_fp32'], '.4g')}"),
        ("mean abs logit error", f"{s['mean_abs_err_quant']:<{C}.4g}"
                                 f"{_fmt(s['mean_abs_err_fp32'], '.4g')}"),
        ("cosine min / mean", f"{cos_q:<{C}}{_fmt(s['cosine_min_fp32'], '.6f')} / "
                              f"{_fmt(s['cosine_mean_fp32'], '.6f')}"),
        ("bit-exact with simulation", _pct(s["bit_exact_quant"])),
    ]
    if s.get("metric"):
        m = s["metric"]
        rows.append((f"{m} device / fp32 / quant",
                     f"{s['metric_device']:.4f} / {_fmt(s['metric_fp32'], '.4f')} / "
                     f"{s['metric_quant']:.4f}"))
    rows += [
        (f"{unit}/inference", f"median {_num(s['count_median'])}, p95 {_num(s['count_p95'])}"),
        ("executed MACs/inference", f"median {_num(s['macs_median'])} (dense graph: "
                                    f"{_num(s['dense_macs_median'])})"),
        (f"{unit}/executed MAC",
         "-" if s["count_per_mac"] is None else f"{s['count_per_mac']:.2f}"),
        (f"latency ({clock}{note})",
         "-" if s["latency_ms_median"] is None else
         f"median {s['latency_ms_median']:.2f} ms, p95 {s['latency_ms_p95']:.2f} ms"),
    ]
    if s.get("ids_agreement") is not None:
        rows += [
            ("ids agreement (device tokenizer)", _pct(s["ids_agreement"])),
            (f"tokenize {unit}", f"median {_num(s[f'tokenize_{unit}_median'])}, p95 "
                                 f"{_num(s[f'tokenize_{unit}_p95'])} "
                                 f"({_pct(s['tokenize_share_of_total'])} of tokenize + infer)"),
            (f"tokenize {unit}/input byte",
             f"median {s[f'tokenize_{unit}_per_byte_median']:.1f}, p95 "
             f"{s[f'tokenize_{unit}_per_byte_p95']:.1f} (text median "
             f"{s['text_bytes_median']:g} B)"),
        ]
    if s.get("flash_bytes"):
        rows.append(("model data in flash", f"{s['flash_bytes']:,} B"))
    w = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{w}}  {v}" for k, v in rows)
