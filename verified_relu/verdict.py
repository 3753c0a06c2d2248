"""One meaning of ``success`` for every learner: the shared verdict on held-out samples.

Every method of :func:`verified_relu.learn` (the fast learner, the papers' learners and the
baselines) decides ``LearnResult.success`` with :func:`verdict`, on samples it did not fit
(for the oracle ``gd_population``, which never fits the samples, on all of them).  Two criteria
grant success, and the message names the one that was met, in the same words for every method:

* **exact** -- the held-out relative squared error ``mean(r^2) / mean(y^2)`` is at most
  ``success_tol`` (``r = y - F_hat(x)``), and so is the training error relative to the same
  ``mean(y^2)`` when it is given: a fit that does not reproduce its own training samples is not
  exact, however small its held-out error (its error can sit in a thin wedge between two nearly
  parallel hyperplanes that the held-out samples do not reach).  With ``noiseless=True`` this is
  the only criterion.
* **noise-consistent** (only when ``noiseless=False``) -- the held-out residual is
  indistinguishable from label noise independent of ``x``: no entry of ``E[r x]``,
  ``E[r S_2(x)]`` or ``E[(r^2 - mean r^2) S_2(x)]`` has a ``|z|``-score beyond the Bonferroni
  limit of a family-wise false-alarm rate ``family_alpha``; the residual is not predictable
  from ``x`` by ReLU features either (:func:`residual_feature_pvalue`: a rank-based test of the
  share of the residual explained by ``x`` and random ReLU features, p-value above
  ``family_alpha``); and (when the training error is given) the held-out error is within
  ``noise_factor`` times the training error.  The two residual tests guard against different
  misses: low-degree moments see structure spread over the whole space, the ReLU features see
  a fit that is wrong where some neurons are active, whose low moments can cancel.

Both criteria also require evidence, at a stated confidence, that the labels **depend on X**
and that the fit captures it:

* for an exact fit, the permutation bound: if the labels were independent of ``X`` they would
  be exchangeable given the held-out predictions, and a share of at most
  ``prod_c |c|! / n!`` of the relabellings fits as well, where the ``c`` are the groups of
  labels linked by gaps of at most ``2 sqrt(sum r^2)`` (a relabelling that fits as well moves
  no label by more than that).  The bound is distribution-free; constant labels give 1.  It
  must be at most ``alpha`` (``1e-4`` by default).
* otherwise, a permutation test: the held-out ``R^2 = 1 - sum r^2 / sum (y - mean y)^2`` must
  be positive, and the fit must beat every one of ``permutations`` random relabellings of the
  held-out labels (``sum_a (y_pi(a) - F_hat(x_a))^2 > sum_a r_a^2`` for each ``pi``; drawn from a
  fixed seed, so the verdict is a function of the data).  Under independence the labels are
  exchangeable given the predictions, so the p-value ``(1 + #{pi fits as well}) / (1 +
  permutations)`` is exact at any sample size and for any label distribution (heavy tails and
  sparse labels included); with the default 9999 relabellings success needs ``p <= 1e-4``.
  The standard error of ``R^2`` (from the per-sample differences
  ``D_a = (y_a - mean y)^2 - r_a^2``) is reported next to it.

Labels with no dependence on ``x`` (pure noise, shuffled labels, a column independent of the
features) therefore give ``success=False`` with the message "labels show no detectable
dependence on X (held-out R^2 = ... +- ...)".

Examples
--------
>>> import numpy as np
>>> from verified_relu import ReLUNetwork
>>> net = ReLUNetwork([[1.0, 0.0], [0.0, 1.0]], [1.0, -1.0])
>>> X, y = net.sample(2000, rng=0)
>>> verdict(net(X), X, y, noiseless=True).criterion
'exact'
>>> noise = np.random.default_rng(1).standard_normal(2000)
>>> v = verdict(net(X), X, noise)
>>> v.success, v.message.startswith("labels show no detectable dependence on X")
(False, True)
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ._validation import BOOLEAN, Interval

__all__ = [
    "CONSTRAINTS",
    "DEFAULTS",
    "Verdict",
    "VerdictOptions",
    "dependence",
    "exact_fit_log10_pvalue",
    "permutation_pvalue",
    "residual_feature_pvalue",
    "residual_structure",
    "verdict",
]

#: Default thresholds of the shared rule (every learner's options default to these).
DEFAULTS = {"success_tol": 1e-10, "noise_factor": 1.5, "alpha": 1e-4, "permutations": 9999, "family_alpha": 1e-3}


@dataclasses.dataclass(frozen=True)
class VerdictOptions:
    """The options of the shared rule that every learner takes (``learn(..., noiseless=True)``).

    success_tol : relative held-out squared error at or below which a fit is exact.
    noiseless : declare the labels noiseless: only an exact fit succeeds.
    noise_factor : a noise-consistent fit's held-out error is at most this factor times its
        training error.
    """

    success_tol: float = DEFAULTS["success_tol"]
    noiseless: bool = False
    noise_factor: float = DEFAULTS["noise_factor"]


#: Declared constraints of the verdict options, shared by every learner's options class
#: (:func:`verified_relu._validation.check_params`).
CONSTRAINTS = {
    "success_tol": [Interval("real", 0, None)],
    "noiseless": [BOOLEAN],
    "noise_factor": [Interval("real", 0, None, closed="neither")],
}


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The outcome of :func:`verdict` (all fields JSON-ready through :meth:`to_dict`).

    Attributes
    ----------
    success : bool
    criterion : {"exact", "noise-consistent"} or None
        The criterion that was met (None when ``success`` is False).
    reason : str
        ``"exact"``, ``"noise-consistent"``, ``"no-dependence"``, ``"undetermined"`` or
        ``"not-recovered"``.
    message : str
        One sentence, the same words for every method.
    n : int
        Held-out samples.
    mse, relative : float
        Held-out mean squared error and its ratio to ``mean(y^2)``.
    r2, r2_se : float
        Held-out ``R^2`` and its standard error.
    permutation_p : float
        p-value of the permutation test (``1`` when not run: an exact fit uses the bound below).
    residual_max_z, residual_z_limit : float
        Largest ``|z|`` of the residual's moments and the Bonferroni limit.
    exact_fit_log10_p : float
        For an exact fit, ``log10`` of the permutation bound of :func:`exact_fit_log10_pvalue` (0 otherwise).
    train_mse : float or None
    residual_feature_p : float
        p-value of :func:`residual_feature_pvalue` (``nan`` when not computed: an exact fit).
    """

    success: bool
    criterion: str | None
    reason: str
    message: str
    n: int
    mse: float
    relative: float
    r2: float
    r2_se: float
    permutation_p: float
    residual_max_z: float
    residual_z_limit: float
    exact_fit_log10_p: float = 0.0
    train_mse: float | None = None
    residual_feature_p: float = math.nan

    def to_dict(self):
        out = dataclasses.asdict(self)
        for key, value in out.items():
            if isinstance(value, float) and not math.isfinite(value):
                out[key] = repr(value)
        return out


def residual_structure(X, resid, family_alpha=DEFAULTS["family_alpha"]):
    """``(max |z|, limit)``: the largest ``|z|``-score of moments that noise independent of ``x`` zeroes.

    Entries of ``E[r x]``, ``E[r S_2]`` and ``E[(r^2 - mean r^2) S_2]``, each divided by its
    standard error; under "``r`` is independent of ``x``" all have mean zero.  ``limit`` is the
    two-sided normal quantile at the Bonferroni level ``family_alpha / (number of entries)``.
    """
    from scipy.special import ndtri

    from .moments import moment_contraction

    d = X.shape[1]
    zs = []
    for lab, l in ((resid, 1), (resid, 2), (resid * resid - np.mean(resid * resid), 2)):
        est = moment_contraction(X, lab, l, return_se=True)
        val, se = np.atleast_1d(est.value), np.atleast_1d(est.se)
        if l == 2:
            iu = np.triu_indices(d)
            val, se = val[iu], se[iu]
        ok = se > 0
        zs.append(np.abs(val[ok] / se[ok]))
    z = np.concatenate(zs)
    limit = float(-ndtri(family_alpha / (2 * max(len(z), 1))))
    return float(z.max(initial=0.0)), limit


def residual_feature_pvalue(X, resid, seed=0):
    """p-value of "the residual is independent of ``x``" against residuals that ReLU features predict.

    The residual is replaced by the normal scores of its ranks ``s_a = Phi^{-1}((rank_a - 1/2) /
    n)`` (so heavy-tailed noise is harmless), and regressed on the centred features ``x`` and
    ``relu(<g_j, x>)``, ``j = 1..m``, with ``m = min(4 d, 64, n // 10 - d)`` unit directions
    ``g_j`` drawn from ``seed`` (fixed: the test is a function of the data).  The statistic is the
    share ``R^2`` of ``|s|^2`` explained; under independence with Gaussian scores it follows
    ``Beta(q / 2, (n - 1 - q) / 2)`` for ``q`` independent features, whose upper tail is the
    p-value (the normal scores make this accurate for any continuous noise law: measured false-
    alarm rates in tests/test_verdict.py).  Too few rows for any feature give ``1.0``.
    """
    from scipy.special import betainc, ndtri

    X = np.asarray(X, dtype=float)
    r = np.asarray(resid, dtype=float)
    n, d = X.shape
    m = min(4 * d, 64, n // 10 - d)
    if m < 1:
        return 1.0
    G = np.random.default_rng(seed).standard_normal((d, m))
    G /= np.linalg.norm(G, axis=0)
    Phi = np.hstack([X, np.maximum(X @ G, 0.0)])
    Phi -= Phi.mean(axis=0)
    Q, R = np.linalg.qr(Phi)
    diag = np.abs(np.diag(R))
    Q = Q[:, diag > 1e-10 * diag.max(initial=0.0)]
    q = Q.shape[1]
    if q < 1 or n - 1 - q < 1:
        return 1.0
    order = np.argsort(r, kind="stable")  # 0-based ranks; ties share the mean of theirs
    sorted_r = r[order]
    starts = np.flatnonzero(np.r_[True, sorted_r[1:] != sorted_r[:-1]])
    ends = np.r_[starts[1:], n]
    ranks = np.empty(n)
    ranks[order] = np.repeat((starts + ends - 1) / 2.0, ends - starts)
    s = ndtri((ranks + 0.5) / n)
    s -= s.mean()
    ss = float(s @ s)
    if not ss > 0:
        return 1.0  # a constant residual is independent of x
    r2 = min(float(np.sum((Q.T @ s) ** 2)) / ss, 1.0)
    return float(betainc((n - 1 - q) / 2.0, q / 2.0, 1.0 - r2))


def dependence(y, resid):
    """``(R^2, se)`` of the held-out fit (``nan`` for constant labels: nothing to explain).

    ``R^2 = mean(D) / mean((y - mean y)^2)`` with ``D_a = (y_a - mean y)^2 - r_a^2``; its standard
    error is the standard error of ``mean(D)`` over the same denominator.
    """
    y = np.asarray(y, dtype=float)
    resid = np.asarray(resid, dtype=float)
    n = len(y)
    c = y - np.mean(y) if n else y
    var = float(np.mean(c * c)) if n else 0.0
    if not var > 0.0 or n < 2:
        return math.nan, math.nan
    D = c * c - resid * resid
    return float(np.mean(D)) / var, float(np.std(D, ddof=1) / math.sqrt(n)) / var


def permutation_pvalue(y, predictions, permutations=DEFAULTS["permutations"], seed=0):
    """Exact permutation p-value of "the predictions fit the labels better than relabellings do".

    The statistic is ``sum_a y_a F_hat(x_a)`` (for a fixed multiset of labels, a smaller sum of
    squared residuals is a larger one of these); ``p = (1 + #{pi : sum_a y_pi(a) F_hat(x_a) >= sum_a
    y_a F_hat(x_a)}) / (1 + permutations)`` over uniformly random permutations ``pi`` drawn from
    ``seed``.  Valid for labels exchangeable given the predictions (labels independent of ``X``,
    predictions fitted on other samples), at any ``n`` and for any label distribution.
    """
    y = np.asarray(y, dtype=float)
    f = np.asarray(predictions, dtype=float)
    n = len(y)
    if n < 2:
        return 1.0
    f = f - np.mean(f)  # the statistic's permutation distribution is unchanged by shifting f
    t0 = float(y @ f)
    gen = np.random.default_rng(seed)
    hits, done, block = 0, 0, max(1, min(permutations, 2_000_000 // n))
    while done < permutations:
        b = min(block, permutations - done)
        idx = gen.permuted(np.broadcast_to(np.arange(n), (b, n)), axis=1)
        hits += int(np.count_nonzero(y[idx] @ f >= t0 - 1e-12 * abs(t0)))
        done += b
    return (1 + hits) / (1 + permutations)


def verdict(
    predictions,
    X,
    y,
    *,
    noiseless=False,
    success_tol=DEFAULTS["success_tol"],
    train_mse=None,
    noise_factor=DEFAULTS["noise_factor"],
    alpha=DEFAULTS["alpha"],
    permutations=DEFAULTS["permutations"],
    family_alpha=DEFAULTS["family_alpha"],
    undetermined=None,
):
    """The shared success rule (see the module docstring) on held-out ``(X, y)``.

    Parameters
    ----------
    predictions : array_like, shape (n,)
        The learned predictor's values at the held-out inputs ``X``.
    X : ndarray, shape (n, d)
    y : ndarray, shape (n,)
    noiseless : bool
        Only the exact criterion can grant success.
    success_tol : float
        Relative held-out squared error at or below which the fit is exact.
    train_mse : float, optional
        The fit's error on its training samples (enables the overfitting check; an exact fit must
        also have ``train_mse / mean(y^2) <= success_tol``).
    noise_factor : float
        The held-out error may exceed the training error by at most this factor.
    alpha : float
        Level of the dependence tests (the exact fit's permutation bound, or the permutation
        test; ``alpha`` below ``1 / (1 + permutations)`` can never be met by the latter).
    permutations : int
        Random relabellings of the permutation test.
    family_alpha : float
        Family-wise false-alarm rate of the residual-structure test.
    undetermined : str, optional
        A sentence saying why the sample does not determine an exact fit (a certificate of
        :mod:`verified_relu.identifiability`); an exact fit is then refused with it.

    Returns
    -------
    Verdict
    """
    from ._validation import as_matrix, as_vector

    y = as_vector(y, "y", caller="verdict")
    X = as_matrix(X, "X", caller="verdict")
    pred = as_vector(predictions, "predictions", caller="verdict", finite=False)
    if X.shape[0] != len(y) or len(pred) != len(y):
        raise ValueError(
            f"verdict: predictions, X and y must have the same number of rows, got {len(pred)}, "
            f"{X.shape[0]} and {len(y)}"
        )
    if not np.all(np.isfinite(pred)):  # a diverged fit: a failure to report, not an input error
        bad = int(np.count_nonzero(~np.isfinite(pred)))
        return Verdict(
            False,
            None,
            "not-recovered",
            f"not recovered: the fit predicts NaN/inf on {bad} of {len(y)} held-out samples",
            n=len(y),
            mse=math.inf,
            relative=math.inf,
            r2=math.nan,
            r2_se=math.nan,
            permutation_p=1.0,
            residual_max_z=math.inf,
            residual_z_limit=math.nan,
        )
    resid = y - pred
    n = len(y)
    mse = float(np.mean(resid * resid)) if n else math.inf
    ms = float(np.mean(y * y)) if n else 0.0
    relative = mse / ms if ms > 0 else (0.0 if mse == 0 else math.inf)
    r2, r2_se = dependence(y, resid)
    z_max, z_limit = residual_structure(X, resid, family_alpha)
    held_out_exact = relative <= success_tol
    train_relative = (
        None if train_mse is None else (train_mse / ms if ms > 0 else (0.0 if train_mse == 0 else math.inf))
    )
    # a fit that does not reproduce its own training samples is not exact (a wedge of error the held-out fold missed)
    exact = held_out_exact and (train_relative is None or train_relative <= success_tol)
    log10_p, perm_p = 0.0, 1.0
    if exact:
        log10_p = exact_fit_log10_pvalue(y, mse * n)
        explained = log10_p <= math.log10(alpha)
    else:
        explained = bool(r2 > 0)
        if explained:
            perm_p = permutation_pvalue(y, pred, permutations)
            explained = perm_p <= alpha
    overfit = train_mse is not None and mse > noise_factor * train_mse
    feature_p = math.nan
    if not noiseless and not exact and not overfit and z_max <= z_limit:
        feature_p = residual_feature_pvalue(X, resid)
    noise_like = (not noiseless) and not overfit and z_max <= z_limit and feature_p > family_alpha
    r2_text = f"held-out R^2 = {r2:.4g} +- {r2_se:.2g}" if math.isfinite(r2) else "held-out labels are constant"
    fields = dict(
        n=n,
        mse=mse,
        relative=relative,
        r2=r2,
        r2_se=r2_se,
        permutation_p=perm_p,
        residual_max_z=z_max,
        residual_z_limit=z_limit,
        exact_fit_log10_p=log10_p,
        train_mse=train_mse,
        residual_feature_p=feature_p,
    )
    if not explained:
        test = f"permutation p = {perm_p:.2g}" if r2 > 0 else "R^2 not above 0"
        if exact:
            test = f"an exact fit of labels independent of X has p <= 10^{log10_p:.1f}"
        label_z, label_limit = residual_structure(X, y - np.mean(y), family_alpha) if n else (0.0, 0.0)
        if exact or label_z <= label_limit or not math.isfinite(r2):
            message = (
                f"labels show no detectable dependence on X ({r2_text}, {test}, {n} held-out samples; "
                f"success needs p <= {alpha:g})"
            )
            return Verdict(False, None, "no-dependence", message, **fields)
        message = (
            f"not recovered: the fit explains no significant share of the label variance ({r2_text}, "
            f"{test}, {n} held-out samples), although the labels depend on X (max |z| of their moments "
            f"{label_z:.2f} > {label_limit:.2f})"
        )
        return Verdict(False, None, "not-recovered", message, **fields)
    if exact and undetermined:
        return Verdict(False, None, "undetermined", f"not determined by the sample: {undetermined}", **fields)
    if exact:
        message = (
            f"exact: held-out relative squared error {relative:.2e} <= success_tol {success_tol:.0e} "
            f"({n} held-out samples; labels independent of X would fit as well with p <= 10^{log10_p:.1f})"
        )
        return Verdict(True, "exact", "exact", message, **fields)
    if noise_like:
        message = (
            f"noise-consistent: the held-out residual shows no structure (max |z| {z_max:.2f} <= "
            f"{z_limit:.2f}; ReLU-feature test p = {feature_p:.2g} > {family_alpha:g})"
            + (
                f", its error {mse:.3e} is within {noise_factor:g}x the training error {train_mse:.3e}"
                if train_mse is not None
                else ""
            )
            + f", and the fit explains the labels ({r2_text}, permutation p = {perm_p:.2g} <= {alpha:g}, "
            f"{n} held-out samples): consistent with label noise of standard deviation {math.sqrt(mse):.3g}; "
            f"if the labels are noiseless this is an inexact fit"
        )
        return Verdict(True, "noise-consistent", "noise-consistent", message, **fields)
    why = []
    if noiseless:
        why.append("labels declared noiseless")
    else:
        if z_max > z_limit:
            why.append(f"the residual is not noise-like (max |z| {z_max:.2f} > {z_limit:.2f})")
        elif feature_p <= family_alpha:
            why.append(
                f"the residual is predictable from x (ReLU-feature test p = {feature_p:.2g} <= {family_alpha:g})"
            )
        if overfit:
            why.append(f"held-out error {mse:.3e} above {noise_factor:g}x the training error {train_mse:.3e}")
    if held_out_exact:  # only the training error is above success_tol
        message = (
            f"not recovered: held-out relative squared error {relative:.2e} <= success_tol {success_tol:.0e}, "
            f"but the training relative squared error {train_relative:.2e} is above it (the fit does not "
            f"reproduce its own training samples; its error can sit where the {n} held-out samples do not look)"
        )
    else:
        message = f"not recovered: held-out relative squared error {relative:.2e} > success_tol {success_tol:.0e}"
    message += f" ({'; '.join(why)})" if why else ""
    return Verdict(False, None, "not-recovered", message, **fields)


def exact_fit_log10_pvalue(y, sse):
    """``log10`` of a distribution-free bound on the chance that labels independent of ``X`` fit as well.

    Under independence the held-out labels are exchangeable given the predictions, so the
    p-value of the sum of squared residuals ``sse`` is the share of relabellings ``pi`` with
    ``sum_a (y_pi(a) - F_hat(x_a))^2 <= sse``.  Such a relabelling moves no label by more than
    ``2 sqrt(sse)``, so it permutes labels only within the groups that gaps of at most
    ``2 sqrt(sse)`` link in sorted order: the share is at most ``prod_c |c|! / n!``.
    """
    y = np.sort(np.asarray(y, dtype=float))
    n = len(y)
    if n < 2:
        return 0.0
    breaks = np.flatnonzero(np.diff(y) > 2.0 * math.sqrt(max(sse, 0.0))) + 1
    sizes = np.diff(np.concatenate([[0], breaks, [n]]))
    log_p = sum(math.lgamma(s + 1) for s in sizes.tolist()) - math.lgamma(n + 1)
    return log_p / math.log(10.0)
