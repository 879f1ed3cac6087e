"""Misbehaving peers: the bench's link (Device.sync / requests over the real transports) ends
within its timeout with one line saying what happened, whatever the other end does, and leaves
no process behind. The peers are real sockets and processes, not mocks of the transport."""

from __future__ import annotations

import os
import random
import socket
import sys
import threading
import time
from pathlib import Path

import pytest
from embbert.device import protocol as P
from embbert.device.session import Device, DeviceTimeout
from embbert.device.transport import PipeTransport, TransportError, open_transport
from embbert.errors import EmbBertError

from .conftest import REPO
from .fake_firmware import missing_tools

TIMEOUT = 2.0
SLACK = 1.5  # thread start, connect, a last bounded read


def flood(conn: socket.socket, rng: random.Random) -> None:
    frames = b"".join(P.encode_frame(P.PONG, rng.randrange(65536), rng.randbytes(8))
                      for _ in range(2000))
    while True:
        conn.sendall(frames)


def _bad_crc(conn: socket.socket, rng: random.Random) -> None:
    while True:
        f = bytearray(P.encode_frame(P.PONG, rng.randrange(65536), rng.randbytes(8)))
        f[-1] ^= 0x5A
        conn.sendall(bytes(f) * 50)
        time.sleep(0.001)


def _random(conn: socket.socket, rng: random.Random) -> None:
    while True:
        conn.sendall(rng.randbytes(4096))
        time.sleep(0.001)


def _silent(conn: socket.socket, rng: random.Random) -> None:
    while conn.recv(4096):
        pass


def _close_mid_frame(conn: socket.socket, rng: random.Random) -> None:
    conn.recv(4096)  # the first request (or break) arrives: answer half a frame, then hang up
    conn.sendall(P.encode_frame(P.PONG, 1, bytes(64))[:30])
    time.sleep(0.2)


PEERS = {"silent": _silent, "random bytes": _random, "bad CRC only": _bad_crc,
         "flood": flood, "close mid-frame": _close_mid_frame}
EXPECT = {"silent": "no reply to PING",
          "random bytes": "line noise",
          "bad CRC only": "bad CRC and no valid one: line noise or wrong baud rate?",
          "flood": "the peer floods the line",
          "close mid-frame": "peer closed mid-frame"}


class Peer:
    """A TCP peer in a thread (what QEMU's serial socket would be), one connection."""

    def __init__(self, behave) -> None:
        self.srv = socket.create_server(("127.0.0.1", 0))
        self.port = self.srv.getsockname()[1]
        self.behave = behave
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        conn, _ = self.srv.accept()
        with conn:
            try:
                self.behave(conn, random.Random(1))
            except OSError:  # the bench hung up: that is how every case ends
                pass

    def close(self) -> None:
        self.srv.close()
        self.thread.join(timeout=5)


def _one_line(e: BaseException) -> str:
    msg = str(e)
    assert "\n" not in msg, msg
    return msg


@pytest.mark.parametrize("mode", list(PEERS))
def test_socket_peer_ends_within_timeout_with_a_diagnosis(mode):
    peer = Peer(PEERS[mode])
    t0 = time.monotonic()
    with pytest.raises(EmbBertError) as ei:
        with open_transport(f"socket://127.0.0.1:{peer.port}", timeout=TIMEOUT) as t:
            Device(t, timeout=TIMEOUT).sync(timeout=TIMEOUT)
    took = time.monotonic() - t0
    peer.close()
    assert EXPECT[mode] in _one_line(ei.value), (mode, str(ei.value))
    assert took < TIMEOUT + SLACK, (mode, took)
    assert not peer.thread.is_alive()


def testflood_during_a_request_is_bounded_too():
    """After a good sync, a peer that starts flooding cannot stretch one INFER past its
    timeout, and the memory of ignored frames stays bounded."""
    peer = Peer(flood)
    with open_transport(f"socket://127.0.0.1:{peer.port}", timeout=TIMEOUT) as t:
        dev = Device(t, timeout=TIMEOUT, infer_timeout=TIMEOUT)
        t0 = time.monotonic()
        with pytest.raises(DeviceTimeout, match="floods"):
            dev.infer([2, 5, 4], [1, 1, 1])
        assert time.monotonic() - t0 < TIMEOUT + SLACK
        assert dev.stats.frames > 10_000 and len(dev.ignored) <= 256
    peer.close()


PIPE_PEER = r"""
import os, random, sys, time
sys.path.insert(0, {exporter!r})
from embbert.device import protocol as P
mode = sys.argv[1]
rng = random.Random(2)
os.read(0, 4096)
if mode == "flood":
    frames = b"".join(P.encode_frame(P.PONG, rng.randrange(65536), b"x") for _ in range(500))
    while True:
        os.write(1, frames)
os.write(1, P.encode_frame(P.PONG, 1, bytes(40))[:20])
"""


def _alive(token: str) -> list[int]:
    """Pids whose command line holds token (our own peers only)."""
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if token in (d / "cmdline").read_bytes().decode(errors="replace"):
                    pids.append(int(d.name))
            except OSError:
                pass
    return pids


@pytest.mark.parametrize("mode,expect", [("flood", "the peer floods the line"),
                                         ("close", "peer closed mid-frame")])
def test_pipe_peer_ends_within_timeout_and_leaves_no_process(tmp_path, mode, expect):
    script = tmp_path / f"peer-{os.getpid()}-{mode}.py"
    script.write_text(PIPE_PEER.format(exporter=str(REPO / "exporter")))
    t0 = time.monotonic()
    with pytest.raises(EmbBertError) as ei:
        with PipeTransport([sys.executable, str(script), mode], timeout=TIMEOUT) as t:
            Device(t, timeout=TIMEOUT).sync(timeout=TIMEOUT)
    assert expect in _one_line(ei.value)
    assert time.monotonic() - t0 < TIMEOUT + SLACK + 1.0  # + python start-up of the peer
    assert _alive(script.name) == []


@pytest.mark.qemu
@pytest.mark.skipif(bool(missing_tools("qemu-system-arm", "arm-none-eabi-gcc")),
                    reason="needs qemu-system-arm and arm-none-eabi-gcc")
def test_qemu_killed_mid_request(tmp_path):
    from embbert.device.qemu import QemuBoard

    from .fake_firmware import build_fake_mps2

    elf = build_fake_mps2("qemu-m4", tmp_path / "fw.elf")
    with QemuBoard("qemu-m4", elf, timeout=TIMEOUT) as q:
        assert q.transport is not None and q.proc is not None
        dev = Device(q.transport, timeout=TIMEOUT, infer_timeout=TIMEOUT)
        dev.sync(timeout=10.0)
        pid = q.proc.pid
        os.kill(pid, 9)
        t0 = time.monotonic()
        with pytest.raises((TransportError, DeviceTimeout)) as ei:
            dev.infer([2] * 100, [1] * 100)
        assert time.monotonic() - t0 < TIMEOUT + SLACK
        _one_line(ei.value)
    assert q.proc.poll() is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
