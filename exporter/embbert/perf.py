"""Instruction-exact benchmarks of the C runtime on the emulated Cortex-M boards (make bench).

    python -m embbert.perf [--model models/sst2.pt] [--out docs]
    python -m embbert.perf --only qemu-m4/cortexm --lengths 128   # a quick look, no report

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
from .fwbuild import (
    FIRMWARE,
    MPS2_CPU,
    NUMERICS,
    REPO,
    RUNTIME,
    _compile_and_link,
    board_kernels,
    runtime_sources,
)
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
                    profile: bool = False, lengths=LENGTHS) -> Path:
    """bench_fw.c + runtime (src/arch/<kernels> over src/ref) + model for a QEMU mps2 board."""
    if board not in MPS2_CPU:
        raise EmbBertError(f"no mps2 build for {board}")
    plat = FIRMWARE / "platform" / "mps2"
    inc = [f"-I{FIRMWARE / 'src'}", f"-I{plat}", f"-I{generated}", f"-I{RUNTIME / 'include'}",
           f"-I{RUNTIME / 'src'}"]
    machine = ["-mthumb", "-mfloat-abi=hard", *MPS2_CPU[board]]
    common = machine + ["-O2", "-g", "-ffunction-sections", "-fdata-sections"] + NUMERICS
    defs = (["-DEBQ_PROFILE"] if profile else []) + [
        "-DEBQ_BENCH_LENGTHS=" + ",".join(str(T) for T in lengths)]
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


def measure(board: str, kernels: str, generated: Path, work: Path, profile: bool,
            lengths=LENGTHS) -> Run:
    tag = f"{board}-{kernels}{'-prof' if profile else ''}"
    elf = build_bench_elf(board, kernels, generated, work / tag / "bench.elf", profile, lengths)
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
    """{kernel: (instructions per call, MACs or elements per call)}: tools/bench/kernels_fw.c."""
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


# ------------------------------------------------------------------------------ the whole run

# QEMU board -> the real board whose clock turns its instruction counts into an estimate
REAL_CLOCK = {"qemu-m4": "nucleo-f446re", "qemu-m7": "nucleo-h743zi"}
# DESIGN.md anchors: TFLite Micro + CMSIS-NN on the M4 (QEMU icount) and the host
TFLM = {64: (82.5e6, 136), 128: (204e6, 243), 256: (567e6, 456)}   # instructions, arena KB
HOST_ANCHOR_MS = {"pytorch": 5.4, "ort_fp32": 2.4, "ort_int8": 2.1}    # T = 128


def stage_macs(cfg, T: int) -> list[int]:
    """MACs per ebq_stage (STAGES order) as the runtime executes them (macs.py's counts)."""
    from .macs import _conv_taps
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


def bench_checkpoint(model: Path | None, work: Path):
    """(checkpoint, path, description): the given model, models/sst2.pt, or random weights."""
    from .checkpoint import load, save
    from .model import EmbBertConfig
    from .quant.testing import random_checkpoint
    for p in ([model] if model else []) + [REPO / "models" / "sst2.pt"]:
        if p and Path(p).is_file():
            return load(p), Path(p), f"{Path(p).name} (trained checkpoint)"
    path = work / "random-default.pt"
    ck = random_checkpoint(EmbBertConfig(), seed=0)
    save(ck, path)
    return load(path), path, ("random trained-like weights (quant.testing.random_checkpoint, "
                              "seed 0; default config): no trained models/sst2.pt here")


def run_all(model: Path | None = None, lengths=LENGTHS, host: bool = True,
            work: Path = BUILD, echo=print, only: list[str] | None = None) -> dict:
    """The whole benchmark; `only` ("qemu-m4/cortexm", ...) restricts the QEMU builds."""
    from .checkpoint import file_sha256
    from .macs import dense_macs, runtime_macs
    from .quant import quantize
    from .quant.testing import limit_threads
    limit_threads()
    work.mkdir(parents=True, exist_ok=True)
    ck, path, desc = bench_checkpoint(model, work)
    cfg = ck.config
    lengths = [T for T in lengths if T <= cfg.max_len]
    sha = file_sha256(path)
    from .exporter import default_calibration
    calib, how = default_calibration(ck, cfg.max_len, n=64)    # the task's text when it has one
    echo(f"model: {desc}; quantizing (calibration: {how}) ...")
    mq = quantize(ck, calib, sha256=sha)
    want = {T: mq.logits(*bench_ids(cfg.vocab_size, T)).view(np.uint32).tolist()
            for T in lengths}
    res: dict = {"model": desc, "calibration": how, "config": cfg.to_dict(),
                 "lengths": lengths,
                 "outliers": {"hn": [len(L.h_outliers) for L in mq.layers],
                              "u": [len(L.u_outliers) for L in mq.layers],
                              "cls": len(mq.x_outliers)},
                 "macs_dense": {T: dense_macs(cfg, T) for T in lengths},
                 "macs_runtime": {T: runtime_macs(cfg, T) for T in lengths},
                 "stage_macs": {T: stage_macs(cfg, T) for T in lengths},
                 "qemu": {}, "clock": {}}
    for board in ("qemu-m4", "qemu-m7"):
        if only and not any(o.startswith(board + "/") for o in only):
            continue
        gen = export_for(board, mq, sha, work)
        real = load_board(REAL_CLOCK[board])
        res["clock"][board] = {"board": real.name, "clock_hz": real.clock_hz}
        for kernels in ("ref", "cortexm"):
            if only and f"{board}/{kernels}" not in only:
                continue
            echo(f"{board} {kernels}: building and running under QEMU -icount ...")
            plain = measure(board, kernels, gen, work, False, lengths)
            prof = measure(board, kernels, gen, work, True, lengths)
            for T in lengths:
                if plain.rows[T]["logits"] != want[T] or prof.rows[T]["logits"] != want[T]:
                    raise EmbBertError(f"{board}/{kernels} T={T}: logits differ from the "
                                       "simulation")
            res["qemu"][f"{board}/{kernels}"] = {
                T: {"instr": plain.rows[T]["instr"], "stack": plain.rows[T]["stack"],
                    "arena": plain.rows[T]["arena"], "stages": prof.rows[T]["stages"],
                    "stages_total": prof.rows[T]["instr"]} for T in lengths}
    if host:
        from .perf_host import c_runtime_ns, python_ns
        echo("host: C runtime, PyTorch, ONNX Runtime (one thread) ...")
        gen = export_for("host", mq, sha, work)
        hres = {"c_runtime": c_runtime_ns(gen, work / "host", lengths)}
        ref_ns = c_runtime_ns(gen, work / "host-ref", lengths, "ref")
        py, note = python_ns(ck, lengths, cfg.vocab_size)
        hres.update(py)
        res["host"] = {"ns": hres, "note": note, "cpu": _cpu_name(), "simd": _simd(),
                       "kernels": board_kernels("host"), "c_runtime_ref_ns": ref_ns}
    return res


def _simd() -> str:
    """The vec kernels' code path that -march=native selects on this CPU (ebq_vec.h)."""
    try:
        flags = next((ln.split(":", 1)[1].split() for ln in
                      Path("/proc/cpuinfo").read_text().splitlines()
                      if ln.startswith("flags")), [])
    except OSError:
        flags = []
    if {"avx512f", "avx512bw", "avx512_vnni"} <= set(flags):
        return "AVX-512 VNNI int8 tiles, AVX2 exp"
    if "avx2" in flags:
        return "AVX2 exp, compiler-vectorized int8 loops"
    return "compiler-vectorized loops"


def _cpu_name() -> str:
    try:
        for ln in Path("/proc/cpuinfo").read_text().splitlines():
            if ln.startswith("model name"):
                return ln.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def print_summary(res: dict) -> None:
    """Instructions per dense MAC and the per-stage split of each build that ran."""
    for name, rows in res["qemu"].items():
        for T, r in rows.items():
            dense = res["macs_dense"][T]
            stages = "  ".join(f"{s} {v / 1e6:.3f}M"
                               for s, v in zip(STAGES, r["stages"], strict=True))
            print(f"{name} T={T}: {r['instr'] / 1e6:.3f} M instructions, "
                  f"{r['instr'] / dense:.4f} per dense MAC, stack {r['stack']}\n  {stages}")


def main(argv=None) -> int:
    import argparse
    import json

    from .perf_report import write_report
    ap = argparse.ArgumentParser(prog="python -m embbert.perf", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=None, help="checkpoint (default models/sst2.pt "
                    "if present, else random trained-like weights)")
    ap.add_argument("--out", type=Path, default=REPO / "docs")
    ap.add_argument("--no-host", action="store_true", help="skip the host comparison")
    ap.add_argument("--only", default=None, metavar="BOARD/KERNELS,...",
                    help="only these builds (e.g. qemu-m4/cortexm): print a summary, write "
                    "no report")
    ap.add_argument("--lengths", default=None, metavar="T,...",
                    help="sequence lengths (default 16,32,64,128,256)")
    ap.add_argument("--kernels", action="store_true",
                    help="only print per-kernel instruction counts (tools/bench/kernels_fw.c)")
    args = ap.parse_args(argv)
    try:
        if args.kernels:
            for board in ("qemu-m4", "qemu-m7"):
                r, c = kernel_counts(board, "ref"), kernel_counts(board, "cortexm")
                for name, (n, units) in r.items():
                    print(f"{board} {name:14s} ref {n / units:7.2f}  cortexm "
                          f"{c[name][0] / units:7.2f} instructions per MAC/element")
            return 0
        lengths = (tuple(int(T) for T in args.lengths.split(",")) if args.lengths
                   else LENGTHS)
        if args.only:
            res = run_all(args.model, lengths, host=False, only=args.only.split(","))
            print_summary(res)
            return 0
        res = run_all(args.model, lengths, host=not args.no_host)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "benchmarks.json").write_text(json.dumps(res, indent=1) + "\n")
        write_report(res, args.out)
        print(f"wrote {args.out / 'BENCHMARKS.md'}, benchmarks.json, benchmarks.svg")
        return 0
    except EmbBertError as e:
        print(f"error: {e}")
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
