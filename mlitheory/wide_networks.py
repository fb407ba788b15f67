"""Old path of [`mlitheory.wide.networks`][mlitheory.wide.networks],
kept so that existing imports work: ``import mlitheory.wide_networks`` gives that very module object."""

import sys

from mlitheory.wide import networks as _moved

sys.modules[__name__] = _moved
