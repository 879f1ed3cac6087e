"""Host latency, one thread, same model and tokens: the C runtime with the host board's kernels
(src/arch/vec) built twice, for this CPU (-march=native: AVX-512 VNNI tiles where it has them)
and for the AVX2-only path (-march=x86-64-v3: no AVX-512), against PyTorch eager fp32, ONNX
Runtime fp32 and ONNX Runtime dynamic int8 (when `onnxruntime` and `onnx` are installed).

The engines take turns: each round runs a short batch of every engine at every T, so a change
of machine load hits all of them alike. Each run is timed in CPU time of the calling thread
(every engine computes on it with one thread): on a shared core, wall time adds whole
scheduler slices (4 ms) given to other processes, which at T = 256 hit most runs. Wall-clock
medians are kept too. Per engine and T: the median of all runs; per ratio: the median over
rounds of (other engine's round median / C's round median), with its p10-p90 and min-max,
which is what the report quotes. The C builds' logits are checked bit for bit against the
simulation at every T."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from contextlib import ExitStack, closing
from pathlib import Path

import numpy as np

from ..cbuild import board_kernels, build_host_tool
from ..errors import EmbBertError
from ..paths import REPO

BENCH_HOST = REPO / "tools" / "bench" / "bench_host.c"
# the C builds: name -> (what the report calls it, compiler flags)
C_BUILDS = {"c_runtime": ("AVX-512 VNNI", "-march=native"),
            "c_avx2": ("AVX2 only", "-march=x86-64-v3 -mtune=native")}
ROUNDS = 21
BATCH_S = 0.02       # wall time of one engine's batch at one T in one round


class CBench:
    """A running tools/bench/bench_host.c: batch(T, n) -> (wall ns per run, thread CPU ns per
    run, logit bits, stage ns)."""

    def __init__(self, exe: Path):
        self.proc = subprocess.Popen([str(exe)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})

    def batch(self, T: int, n: int) -> tuple[list[float], list[float], list[int], list[int]]:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(f"{T} {n}\n")
        self.proc.stdin.flush()
        f = self.proc.stdout.readline().split()
        if len(f) < 8 or f[:2] != ["T", str(T)]:
            raise EmbBertError(f"bench_host failed at T={T} (exit {self.proc.poll()})")
        stages = [int(v) for v in f[9].split(",")] if len(f) > 9 else []
        return ([float(v) for v in f[3].split(",")], [float(v) for v in f[5].split(",")],
                [int(h, 16) for h in f[7].split(",")], stages)

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


def build_c(generated: Path, work: Path, cflags: str, kernels: str | None = None,
            profile: bool = False) -> Path:
    """bench_host with the runtime (`kernels`, default boards/host.toml's) and the model."""
    return build_host_tool(work / "bench_host", [BENCH_HOST], model_dir=generated,
                           kernels=board_kernels("host", kernels), cflags=cflags,
                           profile=profile)


def has_avx512(exe: Path) -> bool:
    """Whether the program uses any zmm register (an AVX-512 instruction)."""
    dis = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(exe)], capture_output=True,
                         text=True, check=True).stdout
    return "%zmm" in dis


def _timed(fn, n: int) -> tuple[list[float], list[float]]:
    """(wall ns, thread CPU ns) of n calls"""
    wall, cpu = [], []
    for _ in range(n):
        c0, t0 = time.thread_time_ns(), time.perf_counter_ns()
        fn()
        wall.append(float(time.perf_counter_ns() - t0))
        cpu.append(float(time.thread_time_ns() - c0))
    return wall, cpu


def python_engines(ckpt, inputs: dict, tmp: Path) -> tuple[dict, str]:
    """{name: {T: callable running one inference}} for PyTorch eager and, when installed, ORT
    fp32 and dynamic int8; and a note on the versions or what was skipped."""
    import torch
    torch.set_num_threads(1)
    model = ckpt.model().eval()
    engines: dict = {"pytorch": {}}
    for T, (ids, segs) in inputs.items():
        ti, ts = torch.as_tensor(ids)[None], torch.as_tensor(segs)[None]

        def run(ti=ti, ts=ts):
            with torch.no_grad():
                model(ti, ts)
        engines["pytorch"][T] = run
    try:
        import onnxruntime as ort
    except ImportError:
        return engines, ("onnxruntime not installed: ORT columns skipped "
                         "(pip install onnx onnxruntime)")
    for T, (ids, segs) in inputs.items():   # a model per T: fixed shapes run 1-2% faster
        (tmp / str(T)).mkdir()
        feed = {"ids": ids[None], "segs": segs[None]}
        for name, sess in ort_sessions(model, ids, segs, tmp / str(T), dynamic=False).items():
            engines.setdefault(name, {})[T] = lambda s=sess, f=feed: s.run(None, f)
    return engines, f"onnxruntime {ort.__version__}"


def host_bench(ckpt, want: dict[int, list[int]], generated: Path, work: Path, lengths,
               rounds: int = ROUNDS, echo=print) -> dict:
    """The interleaved comparison (see the module doc); `want`: the simulation's logit bits."""
    from .counts import bench_ids
    lengths = list(lengths)
    inputs = {T: bench_ids(ckpt.config.vocab_size, T) for T in lengths}
    load = [os.getloadavg()[0]]
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        c = {}
        for name, (_, flags) in C_BUILDS.items():
            exe = build_c(generated, work / name, flags)
            if name == "c_avx2" and has_avx512(exe):
                raise EmbBertError(f"{exe}: the AVX2-only build contains AVX-512 code")
            c[name] = stack.enter_context(closing(CBench(exe)))
        py, note = python_engines(ckpt, inputs, tmp)
        names = [*c, *py]
        cpu: dict = {k: {T: [] for T in lengths} for k in names}     # every run
        wall: dict = {k: {T: [] for T in lengths} for k in names}
        per_round: dict = {k: {T: [] for T in lengths} for k in names}  # CPU medians

        def batch(name: str, T: int, n: int) -> tuple[list[float], list[float]]:
            if name not in c:
                py[name][T]()   # warm-up, as bench_host does one
                return _timed(py[name][T], n)
            w, u, bits, _ = c[name].batch(T, n)
            if bits != want[T]:
                raise EmbBertError(f"host {name} T={T}: logits differ from the simulation")
            return w, u

        # batch sizes from 3 runs of each engine (at least 3 runs per batch)
        reps = {(k, T): max(3, int(BATCH_S / (np.median(batch(k, T, 3)[1]) * 1e-9)))
                for T in lengths for k in names}
        echo(f"host: {rounds} interleaved rounds over {len(names)} engines ...")
        for _ in range(rounds):
            for T in lengths:
                for name in names:
                    w, u = batch(name, T, reps[name, T])
                    wall[name][T] += w
                    cpu[name][T] += u
                    per_round[name][T].append(float(np.median(u)))
            load.append(os.getloadavg()[0])
    ratios = {f"{o}/{cn}": {T: _spread([a / b for a, b in zip(per_round[o][T],
                                                            per_round[cn][T], strict=True)])
                            for T in lengths}
              for cn in c for o in names if o not in c}
    return {"ns": _medians(cpu), "wall_ns": _medians(wall), "ratios": ratios, "rounds": rounds,
            "runs": {k: {T: len(v[T]) for T in lengths} for k, v in cpu.items()},
            "load": [min(load), max(load)], "note": note,
            "builds": {k: {"label": lab, "cflags": fl} for k, (lab, fl) in C_BUILDS.items()}}


def _medians(runs: dict) -> dict:
    return {k: {T: float(np.median(v)) for T, v in by_t.items()} for k, by_t in runs.items()}


def _spread(v: list[float]) -> dict[str, float]:
    a = np.asarray(v)
    return {"median": float(np.median(a)), "p10": float(np.percentile(a, 10)),
            "p90": float(np.percentile(a, 90)), "min": float(a.min()), "max": float(a.max())}


def c_ref_ns(generated: Path, work: Path, T: int, n: int = 5) -> float:
    """Median thread CPU ns of the portable ref kernels at T (for the report's note)."""
    cb = CBench(build_c(generated, work / "c_ref", "-march=native", "ref"))
    try:
        return float(np.median(cb.batch(T, n)[1]))
    finally:
        cb.close()


def ort_sessions(model, ids: np.ndarray, segs: np.ndarray, tmp: Path,
                 dynamic: bool = True) -> dict:
    """{"ort_fp32": session, "ort_int8": session} (one thread each) for the PyTorch model,
    exported to ONNX with a dynamic T (or fixed at the example's: dynamic=False; example input
    ids[T], segs[T]) and quantized with ORT's dynamic int8 (int8 weights, activations quantized
    per call). Needs onnx + onnxruntime."""
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
                          dynamic_axes={"ids": {1: "T"}, "segs": {1: "T"}} if dynamic else None,
                          dynamo=False,
                          opset_version=17)
    root, level = logging.getLogger(), logging.getLogger().level
    root.setLevel(logging.ERROR)   # the quantizer logs a "cannot quantize" note per int tensor
    try:
        quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
    finally:
        root.setLevel(level)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return {name: ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
            for name, path in (("ort_fp32", fp32), ("ort_int8", int8))}
