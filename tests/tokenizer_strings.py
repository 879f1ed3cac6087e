"""Random and adversarial UTF-8 inputs for the tokenizer parity tests (as bytes)."""

from __future__ import annotations

import random
import unicodedata

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[MASK]", "[SEP]", "[SEP", "SEP]", "[[SEP]]", "[sep]"]
WORDS = ["the", "movie", "is", "gorgeous", "witty", "un", "##", "##ing", "running", "café",
         "naïve", "Ångström", "İstanbul", "ΣΑΣ", "straße", "ﬁne", "Ǆemal", "x²", "①"]


def _pools() -> dict[str, list[str]]:
    cps = [cp for cp in range(0x110000) if not 0xD800 <= cp < 0xE000]
    marks = [chr(c) for c in cps if unicodedata.category(chr(c)).startswith("M")]
    comb = [chr(c) for c in cps if unicodedata.combining(chr(c))]
    ctrl = [chr(c) for c in cps[:0x3000] if unicodedata.category(chr(c)) in ("Cc", "Cf")]
    space = [chr(c) for c in cps[:0x3100] if chr(c).isspace()] + ["\u200b", "\ufeff", "\x85"]
    punct = [chr(c) for c in cps[:0x10000] if unicodedata.category(chr(c)).startswith(("P", "S"))]
    # non-starters the normalizer keeps: runs of them are put in canonical order
    from tokenizers import normalizers
    bert = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True,
                                      strip_accents=True, lowercase=True)
    kept = [c for c in comb if bert.normalize_str(c)]
    starter_marks = [c for c in marks if not unicodedata.combining(c)][:400]
    return {
        "kept_comb": kept, "starter_marks": starter_marks,
        "ascii": [chr(c) for c in range(32, 127)],
        "latin": [chr(c) for c in range(0xC0, 0x250)] + [chr(c) for c in range(0x1E00, 0x1F00)],
        "greek_cyr": [chr(c) for c in range(0x370, 0x530)],
        "cjk": [chr(c) for c in range(0x4E00, 0x4E80)] + [chr(c) for c in range(0xF900, 0xF940)]
        + [chr(c) for c in range(0x2F800, 0x2F820)] + [chr(c) for c in range(0x3400, 0x3410)],
        "hangul": [chr(c) for c in range(0xAC00, 0xD7A4, 37)]
        + [chr(c) for c in range(0x1100, 0x1200)],
        "indic": [chr(c) for c in range(0x900, 0xE00)],
        "arabic": [chr(c) for c in range(0x600, 0x900)],
        "emoji": [chr(c) for c in range(0x1F300, 0x1FAFF, 3)] + ["\u200d", "\ufe0f"],
        "marks": marks, "comb": comb, "ctrl": ctrl, "space": space, "punct": punct,
        "any": [chr(c) for c in cps],
    }


_POOLS: dict[str, list[str]] | None = None


def pools() -> dict[str, list[str]]:
    global _POOLS
    if _POOLS is None:
        _POOLS = _pools()
    return _POOLS


def _random_text(rng: random.Random, n: int, names: list[str]) -> str:
    p = pools()
    out = []
    for _ in range(n):
        r = rng.random()
        if r < 0.08:
            out.append(" ")
        elif r < 0.10:
            out.append(rng.choice(SPECIALS))
        elif r < 0.14:
            out.append(rng.choice(WORDS))
        else:
            out.append(rng.choice(p[rng.choice(names)]))
    return "".join(out)


def _random_bytes(rng: random.Random, n: int) -> bytes:
    """Random bytes biased towards UTF-8 lead/continuation bytes and their edge values."""
    edge = [0x00, 0x7F, 0x80, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xA0, 0x9F, 0xED, 0xEF,
            0xF0, 0x90, 0x8F, 0xF4, 0xF5, 0xFF, ord("["), ord("a"), ord(" ")]
    return bytes(rng.choice(edge) if rng.random() < 0.5 else rng.randrange(256)
                 for _ in range(n))


def adversarial_strings(rng: random.Random, count: int) -> list[bytes]:
    """count inputs: random code points, random bytes, mixed scripts, combining runs, long
    words around max_input_chars_per_word, long texts, special tokens inside text."""
    names = list(pools())
    out: list[bytes] = [b"", b" ", b"\x00", "\ufffd".encode(), b"[SEP]", b"a" * 100,
                        b"a" * 101, ("é" * 100).encode(), ("é" * 101).encode()]
    while len(out) < count:
        kind = rng.randrange(10)
        if kind == 0:                              # any code point
            s = "".join(rng.choice(pools()["any"]) for _ in range(rng.randrange(1, 40)))
            out.append(s.encode())
        elif kind == 1:
            out.append(_random_bytes(rng, rng.randrange(1, 40)))
        elif kind == 2:                            # one script or a mix
            k = rng.sample(names, rng.randrange(1, 4))
            out.append(_random_text(rng, rng.randrange(1, 60), k).encode())
        elif kind == 3:                            # letters with runs of combining marks
            s = "".join(rng.choice(pools()["latin"] + pools()["ascii"]) +
                        "".join(rng.choice(pools()["comb"] + pools()["marks"])
                                for _ in range(rng.randrange(0, 5)))
                        for _ in range(rng.randrange(1, 12)))
            out.append(s.encode())
        elif kind == 4:                            # words near the 100-character limit
            base = rng.choice(["a", "é", "ab", "x\u0301", "가", "\U0001F600", "iI"])
            n = rng.choice([49, 50, 99, 100, 101, 150]) // len(base) + rng.randrange(-1, 2)
            out.append((base * max(n, 1) + rng.choice(["", " b", "!", "\u0301"])).encode())
        elif kind == 5:                            # long text
            out.append(_random_text(rng, rng.randrange(200, 2000),
                                    ["ascii", "ascii", "latin", "punct"]).encode())
        elif kind == 6:                            # valid text with invalid bytes spliced in
            s = bytearray(_random_text(rng, rng.randrange(1, 40), names).encode())
            for _ in range(rng.randrange(1, 4)):
                at = rng.randrange(len(s) + 1)
                s[at:at] = _random_bytes(rng, rng.randrange(1, 4))
            out.append(bytes(s))
        elif kind == 7:                            # control, space and punctuation soup
            out.append(_random_text(rng, rng.randrange(1, 30),
                                    ["ctrl", "space", "punct", "ascii"]).encode())
        elif kind == 8:                            # runs of kept non-starters to reorder
            p = pools()
            s = "".join(rng.choice(p["latin"] + p["ascii"] + p["hangul"]) +
                        "".join(rng.choice(p["kept_comb"] * 4 + p["comb"] + p["starter_marks"])
                                for _ in range(rng.randrange(1, 8)))
                        for _ in range(rng.randrange(1, 6)))
            out.append(s.encode())
        else:                                      # truncated multi-byte sequences
            s = _random_text(rng, rng.randrange(1, 10), names).encode()
            out.append(s[:rng.randrange(len(s) + 1)])
    return out[:count]
