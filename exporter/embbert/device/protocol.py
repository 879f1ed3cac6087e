"""The EmbBERT-Q serial protocol, version 2: frame codec and payload layouts (no I/O).

Spec: docs/PROTOCOL.md. The C side is firmware/src/{protocol.h,crc16.c,frame.c}; tests check
that both agree byte for byte. A frame is, little-endian:

    magic EB 51 | type u8 | seq u16 | len u16 | payload[len] | crc16 u16 (over type..payload)

with CRC-16/CCITT-FALSE. `FrameDecoder` resynchronizes exactly like the device: a bad frame drops
only its first byte and the rest is rescanned for a magic.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from embbert.device.status import describe, name_of
from embbert.errors import EmbBertError

PROTOCOL_VERSION = 3   # 2: INFER_TEXT and the INFO feature byte; 3: windows
MAGIC = b"\xeb\x51"
HEADER_BYTES = 7
CRC_BYTES = 2
OVERHEAD = HEADER_BYTES + CRC_BYTES
FW_MAX_T = 512  # default EBQ_FW_MAX_T of the firmware; INFO reports the device's real limit
MAX_PAYLOAD = 2 + 3 * FW_MAX_T

PING = 0x01
INFO = 0x02
INFER = 0x03
INFER_TEXT = 0x04
RESPONSE = 0x80
PONG = PING | RESPONSE
INFO_RESP = INFO | RESPONSE
INFER_RESP = INFER | RESPONSE
INFER_TEXT_RESP = INFER_TEXT | RESPONSE
FEATURE_TOKENIZER = 0x01      # INFO feature bit: INFER_TEXT works
FEATURE_WINDOWS = 0x02        # INFER_TEXT averages the windows of a long single text
TEXT_FLAG_PAIR = 0x01
ERROR = 0xFF

TYPE_NAMES = {PING: "PING", INFO: "INFO", INFER: "INFER", INFER_TEXT: "INFER_TEXT",
              PONG: "PONG", INFO_RESP: "INFO_RESP", INFER_RESP: "INFER_RESP",
              INFER_TEXT_RESP: "INFER_TEXT_RESP", ERROR: "ERROR"}

COUNTER_KINDS = {0: "none", 1: "instructions", 2: "cycles", 3: "nanoseconds"}

CONFIG_FIELDS = ("vocab_size", "max_len", "d_model", "reduced_dim", "n_layers", "conv_kernel",
                 "expansion", "num_labels")

class ProtocolError(EmbBertError):
    """The device sent something that does not follow the protocol."""


class DeviceError(EmbBertError):
    """The device answered a request with an ERROR frame (or a non-OK status)."""

    def __init__(self, status: int, request_type: int) -> None:
        self.status = status
        self.status_name = name_of(status)
        self.request_type = request_type
        what = TYPE_NAMES.get(request_type, f"type 0x{request_type:02x}")
        super().__init__(f"device rejected {what}: {describe(status)}")


# Status codes the parser itself produces (values from embbert.device.status).
OK = 0
BAD_CRC = 11
FRAME_TRUNCATED = 12
FRAME_TOO_LONG = 13
BAD_PAYLOAD = 15


def _crc_table() -> tuple[int, ...]:
    table = []
    for n in range(256):
        crc = n << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc16(data: bytes, crc: int = 0xFFFF) -> int:
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, xorout 0 (check 0x29B1)."""
    table = _CRC_TABLE
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ table[(crc >> 8) ^ byte]
    return crc


def encode_frame(ftype: int, seq: int, payload: bytes = b"") -> bytes:
    if not 0 <= len(payload) <= 0xFFFF:
        raise ValueError(f"payload of {len(payload)} bytes does not fit a u16 length")
    body = struct.pack("<BHH", ftype, seq & 0xFFFF, len(payload)) + payload
    return MAGIC + body + struct.pack("<H", crc16(body))


@dataclass(frozen=True)
class Frame:
    """A decoder event: a valid frame (status OK) or a rejected one (what its header claimed)."""

    type: int
    seq: int
    payload: bytes = b""
    status: int = OK

    @property
    def ok(self) -> bool:
        return self.status == OK


class FrameDecoder:
    """Incremental stream decoder, the Python twin of firmware/src/frame.c."""

    def __init__(self, max_payload: int = MAX_PAYLOAD) -> None:
        self.max_payload = max_payload
        self.buf = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        self.buf += data
        events: list[Frame] = []
        while (ev := self._next()) is not None:
            events.append(ev)
        return events

    def in_frame(self) -> bool:
        return len(self.buf) >= 2

    def timeout(self) -> Frame | None:
        """The stream went quiet mid-frame: FRAME_TRUNCATED for it (then feed(b"") rescans)."""
        if len(self.buf) < 2:
            self.buf.clear()
            return None
        return self._reject(FRAME_TRUNCATED)

    def _reject(self, status: int) -> Frame:
        b = self.buf
        ftype = b[2] if len(b) > 2 else 0
        seq = b[3] | (b[4] << 8) if len(b) > 4 else 0
        del b[:1]
        return Frame(ftype, seq, b"", status)

    def _next(self) -> Frame | None:
        b = self.buf
        while True:
            if not b:
                return None
            if b[0] != MAGIC[0]:
                i = b.find(MAGIC[0], 1)
                del b[: i if i > 0 else len(b)]
                continue
            if len(b) < 2:
                return None
            if b[1] != MAGIC[1]:
                del b[:1]
                continue
            if len(b) < HEADER_BYTES:
                return None
            ftype, seq, length = struct.unpack_from("<BHH", b, 2)
            if length > self.max_payload:
                return self._reject(FRAME_TOO_LONG)
            total = OVERHEAD + length
            if len(b) < total:
                return None
            (crc,) = struct.unpack_from("<H", b, HEADER_BYTES + length)
            if crc16(bytes(b[2 : HEADER_BYTES + length])) != crc:
                return self._reject(BAD_CRC)
            payload = bytes(b[HEADER_BYTES : HEADER_BYTES + length])
            del b[:total]
            return Frame(ftype, seq, payload)


# ---- payloads ------------------------------------------------------------------------------


def encode_infer(ids: Sequence[int], segs: Sequence[int]) -> bytes:
    """INFER request payload: T u16, ids u16[T], segs u8[T] (range checks are the device's)."""
    if len(ids) != len(segs):
        raise ValueError(f"{len(ids)} ids but {len(segs)} segment ids")
    T = len(ids)
    return struct.pack(f"<H{T}H{T}B", T, *ids, *segs)


@dataclass(frozen=True)
class DeviceInfo:
    protocol_version: int
    max_payload: int
    format_version: int
    quant_version: int
    sha256: str  # hex
    config: dict[str, int]
    arena_bytes: int
    clock_hz: int
    counter: str  # "instructions" | "cycles" | "nanoseconds" | "none"
    init_status: int
    board: str
    features: int = 0  # FEATURE_* bits (protocol v2; after the board name)

    @property
    def has_tokenizer(self) -> bool:
        return bool(self.features & FEATURE_TOKENIZER)

    @property
    def windows(self) -> bool:
        """INFER_TEXT classifies a long single text by the mean of its max_len windows."""
        return bool(self.features & FEATURE_WINDOWS)

    @property
    def max_t(self) -> int:
        return (self.max_payload - 2) // 3

    @property
    def init_ok(self) -> bool:
        return self.init_status == OK

    def describe_init(self) -> str:
        return describe(self.init_status)


_INFO_FIXED = struct.Struct("<HHII32s8IIIBBB")  # 87 bytes, offsets as in protocol.h


def decode_info(payload: bytes) -> DeviceInfo:
    if len(payload) < _INFO_FIXED.size:
        raise ProtocolError(f"INFO payload of {len(payload)} bytes, need >= {_INFO_FIXED.size}")
    f = _INFO_FIXED.unpack_from(payload)
    proto, max_payload, fmt, quant, sha = f[:5]
    config = dict(zip(CONFIG_FIELDS, f[5:13], strict=True))
    arena, clock, counter, init_status, name_len = f[13:]
    name = payload[_INFO_FIXED.size : _INFO_FIXED.size + name_len]
    if len(name) != name_len:
        raise ProtocolError("INFO payload ends inside the board name")
    rest = payload[_INFO_FIXED.size + name_len:]
    return DeviceInfo(proto, max_payload, fmt, quant, sha.hex(), config, arena, clock,
                      COUNTER_KINDS.get(counter, f"unknown({counter})"), init_status,
                      name.decode("utf-8", "replace"), rest[0] if rest else 0)


def encode_info(info: DeviceInfo) -> bytes:
    """INFO response payload (used by tests and simulators; devices build it in C)."""
    kinds = {v: k for k, v in COUNTER_KINDS.items()}
    name = info.board.encode()
    return _INFO_FIXED.pack(info.protocol_version, info.max_payload, info.format_version,
                            info.quant_version, bytes.fromhex(info.sha256),
                            *(info.config[k] for k in CONFIG_FIELDS), info.arena_bytes,
                            info.clock_hz, kinds[info.counter], info.init_status,
                            len(name)) + name + bytes([info.features])


@dataclass(frozen=True)
class InferResult:
    logits: list[float]
    count: int  # in the unit of DeviceInfo.counter
    T: int


def decode_infer_response(payload: bytes) -> InferResult:
    if len(payload) < 12:
        raise ProtocolError(f"INFER response of {len(payload)} bytes, need >= 12")
    status, n, T, count = struct.unpack_from("<BBHQ", payload)
    if status != OK:
        raise DeviceError(status, INFER)
    if len(payload) != 12 + 4 * n:
        raise ProtocolError(f"INFER response of {len(payload)} bytes for {n} logits")
    return InferResult(list(struct.unpack_from(f"<{n}f", payload, 12)), count, T)


def encode_infer_text(a: bytes, b: bytes | None = None) -> bytes:
    """INFER_TEXT request payload: flags u8 (bit 0: pair), na u16, a, (nb u16, b)."""
    if len(a) > 0xFFFF or (b is not None and len(b) > 0xFFFF):
        raise ValueError("text longer than 65535 bytes")
    out = struct.pack("<BH", TEXT_FLAG_PAIR if b is not None else 0, len(a)) + a
    return out + (struct.pack("<H", len(b)) + b if b is not None else b"")


@dataclass(frozen=True)
class InferTextResult:
    logits: list[float]
    ids: list[int]
    segs: list[int]
    tokenize_count: int  # in the unit of DeviceInfo.counter
    count: int           # ebq_infer alone
    windows: int = 1     # inferences averaged; ids and segs are the last window's

    @property
    def T(self) -> int:
        return len(self.ids)


def decode_infer_text_response(payload: bytes) -> InferTextResult:
    if len(payload) < 20:
        raise ProtocolError(f"INFER_TEXT response of {len(payload)} bytes, need >= 20")
    status, n, T, tok, count = struct.unpack_from("<BBHQQ", payload)
    if status != OK:
        raise DeviceError(status, INFER_TEXT)
    end = 20 + 4 * n + 3 * T
    if len(payload) != end + 2:
        raise ProtocolError(f"INFER_TEXT response of {len(payload)} bytes for {n} logits "
                            f"and {T} ids")
    logits = list(struct.unpack_from(f"<{n}f", payload, 20))
    ids = list(struct.unpack_from(f"<{T}H", payload, 20 + 4 * n))
    segs = list(payload[20 + 4 * n + 2 * T:end])
    (windows,) = struct.unpack_from("<H", payload, end)
    return InferTextResult(logits, ids, segs, tok, count, windows)


def decode_error(payload: bytes) -> tuple[int, int]:
    """ERROR payload -> (status, type of the offending frame)."""
    if len(payload) < 2:
        raise ProtocolError(f"ERROR payload of {len(payload)} bytes, need 2")
    return payload[0], payload[1]
