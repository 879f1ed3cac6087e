"""Instruction counts of the C runtime on the emulated Cortex-M boards: build tools/bench/bench_fw.c
with the runtime and an exported model, run it under QEMU -icount and parse its UART lines
(instructions, per-stage split, stack, arena, logits per sequence length). perf.run drives it.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..boards import load_board
from ..cbuild import build_program
from ..device.qemu import emulator_command
from ..errors import EmbBertError
from ..paths import REPO

LENGTHS = (16, 32, 64, 128, 256)
STAGES = ("embedding", "norm", "q", "scores+softmax+sum", "out", "conv", "pointwise",
          "classifier")   # ebq_stage order (EMBED, NORM, Q, ATTN, OUT, CONV, PW, CLASSIFIER)
BENCH_FW = REPO / "tools" / "bench" / "bench_fw.c"
BUILD = REPO / "build" / "perf"
LINE = re.compile(r"^T (\d+)(?: text (\d+))? instr (\d+) stack (\d+) arena (\d+) "
                  r"logits ([0-9a-f,]+) stages ?([0-9,]*)$")
N_TEXTS = 9         # real-text rows: the median of 9 is one of them, robust to one odd review


@dataclass
class Run:
    """One board x kernel set x build: per T the instruction count, stack, arena, logits
    (texts: per T one such row per real-text input, in input order)."""
    board: str
    kernels: str
    profile: bool
    rows: dict[int, dict] = field(default_factory=dict)
    texts: dict[int, list[dict]] = field(default_factory=dict)


def bench_ids(vocab_size: int, T: int, repeat: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The token ids bench_fw.c uses (same LCG): [CLS] w ... w [SEP], segment 1; repeat: every
    w the first one (EBQ_BENCH_REPEAT)."""
    seed, ids = 12345, []
    for _ in range(T):
        seed = (seed * 1664525 + 1013904223) & 0xFFFFFFFF
        ids.append(5 + (seed >> 8) % (vocab_size - 5))
    if repeat:
        ids[2:] = [ids[1]] * (T - 2)
    ids[0], ids[T - 1] = 2, 4
    return np.array(ids, np.int64), np.ones(T, np.int64)


def real_text_ids(tokenizer_json: str, max_len: int, n: int = N_TEXTS) -> list[list[int]]:
    """n real inputs for every T up to max_len: [CLS] and the first max_len - 1 word pieces of
    IMDb test reviews at least that long, evenly spaced over the file (movie reviews: the
    domain of the bundled SST-2 model). At length T the device sees [CLS], the first T - 2
    pieces and [SEP], as for any text the tokenizer truncates."""
    from ..data import load_split
    from ..tokenizer import CLS_ID, from_json
    enc = from_json(tokenizer_json)
    reviews = [e.text_a for e in load_split("imdb", "test")]
    long = [p for p in enc.pieces(reviews) if len(p) >= max_len - 1]
    if len(long) < n:
        raise EmbBertError(f"imdb/test has only {len(long)} reviews of {max_len - 1}+ tokens")
    step = len(long) // n
    return [[CLS_ID, *long[i * step][:max_len - 1]] for i in range(n)]


def write_text_header(texts: list[list[int]], path: Path) -> Path:
    """bench_text.h for bench_fw.c (EBQ_BENCH_TEXT_H)."""
    rows = ",\n".join("    {" + ", ".join(map(str, t)) + "}" for t in texts)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("/* real-text inputs, written by exporter/embbert/perf/counts.py */\n"
                    f"#define EBQ_BENCH_TEXTS {len(texts)}u\n"
                    f"static const uint16_t bench_text[EBQ_BENCH_TEXTS][EBQ_MAX_LEN] = {{\n"
                    f"{rows}\n}};\n")
    return path


def build_bench_elf(board: str, kernels: str, generated: Path, out: Path,
                    profile: bool = False, lengths=LENGTHS, repeat: bool = False,
                    text_h: Path | None = None) -> Path:
    """bench_fw.c + runtime (src/arch/<kernels> over src/ref) + model for an emulated board;
    repeat: the one-token input; text_h: the real-text inputs of that header."""
    defs = (["EBQ_PROFILE"] if profile else []) + (["EBQ_BENCH_REPEAT"] if repeat else []) + [
        "EBQ_BENCH_LENGTHS=" + ",".join(str(T) for T in lengths)] + (
        [f'EBQ_BENCH_TEXT_H="{text_h.resolve()}"'] if text_h else [])
    return build_program(board, out, [BENCH_FW], kernels=kernels, generated_dir=generated,
                         defines=defs)


def run_bench_elf(board: str, elf: Path, timeout: float = 300.0) -> list[str]:
    """Runs the ELF under the board's QEMU command (-icount) and returns its UART lines."""
    cmd = emulator_command(board)
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "uart.txt"
        cmd += ["-kernel", str(elf), "-serial", f"file:{log}"]
        try:
            subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout,
                           check=False)
        except subprocess.TimeoutExpired:
            raise EmbBertError(f"{board}: {elf.name} did not finish in {timeout:g} s") from None
        text = log.read_text() if log.exists() else ""
    lines = text.splitlines()
    if "END" not in lines:
        raise EmbBertError(f"{board}: {elf.name} stopped early:\n{text[-500:]}")
    return lines


def parse(lines: list[str], run: Run) -> Run:
    for ln in lines:
        m = LINE.match(ln.strip())
        if ln.startswith("T ") and not m:
            raise EmbBertError(f"{run.board}/{run.kernels}: {ln}")
        if m:
            T = int(m[1])
            row = {"instr": int(m[3]), "stack": int(m[4]), "arena": int(m[5]),
                   "logits": [int(h, 16) for h in m[6].split(",")],
                   "stages": [int(v) for v in m[7].split(",")] if m[7] else []}
            if m[2] is None:
                run.rows[T] = row
            else:
                run.texts.setdefault(T, []).append(row)
    return run


def measure(board: str, kernels: str, generated: Path, work: Path, profile: bool,
            lengths=LENGTHS, repeat: bool = False, text_h: Path | None = None) -> Run:
    tag = (f"{board}-{kernels}{'-prof' if profile else ''}{'-repeat' if repeat else ''}"
           f"{'-text' if text_h else ''}")
    elf = build_bench_elf(board, kernels, generated, work / tag / "bench.elf", profile, lengths,
                          repeat, text_h)
    return parse(run_bench_elf(board, elf), Run(board, kernels, profile))


def export_for(board: str, mq, sha: str, work: Path) -> Path:
    from ..export.exporter import export_quantized
    gen = work / f"gen-{board}"
    res = export_quantized(mq, load_board(board), gen, sha256=sha)
    if res.out_dir is None:
        raise EmbBertError(f"model does not fit {board}:\n{res.table}")
    return gen


KERNELS_FW = REPO / "tools" / "bench" / "kernels_fw.c"


def kernel_counts(board: str, kernels: str, work: Path = BUILD) -> dict[str, tuple[int, int]]:
    """{kernel: (instructions per call, MACs or elements per call)}: tools/bench/kernels_fw.c."""
    elf = build_program(board, work / f"kernels-{board}-{kernels}" / "kernels.elf",
                        [KERNELS_FW], kernels=kernels, kernels_only=True)
    out = {}
    for ln in run_bench_elf(board, elf):
        parts = ln.split()
        if len(parts) == 3:
            out[parts[0]] = (int(parts[1]), int(parts[2]))
    return out


# ------------------------------------------------------------------------------ the whole run

# docs/MODEL.md reference numbers: TFLite Micro + CMSIS-NN on the M4 (QEMU icount) and the host
TFLM = {64: (82.5e6, 136), 128: (204e6, 243), 256: (567e6, 456)}   # instructions, arena KB
HOST_ANCHOR_MS = {"pytorch": 5.4, "ort_fp32": 2.4, "ort_int8": 2.1}    # T = 128


def stage_macs(cfg, T: int) -> list[int]:
    """MACs per ebq_stage (STAGES order) as the runtime executes them (macs.py's counts)."""
    from ..macs import _conv_taps
    d, rd, N, k, a, C = (cfg.d_model, cfg.reduced_dim, cfg.n_layers, cfg.conv_kernel,
                         cfg.expansion, cfg.num_labels)
    m = [T * 2 * d * rd, 0, 0, 0, 0, 0, 0, C * d]
    for layer in range(N):
        R = 1 if layer == N - 1 else T
        m[2] += R * d * d
        m[3] += 2 * R * T * d
        m[4] += R * d * d
        m[5] += a * d * _conv_taps(R, k)
        m[6] += R * a * d * d
    return m
