"""Fuzz the firmware loop (host build under ASan/UBSan) with >= 100k random and mutated frames:
no crash, no hang, no sanitizer report, and valid requests after the noise answered correctly."""

from __future__ import annotations

import random
import time

import pytest
from embbert.device import protocol as P
from embbert.device.session import Device
from embbert.device.transport import PipeTransport

from .fake_firmware import FAKE_CONFIG, build_fake_host, fake_logits, missing_tools

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(bool(missing_tools("cc")), reason="needs a host C compiler (cc)")]

N_FRAMES = 100_000
MAX_LEN = FAKE_CONFIG["max_len"]


def random_infer(rng: random.Random, max_len: int = MAX_LEN) -> bytes:
    """Mostly plausible INFER payloads, some with bad ids/segments/lengths."""
    T = rng.choice([0, 1, 2, rng.randrange(1, max_len + 1), max_len, max_len + 1,
                    rng.randrange(1, P.FW_MAX_T + 1)])
    ids = [rng.randrange(8192) if rng.random() < 0.98 else rng.randrange(65536)
           for _ in range(T)]
    segs = [rng.randrange(3) if rng.random() < 0.98 else rng.randrange(256) for _ in range(T)]
    payload = P.encode_infer(ids, segs)
    if rng.random() < 0.1:
        payload = payload[: rng.randrange(len(payload) + 1)]
    return payload


def fuzz_frames(rng: random.Random, n: int, max_len: int = MAX_LEN):
    """Yields n chunks: valid frames, mutated frames, raw noise and magic-rich noise."""
    types = [P.PING, P.INFO, P.INFER, P.PONG, P.ERROR, 0x00, 0x7F, 0x42]
    for _ in range(n):
        kind = rng.random()
        if kind < 0.10:
            yield rng.randbytes(rng.randrange(1, 48))
            continue
        if kind < 0.15:
            yield bytes(rng.choice(b"\xeb\x51\x00\xff\x03") for _ in range(rng.randrange(1, 32)))
            continue
        ftype = rng.choice(types)
        if ftype == P.INFER:
            payload = random_infer(rng, max_len)
        elif ftype == P.INFO and rng.random() < 0.8:
            payload = b""
        else:
            payload = rng.randbytes(rng.choice([0, 1, 8, rng.randrange(64)]))
        frame = bytearray(P.encode_frame(ftype, rng.randrange(65536), payload))
        m = rng.random()
        if m < 0.15:  # bit flips anywhere, CRC included
            for _ in range(rng.randrange(1, 4)):
                frame[rng.randrange(len(frame))] ^= 1 << rng.randrange(8)
        elif m < 0.22:  # cut short
            frame = frame[: rng.randrange(len(frame))]
        elif m < 0.27:  # length field lies (sometimes beyond the device buffer)
            frame[5:7] = rng.choice([rng.randrange(64), rng.randrange(65536)]).to_bytes(2, "little")
        elif m < 0.30:  # doubled magic / junk in front
            frame = bytearray(b"\xeb" * rng.randrange(1, 3)) + frame
        yield bytes(frame)


def test_fuzz_asan_host(tmp_path):
    fw = build_fake_host(tmp_path / "fw_asan", sanitize=True)
    rng = random.Random(20240601)
    transport = PipeTransport([str(fw)], timeout=10.0)
    dev = Device(transport, timeout=5.0)
    replies = P.FrameDecoder(max_payload=0xFFFF)
    n_replies = 0
    t0 = time.monotonic()
    sent_bytes, batch = 0, []
    for chunk in fuzz_frames(rng, N_FRAMES):
        batch.append(chunk)
        if len(batch) == 500:
            data = b"".join(batch)
            transport.write(data)  # replies are drained while writing: no pipe deadlock
            sent_bytes += len(data)
            batch.clear()
            while data := transport.read(0):  # keep the reply buffer small
                n_replies += len(replies.feed(data))
    transport.write(b"".join(batch))
    assert time.monotonic() - t0 < 60, "fuzzing too slow"

    # After the noise: end any frame the device is inside, then exact answers again.
    dev.sync(timeout=2.0)
    info = dev.info()
    assert info.config == FAKE_CONFIG and info.init_ok
    for i in range(50):
        T = 1 + (i * 37) % MAX_LEN
        ids = [rng.randrange(8192) for _ in range(T)]
        segs = [rng.randrange(3) for _ in range(T)]
        assert dev.infer(ids, segs).logits == fake_logits(ids, segs)
    assert dev.ping(b"still alive") == b"still alive"

    dev.close()
    err = transport.stderr_text()
    assert transport.proc.returncode == 0, err[-2000:]
    assert "ERROR: AddressSanitizer" not in err and "runtime error" not in err, err[-2000:]
    assert sent_bytes > 1_000_000
    assert n_replies > N_FRAMES // 2  # the noise was parsed and answered, not skipped
