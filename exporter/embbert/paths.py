"""Where the checkout's parts are (the repository holding this package, in an editable install)."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BOARDS = REPO / "boards"
RUNTIME = REPO / "runtime_c"
FIRMWARE = REPO / "firmware"
GENERATED = FIRMWARE / "generated"


def vendor_dir() -> Path:
    """The vendored CMSIS / ESP-IDF files the real boards' builds need: $EMBBERT_VENDOR, else
    ../shared/vendor beside the repository."""
    env = os.environ.get("EMBBERT_VENDOR")
    return Path(env) if env else REPO.parent / "shared" / "vendor"


def build_path(p: str) -> Path:
    """A [build] path of a board TOML: "$VENDOR/..." in the vendored files, else in the repo."""
    if p.startswith("$VENDOR/"):
        return vendor_dir() / p[len("$VENDOR/"):]
    return REPO / p
