"""Run firmware on an emulated board (QEMU mps2) with its UART on a local TCP port.

    with QemuBoard("qemu-m4", "fw.elf") as q:      # picks a free port, connects, always kills QEMU
        info = Device(q.transport).info()

    python -m embbert.device.qemu --board qemu-m4 --elf fw.elf [--port 4444]   # serve until Ctrl-C

The command line comes from the board's TOML ([emulator] command). The serial link is a TCP
socket that *we* bind and listen on, handed to QEMU as a file descriptor (`-chardev
socket,fd=N,server=on,wait=on`): QEMU waits for the first client before starting the guest,
and no other process can take the port between choosing it and QEMU listening (nor can a
connect retried before QEMU listens end up connected to itself).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from embbert.boards import Board, load_board
from embbert.device.transport import DEFAULT_TIMEOUT, SerialTransport, TransportError
from embbert.errors import EmbBertError

CONNECT_TIMEOUT = 10.0


def emulator_command(board: str | Board) -> list[str]:
    """The board's QEMU command line, without the firmware and the serial link."""
    b = load_board(board) if isinstance(board, str) else board
    if b.emulator is None:
        raise EmbBertError(f"board {b.name} has no [emulator] command")
    return list(b.emulator.command)


def qemu_command(board: str | Board, elf: str | Path, port: int | None = None, *,
                 fd: int | None = None) -> list[str]:
    """QEMU's command line with the UART on a listening socket: `fd` (inherited, see
    listen_socket) or, for a command line a user runs by hand, tcp:127.0.0.1:port."""
    serial = (["-chardev", f"socket,id=uart,fd={fd},server=on,wait=on", "-serial",
               "chardev:uart"] if fd is not None else
              ["-serial", f"tcp:127.0.0.1:{port},server=on,wait=on"])
    return [*emulator_command(board), "-kernel", str(elf), *serial]


def listen_socket(port: int = 0) -> socket.socket:
    """A listening TCP socket on 127.0.0.1 (port 0: any free port) for QEMU to inherit."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
        s.listen(1)
    except OSError as e:
        s.close()
        raise EmbBertError(f"cannot listen on 127.0.0.1:{port}: {e.strerror}") from None
    s.set_inheritable(True)
    return s


def free_port() -> int:
    """A port that was free a moment ago (QEMU binds it right after; a clash fails loudly)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    """Linux: QEMU gets SIGTERM when the Python process that started it dies, even on SIGKILL."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def start_qemu(cmd: list[str], stderr=None, listener: socket.socket | None = None
                ) -> subprocess.Popen:
    """QEMU in its own session; `listener` (its UART socket) is inherited and closed here."""
    try:
        return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=stderr, start_new_session=True,
                                pass_fds=[listener.fileno()] if listener else (),
                                preexec_fn=_die_with_parent if sys.platform == "linux" else None)
    except FileNotFoundError:
        raise EmbBertError(f"{cmd[0]} not found (apt-get install qemu-system-arm)") from None
    finally:
        if listener:
            listener.close()   # QEMU holds its copy


def stop_qemu(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=3.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class QemuBoard:
    """Context manager: QEMU running `elf` on `board`, connected through `self.transport`."""

    def __init__(self, board: str, elf: str | Path, *, port: int | None = None,
                 timeout: float = DEFAULT_TIMEOUT, connect_timeout: float = CONNECT_TIMEOUT):
        self.board = load_board(board)
        self.elf = Path(elf)
        if not self.elf.is_file():
            raise EmbBertError(f"firmware {self.elf} not found")
        self.port = port or 0           # 0: any free port, known once listening
        self.url = ""
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.proc: subprocess.Popen | None = None
        self.transport: SerialTransport | None = None
        self._stderr = tempfile.TemporaryFile()

    def stderr_text(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace")

    def __enter__(self) -> QemuBoard:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        listener = listen_socket(self.port)
        self.port = listener.getsockname()[1]
        self.url = f"socket://127.0.0.1:{self.port}"
        self.proc = start_qemu(qemu_command(self.board, self.elf, fd=listener.fileno()),
                               stderr=self._stderr, listener=listener)
        deadline = time.monotonic() + self.connect_timeout
        last = ""
        while True:
            code = self.proc.poll()
            if code is not None:
                tail = " ".join(self.stderr_text().split())[-300:]
                raise EmbBertError(f"QEMU exited with code {code} before accepting a connection"
                                   f" on port {self.port}: {tail}")
            try:  # the socket listens already: QEMU accepts this connection as its UART
                self.transport = SerialTransport(self.url, timeout=self.timeout)
                return
            except TransportError as e:
                last = str(e)
            if time.monotonic() > deadline:
                raise EmbBertError(f"QEMU did not accept a connection on port {self.port} "
                                   f"within {self.connect_timeout:g} s {last}".rstrip())
            time.sleep(0.05)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None
        if self.proc is not None:
            stop_qemu(self.proc)

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def failure(self) -> str | None:
        """Why QEMU is gone (a guest fault ends in a lockup and exit code 134), else None."""
        code = self.returncode
        if code is None:
            return None
        lines = [x for x in self.stderr_text().splitlines() if "fatal" in x or "rror" in x]
        return f"QEMU exited with code {code}" + (f": {lines[0].strip()}" if lines else "")


def serve(board: str, elf: str, port: int) -> int:
    """Runs QEMU in the foreground with the UART on `port` until Ctrl-C / SIGTERM."""
    listener = listen_socket(port)
    proc = start_qemu(qemu_command(board, elf, fd=listener.fileno()), listener=listener)
    print(f"QEMU {board} is running {elf}\n"
          f"  serial protocol on socket://127.0.0.1:{port} (QEMU starts the firmware when the "
          f"first client connects)\n"
          f"  next: embbert-bench --port socket://127.0.0.1:{port}    (Ctrl-C stops QEMU)",
          flush=True)
    def on_term(*_: object) -> None:
        raise SystemExit(143)  # unwinds out of proc.wait() into the finally below

    signal.signal(signal.SIGTERM, on_term)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        return 130
    finally:
        stop_qemu(proc)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m embbert.device.qemu", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--board", default="qemu-m4")
    ap.add_argument("--elf", required=True)
    ap.add_argument("--port", type=int, default=int(os.environ.get("EBQ_QEMU_PORT", "4444")))
    args = ap.parse_args(argv)
    try:
        return serve(args.board, args.elf, args.port)
    except EmbBertError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
