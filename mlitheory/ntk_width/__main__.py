"""``python -m mlitheory.ntk_width``: the Theorem 8 width scan, a table on stdout and a figure in ``--out``."""

import sys

from mlitheory.ntk_width import main

if __name__ == "__main__":
    sys.exit(main())
