"""Task loaders for every data set in ../shared/data, metrics, and clear errors on bad files."""

import gzip

import numpy as np
import pytest
from embbert.data import TASKS, load_labels, load_split
from embbert.errors import EmbBertError
from embbert.train import metrics

EXPECTED_ROWS = {  # from data/SOURCES.md
    ("sst2", "dev"): 872, ("cola", "dev"): 1043, ("mrpc", "test"): 1725, ("rte", "dev"): 277,
    ("stsb", "dev"): 1500, ("wnli", "dev"): 71, ("imdb", "test"): 25000,
    ("ag_news", "train"): 6000, ("emotion", "test"): 2000, ("snips", "dev"): 700,
    ("nlu", "test"): 1076, ("limit", "test"): 1000, ("cyberbullying", "dev"): 4769,
    ("nlu_scenario", "test"): 1076,
}


@pytest.mark.parametrize("task,split", sorted(EXPECTED_ROWS))
def test_row_counts(task, split):
    rows = load_split(task, split)
    assert len(rows) == EXPECTED_ROWS[(task, split)]
    assert (rows[0].text_b is not None) == TASKS[task].pair


@pytest.mark.parametrize("task", sorted(TASKS))
def test_every_split_loads_with_valid_labels(task):
    t = TASKS[task]
    labels = load_labels(t)
    for split in t.splits:
        rows = load_split(task, split)
        if t.regression:
            assert all(0.0 <= r.label <= 5.0 for r in rows)
        else:
            assert {r.label for r in rows} <= set(range(len(labels)))


def test_unknown_task_and_split():
    with pytest.raises(EmbBertError, match="unknown task"):
        load_split("squad", "train")
    with pytest.raises(EmbBertError, match="no 'test' split"):
        load_split("sst2", "test")


def _fake_root(tmp_path, body: bytes, labels="negative\npositive\n"):
    d = tmp_path / "sst2"
    d.mkdir()
    (d / "labels.txt").write_text(labels)
    with gzip.open(d / "dev.tsv.gz", "wb") as f:
        f.write(body)
    return tmp_path


def test_missing_file_names_the_file(tmp_path):
    (tmp_path / "sst2").mkdir()
    (tmp_path / "sst2" / "labels.txt").write_text("negative\npositive\n")
    with pytest.raises(EmbBertError, match=r"sst2/dev\.tsv\.gz: data file missing"):
        load_split("sst2", "dev", root=tmp_path)


@pytest.mark.parametrize("body,match", [
    (b"label\ttext\npositive\tfine\nnegative\n", r"dev\.tsv\.gz:3: expected 2 columns"),
    (b"label\ttext\nhappy\tfine\n", r"dev\.tsv\.gz:2: label 'happy' not in labels.txt"),
    (b"wrong\theader\n", "malformed header"),
])
def test_malformed_file_names_the_file(tmp_path, body, match):
    with pytest.raises(EmbBertError, match=match):
        load_split("sst2", "dev", root=_fake_root(tmp_path, body))


def test_corrupt_gzip(tmp_path):
    d = tmp_path / "sst2"
    d.mkdir()
    (d / "labels.txt").write_text("negative\npositive\n")
    (d / "dev.tsv.gz").write_bytes(b"\x1f\x8b garbage")
    with pytest.raises(EmbBertError, match=r"dev\.tsv\.gz: unreadable"):
        load_split("sst2", "dev", root=tmp_path)


def test_quotes_are_not_special():
    rows = load_split("mrpc", "train")
    assert any('"' in r.text_a for r in rows)


def test_metrics_known_values():
    gold = np.array([1, 1, 0, 0, 1, 0])
    pred = np.array([1, 0, 0, 1, 1, 0])
    assert metrics.accuracy(pred, gold) == pytest.approx(4 / 6)
    assert metrics.f1_binary(pred, gold) == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))
    assert metrics.mcc(pred, gold) == pytest.approx((2 * 2 - 1 * 1) / 9)
    assert metrics.mcc(np.ones(6, int), gold) == 0.0
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    assert metrics.pearson(x, 2 * x + 1) == pytest.approx(1.0)
    assert metrics.spearman(x, x ** 3) == pytest.approx(1.0)
    assert metrics.spearman(x, -x) == pytest.approx(-1.0)
    # ties are averaged: ranks of [1, 1, 2] are [1.5, 1.5, 3]
    assert metrics.spearman(np.array([1, 1, 2]), np.array([1, 2, 3])) == pytest.approx(
        metrics.pearson(np.array([1.5, 1.5, 3]), np.array([1, 2, 3])))


def test_status_header_is_generated_from_the_table():
    from embbert.device.status import HEADER_PATH, render_header

    assert HEADER_PATH.read_text() == render_header(), "run: python -m embbert.device.status"
