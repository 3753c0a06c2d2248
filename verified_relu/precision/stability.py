"""Numerical-stability report: each learner step in float64 and at ``dps`` digits on the same samples.

Per step the report gives the quantity, a representative value in both precisions (the
largest-magnitude entry; the JSON has every entry), the normwise relative difference, a
condition estimate, the digits float64 lost (``log10(rel_diff / 2^-53)``, at least 0) and the
digits the condition estimate predicts it loses (``log10(condition)``).  A row is **flagged**
when float64 lost at least :data:`FLAG_DIGITS_LOST` digits, i.e. kept fewer than about half
of its 16.  The refinement row is marked ``comparable: False`` (never flagged) when the mp
Gauss-Newton did not converge: two optimisers started outside a basin end at different points,
which says nothing about rounding.

Steps are compared **locally**: both precisions receive the same float64 input (the samples,
and for later steps the float64 rounding of the mp result of the earlier step, or the float64
learner's directions), so each row measures that step's own loss of digits, not the
accumulated history.

Condition estimates:

* moments: ``envelope / scale``, the mean of ``|per-sample term|`` over the largest
  ``|estimate|`` entry (summation cancellation; :func:`verified_relu.moments.rounding_error`);
* eigenvalues: ``||M||_2 / min |lambda|`` over the kept ones (Weyl); eigenvector subspace:
  ``||M||_2 / gap`` (Davis-Kahan);
* least squares: Wedin's ``kappa + kappa^2 |r| / (|A| |x|)``;
* refinement: ``cond`` of the gauge-fixed Jacobian;
* probes: ``cond_2`` of the Vandermonde matrix; ``sum |c_j x^j| / |sum c_j x^j|`` for a
  polynomial in the power basis; the recurrence's envelope ratio for the normalized Hermite value.

Known-bad probes (clearly labelled, computed here only to show the failure; no library
computation uses them): the CDGKM Lemma 5 Vandermonde solve with 8 nodes 0.01 apart, the
unnormalized ``He_200(3)`` summed from its power-basis coefficients in float64, and CN24
Lemma 7's isolating polynomial by Horner on its power-basis coefficients.  Their
well-conditioned counterparts (Chebyshev nodes; the library's normalized recurrence; the
product form) are not flagged.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .. import _mp
from .._progress import reporter
from ..hermite.numeric import hermite_normalized
from ..learners import registry
from ..moments import rounding_error
from .steps import (
    UNIT_ROUNDOFF,
    check_mp_size,
    condition_lstsq,
    gauge_complement,
    jacobian,
    least_squares,
    mp_str,
    refine,
    symmetric_eig,
    to_float,
    to_mp,
    vandermonde_condition,
    vandermonde_solve,
)

__all__ = [
    "COLUMNS",
    "FLAG_DIGITS_LOST",
    "METHODS",
    "SLACK_DIGITS",
    "StabilityReport",
    "format_stability",
    "stability_report",
]

#: A row is flagged when float64 lost at least this many digits.
FLAG_DIGITS_LOST = 8.0
#: Allowance (digits) over the condition estimate for dimension and sample-size constants.
SLACK_DIGITS = 2.5

#: The methods whose steps have an N-digit counterpart (registry rows with ``supports_dps``).
METHODS = registry.methods(supports_dps=True)

#: What the columns of the text table mean (printed under it, and in ``--help``).
COLUMNS = (
    "float64 / mp: the quantity's largest-magnitude entry in float64 and at dps digits; "
    "rel diff: their normwise relative difference; cond: the step's condition estimate; "
    "lost: the digits float64 lost, log10(rel diff / 2^-53); "
    "pred: the digits the condition estimate predicts float64 loses, log10(cond); "
    f"!!: flagged (lost >= {FLAG_DIGITS_LOST:g}); --: not comparable (the mp refinement did not converge)"
)


def _rel_diff(f, m, dps):
    """Normwise ``||f - m|| / ||m||`` computed at ``dps`` digits (float64 ``f`` taken exactly)."""
    ctx = _mp.context(dps)
    fa = [ctx.mpf(float(v)) for v in np.ravel(np.asarray(f, dtype=np.float64))]
    ma = [ctx.mpf(v) for v in np.ravel(np.asarray(m, dtype=object)).tolist()]
    num = ctx.sqrt(ctx.fsum((a - b) ** 2 for a, b in zip(fa, ma)))
    den = ctx.sqrt(ctx.fsum(b * b for b in ma))
    if den == 0:
        return 0.0 if num == 0 else math.inf
    return float(num / den)


def _row(step, quantity, f, m, condition, dps, note="", rel=None):
    """One report row; ``f`` float64 values, ``m`` mp values (any shape), ``condition`` a float."""
    rel = _rel_diff(f, m, dps) if rel is None else float(rel)
    lost = 0.0 if rel == 0 else max(0.0, math.log10(rel / UNIT_ROUNDOFF)) if math.isfinite(rel) else 16.0
    lost = min(lost, 16.0)
    pred = max(0.0, math.log10(condition)) if condition > 0 and math.isfinite(condition) else math.inf
    fa = np.ravel(np.asarray(f, dtype=np.float64))
    ma = np.ravel(np.asarray(m, dtype=object))
    j = int(np.argmax(np.abs(to_float(ma)))) if len(ma) else 0
    return {
        "step": step,
        "quantity": quantity,
        "float64": float(fa[j]) if len(fa) else None,
        "mp": mp_str(ma[j], dps) if len(ma) else None,
        "rel_diff": rel,
        "condition": float(condition),
        "digits_lost": lost,
        "predicted_digits_lost": pred,
        "flagged": bool(lost >= FLAG_DIGITS_LOST),
        "within_prediction": bool(lost <= pred + SLACK_DIGITS),
        "comparable": True,
        "note": note,
        "float64_values": fa.tolist(),
        "mp_values": [mp_str(v, dps) for v in ma.tolist()],
    }


# ------------------------------------------------------------------------------------- steps
def _moment_row(step, X, y, l, g, dps):
    rep = rounding_error(X, y, l, g, dps=dps)
    cond = rep.envelope / rep.scale if rep.scale > 0 else math.inf
    q = "E[y x]" if l == 1 else "E[y S_2(x)]" if l == 2 else f"E[y S_{l}(x)][g^{l - 2}, :, :]"
    row = _row(
        step,
        q,
        rep.estimate,
        rep.reference,
        cond,
        dps,
        note="condition = envelope / scale",
        rel=rep.max_abs_error / rep.scale if rep.scale > 0 else 0.0,
    )
    return row, np.asarray(rep.reference, dtype=object)


def _top(vals, r):
    return [int(i) for i in np.argsort(-np.abs(vals))[:r]]


def _eig_rows(step, M_mp, r, dps):
    """Rows for the top-``r`` (by |eigenvalue|) eigenvalues and eigenvector subspace of the
    float64 rounding of ``M_mp``, computed by numpy and by mpmath eigsy on that same matrix."""
    M = to_float(M_mp)
    M = (M + M.T) / 2
    wf, Vf = symmetric_eig(M)
    wm, Vm = symmetric_eig(M, dps=dps)
    wmf = to_float(wm)
    top_m = _top(wmf, r)
    top_f = _top(wf, r)
    norm = float(np.max(np.abs(wmf)))
    lam_min = float(min(abs(wmf[i]) for i in top_m))
    rest = [i for i in range(len(wmf)) if i not in top_m]
    gap = min((abs(wmf[i] - wmf[j]) for i in top_m for j in rest), default=norm)
    rows = []
    ctx = _mp.context(dps)
    rel_vals = max(
        float(abs(ctx.mpf(float(wf[a])) - wm[b]) / abs(wm[b]))
        for a, b in zip(sorted(top_f, key=lambda i: wf[i]), sorted(top_m, key=lambda i: wmf[i]))
    )
    rows.append(
        _row(
            step,
            f"top-{r} eigenvalues",
            [wf[i] for i in top_f],
            [wm[i] for i in top_m],
            norm / lam_min if lam_min > 0 else math.inf,
            dps,
            note="condition = ||M|| / min |lambda| (Weyl)",
            rel=rel_vals,
        )
    )
    # subspace distance: || P_f - P_mp ||_2 (sin of the largest principal angle), at dps
    Pm_cols = Vm[:, top_m]
    Pf_cols = Vf[:, top_f]
    A = ctx.matrix(to_mp(ctx, Pf_cols).tolist())
    B = ctx.matrix(np.asarray(Pm_cols, dtype=object).tolist())
    D = A * A.T - B * B.T
    sin = max(ctx.svd_r(D, compute_uv=False)) if D.rows else 0
    rows.append(
        _row(
            step,
            f"top-{r} eigenvector subspace",
            to_float(Pf_cols @ Pf_cols.T).ravel(),
            np.asarray((B * B.T).tolist(), dtype=object).ravel(),
            norm / gap if gap > 0 else math.inf,
            dps,
            note="rel_diff = sin(largest principal angle); condition = ||M|| / gap (Davis-Kahan)",
            rel=float(sin),
        )
    )
    return rows


def _lstsq_row(X, y, net, dps):
    U = net.weights / np.linalg.norm(net.weights, axis=1)[:, None]
    A = np.hstack([np.maximum(X @ U.T, 0.0), X])
    xf = least_squares(A, y)
    xm = least_squares(A, y, dps=dps)
    return _row(
        "least squares on the found directions",
        "coefficients (mu, a) of [relu(X U^T), X]",
        xf,
        xm,
        condition_lstsq(A, y),
        dps,
        note="float64 lstsq vs Householder QR in mpmath; condition: Wedin",
    )


def _refine_rows(X, y, net, dps, max_iter):
    """The refinement row, and the mp :class:`RefineOutcome` it compared."""
    W, mu, a = net.weights, net.coefficients, net.linear
    lin = bool(np.any(a != 0))
    f = refine(X, y, W, mu, a, max_iter=max_iter, fit_linear=lin)
    m = refine(X, y, W, mu, a, dps=dps, fit_linear=lin)
    Q = gauge_complement(to_float(m.W), to_float(m.mu), lin)
    s = np.linalg.svd(jacobian(X, to_float(m.W), to_float(m.mu), lin) @ Q, compute_uv=False)
    cond = float(s[0] / s[-1]) if s[-1] > 0 else math.inf
    fv = np.concatenate([f.W.ravel(), f.mu, f.a])
    mv = np.concatenate([np.asarray(m.W, dtype=object).ravel(), m.mu, m.a])
    note = (
        f"float64 Levenberg-Marquardt ({f.iterations} it., loss {float(f.loss):.2e}) vs mp Gauss-Newton "
        f"({m.iterations} it., {m.reason}, loss {float(m.loss):.2e}) on the same labels; condition = cond(J Q)"
    )
    row = _row("refinement", "parameters (unit W rows, mu, a)", fv, mv, cond, dps, note=note)
    if m.reason != "converged":
        # the two optimisers, started outside a basin where either converges, end at different points:
        # their difference says nothing about float64 rounding
        row.update(
            flagged=False,
            within_prediction=None,
            comparable=False,
            note=note + "; NOT COMPARABLE: the mp refinement did not converge (start outside a basin)",
        )
    return [row], m


# ------------------------------------------------------------------------------------ probes
def _probe_vandermonde(nodes, label, dps):
    alpha = np.array([(-1.0) ** i for i in range(len(nodes))])
    ctx = _mp.context(dps)
    rhs = [float(ctx.fsum(ctx.mpf(a) * ctx.mpf(x) ** j for a, x in zip(alpha, nodes))) for j in range(len(nodes))]
    f = vandermonde_solve(nodes, rhs)
    m = vandermonde_solve(nodes, rhs, dps=dps)
    return _row(
        f"probe: CDGKM Lemma 5 Vandermonde solve, {label}",
        f"weights alpha from {len(nodes)} power sums",
        f,
        m,
        vandermonde_condition(nodes, dps),
        dps,
        note="condition = cond_2(V) by mpmath SVD",
    )


def _probe_hermite(n, x, dps):
    """The naive power-basis He_n(x) in float64 (DEMONSTRATION ONLY) and the library's h_n(x)."""
    coef = [
        (-1) ** m * math.factorial(n) // (math.factorial(m) * math.factorial(n - 2 * m) * 2**m)
        for m in range(n // 2 + 1)
    ]
    naive = 0.0
    for m, c in enumerate(coef):  # float64 sum of float64 terms, as naive code would do
        naive += float(c) * x ** (n - 2 * m)
    ctx = _mp.context(dps)
    h_mp = hermite_normalized(n, x, dps=dps)[n]
    he_mp = ctx.mpf(h_mp) * ctx.sqrt(ctx.factorial(n))
    absolute = ctx.fsum(abs(ctx.mpf(c)) * ctx.mpf(x) ** (n - 2 * m) for m, c in enumerate(coef))
    bad = _row(
        f"probe (DEMONSTRATION ONLY, never used by the library): unnormalized He_{n}({x:g}) from power-basis coefficients",
        f"He_{n}({x:g})",
        [naive],
        [he_mp],
        float(absolute / abs(he_mp)),
        dps,
        note="float64 sum of c_j x^j; condition = sum |c_j x^j| / |He_n(x)|",
    )
    h_f = hermite_normalized(n, x)[n]
    vals = hermite_normalized(n, x, dps=dps)
    env = float(max(abs(vals[n]), abs(vals[n - 1])) / abs(vals[n]))
    good = _row(
        f"probe: library normalized recurrence h_{n}({x:g}) (float64, compensated)",
        f"h_{n}({x:g})",
        [h_f],
        [h_mp],
        env,
        dps,
        note="condition = envelope sqrt(h_n^2 + h_{n-1}^2) / |h_n| (about 1)",
    )
    return [bad, good]


def _isolating_coefficients(nodes, block):
    """Exact power-basis coefficients (lowest first, Fractions) of CN24 Lemma 7's
    ``p(x) = prod_{j not in I} (1 - prod_{i in I} (x - x_i) / (x_j - x_i))``."""
    from fractions import Fraction

    xs = [Fraction(v) for v in nodes]

    def mul(a, b):
        out = [Fraction(0)] * (len(a) + len(b) - 1)
        for i, u in enumerate(a):
            for j, v in enumerate(b):
                out[i + j] += u * v
        return out

    p = [Fraction(1)]
    for j, xj in enumerate(xs):
        if j in block:
            continue
        q = [Fraction(1)]
        for i in block:
            q = mul(q, [-xs[i] / (xj - xs[i]), 1 / (xj - xs[i])])
        p = mul(p, [1 - q[0]] + [-c for c in q[1:]])
    return p


def _probe_isolating(nodes, block, x, dps):
    """CN24's isolating polynomial at ``x``: float64 Horner on its (exactly computed, then rounded)
    power-basis coefficients vs float64 product form, both against the exact rational value."""
    from fractions import Fraction

    coef = _isolating_coefficients(nodes, block)
    horner = 0.0
    for c in reversed(coef):
        horner = horner * x + float(c)
    prod = 1.0
    for j, xj in enumerate(nodes):
        if j not in block:
            q = 1.0
            for i in block:
                q *= (x - nodes[i]) / (xj - nodes[i])
            prod *= 1.0 - q
    xq = Fraction(x)
    exact = sum(c * xq**m for m, c in enumerate(coef))
    absolute = sum(abs(c) * abs(xq) ** m for m, c in enumerate(coef))
    ctx = _mp.context(dps)
    ref = ctx.mpf(exact.numerator) / exact.denominator
    label = f"CN24 Lemma 7 isolating polynomial, {len(nodes)} nodes 0.01 apart, I = {sorted(block)}, at x = {x:g}"
    return [
        _row(
            f"probe: {label}, power basis + Horner (KNOWN BAD)",
            "p(x)",
            [horner],
            [ref],
            float(absolute / abs(exact)),
            dps,
            note="condition = sum |c_m x^m| / |p(x)|",
        ),
        _row(
            f"probe: {label}, product form",
            "p(x)",
            [prod],
            [ref],
            10.0 * len(nodes) ** 2,
            dps,
            note="condition: a product of 2 (k - |I|) |I| well-conditioned factors (bound 10 k^2)",
        ),
    ]


def probes(dps=50):
    """The known-bad probes and their well-conditioned counterparts (rows)."""
    close = [0.5 + 0.01 * j for j in range(8)]
    cheb = [math.cos(math.pi * (2 * j + 1) / 16) for j in range(8)]
    return [
        _probe_vandermonde(close, "k = 8 nodes 0.01 apart (KNOWN BAD)", dps),
        _probe_vandermonde(cheb, "k = 8 Chebyshev nodes (well conditioned)", dps),
        *_probe_hermite(200, 3.0, dps),
        *_probe_isolating(close, [0], 0.505, dps),
    ]


# ------------------------------------------------------------------------------------ report
@dataclasses.dataclass(frozen=True)
class StabilityReport:
    """Rows of :func:`stability_report` and the run's settings; ``to_dict()`` is JSON-ready."""

    rows: tuple
    settings: dict
    refined: object = None  # the mp refinement's RefineOutcome (parameters at dps digits); not serialised

    def to_dict(self):
        return {
            "format": "verified_relu.StabilityReport",
            "settings": dict(self.settings),
            "rows": [dict(r) for r in self.rows],
        }

    @property
    def flagged(self):
        return [r for r in self.rows if r["flagged"]]


def stability_report(
    X,
    y,
    k,
    *,
    method="fast",
    dps=50,
    degrees=tuple(range(2, 41, 2)),
    result=None,
    rng=0,
    sweep_samples=500,
    include_probes=True,
    refine_iterations=200,
    progress=False,
):
    """Run the chosen learner's steps in float64 and at ``dps`` digits on the same samples.

    Parameters
    ----------
    X, y : array_like
        The samples (``n <= 5000``, ``d <= 12``: the mp path's limits).
    k : int
    method : {"fast", "cdgkm"}
        Which learner's steps: ``fast`` -- ``E[y x]``, the degree-2 moment of the residual
        ``r = y - <E[y x], x>`` and its contraction of degree ``2k + 2``, their top-``k``
        eigendecompositions, least squares on the found directions, refinement; ``cdgkm`` --
        ``A = 2 E[y x]``, ``B = sqrt(2 pi) E[y (x x^T - I)]`` and its Case-1 top eigenpair, the
        contractions ``M_l`` for ``l = 2, 4, ..., 2k + 2`` and their top-``k`` subspaces, least
        squares, refinement.
    dps : int
    degrees : sequence of int
        The moment sweep: ``E[r S_l][g^{l-2}]`` for each degree on the first ``sweep_samples``
        samples (pure-Python mp sums: their cost grows with the degree and the samples).
    result : LearnResult or ReLUNetwork, optional
        The float64 learner's output, whose directions the least-squares and refinement steps
        use; default: ``learn(X, y, k, method, rng=rng)``.
    progress : bool or callable
        A line per stage on stderr (``True``) or to a callable (:func:`verified_relu._progress.reporter`).
    include_probes : bool
        Append the known-bad probes and their well-conditioned counterparts.

    Returns
    -------
    StabilityReport
    """
    from ..learners import learn
    from ..network import ReLUNetwork

    if method not in METHODS:
        raise ValueError(f"stability_report: method must be one of {METHODS}, got {method!r}")
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n, d = X.shape
    check_mp_size(n, d, "stability_report")
    dps = _mp.check_dps(dps)
    say = reporter(progress, "stability")
    if result is None:
        say(f"learning with method {method!r} on n = {n}, d = {d}, k = {k}")
        result = learn(X, y, k, method=method, rng=rng)
    net = getattr(result, "network", result)
    if not isinstance(net, ReLUNetwork):
        raise TypeError(f"stability_report: result must be a LearnResult or ReLUNetwork, got {type(result).__name__}")
    gen = np.random.default_rng(rng)
    g = gen.standard_normal(d)
    g /= np.linalg.norm(g)
    rows = []
    r_k = min(k, d)
    say(f"recomputing the learner's moment and eigen steps at {dps} digits")
    if method == "fast":
        row, w_mp = _moment_row("linear term", X, y, 1, None, dps)
        rows.append(row)
        r = y - X @ to_float(w_mp)
        row, M2 = _moment_row("subspace: degree-2 moment of r", X, r, 2, g, dps)
        rows.append(row)
        rows += _eig_rows("subspace: eigendecomposition (degree 2)", M2, r_k, dps)
        row, Mh = _moment_row(f"subspace fit: contraction of degree {2 * k + 2}", X, r, 2 * k + 2, g, dps)
        rows.append(row)
        rows += _eig_rows(f"subspace fit: eigendecomposition (degree {2 * k + 2})", Mh, r_k, dps)
        sweep_labels = r
    else:
        row, _ = _moment_row("Case 1: A = 2 E[y x]", X, y, 1, None, dps)
        rows.append(row)
        row, B = _moment_row("Case 1: B = sqrt(4 pi) E[y S_2]", X, y, 2, g, dps)
        rows.append(row)
        rows += _eig_rows("Case 1: top eigenpair of B", B, 1, dps)
        for l in range(2, 2 * k + 3, 2):
            row, M = _moment_row(f"Case 2: contraction M_{l}", X, y, l, g, dps)
            rows.append(row)
            rows += _eig_rows(f"Case 2: top-{r_k} subspace of M_{l}", M, r_k, dps)
        sweep_labels = y
    say(f"least squares and refinement at {dps} digits")
    rows.append(_lstsq_row(X, y, net, dps))
    refine_rows, refined = _refine_rows(X, y, net, dps, refine_iterations)
    rows += refine_rows
    m = min(n, sweep_samples)
    if degrees:
        say(f"moment sweep: {len(degrees)} degree(s) up to {max(degrees)} on {m} samples")
    for l in degrees:
        row, _ = _moment_row(f"moment sweep (first {m} samples)", X[:m], sweep_labels[:m], l, g, dps)
        rows.append(row)
    if include_probes:
        say("known-bad probes and their well-conditioned counterparts")
        rows += probes(dps)
    settings = {
        "n": n,
        "d": d,
        "k": k,
        "method": method,
        "dps": dps,
        "degrees": list(degrees),
        "sweep_samples": m,
        "rng": rng if isinstance(rng, int) else None,
        "flag_digits_lost": FLAG_DIGITS_LOST,
        "slack_digits": SLACK_DIGITS,
    }
    return StabilityReport(tuple(rows), settings, refined)


def format_stability(report, name_width=72):
    """The report (or its ``to_dict()``) as a text table: one row per step with each step named in full (a name longer
    than ``name_width`` wraps onto lines of its own above its numbers), and what the columns mean
    underneath."""
    import textwrap

    rows = report.rows if isinstance(report, StabilityReport) else report["rows"]
    s = report.settings if isinstance(report, StabilityReport) else report["settings"]
    names = [f"{r['step']}: {r['quantity']}" for r in rows]
    width = min(name_width, max([len("step / quantity"), *map(len, names)]))
    lines = [
        (
            f"stability report: method={s.get('method')} n={s.get('n')} d={s.get('d')} k={s.get('k')} "
            f"dps={s.get('dps')} (flag: float64 lost >= {s.get('flag_digits_lost', FLAG_DIGITS_LOST):g} digits)"
        ),
        (
            f"{'':2} {'step / quantity':<{width}} {'float64':>12} {'mp':>12} {'rel diff':>9} {'cond':>9} "
            f"{'lost':>5} {'pred':>5}"
        ),
    ]
    for r, name in zip(rows, names):
        mp = float(r["mp"]) if r["mp"] is not None else float("nan")
        mark = "!!" if r["flagged"] else "" if r.get("comparable", True) else "--"
        pieces = textwrap.wrap(name, width, break_on_hyphens=False) or [""]
        for i, piece in enumerate(pieces[:-1]):
            lines.append(f"{mark if i == 0 else '':2} {piece}")
        lines.append(
            f"{mark if len(pieces) == 1 else '':2} {pieces[-1]:<{width}} {r['float64']:>12.5g} {mp:>12.5g} "
            f"{r['rel_diff']:>9.1e} {r['condition']:>9.1e} {r['digits_lost']:>5.1f} "
            f"{r['predicted_digits_lost']:>5.1f}"
        )
    flagged = [r for r in rows if r["flagged"]]
    incomparable = [r for r in rows if not r.get("comparable", True)]
    if incomparable:
        lines.append("not comparable (mp refinement did not converge): " + "; ".join(r["step"] for r in incomparable))
    lines.append(f"{len(flagged)} flagged row(s)" + (": " + "; ".join(r["step"] for r in flagged) if flagged else ""))
    lines += ["", *textwrap.wrap("Columns: " + COLUMNS, 100)]
    return "\n".join(lines)
