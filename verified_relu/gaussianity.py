"""Does ``X`` look like ``N(0, I_d)``, the input distribution every guarantee of the learners
assumes?

:func:`gaussianity_warnings` returns the tests' findings as sentences (the command line prints
them); :class:`InputDistributionWarning` is the warning category
:class:`~verified_relu.estimator.ReLUNetworkRegressor` emits from ``fit`` with the same
findings.  A library module: it imports numpy and nothing of the user-facing layer.
"""

from __future__ import annotations

import math

import numpy as np

from ._validation import as_matrix, check_int, check_real

__all__ = ["InputDistributionWarning", "gaussianity_warnings"]


class InputDistributionWarning(UserWarning):
    """The features do not look like ``N(0, I_d)``: the learners still run, without their guarantees.

    Silence it with ``warnings.filterwarnings("ignore", category=InputDistributionWarning)``.
    """


def _findings(X, z, max_rows, caller):
    """``(n, [what, ...])``: the statistics of the first ``max_rows`` rows beyond ``z``."""
    z = check_real(z, "z", minimum=0, strict_min=True, caller=caller)
    max_rows = check_int(max_rows, "max_rows", minimum=1, caller=caller)
    if not hasattr(X, "shape"):
        X = np.asarray(X, dtype=np.float64)
    if len(X.shape) != 2:
        raise ValueError(f"{caller}: X must be 2-dimensional (n, d), got shape {X.shape}")
    X = as_matrix(X[:max_rows], "X", caller=caller, min_rows=0)  # a memory map: only these rows
    n, d = X.shape
    if n < 2:
        return n, None
    root = math.sqrt(n)
    stats = {
        "mean": root * X.mean(axis=0),
        "variance": root * ((X**2).mean(axis=0) - 1.0) / math.sqrt(2.0),
        "4th moment": root * ((X**4).mean(axis=0) - 3.0) / math.sqrt(96.0),
    }
    found = []
    for name, zs in stats.items():
        bad = np.flatnonzero(np.abs(zs) > z)
        if bad.size:
            worst = int(bad[np.argmax(np.abs(zs[bad]))])
            found.append(f"{name} of {bad.size} of {d} coordinate(s) (worst x{worst}: z = {zs[worst]:.3g})")
    if 2 <= d <= 500:
        C = root * (X.T @ X) / n
        iu = np.triu_indices(d, 1)
        off = C[iu]
        bad = np.flatnonzero(np.abs(off) > z)
        if bad.size:
            w = int(bad[np.argmax(np.abs(off[bad]))])
            found.append(f"correlation of {bad.size} pair(s) (worst x{iu[0][w]}, x{iu[1][w]}: z = {off[w]:.3g})")
    return n, found


def gaussianity_warnings(X, *, z=5.0, max_rows=200_000):
    """Warnings (a list of str, empty if none) where ``X`` does not look like ``N(0, I_d)``.

    Uses the first ``min(n, max_rows)`` rows.  For each coordinate ``x_j`` three z-scores,
    each exactly standardised under ``N(0, 1)``:

    * mean: ``sqrt(n) mean(x_j)`` (variance 1);
    * variance: ``sqrt(n) (mean(x_j^2) - 1) / sqrt(2)`` (``Var x^2 = 2``);
    * 4th moment: ``sqrt(n) (mean(x_j^4) - 3) / sqrt(96)`` (``Var x^4 = 105 - 9``);

    and for each pair ``i < j`` (when ``d <= 500``) the correlation ``sqrt(n) mean(x_i x_j)``
    (variance 1).  A statistic with ``|z-score| > z`` (default 5: two-sided probability
    ``5.7e-7`` per statistic under the null, by the normal approximation) is reported.  The
    warnings say that the learners' guarantees assume ``x ~ N(0, I_d)``.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Finite inputs (a memory map is read only in its first ``max_rows`` rows).
    z : float, default 5.0
        Threshold on ``|z-score|``, ``> 0``.
    max_rows : int, default 200000
        Rows used, ``>= 1``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> gaussianity_warnings(rng.standard_normal((5000, 3)))
    []
    >>> len(gaussianity_warnings(2.0 * rng.standard_normal((5000, 3)))) > 0
    True
    """
    n, found = _findings(X, z, max_rows, "gaussianity_warnings")
    if found is None:
        return [f"only {n} sample(s): cannot test whether x ~ N(0, I_d), which the guarantees assume"]
    return [
        f"X does not look like N(0, I_d): {what} beyond {z:g} standard errors (n = {n}); "
        "the learners' guarantees assume x ~ N(0, I_d)"
        for what in found
    ]


def _input_distribution_message(X, *, caller, z=5.0, max_rows=200_000):
    """One sentence with every finding of :func:`gaussianity_warnings`, or ``None`` if none."""
    n, found = _findings(X, z, max_rows, caller)
    if not found:  # None (fewer than 2 rows: nothing to test) or []
        return None
    return (
        f"{caller}: X does not look like N(0, I_d): {'; '.join(found)} beyond {z:g} standard errors "
        f"(n = {n} rows tested). The learners' guarantees assume x ~ N(0, I_d) (mean 0, identity "
        "covariance, no constant bias feature); the fit runs without them."
    )
