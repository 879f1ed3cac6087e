"""Builds of the firmware against the FAKE model/runtime in tests/fake_ebq (protocol tests only),
and the Python mirror of the fake model's logits."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from embbert import cbuild, paths
from embbert.boards import load_board

FAKE = Path(__file__).resolve().parent / "fake_ebq"
FAKE_GENERATED = FAKE / "generated"
FAKE_RUNTIME_SRCS = [FAKE / "fake_runtime.c"]
FAKE_CONFIG = dict(vocab_size=8192, max_len=128, d_model=128, reduced_dim=16, n_layers=4,
                   conv_kernel=32, expansion=1, num_labels=2)
FAKE_SHA256 = bytes((i * 7 + 1) & 0xFF for i in range(32)).hex()
FAKE_ARENA = 4096


def fake_logits(ids: Sequence[int], segs: Sequence[int], num_labels: int = 2) -> list[float]:
    """Mirror of tests/fake_ebq/fake_runtime.c (exact in float32)."""
    out = []
    for k in range(num_labels):
        acc = 0
        for i, s in zip(ids, segs, strict=True):
            acc = (acc + (i + 1) * (k + 1) + 7 * s) % 1009
        out.append(acc * 0.0625 - k)
    return out


def build_fake_host(out: Path, *, sanitize: bool = False, defines: Sequence[str] = ()) -> Path:
    return cbuild.build_firmware("host", out, generated_dir=FAKE_GENERATED,
                                 runtime_srcs=FAKE_RUNTIME_SRCS, sanitize=sanitize,
                                 defines=defines)


def build_fake_mps2(board: str, out: Path, defines: Sequence[str] = ()) -> Path:
    clock = load_board(board).clock_hz
    return cbuild.build_firmware(board, out, generated_dir=FAKE_GENERATED,
                                 runtime_srcs=FAKE_RUNTIME_SRCS,
                                 defines=[f'EBQ_BOARD_NAME="{board}"', f"EBQ_CLOCK_HZ={clock}u",
                                          *defines])


def missing_tools(*tools: str) -> list[str]:
    return [t for t in tools if shutil.which(t) is None]


def make_pio_project(dest: Path) -> Path:
    """A copy of the project's PlatformIO side (platformio.ini, firmware/, boards/) in which the
    FAKE runtime stands in for runtime_c/ and the FAKE model for firmware/generated/."""
    repo = paths.REPO
    shutil.copy(repo / "platformio.ini", dest / "platformio.ini")
    shutil.copytree(repo / "firmware", dest / "firmware",
                    ignore=shutil.ignore_patterns("generated", "__pycache__"))
    shutil.copytree(FAKE_GENERATED, dest / "firmware" / "generated")
    shutil.copytree(repo / "boards", dest / "boards",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(repo / "runtime_c" / "include", dest / "runtime_c" / "include")
    for name in ("library.json", "select_kernels.py"):
        shutil.copy(repo / "runtime_c" / name, dest / "runtime_c" / name)
    (dest / "runtime_c" / "src").mkdir()
    shutil.copy(FAKE_RUNTIME_SRCS[0], dest / "runtime_c" / "src")
    return dest
