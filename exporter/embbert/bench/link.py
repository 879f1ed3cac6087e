"""Link settings for `embbert-bench --port`: the serial settings and reply timeouts of the board
the model was exported for (firmware/generated/export_report.json names it).

Board keys (boards/<name>.toml, optional): baud (UART boards; the firmware's EBQ_UART_BAUD),
cycles_per_mac (a pessimistic estimate for the board's kernels, memories and wait states).
The INFER timeout covers three times the longest inference (max_len tokens) expected at the
clock the device reports in INFO, so a board that fell back to its reset clock is still
waited for, and a hung one is still detected.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..boards import Board, load_board
from ..device.protocol import DeviceInfo
from ..device.transport import DEFAULT_BAUD
from ..errors import EmbBertError
from ..macs import runtime_macs

DEFAULT_CYCLES_PER_MAC = 6.0  # portable C kernels (~5 instructions per MAC on Cortex-M4)


@dataclass
class LinkSettings:
    board: Board | None
    baudrate: int = DEFAULT_BAUD

    def describe(self) -> str:
        if self.board is None:
            return f"{self.baudrate} baud (no exported board recorded)"
        return f"board {self.board.name} (the exported one): {self.baudrate} baud"

    def infer_timeout(self, info: DeviceInfo, base: float) -> float:
        """`base`, or 3x the expected longest inference + 1 s if that is longer (only for a
        known board: a device of unknown origin gets `base`)."""
        if self.board is None:
            return base
        clock = info.clock_hz or self.board.clock_hz
        if not clock:
            return base
        per_mac = float(self.board.extra.get("cycles_per_mac", DEFAULT_CYCLES_PER_MAC))
        expected = runtime_macs(info.config, int(info.config["max_len"])) * per_mac / clock
        return max(base, 3.0 * expected + 1.0)


def exported_link(report: dict | None) -> LinkSettings:
    """Settings of the board an export report names (defaults when there is none)."""
    name = (report or {}).get("board")
    if not name:
        return LinkSettings(None)
    try:
        board = load_board(name)
    except EmbBertError:
        return LinkSettings(None)
    return LinkSettings(board, int(board.extra.get("baud", DEFAULT_BAUD)))


def exported_link_in(generated: Path) -> LinkSettings:
    from .run import read_export_report
    return exported_link(read_export_report(generated))
