"""The firmware loop built for the host (strict warnings, and ASan/UBSan), driven over a pipe
through the real transport and protocol, against the FAKE model in tests/fake_ebq."""

from __future__ import annotations

import struct
import time

import pytest
from embbert.device import protocol as P
from embbert.device.session import Device, DeviceTimeout
from embbert.device.transport import PipeTransport, TransportError, open_transport

from .fake_firmware import (
    FAKE_ARENA,
    FAKE_CONFIG,
    FAKE_SHA256,
    build_fake_host,
    fake_logits,
    missing_tools,
)

pytestmark = pytest.mark.skipif(bool(missing_tools("cc")), reason="needs a host C compiler (cc)")


@pytest.fixture(scope="module", params=["plain", "asan"])
def host_fw(request, tmp_path_factory):
    out = tmp_path_factory.mktemp("host_fw") / f"fw_{request.param}"
    return build_fake_host(out, sanitize=request.param == "asan")


@pytest.fixture
def dev(host_fw):
    t = PipeTransport([str(host_fw)], timeout=5.0)
    d = Device(t, timeout=5.0, infer_timeout=5.0)
    yield d
    d.close()
    assert t.proc.returncode == 0, t.stderr_text()  # clean exit on EOF, no sanitizer report
    assert "runtime error" not in t.stderr_text()


def test_ping_info_infer(dev):
    dev.sync()
    assert dev.ping(b"\x00hello\xeb\x51") == b"\x00hello\xeb\x51"
    info = dev.info()
    assert info.protocol_version == P.PROTOCOL_VERSION
    assert (info.sha256, info.config, info.arena_bytes) == (FAKE_SHA256, FAKE_CONFIG, FAKE_ARENA)
    assert (info.board, info.counter, info.init_status) == ("fake", "nanoseconds", 0)
    assert info.max_t == P.FW_MAX_T
    for T in (1, 2, 17, FAKE_CONFIG["max_len"]):
        ids = [(7 * i + T) % 8192 for i in range(T)]
        segs = [1] * (T // 2) + [2] * (T - T // 2)
        r = dev.infer(ids, segs)
        assert r.logits == fake_logits(ids, segs) and r.T == T and r.count > 0


@pytest.mark.parametrize("ids,segs,status", [
    ([8192], [1], "TOKEN_OUT_OF_RANGE"),
    ([1] * 129, [1] * 129, "TOO_LONG"),
    ([1, 2], [1, 3], "SEGMENT_OUT_OF_RANGE"),
    ([], [], "EMPTY_INPUT"),
])
def test_invalid_requests_get_named_errors(dev, ids, segs, status):
    with pytest.raises(P.DeviceError) as e:
        dev.infer(ids, segs)
    assert e.value.status_name == status
    assert dev.infer([5], [1]).logits == fake_logits([5], [1])  # still serving


def test_malformed_frames_get_named_errors(dev):
    for payload in (b"", b"\x01", P.encode_infer([1, 2], [1, 1])[:-1]):
        with pytest.raises(P.DeviceError, match="BAD_PAYLOAD"):
            dev.request(P.INFER, payload)
    with pytest.raises(P.DeviceError, match="BAD_PAYLOAD"):
        dev.request(P.INFO, b"x")
    with pytest.raises(P.DeviceError, match="UNKNOWN_TYPE"):
        dev.request(0x42)
    bad = bytearray(P.encode_frame(P.PING, 4242, b"abc"))
    bad[-2] ^= 1
    dev.send_raw(bytes(bad))
    with pytest.raises(P.DeviceError, match="BAD_CRC"):
        dev.wait_reply(P.PING, 4242, 5.0)
    dev.send_raw(b"\xeb\x51\x01\x99\x10" + struct.pack("<H", P.MAX_PAYLOAD + 1))
    with pytest.raises(P.DeviceError, match="FRAME_TOO_LONG"):
        dev.wait_reply(P.PING, 0x1099, 5.0)
    # replies are never answered (no echo ping-pong); the next request still works
    dev.send_raw(P.encode_frame(P.PONG, 1, b"") + P.encode_frame(P.ERROR, 2, b"\x0b\x01"))
    assert dev.ping(b"after") == b"after"


def test_truncated_frame_times_out_into_an_error(dev):
    """A frame cut off mid-way gets FRAME_TRUNCATED after the device's inter-byte timeout, and
    the bytes after its magic are rescanned."""
    dev.send_raw(P.encode_frame(P.PING, 555, b"0123456789")[:12])
    t0 = time.monotonic()
    with pytest.raises(P.DeviceError, match="FRAME_TRUNCATED"):
        dev.wait_reply(P.PING, 555, 5.0)
    assert time.monotonic() - t0 < 2.0
    assert dev.ping(b"x") == b"x"


def test_many_requests_in_one_write(dev):
    """Pipelined requests: the device answers them in order without losing any."""
    reqs = []
    for seq in range(200):
        T = 1 + seq % 20
        ids, segs = [(seq * 31 + i) % 8192 for i in range(T)], [1] * T
        reqs.append((seq, ids, segs))
    dev.send_raw(b"".join(P.encode_frame(P.INFER, s, P.encode_infer(i, g)) for s, i, g in reqs))
    for seq, ids, segs in reqs:
        r = P.decode_infer_response(dev.wait_reply(P.INFER, seq, 5.0).payload)
        assert r.logits == fake_logits(ids, segs)


def test_format_mismatch_is_reported_not_run(tmp_path):
    fw = build_fake_host(tmp_path / "fw_badfmt", defines=["FAKE_MODEL_FORMAT_VERSION=99u"])
    with Device(open_transport([str(fw)])) as d:
        info = d.info()
        assert info.format_version == 99
        assert not info.init_ok and info.describe_init().startswith("BAD_FORMAT_VERSION")
        with pytest.raises(P.DeviceError, match="BAD_FORMAT_VERSION"):
            d.infer([1], [1])


def test_silent_device_times_out_quickly():
    """A peer that reads but never answers: a clear one-line error within the timeout."""
    with Device(PipeTransport(["sh", "-c", "cat > /dev/null"]), timeout=0.5) as d:
        t0 = time.monotonic()
        with pytest.raises(DeviceTimeout, match=r"no reply to PING .* within 0.5 s"):
            d.ping()
        assert time.monotonic() - t0 < 2.0


def test_dead_device_is_a_clear_error():
    with Device(PipeTransport(["sh", "-c", "echo boom >&2; exit 3"]), timeout=2.0) as d:
        time.sleep(0.2)
        with pytest.raises(TransportError, match="exited with code 3"):
            d.ping()


def test_crashing_runtime_is_a_clear_error(tmp_path):
    fw = build_fake_host(tmp_path / "fw_crash", defines=["FAKE_CRASH_ON_T=3"])
    with Device(PipeTransport([str(fw)]), infer_timeout=5.0) as d:
        assert d.infer([1], [1]).logits == fake_logits([1], [1])
        with pytest.raises(TransportError, match="exited with code -11"):
            d.infer([1, 2, 3], [1, 1, 1])
