"""Build the C runtime on the host with the system cc (tests use it; see runtime_c/Makefile)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from .errors import EmbBertError
from .paths import RUNTIME


def _make(target: str, build: Path, **vars: str) -> None:
    if shutil.which("make") is None or shutil.which(os.environ.get("CC", "cc")) is None:
        raise EmbBertError("host build needs make and a C compiler (cc)")
    args = ["make", "-s", "-C", str(RUNTIME), target, f"BUILD={build}"]
    args += [f"{k}={v}" for k, v in vars.items()]
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        raise EmbBertError(f"host build of {target} failed:\n{r.stdout}{r.stderr}")


def build_run(model_dir: str | os.PathLike, build: str | os.PathLike,
              sanitize: bool = False, profile: bool = False, kernels: str = "ref",
              cflags: str = "") -> Path:
    """runtime + generated model + tools/ebq_run.c -> path of the ebq_run executable."""
    build = Path(build).resolve()
    _make("run", build, MODEL_DIR=str(Path(model_dir).resolve()), SAN="1" if sanitize else "0",
          PROFILE="1" if profile else "0", KERNELS=kernels, CFLAGS=cflags)
    return build / "ebq_run"


def build_shared(build: str | os.PathLike, sanitize: bool = False, kernels: str = "ref",
                 cflags: str = "") -> Path:
    """The runtime as a shared library; kernels="cortexm" compiles src/arch/cortexm/ for the host
    (its ACLE intrinsics come from a plain-C shim there), so tests can compare it with ref;
    cflags (e.g. "-march=native") reach the ISA-specific paths of src/arch/vec."""
    build = Path(build).resolve()
    _make("shared", build, SAN="1" if sanitize else "0", KERNELS=kernels, CFLAGS=cflags)
    return build / "libembbert.so"


def build_layout(build: str | os.PathLike) -> Path:
    build = Path(build).resolve()
    _make("layout", build)
    return build / "ebq_layout"


def format_inputs(seqs) -> str:
    """ebq_run's stdin: one line "T ids... segs..." per sequence."""
    lines = []
    for ids, segs in seqs:
        ids, segs = list(map(int, ids)), list(map(int, segs))
        lines.append(" ".join(map(str, [len(ids)] + ids + segs)))
    return "\n".join(lines) + "\n"


def parse_outputs(text: str) -> list:
    """ebq_run's stdout -> list of float32 logit lists or ("ERR", code, name) tuples."""
    import numpy as np
    out = []
    for line in text.splitlines():
        parts = line.split()
        if parts and parts[0] == "OK":
            out.append(np.array([float.fromhex(p) for p in parts[1:]], np.float32))
        elif parts and parts[0] == "ERR":
            out.append(("ERR", int(parts[1]), parts[2].rstrip(":")))
    return out


def run_model(exe: str | os.PathLike, seqs, timeout: float = 120.0, env=None):
    r = subprocess.run([str(exe)], input=format_inputs(seqs), capture_output=True, text=True,
                       timeout=timeout, env=env)
    return r.returncode, parse_outputs(r.stdout), r.stderr
