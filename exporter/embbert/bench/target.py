"""The device embbert-bench talks to: a URL (--port), or a board it builds and runs (--board).

--board uses firmware/generated when that holds this model exported for this board (what
`embbert-export` + `pio run` would flash). Otherwise it exports the model into
build/bench/<board>-<sha12>/generated and builds there, so benching another model or board
never overwrites the user's firmware/generated (cached by model hash: a second run reuses it).
The firmware is built with cbuild (plain gcc, no PlatformIO) and the QEMU or host process is
always stopped on the way out.
"""

from __future__ import annotations

import contextlib
import fcntl
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..boards import runnable_boards
from ..cbuild import GENERATED, build_firmware
from ..device.transport import DEFAULT_BAUD, PipeTransport, Transport, open_transport
from ..errors import EmbBertError
from ..paths import REPO
from .run import BenchError, read_export_report

BOARDS = tuple(runnable_boards())
BUILD_ROOT = REPO / "build" / "bench"


@dataclass
class Firmware:
    board: str
    generated_dir: Path
    binary: Path | None = None


def _matches(report: dict | None, board: str, sha: str) -> bool:
    return bool(report) and report.get("board") == board and report.get("model_sha256") == sha


def prepare(board: str, model: Path, sha: str, *, generated: Path = GENERATED,
            build_root: Path = BUILD_ROOT, echo: Callable[[str], object] = print) -> Firmware:
    """Model data for (board, model): firmware/generated if it is that, else an export in
    build_root (reused when present), then the firmware binary built from it."""
    if board not in BOARDS:
        raise BenchError(f"--board {board}: cannot build and run it here (known: "
                         f"{', '.join(BOARDS)}; for real boards flash with PlatformIO and use "
                         "--port)")
    work = build_root / f"{board}-{sha[:12]}"
    with _exclusive(work):  # another bench may be exporting or building the same thing
        return _prepare(board, model, sha, work, generated, echo)


@contextlib.contextmanager
def _exclusive(work: Path) -> Iterator[None]:
    work.mkdir(parents=True, exist_ok=True)
    with open(work / ".lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _prepare(board: str, model: Path, sha: str, work: Path, generated: Path,
             echo: Callable[[str], object]) -> Firmware:
    if _matches(read_export_report(generated), board, sha):
        gen = generated
        echo(f"using {gen} ({model.name} exported for {board})")
    else:
        gen = work / "generated"
        if _matches(read_export_report(gen), board, sha):
            echo(f"using {gen} (exported earlier)")
        else:
            _export(model, board, gen, echo)
    echo(f"building the {board} firmware in {work} ...")
    binary = build_firmware(board, work / ("fw_host" if board == "host" else "fw.elf"),
                            generated_dir=gen)
    return Firmware(board, gen, binary)


def _export(model: Path, board: str, out: Path, echo: Callable[[str], object]) -> None:
    from ..boards import load_board
    from ..export.exporter import export

    echo(f"exporting {model} for {board} into {out} (firmware/generated holds another model "
         "or board; it is left as it is)")
    res, _ = export(model, load_board(board), out)
    if not res.report["fits"]:
        raise BenchError(f"{model} does not fit {board}:\n{res.table}")


@contextlib.contextmanager
def launch(fw: Firmware, timeout: float) -> Iterator[Transport]:
    """Starts the built firmware (QEMU or the host binary); always stops it on exit. It runs
    a private copy, so another bench rebuilding the shared one cannot hit "Text file busy"
    or change the binary under this run."""
    assert fw.binary is not None
    with tempfile.TemporaryDirectory(prefix="embbert-bench-") as tmp:
        binary = Path(shutil.copy2(fw.binary, Path(tmp) / fw.binary.name))
        if fw.board == "host":
            with PipeTransport([str(binary)], timeout=timeout) as t:
                yield t
        else:
            with _qemu(fw.board, binary, timeout) as t:
                yield t


@contextlib.contextmanager
def _qemu(board: str, elf: Path, timeout: float) -> Iterator[Transport]:
    from ..device.qemu import QemuBoard

    with QemuBoard(board, elf, timeout=timeout) as q:
        assert q.transport is not None
        try:
            yield q.transport
        except EmbBertError as e:
            why = q.failure()  # a guest fault ends QEMU: say so instead of only "closed"
            if why:
                raise BenchError(f"{e} ({why})") from e
            raise


@contextlib.contextmanager
def connect(port: str, timeout: float, baudrate: int = DEFAULT_BAUD) -> Iterator[Transport]:
    """A device already running at a pyserial URL (or pipe:COMMAND)."""
    t = open_transport(port, timeout=timeout, baudrate=baudrate)
    try:
        yield t
    finally:
        t.close()
