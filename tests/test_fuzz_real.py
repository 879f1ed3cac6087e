"""Protocol fuzz against the REAL runtime: the firmware built with the bundled SST-2 model under
ASan/UBSan. A fresh seed every run (printed; EMBBERT_FUZZ_SEED repeats one) and a short run by
default (EMBBERT_FUZZ_FRAMES for a longer one; `make soak` for the long runs). After the noise
the device must still answer bit-exactly what the quantized simulation computes."""

from __future__ import annotations

import os
import random
import time

import numpy as np
import pytest
from embbert.cbuild import build_firmware
from embbert.checkpoint import file_sha256
from embbert.device import protocol as P
from embbert.device.session import Device
from embbert.device.transport import PipeTransport

from .fake_firmware import missing_tools
from .real_firmware import MODEL, export_bundled
from .test_fuzz_host import fuzz_frames

pytestmark = [pytest.mark.skipif(bool(missing_tools("cc")), reason="needs a host C compiler (cc)"),
              pytest.mark.skipif(not MODEL.is_file(), reason="models/sst2.pt not bundled")]

N_FRAMES = int(os.environ.get("EMBBERT_FUZZ_FRAMES", "2000"))
FUZZ_LEN = 64  # valid INFERs mostly short: the sanitized runtime is slow on long ones


def test_fuzz_real_runtime_asan(tmp_path):
    seed = int(os.environ.get("EMBBERT_FUZZ_SEED") or random.SystemRandom().randrange(2**32))
    print(f"\nfuzz seed {seed} ({N_FRAMES} frames); repeat with EMBBERT_FUZZ_SEED={seed}")
    mq = export_bundled("host", tmp_path / "gen")
    fw = build_firmware("host", tmp_path / "fw_asan", generated_dir=tmp_path / "gen",
                        sanitize=True)
    rng = random.Random(seed)
    transport = PipeTransport([str(fw)], timeout=30.0)
    dev = Device(transport, timeout=10.0, infer_timeout=30.0)
    replies = P.FrameDecoder(max_payload=0xFFFF)
    n_replies, batch = 0, []
    t0 = time.monotonic()
    for chunk in fuzz_frames(rng, N_FRAMES, FUZZ_LEN):
        batch.append(chunk)
        if len(batch) == 100:
            transport.write(b"".join(batch))
            batch.clear()
            while data := transport.read(0):
                n_replies += len(replies.feed(data))
    transport.write(b"".join(batch))
    while data := transport.read(2.0):  # the sanitized runtime lags behind: collect the rest
        n_replies += len(replies.feed(data))
    fuzz_s = time.monotonic() - t0

    dev.sync(timeout=30.0)
    info = dev.info()
    assert info.sha256 == file_sha256(MODEL) and info.init_ok, f"seed {seed}"
    seqs = []
    for i in range(12):
        T = 2 + (i * 23) % 100
        seqs.append(([2] + [rng.randrange(5, 8192) for _ in range(T - 2)]
                     + [4], [1] * T))
    want = mq.logits_batch(seqs)
    for (ids, segs), w in zip(seqs, want, strict=True):
        got = np.asarray(dev.infer(ids, segs).logits, np.float32)
        assert np.array_equal(got, w), f"seed {seed}: T={len(ids)} {got} != {w}"
    dev.close()
    err = transport.stderr_text()
    assert transport.proc.returncode == 0, f"seed {seed}: {err[-2000:]}"
    assert "AddressSanitizer" not in err and "runtime error" not in err, f"seed {seed}: {err}"
    assert n_replies > N_FRAMES // 3, f"seed {seed}: the noise was not parsed and answered"
    print(f"fuzzed {N_FRAMES} frames in {fuzz_s:.1f} s, {n_replies} replies")
