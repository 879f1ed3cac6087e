"""Const tables for the C tokenizer (runtime_c/src/tokenize.c), generated from a checkpoint.

The C tokenizer must give the ids of the checkpoint's `tokenizers` pipeline (BertNormalizer,
BertPreTokenizer, WordPiece) for every input. That library's Unicode data is a mix of versions
(its general-category tables are older than Python's `unicodedata`, its lower-casing newer), so
deriving the tables from `unicodedata` alone disagrees on a few hundred code points. Instead
every code point is run through the checkpoint's own normalizer and pre-tokenizer; `unicodedata`
gives the canonical combining classes (stable across Unicode versions) that NFD reordering needs,
and the report says where it would have disagreed.

Per code point the normalizer is a map cp -> sequence (BertNormalizer acts per character, apart
from NFD's canonical reordering of non-starters, which the C code redoes with the classes here).
Tables:
  unicode  two-stage lookup cp -> record (identity word/punctuation/space, drop, drop that ends a
           reordering run, one mapped code point, a sequence in `pool`, Hangul decomposition,
           or a CJK ideograph that becomes a word of its own);
  vocab    the WordPiece vocabulary as two byte-sorted string tables (word starts; continuations
           without their prefix) with a first-byte index, for a longest-prefix walk; tokens that
           no pre-tokenized word can contain (upper case, punctuation inside) are left out;
  specials the added tokens, matched on the raw text before normalization as `tokenizers` does.
"""

from __future__ import annotations

import hashlib
import json
import os
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import EmbBertError

MAX_CP = 0x110000
SURROGATES = range(0xD800, 0xE000)
SEP_CHAR = "\u2ff0"          # a starter that maps to itself: separates probes in one call
HANGUL_BASE, HANGUL_COUNT = 0xAC00, 11172
TABLES_VERSION = 1           # bump when the record layout changes (disk cache key)

# record kinds (bits 28..31 of a record; runtime_c/src/tokenize.c has the same numbers)
K_WORD, K_PUNCT, K_SPACE, K_DROP, K_BREAK, K_MAP1, K_SEQ, K_HANGUL, K_ISOLATE = range(9)
# pre-tokenizer classes of a normalized character
C_WORD, C_PUNCT, C_SPACE = 0, 1, 2


@dataclass
class TokenizerTables:
    stage1: np.ndarray            # uint8 (or uint16 past 256 blocks) [MAX_CP >> shift]
    stage2: np.ndarray            # uint16 [n_blocks << shift]
    records: np.ndarray           # uint32
    pool: np.ndarray              # uint32: cp | class << 21 | ccc << 24
    shift: int
    strings: bytes
    offsets: np.ndarray           # uint16 or uint32 [n_words + n_conts + 1]
    ids: np.ndarray               # uint16
    first: np.ndarray             # uint16 [2][257]
    n_words: int
    n_conts: int
    specials: list[tuple[bytes, int]]
    unk_id: int
    max_word_chars: int
    stats: dict = field(default_factory=dict)

    def flash_bytes(self) -> int:
        """Const data bytes (each array 4-byte aligned) + the descriptor struct."""
        arrays = [self.stage1, self.stage2, self.records, self.pool, self.offsets, self.ids,
                  self.first]
        n = sum(-(-a.nbytes // 4) * 4 for a in arrays) + -(-len(self.strings) // 4) * 4
        n += sum(len(s) + 1 for s, _ in self.specials) + 8 * len(self.specials)
        return n + DESCRIPTOR_BYTES

    def work_bytes(self) -> int:
        return work_bytes(self.max_word_chars)


# sizeof(ebq_tokenizer) with 4-byte pointers: 13 pointers, 11 uint32, 6 uint16 (a test checks it)
DESCRIPTOR_BYTES = 13 * 4 + 11 * 4 + 6 * 2


def work_bytes(max_word_chars: int) -> int:
    """Caller working memory (ebq_tok_work_bytes in tokenize.c): the word as code points and
    as UTF-8, plus the state."""
    return 4 * (max_word_chars + 1) + 4 * (max_word_chars + 1) + 16


# ---------------------------------------------------------------------- what is supported

def check_supported(js: dict) -> None:
    """The pipeline the C code implements; anything else is refused with what differs."""
    norm, pre, model = js.get("normalizer") or {}, js.get("pre_tokenizer") or {}, js.get("model")
    if norm.get("type") != "BertNormalizer":
        raise EmbBertError(f"on-device tokenizer: normalizer {norm.get('type')!r} is not "
                           f"supported (BertNormalizer only)")
    if pre.get("type") != "BertPreTokenizer":
        raise EmbBertError(f"on-device tokenizer: pre-tokenizer {pre.get('type')!r} is not "
                           f"supported (BertPreTokenizer only)")
    if not model or model.get("type") != "WordPiece":
        raise EmbBertError("on-device tokenizer: the model is not WordPiece")
    for t in js.get("added_tokens") or []:
        if t.get("normalized") or t.get("single_word") or t.get("lstrip") or t.get("rstrip"):
            raise EmbBertError(f"on-device tokenizer: added token {t.get('content')!r} has "
                               f"options the C tokenizer does not implement")
        if not t.get("content") or "\ufffd" in t["content"]:
            raise EmbBertError(f"on-device tokenizer: added token {t.get('content')!r} unusable")


# --------------------------------------------------------------- probing the normalizer

def _all_cps() -> list[int]:
    return [cp for cp in range(MAX_CP) if cp not in SURROGATES]


def _probe_normalizer(norm) -> dict[int, str]:
    """cp -> normalized text, for the code points that do not map to themselves."""
    out: dict[int, str] = {}
    cps = [cp for cp in _all_cps() if chr(cp) != SEP_CHAR]
    step = 4096
    for i in range(0, len(cps), step):
        chunk = cps[i:i + step]
        res = norm.normalize_str(SEP_CHAR.join(chr(c) for c in chunk)).split(SEP_CHAR)
        if len(res) != len(chunk):
            raise EmbBertError("on-device tokenizer: normalizer probe lost its separators")
        for cp, r in zip(chunk, res, strict=True):
            if r != chr(cp):
                out[cp] = r
    if norm.normalize_str(SEP_CHAR) != SEP_CHAR:
        raise EmbBertError("on-device tokenizer: probe separator is not kept by the normalizer")
    return out


def _reorder_pair(norm, out: dict[int, str]) -> tuple[str, str]:
    """Two kept non-starters x, y with ccc(x) > ccc(y) > 0 that the normalizer does swap."""
    kept = sorted({cp for cp in _all_cps() if unicodedata.combining(chr(cp))
                   and out.get(cp, chr(cp)) == chr(cp)},
                  key=lambda c: unicodedata.combining(chr(c)))
    for y in kept[:200]:
        for x in reversed(kept[-200:]):
            if unicodedata.combining(chr(x)) > unicodedata.combining(chr(y)) and \
                    norm.normalize_str("a" + chr(x) + chr(y)) == "a" + chr(y) + chr(x):
                return chr(x), chr(y)
    raise EmbBertError("on-device tokenizer: no reordering probe pair found")


def _probe_starters(norm, out: dict[int, str]) -> set[int]:
    """Code points that end a canonical-reordering run (starters in the normalizer's NFD)."""
    x, y = _reorder_pair(norm, out)
    starters = set()
    cps = _all_cps()
    step = 2048
    for i in range(0, len(cps), step):
        chunk = cps[i:i + step]
        res = norm.normalize_str(SEP_CHAR.join("a" + x + chr(c) + y for c in chunk))
        parts = res.split(SEP_CHAR)
        if len(parts) != len(chunk):   # the separator itself is a starter: probe alone
            parts = [norm.normalize_str("a" + x + chr(c) + y) for c in chunk]
        for cp, p in zip(chunk, parts, strict=True):
            if p.find(x) < p.find(y):
                starters.add(cp)
    return starters


def _probe_classes(pre, chars: list[str]) -> dict[str, int]:
    """Pre-tokenizer class of each character: word, isolated punctuation or whitespace."""
    cls: dict[str, int] = {}
    step = 4096
    for i in range(0, len(chars), step):
        chunk = chars[i:i + step]
        text = "a" + "".join(c + "a" for c in chunk)
        pieces = [span for _, span in pre.pre_tokenize_str(text)]
        isolated = {s for s, e in pieces if e == s + 1}
        covered = {i for s, e in pieces for i in range(s, e)}
        for j, c in enumerate(chunk):
            pos = 2 * j + 1
            cls[c] = (C_PUNCT if pos in isolated else
                      C_WORD if pos in covered else C_SPACE)
    return cls


def _probe(norm_json: str, pre_json: str) -> tuple:
    """(cp -> normalized text when not itself, starters, pre-tokenizer class by character)."""
    from tokenizers import Tokenizer, models

    tok = Tokenizer(models.WordPiece({"[UNK]": 0}, unk_token="[UNK]"))
    full = json.loads(tok.to_str())
    full["normalizer"], full["pre_tokenizer"] = json.loads(norm_json), json.loads(pre_json)
    tok = Tokenizer.from_str(json.dumps(full))
    norm, pre = tok.normalizer, tok.pre_tokenizer
    out = _probe_normalizer(norm)
    starters = _probe_starters(norm, out)
    outputs = {c for s in out.values() for c in s}
    kept = [chr(cp) for cp in _all_cps() if cp not in out]
    cls = _probe_classes(pre, sorted(outputs | set(kept)))
    return out, starters, cls


def _ccc(c: str, starters: set[int]) -> int:
    if ord(c) in starters:
        return 0
    v = unicodedata.combining(c)
    if v == 0:
        raise EmbBertError(f"on-device tokenizer: U+{ord(c):04X} is a non-starter for the "
                           f"tokenizer but unicodedata {unicodedata.unidata_version} gives no "
                           f"combining class; build with a newer Python")
    return v


def _hangul(cp: int) -> str:
    s = cp - HANGUL_BASE
    lv, t = divmod(s, 28)
    l_, v = divmod(lv, 21)
    return chr(0x1100 + l_) + chr(0x1161 + v) + (chr(0x11A7 + t) if t else "")


def _cache_path(norm_json: str, pre_json: str) -> Path:
    import tokenizers

    key = json.dumps([norm_json, pre_json, tokenizers.__version__,
                      unicodedata.unidata_version, TABLES_VERSION])
    name = f"unicode-{hashlib.sha256(key.encode()).hexdigest()[:20]}.npz"
    env = os.environ.get("EMBBERT_CACHE")
    repo = Path(__file__).resolve().parents[2]
    base = Path(env) if env else (repo / ".cache" if (repo / "runtime_c").is_dir()
                                  else Path.home() / ".cache" / "embbert")
    return base / "tokenizer" / name


@lru_cache(maxsize=4)
def unicode_records(norm_json: str, pre_json: str
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """(record per code point, sequence pool, pre-tokenizer class per normalized character,
    statistics). Probing every code point takes ~15 s, so the result is cached on disk under
    a key of everything it depends on (.cache/tokenizer/ or $EMBBERT_CACHE)."""
    path = _cache_path(norm_json, pre_json)
    try:
        with np.load(path) as z:
            return (z["rec"], z["pool"], z["cls"], json.loads(str(z["stats"])))
    except (OSError, KeyError, ValueError):
        pass
    res = _unicode_records(norm_json, pre_json)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez_compressed(tmp, rec=res[0], pool=res[1], cls=res[2],
                            stats=np.array(json.dumps(res[3])))
        os.replace(tmp, path)
    except OSError:
        pass                      # a read-only location only costs the time next run
    return res


def _unicode_records(norm_json: str, pre_json: str
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    out, starters, cls = _probe(norm_json, pre_json)
    rec = np.zeros(MAX_CP, dtype=np.uint32)       # K_WORD, ccc 0
    pool: list[int] = []
    pool_at: dict[tuple, int] = {}
    hangul_ok = all(out.get(HANGUL_BASE + i) == _hangul(HANGUL_BASE + i)
                    for i in range(HANGUL_COUNT))
    for cp in _all_cps():
        c = chr(cp)
        if hangul_ok and HANGUL_BASE <= cp < HANGUL_BASE + HANGUL_COUNT:
            rec[cp] = K_HANGUL << 28
            continue
        if cp not in out:                          # kept as it is
            k = cls[c]
            ccc = _ccc(c, starters)
            if k != C_WORD and ccc:
                raise EmbBertError(f"on-device tokenizer: U+{cp:04X} is punctuation or space "
                                   f"and a non-starter")
            rec[cp] = ((K_WORD, K_PUNCT, K_SPACE)[k] << 28) | (ccc << 20)
            continue
        s = out[cp]
        if s == "":
            rec[cp] = (K_BREAK if cp in starters else K_DROP) << 28
            continue
        elems = [ord(ch) | (cls[ch] << 21) | (_ccc(ch, starters) << 24) for ch in s]
        if len(s) == 1 and cls[s] == C_WORD and elems[0] >> 24 == 0:
            rec[cp] = (K_MAP1 << 28) | ((ord(s) - cp) & 0x1FFFFF)   # delta: shared records
            continue
        if len(s) == 3 and cls[s[0]] == cls[s[2]] == C_SPACE and cls[s[1]] == C_WORD \
                and elems[1] >> 24 == 0:           # CJK ideographs: one word of their own
            rec[cp] = (K_ISOLATE << 28) | ((ord(s[1]) - cp) & 0x1FFFFF)
            continue
        if all(cls[ch] == C_SPACE for ch in s):
            rec[cp] = K_SPACE << 28
            continue
        key = tuple(elems)
        if key not in pool_at:
            pool_at[key] = len(pool)
            pool.extend(elems)
        if len(elems) > 15 or pool_at[key] >= 1 << 16:
            raise EmbBertError(f"on-device tokenizer: U+{cp:04X} maps to too long a sequence")
        rec[cp] = (K_SEQ << 28) | (len(elems) << 16) | pool_at[key]
    for cp in SURROGATES:
        rec[cp] = K_DROP << 28     # never decoded from UTF-8; U+FFFD is dropped as well
    cls_arr = np.full(MAX_CP, 255, dtype=np.uint8)      # 255: never a normalized character
    for ch, k in cls.items():
        cls_arr[ord(ch)] = k
    stats = {"mapped_code_points": len(out), "hangul_algorithmic": hangul_ok,
             "unicodedata_version": unicodedata.unidata_version}
    return rec, np.array(pool, dtype=np.uint32), cls_arr, stats


def bert_by_unicodedata(c: str) -> str:
    """BertNormalizer as `tokenizers` writes it, with Python's unicodedata: what the tables
    would say without probing (the tests count where it differs)."""
    cp = ord(c)
    if cp in (0, 0xFFFD) or (c not in "\t\n\r" and unicodedata.category(c) in
                             ("Cc", "Cf", "Co", "Cs")):
        return ""
    if c in "\t\n\r" or c.isspace():
        return " "
    d = "".join(x.lower() for x in unicodedata.normalize("NFD", c)
                if unicodedata.category(x) != "Mn")
    chinese = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
               (0x2B740, 0x2B81F), (0x2B920, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))
    return f" {d} " if any(a <= cp <= b for a, b in chinese) else d


def two_stage(rec: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Deduplicated blocks of record indices; the block size with the fewest bytes."""
    uniq, inv = np.unique(rec, return_inverse=True)
    if len(uniq) > 65535:
        raise EmbBertError("on-device tokenizer: too many distinct Unicode records")
    idx = inv.astype(np.uint16)
    best = None
    for shift in (5, 6, 7, 8):
        blocks = idx.reshape(-1, 1 << shift)
        ub, binv = np.unique(blocks, axis=0, return_inverse=True)
        # keep block 0 = the block of U+0000 (first-seen order, deterministic)
        order = []
        seen: dict[int, int] = {}
        for b in binv.reshape(-1).tolist():
            if b not in seen:
                seen[b] = len(order)
                order.append(b)
        s1 = np.array([seen[b] for b in binv.reshape(-1).tolist()],
                      dtype=np.uint8 if len(order) <= 256 else np.uint16)
        s2 = ub[order].reshape(-1).astype(np.uint16)
        size = s1.nbytes + s2.nbytes
        if best is None or size < best[0]:
            best = (size, s1, s2, shift)
    _, s1, s2, shift = best
    return s1, s2, uniq.astype(np.uint32), shift


# ------------------------------------------------------------------------------ vocabulary

def vocab_tables(vocab: dict[str, int], prefix: str, cls: np.ndarray
                 ) -> tuple[bytes, np.ndarray, np.ndarray, np.ndarray, int, int, int]:
    """Sorted word and continuation tables; unreachable tokens left out."""
    def word_ok(s: str) -> bool:   # every char can appear in a multi-char word
        return bool(s) and all(cls[ord(ch)] == C_WORD for ch in s)

    words = sorted((t.encode(), i) for t, i in vocab.items()
                   if word_ok(t) or (len(t) == 1 and cls[ord(t)] == C_PUNCT))
    conts = sorted((t[len(prefix):].encode(), i) for t, i in vocab.items()
                   if prefix and t.startswith(prefix) and word_ok(t[len(prefix):]))
    entries = words + conts
    strings = b"".join(s for s, _ in entries)
    offs = np.cumsum([0] + [len(s) for s, _ in entries])
    offsets = offs.astype(np.uint16 if offs[-1] < 1 << 16 else np.uint32)
    ids = np.array([i for _, i in entries], dtype=np.uint16)
    first = np.zeros((2, 257), dtype=np.uint16)
    for t, (base, table) in enumerate(((0, words), (len(words), conts))):
        fb = [s[0] for s, _ in table]
        for b in range(257):
            first[t, b] = base + int(np.searchsorted(np.array(fb, dtype=np.int32), b))
    kept = {i for _, i in entries}
    return strings, offsets, ids, first, len(words), len(conts), len(vocab) - len(kept)


# ---------------------------------------------------------------------------------- build

def build(tokenizer_json: str) -> TokenizerTables:
    try:
        js = json.loads(tokenizer_json)
    except ValueError as e:
        raise EmbBertError(f"on-device tokenizer: checkpoint tokenizer is not JSON ({e})") from e
    check_supported(js)
    model = js["model"]
    vocab: dict[str, int] = model["vocab"]
    if max(vocab.values()) >= 1 << 16:
        raise EmbBertError("on-device tokenizer: vocabulary ids do not fit 16 bits")
    norm_json = json.dumps(js["normalizer"], sort_keys=True)
    pre_json = json.dumps(js["pre_tokenizer"], sort_keys=True)
    rec, pool, cls, stats = unicode_records(norm_json, pre_json)
    stats = dict(stats)
    s1, s2, records, shift = two_stage(rec)
    strings, offsets, ids, first, nw, nc, dropped = vocab_tables(
        vocab, model.get("continuing_subword_prefix") or "", cls)
    specials = sorted(((t["content"].encode(), int(t["id"]))
                       for t in js.get("added_tokens") or []), key=lambda x: x[1])
    unk = model.get("unk_token", "[UNK]")
    if unk not in vocab:
        raise EmbBertError(f"on-device tokenizer: unk token {unk!r} not in the vocabulary")
    stats.update({"vocab_word_entries": nw, "vocab_continuation_entries": nc,
                  "vocab_tokens_left_out": dropped, "vocab_string_bytes": len(strings)})
    return TokenizerTables(stage1=s1, stage2=s2, records=records, pool=pool, shift=shift,
                           strings=strings, offsets=offsets, ids=ids, first=first, n_words=nw,
                           n_conts=nc,
                           specials=specials, unk_id=int(vocab[unk]),
                           max_word_chars=int(model.get("max_input_chars_per_word", 100)),
                           stats=stats)


# ------------------------------------------------------------------------------ C sources

def _c_array(name: str, ctype: str, values, comment: str) -> str:
    vals = [int(v) for v in np.asarray(values).reshape(-1).tolist()]
    if not vals:
        return ""
    width = {"uint8_t": 2, "uint16_t": 4, "uint32_t": 8}[ctype]
    per = {"uint8_t": 20, "uint16_t": 14, "uint32_t": 8}[ctype]
    body = ",\n    ".join(", ".join(f"0x{v:0{width}x}" for v in vals[i:i + per])
                          for i in range(0, len(vals), per))
    return (f"/* {comment} */\nstatic const {ctype} {name}[{len(vals)}] = {{\n    {body}\n}};\n")


def render_c(t: TokenizerTables, cls_id: int, sep_id: int, windows: bool = False
             ) -> tuple[str, str]:
    """(model_data.c part, model_data.h part) for the tokenizer tables; windows: long single
    texts are classified by the mean of their windows (ebq_infer_text)."""
    u8 = t.stage1.dtype == np.uint8
    o16 = t.offsets.dtype == np.uint16
    sp_bytes = b"".join(s for s, _ in t.specials)
    sp_off = np.cumsum([0] + [len(s) for s, _ in t.specials])
    bitmap = [0] * 8
    for s, _ in t.specials:
        bitmap[s[0] >> 5] |= 1 << (s[0] & 31)
    parts = [
        _c_array("ebq_tok_stage1", "uint8_t" if u8 else "uint16_t", t.stage1,
                 f"code point >> {t.shift} -> block"),
        _c_array("ebq_tok_stage2", "uint16_t", t.stage2, "block entries -> record index"),
        _c_array("ebq_tok_records", "uint32_t", t.records,
                 "kind << 28 | ccc << 20 | delta or pool length << 16 | pool offset"),
        _c_array("ebq_tok_pool", "uint32_t", t.pool if len(t.pool) else [0],
                 "mapped sequences: cp | class << 21 | ccc << 24"),
        _c_array("ebq_tok_strings", "uint8_t", np.frombuffer(t.strings, dtype=np.uint8),
                 f"vocabulary: {t.n_words} word starts, then {t.n_conts} continuations, "
                 f"each byte-sorted"),
        _c_array("ebq_tok_off", "uint16_t" if o16 else "uint32_t", t.offsets,
                 "string offsets"),
        _c_array("ebq_tok_ids", "uint16_t", t.ids, "token id of each string"),
        _c_array("ebq_tok_first", "uint16_t", t.first, "[2][257] first entry by first byte"),
        _c_array("ebq_tok_special_bytes", "uint8_t", np.frombuffer(sp_bytes, dtype=np.uint8),
                 "added tokens: " + ", ".join(s.decode() for s, _ in t.specials)
                 .replace("*/", "* /")),
        _c_array("ebq_tok_special_off", "uint16_t", sp_off, "added token offsets"),
        _c_array("ebq_tok_special_id", "uint16_t", [i for _, i in t.specials],
                 "added token ids"),
    ]
    desc = (
        "const ebq_tokenizer ebq_tokenizer_data = {\n"
        f"    .stage1_u8 = {'ebq_tok_stage1' if u8 else '0'}, "
        f".stage1_u16 = {'0' if u8 else 'ebq_tok_stage1'},\n"
        "    .stage2 = ebq_tok_stage2, .records = ebq_tok_records, .pool = ebq_tok_pool,\n"
        f"    .strings = ebq_tok_strings, .off16 = {'ebq_tok_off' if o16 else '0'}, "
        f".off32 = {'0' if o16 else 'ebq_tok_off'},\n"
        "    .ids = ebq_tok_ids, .first = ebq_tok_first,\n"
        "    .special_bytes = ebq_tok_special_bytes, .special_off = ebq_tok_special_off, "
        ".special_id = ebq_tok_special_id,\n"
        "    .special_first = {" + ", ".join(f"0x{v:08x}u" for v in bitmap) + "},\n"
        f"    .n_special = {len(t.specials)}u, .n_words = {t.n_words}u, "
        f".n_conts = {t.n_conts}u,\n"
        f"    .shift = {t.shift}u, .max_word_chars = {t.max_word_chars}u, "
        f".unk_id = {t.unk_id}u, .cls_id = {cls_id}u, .sep_id = {sep_id}u, "
        f".windows = {int(windows)}u,\n"
        "};\n")
    c = ("\n/* On-device tokenizer tables (exporter/embbert/tokenizer_tables.py), always in "
         "flash. */\n" + "\n".join(p for p in parts if p) + "\n" + desc)
    h = (f"#define EBQ_HAS_TOKENIZER 1\n"
         f"#define EBQ_TOK_WORK_BYTES {t.work_bytes()}u /* ebq_tokenize working memory */\n"
         f"extern const ebq_tokenizer ebq_tokenizer_data;\n"
         f"#define EBQ_TOKENIZER (&ebq_tokenizer_data)\n")
    return c, h


# --------------------------------------------------------------------------- export policy

MODES = ("auto", "on", "off")


def for_export(tokenizer_json: str, mode: str, flash_left: int, ram_left: int,
               cls_id: int, sep_id: int, windows: bool = False) -> tuple[str, str, dict]:
    """(model_data.c part, model_data.h part, report section) for a board's `tokenizer` mode:
    "on" builds it or fails, "auto" builds it when the checkpoint's tokenizer is supported and
    the tables fit the flash left after the model, "off" leaves it out (the device then takes
    token ids only)."""
    off_h = ("#define EBQ_HAS_TOKENIZER 0\n#define EBQ_TOK_WORK_BYTES 0u\n"
             "#define EBQ_TOKENIZER ((const ebq_tokenizer *)0)\n")
    if mode not in MODES:
        raise EmbBertError(f"tokenizer mode {mode!r}: use one of {', '.join(MODES)}")
    if mode == "off":
        return "", off_h, {"enabled": False, "reason": "off for this board or export"}
    if not tokenizer_json:
        if mode == "on":
            raise EmbBertError("on-device tokenizer asked for, but the checkpoint carries none")
        return "", off_h, {"enabled": False, "reason": "checkpoint carries no tokenizer"}
    try:
        t = build(tokenizer_json)
    except EmbBertError as e:
        if mode == "on":
            raise
        return "", off_h, {"enabled": False, "reason": str(e)}
    flash, ram = t.flash_bytes(), t.work_bytes()
    sec = {"enabled": True, "flash_bytes": flash, "ram_bytes": ram,
           "ram_note": "ebq_tokenize working memory; the firmware lends it from the arena",
           "tables": {"unicode": int(t.stage1.nbytes + t.stage2.nbytes + t.records.nbytes
                                     + t.pool.nbytes),
                      "vocabulary": int(len(t.strings) + t.offsets.nbytes + t.ids.nbytes
                                        + t.first.nbytes)},
           "max_input_chars_per_word": t.max_word_chars, "windows": windows, **t.stats}
    if mode == "auto" and (flash > flash_left or ram > ram_left):
        return "", off_h, {"enabled": False, "flash_bytes": flash, "ram_bytes": ram,
                           "reason": f"does not fit: {flash:,} B of tables, {flash_left:,} B "
                                     f"of flash left after the model"}
    c, h = render_c(t, cls_id, sep_id, windows)
    return c, h, sec
