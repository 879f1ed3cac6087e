"""INFER_TEXT on the host firmware (real model + tokenizer, ASan/UBSan): well-formed requests give
the host tokenizer's ids, malformed ones a named error, and the firmware survives them all."""

from __future__ import annotations

import random
import struct

import pytest
from embbert.boards import load_board
from embbert.checkpoint import load
from embbert.device import protocol as P
from embbert.device.session import Device
from embbert.device.transport import PipeTransport
from embbert.tokenizer import from_json

from .fake_firmware import missing_tools
from .test_tokenizer_c import BUNDLED
from .tokenizer_strings import adversarial_strings

pytestmark = [pytest.mark.skipif(bool(missing_tools("cc")), reason="needs a host C compiler (cc)"),
              pytest.mark.skipif(not BUNDLED.is_file(), reason="bundled model missing")]


@pytest.fixture(scope="module")
def host_fw(tmp_path_factory):
    from embbert import cbuild
    from embbert.export.exporter import export

    tmp = tmp_path_factory.mktemp("fwtext")
    export(BUNDLED, load_board("host"), tmp / "gen")
    return cbuild.build_firmware("host", tmp / "fw", generated_dir=tmp / "gen", sanitize=True)


def _mangled(rng: random.Random, a: bytes, b: bytes | None) -> bytes:
    p = bytearray(P.encode_infer_text(a, b))
    r = rng.random()
    if r < 0.3:
        p = p[:rng.randrange(len(p) + 1)]                        # cut short
    elif r < 0.6:
        at = rng.randrange(1, 3) if b is None or rng.random() < 0.5 else 3 + len(a)
        if at + 1 < len(p):
            struct.pack_into("<H", p, at, rng.randrange(65536))   # a lying length
    elif r < 0.8:
        p[0] = rng.randrange(256)                                  # flags
    else:
        p += rng.randbytes(rng.randrange(1, 5))                    # trailing bytes
    return bytes(p)


def test_infer_text_requests(host_fw):
    enc = from_json(load(BUNDLED).tokenizer)
    rng = random.Random(11)
    texts = [t for t in adversarial_strings(rng, 1500) if len(t) < 700]
    with Device(PipeTransport([str(host_fw)]), timeout=20.0, infer_timeout=60.0) as dev:
        dev.sync()
        assert dev.info().has_tokenizer
        ok = bad = 0
        for i, t in enumerate(texts):
            b = texts[i - 1] if i % 4 == 0 else None
            if i % 3 == 0:
                payload = _mangled(rng, t, b)
                try:
                    r = P.decode_infer_text_response(dev.request(P.INFER_TEXT, payload).payload)
                except P.DeviceError as e:
                    assert e.status_name == "BAD_PAYLOAD"
                    bad += 1
                    continue
            else:
                r = dev.infer_text(t, b)
                want = enc.encode(t.decode("utf-8", "replace"),
                                  None if b is None else b.decode("utf-8", "replace"))
                assert (r.ids, r.segs) == want
                ok += 1
            assert len(r.logits) == 2 and r.T == len(r.ids)
        assert ok > 500 and bad > 100
        assert dev.infer_text(b"still fine").T > 2
