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


def first_exact(run, seeds=(0, 1, 2), exact=None):
    """The first learner run, over ``seeds``, that is exact; fails only when none of them is.

    ``run(seed)`` returns a ``LearnResult``; ``exact(result)`` (default: the shared verdict's
    criterion is ``"exact"``) says whether it counts.  A test that needs an exact run asserts its
    properties on whichever run this returns, never on one seed's path: the fast learner is exact
    on at least 99% of the runs whose sample determines the network (docs/benchmarks.md,
    "Robustness"), so three seeds all failing has probability at most about 1e-6.
    """
    if exact is None:
        def exact(res):
            return bool(res.success) and res.diagnostics.get("verdict", {}).get("criterion") == "exact"
    tried = []
    for seed in seeds:
        res = run(seed)
        if exact(res):
            return res
        tried.append((seed, res.message))
    raise AssertionError(f"no exact run over seeds {list(seeds)}: {tried}")


@pytest.fixture
def exact_run():
    """:func:`first_exact` as a fixture."""
    return first_exact
