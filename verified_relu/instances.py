"""Named families of one-hidden-layer ReLU networks, the test instances of the package.

``make(family, d, k, rng=seed, **params)`` builds a :class:`~verified_relu.network.ReLUNetwork`
with ``k`` neurons in dimension ``d``.  The families cover the regimes the papers single out:
generic networks, nearly cancelling close pairs and clumps (CDGKM23's undetectable clumps,
CN24's ``tau`` threshold), antipodal pairs (which collapse to a linear term), ill-conditioned
and orthonormal weight matrices, the DKKZ20 CSQ hard instance and DK24's example against
relative error.

Every family returns **unit weight rows**, so the output weights ``mu`` are the neuron scales.
Where a family plants a special structure (a close pair, a clump, DK24's three neurons), those
neurons come first, in the order the family's documentation gives; the remaining neurons are
generic: directions uniform on the sphere, coefficients with a random sign and a magnitude
uniform in ``[0.5, 1.5]`` (never invisibly small).

Randomness follows SPEC 7: ``rng`` is anything :func:`numpy.random.default_rng` accepts; the
same seed gives an identical network, and no global state is read or written.

Examples
--------
>>> net = make("close_pair", 5, 4, rng=0, theta=0.01)
>>> net.k, net.d
(4, 5)
>>> sorted(FAMILY_PARAMETERS["clump"])
['residual', 'size', 'theta']
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from ._validation import check_int, check_real, check_rng
from .network import ReLUNetwork

__all__ = ["FAMILIES", "FAMILY_PARAMETERS", "GRIDS", "MAX_COND", "describe", "grid", "make", "supports"]

#: Largest condition number ``ill_conditioned`` accepts; the achieved condition number is
#: accurate to about ``cond * 1e-15`` relative, so beyond this it would no longer be ``cond``.
MAX_COND = 1e8

_COEF_LOW, _COEF_HIGH = 0.5, 1.5
_CLUMP_MAX_RESIDUAL = 0.5


# ----------------------------------------------------------------------------- helpers
def _unit_rows(gen, k, d):
    """``k`` directions uniform on ``S^{d-1}`` (normalized Gaussian rows)."""
    G = gen.standard_normal((k, d))
    norms = np.linalg.norm(G, axis=1)
    while np.any(norms == 0):  # probability zero; redraw rather than divide by zero
        bad = norms == 0
        G[bad] = gen.standard_normal((int(bad.sum()), d))
        norms = np.linalg.norm(G, axis=1)
    return G / norms[:, None]


def _generic_coefficients(gen, k):
    """Random signs times magnitudes uniform in ``[0.5, 1.5]``."""
    return gen.choice(np.array([-1.0, 1.0]), size=k) * gen.uniform(_COEF_LOW, _COEF_HIGH, size=k)


def _orthogonal_unit(gen, u):
    """A random unit vector orthogonal to the unit vector ``u`` (needs ``len(u) >= 2``)."""
    while True:
        g = gen.standard_normal(u.shape[0])
        for _ in range(2):  # twice is enough (Kahan-Parlett)
            g = g - (g @ u) * u
        nrm = np.linalg.norm(g)
        if nrm > 1e-8:
            return g / nrm


def _haar_columns(gen, d, k):
    """A ``(d, k)`` matrix with orthonormal columns, Haar distributed (QR with sign fix)."""
    Q, R = np.linalg.qr(gen.standard_normal((d, k)))
    signs = np.sign(np.diag(R))
    signs[signs == 0] = 1.0
    return Q * signs


def _rotate(u, e, angle):
    """``cos(angle) u + sin(angle) e``: at angle ``angle`` from ``u`` for a unit ``e`` orthogonal to ``u``."""
    return math.cos(angle) * u + math.sin(angle) * e


# ----------------------------------------------------------------------------- families
def _random(gen, d, k):
    """Generic network: ``k`` unit directions uniform on the sphere ``S^{d-1}``.

    Coefficients have independent random signs and magnitudes uniform in ``[0.5, 1.5]``, so
    no neuron is invisibly small.  No parameters; ``k > d`` is allowed (and ``d = 1``).
    """
    return ReLUNetwork(_unit_rows(gen, k, d), _generic_coefficients(gen, k))


def _close_pair(gen, d, k, theta, scale):
    """Two neurons at exact angle ``theta`` with nearly cancelling coefficients.

    Rows 0 and 1 are ``u`` and ``v = cos(theta) u + sin(theta) e`` (``u`` uniform on the
    sphere, ``e`` a random unit vector orthogonal to ``u``) with coefficients
    ``(+scale, -scale)``; rows 2..k-1 are generic as in ``random``.  The pair contributes
    ``O(scale * theta)`` in L2 although each neuron is ``O(scale)``.

    Parameters
    ----------
    theta : float, default 0.05
        Angle between the two neurons, ``0 < theta <= pi``.
    scale : float, default 1.0
        Magnitude of the two coefficients, ``> 0``.

    Notes
    -----
    Needs ``k >= 2`` and ``d >= 2``; ``k > d`` is allowed.
    """
    u = _unit_rows(gen, 1, d)[0]
    v = _rotate(u, _orthogonal_unit(gen, u), theta)
    W = np.vstack([u, v, _unit_rows(gen, k - 2, d)])
    mu = np.concatenate([[scale, -scale], _generic_coefficients(gen, k - 2)])
    return ReLUNetwork(W, mu)


def _clump_coefficients(gen, size, residual):
    """``size`` O(1) coefficients of both signs summing to ``residual`` (``|residual| <= 0.5``).

    Magnitudes ``m_j ~ U[0.5, 1.5]``; a random half (rounded up) is positive.  With
    ``S = sum_j m_j / 2`` the positive group is rescaled to total ``S + residual/2`` and the
    negative group to ``S - residual/2``.  So the magnitudes sum to ``2 S`` (between
    ``size/2`` and ``3 size/2``) and each is at least ``(S - 1/4) / (3 ceil(size/2)) >= 1/12``.
    The last coefficient then absorbs the rounding, so that the sum is ``residual`` to one
    rounding.
    """
    m = gen.uniform(_COEF_LOW, _COEF_HIGH, size=size)
    order = gen.permutation(size)
    pos = np.zeros(size, dtype=bool)
    pos[order[: (size + 1) // 2]] = True
    half = m.sum() / 2
    c = np.where(pos, m * (half + residual / 2) / m[pos].sum(), -m * (half - residual / 2) / m[~pos].sum())
    c[-1] = residual - math.fsum(c[:-1])
    return c


def _clump(gen, d, k, size, theta, residual):
    """A clump of ``size`` nearby neurons whose O(1) coefficients sum to ``residual``.

    Rows 0..size-1 are ``cos(phi_j) c + sin(phi_j) e_j`` with ``c`` a random centre on the
    sphere, ``e_j`` random unit vectors orthogonal to ``c`` and ``phi_j`` uniform in
    ``(0, theta]``: every clump neuron is within angle ``theta`` of ``c`` (so pairwise within
    ``2 theta``).  Their coefficients have both signs, magnitudes at least ``1/12`` whose
    total lies in ``[size/2, 3 size/2]``, and sum to ``residual`` (to rounding): CDGKM23's
    nearly undetectable clump.  Rows size..k-1 are generic as in ``random``.

    Parameters
    ----------
    size : int, default min(k, 3)
        Number of clump neurons, ``2 <= size <= k``.
    theta : float, default 0.05
        Angular radius of the clump around its centre, ``0 < theta <= pi/2``.
    residual : float, default 0.01
        Sum of the clump's coefficients, ``|residual| <= 0.5``.

    Notes
    -----
    Needs ``k >= 2`` and ``d >= 2``; ``k > d`` is allowed.
    """
    c = _unit_rows(gen, 1, d)[0]
    rows = [_rotate(c, _orthogonal_unit(gen, c), theta * (1.0 - gen.random())) for _ in range(size)]
    W = np.vstack([np.array(rows), _unit_rows(gen, k - size, d)])
    mu = np.concatenate([_clump_coefficients(gen, size, residual), _generic_coefficients(gen, k - size)])
    return ReLUNetwork(W, mu)


def _antipodal(gen, d, k):
    """Antipodal pairs ``(w, -w)`` with independent generic coefficients.

    Rows ``2i`` and ``2i+1`` are ``w_i`` and ``-w_i`` (``w_i`` uniform on the sphere) for
    ``i < k // 2``; for odd ``k`` the last row is one more generic neuron.  Since
    ``a relu(z) + b relu(-z) = (a + b) relu(z) - b z``, each pair is one neuron plus a linear
    term, the degenerate case of the even/odd decomposition (digest 1.2).

    Notes
    -----
    Needs ``k >= 2``; ``k > d`` is allowed.
    """
    p = k // 2
    U = _unit_rows(gen, p, d)
    W = np.empty((2 * p, d))
    W[0::2], W[1::2] = U, -U
    W = np.vstack([W, _unit_rows(gen, k - 2 * p, d)])
    return ReLUNetwork(W, _generic_coefficients(gen, k))


def _ill_conditioned(gen, d, k, cond):
    """Unit rows whose ``(k, d)`` weight matrix has condition number ``cond``.

    The singular values ``s`` are geometric from ``s_1`` to ``s_1 / cond``, scaled so that
    ``sum s_i^2 = k``.  A random correlation matrix ``C`` with eigenvalues ``s^2`` is drawn by
    Bendel-Mickey (:data:`scipy.stats.random_correlation`) and factored as
    ``C = V diag(s^2) V^T``; then ``W = V diag(s) Q^T`` with ``Q`` a Haar ``(d, k)`` orthonormal
    basis has Gram matrix ``C`` (unit rows) and singular values ``s``.  Rows are finally
    renormalized, which moves the singular values by about ``1e-15`` absolutely, so the
    achieved condition number is ``cond`` to about ``cond * 1e-15`` relative.
    Coefficients are generic as in ``random``.

    Parameters
    ----------
    cond : float, default 1e3
        Condition number ``s_max / s_min``, ``1 <= cond <= MAX_COND`` (``1e8``).

    Notes
    -----
    Needs ``2 <= k <= d``: ``k`` rows of rank ``k`` only exist in dimension ``d >= k``.
    """
    s = np.exp(-math.log(cond) * np.arange(k) / (k - 1))
    s *= math.sqrt(k / float(s @ s))
    eigs = s**2
    eigs *= k / math.fsum(eigs)
    from scipy import stats  # here, not at module level: importing scipy.stats is slow (docs/benchmarks.md)

    C = stats.random_correlation.rvs(eigs, random_state=gen)
    _, V = np.linalg.eigh((C + C.T) / 2)
    V = V[:, ::-1]  # eigh is ascending; s is descending
    W = (V * s) @ _haar_columns(gen, d, k).T
    W /= np.linalg.norm(W, axis=1)[:, None]
    return ReLUNetwork(W, _generic_coefficients(gen, k))


def _orthonormal(gen, d, k):
    """Orthonormal rows (a Haar-random ``k``-frame in ``R^d``) with all coefficients 1.

    Notes
    -----
    Needs ``k <= d`` (``k == d`` allowed).
    """
    return ReLUNetwork(_haar_columns(gen, d, k).T, np.ones(k))


def _dkkz(gen, d, k):
    """The DKKZ20 CSQ hard instance (digest 4.5) for ReLU, embedded in a random 2-plane.

    ``f(x) = sum_{m=1}^{k} (-1)^m |<w_m, x>|`` with ``w_m = cos(pi m/k) e1 + sin(pi m/k) e2``,
    ``(e1, e2)`` a Haar-random orthonormal pair.  This equals DKKZ20's
    ``sum_{m=1}^{2k} (-1)^m relu(<w_m, x>)`` (``w_{m+k} = -w_m``).  It is written with ``k``
    neurons ``(w_m, 2 (-1)^m)`` and the linear term ``-sum_m (-1)^m w_m``, via
    ``|z| = 2 relu(z) - z``.  Row ``m - 1`` is ``w_m``; consecutive rows are at angle
    ``pi / k``.  ``f`` is orthogonal to every polynomial of degree ``< k``.

    Notes
    -----
    Needs even ``k >= 2`` (for odd ``k`` the function is identically zero) and ``d >= 2``;
    ``k > d`` is allowed.
    """
    E = _haar_columns(gen, d, 2)
    m = np.arange(1, k + 1)
    t = np.pi * m / k
    W = np.outer(np.cos(t), E[:, 0]) + np.outer(np.sin(t), E[:, 1])
    signs = np.where(m % 2 == 0, 1.0, -1.0)
    return ReLUNetwork(W, 2.0 * signs, -(signs @ W))


def _dk_cancel(gen, d, k, theta, extra_scale):
    """DK24's example against relative error (digest 1.2), plus optional generic neurons.

    Rows 0, 1, 2 are ``u``, ``v = cos(theta) u + sin(theta) e`` and
    ``(u + v)/|u + v| = cos(theta/2) u + sin(theta/2) e`` with coefficients
    ``(1, 1, -|u + v|) = (1, 1, -2 cos(theta/2))``.  The function vanishes unless
    ``sign(<u,x>) != sign(<v,x>)`` and ``E[F^2] = (theta - sin theta)/pi ~ theta^3/(6 pi)``,
    while ``sum |mu_i|`` stays near 4.  Rows 3..k-1 are generic neurons with coefficients
    multiplied by ``extra_scale``.

    Parameters
    ----------
    theta : float, default 0.1
        Angle between ``u`` and ``v``, ``0 < theta < pi``.
    extra_scale : float, default 1.0
        Factor on the coefficients of the ``k - 3`` extra neurons, ``> 0``.

    Notes
    -----
    Needs ``k >= 3`` and ``d >= 2``; ``k > d`` is allowed.
    """
    u = _unit_rows(gen, 1, d)[0]
    e = _orthogonal_unit(gen, u)
    W = np.vstack([u, _rotate(u, e, theta), _rotate(u, e, theta / 2), _unit_rows(gen, k - 3, d)])
    mu = np.concatenate([[1.0, 1.0, -2.0 * math.cos(theta / 2)], extra_scale * _generic_coefficients(gen, k - 3)])
    return ReLUNetwork(W, mu)


# ----------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class _Param:
    default: Callable[[int], object]  # k -> default value
    check: Callable[[object, int, str, str], object]  # (value, k, name, caller) -> validated value


def _angle(maximum, inclusive=True):
    def check(value, k, name, caller):
        value = check_real(value, name, minimum=0.0, strict_min=True, maximum=maximum, caller=caller)
        if not inclusive and value >= maximum:
            raise ValueError(f"{caller}: {name} must be < {maximum}, got {value}")
        return value

    return check


def _positive(value, k, name, caller):
    return check_real(value, name, minimum=0.0, strict_min=True, caller=caller)


def _size(value, k, name, caller):
    return check_int(value, name, minimum=2, maximum=k, caller=caller)


def _residual(value, k, name, caller):
    return check_real(value, name, minimum=-_CLUMP_MAX_RESIDUAL, maximum=_CLUMP_MAX_RESIDUAL, caller=caller)


def _cond(value, k, name, caller):
    return check_real(value, name, minimum=1.0, maximum=MAX_COND, caller=caller)


@dataclass(frozen=True)
class _Family:
    build: Callable
    params: dict
    min_d: int = 1
    min_k: int = 1
    k_le_d: bool = False
    even_k: bool = False


def _const(value):
    return lambda k: value


_REGISTRY = {
    "random": _Family(_random, {}),
    "close_pair": _Family(
        _close_pair,
        {"theta": _Param(_const(0.05), _angle(math.pi)), "scale": _Param(_const(1.0), _positive)},
        min_d=2,
        min_k=2,
    ),
    "clump": _Family(
        _clump,
        {
            "size": _Param(lambda k: min(k, 3), _size),
            "theta": _Param(_const(0.05), _angle(math.pi / 2)),
            "residual": _Param(_const(0.01), _residual),
        },
        min_d=2,
        min_k=2,
    ),
    "antipodal": _Family(_antipodal, {}, min_k=2),
    "ill_conditioned": _Family(_ill_conditioned, {"cond": _Param(_const(1e3), _cond)}, min_k=2, k_le_d=True),
    "orthonormal": _Family(_orthonormal, {}, k_le_d=True),
    "dkkz": _Family(_dkkz, {}, min_d=2, min_k=2, even_k=True),
    "dk_cancel": _Family(
        _dk_cancel,
        {"theta": _Param(_const(0.1), _angle(math.pi, inclusive=False)), "extra_scale": _Param(_const(1.0), _positive)},
        min_d=2,
        min_k=3,
    ),
}

#: Names of the instance families, in a fixed order.
FAMILIES = tuple(_REGISTRY)

#: Read-only map from family name to the names of its keyword parameters.
FAMILY_PARAMETERS = MappingProxyType({name: tuple(fam.params) for name, fam in _REGISTRY.items()})


#: Named instance grids, rows ``(label, family, parameters)``: the one list of instances each
#: benchmark and claim runs on (each picks its own sizes ``d``, ``k``; see :func:`supports`).
#:
#: ``"hard"``: every family but ``dk_cancel`` at its default parameters, with ``close_pair`` at
#: ``theta`` 0.1 and 0.01 and ``ill_conditioned`` at ``cond`` 1e3 (``bench --suite full``,
#: ``benchmarks/bench_fast.py``, ``bench_robust.py``, ``bench_noise.py``).
#: ``"paper"``: random, close_pair (``theta`` 0.05: a nearly cancelling pair), orthonormal and
#: dkkz, the families the papers' learners are run on (``bench --suite quick``,
#: ``benchmarks/bench_paper.py``, :mod:`proofs_checks.learners`).
_GRIDS = {
    "hard": (
        ("random", "random", {}),
        ("close_pair 1e-1", "close_pair", {"theta": 0.1}),
        ("close_pair 1e-2", "close_pair", {"theta": 0.01}),
        ("clump", "clump", {}),
        ("antipodal", "antipodal", {}),
        ("ill_conditioned 1e3", "ill_conditioned", {"cond": 1e3}),
        ("orthonormal", "orthonormal", {}),
        ("dkkz", "dkkz", {}),
    ),
    "paper": (
        ("random", "random", {}),
        ("close_pair", "close_pair", {"theta": 0.05}),
        ("orthonormal", "orthonormal", {}),
        ("dkkz", "dkkz", {}),
    ),
}

#: Names of the instance grids of :func:`grid`.
GRIDS = tuple(_GRIDS)


def grid(name, labels=None):
    """The rows ``(label, family, parameters)`` of a named instance grid (see :data:`GRIDS`).

    Parameters
    ----------
    name : str
        ``"hard"`` or ``"paper"``.
    labels : iterable of str, optional
        Keep only the rows with these labels (in the grid's order); each must be in the grid.

    Returns
    -------
    tuple of (str, str, dict)
        ``make(family, d, k, rng=seed, **parameters)`` builds a row's instance; the dicts are
        fresh copies.

    Examples
    --------
    >>> [label for label, _, _ in grid("paper")]
    ['random', 'close_pair', 'orthonormal', 'dkkz']
    >>> grid("hard", labels=["close_pair 1e-2"])
    (('close_pair 1e-2', 'close_pair', {'theta': 0.01}),)
    """
    if name not in _GRIDS:
        raise ValueError(f"grid: name must be one of {list(GRIDS)}, got {name!r}")
    rows = _GRIDS[name]
    if labels is not None:
        labels = [labels] if isinstance(labels, str) else list(labels)
        unknown = sorted(set(labels) - {label for label, _, _ in rows})
        if unknown:
            raise ValueError(f"grid: labels {unknown} are not in grid {name!r}; its labels are {[r[0] for r in rows]}")
        rows = tuple(row for row in rows if row[0] in labels)
    return tuple((label, family, dict(params)) for label, family, params in rows)


def _family(family, caller):
    if not isinstance(family, str):
        raise TypeError(f"{caller}: family must be a str, one of {list(FAMILIES)}, got {type(family).__name__}")
    if family not in _REGISTRY:
        raise ValueError(f"{caller}: unknown family {family!r}; valid families are {list(FAMILIES)}")
    return _REGISTRY[family]


def _shape_error(name, fam, d, k):
    """The message for why ``(d, k)`` is invalid for the family, or ``None``."""
    if d < fam.min_d:
        return f"d must be >= {fam.min_d} for family {name!r}, got d={d}"
    if k < fam.min_k:
        return f"k must be >= {fam.min_k} for family {name!r}, got k={k}"
    if fam.k_le_d and k > d:
        return f"k must be <= d for family {name!r} ({k} rows of rank {k} need d >= {k}), got k={k}, d={d}"
    if fam.even_k and k % 2:
        return (
            f"k must be even for family {name!r}: for odd k the DKKZ20 function "
            f"sum_{{m=1}}^{{2k}} (-1)^m relu(<w_m, x>) is identically zero, got k={k}"
        )
    return None


def supports(family, d, k):
    """Whether ``make(family, d, k)`` accepts these sizes (with default parameters).

    Parameters
    ----------
    family : str
        One of :data:`FAMILIES`.
    d, k : int
        Input dimension and number of neurons.

    Returns
    -------
    bool

    Raises
    ------
    TypeError, ValueError
        For an unknown ``family`` or non-integer ``d``/``k``.

    Examples
    --------
    >>> supports("orthonormal", 3, 4), supports("dkkz", 5, 3), supports("random", 1, 5)
    (False, False, True)
    """
    fam = _family(family, "supports")
    d = check_int(d, "d", caller="supports")
    k = check_int(k, "k", caller="supports")
    return d >= 1 and k >= 1 and _shape_error(family, fam, d, k) is None


def describe(family):
    """The documentation of one family (its construction, parameters and size limits).

    Examples
    --------
    >>> describe("orthonormal").splitlines()[0]
    'Orthonormal rows (a Haar-random ``k``-frame in ``R^d``) with all coefficients 1.'
    """
    return inspect.cleandoc(_family(family, "describe").build.__doc__)


def make(family, d, k, rng=None, **params):
    """Build a network of the named family with ``k`` unit-row neurons in dimension ``d``.

    Parameters
    ----------
    family : str
        One of :data:`FAMILIES`: ``random``, ``close_pair``, ``clump``, ``antipodal``,
        ``ill_conditioned``, ``orthonormal``, ``dkkz``, ``dk_cancel``.  :func:`describe`
        returns a family's documentation.
    d : int
        Input dimension, ``>= 1`` (``>= 2`` for the families that need an angle or a plane).
    k : int
        Number of neurons.  Size limits per family:

        ================  ==========================================
        random            k >= 1 (k > d allowed)
        close_pair        k >= 2, d >= 2 (k > d allowed)
        clump             k >= 2, d >= 2 (k > d allowed)
        antipodal         k >= 2 (k > d allowed)
        ill_conditioned   2 <= k <= d
        orthonormal       1 <= k <= d
        dkkz              even k >= 2, d >= 2 (k > d allowed)
        dk_cancel         k >= 3, d >= 2 (k > d allowed)
        ================  ==========================================

    rng : None, int, SeedSequence or Generator, optional
        Randomness per SPEC 7 (:func:`numpy.random.default_rng`); the same seed gives an
        identical network.
    **params
        The family's parameters (see :data:`FAMILY_PARAMETERS` and :func:`describe`):
        ``close_pair``: ``theta`` (0.05), ``scale`` (1.0); ``clump``: ``size`` (min(k, 3)),
        ``theta`` (0.05), ``residual`` (0.01); ``ill_conditioned``: ``cond`` (1e3);
        ``dk_cancel``: ``theta`` (0.1), ``extra_scale`` (1.0).

    Returns
    -------
    ReLUNetwork
        With unit weight rows and no linear term, except ``dkkz`` (which has one).

    Raises
    ------
    TypeError
        Non-string ``family``, non-integer ``d``/``k``, a parameter the family does not
        take, a parameter of the wrong type, or an unusable ``rng``.
    ValueError
        Unknown ``family``, sizes outside the family's limits, parameters out of range.

    Examples
    --------
    >>> net = make("dk_cancel", 4, 3, rng=1, theta=0.2)
    >>> exact = (0.2 - math.sin(0.2)) / math.pi
    >>> abs(float(net.norm_squared(dps=30)) / exact - 1) < 1e-12
    True
    """
    fam = _family(family, "make")
    caller = f"make({family!r})"
    d = check_int(d, "d", minimum=1, caller=caller)
    k = check_int(k, "k", minimum=1, caller=caller)
    unknown = sorted(set(params) - set(fam.params))
    if unknown:
        valid = list(fam.params) or "none"
        raise TypeError(f"{caller}: unexpected parameter(s) {unknown}; family {family!r} takes {valid}")
    message = _shape_error(family, fam, d, k)
    if message is not None:
        raise ValueError(f"{caller}: {message}")
    values = {}
    for name, spec in fam.params.items():
        values[name] = spec.check(params[name] if name in params else spec.default(k), k, name, caller)
    gen = check_rng(rng, caller=caller)
    return fam.build(gen, d, k, **values)
