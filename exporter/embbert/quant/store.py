"""The quantized model as a file: `quantized_model.npz`, written by embbert-export next to
export_report.json, so every later stage reads what the export built instead of quantizing again.

A plain (pickle-free) npz, written byte-identically for the same model (stored entries, fixed
dates, fixed order). Entries:
  store_version            int32 scalar, STORE_VERSION
  meta                     uint8 UTF-8 JSON: config, the quantizer's meta (quant_version,
                           threshold, max_outliers, sha256 of the checkpoint, calibration, and,
                           when the checkpoint had them, task, labels and tokenizer)
  tok_q tok_s pos_q pos_s seg x_outliers rms_eps
  <t>.q <t>.scale <t>.outlier_idx <t>.outlier_w [<t>.bias] <t>.block   for each weight tensor t:
                           tok_proj, pos_proj, classifier, layers.<i>.{q,out,dw,pw}
  layers.<i>.{h_scale,h_inv,h_outliers,u_outliers}
docs/FORMAT.md has the same list.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from ..errors import EmbBertError
from ..model import EmbBertConfig
from .quantize import QLayer, QTensor, QuantModel

FILE_NAME = "quantized_model.npz"
STORE_VERSION = 1
_DATE = (1980, 1, 1, 0, 0, 0)          # the zip epoch: no wall clock in the file
_TENSOR = ("q", "scale", "outlier_idx", "outlier_w")
_LAYER_TENSORS = ("q", "out", "dw", "pw")


def _arrays(mq: QuantModel) -> dict[str, np.ndarray]:
    meta = {"config": mq.config.to_dict(), **mq.meta}
    out: dict[str, np.ndarray] = {
        "store_version": np.array(STORE_VERSION, np.int32),
        "meta": np.frombuffer(json.dumps(meta, sort_keys=True).encode(), np.uint8),
        "tok_q": mq.tok_q, "tok_s": mq.tok_s, "pos_q": mq.pos_q, "pos_s": mq.pos_s,
        "seg": mq.seg, "x_outliers": mq.x_outliers, "rms_eps": np.float32(mq.rms_eps)}

    def tensor(name: str, t: QTensor) -> None:
        for f in _TENSOR:
            out[f"{name}.{f}"] = getattr(t, f)
        out[f"{name}.block"] = np.array(t.block, np.int32)
        if t.bias is not None:
            out[f"{name}.bias"] = t.bias

    tensor("tok_proj", mq.tok_proj)
    tensor("pos_proj", mq.pos_proj)
    tensor("classifier", mq.classifier)
    for i, L in enumerate(mq.layers):
        for f in _LAYER_TENSORS:
            tensor(f"layers.{i}.{f}", getattr(L, f))
        for f in ("h_scale", "h_inv"):
            out[f"layers.{i}.{f}"] = np.float32(getattr(L, f))
        out[f"layers.{i}.h_outliers"] = L.h_outliers
        out[f"layers.{i}.u_outliers"] = L.u_outliers
    return out


def to_bytes(mq: QuantModel) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, arr in _arrays(mq).items():
            info = zipfile.ZipInfo(name + ".npy", date_time=_DATE)
            info.external_attr = 0o644 << 16
            npy = io.BytesIO()
            np.lib.format.write_array(npy, np.asarray(arr), allow_pickle=False)
            z.writestr(info, npy.getvalue())
    return buf.getvalue()


def load(path: str | os.PathLike) -> QuantModel:
    """The QuantModel of a quantized_model.npz; one clear error for a foreign or newer file."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            a = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise EmbBertError(f"{path}: not a readable quantized model ({e})") from e
    version = int(a.get("store_version", -1))
    if version != STORE_VERSION:
        raise EmbBertError(f"{path}: quantized model file version {version}, this tool reads "
                           f"{STORE_VERSION} (export again)")
    try:
        meta = json.loads(a["meta"].tobytes().decode())
        config = EmbBertConfig.from_dict(meta.pop("config"))

        def tensor(name: str) -> QTensor:
            return QTensor(*(a[f"{name}.{f}"] for f in _TENSOR[:2]), int(a[f"{name}.block"]),
                           *(a[f"{name}.{f}"] for f in _TENSOR[2:]), a.get(f"{name}.bias"))

        layers = [QLayer(*(tensor(f"layers.{i}.{f}") for f in _LAYER_TENSORS),
                         h_scale=np.float32(a[f"layers.{i}.h_scale"]),
                         h_inv=np.float32(a[f"layers.{i}.h_inv"]),
                         h_outliers=a[f"layers.{i}.h_outliers"],
                         u_outliers=a[f"layers.{i}.u_outliers"])
                  for i in range(config.n_layers)]
        return QuantModel(config=config, tok_q=a["tok_q"], tok_s=a["tok_s"], pos_q=a["pos_q"],
                          pos_s=a["pos_s"], tok_proj=tensor("tok_proj"),
                          pos_proj=tensor("pos_proj"), seg=a["seg"], layers=layers,
                          classifier=tensor("classifier"), x_outliers=a["x_outliers"],
                          rms_eps=np.float32(a["rms_eps"]), meta=meta)
    except (KeyError, ValueError, TypeError) as e:
        raise EmbBertError(f"{path}: incomplete quantized model file ({e})") from e


def load_from(export_dir: str | os.PathLike) -> QuantModel | None:
    """The export directory's quantized model, or None when it has none."""
    path = Path(export_dir) / FILE_NAME
    return load(path) if path.is_file() else None
