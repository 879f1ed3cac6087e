"""Tokenizer: special ids, pair encoding with segments, truncation, stored in checkpoints."""

import pytest
from embbert.errors import EmbBertError
from embbert.model import CLS_ID, MASK_ID, PAD_ID, SEP_ID, UNK_ID
from embbert.tokenizer import assemble, from_json, pad_batch


def test_special_ids(tiny_tokenizer):
    enc = from_json(tiny_tokenizer.read_text())
    ids = {t: enc.tok.token_to_id(t) for t in ["[PAD]", "[UNK]", "[CLS]", "[MASK]", "[SEP]"]}
    assert ids == {"[PAD]": PAD_ID, "[UNK]": UNK_ID, "[CLS]": CLS_ID, "[MASK]": MASK_ID,
                   "[SEP]": SEP_ID} == {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[MASK]": 3,
                                        "[SEP]": 4}


def test_lower_case(tiny_tokenizer):
    enc = from_json(tiny_tokenizer.read_text())
    assert enc.encode("The Movie") == enc.encode("the movie")


def test_pair_encoding_and_segments(tiny_tokenizer):
    enc = from_json(tiny_tokenizer.read_text())
    ids, segs = enc.encode("a good film", "not bad at all")
    a, b = enc.pieces(["a good film", "not bad at all"])
    assert ids == [CLS_ID, *a, SEP_ID, *b, SEP_ID]
    assert segs == [1] * (len(a) + 2) + [2] * (len(b) + 1)
    single_ids, single_segs = enc.encode("a good film")
    assert single_ids == [CLS_ID, *a, SEP_ID] and set(single_segs) == {1}


def test_truncation_only_when_asked():
    a, b = list(range(10, 30)), list(range(40, 45))
    with pytest.raises(EmbBertError, match="longer than max_len"):
        assemble(a, b, max_len=16, truncate=False)
    ids, segs = assemble(a, b, max_len=16)
    assert len(ids) == 16 == len(segs)
    assert ids[-1] == SEP_ID and ids.count(SEP_ID) == 2
    # longest first: the long text loses tokens, the short one keeps all 5
    assert ids[-6:-1] == b


def test_pad_batch():
    ids, segs = pad_batch([([2, 7, 4], [1, 1, 1]), ([2, 4], [1, 1])])
    assert ids.tolist() == [[2, 7, 4], [2, 4, 0]]
    assert segs.tolist() == [[1, 1, 1], [1, 1, 0]]


def test_tokenizer_travels_in_checkpoint(tiny_checkpoint, tiny_tokenizer):
    from embbert.checkpoint import load

    assert load(tiny_checkpoint).tokenizer == tiny_tokenizer.read_text()
