"""Boards are data: one TOML per board in boards/, and this module is its only reader (the
exporter, cbuild, QEMU, perf, the bench and the local PlatformIO platform all ask it).

Required keys: name, description, cpu, fpu, kernels, clock_hz, flash_bytes, sram_bytes,
psram_bytes, reserved_sram_bytes, weights_placement ("flash" | "sram"), arena_placement
("sram" | "psram"), pio_env, transport, counter.
Optional keys: reserved_flash_bytes (code of runtime + firmware, default 64 KiB),
arena_max_bytes (size of the RAM region the arena goes to, default sram - reserved, or psram),
arena_section / weights_section (linker section names, default none), arena_region (text),
estimate_board (the real board whose clock_hz turns this emulated board's instruction counts
into a latency estimate), tokenizer ("auto": the on-device tokenizer when it fits, the
default; "on"; "off").
Optional tables: [build] for a board this machine builds (host, QEMU): cc, platform (the glue in
firmware/platform/<platform>/), machine (compile and link flags; -mcpu/-mfpu must name cpu and
fpu), cflags, ldscript (repository-relative, "" for none), ldflags, libs, and optionally
includes and sources (vendor files the glue needs: paths relative to the repository, or to the
vendored files with a leading "$VENDOR/", see paths.vendor_dir); [emulator] for a board QEMU
runs: command (the QEMU command line without -kernel and -serial).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .errors import EmbBertError
from .paths import BOARDS

REQUIRED = ("name", "description", "cpu", "fpu", "kernels", "clock_hz", "flash_bytes",
            "sram_bytes", "psram_bytes", "reserved_sram_bytes", "weights_placement",
            "arena_placement", "pio_env", "transport", "counter")
DEFAULT_RESERVED_FLASH = 65_536
BUILD_KEYS = ("cc", "platform", "machine", "cflags", "ldscript", "ldflags", "libs")


@dataclass(frozen=True)
class Build:
    """How cbuild and the local PlatformIO platform compile and link for the board."""
    cc: str
    platform: str
    machine: tuple[str, ...]
    cflags: tuple[str, ...]
    ldscript: str
    ldflags: tuple[str, ...]
    libs: tuple[str, ...]
    includes: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Emulator:
    command: tuple[str, ...]


def boards_dir() -> Path:
    env = os.environ.get("EMBBERT_BOARDS_DIR")
    if env:
        return Path(env)
    return BOARDS


@dataclass
class Board:
    name: str
    description: str
    cpu: str
    fpu: str
    kernels: str
    clock_hz: int
    flash_bytes: int
    sram_bytes: int
    psram_bytes: int
    reserved_sram_bytes: int
    weights_placement: str
    arena_placement: str
    pio_env: str
    transport: str
    counter: str
    reserved_flash_bytes: int = DEFAULT_RESERVED_FLASH
    arena_max_bytes: int = 0
    arena_section: str = ""
    weights_section: str = ""
    arena_region: str = ""
    estimate_board: str = ""
    build: Build | None = None
    emulator: Emulator | None = None
    tokenizer: str = "auto"
    extra: dict = field(default_factory=dict)

    def arena_capacity(self) -> int:
        if self.arena_max_bytes:
            return self.arena_max_bytes
        if self.arena_placement == "psram":
            return self.psram_bytes
        return self.sram_bytes - self.reserved_sram_bytes

    def flash_capacity(self) -> int:
        return self.flash_bytes - self.reserved_flash_bytes


def known_boards(directory: Path | None = None) -> list[str]:
    d = directory or boards_dir()
    return sorted(p.stem for p in d.glob("*.toml")) if d.is_dir() else []


def runnable_boards(directory: Path | None = None) -> list[str]:
    """Boards built and run on this machine: the host build and the emulated ones."""
    return [n for n in known_boards(directory) if (b := load_board(n, directory)).build
            and (b.emulator or b.transport == "pipe")]


def emulated_boards(directory: Path | None = None) -> list[str]:
    return [n for n in known_boards(directory) if load_board(n, directory).emulator]


def load_board(name: str, directory: Path | None = None) -> Board:
    d = directory or boards_dir()
    path = d / f"{name}.toml"
    if not path.is_file():
        known = ", ".join(known_boards(d)) or f"none found in {d}"
        raise EmbBertError(f"unknown board {name!r}; known boards: {known}")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise EmbBertError(f"{path}: not valid TOML ({e})") from e
    missing = [k for k in REQUIRED if k not in data]
    if missing:
        raise EmbBertError(f"{path}: missing keys {', '.join(missing)}")
    known_fields = set(Board.__dataclass_fields__) - {"extra", "build", "emulator"}
    kw = {k: v for k, v in data.items() if k in known_fields}
    extra = {k: v for k, v in data.items() if k not in known_fields | {"build", "emulator"}}
    if isinstance(kw.get("tokenizer"), bool):
        kw["tokenizer"] = "on" if kw["tokenizer"] else "off"
    b = Board(**kw, build=_build(path, data), emulator=_emulator(path, data), extra=extra)
    if b.tokenizer not in ("auto", "on", "off"):
        raise EmbBertError(f"{path}: tokenizer must be 'auto', 'on' or 'off'")
    if b.weights_placement not in ("flash", "sram"):
        raise EmbBertError(f"{path}: weights_placement must be 'flash' or 'sram'")
    if b.arena_placement not in ("sram", "psram"):
        raise EmbBertError(f"{path}: arena_placement must be 'sram' or 'psram'")
    if b.arena_placement == "psram" and b.psram_bytes <= 0:
        raise EmbBertError(f"{path}: arena_placement 'psram' on a board without PSRAM")
    if b.build:
        for flag, key in (("-mcpu=", "cpu"), ("-mfpu=", "fpu")):
            named = [f[len(flag):] for f in b.build.machine if f.startswith(flag)]
            if named and named != [getattr(b, key)]:
                raise EmbBertError(f"{path}: [build] machine says {flag}{named[0]}, but "
                                   f"{key} = {getattr(b, key)!r}")
    return b


def _build(path: Path, data: dict) -> Build | None:
    t = data.get("build")
    if t is None:
        return None
    missing = [k for k in BUILD_KEYS if k not in t]
    if missing:
        raise EmbBertError(f"{path}: [build] misses {', '.join(missing)}")
    return Build(cc=str(t["cc"]), platform=str(t["platform"]), ldscript=str(t["ldscript"]),
                 **{k: tuple(map(str, t[k])) for k in ("machine", "cflags", "ldflags", "libs")},
                 **{k: tuple(map(str, t.get(k, ()))) for k in ("includes", "sources")})


def _emulator(path: Path, data: dict) -> Emulator | None:
    t = data.get("emulator")
    if t is None:
        return None
    if not t.get("command"):
        raise EmbBertError(f"{path}: [emulator] has no command")
    return Emulator(command=tuple(map(str, t["command"])))
