"""The model.pt file (docs/MODEL.md): a plain dict, always loaded with weights_only=True."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .errors import EmbBertError
from .model import EmbBert, EmbBertConfig

FORMAT = "embbert-q"
VERSION = 1


@dataclass
class Checkpoint:
    config: EmbBertConfig
    state_dict: dict[str, torch.Tensor]
    tokenizer: str = ""              # tokenizers JSON
    labels: list[str] = field(default_factory=list)
    task: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)   # e.g. how it was trained

    def model(self) -> EmbBert:
        m = EmbBert(self.config)
        missing, unexpected = m.load_state_dict(self.state_dict, strict=False)
        if missing or unexpected:
            raise EmbBertError(f"state_dict does not match the config: missing {missing[:3]}, "
                               f"unexpected {unexpected[:3]}")
        m.eval()
        return m

    def to_dict(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "config": self.config.to_dict(),
                "state_dict": {k: v.detach().cpu().contiguous() for k, v in
                               self.state_dict.items()},
                "tokenizer": self.tokenizer, "labels": list(self.labels), "task": self.task,
                "metrics": dict(self.metrics), "extra": dict(self.extra)}


def file_sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save(ckpt: Checkpoint, path: str | os.PathLike) -> None:
    """Write atomically: a crash never leaves a half-written model.pt behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    torch.save(ckpt.to_dict(), buf)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(buf.getvalue())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _torch_load(path: Path, what: str) -> object:
    if not path.is_file():
        raise EmbBertError(f"{path}: no such {what} file")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated, not a torch file, or pickles arbitrary objects
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise EmbBertError(f"{path}: not a readable {what} ({reason[:160]})") from e


def load(path: str | os.PathLike,
         config: str | os.PathLike | EmbBertConfig | None = None) -> Checkpoint:
    """A model.pt; with `config` (a config JSON path or an EmbBertConfig) also a plain
    state_dict (torch.save of model.state_dict())."""
    path = Path(path)
    if config is not None and not isinstance(config, EmbBertConfig):
        try:
            config = EmbBertConfig.from_dict(json.loads(Path(config).read_text()))
        except (OSError, ValueError, TypeError) as e:
            raise EmbBertError(f"{config}: not a usable config JSON ({e})") from e
    obj = _torch_load(path, "checkpoint" if config is not None else "EmbBERT-Q checkpoint")
    if config is None or (isinstance(obj, dict) and obj.get("format") is not None):
        return from_object(obj, str(path))
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise EmbBertError(f"{path}: not a state_dict of tensors")
    return from_state_dict(obj, config, str(path))


TRAIN_STATE_KEYS = {"config": dict, "tokenizer": str, "net": dict, "optimizer": dict, "step": int}


def load_train_state(path: str | os.PathLike) -> dict:
    """A training run's state.pt (weights + optimizer + step), checked before it is used."""
    path = Path(path)
    obj = _torch_load(path, "training state")
    if not isinstance(obj, dict):
        raise EmbBertError(f"{path}: foreign file (expected a training state dict, got "
                           f"{type(obj).__name__}); start a new run without --resume")
    for key, kind in TRAIN_STATE_KEYS.items():
        if not isinstance(obj.get(key), kind) or isinstance(obj.get(key), bool):
            raise EmbBertError(f"{path}: not a training state ({key!r} missing or not a "
                               f"{kind.__name__}); start a new run without --resume")
    if obj["step"] < 0:
        raise EmbBertError(f"{path}: training state at a negative step ({obj['step']})")
    try:
        EmbBertConfig.from_dict(obj["config"])
    except (KeyError, TypeError, ValueError) as e:
        raise EmbBertError(f"{path}: bad config in training state ({e})") from e
    return obj


def from_object(obj: object, name: str = "checkpoint") -> Checkpoint:
    if not isinstance(obj, dict):
        raise EmbBertError(f"{name}: foreign file (expected a dict, got {type(obj).__name__})")
    if obj.get("format") != FORMAT:
        if obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
            raise EmbBertError(f"{name}: a plain state_dict; pass its config with --config")
        raise EmbBertError(f"{name}: foreign file (format {obj.get('format')!r}, "
                           f"expected {FORMAT!r})")
    version = obj.get("version")
    if type(version) is not int or version < 1:
        raise EmbBertError(f"{name}: checkpoint version {version!r} is not valid (expected an "
                           f"integer 1..{VERSION})")
    if version > VERSION:
        raise EmbBertError(f"{name}: checkpoint version {version!r} is newer than this tool "
                           f"understands ({VERSION}); upgrade embbert")
    try:
        config = EmbBertConfig.from_dict(obj["config"])
    except (KeyError, TypeError, ValueError) as e:
        raise EmbBertError(f"{name}: bad config ({e})") from e
    sd = obj.get("state_dict")
    if not isinstance(sd, dict) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise EmbBertError(f"{name}: state_dict missing or not a dict of tensors")
    check_state_dict(sd, config, name)
    meta = _metadata(obj, config, name)
    return Checkpoint(config=config, state_dict=sd, **meta)


def _field(obj: dict, key: str, kind: type, name: str, default: object) -> object:
    v = obj.get(key)
    if v is None:
        return default
    if not isinstance(v, kind):
        raise EmbBertError(f"{name}: field {key!r} must be a {kind.__name__}, got "
                           f"{type(v).__name__}")
    return v


def _metadata(obj: dict, config: EmbBertConfig, name: str) -> dict:
    """tokenizer, labels, task, metrics and extra, each of the type the tools rely on."""
    labels = _field(obj, "labels", list, name, [])
    if not all(isinstance(x, str) for x in labels):
        raise EmbBertError(f"{name}: labels must be a list of strings")
    if labels and len(labels) != config.num_labels:
        raise EmbBertError(f"{name}: {len(labels)} labels for a model with {config.num_labels} "
                           "outputs")
    metrics = _field(obj, "metrics", dict, name, {})
    for k, v in metrics.items():
        if not isinstance(k, str) or type(v) not in (int, float):
            raise EmbBertError(f"{name}: metrics must map names to numbers ({k!r}: {v!r})")
    return {"tokenizer": _field(obj, "tokenizer", str, name, ""), "labels": list(labels),
            "task": _field(obj, "task", str, name, ""), "metrics": dict(metrics),
            "extra": dict(_field(obj, "extra", dict, name, {}))}


def from_state_dict(sd: dict, config: EmbBertConfig, name: str = "state_dict") -> Checkpoint:
    check_state_dict(sd, config, name)
    return Checkpoint(config=config, state_dict=sd)


def expected_shapes(config: EmbBertConfig) -> dict[str, tuple[int, ...]]:
    """Parameter shapes of a config, computed on the meta device: nothing is allocated, so a
    config with a huge vocab costs nothing to check."""
    with torch.device("meta"):
        return {k: tuple(v.shape) for k, v in EmbBert(config).state_dict().items()}


def check_state_dict(sd: dict, config: EmbBertConfig, name: str) -> None:
    expected = expected_shapes(config)
    missing = sorted(set(expected) - set(sd))
    unexpected = sorted(set(sd) - set(expected))
    if missing or unexpected:
        raise EmbBertError(f"{name}: parameters do not match the config (missing: "
                           f"{', '.join(missing[:3]) or '-'}; unexpected: "
                           f"{', '.join(unexpected[:3]) or '-'})")
    for k, shape in expected.items():
        if tuple(sd[k].shape) != shape:
            raise EmbBertError(f"{name}: {k} has shape {tuple(sd[k].shape)}, config needs {shape}")
        if not sd[k].is_floating_point():  # integer, bool or complex weights
            raise EmbBertError(f"{name}: {k} holds {sd[k].dtype} values, expected floating point")
        if not torch.isfinite(sd[k]).all():
            raise EmbBertError(f"{name}: {k} holds NaN or Inf")
