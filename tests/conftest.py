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


# The Adam baseline's tests need torch, which the test extra leaves out (.ci/run installs a CPU-only
# build): outside CI a run without it skips them; under CI (CI=true) they run and fail on the missing
# import rather than pass as skipped.
try:
    import torch  # noqa: F401

    HAVE_TORCH = True
except ImportError:
    HAVE_TORCH = False
needs_torch = pytest.mark.skipif(
    not HAVE_TORCH and not os.environ.get("CI"), reason="torch is not installed (optional extra verified-relu[torch])"
)


def first_exact(run, seeds=(0, 1, 2), exact=None):
    """The first learner run, over ``seeds``, that is exact; fails only when none of them is.

    ``run(seed)`` returns a ``LearnResult``; ``exact(result)`` (default: the shared verdict's
    criterion is ``"exact"``) says whether it counts.  A test that needs an exact run asserts its
    properties on whichever run this returns, never on one seed's path.  The tests use it on
    instances of the families where the fast learner was exact on every determined run measured
    (docs/benchmarks.md, "Robustness": random, orthonormal, dkkz, antipodal, close_pair 0.1); at
    the overall measured rate, 1292 of 1320 (95% lower bound 0.971), three seeds all failing has
    probability below 3e-5, independence of the seeds assumed.  On antipodal samples an exact fit
    is also called "not determined" when a pair of rows with a linear term fits every sample as
    well (11 of 120 runs at d = 8, n = 50 d k; 95% upper bound 0.15): tests on antipodal instances
    pass ``seeds=range(6)``, where six seeds all failing has probability below 2e-5.
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


# --------------------------------------------------------------------------- the claims of proofs_checks
#: A full-tier-only claim's mutations run at its full-tier parameters with at most this many runs
#: (a mutation must fail, and fails sooner with fewer runs); the claim itself runs at its full tier.
CLAIM_TEST_RUNS = 60


class ClaimResults:
    """The evidence of the registry's claims at the size the test suite runs them, each computed
    once per session (on first use) and then read by every test that needs it.

    ``claim(cid)``: the claim at its quick tier; a full-tier-only claim at its full tier, uncapped
    (at 60 runs its 99% Clopper-Pearson guarantee needs 60/60 good runs, which a rate of 0.97
    misses one time in 6).  ``mutation(cid, name)``: the claim under one of its declared
    mutations, at the quick tier; a full-tier-only claim at its full tier with at most
    :data:`CLAIM_TEST_RUNS` runs.
    """

    def __init__(self):
        from proofs_checks import registry

        registry._load_all()
        self._registry = registry
        self._evidence = {}

    def _once(self, key, compute):
        if key not in self._evidence:
            self._evidence[key] = compute()
        return self._evidence[key]

    def claim(self, cid):
        c = self._registry.REGISTRY[cid]
        return self._once((cid, None), lambda: c.run("quick") if c.in_tier("quick") else c.run("full"))

    def mutation(self, cid, name):
        c = self._registry.REGISTRY[cid]
        overrides = c.mutations[name]
        if c.in_tier("quick"):
            return self._once((cid, name), lambda: c.run("quick", **overrides))
        runs = min(c.tiers["full"]["runs"], CLAIM_TEST_RUNS)
        return self._once((cid, name), lambda: c.run("full", **{"runs": runs, **overrides}))


@pytest.fixture(scope="session")
def claim_results():
    """:class:`ClaimResults`, one for the whole session."""
    return ClaimResults()
