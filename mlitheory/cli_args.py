"""Argument types and checks shared by the command lines (``python -m mlitheory …``, ``python -m empirical …``).

Each turns a user mistake into one ``error:`` line and exit status 2, as ``argparse`` does for its own errors, before
any long work starts: `arg_int`, `arg_positive`, `arg_device` and `arg_dir` are ``argparse`` types;
`writable_dir` checks an output folder up front; a command raises `UsageError` for any other mistake it finds and
prints it with `one_line`.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from mlitheory._validate import check_device

__all__ = ["UsageError", "arg_device", "arg_dir", "arg_int", "arg_positive", "one_line", "writable_dir"]


class UsageError(ValueError):
    """A mistake in a command line: reported as one ``error:`` line with exit status 2."""


def arg_int(minimum: int) -> Callable[[str], int]:
    """An ``argparse`` type: an integer ``>= minimum`` (argparse turns the error into one ``error:`` line)."""

    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if v < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {v}")
        return v

    parse.__name__ = f"integer >= {minimum}"
    return parse


def arg_positive(text: str) -> float:
    """An ``argparse`` type: a finite number ``> 0``."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(v) and v > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return v


def arg_device(text: str) -> str:
    """An ``argparse`` type: a torch device that exists on this machine."""
    try:
        check_device(text, "--device")
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e).removeprefix("--device=")) from None
    return text


def arg_dir(text: str) -> Path:
    """An ``argparse`` type: an existing folder."""
    p = Path(text)
    if not p.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is not a folder")
    return p


def writable_dir(path: str | Path, flag: str) -> Path:
    """Create ``path`` (and its parents) if needed and check that a file can be written there."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise UsageError(f"{flag} {path} is a file, not a folder; pass the path of a folder (it is created if missing)")
    try:
        p.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-check-", dir=p)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise UsageError(f"{flag} {path}: cannot write there ({e.strerror or e})") from None
    return p


def one_line(e: BaseException) -> str:
    """The message of ``e`` on one line (for ``error:`` output)."""
    text = str(e) if str(e) else type(e).__name__
    if isinstance(e, KeyError) and e.args:
        text = str(e.args[0])
    return " ".join(text.split())
