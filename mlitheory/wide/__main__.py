"""``python -m mlitheory.wide``: the Theorem 8 width scan, a table on stdout and a figure in ``--out``."""

import sys

from mlitheory.wide.cli import main

if __name__ == "__main__":
    sys.exit(main())
