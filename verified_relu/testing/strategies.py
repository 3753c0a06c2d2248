"""Hypothesis strategies: networks from the instance families, unit vectors, adversarial pairs.

Every strategy validates its arguments when it is built (a ``ValueError``/``TypeError``
naming the argument), not when hypothesis first draws from it.  Networks are built by
:func:`verified_relu.instances.make` from a drawn integer seed and drawn parameters, so a
failing example is reproduced exactly by the ``make(...)`` call that :func:`instances`
reports.

Examples
--------
>>> from hypothesis import given
>>> from verified_relu.testing import strategies as vst
>>> @given(vst.networks(families=("close_pair", "clump"), d=4))
... def test_finite_norm(net):
...     assert net.norm_squared() >= 0
>>> test_finite_norm()
"""

from __future__ import annotations

import math
from types import MappingProxyType
from typing import NamedTuple

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from .._validation import check_int, check_real
from ..instances import FAMILIES, FAMILY_PARAMETERS, make, supports
from ..network import ReLUNetwork

__all__ = [
    "PARAMETER_STRATEGIES",
    "DrawnInstance",
    "instances",
    "near_antipodal_pairs",
    "near_parallel_pairs",
    "networks",
    "unit_vectors",
]

_SEEDS = st.integers(0, 2**32 - 1)
_DIMS = st.integers(2, 8)
_WIDTHS = st.integers(1, 4)


def _theta():
    return st.floats(1e-3, 1.0)


#: Default strategies for each family's parameters, as functions of ``k``.  All bounded:
#: angles in ``[1e-3, 1]``, scales in ``[0.25, 4]``, residuals in ``[-0.5, 0.5]``, condition
#: numbers in ``[1, 1e4]``.
PARAMETER_STRATEGIES = MappingProxyType(
    {
        "random": lambda k: {},
        "close_pair": lambda k: {"theta": _theta(), "scale": st.floats(0.25, 4.0)},
        "clump": lambda k: {"size": st.integers(2, k), "theta": _theta(), "residual": st.floats(-0.5, 0.5)},
        "antipodal": lambda k: {},
        "ill_conditioned": lambda k: {"cond": st.floats(1.0, 1e4)},
        "orthonormal": lambda k: {},
        "dkkz": lambda k: {},
        "dk_cancel": lambda k: {"theta": _theta(), "extra_scale": st.floats(0.25, 4.0)},
    }
)


class DrawnInstance(NamedTuple):
    """A drawn network with everything needed to rebuild it:
    ``make(family, d, k, rng=seed, **params) == network``."""

    family: str
    d: int
    k: int
    seed: int
    params: dict
    network: ReLUNetwork


def _as_int_strategy(value, name, caller):
    if isinstance(value, SearchStrategy):
        return value
    return st.just(check_int(value, name, minimum=1, caller=caller))


def _check_families(families, caller):
    if isinstance(families, str):
        families = (families,)
    try:
        families = tuple(families)
    except TypeError:
        raise TypeError(
            f"{caller}: families must be a sequence of family names, got {type(families).__name__}"
        ) from None
    if not families:
        raise ValueError(f"{caller}: families must not be empty")
    for name in families:
        if name not in FAMILIES:
            raise ValueError(
                f"{caller}: families contains unknown family {name!r}; valid families are {list(FAMILIES)}"
            )
    return families


def _check_overrides(params, families, caller):
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise TypeError(f"{caller}: params must be a dict {{family: {{name: strategy}}}}, got {type(params).__name__}")
    for family, overrides in params.items():
        if family not in families:
            raise ValueError(f"{caller}: params has family {family!r}, which is not among families {list(families)}")
        for name, strategy in overrides.items():
            if name not in FAMILY_PARAMETERS[family]:
                raise ValueError(
                    f"{caller}: params[{family!r}] has unknown parameter {name!r}; "
                    f"{family!r} takes {list(FAMILY_PARAMETERS[family])}"
                )
            if not isinstance(strategy, SearchStrategy):
                raise TypeError(f"{caller}: params[{family!r}][{name!r}] must be a hypothesis strategy")
    return params


def instances(families=FAMILIES, d=_DIMS, k=_WIDTHS, *, params=None, seeds=_SEEDS):
    """Draw ``(family, d, k, seed, params, network)`` from the instance families.

    ``d`` and ``k`` are drawn first; the family is then drawn among those of ``families``
    that support ``(d, k)`` (:func:`verified_relu.instances.supports`), so invalid combinations
    are skipped by construction (``assume`` rejects only the draws where none qualifies).
    Each family's parameters are drawn from :data:`PARAMETER_STRATEGIES`, overridable per
    family by ``params``.

    Parameters
    ----------
    families : sequence of str, default all of ``FAMILIES``
    d, k : int or strategy of int
        Dimension and width (defaults: ``2..8`` and ``1..4``).
    params : dict, optional
        ``{family: {name: strategy}}`` overriding parameter strategies; a ``clump`` ``size``
        strategy must only produce values in ``[2, k]``.
    seeds : strategy of int, optional
        Seeds passed to ``make`` as ``rng`` (default ``0..2**32-1``).

    Returns
    -------
    SearchStrategy[DrawnInstance]
    """
    caller = "instances"
    families = _check_families(families, caller)
    d = _as_int_strategy(d, "d", caller)
    k = _as_int_strategy(k, "k", caller)
    overrides = _check_overrides(params, families, caller)
    if not isinstance(seeds, SearchStrategy):
        raise TypeError(f"{caller}: seeds must be a hypothesis strategy of ints, got {type(seeds).__name__}")

    @st.composite
    def _draw(draw):
        dd, kk = draw(d), draw(k)
        valid = [f for f in families if supports(f, dd, kk)]
        assume(valid)
        family = draw(st.sampled_from(valid))
        strategies = {**PARAMETER_STRATEGIES[family](kk), **overrides.get(family, {})}
        values = {name: draw(strategies[name]) for name in sorted(strategies)}
        seed = draw(seeds)
        return DrawnInstance(family, dd, kk, seed, values, make(family, dd, kk, rng=seed, **values))

    return _draw()


def networks(families=FAMILIES, d=_DIMS, k=_WIDTHS, *, params=None, seeds=_SEEDS):
    """Draw a :class:`~verified_relu.network.ReLUNetwork` from the instance families.

    The same as :func:`instances` but yields only the network (use :func:`instances` when a
    test needs the family or parameters).  All networks have unit weight rows.
    """
    return instances(families, d, k, params=params, seeds=seeds).map(lambda drawn: drawn.network)


def _normalize(values):
    v = np.asarray(values, dtype=np.float64)
    scale = np.max(np.abs(v))
    if scale == 0:  # the all-zero draw (hypothesis's simplest example) maps to e_1
        out = np.zeros(v.shape[0])
        out[0] = 1.0
        return out
    v = v / scale  # avoids underflow in the norm for tiny entries
    return v / np.linalg.norm(v)


def unit_vectors(d):
    """Unit vectors in ``R^d`` (norm 1 to rounding), including coordinate axes and sparse vectors.

    Entries are drawn as floats in ``[-1, 1]`` and normalized; the all-zero draw becomes
    ``e_1``.  The distribution is not uniform on the sphere: it favours the structured,
    adversarial vectors hypothesis likes (zeros, equal entries).
    """
    d = check_int(d, "d", minimum=1, caller="unit_vectors")
    entries = st.floats(-1.0, 1.0, allow_nan=False, allow_subnormal=False)
    return st.lists(entries, min_size=d, max_size=d).map(_normalize)


def _check_angles(min_angle, max_angle, caller):
    min_angle = check_real(min_angle, "min_angle", minimum=0.0, strict_min=True, maximum=math.pi, caller=caller)
    max_angle = check_real(max_angle, "max_angle", minimum=0.0, strict_min=True, maximum=math.pi, caller=caller)
    if min_angle > max_angle:
        raise ValueError(f"{caller}: min_angle must be <= max_angle, got min_angle={min_angle}, max_angle={max_angle}")
    return min_angle, max_angle


def _orthogonal_to(u, w):
    """A unit vector orthogonal to the unit ``u``, from ``w`` (or from a coordinate axis if ``w`` is near ``+-u``)."""
    e = w - (w @ u) * u
    if np.linalg.norm(e) < 1e-3:
        e = np.zeros_like(u)
        e[int(np.argmin(np.abs(u)))] = 1.0  # |<e, u>| <= 1/sqrt(d)
        e = e - (e @ u) * u
    e = e - (e @ u) * u  # second pass (Kahan-Parlett)
    return e / np.linalg.norm(e)


def _pairs(d, min_angle, max_angle, caller, antipodal):
    d = check_int(d, "d", minimum=2, caller=caller)
    lo, hi = _check_angles(min_angle, max_angle, caller)
    log_angles = st.floats(math.log(lo), math.log(hi)) if lo < hi else st.just(math.log(lo))

    @st.composite
    def _draw(draw):
        u = draw(unit_vectors(d))
        e = _orthogonal_to(u, draw(unit_vectors(d)))
        theta = min(max(math.exp(draw(log_angles)), lo), hi)
        v = math.cos(theta) * u + math.sin(theta) * e
        return (u, -v) if antipodal else (u, v)

    return _draw()


def near_parallel_pairs(d, min_angle=1e-8, max_angle=1e-2):
    """Pairs ``(u, v)`` of unit vectors in ``R^d`` at angle in ``[min_angle, max_angle]``.

    ``v = cos(theta) u + sin(theta) e`` with ``e`` a unit vector orthogonal to ``u`` and
    ``log(theta)`` drawn uniformly, so every scale of small angle is exercised.  The angle is
    exact up to the rounding of ``v`` (about ``1e-16`` absolute).

    Parameters
    ----------
    d : int
        Dimension, ``>= 2``.
    min_angle, max_angle : float
        ``0 < min_angle <= max_angle <= pi``.
    """
    return _pairs(d, min_angle, max_angle, "near_parallel_pairs", antipodal=False)


def near_antipodal_pairs(d, min_angle=1e-8, max_angle=1e-2):
    """Pairs ``(u, v)`` of unit vectors with ``v`` at angle in ``[min_angle, max_angle]`` from ``-u``.

    So the angle between ``u`` and ``v`` is ``pi - theta``: the pairs where ``arccos(<u, v>)``
    loses all accuracy.  Arguments as in :func:`near_parallel_pairs`.
    """
    return _pairs(d, min_angle, max_angle, "near_antipodal_pairs", antipodal=True)
