"""``python -m mlitheory.ntk_width``: alias of ``python -m mlitheory.wide`` (the Theorem 8 width scan)."""

import sys

from mlitheory.ntk_width import main

if __name__ == "__main__":
    sys.exit(main())
