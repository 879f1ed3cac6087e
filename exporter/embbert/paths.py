"""Where the checkout's parts are (the repository holding this package, in an editable install)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BOARDS = REPO / "boards"
RUNTIME = REPO / "runtime_c"
FIRMWARE = REPO / "firmware"
GENERATED = FIRMWARE / "generated"
