"""The export directory never loses a user's file and always holds the old or the new export."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading

import pytest
from embbert.errors import EmbBertError
from embbert.export import outdir as exportdir
from embbert.export.outdir import MANIFEST, recover, write_export

from .conftest import REPO, run_cli

OLD = {"model_data.h": b"old h\n", "model_data.c": b"old c\n", "export_report.json": b"{}\n",
       "gone.bin": b"only in the old export"}
NEW = {"model_data.h": b"new h\n", "model_data.c": b"new c " * 1000,
       "export_report.json": b'{"new": 1}\n', "model.npz": b"new npz"}


def _visible(d) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in d.iterdir() if not p.name.startswith(".")}


def _state(d, user: dict[str, bytes]) -> str:
    """'old' or 'new' when the directory holds exactly that export plus the user's files."""
    files = _visible(d)
    for name, want in (("old", OLD), ("new", NEW)):
        if files == {**want, **user} and json.loads((d / MANIFEST).read_text())["files"] == \
                sorted(want):
            return name
    return f"mixed: {sorted(files)}"


def test_refuses_a_directory_it_did_not_write_and_deletes_nothing(tmp_path):
    src = tmp_path / "firmware"
    src.mkdir()
    for i in range(5):
        (src / f"main{i}.c").write_text("int main(void) { return 0; }\n")
    before = _visible(src)
    with pytest.raises(EmbBertError, match="not a previous export.*--out"):
        write_export(src, NEW)
    assert _visible(src) == before and sorted(p.name for p in src.iterdir()) == sorted(before)


def test_user_files_beside_an_export_survive_every_reexport(tmp_path):
    out = tmp_path / "gen"
    write_export(out, OLD)
    (out / "notes.txt").write_text("mine")
    write_export(out, NEW)
    assert _state(out, {"notes.txt": b"mine"}) == "new"   # gone.bin removed: it was ours
    write_export(out, OLD)
    assert _state(out, {"notes.txt": b"mine"}) == "old"


def test_refuses_to_overwrite_a_user_file_with_a_new_export_file(tmp_path):
    out = tmp_path / "gen"
    write_export(out, OLD)
    (out / "model.npz").write_bytes(b"user data")
    with pytest.raises(EmbBertError, match="model.npz exists and was not written"):
        write_export(out, NEW)
    assert (out / "model.npz").read_bytes() == b"user data" and _state(
        out, {"model.npz": b"user data"}) == "old"


def test_a_legacy_export_without_manifest_is_replaced(tmp_path):
    out = tmp_path / "gen"
    out.mkdir()
    for name in ("model_data.h", "model_data.c", "export_report.json"):
        (out / name).write_text("legacy")
    write_export(out, NEW)
    assert _state(out, {}) == "new"


def test_directory_mode_and_symlink_are_kept(tmp_path):
    real = tmp_path / "real"
    real.mkdir(mode=0o750)
    os.chmod(real, 0o750)
    link = tmp_path / "link"
    link.symlink_to(real)
    write_export(link, OLD)
    write_export(link, NEW)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert stat.S_IMODE(real.stat().st_mode) == 0o750
    assert _state(real, {}) == "new"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((real / "model_data.c").stat().st_mode) == 0o666 & ~umask


def _inject(monkeypatch, fail_at: int | None = None) -> list[int]:
    """Count the writer's filesystem steps (file writes and renames); fail the fail_at-th."""
    n = [0]
    real_replace, real_write = os.replace, exportdir._write_file

    def step():
        n[0] += 1
        if n[0] == fail_at:
            raise OSError("disk full")

    def replace(*a, **kw):
        step()
        return real_replace(*a, **kw)

    def write(*a, **kw):
        step()
        return real_write(*a, **kw)
    monkeypatch.setattr(exportdir.os, "replace", replace)
    monkeypatch.setattr(exportdir, "_write_file", write)
    return n


def test_a_failure_at_every_step_of_the_writer_leaves_old_or_new(tmp_path, monkeypatch):
    """An exception injected inside the writer, at each of its steps in turn."""
    probe = tmp_path / "probe"
    write_export(probe, OLD)
    calls = _inject(monkeypatch)
    write_export(probe, NEW)
    monkeypatch.undo()
    assert calls[0] >= 8
    seen = set()
    for k in range(1, calls[0] + 1):
        out = tmp_path / f"k{k}"
        write_export(out, OLD)
        (out / "mine.txt").write_text("keep")
        _inject(monkeypatch, fail_at=k)
        with pytest.raises(OSError, match="disk full"):
            write_export(out, NEW)
        monkeypatch.undo()
        recover(out)
        state = _state(out, {"mine.txt": b"keep"})
        assert state in ("old", "new"), f"step {k}: {state}"
        assert not [p for p in out.iterdir() if p.name.startswith(exportdir.TMP_PREFIX)]
        seen.add(state)
    assert seen == {"old", "new"}  # failures land both before and after the commit


CRASH = """
import os, sys
from embbert.export import outdir as exportdir
k, n = int(sys.argv[2]), [0]
real = os.replace
def replace(*a, **kw):
    n[0] += 1
    if n[0] == k:
        os._exit(9)            # like SIGKILL: no cleanup, no finally
    return real(*a, **kw)
exportdir.os.replace = replace
new = {"model_data.h": b"new h\\n", "model_data.c": b"new c " * 1000,
       "export_report.json": b'{"new": 1}\\n', "model.npz": b"new npz"}
exportdir.write_export(sys.argv[1], new)
"""


def test_a_crash_at_every_rename_leaves_old_or_new_after_recovery(tmp_path):
    seen = set()
    for k in range(1, 9):
        out = tmp_path / f"k{k}"
        write_export(out, OLD)
        p = subprocess.run([sys.executable, "-c", CRASH, str(out), str(k)], cwd=REPO)
        recover(out)  # what the next export or bench does first
        state = _state(out, {})
        assert state in ("old", "new"), f"crash at rename {k} (exit {p.returncode}): {state}"
        seen.add(state)
    assert seen == {"old", "new"}


def test_concurrent_exports_into_one_directory_take_turns(tmp_path):
    out = tmp_path / "gen"
    write_export(out, OLD)
    errors: list[BaseException] = []

    def worker(files):
        try:
            for _ in range(10):
                write_export(out, files)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)
    threads = [threading.Thread(target=worker, args=(f,)) for f in (OLD, NEW)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and _state(out, {}) in ("old", "new")


def test_cli_refuses_a_source_directory_before_quantizing(tiny_checkpoint, tmp_path):
    src = tmp_path / "firmware"
    src.mkdir()
    (src / "main.c").write_text("int main(void) { return 0; }\n")
    p = run_cli("embbert-export", tiny_checkpoint, "--board", "host", "--out", src, check=False)
    assert p.returncode == 1 and "quantizing" not in p.stdout
    assert len(p.stderr.strip().splitlines()) == 1 and "not a previous export" in p.stderr
    assert (src / "main.c").read_text() == "int main(void) { return 0; }\n"
    assert sorted(x.name for x in src.iterdir()) == ["main.c"]
    p = run_cli("embbert-export", tiny_checkpoint, "--board", "host", "--out", "/proc/nope",
                check=False)
    assert p.returncode == 1 and "cannot create" in p.stderr
