"""``python -m mlitheory.ntk_width``: the documented name of the width-scan command, an alias of
``python -m mlitheory.wide`` ([`mlitheory.wide.cli`][mlitheory.wide.cli])."""

from mlitheory.wide.cli import main

__all__ = ["main"]
