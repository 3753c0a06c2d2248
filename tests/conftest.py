"""Shared test configuration.

Hypothesis profiles: ``ci`` derives from hypothesis's own ``ci`` profile (derandomized, no
deadline, no example database) and is loaded when the ``CI`` environment variable is set, as
``.ci/run`` does; ``dev`` is the same with fewer examples for quick local runs.  Select one
explicitly with ``HYPOTHESIS_PROFILE=...``.
"""

import os

import numpy as np
import pytest
from hypothesis import settings

settings.register_profile("ci", settings.get_profile("ci"), derandomize=True, deadline=None, database=None)
settings.register_profile("dev", settings.get_profile("ci"), max_examples=30)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture
def rng():
    """A fixed-seed generator, so every statistical test is reproducible."""
    return np.random.default_rng(20231124)
