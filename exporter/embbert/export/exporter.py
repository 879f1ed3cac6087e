"""Checkpoint -> firmware/generated/{model_data.h, model_data.c, export_report.json,
quantized_model.npz}.

Jinja2 templates (StrictUndefined) in embbert/export/templates/; every number is formatted here
so the output is byte-identical for the same input (no dates, no dict-order surprises, floats as
FP16 bit patterns or exact hex floats). outdir.write_export puts them in place: only the
exporter's own files are replaced, all at once, so a failure leaves the old export or the new.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import jinja2
import numpy as np

from .. import __version__
from ..boards import Board
from ..quant import store
from ..quant.numerics import hex_f32
from ..quant.quantize import QTensor, QuantModel
from .arena import plan_for
from .format import FORMAT_VERSION, MAGIC, TARGET_PTR
from .layout import struct_layout
from .outdir import write_export
from .preflight import check_fits, export_length

REPORT_SEQ_LENS = (64, 128, 256)
TEMPLATES = Path(__file__).resolve().parent / "templates"


def default_out_dir() -> Path:
    from ..paths import REPO as repo
    if (repo / "runtime_c").is_dir():
        return repo / "firmware" / "generated"
    return Path.cwd() / "firmware" / "generated"


@dataclass
class ExportResult:
    out_dir: Path | None
    report: dict
    table: str


# ------------------------------------------------------------------------- C array rendering

class _Arrays:
    """Collects the data arrays of model_data.c in a fixed order."""

    def __init__(self, const: bool):
        self.items: list[dict] = []
        self.tensors: list[tuple[str, int]] = []
        self.const = const
        self.padded_bytes = 0          # arrays are 16-byte aligned: what they occupy in flash

    def add(self, cname: str, ctype: str, arr: np.ndarray, comment: str) -> str:
        flat = np.ascontiguousarray(arr).reshape(-1)
        if flat.size == 0:
            return "0"
        if ctype == "uint16_t":
            vals = [f"0x{int(v):04x}" for v in flat.tolist()]
            per = 16
        elif ctype == "float":
            vals = [hex_f32(v) for v in flat.tolist()]
            per = 6
        else:
            vals = [str(int(v)) for v in flat.tolist()]
            per = 24
        self.padded_bytes += -(-flat.nbytes // 16) * 16
        lines = [", ".join(vals[i:i + per]) for i in range(0, len(vals), per)]
        self.items.append({"name": cname, "ctype": ctype, "count": int(flat.size),
                           "comment": comment, "body": ",\n    ".join(lines)})
        return cname

    def qtensor(self, cname: str, t: QTensor, label: str, dw_a: int = 0) -> dict:
        shape = f"[{t.rows}][{t.cols}]"
        ow_shape = (f"[{t.n_outliers * dw_a}][{t.cols}]" if dw_a else
                    f"[{t.rows}][{t.n_outliers}]")
        d = {
            "q": self.add(f"{cname}_q", "int8_t", t.q, f"{label} int8 {shape}"),
            "scale": self.add(f"{cname}_scale", "uint16_t", t.scale,
                              f"{label} FP16 block scales [{t.rows}][{t.n_blocks}]"),
            "outlier_idx": self.add(f"{cname}_oidx", "uint16_t", t.outlier_idx,
                                    f"{label} outlier channels [{t.n_outliers}]"),
            "outlier_w": self.add(f"{cname}_ow", "uint16_t", t.outlier_w,
                                  f"{label} FP16 outlier table {ow_shape}"),
            "bias": (self.add(f"{cname}_bias", "float", t.bias, f"{label} bias [{t.rows}]")
                     if t.bias is not None else "0"),
            "rows": t.rows, "cols": t.cols, "block": t.block, "n_blocks": t.n_blocks,
            "n_outliers": t.n_outliers,
        }
        self.tensors.append((label, t.nbytes()))
        return d


def _sha_bytes(sha: str) -> str:
    if len(sha) != 64:
        sha = "0" * 64
    b = bytes.fromhex(sha)
    return ", ".join(f"0x{x:02x}" for x in b)


def render(mq: QuantModel, board: Board, sha256: str, arena_bytes: int,
           tokenizer_c: str = "", tokenizer_h: str = "#define EBQ_HAS_TOKENIZER 0\n",
           labels: list[str] | None = None) -> tuple[str, str, list, int]:
    cfg = mq.config
    arr = _Arrays(const=board.weights_placement == "flash")
    emb = []
    arr.add("tok_q", "int8_t", mq.tok_q, f"embed.tok int8 [{cfg.vocab_size}][{cfg.reduced_dim}]")
    arr.add("tok_scale", "uint16_t", mq.tok_s, f"embed.tok FP16 row scales [{cfg.vocab_size}]")
    emb.append(("embed.tok", mq.tok_q.nbytes + mq.tok_s.nbytes))
    arr.add("pos_q", "int8_t", mq.pos_q, f"embed.pos int8 [{cfg.max_len}][{cfg.reduced_dim}]")
    arr.add("pos_scale", "uint16_t", mq.pos_s, f"embed.pos FP16 row scales [{cfg.max_len}]")
    emb.append(("embed.pos", mq.pos_q.nbytes + mq.pos_s.nbytes))
    arr.tensors.extend(emb)
    tok_proj = arr.qtensor("tok_proj", mq.tok_proj, "embed.tok_proj")
    pos_proj = arr.qtensor("pos_proj", mq.pos_proj, "embed.pos_proj")
    arr.add("seg", "float", mq.seg, f"embed.seg float32 [3][{cfg.d_model}]")
    arr.tensors.append(("embed.seg", mq.seg.nbytes))
    layers = []
    for i, L in enumerate(mq.layers):
        p = f"layers.{i}."
        layers.append({
            "q": arr.qtensor(f"l{i}_q", L.q, p + "attn.q"),
            "out": arr.qtensor(f"l{i}_out", L.out, p + "attn.out"),
            "dw": arr.qtensor(f"l{i}_dw", L.dw, p + "conv.dw", dw_a=cfg.expansion),
            "pw": arr.qtensor(f"l{i}_pw", L.pw, p + "conv.pw"),
            "h_scale": hex_f32(L.h_scale), "h_inv": hex_f32(L.h_inv)})
    classifier = arr.qtensor("cls", mq.classifier, "classifier")
    stamp = {
        "generator": f"embbert-export {__version__}", "sha256": sha256 or "unknown",
        "board": board.name, "format_version": FORMAT_VERSION,
        "quant_version": int(mq.meta.get("quant_version", 1)),
        "threshold": repr(float(mq.meta.get("threshold", 0.0))),
        "max_outliers": int(mq.meta.get("max_outliers", 0)),
    }
    attr = "__attribute__((aligned(16)))"
    if board.weights_section:
        attr += f' __attribute__((section("{board.weights_section}")))'
    arena_attr = "__attribute__((aligned(16)))"
    if board.arena_section:
        arena_attr += f' __attribute__((section("{board.arena_section}")))'
    ctx = {
        "stamp": stamp, "cfg": cfg.to_dict(), "arena_bytes": arena_bytes,
        "clock_hz": int(board.clock_hz), "board": board, "arrays": arr.items,
        "const": "const " if arr.const else "", "weights_attr": attr, "arena_attr": arena_attr,
        "magic": f"0x{MAGIC:08x}u", "sha_bytes": _sha_bytes(sha256),
        "max_outliers": mq.max_outliers(), "max_h_outliers": mq.max_h_outliers(),
        "rms_eps": hex_f32(mq.rms_eps), "tok_proj": tok_proj, "pos_proj": pos_proj,
        "layers": layers, "classifier": classifier, "n_layers": len(layers),
        "tokenizer_c": tokenizer_c, "tokenizer_h": tokenizer_h,
        "labels": label_names(labels or [], cfg.num_labels),
    }
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             trim_blocks=True, lstrip_blocks=True)
    h = env.get_template("model_data.h.j2").render(**ctx)
    c = env.get_template("model_data.c.j2").render(**ctx)
    return h, c, arr.tensors, arr.padded_bytes


def label_list(labels: list[str], n: int) -> list[str]:
    """The n label names: the checkpoint's, "label k" where it has none."""
    return list(labels[:n]) + [f"label {k}" for k in range(len(labels), n)]


def label_names(labels: list[str], n: int) -> list[str]:
    """C string literals of the label names (UTF-8 bytes, escaped)."""
    return ['"' + name.encode("utf-8").decode("latin-1").translate(_C_ESCAPE) + '"'
            for name in label_list(labels, n)]


_C_ESCAPE = {**{i: f"\\{i:03o}" for i in range(256) if not 32 <= i < 127},
             ord('"'): '\\"', ord("\\"): "\\\\", ord("?"): "\\?"}


# ------------------------------------------------------------------------------------ report

def build_report(mq: QuantModel, board: Board, sha256: str, tensors: list,
                 checkpoint: str, padded_bytes: int | None = None,
                 tokenizer: dict | None = None, labels: list[str] | None = None) -> dict:
    cfg = mq.config
    weights = sum(b for _, b in tensors)
    wsec = board.weights_placement
    up = lambda n: -(-n // 16) * 16  # noqa: E731  (each object may start 16-byte aligned)
    desc = up(struct_layout("ebq_model", TARGET_PTR)["sizeof"]) + \
        up(len(mq.layers) * struct_layout("ebq_layer", TARGET_PTR)["sizeof"])
    arena = plan_for(mq, cfg.max_len).total
    seq = {str(T): plan_for(mq, T).total for T in REPORT_SEQ_LENS if T <= cfg.max_len}
    seq.setdefault(str(cfg.max_len), arena)
    data = weights if padded_bytes is None else padded_bytes   # with 16-byte alignment
    tok = tokenizer or {"enabled": False}
    tok_flash = tok.get("flash_bytes", 0) if tok["enabled"] else 0
    names = label_list(labels or [], cfg.num_labels)
    # the label strings (UTF-8 with NUL) and their pointer table
    label_bytes = sum(len(n.encode()) + 1 for n in names) + TARGET_PTR * len(names)
    flash = (data if wsec == "flash" else 0) + desc + tok_flash + label_bytes
    asec = board.arena_placement
    rows = [{"name": n, "bytes": int(b), "section": wsec} for n, b in tensors]
    rows.append({"name": "model descriptors (ebq_model, ebq_layer)", "bytes": desc,
                 "section": "flash"})
    if data > weights:
        rows.append({"name": "alignment padding (16-byte arrays)", "bytes": data - weights,
                     "section": wsec})
    rows.append({"name": "label names", "bytes": label_bytes, "section": "flash"})
    if tok_flash:
        rows.append({"name": "tokenizer tables (Unicode + vocabulary)", "bytes": tok_flash,
                     "section": "flash"})
    rows.append({"name": f"arena (T = {cfg.max_len})", "bytes": arena, "section": asec})
    thr = float(mq.meta.get("threshold", 0.0))
    # the tokenizer's working memory is lent by the arena (tokenizing ends before inference)
    tok_ram = tok.get("ram_bytes", 0) if tok["enabled"] else 0
    ram_used = max(arena, tok_ram) + (data if wsec == "sram" else 0)
    fits = (flash <= board.flash_capacity()) and (ram_used <= board.arena_capacity())
    return {"board": board.name, "format_version": FORMAT_VERSION,
            "model_sha256": sha256, "weights_bytes": int(weights), "flash_bytes": int(flash),
            "arena_bytes": int(arena), "arena_bytes_by_seq_len": seq, "fits": bool(fits),
            "tensors": rows, "checkpoint": checkpoint, "tokenizer": tok,
            # how it was quantized, so embbert-bench can rebuild the bit-exact simulation
            "quantization": {"max_len": int(cfg.max_len),
                             "threshold": (None if math.isinf(thr) else thr),
                             "max_outliers": int(mq.meta.get("max_outliers", 0)),
                             "calibration": str(mq.meta.get("calibration", ""))}}


def format_table(report: dict, board: Board) -> str:
    w = max(len(r["name"]) for r in report["tensors"])
    lines = [f"{'tensor':<{w}}  {'bytes':>9}  section", "-" * (w + 20)]
    for r in report["tensors"]:
        lines.append(f"{r['name']:<{w}}  {r['bytes']:>9,}  {r['section']}")
    lines.append("-" * (w + 20))
    fl_cap, ar_cap = board.flash_capacity(), board.arena_capacity()
    lines.append(f"{'weights':<{w}}  {report['weights_bytes']:>9,}  "
                 f"({report['weights_bytes'] / 1000:.1f} kB)")
    lines.append(f"{'flash (model data)':<{w}}  {report['flash_bytes']:>9,}  "
                 f"of {fl_cap:,} available on {board.name} "
                 f"({board.flash_bytes:,} - {board.reserved_flash_bytes:,} for code)")
    where = board.arena_placement + (f", {board.arena_region}" if board.arena_region else "")
    lines.append(f"{'arena':<{w}}  {report['arena_bytes']:>9,}  "
                 f"({report['arena_bytes'] / 1024:.1f} KiB) of {ar_cap:,} available ({where})")
    by = ", ".join(f"T={k}: {v:,}" for k, v in report["arena_bytes_by_seq_len"].items())
    lines.append(f"{'arena by length':<{w}}  {by}")
    tok = report.get("tokenizer") or {"enabled": False}
    lines.append(f"{'on-device tokenizer':<{w}}  " + (
        f"{tok['flash_bytes']:>9,}  flash, {tok['ram_bytes']:,} B working memory (arena)"
        + ("; long texts: mean of max_len windows" if tok.get("windows") else "")
        if tok["enabled"] else f"{'-':>9}  {tok.get('reason', 'off')}"))
    lines.append(f"fits {board.name}: {'yes' if report['fits'] else 'NO'}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------- write files

# platformio.ini reads this file through extra_configs, so plain `pio run -t upload` builds the
# env of the board the model was exported for.
PIO_CONFIG = "platformio_board.ini"


def pio_config(board: Board) -> str:
    return (f"; Written by embbert-export for board {board.name}: plain `pio run` and\n"
            f"; `pio run -t upload` build its env (platformio.ini reads this file).\n"
            f"[platformio]\ndefault_envs = {board.pio_env}\n")


def export_quantized(mq: QuantModel, board: Board, out_dir: Path | None, *, sha256: str = "",
                     checkpoint: str = "", tokenizer_json: str = "",
                     tokenizer: str | None = None, labels: list[str] | None = None,
                     windows: bool = False) -> ExportResult:
    """Render, plan and (when it fits and out_dir is given) write the generated files.
    `tokenizer` (auto/on/off, default the board's) adds the on-device tokenizer tables;
    `windows` makes them classify long single texts by the mean of their windows."""
    from ..model import CLS_ID, SEP_ID
    from .tokenizer_tables import for_export
    arena = plan_for(mq, mq.config.max_len).total
    _, _, tensors, padded = render(mq, board, sha256, arena)
    model_flash = build_report(mq, board, sha256, tensors, checkpoint, padded,
                               labels=labels)["flash_bytes"]
    tok_c, tok_h, tok = for_export(tokenizer_json, tokenizer or board.tokenizer,
                                   board.flash_capacity() - model_flash,
                                   board.arena_capacity(), CLS_ID, SEP_ID, windows)
    h, c, tensors, padded = render(mq, board, sha256, arena, tok_c, tok_h, labels)
    report = build_report(mq, board, sha256, tensors, checkpoint, padded, tok, labels)
    table = format_table(report, board)
    if not report["fits"] or out_dir is None:
        return ExportResult(out_dir=None, report=report, table=table)
    files = {"model_data.h": h, "model_data.c": c,
             "export_report.json": json.dumps(report, indent=2) + "\n",
             store.FILE_NAME: store.to_bytes(mq)}
    if board.pio_env:
        files[PIO_CONFIG] = pio_config(board)
    write_export(Path(out_dir), {n: t if isinstance(t, bytes) else t.encode()
                                 for n, t in files.items()})
    return ExportResult(out_dir=Path(out_dir), report=report, table=table)


def export(ckpt_path: str | os.PathLike, board: Board, out_dir: Path | None = None, *,
           max_len: int | None = None, calib=None, threshold: float | None = None,
           max_outliers: int | None = None, config_path: str | None = None,
           tokenizer: str | None = None, windows: bool | None = None
           ) -> tuple[ExportResult, QuantModel]:
    """Load, quantize (calibrating on `calib`, the task's training text, or random text) and
    export a checkpoint. The QuantModel's meta["calibration"] says which. windows: None = as
    the checkpoint was finetuned (embbert-train finetune --windows)."""
    from ..checkpoint import file_sha256, load
    from ..quant.as_exported import quantize_as_exported
    ckpt = load(ckpt_path, config_path)
    windows = export_windows(ckpt, windows)
    L = export_length(ckpt.config, max_len)
    check_fits(ckpt.config, board, L, max_outliers)
    sha = file_sha256(ckpt_path)
    mq = quantize_as_exported(ckpt, max_len=max_len, calib=calib, threshold=threshold,
                              max_outliers=max_outliers, sha256=sha)
    res = export_quantized(mq, board, out_dir if out_dir is not None else default_out_dir(),
                           sha256=sha, checkpoint=str(Path(ckpt_path).resolve()),
                           tokenizer_json=ckpt.tokenizer or "", tokenizer=tokenizer,
                           labels=list(ckpt.labels or []), windows=windows)
    return res, mq


def export_windows(ckpt, windows: bool | None) -> bool:
    """The windows flag the device gets: the checkpoint's unless overridden; never for pairs."""
    from ..data import TASKS
    from ..errors import EmbBertError
    from ..train.evaluate import uses_windows
    task = TASKS.get(ckpt.task or "")
    if windows and task is not None and task.pair:
        raise EmbBertError(f"--windows applies to single-text tasks; {task.name} has pairs")
    return uses_windows(ckpt) if windows is None else windows

