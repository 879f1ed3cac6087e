"""The firmware on the emulated boards (QEMU boards qemu-m4, Cortex-M4F, qemu-m7, Cortex-M7, and
qemu-stm32f4, the NUCLEO-F446RE firmware on netduinoplus2), built with arm-none-eabi-gcc against
the FAKE model, over the TCP serial link."""

from __future__ import annotations

import os
import random
import time

import pytest
from embbert.boards import emulated_boards, load_board
from embbert.device import protocol as P
from embbert.device.qemu import QemuBoard
from embbert.device.session import Device

from .fake_firmware import FAKE_CONFIG, FAKE_SHA256, build_fake_mps2, fake_logits, missing_tools

MISSING = missing_tools("qemu-system-arm", "arm-none-eabi-gcc")
pytestmark = [pytest.mark.qemu,
              pytest.mark.skipif(bool(MISSING), reason=f"needs {' and '.join(MISSING)}")]


@pytest.fixture(scope="module", params=emulated_boards())
def board_elf(request, tmp_path_factory):
    board = request.param
    return board, build_fake_mps2(board, tmp_path_factory.mktemp(board) / "fw.elf")


def test_protocol_on_qemu(board_elf):
    board, elf = board_elf
    with QemuBoard(board, elf, timeout=5.0) as q:
        dev = Device(q.transport, timeout=5.0, infer_timeout=20.0)
        dev.sync()
        assert dev.ping(b"\x00\xeb\x51ping") == b"\x00\xeb\x51ping"
        info = dev.info()
        assert (info.board, info.counter, info.clock_hz) == (board, "instructions",
                                                             load_board(board).clock_hz)
        assert (info.sha256, info.config, info.init_ok) == (FAKE_SHA256, FAKE_CONFIG, True)

        counts = {}
        rng = random.Random(5)
        for T in (1, 16, 64, 128):
            ids = [rng.randrange(8192) for _ in range(T)]
            segs = [1] * T
            first = dev.infer(ids, segs)
            again = dev.infer(ids, segs)
            assert first.logits == fake_logits(ids, segs)
            # -icount makes the instruction count exact and repeatable (+-1 from tick rounding)
            assert abs(first.count - again.count) <= 1
            counts[T] = first.count
        assert 0 < counts[1] < counts[16] < counts[64] < counts[128]
        per_token = (counts[128] - counts[64]) / 64
        assert per_token == pytest.approx((counts[64] - counts[16]) / 48, rel=0.05)

        with pytest.raises(P.DeviceError, match="TOKEN_OUT_OF_RANGE"):
            dev.infer([8192], [1])
        with pytest.raises(P.DeviceError, match="TOO_LONG"):
            dev.infer([1] * 129, [1] * 129)

        # garbage, a corrupted frame and a lying length, then back to normal
        bad = bytearray(P.encode_frame(P.INFER, 9, P.encode_infer([1, 2], [1, 1])))
        bad[8] ^= 0x40
        dev.send_raw(rng.randbytes(300) + bytes(bad) + b"\xeb\x51\x03\x00\x00\x00\x04")
        dev.sync()
        assert dev.infer([3, 4, 5], [1, 1, 2]).logits == fake_logits([3, 4, 5], [1, 1, 2])
        proc = q.proc
    assert proc is not None and proc.poll() is not None  # QEMU is gone after the with block


def test_qemu_killed_on_exception(board_elf):
    board, elf = board_elf
    with pytest.raises(RuntimeError):
        with QemuBoard(board, elf) as q:
            proc = q.proc
            raise RuntimeError("boom")
    assert proc.poll() is not None


def test_missing_firmware_is_a_clear_error(tmp_path):
    from embbert.errors import EmbBertError

    with pytest.raises(EmbBertError, match="not found"):
        QemuBoard("qemu-m4", tmp_path / "nope.elf")
    with pytest.raises(EmbBertError, match="unknown board"):
        QemuBoard("qemu-m5", tmp_path / "nope.elf")


@pytest.mark.parametrize("board", ["qemu-m4", "qemu-stm32f4"])
def test_guest_fault_ends_quickly_with_a_reason(board, tmp_path):
    """A crashing runtime must not turn into a hang: the HardFault handler's bkpt makes QEMU exit
    and the host sees a closed link at once."""
    from embbert.device.transport import TransportError

    elf = build_fake_mps2(board, tmp_path / "crash.elf", defines=["FAKE_CRASH_ON_T=3"])
    with QemuBoard(board, elf) as q:
        dev = Device(q.transport, infer_timeout=20.0)
        dev.sync()
        assert dev.infer([1, 2], [1, 1]).logits == fake_logits([1, 2], [1, 1])
        t0 = time.monotonic()
        with pytest.raises(TransportError):
            dev.infer([1, 2, 3], [1, 1, 1])
        assert time.monotonic() - t0 < 5.0
        q.proc.wait(timeout=5)
        assert q.returncode != 0 and "QEMU exited with code" in q.failure()


def test_serve_cli_runs_until_sigterm(board_elf):
    """`python -m embbert.device.qemu` (what a Makefile can use instead of `pio -t upload`)."""
    import signal
    import subprocess
    import sys

    from embbert.device.qemu import free_port
    from embbert.device.transport import SerialTransport

    board, elf = board_elf
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "embbert.device.qemu", "--board", board, "--elf",
                             str(elf), "--port", str(port)], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        banner = proc.stdout.readline() + proc.stdout.readline()
        assert f"socket://127.0.0.1:{port}" in banner
        deadline = time.monotonic() + 10
        while True:
            try:
                transport = SerialTransport(f"socket://127.0.0.1:{port}")
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        with Device(transport) as dev:
            dev.sync()
            assert dev.info().board == board
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 143
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
