"""Shared CLI plumbing: one-line errors, non-zero exits."""

from __future__ import annotations

import functools
import sys

import click

from ..errors import EmbBertError


def one_line_errors(fn):
    """User mistakes (EmbBertError, missing files) become `error: ...` and exit code 1."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except EmbBertError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)

    return wrapper
