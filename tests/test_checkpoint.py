"""model.pt: round trip, and one-line errors for foreign, truncated or newer files."""

import pytest
import torch
from embbert import checkpoint
from embbert.errors import EmbBertError

from .conftest import run_cli


def test_round_trip(tiny_checkpoint):
    ck = checkpoint.load(tiny_checkpoint)
    assert ck.task == "emotion" and ck.labels == ["a", "b", "c"]
    m = ck.model()
    assert m.cfg.num_labels == 3


def _write(tmp_path, obj, name="x.pt"):
    p = tmp_path / name
    torch.save(obj, p)
    return p


def test_foreign_dict(tmp_path):
    with pytest.raises(EmbBertError, match="foreign file"):
        checkpoint.load(_write(tmp_path, {"format": "gpt2", "version": 1}))


def test_plain_state_dict_asks_for_config(tmp_path, tiny_checkpoint):
    sd = checkpoint.load(tiny_checkpoint).state_dict
    with pytest.raises(EmbBertError, match="--config"):
        checkpoint.load(_write(tmp_path, sd))


def test_newer_version(tmp_path, tiny_checkpoint):
    obj = torch.load(tiny_checkpoint, weights_only=True)
    obj["version"] = checkpoint.VERSION + 1
    with pytest.raises(EmbBertError, match="newer"):
        checkpoint.load(_write(tmp_path, obj))


def test_truncated(tmp_path, tiny_checkpoint):
    data = tiny_checkpoint.read_bytes()
    p = tmp_path / "trunc.pt"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(EmbBertError, match="not a readable"):
        checkpoint.load(p)


class Evil:
    """Any non-tensor class: weights_only=True must refuse to unpickle it."""


def test_pickled_object_is_refused(tmp_path):
    p = tmp_path / "evil.pt"
    torch.save({"format": "embbert-q", "obj": Evil()}, p)
    with pytest.raises(EmbBertError, match="not a readable"):
        checkpoint.load(p)


def test_shape_mismatch(tmp_path, tiny_checkpoint):
    obj = torch.load(tiny_checkpoint, weights_only=True)
    obj["state_dict"]["classifier.bias"] = torch.zeros(7)
    with pytest.raises(EmbBertError, match="classifier.bias"):
        checkpoint.load(_write(tmp_path, obj))


def test_cli_reports_one_line_error(tmp_path):
    p = tmp_path / "junk.pt"
    p.write_bytes(b"definitely not a checkpoint")
    proc = run_cli("embbert-predict", p, "hello", check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0 and proc.stderr.startswith("error:")
    assert "Traceback" not in proc.stderr
