"""Guaranteed enclosures (Arb balls) of the package's exact quantities.

Every function takes float64 inputs as the exact binary numbers they are and returns a
``flint.arb`` ball (or a numpy object array of them) that contains the exact real value;
``ball.mid()`` and ``ball.rad()`` are its midpoint and radius, :func:`ball` gives outward-rounded
floats.  Work is done at ``prec`` bits (default 128) inside a scope that restores python-flint's
global precision afterwards.

Accuracy: for well-conditioned inputs the relative radius is at most ``2^-(prec - 20)`` (a few
ulps at ``prec`` bits in practice).  Where the exact value is zero the radius is zero when the
zero is structural (``c_m`` for odd ``m >= 3``, ``h_n(0)`` for odd ``n``); where a value
*cancels* (``norm_squared`` of cancelling neurons, ``squared_distance`` between nearly equal
networks, the kernels near ``rho = -1``, a sample loss of an exact fit) the radius is absolute:
a few ulps at ``prec`` bits of the size of the terms, e.g. ``(sum_i |mu_i| |w_i| + |a|)^2`` for
``norm_squared``, ``sum_a (|F(x_a)| + |y_a|)^2`` for ``sample_loss``.

Conventions: ``h_n = He_n / sqrt(n!)`` (probabilists' Hermite, normalized); ``c_m =
E[relu(G) h_m(G)]``; ``S_l`` the normalized Hermite tensor, so ``E[relu(<u,x>) S_l(x)] = c_l
u^{(x)l}`` for unit ``u``.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np

from .._validation import as_matrix, as_vector, check_int
from ..network import CanonicalNetwork, ReLUNetwork, check_unit_vector
from . import _arb
from ._arb import ball, check_prec, exact, working_precision

__all__ = [
    "abs_kernel",
    "ball",
    "hermite_normalized",
    "moment_contraction",
    "norm_squared",
    "relu_coefficient",
    "relu_kernel",
    "sample_loss",
    "squared_distance",
]

#: Largest Hermite degree :func:`hermite_normalized` accepts (exact rational recurrence).
MAX_HERMITE_DEGREE = 5000


def _setup(prec, caller):
    flint = _arb.require_flint(caller)
    return flint, check_prec(prec, caller)


def relu_coefficient(m, *, prec=_arb.DEFAULT_PREC):
    """``c_m = E[relu(G) h_m(G)]`` as a ball.

    ``c_0 = 1/sqrt(2 pi)``, ``c_1 = 1/2``, ``c_m = 0`` exactly (radius 0) for odd ``m >= 3``, and
    ``c_m = (-1)^(m/2+1) (m-3)!! / sqrt(2 pi m!)`` for even ``m >= 2`` (integration by parts,
    ``relu'' = delta_0``; derived in :mod:`verified_relu.hermite.symbolic`).

    >>> b = relu_coefficient(4)          # -sqrt(3)/(12 sqrt(pi)) = -0.0814...
    >>> round(float(b.mid()), 12)
    -0.081433751984
    """
    flint, prec = _setup(prec, "relu_coefficient")
    m = check_int(m, "m", minimum=0, caller="relu_coefficient")
    with working_precision(prec):
        if m == 1:
            return flint.arb(1) / 2
        if m % 2 == 1:
            return flint.arb(0)
        two_pi = 2 * flint.arb.pi()
        if m == 0:
            return 1 / two_pi.sqrt()
        dfact = flint.fmpz(1)
        for j in range(m - 3, 0, -2):
            dfact *= j
        sign = 1 if (m // 2 + 1) % 2 == 0 else -1
        return sign * flint.arb(dfact) / (two_pi * flint.arb.fac_ui(m)).sqrt()


def hermite_normalized(n, x, *, prec=_arb.DEFAULT_PREC):
    """``h_n(x) = He_n(x) / sqrt(n!)`` as a ball, for a float64 (or int, or Fraction) ``x``.

    ``He_n(x)`` is computed exactly in rational arithmetic by the three-term recurrence
    ``He_{j+1} = x He_j - j He_{j-1}`` (a float64 ``x`` is a binary rational), then rounded once
    and divided by ``sqrt(n!)``: the relative radius is a few ulps at ``prec`` bits for every
    ``x``, also next to the roots of ``He_n``, and exact zeros (odd ``n`` at ``x = 0``) have
    radius 0.  ``n <= 5000``.

    >>> float(hermite_normalized(2, 1.0).mid())      # (1 - 1) / sqrt(2)
    0.0
    >>> round(float(hermite_normalized(3, 2.0).mid()), 12)   # (8 - 6) / sqrt(6)
    0.816496580928
    """
    flint, prec = _setup(prec, "hermite_normalized")
    n = check_int(n, "n", minimum=0, maximum=MAX_HERMITE_DEGREE, caller="hermite_normalized")
    xq = _rational(x, "x", "hermite_normalized")
    prev, cur = flint.fmpq(0), flint.fmpq(1)
    for j in range(n):
        prev, cur = cur, xq * cur - j * prev
    with working_precision(prec):
        value = flint.arb(cur)
        return value if n < 2 else value / flint.arb.fac_ui(n).sqrt()


def _rational(x, name, caller):
    """``x`` as an exact ``flint.fmpq`` (floats are binary rationals)."""
    from fractions import Fraction

    import flint

    if isinstance(x, bool):
        raise TypeError(f"{caller}: {name} must be a real number, got bool")
    if isinstance(x, Integral):
        return flint.fmpq(int(x))
    if isinstance(x, Fraction):
        return flint.fmpq(x.numerator, x.denominator)
    try:
        v = float(x)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{caller}: {name} must be a real number, got {type(x).__name__}") from exc
    if not np.isfinite(v):
        raise ValueError(f"{caller}: {name} must be finite, got {v!r}")
    num, den = v.as_integer_ratio()
    return flint.fmpq(num, den)


def _cosine(rho, caller):
    r = _rational(rho, "rho", caller)
    if r > 1 or r < -1:
        raise ValueError(f"{caller}: rho is a cosine and must lie in [-1, 1], got {float(r)!r}")
    import flint

    return flint.arb(r)


def relu_kernel(rho, *, prec=_arb.DEFAULT_PREC):
    """``E[relu(<u,x>) relu(<v,x>)]`` for unit ``u, v`` with ``<u, v> = rho``, as a ball.

    ``(sqrt(1 - rho^2) + (pi - arccos rho) rho) / (2 pi)`` (the arc-cosine kernel; ``rho`` a
    float64, int or Fraction in ``[-1, 1]``).  Near ``rho = -1`` the value is
    ``~ (pi - t)^3 / (6 pi)`` and cancels: the radius there is absolute, a few ulps of 1.

    >>> round(float(relu_kernel(0.0).mid()), 15)    # 1 / (2 pi)
    0.159154943091895
    """
    flint, prec = _setup(prec, "relu_kernel")
    with working_precision(prec + 10):
        r = _cosine(rho, "relu_kernel")
        pi = flint.arb.pi()
        value = ((1 - r * r).nonnegative_part().sqrt() + (pi - r.acos()) * r) / (2 * pi)
    with working_precision(prec):
        return +value


def abs_kernel(rho, *, prec=_arb.DEFAULT_PREC):
    """``E[|<u,x>| |<v,x>|] = (2/pi) (sqrt(1 - rho^2) + rho arcsin rho)`` for unit ``u, v`` with
    ``<u, v> = rho``, as a ball.

    >>> round(float(abs_kernel(1.0).mid()), 15)     # E[G^2]
    1.0
    """
    flint, prec = _setup(prec, "abs_kernel")
    with working_precision(prec + 10):
        r = _cosine(rho, "abs_kernel")
        value = 2 * ((1 - r * r).nonnegative_part().sqrt() + r * r.asin()) / flint.arb.pi()
    with working_precision(prec):
        return +value


# ------------------------------------------------------------------------------ network functionals
def _as_network(net, name, caller):
    """A ReLUNetwork or CanonicalNetwork (a LearnResult's network); the canonical form is kept
    as it is and converted exactly, in ball arithmetic, by :func:`_exact_params`."""
    net = getattr(net, "network", net)
    if not isinstance(net, (ReLUNetwork, CanonicalNetwork)):
        raise TypeError(f"{caller}: {name} must be a ReLUNetwork or CanonicalNetwork, got {type(net).__name__}")
    return net


def _exact_params(net):
    """``(W, mu, a)`` as arb, exactly: for a CanonicalNetwork ``<w,x> + sum lambda_i |<u_i,x>|``
    the neurons ``(2 lambda_i, u_i)`` and the linear term ``w - sum_i lambda_i u_i`` (as
    :meth:`CanonicalNetwork.to_network`, but without its float64 rounding)."""
    if isinstance(net, CanonicalNetwork):
        U = [[exact(v) for v in row] for row in net.directions.tolist()]
        lam = [exact(v) for v in net.coefficients.tolist()]
        a = [exact(v) for v in net.linear.tolist()]
        for lv, row in zip(lam, U):
            a = [p - lv * q for p, q in zip(a, row)]
        return U, [2 * lv for lv in lam], a
    W = [[exact(v) for v in row] for row in net.weights.tolist()]
    mu = [exact(v) for v in net.coefficients.tolist()]
    a = [exact(v) for v in net.linear.tolist()]
    return W, mu, a


def _ipow(x, e):
    """``x**e`` by repeated multiplication (Arb's ``**`` goes through logarithms and gives NaN
    for balls that contain 0 or negative numbers)."""
    out = exact(1)
    for _ in range(e):
        out = out * x
    return out


def _dot(p, q):
    total = 0
    for s, t in zip(p, q):
        total += s * t
    return total


def norm_squared_balls(W, mu, a):
    """``E[F(x)^2]`` for ``F = sum_i mu_i relu(<w_i,x>) + <a,x>`` with ball parameters.

    ``W``: rows of arb, ``mu``: arb, ``a``: arb (any balls; the result contains the value for
    every choice of parameters in them).  Angles by Kahan's formula
    ``theta = 2 atan2(|u - v|, |u + v|)`` on the unit rows; ``K_ii = |w_i|^2 / 2`` exactly.
    Works at the current flint precision.
    """
    import flint

    k = len(W)
    sq = [_dot(row, row) for row in W]
    norms = [s.nonnegative_part().sqrt() for s in sq]
    units = [[v / nv for v in row] for row, nv in zip(W, norms)]
    pi = flint.arb.pi()
    total = _dot(a, a)
    for i in range(k):
        total += mu[i] * _dot(W[i], a)
        total += mu[i] * mu[i] * sq[i] / 2
        for j in range(i + 1, k):
            dn = _dot(diff := [p - q for p, q in zip(units[i], units[j])], diff).nonnegative_part().sqrt()
            sn = _dot(summ := [p + q for p, q in zip(units[i], units[j])], summ).nonnegative_part().sqrt()
            t = 2 * flint.arb.atan2(dn, sn)
            kern = (t.sin() + (pi - t) * t.cos()) / (2 * pi)
            total += 2 * mu[i] * mu[j] * norms[i] * norms[j] * kern
    return total


def norm_squared(network, *, prec=_arb.DEFAULT_PREC):
    """``E[F(x)^2]`` under ``x ~ N(0, I_d)`` as a ball (closed form, arc-cosine kernel).

    The radius is relative for a network of the size of its terms and absolute, a few ulps at
    ``prec`` bits of ``(sum_i |mu_i| |w_i| + |a|)^2``, when the neurons cancel.

    >>> from verified_relu import ReLUNetwork
    >>> b = norm_squared(ReLUNetwork([[1.0, 0.0]], [2.0]))     # 4 E[relu(G)^2] = 2
    >>> b.contains(2), float(b.rad()) < 1e-30
    (True, True)
    """
    _, prec = _setup(prec, "norm_squared")
    net = _as_network(network, "network", "norm_squared")
    with working_precision(prec + 20):
        value = norm_squared_balls(*_exact_params(net))
    with working_precision(prec):
        return +value


def squared_distance(network, other, *, prec=_arb.DEFAULT_PREC):
    """``E[(F(x) - G(x))^2]`` as a ball: the norm of the network with both neuron sets
    (``G``'s coefficients negated).  The radius is absolute when ``F`` and ``G`` nearly agree
    (a few ulps at ``prec`` bits of the size of their terms); the lower end is clamped at 0."""
    _, prec = _setup(prec, "squared_distance")
    net = _as_network(network, "network", "squared_distance")
    oth = _as_network(other, "other", "squared_distance")
    if oth.d != net.d:
        raise ValueError(f"squared_distance: other has input dimension {oth.d}, expected d = {net.d}")
    with working_precision(prec + 20):
        W1, mu1, a1 = _exact_params(net)
        W2, mu2, a2 = _exact_params(oth)
        value = norm_squared_balls(W1 + W2, mu1 + [-m for m in mu2], [p - q for p, q in zip(a1, a2)])
        value = value.nonnegative_part()
    with working_precision(prec):
        return +value


def moment_contraction(network, l, g=None, *, prec=_arb.DEFAULT_PREC):
    """``E[F(x) S_l(x)]`` contracted with ``g`` in its first ``l - 2`` modes, as balls.

    ``l = 0``: the ball ``E[F] = c_0 sum_i mu_i |w_i|``; ``l = 1``: a ``(d,)`` object array,
    ``E[F x] = sum_i mu_i w_i / 2 + a``; ``l >= 2``: the ``(d, d)`` object array
    ``c_l sum_i mu_i |w_i| <u_i, g>^(l-2) u_i u_i^T`` (``u_i = w_i / |w_i|``).  ``g`` must be a
    unit vector to 1e-10 (as for :meth:`ReLUNetwork.moment_contraction`) and is used as the exact
    float64 vector it is: the contraction is multilinear, so the ball contains the exact value
    for that ``g``.
    """
    _, prec = _setup(prec, "moment_contraction")
    net = _as_network(network, "network", "moment_contraction")
    l = check_int(l, "l", minimum=0, caller="moment_contraction")
    d = net.d
    if l >= 2:
        if g is None and l == 2:
            g = np.eye(d)[0]
        g = check_unit_vector(g, d, caller="moment_contraction")
    with working_precision(prec + 20):
        W, mu, a = _exact_params(net)
        if l == 1:
            out = [sum((m * row[t] for m, row in zip(mu, W)), exact(0)) / 2 + a[t] for t in range(d)]
        else:
            c = relu_coefficient(l, prec=prec + 20)
            norms = [_dot(row, row).sqrt() for row in W]
            if l == 0:
                out = c * sum((m * nv for m, nv in zip(mu, norms)), exact(0))
            else:
                gb = [exact(v) for v in g.tolist()]
                out = [[exact(0)] * d for _ in range(d)]
                for row, m, nv in zip(W, mu, norms):
                    u = [v / nv for v in row]
                    s = c * m * nv * _ipow(_dot(u, gb), l - 2)
                    for p in range(d):
                        for q in range(p, d):
                            out[p][q] += s * u[p] * u[q]
                for p in range(d):
                    for q in range(p):
                        out[p][q] = out[q][p]
    with working_precision(prec):
        if l == 0:
            return +out
        return (
            np.array([[+v for v in row] for row in out], dtype=object)
            if l >= 2
            else np.array([+v for v in out], dtype=object)
        )


def sample_loss(network, X, y, *, prec=_arb.DEFAULT_PREC):
    """``sum_a (F(x_a) - y_a)^2`` over the rows of ``X`` as a ball (data taken exactly).

    The products ``X W^T`` are Arb matrix products; each ``relu`` is taken on a ball (a ball
    straddling 0 gives ``[0, upper]``).  The radius is absolute, a few ulps at ``prec`` bits of
    ``sum_a (|F(x_a)| + |y_a|)^2``, when the fit is exact.

    >>> from verified_relu import ReLUNetwork
    >>> net = ReLUNetwork([[1.0, 0.0]], [1.0])
    >>> sample_loss(net, [[2.0, 5.0], [-1.0, 0.0]], [1.5, 0.25]).contains(0.25 + 0.0625)
    True
    """
    flint, prec = _setup(prec, "sample_loss")
    net = _as_network(network, "network", "sample_loss")
    X = as_matrix(X, "X", cols=net.d, caller="sample_loss")
    y = as_vector(y, "y", length=X.shape[0], caller="sample_loss")
    with working_precision(prec + 20):
        W, mu, a = _exact_params(net)
        Xa = _arb.arb_matrix(X)
        Z = Xa * flint.arb_mat(W).transpose()
        R = flint.arb_mat([[_arb.relu(z) for z in row] for row in _arb.entries(Z).tolist()])
        F = R * _arb.column(mu) + Xa * _arb.column(a)
        r = F - _arb.arb_matrix(y[:, None])
        value = (r.transpose() * r)[0, 0]
    with working_precision(prec):
        return +value
