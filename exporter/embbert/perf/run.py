"""Instruction-exact benchmarks of the C runtime on the emulated Cortex-M boards (make bench).

    python -m embbert.perf [--model models/sst2.pt] [--out docs]
    python -m embbert.perf --only qemu-m4/cortexm --lengths 128   # a quick look, no report

For each QEMU board (qemu-m4, qemu-m7) and kernel set (ref, cortexm) it builds
tools/bench/bench_fw.c with the runtime and the exported model, runs it under -icount (one
instruction = 2^10 ns of virtual time, counted by the CMSDK timer) and reads, per sequence
length, instructions per inference, the per-stage split (a second build with -DEBQ_PROFILE),
peak stack (painting) and arena bytes. The logits of every build are checked against the
Python simulation bit for bit. perf.host adds the host comparison; perf.report writes
docs/BENCHMARKS.md, docs/benchmarks.json and the SVG plot.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..boards import emulated_boards, load_board
from ..cbuild import board_kernels
from ..errors import EmbBertError
from ..paths import REPO
from ..tokenizer import SEP_ID
from .counts import (
    BUILD,
    LENGTHS,
    STAGES,
    bench_ids,
    export_for,
    kernel_counts,
    measure,
    real_text_ids,
    stage_macs,
    write_text_header,
)


def bench_checkpoint(model: Path | None, work: Path):
    """(checkpoint, path, description): the given model, models/sst2.pt, or random weights."""
    from ..checkpoint import load, save
    from ..model import EmbBertConfig
    from ..quant.testing import random_checkpoint
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
    from ..checkpoint import file_sha256
    from ..macs import dense_macs, runtime_macs
    from ..quant.as_exported import quantize_as_exported
    from ..quant.testing import limit_threads
    limit_threads()
    work.mkdir(parents=True, exist_ok=True)
    ck, path, desc = bench_checkpoint(model, work)
    cfg = ck.config
    lengths = [T for T in lengths if T <= cfg.max_len]
    sha = file_sha256(path)
    echo(f"model: {desc}; quantizing as embbert-export does ...")
    mq = quantize_as_exported(ck, sha256=sha)
    how = mq.meta["calibration"]
    echo(f"calibration: {how}")
    want = {T: mq.logits(*bench_ids(cfg.vocab_size, T)).view(np.uint32).tolist()
            for T in lengths}
    want_rep = {T: mq.logits(*bench_ids(cfg.vocab_size, T, True)).view(np.uint32).tolist()
                for T in lengths}
    texts, text_h = _real_texts(ck, cfg.max_len, work, echo)
    want_text = {T: [mq.logits(np.array(t[:T - 1] + [SEP_ID]), np.ones(T, np.int64))
                     .view(np.uint32).tolist() for t in texts] for T in lengths}
    res: dict = {"model": desc, "calibration": how, "config": cfg.to_dict(),
                 "lengths": lengths,
                 "outliers": {"hn": [len(L.h_outliers) for L in mq.layers],
                              "u": [len(L.u_outliers) for L in mq.layers],
                              "cls": len(mq.x_outliers)},
                 "macs_dense": {T: dense_macs(cfg, T) for T in lengths},
                 "macs_runtime": {T: runtime_macs(cfg, T) for T in lengths},
                 "stage_macs": {T: stage_macs(cfg, T) for T in lengths},
                 "qemu": {}, "clock": {}}
    for board in emulated_boards():
        if only and not any(o.startswith(board + "/") for o in only):
            continue
        gen = export_for(board, mq, sha, work)
        real = load_board(load_board(board).estimate_board or board)
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
            # the adversarial input (one token repeated), optimized kernels only
            rep = measure(board, kernels, gen, work, False, lengths, True) \
                if kernels == "cortexm" else None
            for T in lengths:
                if rep and rep.rows[T]["logits"] != want_rep[T]:
                    raise EmbBertError(f"{board}/{kernels} T={T}: logits (repeated token) "
                                       "differ from the simulation")
            # real text: the median over the rows of imdb/test, optimized kernels only
            txt = measure(board, kernels, gen, work, False, lengths, text_h=text_h) \
                if kernels == "cortexm" and text_h else None
            for T in lengths:
                if txt and [r["logits"] for r in txt.texts.get(T, [])] != want_text[T]:
                    raise EmbBertError(f"{board}/{kernels} T={T}: logits (real text) differ "
                                       "from the simulation")
            res["qemu"][f"{board}/{kernels}"] = {
                T: {"instr": plain.rows[T]["instr"], "stack": plain.rows[T]["stack"],
                    "arena": plain.rows[T]["arena"], "stages": prof.rows[T]["stages"],
                    "stages_total": prof.rows[T]["instr"]} |
                ({"instr_repeat": rep.rows[T]["instr"]} if rep else {}) |
                ({"instr_text": [r["instr"] for r in txt.texts[T]]} if txt else {})
                for T in lengths}
    if "qemu-m4/ref" in res["qemu"]:
        res["esp32s3_estimate"] = _esp32s3(res, work, echo)
    if host and (not only or "host" in only):
        from .host import c_ref_ns, host_bench
        echo("host: C runtime (AVX-512 VNNI and AVX2-only builds), PyTorch, ONNX Runtime, "
             "one thread, interleaved ...")
        gen = export_for("host", mq, sha, work)
        h = host_bench(ck, want, gen, work / "host", lengths, echo=echo)
        T_ref = 128 if 128 in lengths else max(lengths)
        h.update(cpu=_cpu_name(), simd=_simd(), kernels=board_kernels("host"),
                 c_runtime_ref_ns={T_ref: c_ref_ns(gen, work / "host", T_ref)})
        res["host"] = h
    return res


def _esp32s3(res: dict, work: Path, echo) -> dict | None:
    """The ESP32-S3 estimate (perf.xtensa: clang-22 Xtensa code vs the measured M4 ref)."""
    from .xtensa import estimate
    echo("esp32s3: estimating from the clang-22 Xtensa disassembly ...")
    try:
        return estimate(res, work / "qemu-m4-ref" / "bench.elf.obj", work / "esp32s3")
    except EmbBertError as e:
        echo(f"esp32s3 estimate skipped: {e}")
        return None


def _real_texts(ck, max_len: int, work: Path, echo) -> tuple[list[list[int]], Path | None]:
    """The real-text inputs and their bench_fw.c header; none (and a note) without the data."""
    if not ck.tokenizer:
        echo("real-text inputs skipped: the checkpoint has no tokenizer")
        return [], None
    try:
        texts = real_text_ids(ck.tokenizer, max_len)
    except EmbBertError as e:
        echo(f"real-text inputs skipped: {e}")
        return [], None
    return texts, write_text_header(texts, work / "bench_text.h")


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
    """Instructions per executed and per dense MAC, the other inputs and the per-stage split
    of each build that ran."""
    for name, rows in res["qemu"].items():
        for T, r in rows.items():
            dense, executed = res["macs_dense"][T], res["macs_runtime"][T]
            stages = "  ".join(f"{s} {v / 1e6:.3f}M"
                               for s, v in zip(STAGES, r["stages"], strict=True))
            other = "".join(f", {what} {r[k] / 1e6:.3f} M" for k, what in
                            (("instr_repeat", "repeated token"),) if k in r)
            if "instr_text" in r:
                other += f", real text median {float(np.median(r['instr_text'])) / 1e6:.3f} M"
            print(f"{name} T={T}: {r['instr'] / 1e6:.3f} M instructions (random ids), "
                  f"{r['instr'] / executed:.4f} per executed MAC, {r['instr'] / dense:.4f} "
                  f"per dense MAC, stack {r['stack']}{other}\n  {stages}")
    h = res.get("host")
    if h:
        print(f"host, {h['rounds']} interleaved rounds, load average {h['load'][0]:.2f}-"
              f"{h['load'][1]:.2f}")
        for T in res["lengths"]:
            ms = "  ".join(f"{k} {v[T] / 1e6:.3f}" for k, v in h["ns"].items())
            rs = "  ".join(f"{k} {r[T]['median']:.2f}x ({r[T]['p10']:.2f}-{r[T]['p90']:.2f})"
                           for k, r in h["ratios"].items() if k.startswith("ort_fp32"))
            print(f"T={T} ms: {ms}\n  {rs}")


def main(argv=None) -> int:
    import argparse
    import json

    from .report import write_report
    ap = argparse.ArgumentParser(prog="python -m embbert.perf", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=None, help="checkpoint (default models/sst2.pt "
                    "if present, else random trained-like weights)")
    ap.add_argument("--out", type=Path, default=REPO / "docs")
    ap.add_argument("--no-host", action="store_true", help="skip the host comparison")
    ap.add_argument("--only", default=None, metavar="BOARD/KERNELS,...",
                    help="only these builds (e.g. qemu-m4/cortexm; host: the host comparison): "
                    "print a summary, write no report")
    ap.add_argument("--lengths", default=None, metavar="T,...",
                    help="sequence lengths (default 16,32,64,128,256)")
    ap.add_argument("--kernels", action="store_true",
                    help="only print per-kernel instruction counts (tools/bench/kernels_fw.c)")
    args = ap.parse_args(argv)
    try:
        if args.kernels:
            for board in emulated_boards():
                r, c = kernel_counts(board, "ref"), kernel_counts(board, "cortexm")
                for name, (n, units) in r.items():
                    print(f"{board} {name:14s} ref {n / units:7.2f}  cortexm "
                          f"{c[name][0] / units:7.2f} instructions per MAC/element")
            return 0
        lengths = (tuple(int(T) for T in args.lengths.split(",")) if args.lengths
                   else LENGTHS)
        if args.only:
            res = run_all(args.model, lengths, only=args.only.split(","))
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

