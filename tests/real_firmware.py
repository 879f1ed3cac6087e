"""The bundled model (models/sst2.pt) exported exactly as embbert-export does, and the firmware
built from it: the real runtime, for the fuzz and soak tests (the protocol tests use the fake)."""

from __future__ import annotations

from pathlib import Path

from embbert.boards import load_board
from embbert.checkpoint import file_sha256, load
from embbert.export.exporter import export_quantized
from embbert.quant.as_exported import quantize_as_exported
from embbert.quant.quantize import QuantModel

from .conftest import REPO

MODEL = REPO / "models" / "sst2.pt"


def export_bundled(board: str, dest: Path) -> QuantModel:
    """Quantizes and writes the bundled model for board into dest; returns the simulation the
    device must match bit for bit."""
    sha = file_sha256(MODEL)
    mq = quantize_as_exported(load(MODEL), sha256=sha)
    export_quantized(mq, load_board(board), dest, sha256=sha, checkpoint=str(MODEL))
    return mq
