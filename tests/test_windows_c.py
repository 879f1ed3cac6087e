"""Windows on the device: ebq_classify_text of a windowed export (host C build, ASan/UBSan) gives
Python's window_mean over the quantized simulation's window logits bit for bit on long IMDb
reviews; a non-windowed export of the same checkpoint and any pair still truncate."""

from __future__ import annotations

import struct
import subprocess

import numpy as np
import pytest
from embbert import checkpoint
from embbert.boards import load_board
from embbert.data import Example, load_split
from embbert.tokenizer import encode_examples, encode_windows, from_json, window_mean, window_starts

from .fake_firmware import missing_tools
from .test_classifier_api import _build

pytestmark = pytest.mark.skipif(bool(missing_tools("cc")), reason="needs a host C compiler (cc)")

# Reads records (u32 na, a, u32 nb or ~0 for no pair, b) from stdin; one line per record:
# status windows T tokenize_cost infer_cost label logit bit patterns.
CLASSIFY = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "embbert/embbert.h"
#include "model_data.h"
static uint8_t work[EBQ_CLASSIFIER_WORK_BYTES] EBQ_ARENA_ATTR;
static char a[1 << 16], b[1 << 16];
static uint64_t ticks;
static uint64_t counter(void) { return ticks += 7; }
int main(void) {
    ebq_classifier c;
    if (ebq_classifier_init(&c, &ebq_model_data, EBQ_TOKENIZER, ebq_model_labels, work,
                            sizeof work, counter) != EBQ_OK) return 2;
    uint32_t na, nb;
    while (fread(&na, 4, 1, stdin) == 1) {
        if (na > sizeof a || fread(a, 1, na, stdin) != na || fread(&nb, 4, 1, stdin) != 1) return 3;
        if (nb != 0xFFFFFFFFu && (nb > sizeof b || fread(b, 1, nb, stdin) != nb)) return 4;
        ebq_result r;
        ebq_status s = ebq_classify_text(&c, a, na, nb == 0xFFFFFFFFu ? NULL : b,
                                         nb == 0xFFFFFFFFu ? 0 : nb, &r);
        printf("%d", (int)s);
        if (s == EBQ_OK) {
            printf(" %u %u %llu %llu %u", (unsigned)r.windows, (unsigned)r.T,
                   (unsigned long long)r.tokenize_cost, (unsigned long long)r.infer_cost,
                   (unsigned)r.label);
            for (uint32_t k = 0; k < r.num_labels; k++) {
                uint32_t u;
                memcpy(&u, &r.logits[k], 4);
                printf(" %08x", (unsigned)u);
            }
        }
        printf("\n");
    }
    return 0;
}
"""


def save_windowed(tiny_checkpoint, path):
    """The tiny checkpoint (max_len 32) as if finetuned with --windows."""
    ck = checkpoint.load(tiny_checkpoint)
    ck.extra = {"recipe": {"windows": True}}
    checkpoint.save(ck, path)
    return path


@pytest.fixture(scope="module")
def windowed(tmp_path_factory, tiny_checkpoint):
    """The windowed tiny checkpoint, exported both ways."""
    from embbert.export.exporter import export

    d = tmp_path_factory.mktemp("win")
    path = save_windowed(tiny_checkpoint, d / "win.pt")
    ck = checkpoint.load(path)
    _, mq = export(path, load_board("host"), d / "on")
    export(path, load_board("host"), d / "off", windows=False)
    return d, mq, from_json(ck.tokenizer)


def _examples() -> list[Example]:
    """Long IMDb reviews (tens of windows at max_len 32) and a short one."""
    test = load_split("imdb", "test")
    long = sorted(test[:400], key=lambda e: len(e.text_a))[-6:]
    return [*long, min(test[:400], key=lambda e: len(e.text_a)), Example("", None, 0)]


def _run(exe, examples: list[Example]) -> list[list[str]]:
    blob = b""
    for e in examples:
        a = e.text_a.encode()
        blob += struct.pack("<I", len(a)) + a
        if e.text_b is None:
            blob += struct.pack("<I", 0xFFFFFFFF)
        else:
            b = e.text_b.encode()
            blob += struct.pack("<I", len(b)) + b
    r = subprocess.run([str(exe)], input=blob, capture_output=True, timeout=600)
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    return [ln.split() for ln in r.stdout.decode().splitlines()]


def _bits(logits: np.ndarray) -> list[str]:
    return [f"{v:08x}" for v in np.asarray(logits, np.float32).view(np.uint32)]


def test_device_window_mean_is_pythons_bit_for_bit(windowed, tmp_path):
    d, mq, enc = windowed
    exe = _build(tmp_path, d / "on", CLASSIFY, "classify")
    examples = _examples()
    L = mq.config.max_len
    seqs, owner = encode_windows(enc, examples, L)
    want = window_mean(mq.logits_batch(seqs), owner, len(examples))
    pieces = enc.pieces([e.text_a for e in examples])
    got = _run(exe, examples)
    assert max(len(p) for p in pieces) > 10 * L          # many windows, not a corner case
    for i, (row, p) in enumerate(zip(got, pieces, strict=True)):
        n_win = len(window_starts(len(p), L - 2))
        last = seqs[int(np.flatnonzero(owner == i)[-1])][0]
        assert row[:3] == ["0", str(n_win), str(len(last))], i
        # costs are summed over the windows: a counting pass, then per window tokenize + infer
        assert row[3:5] == [str(7 * (n_win + 1)), str(7 * n_win)], i
        assert row[6:] == _bits(want[i]), i
        assert int(row[5]) == int(np.argmax(want[i]))
    assert [int(r[1]) for r in got[-2:]] == [1, 1]       # the short review and "" fit one


def test_without_windows_and_for_pairs_the_device_truncates(windowed, tmp_path):
    d, mq, enc = windowed
    L = mq.config.max_len
    examples = _examples()[:3]
    pairs = [Example(a.text_a, b.text_a, 0) for a, b in zip(examples, examples[1:], strict=False)]
    off = _run(_build(tmp_path, d / "off", CLASSIFY, "classify_off"), examples)
    want = mq.logits_batch(encode_examples(enc, examples, L))
    assert [r[1:3] for r in off] == [["1", str(L)]] * len(examples)
    assert [r[6:] for r in off] == [_bits(w) for w in want]
    on = _run(_build(tmp_path, d / "on", CLASSIFY, "classify_on"), pairs)
    want = mq.logits_batch(encode_examples(enc, pairs, L))
    assert [r[1:3] for r in on] == [["1", str(L)]] * len(pairs)
    assert [r[6:] for r in on] == [_bits(w) for w in want]


def test_export_carries_the_flag(windowed, tiny_checkpoint, tmp_path):
    """As finetuned unless overridden, in the tables and the report; the C is deterministic and
    differs from a non-windowed export by the flag alone."""
    from embbert.export.exporter import export

    d, _, _ = windowed
    on, off = ((d / w / "model_data.c").read_text() for w in ("on", "off"))
    assert ".windows = 1u" in on and ".windows = 0u" in off
    assert on.replace(".windows = 1u", ".windows = 0u") == off
    export(d / "win.pt", load_board("host"), tmp_path / "again")
    assert (tmp_path / "again" / "model_data.c").read_text() == on
    import json
    assert json.loads((d / "on" / "export_report.json").read_text())["tokenizer"]["windows"]
    export(tiny_checkpoint, load_board("host"), tmp_path / "plain")
    assert ".windows = 0u" in (tmp_path / "plain" / "model_data.c").read_text()


@pytest.fixture(scope="module")
def host_fw(windowed, tmp_path_factory):
    from embbert import cbuild

    d, _, _ = windowed
    tmp = tmp_path_factory.mktemp("winfw")
    return {w: cbuild.build_firmware("host", tmp / w, generated_dir=d / w, sanitize=True)
            for w in ("on", "off")}


def test_firmware_infer_text_averages_windows(windowed, host_fw):
    """INFER_TEXT on the host firmware: the same mean, the window count, the last window's ids;
    the non-windowed build says so in INFO and truncates."""
    from embbert.device import protocol as P
    from embbert.device.session import Device
    from embbert.device.transport import PipeTransport

    _, mq, enc = windowed
    L = mq.config.max_len
    with Device(PipeTransport([str(host_fw["on"])]), timeout=20.0, infer_timeout=60.0) as dev:
        dev.sync()
        info = dev.info()
        assert info.windows
        examples = [e for e in load_split("imdb", "test")[:400]
                    if 2 * len(P.encode_infer_text(e.text_a.encode())) <= info.max_payload][:4]
        examples.append(Example("short", None, 0))
        seqs, owner = encode_windows(enc, examples, L)
        want = window_mean(mq.logits_batch(seqs), owner, len(examples))
        for i, e in enumerate(examples):
            r = dev.infer_text(e.text_a.encode())
            last = seqs[int(np.flatnonzero(owner == i)[-1])]
            assert r.windows == int((owner == i).sum()) and (r.ids, r.segs) == last
            assert _bits(r.logits) == _bits(want[i])
        assert max(np.bincount(owner)) > 5
        r = dev.infer_text(examples[0].text_a.encode(), examples[1].text_a.encode())
        assert r.windows == 1 and r.T == L
    truncated = mq.logits_batch(encode_examples(enc, examples[:2], L))
    with Device(PipeTransport([str(host_fw["off"])]), timeout=20.0, infer_timeout=60.0) as dev:
        dev.sync()
        assert dev.info().has_tokenizer and not dev.info().windows
        for e, w in zip(examples, truncated, strict=False):
            r = dev.infer_text(e.text_a.encode())
            assert r.windows == 1 and _bits(r.logits) == _bits(w)


def test_predict_windows_fp32_and_on_the_device(windowed, host_fw, tmp_path):
    """embbert-predict: fp32 on the host averages the windows like embbert-eval; --port shows
    what the device did; a long text without windows still needs --truncate."""
    import json

    import torch
    from embbert.device import protocol as P
    from embbert.train.evaluate import fp32_logits

    from .conftest import run_cli

    d, mq, enc = windowed
    L = mq.config.max_len
    e = next(e for e in load_split("imdb", "test")[:400]
             if 2 * len(P.encode_infer_text(e.text_a.encode())) <= P.MAX_PAYLOAD // 3)
    review = tmp_path / "review.txt"
    review.write_text(e.text_a)
    seqs, owner = encode_windows(enc, [e], L)
    with torch.no_grad():
        want = window_mean(fp32_logits(checkpoint.load(d / "win.pt").model(), seqs), owner, 1)
    out = json.loads(run_cli("embbert-predict", d / "win.pt", "--file", review,
                             "--json").stdout)
    assert out["windows"] == len(seqs) > 1 and (out["ids"], out["segs"]) == seqs[-1]
    np.testing.assert_allclose(out["logits"], want[0], rtol=1e-6, atol=1e-6)
    text = run_cli("embbert-predict", d / "win.pt", "--file", review).stdout
    assert f"windows: {len(seqs)} of max_len {L}" in text
    bad = run_cli("embbert-predict", d / "win.pt", "--file", review, "--no-windows",
                  check=False)
    assert bad.returncode != 0 and len(bad.stderr.strip().splitlines()) == 1
    cut = json.loads(run_cli("embbert-predict", d / "win.pt", "--file", review, "--no-windows",
                             "--truncate", "--json").stdout)
    assert cut["windows"] == 1 and len(cut["ids"]) == L
    bad = run_cli("embbert-predict", d / "win.pt", "a", "--pair", "b", "--windows", check=False)
    assert bad.returncode != 0 and "single texts" in bad.stderr
    port = f"pipe:{host_fw['on']}"
    dev = json.loads(run_cli("embbert-predict", "--port", port, d / "win.pt", "--file", review,
                             "--json", "--timeout", "30").stdout)
    assert dev["windows"] == len(seqs) and (dev["ids"], dev["segs"]) == seqs[-1]
    quant = window_mean(mq.logits_batch(seqs), owner, 1)[0]
    assert _bits(dev["logits"]) == _bits(quant)
    line = run_cli("embbert-predict", "--port", port, "--file", review, "--timeout", "30").stdout
    assert f"{len(seqs)} windows of {L} tokens (mean logits)" in line


def test_bench_text_mode_scores_the_window_mean(windowed, host_fw, tmp_path):
    """embbert-bench --on-device-tokenizer on a windowed device: its references are window means
    too, so the device is bit-exact with them and the accuracy is the windowed one."""
    import json

    from .conftest import run_cli

    d, _, _ = windowed
    js = tmp_path / "b.json"
    proc = run_cli("embbert-bench", "--port", f"pipe:{host_fw['on']}", "--generated", d / "on",
                   "--model", d / "win.pt", "--task", "imdb", "--split", "test", "--limit", "12",
                   "--on-device-tokenizer", "--json", js)
    s = json.loads(js.read_text())
    assert s["bit_exact_quant"] == 1.0 and s["ids_agreement"] == 1.0, proc.stdout
    assert s["windows_max"] > 5 and s["accuracy_device"] == s["accuracy_quant"]
    assert [p["windows"] > 1 for p in s["per_sample"]].count(True) == s["samples"]
    assert "windows per text" in proc.stdout


ERRORS = r"""
#include <stdio.h>
#include "embbert/embbert.h"
#include "model_data.h"
static uint8_t arena[EBQ_ARENA_BYTES] EBQ_ARENA_ATTR;
int main(void) {
    ebq_ctx ctx = {0};
    uint16_t ids[EBQ_MAX_LEN];
    uint8_t segs[EBQ_MAX_LEN];
    float logits[EBQ_NUM_LABELS], win[EBQ_NUM_LABELS];
    ebq_text_run run;
    const uint8_t *t = (const uint8_t *)"long enough";
    printf("%s", ebq_status_name(ebq_infer_text(&ctx, EBQ_TOKENIZER, t, 11, NULL, 0, ids, segs,
                                                logits, win, NULL, &run)));
    if (ebq_init(&ctx, &ebq_model_data, arena, sizeof arena) != EBQ_OK) return 2;
    printf(" %s", ebq_status_name(ebq_infer_text(&ctx, EBQ_TOKENIZER, t, 11, NULL, 0, ids, segs,
                                                 logits, NULL, NULL, &run)));
    printf(" %s", ebq_status_name(ebq_infer_text(&ctx, EBQ_TOKENIZER, NULL, 3, NULL, 0, ids,
                                                 segs, logits, win, NULL, &run)));
    printf(" %s", ebq_status_name(ebq_infer_text(&ctx, EBQ_TOKENIZER, t, 11, NULL, 0, NULL,
                                                 segs, logits, win, NULL, &run)));
    ebq_status s = ebq_infer_text(&ctx, EBQ_TOKENIZER, t, 11, NULL, 0, ids, segs, logits, win,
                                  NULL, &run);
    printf(" %s %u\n", ebq_status_name(s), (unsigned)run.windows);
    return 0;
}
"""


def test_error_cases(windowed, tiny_checkpoint, tmp_path):
    """Named statuses from ebq_infer_text; one-line CLI errors with a non-zero exit."""
    from .conftest import run_cli

    d, _, _ = windowed
    r = subprocess.run([str(_build(tmp_path, d / "on", ERRORS, "errors"))], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["NOT_INITIALIZED", "BAD_ARGUMENT", "BAD_ARGUMENT",
                                "BAD_ARGUMENT", "OK", "1"]
    ck = checkpoint.load(tiny_checkpoint)
    ck.task = "mrpc"
    checkpoint.save(ck, tmp_path / "pair.pt")
    bad = run_cli("embbert-export", tmp_path / "pair.pt", "--board", "host", "--out",
                  tmp_path / "gen", "--windows", check=False)
    assert bad.returncode != 0 and "single-text tasks" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1 and not (tmp_path / "gen").exists()


def test_windows_of_adversarial_text_on_the_firmware(windowed, host_fw):
    """Random and adversarial UTF-8 (invalid bytes, [UNK] words, added tokens, long words across
    window edges) through the windowed path under ASan/UBSan: the window count and the last
    window's ids are the host's."""
    import random

    from embbert.device.session import Device
    from embbert.device.transport import PipeTransport

    from .tokenizer_strings import adversarial_strings

    _, mq, enc = windowed
    parts = [t for t in adversarial_strings(random.Random(5), 1200) if len(t) < 200]
    texts = [b" ".join(parts[i:i + 6]) for i in range(0, len(parts), 6)][:150]  # long texts
    decoded = [Example(t.decode("utf-8", "replace"), None, 0) for t in texts]
    seqs, owner = encode_windows(enc, decoded, mq.config.max_len)
    counts = np.bincount(owner, minlength=len(texts))
    with Device(PipeTransport([str(host_fw["on"])]), timeout=20.0, infer_timeout=60.0) as dev:
        dev.sync()
        for i, t in enumerate(texts):
            r = dev.infer_text(t)
            assert r.windows == counts[i], t
            assert (r.ids, r.segs) == seqs[int(np.flatnonzero(owner == i)[-1])], t
    assert (counts > 1).sum() > 50 and counts.max() > 5   # many texts go through windows
