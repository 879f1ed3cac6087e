"""Instruction-exact benchmarks of the C runtime on the emulated Cortex-M boards (make bench).

    python -m embbert.perf [--model models/sst2.pt] [--out docs] [--quick]

For each QEMU board (qemu-m4, qemu-m7) and kernel set (ref, cortexm) it builds
tools/bench/bench_fw.c with the runtime and the exported model, runs it under -icount (one
instruction = 2^10 ns of virtual time, counted by the CMSDK timer) and reads, per sequence
length, instructions per inference, the per-stage split (a second build with -DEBQ_PROFILE),
peak stack (painting) and arena bytes. The logits of every build are checked against the
Python simulation bit for bit. perf_host.py adds the host comparison; report.py writes
docs/BENCHMARKS.md, docs/benchmarks.json and the SVG plot.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .boards import load_board
from .errors import EmbBertError
from .fwbuild import FIRMWARE, MPS2_CPU, NUMERICS, REPO, RUNTIME, _compile_and_link, runtime_sources
from .qemu import load_board as load_board_toml

LENGTHS = (16, 32, 64, 128, 256)
STAGES = ("embedding", "norm", "q", "scores+softmax+sum", "out", "conv", "pointwise",
          "classifier")   # ebq_stage order (EMBED, NORM, Q, ATTN, OUT, CONV, PW, CLASSIFIER)
BENCH_FW = REPO / "tools" / "bench" / "bench_fw.c"
BUILD = REPO / "build" / "perf"
STRICT = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-Wdouble-promotion", "-Wconversion",
          "-Wshadow"]
LINE = re.compile(r"^T (\d+) instr (\d+) stack (\d+) arena (\d+) logits ([0-9a-f,]+) "
                  r"stages ?([0-9,]*)$")


@dataclass
class Run:
    """One board x kernel set x build: per T the instruction count, stack, arena, logits."""
    board: str
    kernels: str
    profile: bool
    rows: dict[int, dict] = field(default_factory=dict)


def bench_ids(vocab_size: int, T: int) -> tuple[np.ndarray, np.ndarray]:
    """The token ids bench_fw.c uses (same LCG): [CLS] w ... w [SEP], segment 1."""
    seed, ids = 12345, []
    for _ in range(T):
        seed = (seed * 1664525 + 1013904223) & 0xFFFFFFFF
        ids.append(5 + (seed >> 8) % (vocab_size - 5))
    ids[0], ids[T - 1] = 2, 4
    return np.array(ids, np.int64), np.ones(T, np.int64)


def build_bench_elf(board: str, kernels: str, generated: Path, out: Path,
                    profile: bool = False) -> Path:
    """bench_fw.c + runtime (src/arch/<kernels> over src/ref) + model for a QEMU mps2 board."""
    if board not in MPS2_CPU:
        raise EmbBertError(f"no mps2 build for {board}")
    plat = FIRMWARE / "platform" / "mps2"
    inc = [f"-I{FIRMWARE / 'src'}", f"-I{plat}", f"-I{generated}", f"-I{RUNTIME / 'include'}",
           f"-I{RUNTIME / 'src'}"]
    machine = ["-mthumb", "-mfloat-abi=hard", *MPS2_CPU[board]]
    common = machine + ["-O2", "-g", "-ffunction-sections", "-fdata-sections"] + NUMERICS
    defs = ["-DEBQ_PROFILE"] if profile else []
    glue = [plat / n for n in ("startup_mps2.c", "platform_mps2.c", "counter_cmsdk.c",
                               "uart_cmsdk.c")]
    groups = [([BENCH_FW, *runtime_sources(RUNTIME, kernels)], STRICT + inc + defs),
              (glue + [generated / "model_data.c"], ["-std=c11", "-Wall", "-Wextra"] + inc)]
    link = ["-nostartfiles", f"-T{plat / 'mps2.ld'}", "-Wl,--gc-sections",
            "--specs=nano.specs", "--specs=nosys.specs", "-lm"]
    out.parent.mkdir(parents=True, exist_ok=True)
    return _compile_and_link(out, "arm-none-eabi-gcc", groups, common, link)


def run_bench_elf(board: str, elf: Path, timeout: float = 300.0) -> list[str]:
    """Runs the ELF under the board's QEMU command (-icount) and returns its UART lines."""
    cmd = list(load_board_toml(board)["emulator"]["command"])
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
            run.rows[T] = {"instr": int(m[2]), "stack": int(m[3]), "arena": int(m[4]),
                           "logits": [int(h, 16) for h in m[5].split(",")],
                           "stages": [int(v) for v in m[6].split(",")] if m[6] else []}
    return run


def measure(board: str, kernels: str, generated: Path, work: Path, profile: bool) -> Run:
    tag = f"{board}-{kernels}{'-prof' if profile else ''}"
    elf = build_bench_elf(board, kernels, generated, work / tag / "bench.elf", profile)
    return parse(run_bench_elf(board, elf), Run(board, kernels, profile))


def export_for(board: str, mq, sha: str, work: Path) -> Path:
    from .exporter import export_quantized
    gen = work / f"gen-{board}"
    res = export_quantized(mq, load_board(board), gen, sha256=sha)
    if res.out_dir is None:
        raise EmbBertError(f"model does not fit {board}:\n{res.table}")
    return gen


KERNELS_FW = REPO / "tools" / "bench" / "kernels_fw.c"


def kernel_counts(board: str, kernels: str, work: Path = BUILD) -> dict[str, tuple[int, int]]:
    """{kernel: (instructions per call, MACs or elements per call)} from tools/bench/kernels_fw.c."""
    plat = FIRMWARE / "platform" / "mps2"
    inc = [f"-I{FIRMWARE / 'src'}", f"-I{plat}", f"-I{RUNTIME / 'include'}", f"-I{RUNTIME / 'src'}"]
    machine = ["-mthumb", "-mfloat-abi=hard", *MPS2_CPU[board]]
    common = machine + ["-O2", "-g", "-ffunction-sections", "-fdata-sections"] + NUMERICS
    glue = [plat / n for n in ("startup_mps2.c", "platform_mps2.c", "counter_cmsdk.c",
                               "uart_cmsdk.c")]
    srcs = [s for s in runtime_sources(RUNTIME, kernels) if s.parent.name != "src"]
    groups = [([KERNELS_FW, *srcs], STRICT + inc), (glue, ["-std=c11", "-Wall"] + inc)]
    link = ["-nostartfiles", f"-T{plat / 'mps2.ld'}", "-Wl,--gc-sections",
            "--specs=nano.specs", "--specs=nosys.specs", "-lm"]
    elf = _compile_and_link(work / f"kernels-{board}-{kernels}" / "kernels.elf",
                            "arm-none-eabi-gcc", groups, common, link)
    out = {}
    for ln in run_bench_elf(board, elf):
        parts = ln.split()
        if len(parts) == 3:
            out[parts[0]] = (int(parts[1]), int(parts[2]))
    return out
