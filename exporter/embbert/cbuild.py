"""The one C build description (without PlatformIO): what is compiled, with which warnings,
and for which board, from boards/<name>.toml's [build] table.

    build_firmware("qemu-m4", out)           the firmware: runtime + model + protocol loop + glue
    build_firmware("host", out, sanitize=True)   the same on the host, pipe transport, ASan/UBSan
    build_program("qemu-m4", out, [main.c], generated_dir=gen)   a bare-metal program (perf)
    build_run(model_dir, build) / build_shared(build) / build_layout(build)   host tools (tests)
    build_tokenize(tables_c, out)            the tokenizer's host tool (parity tests)

The runtime's kernels: the files of src/arch/<kernels>/ replace the src/ref/ files of the same
name (`runtime_sources`); runtime_c/select_kernels.py applies the same rule for PlatformIO.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from embbert.boards import Board, load_board
from embbert.errors import EmbBertError
from embbert.paths import FIRMWARE, GENERATED, REPO, RUNTIME, build_path

FW_WARN = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-Wconversion", "-Wdouble-promotion",
           "-Wshadow"]
# The runtime's own builds (host tools, perf) are the strictest.
RUNTIME_WARN = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-Wdouble-promotion", "-Wconversion",
                "-Wsign-conversion", "-Wshadow", "-Wstrict-prototypes", "-Wmissing-prototypes",
                "-Wcast-align", "-Wvla"]
# In a firmware build, warnings in the runtime and the generated code (checked by their own
# builds) must not break it.
OTHER_WARN = ["-std=c11", "-Wall", "-Wextra"]
NUMERICS = ["-ffp-contract=off", "-fno-fast-math"]  # bit-exact with the Python simulation
SANITIZE = ["-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
            "-fno-omit-frame-pointer"]
TOOLS = RUNTIME / "tools"


# ---------------------------------------------------------------------------- what to compile

def board_kernels(board: str, kernels: str | None = None) -> str:
    """The kernel set to compile: `kernels` when given (e.g. "ref", the oracle, one switch
    away), else the board TOML's `kernels` key (boards/<board>.toml)."""
    return kernels if kernels is not None else load_board(board).kernels


def runtime_sources(runtime_dir: Path = RUNTIME, kernels: str = "ref") -> list[Path]:
    src = runtime_dir / "src"
    ref = sorted((src / "ref").glob("*.c"))
    arch = sorted((src / "arch" / kernels).glob("*.c")) if kernels != "ref" else []
    overridden = {p.name for p in arch}
    return sorted(src.glob("*.c")) + arch + [p for p in ref if p.name not in overridden]


@dataclass
class Target:
    """How to compile and link for one board: its TOML's [build] table."""
    board: str
    cc: str
    platform: Path               # firmware/platform/<platform>/: the board's glue
    machine: list[str]           # compile and link
    cflags: list[str]            # compile (optimization, sections)
    ldscript: Path | None
    ldflags: list[str]
    libs: list[str]
    includes: list[Path] = field(default_factory=list)  # vendor headers of the glue
    sources: list[Path] = field(default_factory=list)   # vendor startup / system files

    def link(self) -> list[str]:
        # the script's folder is searched for the files it INCLUDEs
        script = [f"-L{self.ldscript.parent}", f"-T{self.ldscript}"] if self.ldscript else []
        return [*self.ldflags, *script, *(f"-l{lib}" for lib in self.libs)]

    def vendor_groups(self, inc: list[str]) -> list[tuple[list[Path], list[str]]]:
        """The vendor sources, compiled as their upstream ships them (no project warnings)."""
        missing = [p for p in [*self.includes, *self.sources] if not p.exists()]
        if missing:
            raise EmbBertError(f"board {self.board} needs {missing[0]}: vendored files not "
                               "found (set EMBBERT_VENDOR to the folder holding cmsis/)")
        return [(self.sources, inc)] if self.sources else []


def target(board: str | Board) -> Target:
    b = load_board(board) if isinstance(board, str) else board
    if b.build is None:
        raise EmbBertError(f"board {b.name} has no [build] table: it is built with PlatformIO "
                           f"(pio run -e {b.pio_env or '<env>'}), not here")
    build = b.build
    cc = os.environ.get("CC", build.cc) if b.name == "host" else build.cc
    return Target(b.name, cc, FIRMWARE / "platform" / build.platform, list(build.machine),
                  list(build.cflags), REPO / build.ldscript if build.ldscript else None,
                  list(build.ldflags), list(build.libs), list(map(build_path, build.includes)),
                  list(map(build_path, build.sources)))


def firmware_sources(platform: Path) -> list[Path]:
    return sorted((FIRMWARE / "src").glob("*.c")) + sorted(platform.glob("*.c"))


# ------------------------------------------------------------------------- compile and link

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
    # one compiler per core: a sanitized cortexm build spends ~90 s in two of its files
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for done in [pool.submit(_run, cmd, f"compiling {src}") for cmd, src, _ in jobs]:
            done.result()                        # the first failure, in source order
    _run(link_cmd, f"linking {out.name}")
    stamp.write_text(record)
    return out


def _headers(groups: list[tuple[list[Path], list[str]]]) -> list[Path]:
    dirs = {p.parent for sources, _ in groups for p in sources}
    for _, flags in groups:
        dirs |= {Path(f[2:]) for f in flags if f.startswith("-I")}
        dirs |= {Path(b) for a, b in zip(flags, flags[1:], strict=False) if a == "-isystem"}
    return [h for d in dirs for h in Path(d).rglob("*.h")]


def _run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise EmbBertError(f"{what} failed:\n{proc.stdout}{proc.stderr}".rstrip())


def _require_model(generated_dir: Path) -> None:
    if not (generated_dir / "model_data.h").is_file():
        raise EmbBertError(f"no exported model in {generated_dir} "
                           "(run: embbert-export model.pt --board <board>)")


# ---------------------------------------------------------------------------------- firmware

def _includes(platform_dir: Path, generated_dir: Path, runtime_dir: Path,
              extra: Sequence[Path]) -> list[str]:
    """Firmware headers with -I; runtime and generated headers with -isystem, so the firmware's
    stricter warnings apply to firmware code only."""
    ours = [FIRMWARE / "src", platform_dir]
    theirs = [generated_dir, runtime_dir / "include", runtime_dir / "src", *extra]
    return [f"-I{d}" for d in ours] + [f for d in theirs for f in ("-isystem", str(d))]


def build_firmware(board: str, out: Path, *, generated_dir: Path = GENERATED,
                   runtime_dir: Path = RUNTIME, runtime_srcs: Sequence[Path] | None = None,
                   sanitize: bool = False, defines: Sequence[str] = (),
                   include_dirs: Sequence[Path] = (), kernels: str | None = None) -> Path:
    """The firmware of `board` (what `pio run -e <its env>` builds for the QEMU boards; the
    host's talks the protocol on stdin/stdout): the board TOML's kernels unless `kernels`
    overrides them; sanitize (host) adds ASan + UBSan."""
    t = target(board)
    _require_model(generated_dir)
    inc = _includes(t.platform, generated_dir, runtime_dir, [*include_dirs, *t.includes])
    dfl = [f"-D{d}" for d in defines]
    rt = (list(runtime_srcs) if runtime_srcs is not None
          else runtime_sources(runtime_dir, board_kernels(board, kernels)))
    groups = [
        (firmware_sources(t.platform), FW_WARN + inc + dfl),
        (rt + sorted(generated_dir.glob("*.c")), OTHER_WARN + inc + dfl),
        *t.vendor_groups(inc),
    ]
    opt = SANITIZE if sanitize else t.cflags
    link = t.link() + (["-fsanitize=address,undefined"] if sanitize else [])
    out.parent.mkdir(parents=True, exist_ok=True)
    return _compile_and_link(out, t.cc, groups, t.machine + opt + NUMERICS, link)


def build_program(board: str, out: Path, main: Sequence[Path], *, kernels: str,
                  generated_dir: Path | None = None, defines: Sequence[str] = (),
                  kernels_only: bool = False) -> Path:
    """A program of its own (perf: tools/bench/*_fw.c) with the runtime's strict warnings: its
    main, the runtime (only the kernels with kernels_only), the board's glue without the
    protocol loop, and the model when generated_dir is given."""
    t = target(board)
    extra = [generated_dir] if generated_dir else []
    inc = [f"-I{d}" for d in (FIRMWARE / "src", t.platform, *extra, RUNTIME / "include",
                              RUNTIME / "src")]
    inc += [f for d in t.includes for f in ("-isystem", str(d))]
    rt = runtime_sources(RUNTIME, kernels)
    if kernels_only:
        rt = [s for s in rt if s.parent.name != "src"]
    glue = sorted(t.platform.glob("*.c")) + ([generated_dir / "model_data.c"] if generated_dir
                                             else [])
    groups = [([*main, *rt], RUNTIME_WARN + inc + [f"-D{d}" for d in defines]),
              (glue, OTHER_WARN + inc), *t.vendor_groups(inc)]
    out.parent.mkdir(parents=True, exist_ok=True)
    return _compile_and_link(out, t.cc, groups, t.machine + t.cflags + NUMERICS, t.link())


# -------------------------------------------------------------------- host tools (tests, perf)

def build_host_tool(out: Path, main: Sequence[Path], *, kernels: str = "ref",
                    sanitize: bool = False, profile: bool = False, cflags: str = "",
                    model_dir: Path | None = None, shared: bool = False,
                    runtime: bool = True) -> Path:
    """A host program (main) with the runtime and, given model_dir, the exported model; the
    runtime's strict warnings, -O2 (or ASan + UBSan), extra cflags (e.g. -march=native)."""
    cc = os.environ.get("CC", "cc")
    opt = SANITIZE if sanitize else ["-O2"]
    defs = ["-DEBQ_PROFILE"] if profile else []
    inc = [f"-I{RUNTIME / 'include'}", f"-I{RUNTIME / 'src'}"]
    srcs = runtime_sources(RUNTIME, kernels) if runtime else []
    if model_dir is not None:
        _require_model(model_dir)
        inc.append(f"-I{model_dir}")
        srcs.append(model_dir / "model_data.c")
    common = RUNTIME_WARN + NUMERICS + opt + defs + inc + shlex.split(cflags)
    if shared:
        common.append("-fPIC")
    link = ["-shared"] if shared else []
    link += ["-lm"] + (["-fsanitize=address,undefined"] if sanitize else [])
    out.parent.mkdir(parents=True, exist_ok=True)
    return _compile_and_link(out, cc, [([*srcs, *main], [])], common, link)


def build_run(model_dir: str | os.PathLike, build: str | os.PathLike,
              sanitize: bool = False, profile: bool = False, kernels: str = "ref",
              cflags: str = "") -> Path:
    """runtime + generated model + tools/ebq_run.c -> path of the ebq_run executable."""
    return build_host_tool(Path(build).resolve() / "ebq_run", [TOOLS / "ebq_run.c"],
                      kernels=kernels, sanitize=sanitize, profile=profile, cflags=cflags,
                      model_dir=Path(model_dir).resolve())


def build_shared(build: str | os.PathLike, sanitize: bool = False, kernels: str = "ref",
                 cflags: str = "") -> Path:
    """The runtime as a shared library; kernels="cortexm" compiles src/arch/cortexm/ for the host
    (its ACLE intrinsics come from a plain-C shim there), so tests can compare it with ref;
    cflags (e.g. "-march=native") reach the ISA-specific paths of src/arch/vec."""
    return build_host_tool(Path(build).resolve() / "libembbert.so", [], kernels=kernels,
                      sanitize=sanitize, cflags=cflags, shared=True)


def build_tokenize(tables_c: Path, out: Path, sanitize: bool = False) -> Path:
    """tools/ebq_tokenize over the tokenizer tables in tables_c (a model_data.c, or the tables
    alone): the tokenizer parity tests' host tool."""
    tables_c = Path(tables_c).resolve()
    return build_host_tool(Path(out).resolve(), [RUNTIME / "src" / "tokenize.c",
                                                 TOOLS / "ebq_tokenize.c", tables_c],
                           sanitize=sanitize, cflags=f"-I{tables_c.parent}", runtime=False)


def build_layout(build: str | os.PathLike) -> Path:
    """tools/ebq_layout: sizeof/offsetof of the format structs (for the Python mirror)."""
    return build_host_tool(Path(build).resolve() / "ebq_layout", [TOOLS / "ebq_layout.c"],
                      runtime=False)


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
