"""The C frame codec (firmware/src/frame.c, crc16.c) agrees with the Python one byte for byte:
same CRC, same encoding, and the same events (frames, errors, resync) on any byte stream."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest
from embbert import cbuild
from embbert.device import protocol as P

from .fake_firmware import missing_tools

DRIVER = Path(__file__).resolve().parent / "c" / "frame_driver.c"

pytestmark = pytest.mark.skipif(bool(missing_tools("cc")), reason="needs a host C compiler (cc)")


@pytest.fixture(scope="module")
def driver(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("frame_driver") / "frame_driver"
    src = cbuild.FIRMWARE / "src"
    cmd = ["cc", *cbuild.FW_WARN, *cbuild.SANITIZE, f"-I{src}",
           f"-I{cbuild.RUNTIME / 'include'}", str(DRIVER), str(src / "frame.c"),
           str(src / "crc16.c"), "-fsanitize=address,undefined", "-o", str(out)]
    subprocess.run(cmd, check=True)
    return out


def c_events(driver: Path, stream: bytes) -> list[tuple]:
    out = subprocess.run([str(driver), "parse"], input=stream, capture_output=True,
                         check=True, timeout=60).stdout.decode()
    events = []
    for line in out.splitlines():
        kind, *f = line.split(" ")
        if kind == "F":
            events.append((P.OK, int(f[0]), int(f[1]), bytes.fromhex(f[2] if len(f) > 2 else "")))
        else:
            events.append((int(f[0]), int(f[1]), int(f[2]), b""))
    return events


def py_events(stream: bytes, chunk: int = 1) -> list[tuple]:
    """Python decoder with the firmware's end-of-stream handling (loop.c on EOF)."""
    d = P.FrameDecoder()
    evs = []
    for i in range(0, len(stream), chunk):
        evs += d.feed(stream[i : i + chunk])
    while d.in_frame():
        ev = d.timeout()
        if ev is not None:
            evs.append(ev)
        evs += d.feed(b"")
    return [(e.status, e.type, e.seq, e.payload) for e in evs]


def test_crc_agrees(driver):
    rng = random.Random(3)
    for data in [b"123456789", b"", b"\x00", rng.randbytes(1000)]:
        out = subprocess.run([str(driver), "crc", data.hex()], capture_output=True, text=True,
                             check=True).stdout
        assert int(out, 16) == P.crc16(data)
    assert P.crc16(b"123456789") == 0x29B1


def test_c_encoder_matches_python(driver):
    rng = random.Random(4)
    for _ in range(20):
        ftype, seq, payload = rng.randrange(256), rng.randrange(65536), rng.randbytes(
            rng.randrange(100))
        out = subprocess.run([str(driver), "seal", str(ftype), str(seq), payload.hex()],
                             capture_output=True, text=True, check=True).stdout.strip()
        assert bytes.fromhex(out) == P.encode_frame(ftype, seq, payload)


def mutated_stream(rng: random.Random, n: int) -> bytes:
    parts = []
    for _ in range(n):
        frame = bytearray(P.encode_frame(rng.randrange(256), rng.randrange(65536),
                                         rng.randbytes(rng.randrange(30))))
        r = rng.random()
        if r < 0.2:
            frame[rng.randrange(len(frame))] ^= 1 << rng.randrange(8)
        elif r < 0.3:
            frame = frame[: rng.randrange(len(frame))]
        elif r < 0.4:
            frame[5:7] = rng.randrange(65536).to_bytes(2, "little")
        elif r < 0.5:
            frame = bytearray(rng.randbytes(rng.randrange(20))) + b"\xeb" + frame
        parts.append(bytes(frame))
    return b"".join(parts)


@pytest.mark.parametrize("seed", range(5))
def test_parser_events_agree_on_mutated_streams(driver, seed):
    stream = mutated_stream(random.Random(seed), 300)
    expected = py_events(stream)
    assert c_events(driver, stream) == expected
    assert py_events(stream, chunk=4096) == expected  # the chunking never changes the events
    assert sum(e[0] == P.OK for e in expected) > 100


def test_parser_events_agree_on_noise(driver):
    rng = random.Random(9)
    magic_rich = bytes(rng.choice(b"\xeb\x51\x00\x01\xff") for _ in range(20000))
    for stream in (rng.randbytes(20000), magic_rich):
        assert c_events(driver, stream) == py_events(stream)
