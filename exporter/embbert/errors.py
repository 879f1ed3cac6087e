"""User-facing errors: the CLIs print these as one line and exit non-zero (no traceback)."""


class EmbBertError(Exception):
    """A user mistake or bad input (file, option, data), reported as one clear line."""
