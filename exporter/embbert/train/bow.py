"""The bag-of-words baseline: TF-IDF over word 1-2 grams + logistic regression (ridge for STS-B),
its inverse regularization chosen on the task's selection split, and the bytes it would take on a
device. Also the teacher for distillation (out-of-fold probabilities on the training rows)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import KFold, StratifiedKFold

from ..data import Example, get_task, load_labels
from .metrics import task_metrics

C_GRID = (0.5, 2.0, 8.0, 32.0, 128.0)       # logistic regression: larger C, less regularization
ALPHA_GRID = (0.3, 1.0, 3.0, 10.0)      # ridge (STS-B)
MISSING_CLASS = -30.0    # log-probability of a class absent from the rows fitted on


@dataclass
class BowModel:
    vec: TfidfVectorizer
    clf: LogisticRegression | Ridge
    pair: bool
    strength: float    # the chosen C (classification) or alpha (regression)
    n_classes: int     # the task's, even when a class is missing from the rows fitted on

    def features(self, rows: Sequence[Example]) -> sp.csr_matrix:
        return _features(self.vec, rows, self.pair)

    def logits(self, rows: Sequence[Example]) -> np.ndarray:
        """[N, C] log-probabilities (classification) or [N, 1] scores (regression)."""
        x = self.features(rows)
        if isinstance(self.clf, Ridge):
            return self.clf.predict(x).reshape(-1, 1)
        out = np.full((x.shape[0], self.n_classes), MISSING_CLASS, dtype=np.float32)
        out[:, np.asarray(self.clf.classes_, dtype=int)] = self.clf.predict_log_proba(x)
        return out

    def device_bytes(self) -> dict[str, int]:
        """What the model needs in flash: the vocabulary as sorted NUL-terminated UTF-8 strings
        with a 4-byte offset each (binary search), one idf per term and the weights, either all
        fp32 or idf and weights int8 with an fp32 scale per weight row."""
        terms = self.vec.get_feature_names_out()
        vocab = sum(len(t.encode()) + 1 for t in terms) + 4 * len(terms)
        coef = np.atleast_2d(self.clf.coef_)
        bias = 4 * np.size(self.clf.intercept_)
        return {"vocabulary": vocab, "terms": len(terms), "weights": int(coef.size),
                "fp32": vocab + 4 * len(terms) + 4 * coef.size + bias,
                "int8": vocab + len(terms) + 4 + coef.size + 4 * coef.shape[0] + bias}


def _vectorizer() -> TfidfVectorizer:
    # every word (the default pattern drops 1-letter words), terms seen at least twice
    return TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, lowercase=True,
                           token_pattern=r"(?u)\b\w+\b", dtype=np.float32)


def _features(vec: TfidfVectorizer, rows: Sequence[Example], pair: bool) -> sp.csr_matrix:
    a = vec.transform([r.text_a for r in rows])
    if not pair:
        return a
    # both sides, their overlap and its sum (rows are l2-normalized: the sum is the cosine)
    b = vec.transform([r.text_b or "" for r in rows])
    ab = a.multiply(b).tocsr()
    return sp.hstack([a, b, ab, sp.csr_matrix(ab.sum(axis=1))], format="csr")


def _fit(task_name: str, rows: Sequence[Example], strength: float,
         vec: TfidfVectorizer | None = None) -> BowModel:
    task = get_task(task_name)
    if vec is None:
        vec = _vectorizer()
        vec.fit([r.text_a for r in rows] + [r.text_b for r in rows if r.text_b is not None])
    x = _features(vec, rows, task.pair)
    y = np.array([r.label for r in rows])
    clf: LogisticRegression | Ridge
    if task.regression:
        clf = Ridge(alpha=strength)
    else:
        # liblinear is much faster on sparse binary problems; lbfgs is the multinomial one
        binary = len(set(y.tolist())) <= 2
        clf = LogisticRegression(C=strength, max_iter=3000, tol=1e-4, random_state=0,
                                 solver="liblinear" if binary else "lbfgs")
    clf.fit(x, y)
    return BowModel(vec, clf, task.pair, strength,
                    1 if task.regression else len(load_labels(task)))


def score(task_name: str, model: BowModel, rows: Sequence[Example]) -> dict[str, float]:
    gold = np.array([r.label for r in rows])
    return task_metrics(get_task(task_name).metrics, model.logits(rows), gold)


def fit_selected(task_name: str, train: Sequence[Example], select: Sequence[Example]
                 ) -> tuple[BowModel, list[dict[str, float]]]:
    """Fit one model per grid value on `train`; keep the best on `select` (the task's primary
    metric, ties to the stronger regularization). Returns it and every grid point's scores."""
    task = get_task(task_name)
    grid = ALPHA_GRID[::-1] if task.regression else C_GRID
    vec = _vectorizer()
    vec.fit([r.text_a for r in train] + [r.text_b for r in train if r.text_b is not None])
    best: BowModel | None = None
    best_score, history = -np.inf, []
    for strength in grid:
        model = _fit(task_name, train, strength, vec)
        m = score(task_name, model, select)
        history.append({"strength": strength, **m})
        if m[task.metric] > best_score:
            best, best_score = model, m[task.metric]
    assert best is not None
    return best, history


def out_of_fold_logits(task_name: str, train: Sequence[Example], strength: float,
                       folds: int = 5, seed: int = 0) -> np.ndarray:
    """Log-probabilities for every training row from a model that did not see it (k-fold), so
    soft targets are not the memorized labels."""
    task = get_task(task_name)
    y = np.array([r.label for r in train])
    splitter = (KFold(folds, shuffle=True, random_state=seed) if task.regression
                else StratifiedKFold(folds, shuffle=True, random_state=seed))
    out = np.zeros((len(train), 1 if task.regression else len(load_labels(task))),
                   dtype=np.float32)
    try:
        parts = list(splitter.split(np.zeros(len(y)), y))
    except ValueError:  # a class rarer than the folds: plain k-fold
        parts = list(KFold(folds, shuffle=True, random_state=seed).split(np.zeros(len(y))))
    for fit_idx, pred_idx in parts:
        model = _fit(task_name, [train[i] for i in fit_idx], strength)
        out[pred_idx] = model.logits([train[i] for i in pred_idx])
    return out
