"""The audit side of MULTISCALELEARN: the quantities of CDGKM23's proof, from the ground truth.

None of this is used to learn.  Given the true network (``teacher``) the learner's trace
records, per round, what the lemmas talk about, each next to the bound the lemma gives:

* the projections ``v_i = <u_i, g>`` of the unlearned neurons (digest Sec. 2.2);
* for each unlearned ``i``, its **gapped scales** (Def. 6): ``gamma`` is gapped for ``i`` when
  no ``|v_j - v_i|`` lies in ``(T(gamma), gamma)``; the bad set of each ``j`` is the interval
  ``(delta_ij, T^{-1}(delta_ij))``, so the gapped scales are ``[gamma_min, 1)`` minus a union of
  intervals, computed exactly; on each gapped interval ``S^close_i`` is constant, and ``i`` is
  **detectable** there if ``|sum_{j in S^close} lambda_j| > Lambda``;
* the **collapsed clumps** (``|S^close| >= 2``) with the exact L2 cost of collapsing them onto
  one neuron, next to Lemma 15's bound ``T(gamma) k^3 sqrt(d) + k Lambda`` (undetectable) or
  the clump-collapse part ``T(gamma) k^3 sqrt(d)`` (detectable);
* the moment errors ``eta_l = ||M_l - M_hat_l||_op`` (exact population contractions of the
  residual network), the distance of each detectable neuron to ``V`` and the angle between
  ``V`` and the true span, next to Lemma 13's bound ``sqrt(2 eta / C_1) + (C_2 / C_1)^(1/4)``
  with Lemma 12's ``C_1, C_2`` (App. B.4) evaluated, and the Weyl step
  ``r^T M_l r <= 2 eta ||r||^2`` of its proof, measured.
"""

from __future__ import annotations

import math

import numpy as np

from ..hermite.numeric import relu_coefficients
from ..network import ReLUNetwork
from ._paper import ANTICONCENTRATION_C, teacher_directions

__all__ = [
    "format_audit",
    "gapped_intervals",
    "residual_network",
    "round_audit",
    "unlearned",
]


def residual_network(teacher, fitted):
    """``teacher - fitted`` as one :class:`ReLUNetwork` (exact population functionals)."""
    if fitted is None:
        return teacher
    W = np.concatenate([teacher.weights, fitted.weights])
    mu = np.concatenate([teacher.coefficients, -fitted.coefficients])
    return ReLUNetwork(W, mu, teacher.linear - fitted.linear)


def unlearned(teacher, fitted, radius):
    """Indices of the teacher's neurons with no fitted neuron within ``radius`` (``|.|`` form:
    ``u`` and ``-u`` are the same neuron)."""
    U, _ = teacher_directions(teacher)
    if fitted is None:
        return list(range(len(U)))
    F = fitted.weights / np.maximum(np.linalg.norm(fitted.weights, axis=1, keepdims=True), 1e-300)
    F = F[np.abs(fitted.coefficients) > 0]
    if len(F) == 0:
        return list(range(len(U)))
    dist = np.minimum(
        np.linalg.norm(U[:, None] - F[None], axis=2),
        np.linalg.norm(U[:, None] + F[None], axis=2),
    )
    return [i for i in range(len(U)) if dist[i].min() > radius]


def gapped_intervals(v, i, params, d):
    """The gapped scales of ``i`` (Def. 6) in ``[gamma_min, 1)``, as disjoint intervals.

    Returns a list of ``(lo, hi, close)`` with ``close`` the indices ``j`` (including ``i``)
    with ``|v_j - v_i| <= T(gamma)`` for ``gamma`` in the interval.
    """
    lo_all = float(params.gamma_min)
    dist = np.abs(np.asarray(v) - v[i])
    bad = sorted((float(dj), params.T_inverse(float(dj), d)) for j, dj in enumerate(dist) if j != i and dj > 0)
    intervals, start = [], lo_all
    for a, b in bad + [(1.0, 1.0)]:
        a, b = max(a, lo_all), min(b, 1.0)
        if a > start:
            intervals.append((start, min(a, 1.0)))
        start = max(start, b)
        if start >= 1.0:
            break
    out = []
    for lo, hi in intervals:
        if hi <= lo:
            continue
        edge = params.T(lo, d) * (1 + 1e-9)  # lo = T^{-1}(delta_j) itself, up to rounding
        close = [j for j, dj in enumerate(dist) if dj <= edge]
        out.append((lo, hi, close))
    return out


def _lemma12_constants(params, gamma, d, k):
    c = ANTICONCENTRATION_C
    R, Lam = float(params.R), float(params.Lambda)
    base = (c * c * gamma * gamma / (4 * k**3 * d)) ** k
    T = params.T(gamma, d)
    C1 = (Lam / (2 * k)) * base
    C2 = R * k * k * T + (math.sqrt(d) / 2) * base * math.sqrt(T) * R
    return C1, C2


def _collapse_cost(U, lam, clump, rep):
    """Exact ``||sum_{j in clump} lam_j |<u_j,.>| - (sum lam_j) |<u_rep,.>| ||`` (L2)."""
    Wc = np.concatenate([U[clump], -U[clump], U[[rep]], -U[[rep]]])
    total = float(np.sum(lam[clump]))
    mu = np.concatenate([lam[clump], lam[clump], [-total], [-total]])
    return math.sqrt(max(ReLUNetwork(Wc, mu).norm_squared(), 0.0))


def round_audit(teacher, fitted, g, V, contractions, params, d, k):
    """Everything the proof says about one round, from the ground truth (JSON-ready dict)."""
    U, lam = teacher_directions(teacher)
    remaining = unlearned(teacher, fitted, 2 * float(params.upsilon))
    out = {"unlearned": remaining}
    if not remaining:
        return out
    v = U[remaining] @ g
    out["projections"] = v.tolist()
    out["spread"] = float(v.max() - v.min())
    out["case1_condition"] = bool(v.max() - v.min() <= float(params.eps_prime))
    # |.|-form projections: u and -u are one neuron; the paper's v_i are taken with u_i oriented so v_i >= 0
    signs = np.where(v < 0, -1.0, 1.0)
    va = np.abs(v)
    Ur, lr = U[remaining] * signs[:, None], lam[remaining]
    neurons, clumps, detectable_dirs, seen = [], [], [], set()
    for a, i in enumerate(remaining):
        intervals = gapped_intervals(va, a, params, d)
        rows = []
        for lo, hi, close in intervals:
            total = float(np.sum(lr[close]))
            rows.append(
                {
                    "gamma_lo": lo,
                    "gamma_hi": hi,
                    "close": [remaining[j] for j in close],
                    "close_sum": total,
                    "detectable": abs(total) > float(params.Lambda),
                }
            )
        neurons.append({"neuron": i, "v": float(v[a]), "gapped": rows})
        detectable = [row for row in rows if row["detectable"]]
        if detectable:  # Lemma 12-13 at the coarsest scale where i (or its clump) is detectable
            detectable_dirs.append((i, a, detectable[-1]["gamma_lo"]))
        clump_rows = [row for row in rows if 2 <= len(row["close"]) < len(remaining)]
        if clump_rows:  # the finest gapped scale at which i is in a proper clump
            row = clump_rows[0]
            close_local = [remaining.index(j) for j in row["close"]]
            key = tuple(row["close"])
            if key not in seen:
                seen.add(key)
                gamma = row["gamma_lo"]
                T = params.T(gamma, d)
                bound = T * k**3 * math.sqrt(d) + (0.0 if row["detectable"] else k * float(params.Lambda))
                clumps.append(
                    {
                        "members": row["close"],
                        "gamma": gamma,
                        "gamma_hi": row["gamma_hi"],
                        "T_gamma": T,
                        "close_sum": row["close_sum"],
                        "detectable": row["detectable"],
                        "collapse_cost_L2": _collapse_cost(Ur, lr, close_local, a),
                        "dropped_cost_L2": abs(row["close_sum"]),  # ||c |<u,.>| || = |c| (E z^2 = 1)
                        "lemma15_bound": bound,
                        "lemma15_formula": "T(gamma) k^3 sqrt(d)" + ("" if row["detectable"] else " + k Lambda"),
                    }
                )
    out["neurons"] = neurons
    out["clumps"] = clumps
    # Lemma 13: distance of detectable neurons to V, with the bound from Lemma 12's constants
    resid = residual_network(teacher, fitted)
    exact = {l: resid.moment_contraction(l, g) / (2.0 * relu_coefficients(l)[l]) for l in contractions}
    by_degree = {str(l): float(np.linalg.norm(exact[l] - M_hat, 2)) for l, M_hat in contractions.items()}
    eta = max(by_degree.values())
    out["eta"] = eta
    out["eta_by_degree"] = by_degree
    P = V @ V.T if V.shape[1] else np.zeros((d, d))
    span = np.linalg.svd(U[remaining].T, full_matrices=False)[0]
    cosines = np.linalg.svd(span.T @ V, compute_uv=False) if V.shape[1] else np.zeros(0)
    out["principal_angle_max"] = (
        float(np.arccos(np.clip(cosines.min(), -1, 1))) if len(cosines) == span.shape[1] else float(np.pi / 2)
    )
    rows = []
    for i, a, gamma in detectable_dirs:
        r = U[i] - P @ U[i]
        C1, C2 = _lemma12_constants(params, gamma, d, k)
        bound = math.sqrt(2 * eta / C1) + (C2 / C1) ** 0.25 if C1 > 0 else math.inf
        weyl = {str(l): [float(r @ exact[l] @ r), 2 * eta * float(r @ r)] for l in contractions}
        rows.append(
            {
                "neuron": i,
                "gamma": gamma,
                "dist_to_V": float(np.linalg.norm(r)),
                "lemma13_bound": bound,
                "C1": C1,
                "C2": C2,
                "weyl_rMr_vs_2eta_r2": weyl,
            }
        )
    out["detectable_to_V"] = rows
    return out


def _fmt(x):
    return f"{x:.3g}" if isinstance(x, (int, float)) else str(x)


def format_audit(result):
    """A plain-text report of a cdgkm run's audit: per round, each quantity next to its lemma.

    ``result`` is a :class:`~verified_relu.learners.LearnResult` of ``method="cdgkm"`` run
    with ``teacher=``.  Returns a string.
    """
    lines = [f"cdgkm run: {result.message}"]
    for name, err in result.diagnostics.get("checkpoints", {}).items():
        ((kind, value),) = err.items()
        label = "the paper's steps alone" if name == "paper" else f"after the departure {name!r}"
        lines.append(f"checkpoint {name!r} ({label}): {kind.replace('_', ' ')} {_fmt(value)}")
    direction = result.step("direction").data
    if direction.get("checked"):
        m = direction["margins"]
        lines.append(
            f"direction g: Lemma 4 margin {_fmt(m['lemma4_margin'])}, Lemma 3 margins {_fmt(m['lemma3_lower_margin'])} (lower) and "
            f"{_fmt(m['lemma3_upper_margin'])} (upper); each event holds iff its margin >= 1; {direction['draws']} draw(s)"
        )
    for step in result.trace:
        if step.name != "round" or "audit" not in step.data:
            continue
        r, a = step.data, step.data["audit"]
        lines.append(f"round at path {r['path']} (depth {r['depth']}): dim V = {r['case2']['dim_V']}")
        if "projections" not in a:
            lines.append("  every true neuron is learned")
            continue
        lines.append(
            f"  projections v_i = <u_i, g> of unlearned neurons {a['unlearned']}: {[round(v, 4) for v in a['projections']]}"
        )
        lines.append(
            f"  spread {_fmt(a['spread'])}; Case 1 (spread <= eps') {'holds' if a['case1_condition'] else 'does not hold'}"
        )
        for row in a["neurons"]:
            parts = [
                f"[{_fmt(g['gamma_lo'])}, {_fmt(g['gamma_hi'])}) close {g['close']} sum {_fmt(g['close_sum'])} {'detectable' if g['detectable'] else 'undetectable'}"
                for g in row["gapped"]
            ]
            lines.append(f"  neuron {row['neuron']}: gapped scales (Def. 6): " + "; ".join(parts))
        for c in a["clumps"]:
            lines.append(
                f"  clump {c['members']} at gamma = {_fmt(c['gamma'])} (T(gamma) = {_fmt(c['T_gamma'])}), sum {_fmt(c['close_sum'])}, "
                f"{'detectable' if c['detectable'] else 'undetectable: collapsed and dropped'}; collapse cost {_fmt(c['collapse_cost_L2'])} "
                f"<= Lemma 15 bound {c['lemma15_formula']} = {_fmt(c['lemma15_bound'])}: {c['collapse_cost_L2'] <= c['lemma15_bound']}"
            )
        per = ", ".join(f"l={l}: {_fmt(v)}" for l, v in a["eta_by_degree"].items())
        lines.append(f"  moment errors ||M_l - M_hat_l||_op: {per}; eta = max = {_fmt(a['eta'])}")
        lines.append(f"  largest principal angle between V and the true span: {_fmt(a['principal_angle_max'])} rad")
        for row in a["detectable_to_V"]:
            vacuous = row["lemma13_bound"] >= 1.0
            lines.append(
                f"  neuron {row['neuron']}: dist(u, V) = {_fmt(row['dist_to_V'])} vs Lemma 13 bound sqrt(2 eta/C1) + (C2/C1)^(1/4) = "
                f"{_fmt(row['lemma13_bound'])} (gamma = {_fmt(row['gamma'])}, C1 = {_fmt(row['C1'])}, C2 = {_fmt(row['C2'])})"
                + (
                    ": VACUOUS here (>= 1, and the distance of a unit vector to a subspace is at most 1)"
                    if vacuous
                    else ""
                )
            )
    return "\n".join(lines)
