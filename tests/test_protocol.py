"""The Python codec of the serial protocol (exporter/embbert/device/protocol.py), on its own."""

from __future__ import annotations

import random
import re
import struct

import pytest
from embbert.device import protocol as P
from embbert.device.status import STATUS

from tests.fake_firmware import FAKE_CONFIG, FAKE_SHA256


def test_crc16_ccitt_false_check_value():
    assert P.crc16(b"123456789") == 0x29B1  # the catalogued check value of CRC-16/CCITT-FALSE
    assert P.crc16(b"") == 0xFFFF


def test_frame_layout_is_little_endian():
    frame = P.encode_frame(P.INFER, 0x1234, b"\x01\x02\x03")
    assert frame[:2] == b"\xeb\x51"
    assert frame[2] == P.INFER
    assert frame[3:5] == b"\x34\x12"
    assert frame[5:7] == b"\x03\x00"
    assert frame[7:10] == b"\x01\x02\x03"
    assert struct.unpack("<H", frame[10:])[0] == P.crc16(frame[2:10])
    assert len(frame) == P.OVERHEAD + 3


@pytest.mark.parametrize("chunk", [1, 3, 1000])
def test_round_trip_in_any_chunking(chunk):
    rng = random.Random(1)
    frames = [(rng.randrange(256), rng.randrange(65536), rng.randbytes(rng.randrange(40)))
              for _ in range(50)]
    stream = b"".join(P.encode_frame(*f) for f in frames)
    d = P.FrameDecoder()
    got = []
    for i in range(0, len(stream), chunk):
        got += d.feed(stream[i : i + chunk])
    assert [(f.type, f.seq, f.payload) for f in got] == frames
    assert all(f.ok for f in got)
    assert not d.in_frame()


def test_resync_after_garbage_and_bad_frames():
    good = P.encode_frame(P.PING, 7, b"ok")
    bad_crc = bytearray(P.encode_frame(P.PING, 8, b"xx"))
    bad_crc[-1] ^= 0xFF
    too_long = b"\xeb\x51\x01\x09\x00\xff\xff"  # claims 65535 payload bytes
    stream = b"noise\xeb\xeb" + bytes(bad_crc) + too_long + b"\x00\xeb" + good
    events = P.FrameDecoder().feed(stream)
    assert [(e.status, e.seq) for e in events] == [
        (P.BAD_CRC, 8), (P.FRAME_TOO_LONG, 9), (P.OK, 7)]
    assert events[-1].payload == b"ok"


def test_frame_hidden_behind_a_corrupted_length_is_found():
    """A header whose length swallows the next frame: on the CRC failure the decoder rescans
    from the byte after that header's magic and finds the frame inside."""
    good = P.encode_frame(P.INFO, 3)
    liar = b"\xeb\x51\x01\x05\x00" + struct.pack("<H", len(good) + 1)
    d = P.FrameDecoder()
    events = d.feed(liar + good + b"\x00\x00\x00")
    assert [(e.status, e.type) for e in events] == [(P.BAD_CRC, 1), (P.OK, P.INFO)]


def test_truncated_frame_reported_on_timeout():
    d = P.FrameDecoder()
    assert d.feed(P.encode_frame(P.PING, 5, b"abcdef")[:9]) == []
    assert d.in_frame()
    ev = d.timeout()
    assert ev is not None and ev.status == P.FRAME_TRUNCATED and ev.seq == 5
    d.feed(b"")
    assert d.timeout() is None  # the rest held no other magic


def test_infer_payload():
    payload = P.encode_infer([2, 300, 4], [1, 1, 2])
    assert payload == struct.pack("<H3H3B", 3, 2, 300, 4, 1, 1, 2)
    with pytest.raises(ValueError):
        P.encode_infer([1, 2], [1])


def test_info_round_trip():
    info = P.DeviceInfo(protocol_version=1, max_payload=1538, format_version=1, quant_version=1,
                        sha256=FAKE_SHA256, config=dict(FAKE_CONFIG), arena_bytes=4096,
                        clock_hz=25_000_000, counter="instructions", init_status=0,
                        board="qemu-m4")
    payload = P.encode_info(info)
    assert len(payload) == 87 + len("qemu-m4") + 1    # + feature byte (v2)
    assert P.decode_info(payload) == info
    assert info.max_t == 512
    with pytest.raises(P.ProtocolError):
        P.decode_info(payload[:50])


def test_infer_response_and_error_payloads():
    payload = struct.pack("<BBHQ2f", 0, 2, 5, 123456789012, 1.5, -2.25)
    r = P.decode_infer_response(payload)
    assert (r.logits, r.count, r.T) == ([1.5, -2.25], 123456789012, 5)
    with pytest.raises(P.ProtocolError):
        P.decode_infer_response(payload[:-1])
    assert P.decode_error(bytes([8, P.INFER])) == (8, P.INFER)
    err = P.DeviceError(8, P.INFER)
    assert err.status_name == "TOKEN_OUT_OF_RANGE" and "INFER" in str(err)


def test_c_header_matches_python_constants():
    from embbert.cbuild import FIRMWARE

    text = (FIRMWARE / "src" / "protocol.h").read_text()
    consts = {m[0]: m[1] for m in re.findall(r"#define (EBQ_\w+) (0x[0-9A-Fa-f]+|\d+)u?\b", text)}

    def c(name: str) -> int:
        return int(consts[name], 0)

    assert (c("EBQ_MAGIC0"), c("EBQ_MAGIC1")) == tuple(P.MAGIC)
    assert c("EBQ_PROTOCOL_VERSION") == P.PROTOCOL_VERSION
    assert c("EBQ_FRAME_HEADER_BYTES") == P.HEADER_BYTES
    assert c("EBQ_FW_MAX_T") == P.FW_MAX_T
    assert (c("EBQ_TYPE_PING"), c("EBQ_TYPE_INFO"), c("EBQ_TYPE_INFER")) == (P.PING, P.INFO,
                                                                          P.INFER)
    assert (c("EBQ_TYPE_RESPONSE"), c("EBQ_TYPE_ERROR")) == (P.RESPONSE, P.ERROR)
    assert c("EBQ_INFO_BOARD") == 87 and c("EBQ_INFER_RESP_FIXED") == 12
    assert (c("EBQ_FEATURE_TOKENIZER"), c("EBQ_FEATURE_WINDOWS")) == (P.FEATURE_TOKENIZER,
                                                                    P.FEATURE_WINDOWS)
    for code, name in P.COUNTER_KINDS.items():
        assert c(f"EBQ_COUNTER_{name.upper()}") == code
    by_name = {name: code for code, name, _ in STATUS}
    assert (P.BAD_CRC, P.FRAME_TRUNCATED, P.FRAME_TOO_LONG, P.BAD_PAYLOAD) == (
        by_name["BAD_CRC"], by_name["FRAME_TRUNCATED"], by_name["FRAME_TOO_LONG"],
        by_name["BAD_PAYLOAD"])
