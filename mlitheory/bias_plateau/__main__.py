"""``python -m mlitheory.bias_plateau``: see [`mlitheory.bias_plateau.demo`][mlitheory.bias_plateau.demo]."""

import sys

from mlitheory.bias_plateau.demo import main

if __name__ == "__main__":
    sys.exit(main())
