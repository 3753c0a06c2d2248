"""The three papers' parameter chains side by side, in exact arithmetic (``verified-relu audit``
prints them)."""

from __future__ import annotations

import math

from .. import _mp

__all__ = ["audit_table"]


def audit_table(d, k, eps, R, delta=0.1, *, dps=30):
    """The three papers' parameter chains and bounds at ``(d, k, eps, R, delta)``, exactly.

    Returns ``{paper: [(name, mpf or int, meaning), ...]}``; every value is computed in mpmath
    (``dps`` digits) by ``CDGKMParams.from_theory``, ``NetlearnParams.from_theory`` and
    ``DKParams.from_theory``.  The time rows are operation counts under our accounting (stated
    in each row, every constant 1), not measured times.
    """

    from . import CDGKMParams, DKParams, NetlearnParams

    if isinstance(d, bool) or not isinstance(d, int) or d < 1:
        raise ValueError(f"audit_table: d must be an int >= 1, got {d!r}")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= d:
        raise ValueError(f"audit_table: k must be an int with 1 <= k <= d = {d}, got {k!r}")
    if k > 64:
        raise ValueError(f"audit_table: k must be <= 64 (the chains' exponents grow like k^(log2 k)^2), got {k}")
    for name, value, ok in (
        ("eps", eps, 0 < eps < math.inf),
        ("R", R, 1 <= R < math.inf),
        ("delta", delta, 0 < delta < 1),
    ):
        if not ok:
            need = {"eps": "> 0", "R": ">= 1", "delta": "in (0, 1)"}[name]
            raise ValueError(f"audit_table: {name} must be finite and {need}, got {value!r}")
    ctx = _mp.context(dps, guard=0)
    D, K = ctx.mpf(d), ctx.mpf(k)

    c = CDGKMParams.from_theory(d, k, eps, R, delta, dps=dps)
    n_total = K * c.N_per_round + c.n_val
    cd_time = K * c.N_per_round * D**2 + c.paths * c.n_val * K * D
    cdgkm = [
        ("xi0", c.xi0, "initial accuracy (eps/(R d))^(k^(L^2)), L = max(1, log2 k)"),
        ("eps'", c.eps_prime, "Case-1 width eps/(d k R)"),
        ("Lambda", c.Lambda, "detectability threshold"),
        ("gamma_min", c.gamma_min, "smallest scale"),
        ("xi'", c.xi_prime, "residual-moment accuracy"),
        ("omega", c.omega, "Case-1 threshold"),
        ("upsilon", c.upsilon, "net and weight-grid granularity"),
        ("N per round", c.N_per_round, "moment samples per round (Lemma 8)"),
        ("N_val", c.n_val, "validation samples (Lemma 20)"),
        ("net size", c.net_size, "(1 + 2/upsilon)^(k(k+1))"),
        ("grid size", c.grid_size, "2R/upsilon + 1"),
        ("paths", c.paths, "computation paths (candidates per round)^k"),
        ("samples", n_total, "k N + N_val"),
        ("time", cd_time, "k N d^2 (moments) + paths N_val k d (validation), operations"),
    ]

    p = NetlearnParams.from_theory(d, k, eps, R, delta, dps=dps)
    net_size = (1 + 4 / ctx.mpf(p.xi)) ** K
    grid = 2 * ctx.mpf(R) / ctx.mpf(p.xi) + 1
    candidates = sum(ctx.binomial(net_size, m) * grid**m for m in range(k + 1))
    cn_time = ctx.mpf(p.N) * D**2 * len(p.degrees) + candidates * ctx.mpf(p.N_val) * K * D
    cn = [
        ("tau", p.tau, "C eps / k (C = 0.1)"),
        ("xi", p.xi, "net radius x2: C eps / (k R)"),
        ("Delta", p.Delta, "cluster scale"),
        ("eta'", p.eta_prime, "eigenvalue threshold (= nu)"),
        ("eta", p.eta, "moment accuracy eta'^2"),
        ("degrees", len(p.degrees), "contraction orders 2, 4, ..., 2k^2 + 2"),
        ("N", p.N, "moment samples (kd)^(k^2) R^2 / eta^2"),
        ("N_val", p.N_val, "validation samples (kR/eps)^4 log(kR/eps)"),
        ("net size", net_size, "(1 + 4/xi)^k: volumetric bound, xi/2-net of the sphere of V"),
        ("candidates", candidates, "sum_m C(net, m) grid^m, grid 2R/xi + 1"),
        ("samples", ctx.mpf(p.N) + ctx.mpf(p.N_val), "N + N_val"),
        ("time", cn_time, "N d^2 (#degrees) + candidates N_val k d, operations"),
    ]

    q = DKParams.from_theory(d, k, eps, R, delta, dps=dps)
    n_coef = ctx.binomial(K + q.D, K)
    moment_entries = sum(D**m for m in q.moment_degrees)
    dk_time = ctx.mpf(q.n_samples) * (moment_entries + n_coef)
    dk = [
        ("n_samples", q.n_samples, "(d k / (eps/R))^(C k), C = 10"),
        ("moment accuracy", q.moment_accuracy, "((eps/R) / k)^(C k)"),
        ("D", q.D, "Hermite degree ceil(C (eps/R)^(-4/3))"),
        ("coefficient accuracy", q.coefficient_accuracy, "(eps/R)^2 / (D C)"),
        ("moment degrees", len(q.moment_degrees), "m = 1..4k"),
        ("coefficients", n_coef, "C(k + D, k) Hermite coefficients"),
        ("samples", q.n_samples, "n_samples"),
        ("time", dk_time, "n (sum_m d^m + C(k + D, k)), operations"),
    ]
    return {"CDGKM": cdgkm, "CN": cn, "DK": dk}
