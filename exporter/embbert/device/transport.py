"""Byte transports to a device: a pipe to the host firmware binary, or anything pyserial opens
(`socket://127.0.0.1:4444` for QEMU, `/dev/ttyUSB0`, `rfc2217://...`, `loop://`).

Every operation is bounded: read() waits at most its timeout, writes and connects at most the
transport's timeout, and a dead peer raises TransportError (one line, with what is known).
"""

from __future__ import annotations

import os
import selectors
import shlex
import subprocess
import tempfile
import time
from collections.abc import Sequence

from embbert.errors import EmbBertError

DEFAULT_TIMEOUT = 5.0
DEFAULT_BAUD = 115200
READ_CHUNK = 1 << 16  # most bytes one read() returns, so callers get back to their deadlines


class TransportError(EmbBertError):
    """The link failed: cannot connect, peer closed, or a write did not complete in time."""


class Transport:
    """A bidirectional byte stream with timeouts."""

    url = "?"

    def write(self, data: bytes) -> None:
        raise NotImplementedError

    def read(self, timeout: float) -> bytes:
        """Bytes that arrive within timeout seconds (at least one), or b"" on timeout."""
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PipeTransport(Transport):
    """The host firmware as a child process speaking the protocol on stdin/stdout."""

    def __init__(self, command: Sequence[str], timeout: float = DEFAULT_TIMEOUT,
                 env: dict[str, str] | None = None) -> None:
        self.url = "pipe:" + shlex.join(command)
        self.timeout = timeout
        self._stderr = tempfile.TemporaryFile()  # a file, not a pipe: it can never fill and block
        try:
            self.proc = subprocess.Popen(list(command), stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=self._stderr, env=env)
        except OSError as e:
            raise TransportError(f"cannot start {command[0]}: {e.strerror}") from e
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._in = self.proc.stdin.fileno()
        self._out = self.proc.stdout.fileno()
        os.set_blocking(self._in, False)
        self._rx = bytearray()  # read while a write was blocked: replies queue up meanwhile
        self._sel = selectors.DefaultSelector()

    def stderr_text(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace")

    def _dead(self, what: str) -> TransportError:
        try:  # a closed pipe usually means the process is exiting: give it a moment
            code = self.proc.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            code = None
        tail = self.stderr_text().strip().splitlines()[-1:] or [""]
        state = f"exited with code {code}" if code is not None else "closed its end"
        return TransportError(f"{self.url}: {what}: device {state} {tail[0]}".rstrip())

    def _drain_stdout(self) -> bool:
        try:
            chunk = os.read(self._out, READ_CHUNK)
        except BlockingIOError:
            return True
        self._rx += chunk
        return bool(chunk)

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        deadline = time.monotonic() + self.timeout
        while view:
            left = deadline - time.monotonic()
            if left <= 0:
                raise self._dead(f"write of {len(data)} bytes timed out after {self.timeout:g} s")
            self._sel.register(self._in, selectors.EVENT_WRITE)
            self._sel.register(self._out, selectors.EVENT_READ)
            try:
                ready = {key.fd for key, _ in self._sel.select(left)}
            finally:
                self._sel.unregister(self._in)
                self._sel.unregister(self._out)
            if self._out in ready and not self._drain_stdout():
                raise self._dead("write failed")
            if self._in in ready:
                try:
                    n = os.write(self._in, view)
                except BlockingIOError:
                    continue
                except (BrokenPipeError, ConnectionResetError):
                    raise self._dead("write failed") from None
                view = view[n:]

    def read(self, timeout: float) -> bytes:
        if self._rx:
            data, self._rx = bytes(self._rx), bytearray()
            return data
        self._sel.register(self._out, selectors.EVENT_READ)
        try:
            ready = self._sel.select(max(timeout, 0.0))
        finally:
            self._sel.unregister(self._out)
        if not ready:
            return b""
        data = os.read(self._out, READ_CHUNK)
        if not data:
            raise self._dead("connection closed")
        return data

    def close(self) -> None:
        """Closes stdin (the firmware exits on EOF) and reaps the process, killing if needed."""
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                if f:
                    f.close()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._sel.close()


class SerialTransport(Transport):
    """Any pyserial URL: socket://host:port, /dev/ttyACM0, COM3, rfc2217://, loop://.

    pyserial bounds a socket:// connect by itself (5 s); serial ports open immediately."""

    def __init__(self, url: str, baudrate: int = DEFAULT_BAUD,
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        import serial  # pyserial; imported here so protocol-only users do not need it

        self.url = url
        try:
            self.ser = serial.serial_for_url(url, baudrate=baudrate, timeout=timeout,
                                             write_timeout=timeout)
        except (serial.SerialException, ValueError, OSError) as e:
            msg = _one_line(e)
            raise TransportError(msg if url in msg else f"cannot open {url}: {msg}") from e
        self._serial = serial

    def write(self, data: bytes) -> None:
        try:
            self.ser.write(data)
            self.ser.flush()
        except self._serial.SerialTimeoutException:
            raise TransportError(f"{self.url}: write timed out (device not reading?)") from None
        except (self._serial.SerialException, OSError) as e:
            raise TransportError(f"{self.url}: write failed: {_one_line(e)}") from e

    def read(self, timeout: float) -> bytes:
        """Waits at most `timeout` for a first byte, then takes what is already buffered, up to
        READ_CHUNK bytes: a peer that never stops sending cannot keep one read going."""
        try:
            self.ser.timeout = max(timeout, 0.0)
            first = self.ser.read(1)
            if not first:
                return b""
            self.ser.timeout = 0  # non-blocking: what is there, at most READ_CHUNK - 1 bytes
            rest = self.ser.read(READ_CHUNK - 1)
        except (self._serial.SerialException, OSError) as e:  # pyserial may say "read failed"
            raise TransportError(f"{self.url}: read failed: "
                                 f"{_one_line(e).removeprefix('read failed: ')}") from e
        return first + rest

    def close(self) -> None:
        try:
            self.ser.close()
        except (self._serial.SerialException, OSError):
            pass


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


def open_transport(target: str | Sequence[str], *, baudrate: int = DEFAULT_BAUD,
                   timeout: float = DEFAULT_TIMEOUT) -> Transport:
    """A pipe for `pipe:<command line>` or a command list; otherwise a pyserial URL."""
    if not isinstance(target, str):
        return PipeTransport(target, timeout=timeout)
    if target.startswith("pipe:"):
        return PipeTransport(shlex.split(target[5:]), timeout=timeout)
    return SerialTransport(target, baudrate=baudrate, timeout=timeout)
