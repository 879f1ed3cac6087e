"""The C tokenizer (runtime_c/src/tokenize.c + generated tables) against `tokenizers`.

The tool runtime_c/tools/ebq_tokenize is built with ASan/UBSan and fed every dev/test text of
all tasks and >= 100k random and adversarial strings; the reference is TextEncoder on the
bytes decoded as UTF-8 with U+FFFD for invalid sequences.
"""

from __future__ import annotations

import random
import struct
import subprocess
from pathlib import Path

import pytest
from embbert.cbuild import build_tokenize
from embbert.checkpoint import load
from embbert.data import TASKS, load_split
from embbert.tokenizer import TextEncoder, from_json

from .tokenizer_strings import adversarial_strings

REPO = Path(__file__).resolve().parents[1]
BUNDLED = REPO / "models" / "sst2.pt"


def build_tool(tokenizer_json: str, out: Path) -> Path:
    from embbert.export import tokenizer_tables as tt

    tables = tt.build(tokenizer_json)
    c, _ = tt.render_c(tables, cls_id=2, sep_id=4)
    out.mkdir(parents=True, exist_ok=True)
    (out / "tok_data.c").write_text('#include "embbert/tokenize.h"\n' + c)
    return build_tokenize(out / "tok_data.c", out / "ebq_tokenize", sanitize=True)


def request(mode: int, a: bytes, b: bytes = b"", max_len: int = 0) -> bytes:
    return bytes([mode]) + struct.pack("<II", max_len, len(a)) + a + struct.pack("<I", len(b)) + b


def run_tool(exe: Path, reqs: list[tuple[int, bytes, bytes, int]]) -> list:
    """Replies in order: pieces (mode 2) or (ids, segs)."""
    data = b"".join(request(*r) for r in reqs)
    out = subprocess.run([str(exe)], input=data, capture_output=True, check=True,
                         timeout=900).stdout
    res, p = [], 0
    for mode, *_ in reqs:
        (n,) = struct.unpack_from("<I", out, p)
        p += 4
        ids = list(struct.unpack_from(f"<{n}H", out, p))
        p += 2 * n
        if mode == 2:
            res.append(ids)
        else:
            res.append((ids, list(out[p:p + n])))
            p += n
    assert p == len(out)
    return res


def text(b: bytes) -> str:
    return b.decode("utf-8", "replace")


def check_pieces(exe: Path, enc: TextEncoder, texts: list[bytes]) -> int:
    got = run_tool(exe, [(2, t, b"", 0) for t in texts])
    want = enc.pieces([text(t) for t in texts])
    bad = [(t, g, w) for t, g, w in zip(texts, got, want, strict=True) if g != w]
    assert not bad, f"{len(bad)} of {len(texts)} differ; first: {bad[0]!r}"[:2000]
    return len(texts)


def check_encode(exe: Path, enc: TextEncoder, cases: list[tuple[bytes, bytes | None, int]]):
    reqs = [(1 if b is not None else 0, a, b or b"", m) for a, b, m in cases]
    got = run_tool(exe, reqs)
    for (a, b, m), g in zip(cases, got, strict=True):
        want = enc.encode(text(a), None if b is None else text(b), max_len=m)
        assert (g[0], g[1]) == (want[0], want[1]), (a[:200], b and b[:200], m)


@pytest.fixture(scope="module")
def bundled(tmp_path_factory):
    if not BUNDLED.is_file():
        pytest.skip("bundled model missing")
    js = load(BUNDLED).tokenizer
    return build_tool(js, tmp_path_factory.mktemp("tok")), from_json(js)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, tiny_tokenizer):
    js = tiny_tokenizer.read_text()
    return build_tool(js, tmp_path_factory.mktemp("tiny")), from_json(js)


def test_every_dev_and_test_text(bundled):
    """Pieces of every text (no truncation hides a difference), then the [CLS]/[SEP] encoding
    with the model's max_len, pairs included."""
    exe, enc = bundled
    n = 0
    for task in TASKS.values():
        for split in task.splits:
            if split == "train":
                continue
            try:
                ex = load_split(task.name, split)
            except Exception as e:  # noqa: BLE001 - data missing on this machine
                pytest.skip(f"data: {e}")
            texts = [e.text_a.encode() for e in ex]
            texts += [e.text_b.encode() for e in ex if e.text_b is not None]
            n += check_pieces(exe, enc, texts)
            check_encode(exe, enc, [(e.text_a.encode(), None if e.text_b is None else
                                     e.text_b.encode(), 256) for e in ex])
    assert n > 50_000


def test_random_and_adversarial_strings(bundled):
    exe, enc = bundled
    strings = adversarial_strings(random.Random(1), 100_000)
    assert check_pieces(exe, enc, strings) >= 100_000


def test_truncation_and_pairs_random(bundled):
    exe, enc = bundled
    rng = random.Random(2)
    s = adversarial_strings(rng, 6000)
    cases = []
    for i in range(0, len(s) - 1, 2):
        m = rng.choice([3, 4, 5, 8, 17, 64, 128, 256, 300])
        cases.append((s[i], s[i + 1] if i % 4 == 0 else None, m))
    check_encode(exe, enc, cases)


def test_small_vocabulary(tiny):
    """A 300-token vocabulary: most words split into many pieces or end as [UNK]."""
    exe, enc = tiny
    assert check_pieces(exe, enc, adversarial_strings(random.Random(3), 20_000)) == 20_000


def test_bad_arguments(bundled, tmp_path):
    exe, _ = bundled
    r = subprocess.run([str(exe)], input=request(0, b"abc", b"", 1), capture_output=True)
    assert r.returncode == 2 and b"status 1" in r.stderr          # max_len < 2
    r = subprocess.run([str(exe)], input=request(1, b"abc", b"d", 2), capture_output=True)
    assert r.returncode == 2 and b"status 1" in r.stderr          # pair needs max_len >= 3


def script_tokenizer_json() -> str:
    """A vocabulary of single characters (and their continuations) from every script the
    adversarial strings use, with the checkpoint's normalizer and pre-tokenizer: reordered
    combining marks, Hangul jamo, CJK and accents then change the ids instead of all ending
    as [UNK] as they do with an English vocabulary."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    from .tokenizer_strings import pools

    p = pools()
    chars = sorted({c for k in ("kept_comb", "ascii", "latin", "hangul", "cjk", "greek_cyr")
                    for c in p[k]} | {"\u0307"})
    bert = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True,
                                      strip_accents=True, lowercase=True)
    chars = sorted({bert.normalize_str(c).strip() for c in chars} - {""})
    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[MASK]", "[SEP]"])}
    for c in chars:
        vocab.setdefault(c, len(vocab))
        vocab.setdefault("##" + c, len(vocab))
    for a, b in zip(chars[::7], chars[3::7], strict=False):     # some two-character tokens
        vocab.setdefault(a + b, len(vocab))
        vocab.setdefault("##" + a + b, len(vocab))
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = bert
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.add_special_tokens(["[PAD]", "[UNK]", "[CLS]", "[MASK]", "[SEP]"])
    return tok.to_str()


def test_script_vocabulary(tmp_path):
    js = script_tokenizer_json()
    exe, enc = build_tool(js, tmp_path), from_json(js)
    assert check_pieces(exe, enc, adversarial_strings(random.Random(4), 30_000)) == 30_000
