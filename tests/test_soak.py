"""Soak (`make soak`, not part of `make test`): 100k+ valid requests to the host firmware and 10k
to QEMU, both built with the bundled model. Every answer must equal the first answer to the same
request (and INFER the quantized simulation, bit for bit), and the firmware's RSS must stay flat.
EMBBERT_SOAK_HOST / EMBBERT_SOAK_QEMU change the counts."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import numpy as np
import pytest
from embbert.cbuild import build_firmware
from embbert.device.session import Device
from embbert.device.transport import PipeTransport

from .fake_firmware import missing_tools
from .real_firmware import MODEL, export_bundled

pytestmark = [pytest.mark.skipif(not os.environ.get("EMBBERT_SOAK"),
                                 reason="soak runs with `make soak` (EMBBERT_SOAK=1)"),
              pytest.mark.skipif(not MODEL.is_file(), reason="models/sst2.pt not bundled")]

N_HOST = int(os.environ.get("EMBBERT_SOAK_HOST", "100000"))
N_QEMU = int(os.environ.get("EMBBERT_SOAK_QEMU", "10000"))
RSS_SLACK_KB = 64  # a few pages of allocator noise, nothing that grows with requests
# QEMU's own caches (translated code) may settle later; the guest has no heap to leak.
QEMU_RSS_SLACK_KB = 1024


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def soak(dev: Device, mq, n: int, pid: int, label: str, slack_kb: int = RSS_SLACK_KB) -> None:
    rng = random.Random(7)
    seqs = [([2] + [rng.randrange(5, 8192) for _ in range(T - 2)] + [4], [1] * T)
            for T in (3, 5, 8, 13, 16)]
    want = [np.asarray(w, np.float32) for w in mq.logits_batch(seqs)]
    info0 = dev.info()
    rss_start, t0 = None, time.monotonic()
    for i in range(n):
        k = i % 10
        if k < 6:
            payload = i.to_bytes(4, "little") * (k + 1)
            assert dev.ping(payload) == payload
        elif k < 8:
            assert dev.info() == info0, f"request {i}: INFO changed"
        else:
            j = (i // 10) % len(seqs)
            got = np.asarray(dev.infer(*seqs[j]).logits, np.float32)
            assert np.array_equal(got, want[j]), f"request {i}: logits differ"
        if i == n // 10:
            rss_start = rss_kb(pid)  # after warm-up: buffers and lazy pages are in
    rss_end = rss_kb(pid)
    took = time.monotonic() - t0
    print(f"\n{label}: {n} requests in {took:.1f} s ({n / took:.0f}/s), RSS "
          f"{rss_start} -> {rss_end} kB")
    assert rss_start is not None and rss_end - rss_start <= slack_kb


def test_soak_host(tmp_path):
    mq = export_bundled("host", tmp_path / "gen")
    fw = build_firmware("host", tmp_path / "fw_host", generated_dir=tmp_path / "gen")
    with PipeTransport([str(fw)], timeout=10.0) as t:
        dev = Device(t, timeout=10.0, infer_timeout=10.0)
        dev.sync()
        soak(dev, mq, N_HOST, t.proc.pid, "host firmware")
    assert t.proc.returncode == 0, t.stderr_text()[-2000:]


@pytest.mark.skipif(bool(missing_tools("qemu-system-arm", "arm-none-eabi-gcc")),
                    reason="needs qemu-system-arm and arm-none-eabi-gcc")
def test_soak_qemu(tmp_path):
    from embbert.device.qemu import QemuBoard

    mq = export_bundled("qemu-m4", tmp_path / "gen")
    elf = build_firmware("qemu-m4", tmp_path / "fw.elf", generated_dir=tmp_path / "gen")
    with QemuBoard("qemu-m4", elf, timeout=10.0) as q:
        assert q.transport is not None and q.proc is not None
        dev = Device(q.transport, timeout=10.0, infer_timeout=30.0)
        dev.sync(timeout=10.0)
        soak(dev, mq, N_QEMU, q.proc.pid, "QEMU qemu-m4", QEMU_RSS_SLACK_KB)
