"""Command line of the width scan (Theorem 8): ``python -m mlitheory.ntk_width --help``.

The code lives in :mod:`mlitheory.wide_networks`; this package only provides the ``python -m`` entry point.
"""
