"""The design card's commands as a user types them, in a copy of the project:
embbert-export MODEL --board B, then plain `pio run -t upload`, then embbert-bench --port.
qemu-m4 runs end to end; for the real boards the env that plain `pio run` selects is checked
(building them needs the PlatformIO registry), and bench --port takes the exported board's link
settings."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from embbert.bench.link import exported_link
from embbert.device.protocol import DeviceInfo
from embbert.device.qemu import free_port

from .conftest import REPO, run_cli
from .fake_firmware import missing_tools

MODEL = REPO / "models" / "sst2.pt"
PIO = [sys.executable, "-m", "platformio"]


def _project(dest: Path) -> Path:
    """platformio.ini and what it builds (firmware, boards, runtime), without build outputs."""
    skip = shutil.ignore_patterns("generated", "__pycache__")
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "platformio.ini", dest)
    for d in ("firmware", "boards", "runtime_c"):
        shutil.copytree(REPO / d, dest / d, ignore=skip)
    return dest


def _export(project: Path, board: str) -> subprocess.CompletedProcess:
    return run_cli("embbert-export", MODEL, "--board", board, "--out",
                   project / "firmware" / "generated", "--no-check",
                   env={"OMP_NUM_THREADS": "1"})


@pytest.mark.parametrize("board, env", [("esp32s3", "esp32s3"),
                                        ("nucleo-h743zi", "nucleo_h743zi"),
                                        ("qemu-stm32f4", "qemu_stm32f4")])
def test_export_selects_the_boards_env_for_plain_pio_run(board, env, tmp_path, monkeypatch):
    from platformio.project.config import ProjectConfig

    project = _project(tmp_path)
    _export(project, board)
    monkeypatch.chdir(project)  # pio runs in the project folder
    cfg = ProjectConfig(str(project / "platformio.ini"))  # what `pio run` reads
    assert cfg.default_envs() == [env]


def test_bench_port_uses_the_exported_boards_link_settings():
    cfg = dict(vocab_size=8192, max_len=256, d_model=128, reduced_dim=16, n_layers=4,
               conv_kernel=32, expansion=1, num_labels=2)

    def info(clock: int) -> DeviceInfo:
        return DeviceInfo(protocol_version=1, max_payload=1538, format_version=1, quant_version=1,
                          sha256="0" * 64, config=cfg, arena_bytes=0, clock_hz=clock,
                          counter="cycles", init_status=0, board="nucleo-f446re")

    link = exported_link({"board": "nucleo-f446re"})
    assert link.baudrate == 115_200 and link.board is not None
    full, reset = link.infer_timeout(info(180_000_000), 10.0), link.infer_timeout(info(16_000_000),
                                                                                    10.0)
    assert full == 10.0  # ~0.15 s expected at 180 MHz: the user's timeout stands
    assert reset > 30.0  # at the 16 MHz reset clock the longest input takes seconds
    assert exported_link(None).board is None and exported_link({"board": "nope"}).board is None


def test_firmware_baud_matches_the_board_files():
    import re

    from embbert.boards import load_board

    sources = {"nucleo-f446re": "firmware/platform/stm32/stm32_device.h",
               "nucleo-h743zi": "firmware/platform/stm32/stm32_device.h",
               "esp32s3": "firmware/platform/esp32s3/uart_esp32s3.c"}
    for board, src in sources.items():
        m = re.search(r"#define EBQ_UART_BAUD (\d+)", (REPO / src).read_text())
        assert m and int(m.group(1)) == load_board(board).extra["baud"], board


@pytest.mark.qemu
@pytest.mark.skipif(bool(missing_tools("qemu-system-arm", "arm-none-eabi-gcc")),
                    reason="needs qemu-system-arm and arm-none-eabi-gcc")
def test_qemu_m4_as_typed_end_to_end(tmp_path):
    project = _project(tmp_path / "proj")
    out = _export(project, "qemu-m4").stdout
    assert "qemu_m4" in out  # the export says which env comes next
    env = dict(os.environ)
    env.setdefault("PLATFORMIO_CORE_DIR", str(REPO / ".pio-core"))
    env["PLATFORMIO_SETTING_CHECK_PLATFORMIO_INTERVAL"] = "9999"
    env["PLATFORMIO_SETTING_ENABLE_TELEMETRY"] = "No"
    port = free_port()
    proc = subprocess.Popen([*PIO, "run", "-t", "upload", "--upload-port", str(port)],
                            cwd=project, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        lines = []
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if not line or f"socket://127.0.0.1:{port}" in line:
                break
        assert any(f"socket://127.0.0.1:{port}" in x for x in lines), "".join(lines)[-3000:]
        assert any("Processing qemu_m4" in x for x in lines)
        js = tmp_path / "bench.json"
        r = run_cli("embbert-bench", "--port", f"socket://127.0.0.1:{port}", "--generated",
                    project / "firmware" / "generated", "--limit", "5", "--json", js,
                    timeout=300)
        assert "link: board qemu-m4" in r.stdout
        s = json.loads(js.read_text())
        assert s["board"] == "qemu-m4" and s["bit_exact_quant"] == 1.0
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
