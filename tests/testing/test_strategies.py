"""The hypothesis strategies of verified_relu.testing: what they draw, and their argument checks."""

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from verified_relu import ReLUNetwork
from verified_relu.instances import FAMILIES, make
from verified_relu.testing import strategies as vst

ROOT = Path(__file__).resolve().parents[2]


def _angle(u, v):
    return 2 * math.atan2(float(np.linalg.norm(u - v)), float(np.linalg.norm(u + v)))


def _unit_tol(d):
    """|computed norm - 1| of a normalized vector in R^d: <= (d + 3) u, u = eps / 2 (normalizing
    costs u + (d/2 + 1) u per entry, the norm again (d/2 + 1) u).  A fixed 4e-16 (1.8 ulps of 1)
    is below that worst case; measured maxima reach 2 ulps at d = 10."""
    return (d + 3) * np.finfo(float).eps / 2


BOUNDS = {
    "theta": (1e-3, 1.0),
    "scale": (0.25, 4.0),
    "extra_scale": (0.25, 4.0),
    "residual": (-0.5, 0.5),
    "cond": (1.0, 1e4),
}


@given(vst.instances())
def test_instances_are_reproducible_and_in_range(drawn):
    assert drawn.family in FAMILIES
    assert 2 <= drawn.d <= 8 and 1 <= drawn.k <= 4
    assert make(drawn.family, drawn.d, drawn.k, rng=drawn.seed, **drawn.params) == drawn.network
    assert (drawn.network.k, drawn.network.d) == (drawn.k, drawn.d)
    for name, value in drawn.params.items():
        if name == "size":
            assert 2 <= value <= drawn.k
        else:
            lo, hi = BOUNDS[name]
            assert lo <= value <= hi, (name, value)


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_is_reachable_alone(family):
    seen = []

    @given(vst.instances(families=(family,), d=st.integers(2, 6), k=st.integers(1, 6)))
    def check(drawn):
        assert drawn.family == family
        seen.append(drawn.k)

    check()
    assert seen  # at least one valid draw (assume did not reject everything)


@given(vst.instances(families=["close_pair", "dkkz"], d=3, k=4))
def test_family_subset_and_fixed_sizes(drawn):
    assert drawn.family in ("close_pair", "dkkz") and (drawn.d, drawn.k) == (3, 4)


@given(vst.instances(families="close_pair", d=4, k=2, params={"close_pair": {"theta": st.just(0.5)}}))
def test_parameter_override(drawn):
    assert drawn.params["theta"] == 0.5
    assert math.isclose(_angle(*drawn.network.weights), 0.5, rel_tol=1e-12)


@given(vst.networks(d=st.integers(1, 5), k=st.integers(1, 5)))
def test_networks_have_unit_rows(net):
    assert isinstance(net, ReLUNetwork)
    np.testing.assert_allclose(np.linalg.norm(net.weights, axis=1), 1.0, rtol=0, atol=1e-15)


@given(vst.unit_vectors(4))
def test_unit_vectors(u):
    assert u.shape == (4,) and u.dtype == np.float64
    assert abs(np.linalg.norm(u) - 1) <= _unit_tol(4)


@given(vst.near_parallel_pairs(5, 1e-9, 1e-2))
def test_near_parallel_pairs(pair):
    u, v = pair
    assert abs(np.linalg.norm(u) - 1) <= _unit_tol(5) and abs(np.linalg.norm(v) - 1) <= _unit_tol(5)
    # v is exact up to its rounding (~1e-16 absolute), so the angle is good to ~2e-16 absolute
    assert 1e-9 - 1e-15 <= _angle(u, v) <= 1e-2 + 1e-15


@given(vst.near_antipodal_pairs(3, 1e-6, 0.5))
def test_near_antipodal_pairs(pair):
    u, v = pair
    assert 1e-6 - 1e-15 <= _angle(u, -v) <= 0.5 + 1e-15
    assert _angle(u, v) >= math.pi - 0.5 - 1e-15


@given(vst.near_parallel_pairs(2, 0.25, 0.25))
def test_fixed_angle(pair):
    assert math.isclose(_angle(*pair), 0.25, rel_tol=1e-14)


def test_importing_the_testing_package_does_not_need_hypothesis():
    code = "import sys, verified_relu, verified_relu.testing; assert 'hypothesis' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda: vst.instances(families=("nope",)), ValueError, "families contains unknown family 'nope'"),
        (lambda: vst.instances(families=()), ValueError, "families must not be empty"),
        (lambda: vst.instances(families=3), TypeError, "families must be a sequence"),
        (lambda: vst.instances(d=0), ValueError, "d must be >= 1"),
        (lambda: vst.networks(k=2.5), TypeError, "k must be an int"),
        (lambda: vst.instances(params=[1]), TypeError, "params must be a dict"),
        (lambda: vst.instances(families=("random",), params={"clump": {}}), ValueError, "params has family 'clump'"),
        (lambda: vst.instances(params={"clump": {"cond": st.just(2.0)}}), ValueError, r"\['clump'\] has unknown param"),
        (lambda: vst.instances(params={"clump": {"theta": 0.1}}), TypeError, r"\['theta'\] must be a hypothesis"),
        (lambda: vst.instances(seeds=3), TypeError, "seeds must be a hypothesis strategy"),
        (lambda: vst.unit_vectors(0), ValueError, "d must be >= 1"),
        (lambda: vst.unit_vectors(2.0), TypeError, "d must be an int"),
        (lambda: vst.near_parallel_pairs(1), ValueError, "d must be >= 2"),
        (lambda: vst.near_parallel_pairs(3, 0.0, 1.0), ValueError, "min_angle must be > 0"),
        (lambda: vst.near_antipodal_pairs(3, 1e-3, 4.0), ValueError, "max_angle must be <= 3.14"),
        (lambda: vst.near_antipodal_pairs(3, 0.5, 0.1), ValueError, "min_angle must be <= max_angle"),
        (lambda: vst.near_parallel_pairs(3, "a", 0.1), TypeError, "min_angle must be a real number"),
    ],
)
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
