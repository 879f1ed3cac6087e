"""The application API of embbert.h on the host with ASan/UBSan: the example in the header
comment compiled as it stands, and the calls' results against the runtime and the tokenizer."""

from __future__ import annotations

import re
import subprocess

import numpy as np
import pytest
from embbert.boards import load_board
from embbert.checkpoint import load
from embbert.paths import REPO
from embbert.tokenizer import from_json

from .test_tokenizer_c import BUNDLED

pytestmark = pytest.mark.skipif(not BUNDLED.is_file(), reason="bundled model missing")
RT = REPO / "runtime_c"
SAN = ["-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all"]
CFLAGS = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off", "-fno-fast-math"]


@pytest.fixture(scope="module")
def gen(tmp_path_factory):
    from embbert.export.exporter import export

    d = tmp_path_factory.mktemp("api")
    _, mq = export(BUNDLED, load_board("host"), d / "on")
    export(BUNDLED, load_board("host"), d / "off", tokenizer="off")
    return d, mq


def _build(d, gen_dir, main_src: str, name: str):
    src = d / f"{name}.c"
    src.write_text(main_src)
    runtime = sorted(RT.glob("src/*.c")) + sorted(RT.glob("src/ref/*.c"))
    exe = d / name
    subprocess.run(["cc", *CFLAGS, *SAN, f"-I{RT / 'include'}", f"-I{RT / 'src'}",
                    f"-I{gen_dir}", "-o", str(exe), str(src), str(gen_dir / "model_data.c"),
                    *map(str, runtime), "-lm"], check=True)
    return exe


def header_example() -> str:
    text = (RT / "include" / "embbert" / "embbert.h").read_text()
    block = text[text.index(" *     #include <stdio.h>"):text.index(" * Pass a counter")]
    return "\n".join(re.sub(r"^ \*( {4})?", "", ln) for ln in block.splitlines())


def test_header_example_runs(gen, tmp_path):
    d, mq = gen
    exe = _build(tmp_path, d / "on", header_example(), "example")
    lines = ["a gorgeous, witty, seductive movie", "dull , lifeless and far too long",
             "Ça ne vaut pas le détour"]
    out = subprocess.run([str(exe)], input="\n".join(lines) + "\n", capture_output=True,
                         text=True, check=True).stdout.splitlines()
    ck = load(BUNDLED)
    enc = from_json(ck.tokenizer)
    assert len(out) == len(lines)
    for text, got in zip(lines, out, strict=True):
        ids, segs = enc.encode(text, max_len=mq.config.max_len)
        logits = mq.logits_batch([(np.asarray(ids), np.asarray(segs))])[0]
        e = np.exp(logits - logits.max())
        assert got == f"{ck.labels[int(logits.argmax())]} {e.max() / e.sum():.3f}"


API_CHECKS = r"""
#include <stdio.h>
#include <string.h>
#include "embbert/embbert.h"
#include "model_data.h"
static uint8_t work[EBQ_CLASSIFIER_WORK_BYTES] EBQ_ARENA_ATTR;
static uint64_t ticks;
static uint64_t counter(void) { return ticks += 7; }
int main(void) {
    ebq_classifier c;
    ebq_result r, q;
    if (ebq_classifier_init(&c, &ebq_model_data, EBQ_TOKENIZER, ebq_model_labels, work,
                            EBQ_CLASSIFIER_BYTES(0, EBQ_MAX_LEN, EBQ_NUM_LABELS) + 8, counter)
        != EBQ_ARENA_TOO_SMALL) return 10;
    ebq_status s = ebq_classifier_init(&c, &ebq_model_data, EBQ_TOKENIZER, ebq_model_labels,
                                       work, sizeof work, counter);
    if (s != EBQ_OK) return 11;
    const char *t = "not a bad film at all";
    s = ebq_classify_text(&c, t, strlen(t), NULL, 0, &r);
    if (s != EBQ_OK && s != EBQ_NO_TOKENIZER) return 12;
    if (s == EBQ_NO_TOKENIZER) { printf("NO_TOKENIZER\n"); return 0; }
    float first = r.logits[0];
    uint16_t ids[EBQ_MAX_LEN];
    uint8_t segs[EBQ_MAX_LEN];
    uint32_t T = r.T;
    /* the ids of the text again, through the tokenizer API */
    if (ebq_tokenize(EBQ_TOKENIZER, (const uint8_t *)t, strlen(t), NULL, 0, EBQ_MAX_LEN, work,
                     EBQ_TOK_WORK_BYTES, ids, segs, &T) != EBQ_OK) return 13;
    if (ebq_classify_ids(&c, ids, segs, T, &q) != EBQ_OK) return 14;
    if (q.logits[0] != first || q.label != r.label || q.T != r.T) return 15;
    if (r.tokenize_cost != 7 || r.infer_cost != 7 || q.tokenize_cost != 0) return 16;
    if (ebq_classify_ids(&c, ids, segs, 0, &q) != EBQ_EMPTY_INPUT) return 17;
    if (ebq_classify_ids(&c, ids, segs, EBQ_MAX_LEN + 1, &q) != EBQ_TOO_LONG) return 18;
    printf("%s|%s|%s|%u\n", ebq_label_name(&c, 0), ebq_label_name(&c, 1),
           ebq_label_name(&c, 99), (unsigned)r.label);
    return 0;
}
"""


def test_api_calls(gen, tmp_path):
    d, _ = gen
    exe = _build(tmp_path, d / "on", API_CHECKS, "checks")
    r = subprocess.run([str(exe)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    labels = load(BUNDLED).labels
    assert r.stdout.split("|")[:3] == [labels[0], labels[1], "?"]


def test_without_tokenizer_only_ids(gen, tmp_path):
    d, _ = gen
    exe = _build(tmp_path, d / "off", API_CHECKS, "checks_off")
    r = subprocess.run([str(exe)], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "NO_TOKENIZER", r.stderr
