"""Certified recovery: refine a float64 result at ``dps`` digits on the same samples, then count
the digits it shares with the ground truth and explain the ones it does not.

For noiseless data from a network in general position the minimiser of the empirical loss on
the samples *is* the truth (zero residual, full-rank gauge-fixed Jacobian), so refining at 50
digits should reproduce the truth to about ``50 - log10(cond)`` digits: 25 or more is the
evidence of exact identifiability from these samples.  Where fewer are reached, the Jacobian's
per-parameter sensitivity says which parameters are ill-determined and predicts their error.

Identification: a relu neuron is determined up to positive rescaling, so a neuron is compared
through its unit direction ``u = w / |w|`` and its coefficient ``c = mu |w|``; learned and true
neurons are matched by minimal total angle (:func:`verified_relu.metrics.match_neurons`, no sign
identification); the linear term is compared as is.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .. import _mp
from ..metrics import match_neurons
from ..network import ReLUNetwork
from .steps import (
    RANK_RTOL,
    UNIT_ROUNDOFF,
    check_mp_size,
    gauge_complement,
    jacobian,
    mp_str,
    refine,
    to_float,
    to_mp,
)

__all__ = ["CertifyReport", "certify", "noiseless_labels"]


def _network(obj, name="model"):
    net = getattr(obj, "network", obj)
    if not isinstance(net, ReLUNetwork):
        raise TypeError(f"certify: {name} must be a ReLUNetwork or a LearnResult, got {type(obj).__name__}")
    return net


def noiseless_labels(network, X, dps=50):
    """``F(x_a) = sum_i mu_i relu(<w_i, x_a>) + <a, x_a>`` at ``dps`` digits (object array of mpf).

    Weights and inputs are taken as the exact binary numbers they are; the labels are then
    correct to ``dps`` digits, i.e. noiseless data defined to high precision (float64 labels
    ``network(X)`` carry a relative rounding error up to ``2^-53``, a noise floor).
    """
    net = _network(network, "network")
    X = np.asarray(X, dtype=np.float64)
    check_mp_size(*X.shape, "noiseless_labels")
    ctx = _mp.context(dps)
    Xm = to_mp(ctx, X)
    Z = Xm @ to_mp(ctx, net.weights).T
    R = np.where(Z > 0, Z, ctx.mpf(0))
    y = R @ to_mp(ctx, net.coefficients) + Xm @ to_mp(ctx, net.linear)
    rnd = _mp.rounder(dps)
    return np.array([rnd(v) for v in y.tolist()], dtype=object)


def _canonical_digits(ctx, W, mu, a, teacher, dps):
    """Digits of agreement in the canonical form ``<c, x> + sum_i lambda_i |<u_i, x>|``
    (``lambda = mu |w| / 2``, ``c = a + sum mu w / 2``; unique for directions pairwise
    non-parallel), which identifies networks that differ by ``relu(z) = relu(-z) + z``.
    ``None`` when either network has (anti)parallel directions (the form would merge them)."""

    def form(Wr, mur, ar):
        norms = [ctx.sqrt(ctx.fsum(v * v for v in row)) for row in Wr]
        U = [row / nv for row, nv in zip(Wr, norms)]
        lam = [m * nv / 2 for m, nv in zip(mur, norms)]
        lin = ar + sum((m * row / 2 for m, row in zip(mur, Wr)), start=np.zeros(len(ar), dtype=object))
        return U, lam, lin

    Ul, laml, linl = form(W, mu, a)
    Ut, lamt, lint = form(to_mp(ctx, teacher.weights), to_mp(ctx, teacher.coefficients), to_mp(ctx, teacher.linear))
    for U in (Ul, Ut):
        C = np.abs(to_float(np.array([[ctx.fdot(p, q) for q in U] for p in U], dtype=object)))
        np.fill_diagonal(C, 0)
        if C.max(initial=0) > 1 - 1e-9:
            return None
    # neurons paired by least total angle, directions up to sign (the canonical form cannot tell u from -u)
    pairs = match_neurons(teacher, ReLUNetwork(to_float(W), to_float(mu)), up_to_sign=True).pairs
    scale = max(float(max(abs(v) for v in lamt)), 1e-300)
    out = {"neurons": [], "digits": None}
    worst = float(dps)
    for i, j, sgn in sorted((p.learned_index, p.true_index, p.sign) for p in pairs):
        dd = _digits(ctx.sqrt(ctx.fsum((p - sgn * q) ** 2 for p, q in zip(Ul[i], Ut[j]))), 1.0, dps)
        dl = _digits(abs(laml[i] - lamt[j]), abs(float(lamt[j])) or scale, dps)
        out["neurons"].append({"index": int(i), "teacher_index": int(j), "direction_digits": dd, "lambda_digits": dl})
        worst = min(worst, dd, dl)
    lin_scale = max(float(ctx.sqrt(ctx.fsum(v * v for v in lint))), scale)
    out["linear_digits"] = _digits(ctx.sqrt(ctx.fsum((p - q) ** 2 for p, q in zip(linl, lint))), lin_scale, dps)
    out["digits"] = min(worst, out["linear_digits"])
    return out


def _digits(err, scale, cap):
    if err == 0:
        return float(cap)
    return float(min(cap, max(0.0, -math.log10(float(err) / scale))))


@dataclasses.dataclass(frozen=True)
class CertifyReport:
    """Outcome of :func:`certify` (all floats are for display; ``to_dict`` is JSON-ready).

    Attributes
    ----------
    dps : int
    label_source : str
        ``"teacher at dps"`` (exact labels) or ``"given float64"`` / ``"given mp"``.
    label_precision : float
        Relative precision of the labels (``2^-53`` for float64, ``10^-dps`` for mp).
    loss, gradient_norm : float
        Mean squared residual and loss-gradient norm after refinement, at ``dps``.
    iterations : int
    reason : str
    singular_values : list of float
        Of the gauge-fixed Jacobian ``J Q / sqrt(n)`` at the refined parameters.
    condition : float
    rank_deficiency : int
        Number of singular values below ``RANK_RTOL * sigma_max`` (directions the samples do
        not determine, as far as float64 can tell).
    canonical : dict or None
        Digits of agreement in the canonical form ``<c,x> + sum lambda_i |<u_i,x>|`` (directions
        up to sign), which is what the function determines; ``correct_digits`` uses it when it reaches
        ``min_digits`` and the relu-form comparison does not (networks differing by ``relu(z) = relu(-z) + z``).
    neurons : list of dict
        Per learned neuron: matched teacher neuron, digits of direction and coefficient
        agreement (``None`` without teacher) and the digits predicted by the sensitivity.
    linear : dict
    correct_digits : float or None
        Minimum over all compared parameters (``None`` without teacher).
    predicted_digits : float
        Minimum predicted digits over all parameters.
    ill_determined : list of dict
        Parameters whose predicted or achieved digits are below ``min_digits``, with the
        nearby neurons (a near-cancelling clump) and the sensitivity that explains them.
    message : str
    rigorous : dict or None
        The a-posteriori proof of :func:`verified_relu.rigorous.verify_fit` around the refined
        network (rounded to float64) on the samples with float64 labels: ``verified``, ``reason``,
        ``relative_radius``, ``digits`` (``-log10`` of it: the digits of the unique critical point of
        the sample loss that the ball fixes) and, with a teacher, ``teacher_distance`` (an enclosure
        of ``E[(F - teacher)^2]`` over the ball).  ``None`` without python-flint (the ``rigorous``
        extra).  When ``verified``, the refined digits are backed by a proof, not only by agreement
        with a higher-precision run.
    """

    dps: int
    label_source: str
    label_precision: float
    loss: float
    gradient_norm: float
    iterations: int
    reason: str
    singular_values: list
    condition: float
    rank_deficiency: int
    canonical: object
    neurons: list
    linear: dict
    correct_digits: object
    predicted_digits: float
    ill_determined: list
    message: str
    refined: object = dataclasses.field(default=None, repr=False, compare=False)
    rigorous: object = None

    def to_dict(self):
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "refined"}
        W, mu, a = self.refined
        out["refined_network"] = {
            "weights": [[mp_str(v, self.dps) for v in row] for row in W.tolist()],
            "coefficients": [mp_str(v, self.dps) for v in mu.tolist()],
            "linear": [mp_str(v, self.dps) for v in a.tolist()],
        }
        return out

    def format(self):
        lines = [
            (
                f"certified refinement at dps={self.dps} ({self.label_source} labels): loss {self.loss:.3e}, "
                f"|grad| {self.gradient_norm:.3e}, {self.iterations} Gauss-Newton iterations ({self.reason})"
            ),
            (
                f"gauge-fixed Jacobian: sigma_max {self.singular_values[0]:.3e}, "
                f"sigma_min {self.singular_values[-1]:.3e}, cond {self.condition:.3e}"
            ),
            f"{'neuron':>6} {'teacher':>7} {'dir digits':>10} {'coef digits':>11} {'pred dir':>8} {'pred coef':>9}",
        ]
        for row in self.neurons:

            def f(v):
                return "-" if v is None else f"{v:.1f}"

            lines.append(
                f"{row['index']:>6} {row['teacher_index']!s:>7} {f(row['direction_digits']):>10} "
                f"{f(row['coefficient_digits']):>11} {row['predicted_direction_digits']:>8.1f} "
                f"{row['predicted_coefficient_digits']:>9.1f}"
            )
        lines.append(self.message)
        if self.rigorous is not None:
            lines.append(_rigorous_text(self.rigorous))
        return "\n".join(lines)


def _rigorous_text(rig):
    """The certify line on the rigorous proof."""
    if not rig["verified"]:
        return f"digits not proved rigorous: verify_fit found no verified ball ({rig['reason']})"
    text = (
        f"digits rigorous: a verified ball (Krawczyk, Arb balls) around the refined network holds the unique "
        f"critical point of the sample loss ({rig['labels']} labels) to relative radius "
        f"{rig['relative_radius']:.2e} ({rig['digits']:.1f} digits)"
    )
    if rig.get("teacher_distance") is not None:
        text += f"; E[(F - teacher)^2] <= {rig['teacher_distance'][1]:.2e} over the whole ball"
    return text


def _rigorous(X, y, out, teacher):
    """:func:`verified_relu.rigorous.verify_fit` around the refined network, summarised (``None``
    when python-flint is not installed)."""
    try:
        from ..rigorous import verify_fit

        net = ReLUNetwork(to_float(out.W), to_float(out.mu), to_float(out.a))
        labels = "float64" if np.asarray(y).dtype != object else "float64-rounded"
        cert = verify_fit(net, X, to_float(y), teacher=teacher)
    except ImportError:
        return None
    except ValueError as exc:  # e.g. a refinement that ended with a zero or non-finite row
        return {
            "verified": False,
            "reason": "invalid_network",
            "labels": None,
            "relative_radius": None,
            "digits": None,
            "teacher_distance": None,
            "message": str(exc),
        }
    rel = cert.relative_radius
    return {
        "verified": cert.verified,
        "reason": cert.reason,
        "labels": labels,
        "relative_radius": rel,
        "digits": float(-math.log10(max(rel, 1e-300))) if cert.verified else None,
        "teacher_distance": cert.teacher_distance,
        "message": cert.message,
    }


def certify(model, X, y=None, *, teacher=None, dps=50, fit_linear="auto", min_digits=25, max_iter=40):
    """Refine ``model`` at ``dps`` digits on ``(X, y)`` and report identifiability in digits.

    Parameters
    ----------
    model : ReLUNetwork or LearnResult
        The float64 starting point (e.g. ``learn(...)``'s result).
    X : array_like, shape (n, d)
        The samples (``n <= 5000``, ``d <= 12``).
    y : array_like, optional
        Labels: float64 (taken exactly; their rounding is a noise floor near ``2^-53``) or an
        object array of mpf.  Default: the teacher's noiseless labels at ``dps`` digits
        (:func:`noiseless_labels`), which needs ``teacher``.
    teacher : ReLUNetwork, optional
        Ground truth, used to label (when ``y`` is None) and to count correct digits; never used
        by the refinement itself.
    dps : int
    fit_linear : bool or "auto"
        Refine a linear term ``<a, x>`` too; ``"auto"``: when ``model`` has a non-zero one.
        (With a linear term, an antipodal pair ``relu(z), relu(-z)`` is not identifiable:
        ``relu(z) - relu(-z) = z``.)
    min_digits : float
        Parameters predicted or measured below this many digits are listed as ill-determined.

    Returns
    -------
    CertifyReport
    """
    net, X, teacher, dps, fit_linear = _check_inputs(model, X, teacher, dps, fit_linear)
    y, source, label_rel = _labels(X, y, teacher, dps)
    out = refine(X, y, net.weights, net.coefficients, net.linear, dps=dps, fit_linear=fit_linear, max_iter=max_iter)
    fit = _sensitivity(X, y, out, dps, fit_linear, label_rel)
    neurons = _neuron_rows(fit, teacher)
    lin = _linear_row(fit, net, teacher)
    canonical = None if teacher is None else _canonical_digits(fit.ctx, fit.Wm, fit.mum, fit.to_mp(out.a), teacher, dps)
    digits_all = [
        row[f"{part}_digits"]
        for row in neurons
        if row["teacher_index"] is not None
        for part in ("direction", "coefficient")
    ] + ([lin["digits"]] if teacher is not None else [])
    relu_correct = min(digits_all) if digits_all else None
    use_canonical = (
        canonical is not None and relu_correct is not None and canonical["digits"] >= min_digits > relu_correct
    )
    ill = _ill_determined(X, fit, neurons, min_digits, use_canonical)
    correct = canonical["digits"] if use_canonical else relu_correct
    pred_all = [row[f"predicted_{part}_digits"] for row in neurons for part in ("direction", "coefficient")]
    predicted = min(pred_all + ([lin["predicted_digits"]] if fit_linear else []))
    msg = _message(fit, correct, predicted, relu_correct, use_canonical, ill, source, label_rel, min_digits)
    return CertifyReport(
        dps=dps,
        label_source=source,
        label_precision=label_rel,
        loss=float(out.loss),
        gradient_norm=float(out.gradient_norm),
        iterations=out.iterations,
        reason=out.reason,
        singular_values=(fit.s / math.sqrt(len(X))).tolist(),
        condition=fit.cond,
        rank_deficiency=fit.null_dim,
        canonical=canonical,
        neurons=neurons,
        linear=lin,
        correct_digits=correct,
        predicted_digits=predicted,
        ill_determined=ill,
        message=msg,
        refined=(out.W, out.mu, out.a),
        rigorous=_rigorous(X, y, out, teacher),
    )


def _check_inputs(model, X, teacher, dps, fit_linear):
    """Validated ``(network, X, teacher, dps, fit_linear)``, with ``fit_linear="auto"`` resolved."""
    net = _network(model)
    if isinstance(fit_linear, str):
        if fit_linear != "auto":
            raise ValueError(f"certify: fit_linear must be True, False or 'auto', got {fit_linear!r}")
        fit_linear = bool(np.any(net.linear != 0))
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    check_mp_size(n, d, "certify")
    dps = _mp.check_dps(dps)
    if teacher is not None:
        teacher = _network(teacher, "teacher")
        if teacher.d != d:
            raise ValueError(f"certify: teacher has d = {teacher.d}, the samples d = {d}")
    return net, X, teacher, dps, fit_linear


def _labels(X, y, teacher, dps):
    """``(y, label_source, label_precision)``: the given labels, or the teacher's at ``dps`` digits."""
    n = len(X)
    if y is None:
        if teacher is None:
            raise ValueError("certify: give labels y, or a teacher to compute noiseless labels at dps digits")
        return noiseless_labels(teacher, X, dps), "teacher at dps", 10.0**-dps
    y = np.asarray(y)
    if y.shape != (n,):
        raise ValueError(f"certify: y must have shape ({n},), got {y.shape}")
    if y.dtype == object:
        return y, "given mp", 10.0**-dps
    return y, "given float64", UNIT_ROUNDOFF


@dataclasses.dataclass(frozen=True)
class _Fit:
    """The refined parameters (at ``dps`` and in float64) and their sensitivity to the labels.

    ``sens`` row ``p``: parameter ``p``'s response to a unit (2-norm) label perturbation, through
    the gauge-fixed Jacobian ``J Q`` of rank ``rank``; ``undetermined[p]``: parameter ``p`` moves
    along a direction no sample determines (numerically); ``eta``: the 2-norm of the labels' error.
    Parameters are ordered ``W`` (row by row), ``mu``, then the linear term.
    """

    ctx: object
    dps: int
    out: object
    Wf: np.ndarray
    muf: np.ndarray
    Wm: np.ndarray
    mum: np.ndarray
    s: np.ndarray
    rank: int
    sens: np.ndarray
    undetermined: np.ndarray
    eta: float
    y_norm: float
    n: int
    fit_linear: bool

    @property
    def k(self):
        return self.Wf.shape[0]

    @property
    def d(self):
        return self.Wf.shape[1]

    @property
    def cond(self):
        return float(self.s[0] / self.s[-1])

    @property
    def null_dim(self):
        return len(self.s) - self.rank

    def to_mp(self, arr):
        return to_mp(self.ctx, arr)

    def predicted(self, rows, scale):
        """Digits a parameter block is predicted to reach: 0 when the samples do not determine it."""
        if self.undetermined[rows].any():
            return 0.0
        return _digits(np.linalg.norm(self.sens[rows]) * self.eta, scale, self.dps)


def _sensitivity(X, y, out, dps, fit_linear, label_rel):
    """The :class:`_Fit` of the refinement ``out``: SVD of the gauge-fixed Jacobian at its parameters."""
    ctx = _mp.context(dps)
    Wf, muf = to_float(out.W), to_float(out.mu)
    Q = gauge_complement(Wf, muf, fit_linear)
    JQ = jacobian(X, Wf, muf, fit_linear) @ Q
    _, s, Vt = np.linalg.svd(JQ, full_matrices=False)
    rank = int(np.sum(s > RANK_RTOL * s[0]))
    sens = Q @ (Vt[:rank].T / s[:rank])
    null = Q @ Vt[rank:].T
    undetermined = np.linalg.norm(null, axis=1) > 1e-3 if rank < len(s) else np.zeros(len(Q), dtype=bool)
    y_norm = float(np.linalg.norm(to_float(y)))
    return _Fit(
        ctx=ctx,
        dps=dps,
        out=out,
        Wf=Wf,
        muf=muf,
        Wm=to_mp(ctx, out.W),
        mum=to_mp(ctx, out.mu),
        s=s,
        rank=rank,
        sens=sens,
        undetermined=undetermined,
        eta=max(label_rel, 10.0**-dps) * y_norm,
        y_norm=y_norm,
        n=len(X),
        fit_linear=fit_linear,
    )


def _neuron_rows(fit, teacher):
    """A row per learned neuron: predicted digits, and with a teacher the matched teacher neuron
    (least total angle, no sign identification) and the digits of agreement with it."""
    k, d, ctx, dps = fit.k, fit.d, fit.ctx, fit.dps
    match = {}
    if teacher is not None:
        matching = match_neurons(teacher, ReLUNetwork(fit.Wf, fit.muf), up_to_sign=False)
        match = {p.learned_index: p.true_index for p in matching.pairs}
    neurons = []
    for i in range(k):
        row = {
            "index": i,
            "teacher_index": match.get(i),
            "direction": fit.Wf[i].tolist(),
            "coefficient": float(fit.muf[i]),
            "direction_digits": None,
            "coefficient_digits": None,
            "predicted_direction_digits": fit.predicted(slice(i * d, (i + 1) * d), 1.0),
            "predicted_coefficient_digits": fit.predicted(slice(k * d + i, k * d + i + 1), abs(fit.muf[i]) or 1.0),
        }
        if i in match:
            tw = to_mp(ctx, teacher.weights[match[i]])
            tnorm = ctx.sqrt(ctx.fsum(v * v for v in tw))
            ct = ctx.mpf(teacher.coefficients[match[i]]) * tnorm
            err_dir = ctx.sqrt(ctx.fsum((a - b) ** 2 for a, b in zip(fit.Wm[i], tw / tnorm)))
            row["direction_digits"] = _digits(err_dir, 1.0, dps)
            row["coefficient_digits"] = _digits(abs(fit.mum[i] - ct), abs(float(ct)) or 1.0, dps)
        neurons.append(row)
    return neurons


def _linear_row(fit, net, teacher):
    """The linear term: its value, predicted digits (when refined) and digits against the teacher's."""
    k, d, ctx = fit.k, fit.d, fit.ctx
    scale = max(float(np.max(np.abs(fit.muf))), float(np.linalg.norm(net.linear)), 1e-300)
    lin = {"value": to_float(fit.out.a).tolist(), "digits": None, "predicted_digits": None}
    if fit.fit_linear:
        lin["predicted_digits"] = fit.predicted(slice(k * d + k, None), scale)
    if teacher is not None:
        teacher_coefs = teacher.coefficients * np.linalg.norm(teacher.weights, axis=1)
        am, at = fit.to_mp(fit.out.a), to_mp(ctx, teacher.linear)
        lin_scale = max(float(np.linalg.norm(teacher.linear)), float(np.max(np.abs(teacher_coefs))))
        lin["digits"] = _digits(ctx.sqrt(ctx.fsum((p - q) ** 2 for p, q in zip(am, at))), lin_scale, fit.dps)
    return lin


def _ill_determined(X, fit, neurons, min_digits, use_canonical):
    """The parameters predicted or measured below ``min_digits``, each with the neurons within 0.2
    rad of it (a near-cancelling clump) and the samples that separate them."""
    Wf, muf, k = fit.Wf, fit.muf, fit.k
    ill = []
    for row in neurons:
        for part in ("direction", "coefficient"):
            got, pred = row[f"{part}_digits"], row[f"predicted_{part}_digits"]
            if use_canonical:
                got = None  # the relu-form mismatch is the relu(z) = relu(-z) + z symmetry, not an error
            if pred < min_digits or (got is not None and got < min_digits):
                i = row["index"]
                near = [
                    {
                        "neuron": j,
                        "angle": float(np.arccos(np.clip(Wf[i] @ Wf[j], -1, 1))),
                        "coefficient": float(muf[j]),
                        # samples on which the two neurons' activations differ: the only ones that tell them apart
                        "separating_samples": int(np.sum((X @ Wf[i] > 0) != (X @ Wf[j] > 0))),
                    }
                    for j in range(k)
                    if j != i and abs(Wf[i] @ Wf[j]) > math.cos(0.2)
                ]
                ill.append(
                    {
                        "parameter": f"neuron {i} {part}",
                        "digits": got,
                        "predicted_digits": pred,
                        "nearby_neurons": near,
                        "coefficient_sum_with_nearby": float(muf[i] + sum(c["coefficient"] for c in near)),
                    }
                )
    return ill


def _message(fit, correct, predicted, relu_correct, use_canonical, ill, source, label_rel, min_digits):
    """The report's verdict in words."""
    dps, cond, out = fit.dps, fit.cond, fit.out
    if correct is None:
        msg = f"refined at dps={dps}; predicted agreement with the sample-level minimiser >= {predicted:.1f} digits"
    elif correct >= min_digits:
        msg = (
            f"certified: every parameter agrees with the teacher to >= {correct:.1f} digits at dps={dps} "
            f"(predicted >= {predicted:.1f} from cond {cond:.2e} and label precision {label_rel:.0e})"
        )
        if use_canonical:
            msg += (
                f"; compared in canonical form <c,x> + sum lambda |<u,x>| (the relu-form parameters differ by "
                f"relu(z) = relu(-z) + z: {relu_correct:.1f} digits as relu neurons)"
            )
    elif source == "teacher at dps" and float(out.loss) > (10.0 ** (-dps / 2) * fit.y_norm) ** 2 / fit.n:
        msg = (
            f"not certified: the refinement ends at loss {float(out.loss):.2e}, not a zero-residual fit, so the start "
            f"is not in the truth's basin (a different local minimiser or representation); worst parameter "
            f"{correct:.1f} digits"
        )
    else:
        msg = (
            f"not certified to {min_digits} digits: worst parameter {correct:.1f} digits (predicted {predicted:.1f}); "
            f"ill-determined: {', '.join(p['parameter'] for p in ill) or 'none predicted'}; cond(J) = {cond:.2e}"
        )
    if fit.null_dim:
        msg += (
            f"; the gauge-fixed Jacobian is numerically rank deficient by {fit.null_dim} (singular values below "
            f"{RANK_RTOL:g} sigma_max): the parameters with predicted 0 digits are not determined by these samples"
        )
    return msg
