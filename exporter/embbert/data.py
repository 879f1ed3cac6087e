"""The tasks in ../shared/data (TinyNLP and GLUE): loading, label maps and which split is which.

Files are gzip TSV with a header, no quoting (see data/SOURCES.md). Nothing is downloaded.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import EmbBertError
from .paths import REPO as REPO_ROOT


@dataclass(frozen=True)
class Task:
    name: str
    group: str            # "tinynlp" or "glue"
    pair: bool            # two texts per example
    metric: str           # primary metric name (see metrics.py)
    splits: tuple[str, ...]
    regression: bool = False
    source: str = ""         # data folder when it is another task's (default: the name)
    scenario: bool = False   # label = the source label's prefix before the first "_"
    also: tuple[str, ...] = ()   # metrics reported beside the primary one

    @property
    def folder(self) -> str:
        return self.source or self.name

    @property
    def metrics(self) -> tuple[str, ...]:
        """The primary metric (selection, paper comparison) first, then the others reported."""
        return (self.metric, *self.also)

    @property
    def eval_split(self) -> str:
        """Where the results table is measured: test when labelled, else dev."""
        return "test" if "test" in self.splits else "dev"

    @property
    def has_dev(self) -> bool:
        return "dev" in self.splits

    @property
    def select_split(self) -> str:
        """Where the epoch (or a baseline's C) is chosen: dev only when dev is not the reported
        split, else a fixed held-out slice of train (see selection_split)."""
        return "dev" if self.has_dev and self.eval_split != "dev" else "heldout"


TASKS: dict[str, Task] = {t.name: t for t in [
    Task("imdb", "tinynlp", False, "accuracy", ("train", "test")),
    Task("ag_news", "tinynlp", False, "accuracy", ("train", "test")),
    Task("cyberbullying", "tinynlp", False, "accuracy", ("train", "dev", "test")),
    Task("limit", "tinynlp", False, "accuracy", ("train", "test")),
    Task("emotion", "tinynlp", False, "accuracy", ("train", "dev", "test")),
    Task("nlu_scenario", "tinynlp", False, "accuracy", ("train", "test"), source="nlu",
         scenario=True),
    Task("nlu", "tinynlp", False, "accuracy", ("train", "test")),
    Task("snips", "tinynlp", False, "accuracy", ("train", "dev", "test")),
    Task("sst2", "glue", False, "accuracy", ("train", "dev")),
    Task("cola", "glue", False, "mcc", ("train", "dev"), also=("accuracy",)),
    Task("mrpc", "glue", True, "accuracy", ("train", "dev", "test"), also=("f1",)),
    Task("rte", "glue", True, "accuracy", ("train", "dev")),
    Task("stsb", "glue", True, "pearson", ("train", "dev", "test"), regression=True,
         also=("spearman",)),
    Task("wnli", "glue", True, "accuracy", ("train", "dev")),
]}


@dataclass
class Example:
    text_a: str
    text_b: str | None
    label: int | float     # class index, or the score for regression


def data_root() -> Path:
    """$EMBBERT_DATA, else ../shared/data beside the repository (as in CI)."""
    env = os.environ.get("EMBBERT_DATA")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise EmbBertError(f"unknown task {name!r}; known: {', '.join(TASKS)}")
    return TASKS[name]


def scenario_of(label: str) -> str:
    """NLU intents are scenario_action (alarm_set, iot_hue_lightoff): the scenario is the part
    before the first underscore, as the paper's code classifies it."""
    return label.split("_", 1)[0]


def _source_labels(task: Task, root: Path | None) -> list[str]:
    path = (root or data_root()) / task.folder / "labels.txt"
    if not path.is_file():
        raise EmbBertError(f"{path}: labels file missing")
    labels = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    if not labels:
        raise EmbBertError(f"{path}: no labels")
    return labels


def load_labels(task: Task, root: Path | None = None) -> list[str]:
    if task.regression:
        return []
    labels = _source_labels(task, root)
    return list(dict.fromkeys(map(scenario_of, labels))) if task.scenario else labels


def load_split(task_name: str, split: str, root: Path | None = None) -> list[Example]:
    task = get_task(task_name)
    if split not in task.splits:
        raise EmbBertError(f"task {task.name} has no {split!r} split (it has "
                           f"{', '.join(task.splits)})")
    path = (root or data_root()) / task.folder / f"{split}.tsv.gz"
    if not path.is_file():
        raise EmbBertError(f"{path}: data file missing (set EMBBERT_DATA to the data folder)")
    labels = load_labels(task, root)
    index = {name: i for i, name in enumerate(labels)}
    if task.scenario:  # every source label maps to its scenario's index
        index = {raw: index[scenario_of(raw)] for raw in _source_labels(task, root)}
    ncol = 3 if task.pair else 2
    out: list[Example] = []
    try:
        with gzip.open(path, "rb") as f:
            text = io.TextIOWrapper(f, encoding="utf-8", newline="")
            rows = csv.reader(text, delimiter="\t", quoting=csv.QUOTE_NONE)
            header = next(rows, None)
            if header is None or len(header) != ncol or header[0] != "label":
                raise EmbBertError(f"{path}: malformed header {header!r}")
            for lineno, row in enumerate(rows, start=2):
                if len(row) != ncol:
                    raise EmbBertError(f"{path}:{lineno}: expected {ncol} columns, "
                                       f"got {len(row)}")
                out.append(Example(row[1], row[2] if task.pair else None,
                                   _label(row[0], task, index, path, lineno)))
    except csv.Error as e:  # e.g. a field over csv's 128 KiB limit
        raise EmbBertError(f"{path}:{rows.line_num}: {e}") from e
    except (OSError, EOFError, UnicodeDecodeError, gzip.BadGzipFile) as e:
        raise EmbBertError(f"{path}: unreadable ({e})") from e
    if not out:
        raise EmbBertError(f"{path}: no rows")
    return out


def _label(raw: str, task: Task, index: dict[str, int], path: Path, lineno: int) -> int | float:
    if task.regression:
        try:
            return float(raw)
        except ValueError:
            raise EmbBertError(f"{path}:{lineno}: score {raw!r} is not a number") from None
    if raw not in index:
        raise EmbBertError(f"{path}:{lineno}: label {raw!r} not in labels.txt")
    return index[raw]


HELDOUT_FRAC = 0.1   # slice of train used for selection when dev is missing or is reported
HELDOUT_SEED = 1234


def selection_split(task_name: str, root: Path | None = None
                    ) -> tuple[list[Example], list[Example]]:
    """(train rows to fit on, rows to choose the epoch or hyperparameter on), by
    Task.select_split. The held-out slice is a fixed permutation of train, so every model and
    baseline of a task is chosen on the same rows and never sees them while fitting."""
    task = get_task(task_name)
    train = load_split(task.name, "train", root)
    if task.select_split == "dev":
        return train, load_split(task.name, "dev", root)
    perm = np.random.default_rng(HELDOUT_SEED).permutation(len(train))
    n_hold = max(1, int(len(train) * HELDOUT_FRAC))
    return [train[i] for i in sorted(perm[n_hold:])], [train[i] for i in perm[:n_hold]]


def spaced(rows: list[Example], n: int) -> list[Example]:
    """About n evenly spaced rows (for --limit): some files are sorted by label."""
    return rows[::max(1, len(rows) // n)][:n]


def pretrain_files(root: Path | None = None) -> list[Path]:
    base = (root or data_root()) / "pretrain"
    files = [base / "imdb_unsup.txt.gz", base / "nltk.txt.gz"]
    for f in files:
        if not f.is_file():
            raise EmbBertError(f"{f}: pretraining corpus missing")
    return files


# nltk.txt.gz concatenates corpora; consecutive lines inside one corpus are running text
# (line ranges from data/SOURCES.md), so each range is one document for next-sentence pairs.
NLTK_RANGES = [("brown", 1, 57340), ("abc", 57341, 88058), ("state_union", 88059, 94700),
               ("inaugural", 94701, 96273), ("webtext", 96274, 122100),
               ("movie_reviews", 122101, 186820), ("gutenberg", 186821, 204096),
               ("reuters", 204097, 275316)]


def read_lines(path: Path) -> list[str]:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            return [ln.rstrip("\n") for ln in f]
    except (OSError, EOFError, UnicodeDecodeError) as e:
        raise EmbBertError(f"{path}: unreadable ({e})") from e
