"""Boards are data: one TOML per board in boards/ (cpu, clock, memories, placement, transport).

Required keys: name, description, cpu, fpu, kernels, clock_hz, flash_bytes, sram_bytes,
psram_bytes, reserved_sram_bytes, weights_placement ("flash" | "sram"), arena_placement
("sram" | "psram"), pio_env, transport, counter.
Optional keys: reserved_flash_bytes (code of runtime + firmware, default 64 KiB),
arena_max_bytes (size of the RAM region the arena goes to, default sram - reserved, or psram),
arena_section / weights_section (linker section names, default none), arena_region (text),
tokenizer ("auto": the on-device tokenizer when it fits, the default; "on"; "off").
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .errors import EmbBertError

REQUIRED = ("name", "description", "cpu", "fpu", "kernels", "clock_hz", "flash_bytes",
            "sram_bytes", "psram_bytes", "reserved_sram_bytes", "weights_placement",
            "arena_placement", "pio_env", "transport", "counter")
DEFAULT_RESERVED_FLASH = 65_536


def boards_dir() -> Path:
    env = os.environ.get("EMBBERT_BOARDS_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "boards"


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
    known_fields = set(Board.__dataclass_fields__) - {"extra"}
    kw = {k: v for k, v in data.items() if k in known_fields}
    extra = {k: v for k, v in data.items() if k not in known_fields}
    if isinstance(kw.get("tokenizer"), bool):
        kw["tokenizer"] = "on" if kw["tokenizer"] else "off"
    b = Board(**kw, extra=extra)
    if b.tokenizer not in ("auto", "on", "off"):
        raise EmbBertError(f"{path}: tokenizer must be 'auto', 'on' or 'off'")
    if b.weights_placement not in ("flash", "sram"):
        raise EmbBertError(f"{path}: weights_placement must be 'flash' or 'sram'")
    if b.arena_placement not in ("sram", "psram"):
        raise EmbBertError(f"{path}: arena_placement must be 'sram' or 'psram'")
    if b.arena_placement == "psram" and b.psram_bytes <= 0:
        raise EmbBertError(f"{path}: arena_placement 'psram' on a board without PSRAM")
    return b
