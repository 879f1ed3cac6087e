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

    @property
    def eval_split(self) -> str:
        """Where the results table is measured: test when labelled, else dev."""
        return "test" if "test" in self.splits else "dev"

    @property
    def has_dev(self) -> bool:
        return "dev" in self.splits


TASKS: dict[str, Task] = {t.name: t for t in [
    Task("imdb", "tinynlp", False, "accuracy", ("train", "test")),
    Task("ag_news", "tinynlp", False, "accuracy", ("train", "test")),
    Task("cyberbullying", "tinynlp", False, "accuracy", ("train", "dev", "test")),
    Task("limit", "tinynlp", False, "accuracy", ("train", "test")),
    Task("emotion", "tinynlp", False, "accuracy", ("train", "dev", "test")),
    Task("nlu", "tinynlp", False, "accuracy", ("train", "test")),
    Task("snips", "tinynlp", False, "accuracy", ("train", "dev", "test")),
    Task("sst2", "glue", False, "accuracy", ("train", "dev")),
    Task("cola", "glue", False, "mcc", ("train", "dev")),
    Task("mrpc", "glue", True, "f1", ("train", "dev", "test")),
    Task("rte", "glue", True, "accuracy", ("train", "dev")),
    Task("stsb", "glue", True, "pearson", ("train", "dev", "test"), regression=True),
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


def load_labels(task: Task, root: Path | None = None) -> list[str]:
    if task.regression:
        return []
    path = (root or data_root()) / task.name / "labels.txt"
    if not path.is_file():
        raise EmbBertError(f"{path}: labels file missing")
    labels = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    if not labels:
        raise EmbBertError(f"{path}: no labels")
    return labels


def load_split(task_name: str, split: str, root: Path | None = None) -> list[Example]:
    task = get_task(task_name)
    if split not in task.splits:
        raise EmbBertError(f"task {task.name} has no {split!r} split (it has "
                           f"{', '.join(task.splits)})")
    path = (root or data_root()) / task.name / f"{split}.tsv.gz"
    if not path.is_file():
        raise EmbBertError(f"{path}: data file missing (set EMBBERT_DATA to the data folder)")
    labels = load_labels(task, root)
    index = {name: i for i, name in enumerate(labels)}
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
