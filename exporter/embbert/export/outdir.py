"""The export directory: the exporter replaces only the files it wrote, old or new, never half.

The directory itself is never replaced, so its mode, owner and any symlink to it stay, and files
the exporter did not write are never touched. A manifest (.embbert-export.json) names the files
of the last export. A new export writes its files under temporary names, then commits by
writing a journal (one atomic rename). Applying the journal renames the files into place,
removes files of the old export that the new one no longer has, and rewrites the manifest.
A crash before the commit leaves the old export (its temporaries are swept next time); a crash
after it is rolled forward by the next `recover` (every export and every reader calls it).
Two exports into one directory take turns on a lock file.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ..errors import EmbBertError

MANIFEST = ".embbert-export.json"
JOURNAL = ".embbert-export.journal"
LOCK = ".embbert-export.lock"
TMP_PREFIX = ".embbert-tmp-"
PROBE_PREFIX = ".embbert-probe-"  # not swept: a probe runs outside the lock
OWN = frozenset({MANIFEST, JOURNAL, LOCK})
# Exports made before the manifest existed wrote exactly these files.
LEGACY_FILES = frozenset({"model_data.h", "model_data.c", "export_report.json"})


def _entries(out_dir: Path) -> set[str]:
    return {p.name for p in out_dir.iterdir() if p.name not in OWN
            and not p.name.startswith((TMP_PREFIX, PROBE_PREFIX))}


def exported_files(out_dir: Path) -> set[str] | None:
    """The files of the export in out_dir (empty if there is none), or None when out_dir holds
    files the exporter did not write and no manifest says otherwise."""
    out_dir = Path(out_dir)
    if not out_dir.exists():
        return set()
    manifest = out_dir / MANIFEST
    if manifest.is_file():
        try:
            files = json.loads(manifest.read_text())["files"]
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise EmbBertError(f"{manifest}: unreadable export manifest ({e}); remove it and "
                               f"the files it listed, then export again") from e
        if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
            raise EmbBertError(f"{manifest}: malformed export manifest; remove it and the "
                               f"files it listed, then export again")
        return set(files)
    entries = _entries(out_dir)
    if entries <= LEGACY_FILES and (not entries or "export_report.json" in entries):
        return entries
    return None


def _not_an_export(out_dir: Path) -> EmbBertError:
    return EmbBertError(
        f"--out {out_dir}: not empty and not a previous export (no {MANIFEST}); the "
        f"export writes only into a new, empty or previously exported directory: "
        f"pass --out {out_dir / 'generated'} or another empty directory")


def check_out_dir(out_dir: Path) -> None:
    """Refuse, before any work, an --out the export could not use or would damage."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise EmbBertError(f"--out {out_dir}: exists and is not a directory")
    if out_dir.is_dir():
        if exported_files(out_dir) is None:
            raise _not_an_export(out_dir)
        _probe_writable(out_dir, f"--out {out_dir}: directory is not writable")
        return
    parent = next((p for p in out_dir.parents if p.exists()), Path("."))
    _probe_writable(parent, f"--out {out_dir}: cannot create it ({parent} is not a writable "
                            f"directory)")


def _probe_writable(directory: Path, message: str) -> None:
    """Create and remove a directory there: access() says yes to root even where the
    filesystem says no (read-only mounts, /proc)."""
    try:
        os.rmdir(tempfile.mkdtemp(prefix=PROBE_PREFIX, dir=directory))
    except OSError as e:
        raise EmbBertError(f"{message}: {e.strerror}") from e


@contextlib.contextmanager
def _locked(out_dir: Path) -> Iterator[None]:
    fd = os.open(out_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _write_file(out_dir: Path, data: bytes) -> str:
    """data under a fresh temporary name in out_dir, on disk, with the mode of a normal file."""
    fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=out_dir)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp).name


def _replace_json(path: Path, obj: dict) -> None:
    tmp = path.parent / _write_file(path.parent,
                                    (json.dumps(obj, indent=1, sort_keys=True) + "\n").encode())
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _sync_dir(out_dir: Path) -> None:
    fd = os.open(out_dir, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _apply(out_dir: Path, journal: dict) -> None:
    """Roll a committed export forward (idempotent: a crash inside may apply it again)."""
    for name, tmp in journal["rename"].items():
        if (out_dir / tmp).exists():
            os.replace(out_dir / tmp, out_dir / name)
    for name in journal["delete"]:
        (out_dir / name).unlink(missing_ok=True)
    _replace_json(out_dir / MANIFEST, {"generator": "embbert-export", "files": journal["files"]})
    _sync_dir(out_dir)
    (out_dir / JOURNAL).unlink()


def _recover_locked(out_dir: Path) -> None:
    journal = out_dir / JOURNAL
    if journal.is_file():
        try:
            j = json.loads(journal.read_text())
            ok = all(isinstance(j.get(k), t) for k, t in
                     (("rename", dict), ("delete", list), ("files", list)))
        except (OSError, ValueError):
            ok = False
        if not ok:
            raise EmbBertError(f"{journal}: damaged export journal; delete {out_dir}'s export "
                               f"files and export again")
        _apply(out_dir, j)
    for p in out_dir.glob(TMP_PREFIX + "*"):  # an export that died before its commit
        p.unlink(missing_ok=True)


def recover(out_dir: Path) -> None:
    """Finish or sweep an interrupted export, so readers see a whole one."""
    out_dir = Path(out_dir)
    if (out_dir / JOURNAL).exists() or any(out_dir.glob(TMP_PREFIX + "*")):
        with _locked(out_dir):
            _recover_locked(out_dir)


def write_export(out_dir: Path, files: dict[str, bytes]) -> None:
    """Replace the previous export in out_dir by `files`, touching nothing else."""
    out_dir = Path(out_dir)
    check_out_dir(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with _locked(out_dir):
        _recover_locked(out_dir)
        old = exported_files(out_dir)
        if old is None:  # someone put files there since check_out_dir
            raise _not_an_export(out_dir)
        clash = sorted(n for n in files if n not in old and (out_dir / n).exists())
        if clash:
            raise EmbBertError(f"--out {out_dir}: {clash[0]} exists and was not written by the "
                               f"exporter; move it away or choose another --out")
        tmps: dict[str, str] = {}
        try:
            for name in sorted(files):
                tmps[name] = _write_file(out_dir, files[name])
            journal = {"rename": tmps, "delete": sorted(old - set(files)),
                       "files": sorted(files)}
            _replace_json(out_dir / JOURNAL, journal)  # the commit point
        except BaseException:
            for tmp in tmps.values():
                (out_dir / tmp).unlink(missing_ok=True)
            raise
        _apply(out_dir, journal)
