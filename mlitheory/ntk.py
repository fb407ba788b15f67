"""Old path of [`mlitheory.wide.ntk`][mlitheory.wide.ntk],
kept so that existing imports work: ``import mlitheory.ntk`` gives that very module object."""

import sys

from mlitheory.wide import ntk as _moved

sys.modules[__name__] = _moved
