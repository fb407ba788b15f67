"""Old path of [`mlitheory.two_layer_linear.dynamics`][mlitheory.two_layer_linear.dynamics],
kept so that existing imports work: ``import mlitheory.linear_dynamics`` gives that very module object."""

import sys

from mlitheory.two_layer_linear import dynamics as _moved

sys.modules[__name__] = _moved
