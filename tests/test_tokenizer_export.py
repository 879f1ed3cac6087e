"""The tokenizer tables in the export: report, fit check, board policy, determinism, layout."""

from __future__ import annotations

import json
import subprocess
import unicodedata
from pathlib import Path

import pytest
from embbert.boards import load_board
from embbert.checkpoint import load
from embbert.errors import EmbBertError
from embbert.tokenizer import from_json

from .conftest import run_cli
from .test_tokenizer_c import BUNDLED, REPO, check_encode, check_pieces

pytestmark = pytest.mark.skipif(not BUNDLED.is_file(), reason="bundled model missing")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("exp")
    run_cli("embbert-export", BUNDLED, "--board", "qemu-m4", "--out", out / "on", "--no-check")
    run_cli("embbert-export", BUNDLED, "--board", "qemu-m4", "--out", out / "off",
            "--no-check", "--tokenizer", "off")
    return out


def _report(d: Path) -> dict:
    return json.loads((d / "export_report.json").read_text())


def test_report_counts_the_tables(exported):
    on, off = _report(exported / "on"), _report(exported / "off")
    tok = on["tokenizer"]
    assert tok["enabled"] and off["tokenizer"]["enabled"] is False
    assert tok["flash_bytes"] == tok["tables"]["unicode"] + tok["tables"]["vocabulary"] + \
        (tok["flash_bytes"] - sum(tok["tables"].values()))
    assert on["flash_bytes"] - off["flash_bytes"] == tok["flash_bytes"] > 50_000
    assert tok["ram_bytes"] == 8 * (tok["max_input_chars_per_word"] + 1) + 16
    assert any(r["name"].startswith("tokenizer tables") for r in on["tensors"])
    h = (exported / "on" / "model_data.h").read_text()
    assert "#define EBQ_HAS_TOKENIZER 1" in h and f"EBQ_TOK_WORK_BYTES {tok['ram_bytes']}u" in h
    assert "#define EBQ_HAS_TOKENIZER 0" in (exported / "off" / "model_data.h").read_text()


def test_small_board_leaves_it_out_or_refuses(tmp_path):
    """nucleo-f446re: 'auto' drops the tables (they do not fit beside the model), 'on' makes
    the fit check fail with the tokenizer counted."""
    from embbert.export.exporter import export

    b = load_board("nucleo-f446re")
    res, _ = export(BUNDLED, b, None)
    assert res.report["fits"] and not res.report["tokenizer"]["enabled"]
    assert "does not fit" in res.report["tokenizer"]["reason"]
    res, _ = export(BUNDLED, b, None, tokenizer="on")
    assert res.report["fits"] is False and res.report["tokenizer"]["enabled"]
    assert res.report["flash_bytes"] > b.flash_capacity()
    p = run_cli("embbert-export", BUNDLED, "--board", "nucleo-f446re", "--out", tmp_path / "x",
                "--no-check", "--tokenizer", "on", check=False)
    assert p.returncode != 0 and "does not fit" in p.stderr and not (tmp_path / "x").exists()


def test_checkpoint_without_supported_tokenizer():
    from embbert.export.tokenizer_tables import for_export

    js = json.loads(load(BUNDLED).tokenizer)
    js["pre_tokenizer"] = {"type": "Whitespace"}
    c, h, rep = for_export(json.dumps(js), "auto", 10**9, 10**9, 2, 4)
    assert c == "" and "EBQ_HAS_TOKENIZER 0" in h and "BertPreTokenizer" in rep["reason"]
    with pytest.raises(EmbBertError, match="BertPreTokenizer only"):
        for_export(json.dumps(js), "on", 10**9, 10**9, 2, 4)
    with pytest.raises(EmbBertError, match="carries none"):
        for_export("", "on", 10**9, 10**9, 2, 4)


def test_export_is_deterministic(exported, tmp_path):
    run_cli("embbert-export", BUNDLED, "--board", "qemu-m4", "--out", tmp_path / "again",
            "--no-check")
    for name in ("model_data.c", "model_data.h", "export_report.json"):
        assert (tmp_path / "again" / name).read_bytes() == (exported / "on" / name).read_bytes()


def test_generated_model_data_tokenizes(exported, tmp_path):
    """The tables as they land in model_data.c (with the model) drive the C tokenizer."""
    from embbert.cbuild import build_tokenize

    exe = build_tokenize(exported / "on" / "model_data.c", tmp_path / "tok", sanitize=True)
    enc = from_json(load(BUNDLED).tokenizer)
    texts = [b"a gorgeous, witty, seductive movie", "Ça m'a plu — 映画 👍".encode(), b"\xc3("]
    check_pieces(exe, enc, texts)
    check_encode(exe, enc, [(t, None, 8) for t in texts])


def test_descriptor_layout(tmp_path):
    """DESCRIPTOR_BYTES (the 32-bit size counted in flash) follows the struct's fields."""
    from embbert.export.tokenizer_tables import DESCRIPTOR_BYTES

    src = tmp_path / "s.c"
    src.write_text('#include <stdio.h>\n#include "embbert/tokenize.h"\n'
                   'int main(void) { printf("%zu %zu", sizeof(ebq_tokenizer), '
                   'sizeof(void *)); return 0; }\n')
    subprocess.run(["cc", "-std=c11", f"-I{REPO / 'runtime_c' / 'include'}", "-o",
                    str(tmp_path / "s"), str(src)], check=True)
    size, ptr = map(int, subprocess.run([str(tmp_path / "s")], capture_output=True,
                                        text=True, check=True).stdout.split())
    assert size == DESCRIPTOR_BYTES + 13 * (ptr - 4)


def test_unicodedata_alone_would_disagree():
    """Why the tables come from probing the checkpoint's normalizer: `tokenizers` mixes Unicode
    versions, so BertNormalizer rebuilt on this Python's unicodedata differs on some code
    points (new combining marks it keeps, newer lower-case mappings)."""
    from embbert.export.tokenizer_tables import bert_by_unicodedata
    from tokenizers import normalizers

    norm = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True,
                                      strip_accents=True, lowercase=True)
    probe = [0x41, 0xE9, 0x4E2D, 0x08D4, 0x1ABF, 0x1C89, 0xA7CB]
    differ = [cp for cp in probe if bert_by_unicodedata(chr(cp)) != norm.normalize_str(chr(cp))]
    if unicodedata.unidata_version.startswith("14."):
        assert differ == [0x08D4, 0x1ABF, 0x1C89, 0xA7CB]
    assert 0x41 not in differ and 0xE9 not in differ
