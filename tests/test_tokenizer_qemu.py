"""INFER_TEXT on the emulated Cortex-M4F: the bundled SST-2 model exported with the tokenizer,
the firmware built by arm-none-eabi-gcc, raw text over the serial link. The device's ids must
be the host tokenizer's and its logits the quantized simulation's, bit for bit."""

from __future__ import annotations

import random

import numpy as np
import pytest
from embbert.boards import load_board
from embbert.checkpoint import load
from embbert.data import load_split
from embbert.device import protocol as P
from embbert.device.qemu import QemuBoard
from embbert.device.session import Device
from embbert.tokenizer import encode_windows, from_json, window_mean

from .fake_firmware import missing_tools
from .test_tokenizer_c import BUNDLED
from .tokenizer_strings import adversarial_strings

MISSING = missing_tools("qemu-system-arm", "arm-none-eabi-gcc")
pytestmark = [pytest.mark.qemu,
              pytest.mark.skipif(bool(MISSING), reason=f"needs {' and '.join(MISSING)}"),
              pytest.mark.skipif(not BUNDLED.is_file(), reason="bundled model missing")]


@pytest.fixture(scope="module")
def m4(tmp_path_factory):
    from embbert import cbuild
    from embbert.export.exporter import export

    tmp = tmp_path_factory.mktemp("m4")
    res, mq = export(BUNDLED, load_board("qemu-m4"), tmp / "gen")
    assert res.report["tokenizer"]["enabled"]
    elf = cbuild.build_firmware("qemu-m4", tmp / "fw.elf", generated_dir=tmp / "gen")
    return elf, mq, from_json(load(BUNDLED).tokenizer)


def test_sst2_dev_through_infer_text(m4):
    elf, mq, enc = m4
    ex = load_split("sst2", "dev")[::2]  # every text runs through the host C build elsewhere
    with QemuBoard("qemu-m4", elf, timeout=10.0) as q:
        dev = Device(q.transport, timeout=10.0, infer_timeout=60.0)
        dev.sync()
        assert dev.info().has_tokenizer
        got = [dev.infer_text(e.text_a.encode()) for e in ex]
    want = [enc.encode(e.text_a, max_len=mq.config.max_len) for e in ex]
    assert [(r.ids, r.segs) for r in got] == [(i, s) for i, s in want]
    seqs = [(np.asarray(i), np.asarray(s)) for i, s in want]
    sim = mq.logits_batch(seqs).astype(np.float32)
    dev_logits = np.asarray([r.logits for r in got], dtype=np.float32)
    assert dev_logits.tobytes() == sim.tobytes()            # bit-exact with the simulation
    acc = float((dev_logits.argmax(1) == np.asarray([e.label for e in ex])).mean())
    assert acc > 0.7
    assert all(r.tokenize_count > 0 and r.count > r.tokenize_count for r in got)


def test_adversarial_sample_and_pairs(m4):
    elf, mq, enc = m4
    rng = random.Random(7)
    texts = [s for s in adversarial_strings(rng, 2000) if len(s) < 600][:300]
    with QemuBoard("qemu-m4", elf, timeout=10.0) as q:
        dev = Device(q.transport, timeout=10.0, infer_timeout=60.0)
        dev.sync()
        for i, t in enumerate(texts):
            b = texts[i - 1] if i % 3 == 0 else None
            r = dev.infer_text(t, b)
            want = enc.encode(t.decode("utf-8", "replace"),
                              None if b is None else b.decode("utf-8", "replace"),
                              max_len=mq.config.max_len)
            assert (r.ids, r.segs) == want, t
        with pytest.raises(P.DeviceError, match="BAD_PAYLOAD"):
            dev.request(P.INFER_TEXT, b"\x00\x05\x00abc")      # length says 5, 3 follow
        with pytest.raises(P.DeviceError, match="BAD_PAYLOAD"):
            dev.request(P.INFER_TEXT, b"\x02\x00\x00")         # unknown flag
        assert dev.infer_text(b"").ids == [2, 4]


def test_windows_on_the_m4(tiny_checkpoint, tmp_path):
    """A windowed export (the tiny model, max_len 32): long reviews as the window mean, bit for
    bit with the simulation's window_mean."""
    from embbert import cbuild
    from embbert.export.exporter import export

    from .test_windows_c import save_windowed

    path = save_windowed(tiny_checkpoint, tmp_path / "win.pt")
    _, mq = export(path, load_board("qemu-m4"), tmp_path / "gen")
    elf = cbuild.build_firmware("qemu-m4", tmp_path / "fw.elf", generated_dir=tmp_path / "gen")
    with QemuBoard("qemu-m4", elf, timeout=10.0) as q:
        dev = Device(q.transport, timeout=10.0, infer_timeout=60.0)
        dev.sync()
        info = dev.info()
        assert info.windows
        ex = [e for e in load_split("imdb", "test")[:100]
              if len(P.encode_infer_text(e.text_a.encode())) <= info.max_payload][:3]
        got = [dev.infer_text(e.text_a.encode()) for e in ex]
    seqs, owner = encode_windows(from_json(load(path).tokenizer), ex, mq.config.max_len)
    want = window_mean(mq.logits_batch(seqs), owner, len(ex))
    assert [r.windows for r in got] == np.bincount(owner).tolist() and min(np.bincount(owner)) > 3
    assert np.asarray([r.logits for r in got], np.float32).tobytes() == want.tobytes()
