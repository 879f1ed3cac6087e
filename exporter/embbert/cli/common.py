"""Shared CLI plumbing: one error path for every command.

Expected failures (EmbBertError, file-system errors, bad text encodings) print one line
`error: ...` and exit 1; an interrupt exits 130; anything else is a bug: one line saying so and
exit 3, or the full traceback with --debug (or EMBBERT_DEBUG=1).
"""

from __future__ import annotations

import functools
import os
import sys
import tempfile
import traceback
from pathlib import Path

import click

from ..errors import EmbBertError

EXIT_ERROR, EXIT_BUG, EXIT_INTERRUPTED = 1, 3, 130


def describe(e: BaseException) -> str | None:
    """The one-line message for an expected failure, None for a bug."""
    if isinstance(e, EmbBertError):
        return str(e)
    if isinstance(e, OSError):  # read-only, missing, full disk, a directory where a file goes
        where = f"{e.filename}: " if e.filename else ""
        return f"{where}{e.strerror or e}"
    if isinstance(e, UnicodeError):
        return f"text is not valid UTF-8 ({e.reason})"
    if isinstance(e, MemoryError):
        return "out of memory"
    return None


def report(e: BaseException, debug: bool) -> int:
    """Prints what went wrong; returns the exit code."""
    if isinstance(e, KeyboardInterrupt | click.Abort):
        click.echo("interrupted", err=True)
        return EXIT_INTERRUPTED
    msg = describe(e)
    if debug:
        traceback.print_exception(e)
    if msg is not None:
        if not debug:
            click.echo(f"error: {msg}", err=True)
        return EXIT_ERROR
    if not debug:
        click.echo(f"error: internal error ({type(e).__name__}: {_first_line(e)}); this is a "
                   "bug: rerun with --debug for the traceback and report it", err=True)
    return EXIT_BUG


def _first_line(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return lines[0][:200] if lines else "no message"


def debug_requested() -> bool:
    return os.environ.get("EMBBERT_DEBUG", "") not in ("", "0")


def one_line_errors(fn):
    """Adds --debug to a click command and routes every failure through report()."""

    @functools.wraps(fn)
    def wrapper(*args, debug: bool = False, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (Exception, KeyboardInterrupt, click.Abort) as e:
            if isinstance(e, click.exceptions.ClickException | click.exceptions.Exit):
                raise  # click reports its own usage errors (exit 2)
            sys.exit(report(e, debug or debug_requested()))

    return click.option("--debug", is_flag=True,
                        help="show the full traceback of an unexpected error")(wrapper)


def check_writable(path: Path | None, what: str, *, directory: bool = False) -> None:
    """Refuses an output path that cannot be written, before any work is done: the nearest
    existing ancestor must be a directory where a file can really be created (a probe file, so
    read-only mounts and /proc count even for root), and the path must not be the wrong kind."""
    if path is None:
        return
    path = Path(path)
    if directory:
        if path.exists() and not path.is_dir():
            raise EmbBertError(f"{what} {path}: exists and is not a directory")
    elif path.is_dir():
        raise EmbBertError(f"{what} {path}: is a directory; give a file name")
    probe = path if directory else path.parent
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    if not probe.is_dir():
        raise EmbBertError(f"{what} {path}: {probe} is not a directory")
    try:
        with tempfile.TemporaryFile(dir=probe):
            pass
    except OSError as e:
        raise EmbBertError(f"{what} {path}: cannot write in {probe} ({e.strerror})") from None
    if path.exists() and not directory and not os.access(path, os.W_OK):
        raise EmbBertError(f"{what} {path}: file is read-only")
