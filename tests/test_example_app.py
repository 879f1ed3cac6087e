"""examples/uart_classifier as a user builds it: a separate PlatformIO project that takes the
runtime through lib_deps, the bundled SST-2 model exported into it, run under QEMU with a
scripted conversation on the UART. Its labels must be the quantized simulation's."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
from embbert.boards import load_board
from embbert.checkpoint import load
from embbert.device.qemu import QemuBoard
from embbert.paths import REPO
from embbert.tokenizer import from_json

from .fake_firmware import missing_tools
from .test_firmware_pio import pio_env  # noqa: F401
from .test_tokenizer_c import BUNDLED

MISSING = missing_tools("qemu-system-arm", "arm-none-eabi-gcc")
pytestmark = [pytest.mark.qemu,
              pytest.mark.skipif(bool(MISSING), reason=f"needs {' and '.join(MISSING)}"),
              pytest.mark.skipif(not BUNDLED.is_file(), reason="bundled model missing")]
EXAMPLE = REPO / "examples" / "uart_classifier"
REPLY = re.compile(r"^(\S+) (\d+\.\d)% (\d+\.\d) ms \((\d+) tokens, tokenizing (\d+\.\d) ms\)$")


@pytest.fixture(scope="module")
def app(tmp_path_factory, pio_env):  # noqa: F811
    """The example copied out of the repository (its ../../ paths made absolute, as a user
    points them at their checkout), the model exported into it, built by PlatformIO."""
    from embbert.export.exporter import export

    proj = tmp_path_factory.mktemp("app") / "uart_classifier"
    shutil.copytree(EXAMPLE, proj, ignore=shutil.ignore_patterns(".pio", "generated"))
    ini = proj / "platformio.ini"
    ini.write_text(ini.read_text().replace("../../", f"{REPO}/"))
    _, mq = export(BUNDLED, load_board("qemu-m4"), proj / "generated")
    r = subprocess.run([sys.executable, "-m", "platformio", "run", "-e", "qemu_m4"], cwd=proj,
                       env=pio_env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "embbert-mps2-glue" in r.stdout and "runtime_c" in r.stdout   # both via lib_deps
    return proj / ".pio" / "build" / "qemu_m4" / "firmware.elf", mq


def _read_line(transport, timeout: float = 60.0) -> str:
    buf = b""
    end = time.monotonic() + timeout
    while not buf.endswith(b"\r\n") and time.monotonic() < end:
        buf += transport.read(0.5) or b""
    assert buf.endswith(b"\r\n"), f"no full line from the app: {buf!r}"
    return buf.decode("utf-8").rstrip("\r\n")


def test_scripted_conversation(app):
    elf, mq = app
    ck = load(BUNDLED)
    enc = from_json(ck.tokenizer)
    lines = ["a gorgeous, witty, seductive movie", "the plot is dull and the acting is worse.",
             "Ce film est magnifique ! 😀", "", "an \xc9NORME mess\r"]
    with QemuBoard("qemu-m4", elf, timeout=10.0) as q:
        t = q.transport
        assert _read_line(t) == "EmbBERT-Q on qemu-m4: type a sentence"
        for text in lines:
            t.write(text.encode() + b"\n")
            m = REPLY.match(_read_line(t))
            assert m, text
            ids, segs = enc.encode(text.rstrip("\r"), max_len=mq.config.max_len)
            logits = mq.logits_batch([(np.asarray(ids), np.asarray(segs))])[0]
            assert m.group(1) == ck.labels[int(np.argmax(logits))]
            assert int(m.group(4)) == len(ids)
            e = np.exp(logits - logits.max())
            assert float(m.group(2)) == pytest.approx(100 * e.max() / e.sum(), abs=0.051)
            assert 0 < float(m.group(3)) and float(m.group(5)) <= float(m.group(3))
        t.write(b"x" * 1100 + b"\n")
        assert _read_line(t) == "error: line longer than 1024 bytes"
        t.write(b"still here\n")
        assert REPLY.match(_read_line(t))
