"""A protocol session with one device over any Transport: PING, INFO, INFER with timeouts.

    with Device(open_transport("socket://127.0.0.1:4444")) as dev:
        info = dev.info()
        result = dev.infer([2, 1037, 4], [1, 1, 1])   # -> logits, count
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from embbert.device import protocol as P
from embbert.device.transport import Transport, TransportError
from embbert.errors import EmbBertError

REQUEST_TIMEOUT = 5.0  # PING / INFO
INFER_TIMEOUT = 30.0  # a long sequence on QEMU or a slow board; still bounded
# Zero bytes that end any frame a device may be stuck in (its max payload plus overhead; 4 KiB
# covers EBQ_FW_MAX_T up to 1362), and never contain a magic.
BREAK_BYTES = 4096 + P.OVERHEAD
IGNORED_KEPT = 256


class DeviceTimeout(EmbBertError):
    """The device did not answer in time (`heard`: it sent bytes meanwhile, just no answer)."""

    def __init__(self, message: str, heard: bool = False) -> None:
        super().__init__(message)
        self.heard = heard


@dataclass
class LineStats:
    """What arrived while waiting for one answer: the basis of a one-line diagnosis."""

    bytes: int = 0
    frames: int = 0  # valid frames that answered nothing we asked
    bad: int = 0     # frames with a bad CRC, too long or cut short

    def diagnosis(self) -> str:
        if not self.bytes:
            return ""
        if self.frames:
            return (f"; got {self.frames} valid frames ({self.bytes} bytes) answering nothing "
                    "asked: the peer floods the line, or another program uses it")
        if self.bad:
            return (f"; got {self.bytes} bytes, {self.bad} frames with a bad CRC and no valid "
                    "one: line noise or wrong baud rate?")
        return (f"; got {self.bytes} bytes without a frame in them: line noise, wrong baud "
                "rate, or not an EmbBERT-Q device?")


class Device:
    def __init__(self, transport: Transport, *, timeout: float = REQUEST_TIMEOUT,
                 infer_timeout: float = INFER_TIMEOUT) -> None:
        self.transport = transport
        self.timeout = timeout
        self.infer_timeout = infer_timeout
        self.decoder = P.FrameDecoder(max_payload=0xFFFF)  # accept whatever the device sends
        self.seq = int.from_bytes(os.urandom(2), "little")  # unlikely to match stale replies
        # frames that answered nothing we asked (the latest, for tests; a flood stays bounded)
        self.ignored: deque[P.Frame] = deque(maxlen=IGNORED_KEPT)
        self._pending: list[P.Frame] = []
        self.stats = LineStats()

    def __enter__(self) -> Device:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.transport.close()

    def send_raw(self, data: bytes) -> None:
        self.transport.write(data)

    def request(self, ftype: int, payload: bytes = b"", timeout: float | None = None,
                accept: Callable[[P.Frame], bool] | None = None) -> P.Frame:
        """Sends one request and returns the reply with the same seq; ERROR -> DeviceError."""
        self.seq = (self.seq + 1) & 0xFFFF
        seq = self.seq
        self.transport.write(P.encode_frame(ftype, seq, payload))
        return self.wait_reply(ftype, seq, self.timeout if timeout is None else timeout, accept)

    def _receive(self, timeout: float) -> bytes:
        """One bounded read, decoded into _pending and counted; a peer that closes the line
        while a frame is unfinished is named as such."""
        try:
            data = self.transport.read(timeout)
        except TransportError as e:
            if self.decoder.in_frame():
                url = self.transport.url
                detail = str(e).removeprefix(f"{url}: ")
                raise TransportError(f"{url}: peer closed mid-frame ({len(self.decoder.buf)} "
                                     f"bytes of an unfinished frame; {detail})") from e
            raise
        if data:
            self.stats.bytes += len(data)
            for frame in self.decoder.feed(data):
                if frame.ok:
                    self._pending.append(frame)
                else:
                    self.stats.bad += 1
        return data

    def wait_reply(self, ftype: int, seq: int, timeout: float,
                   accept: Callable[[P.Frame], bool] | None = None) -> P.Frame:
        """The reply to (ftype, seq); a reply that `accept` refuses (a stale or forged one)
        counts as noise, and the wait goes on until the deadline."""
        deadline = time.monotonic() + timeout
        self.stats = LineStats()
        while True:
            for frame in self._pending:
                if (frame.ok and frame.seq == seq and frame.type == ftype | P.RESPONSE
                        and (accept is None or accept(frame))):
                    self._pending.remove(frame)
                    return frame
                if frame.ok and frame.seq == seq and frame.type == P.ERROR:
                    self._pending.remove(frame)
                    status, rtype = P.decode_error(frame.payload)
                    raise P.DeviceError(status, rtype)
            self.stats.frames += len(self._pending)
            self.ignored.extend(self._pending)
            self._pending.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                name = P.TYPE_NAMES.get(ftype, f"0x{ftype:02x}")
                raise DeviceTimeout(f"{self.transport.url}: no reply to {name} (seq {seq}) "
                                    f"within {timeout:g} s{self.stats.diagnosis()}",
                                    heard=self.stats.bytes > 0)
            self._receive(min(left, 0.5))

    def ping(self, payload: bytes = b"", timeout: float | None = None) -> bytes:
        reply = self.request(P.PING, payload, timeout,
                             accept=lambda f: f.payload == payload)  # else not our PONG
        return reply.payload

    def info(self) -> P.DeviceInfo:
        return P.decode_info(self.request(P.INFO).payload)

    def infer(self, ids: Sequence[int], segs: Sequence[int]) -> P.InferResult:
        reply = self.request(P.INFER, P.encode_infer(ids, segs), self.infer_timeout)
        return P.decode_infer_response(reply.payload)

    def infer_text(self, a: bytes, b: bytes | None = None) -> P.InferTextResult:
        """Raw UTF-8 text (or a pair) tokenized and classified on the device."""
        reply = self.request(P.INFER_TEXT, P.encode_infer_text(a, b), self.infer_timeout)
        return P.decode_infer_text_response(reply.payload)

    def drain(self, quiet: float = 0.05, limit: float = 2.0) -> None:
        """Discards input until the line is quiet for `quiet` s (bounded by `limit` s)."""
        deadline = time.monotonic() + limit
        while (left := deadline - time.monotonic()) > 0 and self._receive(min(quiet, left)):
            pass
        self.decoder.buf.clear()
        self._pending.clear()

    def sync(self, timeout: float = 2.0) -> None:
        """Gets a fresh or confused device into a known state within `timeout` s in all: drop
        stale input (boot logs, old replies), PING; if that fails, send a break (more zero bytes
        than any frame, which ends whatever frame the device thinks it is in) and PING again.
        The nonce makes sure the PONG is fresh, not a stale reply to an earlier PING with the
        same seq."""
        deadline = time.monotonic() + timeout
        self.drain(limit=min(2.0, 0.2 * timeout))
        nonce = os.urandom(8)
        try:
            self.ping(nonce, 0.6 * (deadline - time.monotonic()))
            return
        except (DeviceTimeout, P.DeviceError):
            pass
        self.transport.write(bytes(BREAK_BYTES))
        self.drain(quiet=0.2, limit=0.25 * (deadline - time.monotonic()))
        try:
            self.ping(nonce, max(deadline - time.monotonic(), 0.1))
        except DeviceTimeout as e:  # report the whole budget, not what was left of it
            raise DeviceTimeout(f"{self.transport.url}: no reply to PING within {timeout:g} s"
                                f"{self.stats.diagnosis()}", heard=e.heard) from None
