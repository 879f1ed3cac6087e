"""PlatformIO, offline: the local QEMU platform builds the qemu_m4/qemu_m7 envs of the real
platformio.ini with the system arm-none-eabi-gcc, and `-t upload` serves the protocol from QEMU.
Runs in a copy of the project with the FAKE runtime/model (tests/fake_ebq)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from embbert.boards import load_board
from embbert.device.qemu import free_port
from embbert.device.session import Device
from embbert.device.transport import SerialTransport, TransportError
from embbert.paths import REPO

from .fake_firmware import fake_logits, make_pio_project, missing_tools

MISSING = missing_tools("qemu-system-arm", "arm-none-eabi-gcc")
pytestmark = [pytest.mark.qemu,
              pytest.mark.skipif(bool(MISSING), reason=f"needs {' and '.join(MISSING)}")]
PIO = [sys.executable, "-m", "platformio"]


@pytest.fixture(scope="module")
def pio_env():
    env = dict(os.environ)
    env.setdefault("PLATFORMIO_CORE_DIR", str(REPO / ".pio-core"))
    env["PLATFORMIO_SETTING_CHECK_PLATFORMIO_INTERVAL"] = "9999"
    env["PLATFORMIO_SETTING_ENABLE_TELEMETRY"] = "No"
    seed = subprocess.run([sys.executable, str(REPO / "tools" / "seed_platformio.py")],
                          env=env, capture_output=True, text=True, timeout=120)
    assert seed.returncode == 0, seed.stderr
    return env


@pytest.fixture(scope="module")
def project(tmp_path_factory, pio_env) -> Path:
    return make_pio_project(tmp_path_factory.mktemp("pio"))


@pytest.mark.parametrize("board", ["qemu-m4", "qemu-m7", "qemu-stm32f4"])
def test_pio_builds_offline_with_the_board_files_facts(project, pio_env, board):
    """The local platform compiles and links with the board TOML's flags, linker script and
    sizes, and the runtime library picks the TOML's kernels (one board reader)."""
    b = load_board(board)
    r = subprocess.run([*PIO, "run", "-v", "-e", b.pio_env], cwd=project, env=pio_env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert (project / ".pio" / "build" / b.pio_env / "firmware.elf").is_file()
    compiles = [ln for ln in r.stdout.splitlines() if ln.startswith(b.build.cc) and " -c " in ln]
    assert compiles and all(" ".join(b.build.machine + b.build.cflags) in ln
                            for ln in compiles)
    link = next(ln for ln in r.stdout.splitlines() if " -o .pio/build/" in ln and
                "firmware.elf" in ln and ln.startswith(b.build.cc))
    assert f"-T {project / b.build.ldscript}" in link
    assert f"kernels={b.kernels}" in r.stdout
    assert f"{b.flash_bytes} bytes" in r.stdout            # the size check's flash capacity


def test_pio_upload_serves_protocol_until_killed(project, pio_env):
    port = free_port()
    env = {**pio_env, "EBQ_QEMU_PORT": "1"}  # --upload-port wins
    proc = subprocess.Popen([*PIO, "run", "-e", "qemu_m4", "-t", "upload", "--upload-port",
                             f"socket://127.0.0.1:{port}"], cwd=project, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        output = []
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            output.append(line)
            if f"socket://127.0.0.1:{port}" in line or not line:
                break
        assert any(f"socket://127.0.0.1:{port}" in x for x in output), "".join(output)
        with Device(_connect(f"socket://127.0.0.1:{port}")) as dev:
            dev.sync()
            assert dev.info().board == "fake"
            assert dev.infer([5, 6], [1, 1]).logits == fake_logits([5, 6], [1, 1])
        # killing `pio` alone must take QEMU down too (no orphan holding the port)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _listening(port):
            time.sleep(0.2)
        assert not _listening(port), "QEMU still running after pio was killed"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def test_pio_without_exported_model_says_what_to_run(project, pio_env, tmp_path):
    bare = make_pio_project(tmp_path)
    for f in (bare / "firmware" / "generated").iterdir():
        f.unlink()
    r = subprocess.run([*PIO, "run", "-e", "qemu_m4"], cwd=bare, env=pio_env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode != 0
    assert "embbert-export model.pt --board qemu-m4" in r.stdout + r.stderr


def test_pio_upload_port_of_a_serial_device_is_refused_in_one_line(project, pio_env):
    r = subprocess.run([*PIO, "run", "-e", "qemu_m4", "-t", "upload", "--upload-port",
                        "/dev/ttyUSB0"], cwd=project, env=pio_env, capture_output=True,
                       text=True, timeout=300)
    out = r.stdout + r.stderr
    assert r.returncode != 0 and "Traceback" not in out
    assert "--upload-port /dev/ttyUSB0" in out and "local TCP port" in out


def test_pio_refuses_a_model_exported_for_another_board(pio_env, tmp_path):
    proj = make_pio_project(tmp_path)
    report = {"board": "qemu-m7", "checkpoint": "runs/m.pt"}
    (proj / "firmware" / "generated" / "export_report.json").write_text(json.dumps(report))
    r = subprocess.run([*PIO, "run", "-e", "qemu_m4"], cwd=proj, env=pio_env,
                       capture_output=True, text=True, timeout=300)
    out = r.stdout + r.stderr
    assert r.returncode != 0
    assert "exported for board qemu-m7" in out and "pio run -e qemu_m7" in out
    assert "embbert-export runs/m.pt --board qemu-m4" in out


def test_plain_pio_run_builds_the_exported_boards_env(pio_env, tmp_path):
    from embbert.boards import load_board
    from embbert.export.exporter import PIO_CONFIG, pio_config

    proj = make_pio_project(tmp_path)
    gen = proj / "firmware" / "generated"
    (gen / "export_report.json").write_text(json.dumps({"board": "qemu-m7"}))
    (gen / PIO_CONFIG).write_text(pio_config(load_board("qemu-m7")))
    r = subprocess.run([*PIO, "run"], cwd=proj, env=pio_env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert (proj / ".pio" / "build" / "qemu_m7" / "firmware.elf").is_file()
    assert not (proj / ".pio" / "build" / "qemu_m4").exists()


def _connect(url: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return SerialTransport(url, timeout=5.0)
        except TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _listening(port: int) -> bool:
    want = f":{port:04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        f = line.split()
        if f[1].endswith(want) and f[3] == "0A":
            return True
    return False
