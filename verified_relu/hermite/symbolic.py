"""Exact Hermite-expansion derivations (sympy only; no floats ever enter here).

Conventions
-----------
* ``He_n`` is the probabilists' Hermite polynomial and ``h_n = He_n / sqrt(n!)`` its
  normalized version, orthonormal under the standard Gaussian ``G ~ N(0, 1)``.
* ``S_l(x)`` is the normalized Hermite tensor of order ``l`` in ``d`` variables, with entries

      S_l(x)[i_1, ..., i_l] = prod_j He_{n_j}(x_j) / sqrt(l!),

  where ``n_j`` counts how often ``j`` occurs among ``i_1..i_l``.  With this normalization
  ``<S_l(x), v^{(x)l}> = h_l(<v, x>)`` for every unit ``v`` and, for unit ``u``,
  ``E[relu(<u, x>) S_l(x)] = c_l u^{(x)l}`` with ``c_l`` the coefficient below.  (The
  tensor whose entries are ``prod_j h_{n_j}(x_j)`` is the orthonormal basis; it differs
  entrywise by ``sqrt(l! / prod_j n_j!)`` and does *not* satisfy that identity.)

What is derived here, each from first principles rather than typed in:

* :func:`relu_coefficient` -- ``c_m = E[relu(G) h_m(G)]`` by term-wise integration of
  ``He_m`` against ``relu`` using the exact half-line Gaussian moments; and
  :func:`relu_coefficient_by_parts`, the independent integration-by-parts form
  ``c_m = He_{m-2}(0) / sqrt(2 pi m!)`` for ``m >= 2``.
* :func:`abs_coefficient` -- the same for ``|z|``.
* :func:`contraction_coefficients` -- the closed form of ``S_l(x)[g, ..., g, :, :]``
  (``l - 2`` copies of a unit vector ``g``) as
  ``a_l h_l(t) g g^T + b_l h_{l-1}(t) (g y^T + y g^T) + c_l' h_{l-2}(t) (y y^T - P)``
  with ``t = <g, x>``, ``P = I - g g^T``, ``y = P x``;
  :func:`verify_contraction_identity` checks it against the definition of ``S_l``.
* :func:`relu_kernel`, :func:`abs_kernel`, :func:`relu_linear_kernel` -- the Gaussian
  kernels ``E[relu(<u,x>) relu(<v,x>)]``, ``E[|<u,x>| |<v,x>|]``, ``E[relu(<u,x>) <v,x>]``
  for arbitrary (not only unit) ``u, v``, by integration in polar coordinates.

Running ``python -m verified_relu.hermite.symbolic --regenerate`` writes the exact constants
that the numeric layer uses into ``verified_relu/hermite/_generated.py``; ``--check`` compares
the checked-in file with a fresh derivation byte for byte.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import os
import sys
import tempfile
from pathlib import Path

import sympy as sp

__all__ = [
    "hermite_he",
    "hermite_h",
    "gaussian_half_moment",
    "relu_coefficient",
    "relu_coefficient_by_parts",
    "abs_coefficient",
    "coefficient_parts",
    "hermite_tensor",
    "contraction_coefficients",
    "contraction_closed_form",
    "contract_tensor",
    "stereographic_unit_vector",
    "verify_contraction_identity",
    "relu_kernel",
    "abs_kernel",
    "relu_linear_kernel",
    "render_generated_module",
    "GENERATED_MAX_COEFFICIENT_DEGREE",
    "GENERATED_MAX_CONTRACTION_DEGREE",
]

#: Degrees up to which exact ReLU/abs coefficients are written to ``_generated.py``.
GENERATED_MAX_COEFFICIENT_DEGREE = 64
#: Orders up to which the contraction-identity scales are written to ``_generated.py``.
GENERATED_MAX_CONTRACTION_DEGREE = 128

_t = sp.Symbol("t", real=True)
_x = sp.Symbol("x", real=True)


# --------------------------------------------------------------------------- validation
def _degree(m, name="m", minimum=0):
    """Validate an exact non-negative integer degree (no floats, no bools)."""
    if isinstance(m, bool) or not isinstance(m, (int, sp.Integer)):
        raise TypeError(f"{name} must be an int, got {type(m).__name__} ({m!r})")
    m = int(m)
    if m < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {m}")
    return m


def _exact(value, name):
    """Reject floats: the symbolic layer works with exact numbers only."""
    if isinstance(value, float) or (isinstance(value, sp.Basic) and value.has(sp.Float)):
        raise TypeError(f"{name} must be exact (int, Rational or sympy expression), got float {value!r}")
    return sp.sympify(value)


# --------------------------------------------------------------------------- Hermite polynomials
@functools.cache
def _he_poly(n):
    # Three-term recurrence He_{n+1} = x He_n - n He_{n-1}, in exact integer arithmetic.
    if n == 0:
        return sp.Poly(1, _x)
    prev, cur = sp.Poly(1, _x), sp.Poly(_x, _x)
    for j in range(1, n):
        prev, cur = cur, cur * sp.Poly(_x, _x) - j * prev
    return cur


def hermite_he(n, arg=_x):
    """Probabilists' Hermite polynomial ``He_n(arg)`` (exact integer coefficients)."""
    n = _degree(n, "n")
    return _he_poly(n).as_expr().subs(_x, _exact(arg, "arg"))


def hermite_h(n, arg=_x):
    """Normalized Hermite polynomial ``h_n(arg) = He_n(arg) / sqrt(n!)``."""
    n = _degree(n, "n")
    return hermite_he(n, arg) / sp.sqrt(sp.factorial(n))


@functools.cache
def gaussian_half_moment(j):
    """``E[G^j 1{G > 0}] = int_0^oo x^j phi(x) dx = 2^{(j-1)/2} Gamma((j+1)/2) / sqrt(2 pi)``.

    The closed form is the substitution ``u = x^2/2`` in the Gamma integral; the test suite
    checks it against ``sympy.integrate`` for small ``j``.
    """
    j = _degree(j, "j")
    return sp.simplify(2 ** sp.Rational(j - 1, 2) * sp.gamma(sp.Rational(j + 1, 2)) / sp.sqrt(2 * sp.pi))


def _integrate_against(m, weight_moment):
    """``E[f(G) He_m(G)] / sqrt(m!)`` given ``weight_moment(j) = E[f(G) G^j]``."""
    poly = _he_poly(m)
    total = sp.Integer(0)
    for (power,), coeff in poly.terms():
        total += sp.Integer(coeff) * weight_moment(power)
    return sp.expand(total / sp.sqrt(sp.factorial(m)))


@functools.cache
def relu_coefficient(m):
    """Exact ``c_m = E[relu(G) h_m(G)]``, ``h_m = He_m / sqrt(m!)``, ``G ~ N(0, 1)``.

    Derived by expanding ``He_m`` in monomials and integrating each against ``relu`` with
    the exact half-line Gaussian moments: ``E[relu(G) G^j] = E[G^{j+1} 1{G>0}]``.

    Examples
    --------
    >>> relu_coefficient(0), relu_coefficient(1), relu_coefficient(2)
    (sqrt(2)/(2*sqrt(pi)), 1/2, 1/(2*sqrt(pi)))
    >>> relu_coefficient(3)
    0
    """
    m = _degree(m, "m")
    return _integrate_against(m, lambda j: gaussian_half_moment(j + 1))


@functools.cache
def relu_coefficient_by_parts(m):
    """``c_m`` by Gaussian integration by parts: ``E[f(G) He_m(G)] = E[f^{(m)}(G)]``.

    With ``relu'' = delta_0`` this gives ``c_m = He_{m-2}(0) phi(0) / sqrt(m!)`` for
    ``m >= 2``; ``c_0 = E[relu(G)] = phi(0)`` and ``c_1 = E[relu'(G)] = 1/2``.  An
    independent route to :func:`relu_coefficient`.
    """
    m = _degree(m, "m")
    phi0 = 1 / sp.sqrt(2 * sp.pi)
    if m == 0:
        return phi0
    if m == 1:
        return sp.Rational(1, 2)
    return sp.expand(hermite_he(m - 2, 0) * phi0 / sp.sqrt(sp.factorial(m)))


@functools.cache
def abs_coefficient(m):
    """Exact ``E[|G| h_m(G)]`` by term-wise integration with ``E|G|^j`` (zero for odd ``m``)."""
    m = _degree(m, "m")
    return _integrate_against(m, lambda j: 2 * gaussian_half_moment(j + 1) if j % 2 == 0 else sp.Integer(0))


def coefficient_parts(value):
    """Split an exact coefficient ``s * sqrt(q / pi**e)`` into ``(s, q, e)``.

    ``s`` in ``{-1, 0, 1}``, ``q`` a non-negative Rational, ``e`` in ``{0, 1}``.  Raises
    ``ValueError`` if ``value`` is not of that form (every ReLU/abs coefficient is).
    """
    value = _exact(value, "value")
    if value == 0:
        return 0, sp.Integer(0), 0
    sq = sp.expand(value**2)
    for e in (0, 1):
        q = sp.simplify(sq * sp.pi**e)
        if q.is_Rational:
            s = 1 if value.is_positive else -1
            if value.is_positive is None:
                raise ValueError(f"cannot determine the sign of {value}")
            return s, q, e
    raise ValueError(f"{value} is not of the form s*sqrt(q/pi**e) with rational q")


# --------------------------------------------------------------------------- Hermite tensors
def hermite_tensor(l, xs):
    """The normalized Hermite tensor ``S_l(x)`` as a sympy ``MutableDenseNDimArray``.

    ``xs`` is a sequence of ``d`` sympy symbols (or exact values).  Entry
    ``[i_1..i_l] = prod_j He_{n_j}(x_j) / sqrt(l!)``.  Size ``d**l``: for small ``d, l``.
    """
    l = _degree(l, "l")
    xs = [_exact(v, "xs") for v in xs]
    d = len(xs)
    if d == 0:
        raise ValueError("xs must contain at least one variable")
    if d**l > 10**5:
        raise ValueError(f"hermite_tensor: d**l = {d**l} entries is too many for exact work (limit 1e5)")
    norm = 1 / sp.sqrt(sp.factorial(l))
    if l == 0:
        return sp.Array(norm)
    arr = sp.MutableDenseNDimArray.zeros(*([d] * l))
    cache = {}
    for idx in itertools.product(range(d), repeat=l):
        counts = tuple(idx.count(j) for j in range(d))
        if counts not in cache:
            cache[counts] = sp.expand(norm * sp.Mul(*[hermite_he(n, xs[j]) for j, n in enumerate(counts)]))
        arr[idx] = cache[counts]
    return arr


def contract_tensor(tensor, g, times):
    """Contract the first ``times`` modes of a sympy array with the vector ``g``."""
    out = tensor
    for _ in range(times):
        shape = out.shape
        d = shape[0]
        rest = shape[1:]
        if not rest:
            return sp.expand(sum(g[i] * out[i] for i in range(d)))
        new = sp.MutableDenseNDimArray.zeros(*rest)
        for idx in itertools.product(*[range(s) for s in rest]):
            new[idx] = sum(g[i] * out[(i,) + idx] for i in range(d))
        out = new
    return out


@functools.cache
def contraction_coefficients(l):
    """Derive ``(a_l, b_l, c_l)`` with, for unit ``g``,

    ``S_l(x)[g^{l-2}, :, :] = a_l h_l(t) g g^T + b_l h_{l-1}(t) (g y^T + y g^T)
    + c_l h_{l-2}(t) (y y^T - P)``,  ``t = <g,x>``, ``P = I - g g^T``, ``y = P x``.

    Derivation: ``S_l`` is rotation-equivariant, so it suffices to take ``g = e_1`` in
    ``d = 3``.  There the entries ``(1,1)``, ``(1,2)``, ``(2,2)``, ``(2,3)`` of the
    contraction come straight from the definition of ``S_l``; matching them against the
    ansatz (which the ``(2,2)``/``(2,3)`` pair over-determines) gives the three constants,
    each checked to be independent of ``t`` and ``y``.  Returns exact sympy numbers.
    (For general ``g`` see :func:`verify_contraction_identity`.)
    """
    l = _degree(l, "l", minimum=2)
    t, y2, y3 = sp.symbols("t y2 y3", real=True)
    norm = 1 / sp.sqrt(sp.factorial(l))

    def entry(counts):  # S_l entry with multiplicities (n_1, n_2, n_3) at x = (t, y2, y3)
        return norm * hermite_he(counts[0], t) * hermite_he(counts[1], y2) * hermite_he(counts[2], y3)

    e11 = entry((l, 0, 0))
    e12 = entry((l - 1, 1, 0))
    e22 = entry((l - 2, 2, 0))
    e23 = entry((l - 2, 1, 1))
    a = sp.simplify(e11 / hermite_h(l, t))
    b = sp.simplify(e12 / (hermite_h(l - 1, t) * y2))
    c = sp.simplify(e22 / (hermite_h(l - 2, t) * (y2**2 - 1)))
    c_check = sp.simplify(e23 / (hermite_h(l - 2, t) * y2 * y3))
    for name, val in (("a", a), ("b", b), ("c", c)):
        if val.free_symbols:
            raise ArithmeticError(f"contraction ansatz failed at l={l}: {name}={val} depends on x")
    if sp.simplify(c - c_check) != 0:
        raise ArithmeticError(f"contraction ansatz inconsistent at l={l}: {c} != {c_check}")
    return sp.radsimp(a), sp.radsimp(b), sp.radsimp(c)


def contraction_closed_form(l, g, xs):
    """The closed form of ``S_l(x)[g^{l-2}, :, :]`` as an explicit sympy Matrix."""
    l = _degree(l, "l", minimum=2)
    g = sp.Matrix([_exact(v, "g") for v in g])
    x = sp.Matrix([_exact(v, "xs") for v in xs])
    if g.shape != x.shape:
        raise ValueError(f"g and xs must have the same length, got {g.shape[0]} and {x.shape[0]}")
    d = g.shape[0]
    a, b, c = contraction_coefficients(l)
    t = (g.T * x)[0, 0]
    proj = sp.eye(d) - g * g.T
    y = proj * x
    return (
        a * hermite_h(l, t) * g * g.T
        + b * hermite_h(l - 1, t) * (g * y.T + y * g.T)
        + c * hermite_h(l - 2, t) * (y * y.T - proj)
    )


def stereographic_unit_vector(params):
    """An exactly unit vector in ``R^{len(params)+1}`` that is rational in ``params``.

    Inverse stereographic projection: ``(2 p, 1 - |p|^2) / (1 + |p|^2)``.  With symbols as
    parameters this is a *generic* unit vector, so identities verified with it hold for
    every unit vector (minus the pole, by continuity).
    """
    ps = [_exact(p, "params") for p in params]
    s = sum(p**2 for p in ps)
    return [2 * p / (1 + s) for p in ps] + [(1 - s) / (1 + s)]


def verify_contraction_identity(l, d, g=None):
    """Exact check of the closed form against the definition of ``S_l`` for one ``(l, d)``.

    ``g`` defaults to a generic symbolic unit vector (:func:`stereographic_unit_vector` in
    ``d - 1`` parameters).  Returns the simplified difference matrix, which is zero exactly
    when the identity holds.
    """
    l = _degree(l, "l", minimum=2)
    d = _degree(d, "d", minimum=1)
    xs = sp.symbols(f"x0:{d}", real=True)
    if g is None:
        g = stereographic_unit_vector(sp.symbols(f"p0:{d - 1}", real=True)) if d > 1 else [sp.Integer(1)]
    g = [_exact(v, "g") for v in g]
    if len(g) != d:
        raise ValueError(f"g must have length d={d}, got {len(g)}")
    full = contract_tensor(hermite_tensor(l, xs), g, l - 2)
    closed = contraction_closed_form(l, g, xs)
    diff = sp.Matrix(d, d, lambda i, j: sp.cancel(sp.together(full[i, j] - closed[i, j])))
    return diff


# --------------------------------------------------------------------------- Gaussian kernels
_nu, _nv = sp.symbols("nu nv", nonnegative=True)
_theta = sp.Symbol("theta", real=True)
_phi, _r = sp.symbols("phi r", real=True)


def _radial_factor():
    # E over the 2-D Gaussian in polar coordinates: density r exp(-r^2/2) / (2 pi) dr dphi,
    # and a product of two degree-1 homogeneous functions contributes r^2.
    return sp.integrate(_r**3 * sp.exp(-(_r**2) / 2), (_r, 0, sp.oo)) / (2 * sp.pi)


@functools.cache
def relu_kernel():
    """``E[relu(<u,x>) relu(<v,x>)]`` for ``|u| = nu``, ``|v| = nv`` at angle ``theta in [0, pi]``.

    Derived in the plane of ``u, v`` with ``u`` along ``phi = 0``: both factors are positive
    for ``phi in (theta - pi/2, pi/2)``.  Returns an expression in the symbols
    ``nu, nv, theta``; equals ``nu nv (sin(theta) + (pi - theta) cos(theta)) / (2 pi)``.
    """
    ang = sp.integrate(sp.cos(_phi) * sp.cos(_phi - _theta), (_phi, _theta - sp.pi / 2, sp.pi / 2))
    return sp.simplify(_nu * _nv * _radial_factor() * ang)


@functools.cache
def abs_kernel():
    """``E[|<u,x>| |<v,x>|]`` in the symbols ``nu, nv, theta`` (``theta in [0, pi]``).

    On the circle the two factors have equal signs on arcs of total length ``2 (pi - theta)``
    and opposite signs on arcs of total length ``2 theta``.
    """
    cc = sp.cos(_phi) * sp.cos(_phi - _theta)
    same = sp.integrate(cc, (_phi, _theta - sp.pi / 2, sp.pi / 2))
    opposite = sp.integrate(cc, (_phi, -sp.pi / 2, _theta - sp.pi / 2))
    return sp.simplify(_nu * _nv * _radial_factor() * 2 * (same - opposite))


@functools.cache
def relu_linear_kernel():
    """``E[relu(<u,x>) <v,x>]`` in the symbols ``nu, nv, theta``; equals ``nu nv cos(theta) / 2``."""
    ang = sp.integrate(sp.cos(_phi) * sp.cos(_phi - _theta), (_phi, -sp.pi / 2, sp.pi / 2))
    return sp.simplify(_nu * _nv * _radial_factor() * ang)


# --------------------------------------------------------------------------- generated module
_HEADER = '''"""Exact constants used by the numeric layer.

GENERATED by ``python -m verified_relu.hermite.symbolic --regenerate``; DO NOT EDIT.
A test regenerates this file and compares it byte for byte.

Every coefficient is stored exactly as ``(s, num, den, e)`` meaning
``s * sqrt(num / den / pi**e)``.  Conventions: ``h_m = He_m / sqrt(m!)`` (probabilists'
Hermite, normalized); ``S_l`` the normalized Hermite tensor.
"""
'''


def _fmt_coeff(value):
    s, q, e = coefficient_parts(value)
    q = sp.Rational(q)
    return f"({s}, {q.p}, {q.q}, {e})"


def render_generated_module():
    """Return the text of ``_generated.py`` (deterministic; pure function of the derivations)."""
    mc = GENERATED_MAX_COEFFICIENT_DEGREE
    ml = GENERATED_MAX_CONTRACTION_DEGREE
    lines = [_HEADER]
    lines.append(f"MAX_COEFFICIENT_DEGREE = {mc}")
    lines.append(f"MAX_CONTRACTION_DEGREE = {ml}")
    lines.append("")
    lines.append("# c_m = E[relu(G) h_m(G)], m = 0..MAX_COEFFICIENT_DEGREE")
    lines.append("RELU_COEFFICIENTS = (")
    for m in range(mc + 1):
        lines.append(f"    {_fmt_coeff(relu_coefficient(m))},  # m = {m}")
    lines.append(")")
    lines.append("")
    lines.append("# E[|G| h_m(G)], m = 0..MAX_COEFFICIENT_DEGREE")
    lines.append("ABS_COEFFICIENTS = (")
    for m in range(mc + 1):
        lines.append(f"    {_fmt_coeff(abs_coefficient(m))},  # m = {m}")
    lines.append(")")
    lines.append("")
    lines.append("# Beyond the table: c_{m+2} = c_m * RATIO(m), derived from the by-parts form.")
    m = sp.Symbol("m", integer=True, positive=True)
    ratio = _coefficient_ratio(m)
    lines.append(f'RELU_COEFFICIENT_RATIO = "{sp.sstr(ratio)}"')
    lines.append("")
    lines.append("# S_l(x)[g^{l-2}] = a h_l(t) gg^T + b h_{l-1}(t) (gy^T + yg^T) + c h_{l-2}(t) (yy^T - P)")
    lines.append("# rows: (l, a, b, c), l = 2..MAX_CONTRACTION_DEGREE")
    lines.append("CONTRACTION_SCALES = (")
    for l in range(2, ml + 1):
        a, b, c = contraction_coefficients(l)
        lines.append(f"    ({l}, {_fmt_coeff(a)}, {_fmt_coeff(b)}, {_fmt_coeff(c)}),")
    lines.append(")")
    lines.append("")
    lines.append("# Gaussian kernels for |u| = nu, |v| = nv at angle theta (derived in polar coordinates)")
    lines.append(f'RELU_KERNEL = "{sp.sstr(relu_kernel())}"')
    lines.append(f'ABS_KERNEL = "{sp.sstr(abs_kernel())}"')
    lines.append(f'RELU_LINEAR_KERNEL = "{sp.sstr(relu_linear_kernel())}"')
    lines.append("")
    return "\n".join(lines)


def _coefficient_ratio(m):
    """``c_{m+2} / c_m`` for symbolic ``m >= 2`` from the by-parts form and ``He_m(0) = -(m-1) He_{m-2}(0)``."""
    he_ratio = -(m - 1)  # He_m(0) / He_{m-2}(0), from He_{m}(x) = x He_{m-1}(x) - (m-1) He_{m-2}(x) at x = 0
    return sp.simplify(he_ratio * sp.sqrt(sp.factorial(m) / sp.factorial(m + 2)))


GENERATED_PATH = Path(__file__).with_name("_generated.py")


def write_generated(path=GENERATED_PATH):
    """Atomically (re)write the generated module."""
    text = render_generated_module()
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp_generated_", suffix=".py")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m verified_relu.hermite.symbolic", description=__doc__.split("\n")[0]
    )
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--regenerate", action="store_true", help="rewrite verified_relu/hermite/_generated.py")
    group.add_argument(
        "--check", action="store_true", help="exit 1 if the checked-in file differs from a fresh derivation"
    )
    args = parser.parse_args(argv)
    if args.regenerate:
        print(f"wrote {write_generated()}")
        return 0
    fresh = render_generated_module()
    current = GENERATED_PATH.read_text(encoding="utf-8") if GENERATED_PATH.exists() else ""
    if fresh != current:
        print(f"{GENERATED_PATH.name} is out of date: run with --regenerate", file=sys.stderr)
        return 1
    print(f"{GENERATED_PATH.name} is up to date")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
