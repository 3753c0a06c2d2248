"""A-posteriori proof about a learned network: the sample least-squares loss has exactly one
critical point in an explicit ball around it (Krawczyk's test, in the manner of INTLAB's
``verifynlss``), with no access to the true network.

What is proved, for the data ``(X, y)`` taken as the exact float64 numbers they are: in the box
``Y`` (the model's gauge-fixed parameters plus/minus the reported radii, in the chart of
:mod:`verified_relu.rigorous._loss`) no sample changes its activation pattern, so the loss
``L = sum_a (F(x_a) - y_a)^2`` is a polynomial there, and the Krawczyk operator
``K(Y) = x~ - C g(x~) + (I - C H(Y)) (Y - x~)`` maps ``Y`` into its interior; hence ``L`` has
exactly one critical point in ``Y`` (Krawczyk 1969, Moore 1977, Rump's ``verifynlss``), which
lies in ``K(Y)``.  The reported ball in ``(w, mu)`` (unit rows, coefficients) encloses the image
of ``Y``.  What is *not* proved: that this critical point is the teacher (population
identifiability is a separate statement), or that it is a global minimiser.
"""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from .._validation import as_matrix, as_vector, check_int
from ..network import ReLUNetwork
from . import _arb
from ._arb import DEFAULT_PREC, ball, check_prec, lower_float, upper_float, working_precision
from ._loss import FixedPatternLoss, tangent_bases
from .enclosures import norm_squared_balls

__all__ = ["MAX_DIMENSION", "MAX_SAMPLES", "FitCertificate", "verify_fit"]

#: Largest number of samples :func:`verify_fit` accepts.
MAX_SAMPLES = 5000
#: Largest input dimension :func:`verify_fit` accepts.
MAX_DIMENSION = 12
#: Above this condition number of the float Hessian, a failed proof is reported as a singular Jacobian.
SINGULAR_CONDITION = 1e12
#: A float Hessian at the centre with a larger condition number is treated as singular outright.
SINGULAR_HESSIAN = 1e16
#: Rows whose cosine exceeds this in absolute value are reported as duplicated (parallel) neurons.
PARALLEL_COSINE = 1.0 - 1e-12

_CALLER = "verify_fit"


@dataclasses.dataclass(frozen=True)
class FitCertificate:
    """Outcome of :func:`verify_fit` (floats are outward-rounded bounds; ``to_dict`` is JSON-ready).

    Attributes
    ----------
    verified : bool
        The proof succeeded: exactly one critical point of the sample loss in the ball.
    unique : bool
        Uniqueness of that critical point in the ball (equal to ``verified``).
    reason : str or None
        ``None`` when verified; otherwise ``"pattern_change"`` (a sample changes its activation
        within the radius the proof needs), ``"singular_jacobian"`` (the gauge-fixed Hessian is
        singular: duplicated neurons, two neurons no sample separates, or numerically) or
        ``"not_contracting"`` (Krawczyk's inclusion failed at every inflation).
    message : str
    weights, coefficients : list
        Centre of the ball: unit rows ``w_i`` and coefficients ``mu_i`` (gauge-fixed model).
    linear : list or None
        Centre of the linear term, when the model has one (it is then a parameter).
    weights_radius, coefficients_radius, linear_radius : list
        Per parameter: every point of the proved box has ``|w_ij - centre| <= radius`` etc.
    chart_radius : list
        The box's radii in the local chart ``(v_1..v_k, m_1..m_k, a)``.
    relative_radius : float or None
        ``max(max rad(w), max_i rad(mu_i)/|mu_i|, rad(a)/|a|_inf)``.
    loss : list or None
        ``[mid, rad]`` enclosing ``sum_a (F(x_a) - y_a)^2`` at the critical point.
    activation_margin : float or None
        Lower bound of ``min_{a,i} |<w_i, x_a>|`` over the ball (unit ``w_i``), with the
        ``margin_sample`` and ``margin_neuron`` that attain it.
    pattern_change : dict or None
        ``{"sample", "neuron", "radius"}``: the sample whose activation for that neuron can change
        within the box the proof needed.
    unseparated_pairs : list
        Neuron pairs ``[i, j]`` on which every sample has the same activation.
    condition : float or None
        Condition number (2-norm) of the float Hessian at the centre.
    teacher_distance : list or None
        ``[lower, upper]`` enclosing ``E[(F_theta - teacher)^2]`` for every ``theta`` in the ball.
    """

    verified: bool
    unique: bool
    reason: object
    message: str
    n: int
    d: int
    k: int
    prec: int
    weights: list
    coefficients: list
    linear: object
    weights_radius: object
    coefficients_radius: object
    linear_radius: object
    chart_radius: object
    relative_radius: object
    loss: object
    activation_margin: object
    margin_sample: object
    margin_neuron: object
    pattern_change: object
    unseparated_pairs: list
    condition: object
    inflations: int
    teacher_distance: object
    seconds: float

    def to_dict(self):
        out = dataclasses.asdict(self)
        out["format"] = "verified_relu.FitCertificate"
        return out

    def format(self):
        lines = [f"verify_fit: n={self.n}, d={self.d}, k={self.k}, prec={self.prec} bits: {self.message}"]
        if self.verified:
            lines.append(
                f"ball: relative radius {self.relative_radius:.3e} (max |w| radius "
                f"{max(max(r) for r in self.weights_radius):.3e}); loss at the critical point "
                f"{self.loss[0]:.6e} +/- {self.loss[1]:.2e}"
            )
        if self.activation_margin is not None:
            lines.append(
                f"smallest activation margin {self.activation_margin:.3e} "
                f"(sample {self.margin_sample}, neuron {self.margin_neuron})"
            )
        if self.condition is not None:
            lines.append(f"condition of the gauge-fixed Hessian {self.condition:.3e}")
        if self.teacher_distance is not None:
            lo, hi = self.teacher_distance
            lines.append(f"E[(F - teacher)^2] over the ball in [{lo:.3e}, {hi:.3e}]")
        return "\n".join(lines)


def _network(obj, name):
    net = getattr(obj, "network", obj)
    if not isinstance(net, ReLUNetwork):
        raise TypeError(f"{_CALLER}: {name} must be a ReLUNetwork or a LearnResult, got {type(obj).__name__}")
    return net


def _check_inputs(model, X, y, teacher, prec):
    _arb.require_flint(_CALLER)
    net = _network(model, "model")
    X = as_matrix(X, "X", caller=_CALLER)
    n, d = X.shape
    if n > MAX_SAMPLES or d > MAX_DIMENSION:
        raise ValueError(
            f"{_CALLER}: X has n = {n} samples and d = {d} dimensions; the proof is for n <= {MAX_SAMPLES} "
            f"and d <= {MAX_DIMENSION} (subsample the data)"
        )
    if net.d != d:
        raise ValueError(f"{_CALLER}: model has d = {net.d}, X has {d} columns")
    y = as_vector(y, "y", length=n, caller=_CALLER)
    if teacher is not None:
        teacher = _network(teacher, "teacher")
        if teacher.d != d:
            raise ValueError(f"{_CALLER}: teacher has d = {teacher.d}, X has {d} columns")
    return net, X, y, teacher, check_prec(prec, _CALLER)


def _krawczyk(Z, C, H, r):
    """``K(Y) - x~ = -C g(x~) + (I - C H(Y)) (Y - x~)`` for the box ``Y = x~ +- r`` (arb column),
    given ``Z = -C g(x~)``; returns ``(K - x~, inside)`` with ``inside`` the strict inclusion."""
    import flint

    p = len(r)
    Hm = flint.arb_mat(H.tolist())
    R = _arb.arb_matrix(np.eye(p)) - C * Hm
    Y = _arb.column([flint.arb(0, float(rj)) for rj in r])
    K = Z + R * Y
    Kv = [K[j, 0] for j in range(p)]
    inside = all(upper_float(abs(kj)) < rj for kj, rj in zip(Kv, r))
    return Kv, inside


def _box(x0, r):
    import flint

    return np.array([x0j + flint.arb(0, float(rj)) for x0j, rj in zip(x0, r)], dtype=object)


def _pattern_margins(Zfull, loss, box, S):
    """Lower bounds of ``|<z_i, x_a>| / |z_i|`` over the box for every ``(a, i)``, and the first
    ``(a, i)`` whose activation is not constant over it (``None`` if all are)."""
    import flint

    v, _, _ = loss.split(box)
    worst, where, change = math.inf, None, None
    for i, Zi in enumerate(Zfull):
        xi = _arb.column([flint.arb(1)] + list(v[i]))
        z = (Zi * xi).entries()
        zn = _unit_norm_upper(loss.bases[i], v[i])
        for a, za in enumerate(z):
            pos = za > 0
            if pos != bool(S[a, i]) or not (pos or za < 0):
                if change is None:
                    change = (a, i)
                continue
            low = lower_float(abs(za)) / zn
            if low < worst:
                worst, where = low, (a, i)
    return worst, where, change


def _unit_norm_upper(B, v):
    """Upper bound (float) of ``|c + T v|`` over the ball ``v``."""
    import flint

    xi = _arb.column([flint.arb(1)] + list(v))
    z = (_arb.arb_matrix(B) * xi).entries()
    return upper_float(sum((t * t for t in z), flint.arb(0)).sqrt())


def _image(loss, box):
    """Balls of ``w_i = z_i/|z_i|``, ``mu_i = m_i |z_i|`` and ``a`` over the box, and ``(z, m, a)``."""
    import flint

    v, m, a = loss.split(box)
    W, mu, Z = [], [], []
    for i, B in enumerate(loss.bases):
        xi = _arb.column([flint.arb(1)] + list(v[i]))
        z = (_arb.arb_matrix(B) * xi).entries()
        nz = sum((t * t for t in z), flint.arb(0)).sqrt()
        Z.append(z)
        W.append([t / nz for t in z])
        mu.append(m[i] * nz)
    return W, mu, (list(a) if a is not None else None), Z, m


def _unseparated(S):
    """Pairs ``[i, j]`` of neurons on which every sample has the same activation."""
    k = S.shape[1]
    return [[i, j] for i in range(k) for j in range(i + 1, k) if np.array_equal(S[:, i], S[:, j])]


def _failure(reason, message, **fields):
    return dict(verified=False, unique=False, reason=reason, message=message, **fields)


def verify_fit(model, X, y, *, teacher=None, prec=DEFAULT_PREC, max_inflations=12):
    """Prove that ``L = sum_a (F(x_a) - y_a)^2`` has exactly one critical point near ``model``.

    Parameters
    ----------
    model : ReLUNetwork or LearnResult
        The learned network; it is taken in the gauge of unit rows (norms moved into the
        coefficients).  Its linear term is a parameter when it is non-zero.
    X : array_like, shape (n, d)
        Samples (``n <= 5000``, ``d <= 12``), taken exactly.
    y : array_like, shape (n,)
        Labels, taken exactly.
    teacher : ReLUNetwork, optional
        When given, also enclose ``E[(F_theta - teacher)^2]`` over every ``theta`` in the ball.
    prec : int
        Working precision in bits (default 128).
    max_inflations : int
        Epsilon-inflation steps before giving up (at least 1).

    Returns
    -------
    FitCertificate

    Notes
    -----
    Uniqueness is proved for the box of the local chart (``chart_radius``); the reported ball in
    ``(w, mu)`` encloses that box's image, so the critical point lies in it.  Data with a sample
    on a hyperplane of the model, or within the radius the proof needs, is refused
    (``"pattern_change"``): the loss is not a polynomial across a pattern change.

    Examples
    --------
    >>> from verified_relu import ReLUNetwork
    >>> net = ReLUNetwork([[1.0, 0.0, 0.0], [0.0, 0.6, 0.8]], [1.0, -2.0])
    >>> X, y = net.sample(300, rng=0)
    >>> cert = verify_fit(net, X, y)
    >>> cert.verified, cert.relative_radius < 1e-10
    (True, True)
    """
    start = time.perf_counter()
    net, X, y, teacher, prec = _check_inputs(model, X, y, teacher, prec)
    max_inflations = check_int(max_inflations, "max_inflations", minimum=1, caller=_CALLER)
    with working_precision(prec):
        fields = _prove(net, X, y, teacher, prec, max_inflations)
    n, d = X.shape
    base = dict(
        n=n,
        d=d,
        k=net.k,
        prec=prec,
        weights=[],
        coefficients=[],
        linear=None,
        weights_radius=None,
        coefficients_radius=None,
        linear_radius=None,
        chart_radius=None,
        relative_radius=None,
        loss=None,
        activation_margin=None,
        margin_sample=None,
        margin_neuron=None,
        pattern_change=None,
        unseparated_pairs=[],
        condition=None,
        inflations=0,
        teacher_distance=None,
    )
    base.update(fields)
    base["seconds"] = time.perf_counter() - start
    return FitCertificate(**base)


def _prove(net, X, y, teacher, prec, max_inflations):
    import flint

    n, d = X.shape
    k = net.k
    norms = np.linalg.norm(net.weights, axis=1)
    Cw = net.weights / norms[:, None]
    m0 = net.coefficients * norms
    linear = bool(np.any(net.linear != 0))
    centre = dict(weights=Cw.tolist(), coefficients=m0.tolist(), linear=net.linear.tolist() if linear else None)
    bases = tangent_bases(Cw)
    for i, B in enumerate(bases):
        if _arb.arb_matrix(B).det().contains(0):
            return _failure("singular_jacobian", f"the chart of neuron {i} is degenerate", **centre)
    # the activation pattern at the centre, rigorously
    Xa = _arb.arb_matrix(X)
    Zfull = [Xa * _arb.arb_matrix(B) for B in bases]
    S = np.zeros((n, k), dtype=bool)
    for i, Zi in enumerate(Zfull):
        col = [Zi[a, 0] for a in range(n)]
        for a, za in enumerate(col):
            if not (za > 0 or za < 0):
                return _failure(
                    "pattern_change",
                    f"sample {a} lies on the hyperplane of neuron {i} at the model itself",
                    pattern_change={"sample": a, "neuron": i, "radius": 0.0},
                    activation_margin=0.0,
                    margin_sample=a,
                    margin_neuron=i,
                    **centre,
                )
            S[a, i] = za > 0
    # structural singularity: duplicated neurons, or neurons no sample separates
    unseparated = _unseparated(S)
    if unseparated:
        i, j = unseparated[0]
        dup = abs(float(Cw[i] @ Cw[j])) >= PARALLEL_COSINE
        what = f"neuron {j} duplicates neuron {i}" if dup else f"neurons {i} and {j} are not separated by any sample"
        return _failure(
            "singular_jacobian",
            f"singular Jacobian: {what} (every sample has the same activation for both), so the loss is flat "
            "along a direction of their parameters; see verified_relu.identifiability",
            unseparated_pairs=unseparated,
            **centre,
        )
    loss = FixedPatternLoss(X, y, bases, S, linear)
    x0 = np.empty(loss.p, dtype=object)
    x0[:] = [flint.arb(0)] * loss.p
    for i in range(k):
        x0[loss.m_index(i)] = flint.arb(float(m0[i]))
    if linear:
        x0[loss.a_slice] = [flint.arb(float(v)) for v in net.linear]
    g0, H0 = loss.gradient_hessian(x0)
    Hf = np.array([[float(h.mid()) for h in row] for row in H0])
    sv = np.linalg.svd(Hf, compute_uv=False)
    cond = float(sv[0] / sv[-1]) if sv[-1] > 0 else math.inf
    centre["condition"] = cond
    if not np.isfinite(cond) or cond > SINGULAR_HESSIAN:
        return _failure(
            "singular_jacobian",
            f"singular Jacobian: the gauge-fixed Hessian at the model is numerically singular (cond {cond:.2e})",
            **centre,
        )
    Cf = np.linalg.inv(Hf)
    C = _arb.arb_matrix(Cf)
    Z = C * _arb.column(list(-g0))
    zabs = np.array([upper_float(abs(Z[j, 0])) for j in range(loss.p)])
    scale = np.array([max(1.0, abs(float(v.mid()))) for v in x0])
    tiny = 2.0 ** -min(prec - 30, 960) * scale  # (a float: no underflow at high prec)
    floor = np.maximum(1e-3 * zabs.max(), tiny)
    r, grow, shrunk = 1.1 * zabs + floor, 1.5, False
    for it in range(max_inflations):
        box = _box(x0, r)
        worst, where, change = _pattern_margins(Zfull, loss, box, S)
        if change is not None and not shrunk:
            # shrink to the smallest box Krawczyk can accept (just over the Newton step), then inflate gently
            r, grow, floor, shrunk = zabs * (1 + 1e-6) + tiny, 1.01, tiny, True
            continue
        if change is not None:
            a, i = change
            return _failure(
                "pattern_change",
                f"pattern change within reach: sample {a} can change its activation for neuron {i} inside the "
                f"box the proof needs (radius up to {r.max():.3e} in the chart); no proof in a fixed pattern",
                pattern_change={"sample": int(a), "neuron": int(i), "radius": float(r.max())},
                inflations=it,
                **centre,
            )
        _, H = loss.gradient_hessian(box)
        Kv, inside = _krawczyk(Z, C, H, r)
        if inside:
            return _success(loss, x0, box, r, g0, H, X, y, teacher, worst, where, it, centre)
        kabs = np.array([upper_float(abs(kj)) for kj in Kv])
        r = grow * np.maximum(r, kabs) + floor
    if cond > SINGULAR_CONDITION:
        return _failure(
            "singular_jacobian",
            f"singular Jacobian: Krawczyk's test failed and the gauge-fixed Hessian has condition {cond:.2e}",
            inflations=max_inflations,
            **centre,
        )
    return _failure(
        "not_contracting",
        f"no critical point proved: Krawczyk's inclusion failed after {max_inflations} inflations "
        f"(Newton step {zabs.max():.3e} in the chart)",
        inflations=max_inflations,
        **centre,
    )


def _success(loss, x0, box, r, g0, H, X, y, teacher, worst, where, it, centre):
    import flint

    W, mu, a, Z, m = _image(loss, box)
    wb = [[ball(v) for v in row] for row in W]
    mb = [ball(v) for v in mu]
    ab = [ball(v) for v in a] if a is not None else None
    rel = max(max(rad for _, rad in row) for row in wb)
    rel = max(rel, max(rad / max(abs(mid), 1e-300) for mid, rad in mb))
    if ab is not None:
        amax = max(max(abs(mid) for mid, _ in ab), 1e-300)
        rel = max(rel, max(rad / amax for _, rad in ab))
    # loss at the critical point: phi(x*) = phi(x~) + g(x~).D + D^T H(zeta) D / 2, D in Y - x~
    phi0 = _centre_phi(loss, X, y, x0)
    D = [flint.arb(0, float(rj)) for rj in r]
    lin = sum((gj * dj for gj, dj in zip(g0, D)), flint.arb(0))
    quad = sum((D[i] * H[i, j] * D[j] for i in range(len(D)) for j in range(len(D))), flint.arb(0))
    L = (2 * (phi0 + lin + quad / 2)).nonnegative_part()
    out = dict(
        verified=True,
        unique=True,
        reason=None,
        message=(
            "verified: exactly one critical point of the sample loss in the ball (Krawczyk), with no sample "
            "changing its activation pattern inside it"
        ),
        weights=[[mid for mid, _ in row] for row in wb],
        coefficients=[mid for mid, _ in mb],
        linear=[mid for mid, _ in ab] if ab is not None else None,
        weights_radius=[[rad for _, rad in row] for row in wb],
        coefficients_radius=[rad for _, rad in mb],
        linear_radius=[rad for _, rad in ab] if ab is not None else None,
        chart_radius=[float(v) for v in r],
        relative_radius=float(rel),
        loss=list(ball(L)),
        activation_margin=float(worst),
        margin_sample=int(where[0]) if where else None,
        margin_neuron=int(where[1]) if where else None,
        condition=centre["condition"],
        inflations=it,
    )
    if teacher is not None:
        Wt = [[flint.arb(float(v)) for v in row] for row in teacher.weights]
        mut = [-flint.arb(float(v)) for v in teacher.coefficients]
        a_model = a if a is not None else [flint.arb(0)] * loss.d
        at = [p - flint.arb(float(q)) for p, q in zip(a_model, teacher.linear)]
        dist = norm_squared_balls(Z + Wt, list(m) + mut, at).nonnegative_part()
        out["teacher_distance"] = [max(0.0, lower_float(dist)), upper_float(dist)]
    return out


def _centre_phi(loss, X, y, x0):
    """``sum_a r_a^2 / 2`` at the centre, from the residuals (Arb matrix products)."""
    v, m, a = loss.split(x0)
    r = _arb.arb_matrix(-y[:, None])
    for i, B in enumerate(loss.bases):
        c = B[:, :1]
        Xi = X * loss.S[:, [i]]
        r = r + (_arb.arb_matrix(Xi) * _arb.arb_matrix(c)) * m[i]
    if a is not None:
        r = r + _arb.arb_matrix(X) * _arb.column(list(a))
    return (r.transpose() * r)[0, 0] / 2
