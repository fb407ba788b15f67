"""Old path of [`mlitheory.wide.lemma7`][mlitheory.wide.lemma7],
kept so that existing imports work: ``import mlitheory.lemma7`` gives that very module object."""

import sys

from mlitheory.wide import lemma7 as _moved

sys.modules[__name__] = _moved
