"""Build the firmware without PlatformIO: the host binary (pipe transport, optional ASan/UBSan)
and the QEMU mps2 ELF (system arm-none-eabi-gcc). Used by the tests and by the bench's --board.

The source selection matches runtime_c/Makefile and firmware/runtime_lib (PlatformIO): the
runtime's src/*.c, its kernels (src/arch/<kernels>/ replaces src/ref/ files of the same name),
the generated model (model_data.c), the firmware loop and one platform's glue.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from embbert.errors import EmbBertError
from embbert.paths import FIRMWARE, GENERATED, RUNTIME

FW_WARN = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-Wconversion", "-Wdouble-promotion",
           "-Wshadow"]
# Runtime and generated code keep their own strict flags in their own tests; warnings there
# must not break a firmware build.
OTHER_WARN = ["-std=c11", "-Wall", "-Wextra"]
NUMERICS = ["-ffp-contract=off", "-fno-fast-math"]  # bit-exact with the Python simulation
SANITIZE = ["-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
            "-fno-omit-frame-pointer"]

MPS2_CPU = {
    "qemu-m4": ["-mcpu=cortex-m4", "-mfpu=fpv4-sp-d16"],
    "qemu-m7": ["-mcpu=cortex-m7", "-mfpu=fpv5-sp-d16"],
}


def board_kernels(board: str, kernels: str | None = None) -> str:
    """The kernel set to compile: `kernels` when given (e.g. "ref", the oracle, one switch
    away), else the board TOML's `kernels` key (boards/<board>.toml)."""
    if kernels is not None:
        return kernels
    from .boards import load_board
    return load_board(board).kernels


def runtime_sources(runtime_dir: Path = RUNTIME, kernels: str = "ref") -> list[Path]:
    src = runtime_dir / "src"
    ref = sorted((src / "ref").glob("*.c"))
    arch = sorted((src / "arch" / kernels).glob("*.c")) if kernels != "ref" else []
    overridden = {p.name for p in arch}
    return sorted(src.glob("*.c")) + arch + [p for p in ref if p.name not in overridden]


def firmware_sources(platform: str) -> list[Path]:
    glue = FIRMWARE / "platform" / platform
    return sorted((FIRMWARE / "src").glob("*.c")) + sorted(glue.glob("*.c"))


def _compile_and_link(out: Path, cc: str, groups: list[tuple[list[Path], list[str]]],
                      common: list[str], link: list[str]) -> Path:
    """Compiles each group of sources with its flags, links to `out`; skips the work when the
    recorded commands match and no input is newer than `out`."""
    if shutil.which(cc) is None:
        raise EmbBertError(f"{cc} not found")
    obj_dir = out.parent / (out.name + ".obj")
    jobs = []
    for sources, flags in groups:
        for src in sources:
            tag = hashlib.sha1(str(src).encode()).hexdigest()[:8]
            obj = obj_dir / f"{src.stem}-{tag}.o"
            jobs.append(([cc, *common, *flags, "-c", str(src), "-o", str(obj)], src, obj))
    link_cmd = [cc, *common, *(str(o) for _, _, o in jobs), *link, "-o", str(out)]
    stamp = out.with_suffix(out.suffix + ".cmd.json")
    record = json.dumps([j[0] for j in jobs] + [link_cmd])
    inputs = [s for _, s, _ in jobs] + _headers(groups)
    if (out.exists() and stamp.exists() and stamp.read_text() == record
            and all(p.stat().st_mtime <= out.stat().st_mtime for p in inputs)):
        return out
    obj_dir.mkdir(parents=True, exist_ok=True)
    for cmd, src, _ in jobs:
        _run(cmd, f"compiling {src}")
    _run(link_cmd, f"linking {out.name}")
    stamp.write_text(record)
    return out


def _headers(groups: list[tuple[list[Path], list[str]]]) -> list[Path]:
    dirs = set()
    for _, flags in groups:
        dirs |= {f[2:] for f in flags if f.startswith("-I")}
        dirs |= {b for a, b in zip(flags, flags[1:], strict=False) if a == "-isystem"}
    return [h for d in dirs for h in Path(d).rglob("*.h")]


def _run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise EmbBertError(f"{what} failed:\n{proc.stdout}{proc.stderr}".rstrip())


def _includes(platform_dir: Path, generated_dir: Path, runtime_dir: Path,
              extra: Sequence[Path]) -> list[str]:
    """Firmware headers with -I; runtime and generated headers with -isystem, so the firmware's
    stricter warnings apply to firmware code only."""
    ours = [FIRMWARE / "src", platform_dir]
    theirs = [generated_dir, runtime_dir / "include", runtime_dir / "src", *extra]
    return [f"-I{d}" for d in ours] + [f for d in theirs for f in ("-isystem", str(d))]


def build_host(out: Path, *, generated_dir: Path = GENERATED, runtime_dir: Path = RUNTIME,
               runtime_srcs: Sequence[Path] | None = None, sanitize: bool = False,
               defines: Sequence[str] = (), include_dirs: Sequence[Path] = (),
               cc: str = "cc", kernels: str | None = None) -> Path:
    """The host firmware (stdin/stdout protocol); sanitize adds ASan + UBSan; kernels
    overrides boards/host.toml's `kernels`."""
    _require_model(generated_dir)
    inc = _includes(FIRMWARE / "platform" / "host", generated_dir, runtime_dir, include_dirs)
    opt = SANITIZE if sanitize else ["-O2"]
    dfl = [f"-D{d}" for d in defines]
    rt = (list(runtime_srcs) if runtime_srcs is not None
          else runtime_sources(runtime_dir, board_kernels("host", kernels)))
    groups = [
        (firmware_sources("host"), FW_WARN + inc + dfl),
        (rt + sorted(generated_dir.glob("*.c")), OTHER_WARN + inc + dfl),
    ]
    link = ["-lm"] + (["-fsanitize=address,undefined"] if sanitize else [])
    out.parent.mkdir(parents=True, exist_ok=True)
    return _compile_and_link(out, cc, groups, opt + NUMERICS, link)


def build_mps2(board: str, out: Path, *, generated_dir: Path = GENERATED,
               runtime_dir: Path = RUNTIME, runtime_srcs: Sequence[Path] | None = None,
               defines: Sequence[str] = (), include_dirs: Sequence[Path] = (),
               kernels: str | None = None) -> Path:
    """The QEMU mps2 ELF for board qemu-m4 or qemu-m7 (what `pio run -e qemu_m4` builds), with
    the board TOML's kernels unless `kernels` overrides them."""
    if board not in MPS2_CPU:
        raise EmbBertError(f"no mps2 build for board {board} (known: {', '.join(MPS2_CPU)})")
    _require_model(generated_dir)
    platform_dir = FIRMWARE / "platform" / "mps2"
    inc = _includes(platform_dir, generated_dir, runtime_dir, include_dirs)
    machine = ["-mthumb", "-mfloat-abi=hard", *MPS2_CPU[board]]
    common = machine + ["-O2", "-g", "-ffunction-sections", "-fdata-sections"] + NUMERICS
    dfl = [f"-D{d}" for d in defines]
    rt = (list(runtime_srcs) if runtime_srcs is not None
          else runtime_sources(runtime_dir, board_kernels(board, kernels)))
    groups = [
        (firmware_sources("mps2"), FW_WARN + inc + dfl),
        (rt + sorted(generated_dir.glob("*.c")), OTHER_WARN + inc + dfl),
    ]
    link = ["-nostartfiles", f"-T{platform_dir / 'mps2.ld'}", "-Wl,--gc-sections",
            "--specs=nano.specs", "--specs=nosys.specs", "-lm"]
    out.parent.mkdir(parents=True, exist_ok=True)
    return _compile_and_link(out, "arm-none-eabi-gcc", groups, common, link)


def _require_model(generated_dir: Path) -> None:
    if not (generated_dir / "model_data.h").is_file():
        raise EmbBertError(f"no exported model in {generated_dir} "
                           "(run: embbert-export model.pt --board <board>)")
