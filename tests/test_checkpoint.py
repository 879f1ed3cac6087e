"""model.pt: round trip, and one-line errors for foreign, truncated or newer files."""

import os
import pickle
from pathlib import Path

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
    """Unpickling this runs code: it would create the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("where", ["top", "state_dict", "config"])
def test_pickled_code_is_refused_and_never_runs(tmp_path, where):
    marker = tmp_path / "pwned"
    obj = {"format": "embbert-q", "version": 1, "config": {}, "state_dict": {}}
    obj[where if where != "top" else "obj"] = Evil(marker)
    p = tmp_path / "evil.pt"
    torch.save(obj, p)
    with pytest.raises(EmbBertError, match="not a readable"):
        checkpoint.load(p)
    if where == "top":  # and through a CLI, as a user would
        proc = run_cli("embbert-predict", p, "hello", check=False)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr
    with pytest.raises(EmbBertError, match="not a readable"):
        checkpoint.load_train_state(p)
    assert not marker.exists(), "the pickle's code ran"
    pickle.loads(pickle.dumps(Evil(marker)))  # the payload is live: plain pickle runs it
    assert marker.exists()


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
