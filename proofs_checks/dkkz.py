"""Claims: the DKKZ20 CSQ hard instance for ReLU (digest section 4.5, claim 26; CN24 Remark 17).

``F_k(x, y) = sum_{m=1}^{2k} (-1)^m relu(x cos(pi m/k) + y sin(pi m/k))``.  Every computation
here is at high precision in an explicit mpmath context: ``F_k`` is positively homogeneous and
piecewise linear, so on the circle it is ``<a_J, (cos t, sin t)>`` on each arc ``J`` between
consecutive kinks, and its angular Fourier coefficients are finite sums of closed-form
integrals of ``exp(i (1 - n) t)`` over the arcs (no quadrature error).  ``F_k`` is identically
zero exactly when every ``a_J`` is zero.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np

from .registry import Evidence, claim

__all__ = ["angular_fourier", "arc_functionals", "dkkz_neurons"]


def _ctx(dps):
    ctx = mpmath.MPContext()
    ctx.dps = int(dps)
    return ctx


def dkkz_neurons(ctx, k):
    """The ``2k`` ReLU neurons ``(angle_m, (-1)^m)``, ``angle_m = pi m / k``, m = 1..2k."""
    if int(k) != k or k < 1:
        raise ValueError(f"dkkz_neurons: k must be a positive integer, got {k!r}")
    return [(ctx.pi * m / k, (-1) ** m) for m in range(1, 2 * k + 1)]


def arc_functionals(ctx, neurons):
    """Arcs ``[alpha, beta)`` of the circle on which ``sum_m mu_m relu(<w_m, (cos t, sin t)>)``
    equals ``a_x cos t + a_y sin t``; returns a list ``(alpha, beta, a_x, a_y)``.

    ``neurons`` is a list ``(angle, coefficient)`` with unit weights ``w = (cos, sin)(angle)``.
    """
    two_pi = 2 * ctx.pi
    kinks = sorted(
        {
            ctx.nstr((phi + s * ctx.pi / 2) % two_pi, ctx.dps - 5): (phi + s * ctx.pi / 2) % two_pi
            for phi, _ in neurons
            for s in (1, -1)
        }.values()
    )
    arcs = []
    for i, alpha in enumerate(kinks):
        beta = kinks[i + 1] if i + 1 < len(kinks) else kinks[0] + two_pi
        mid = (alpha + beta) / 2
        ax = ay = ctx.mpf(0)
        for phi, mu in neurons:
            if ctx.cos(mid - phi) > 0:
                ax += mu * ctx.cos(phi)
                ay += mu * ctx.sin(phi)
        arcs.append((alpha, beta, ax, ay))
    return arcs


def angular_fourier(ctx, arcs, n):
    """``(1/2 pi) int_0^{2 pi} f(t) e^{-i n t} dt`` for the piecewise ``f`` of :func:`arc_functionals`.

    With ``z = a_x - i a_y``, ``f = (z e^{it} + conj(z) e^{-it}) / 2`` on an arc.
    """

    def integral(p, alpha, beta):  # int_alpha^beta e^{i p t} dt
        if p == 0:
            return ctx.mpc(beta - alpha)
        return (ctx.expj(p * beta) - ctx.expj(p * alpha)) / (ctx.mpc(0, 1) * p)

    total = ctx.mpc(0)
    for alpha, beta, ax, ay in arcs:
        z = ctx.mpc(ax, -ay)
        total += (z * integral(1 - n, alpha, beta) + ctx.conj(z) * integral(-1 - n, alpha, beta)) / 2
    return total / (2 * ctx.pi)


def _abs_form(ctx, k, x, y):
    return sum((-1) ** m * abs(x * ctx.cos(ctx.pi * m / k) + y * ctx.sin(ctx.pi * m / k)) for m in range(1, k + 1))


def _relu_form(ctx, k, x, y):
    return sum(
        (-1) ** m * max(ctx.mpf(0), x * ctx.cos(ctx.pi * m / k) + y * ctx.sin(ctx.pi * m / k))
        for m in range(1, 2 * k + 1)
    )


@claim(
    "dkkz.hard_instance_structure",
    source="DKKZ20 Thm 13 / Lemma 35 (as cited by DK24 section 4.5); digest item 26",
    statement=(
        "F_k = sum_{m=1}^{2k} (-1)^m relu(x cos(pi m/k) + y sin(pi m/k)) is identically 0 for odd k (every linear "
        "piece vanishes, to 1e-40 at 50 digits); for even k it equals sum_{m=1}^{k} (-1)^m |x cos(pi m/k) + y sin(pi "
        "m/k)| pointwise (random points, 1e-40 |x|), its angular Fourier coefficients vanish (< 1e-40) at every "
        "frequency n <= n_max with n != k mod 2k, those at n = 3k, 5k, ... are nonzero, and the complex coefficient "
        "(1/2pi) int F e^(-int) dt at n = k has modulus 2k/(pi (k^2 - 1)) (0.4244, 0.1698, 0.1091 for k = 2, 4, 6, "
        "the digest's values).  Margin: largest discrepancy found (0 when all hold to 1e-40)."
    ),
    kind="high-precision numeric",
    tiers={
        "quick": {
            "ks": [2, 3, 4, 5, 6],
            "n_max_factor": 4,
            "points": 50,
            "seed": 2601,
            "dps": 50,
            "nonzero_offsets": [0],
        },
        "full": {
            "ks": list(range(2, 17)),
            "n_max_factor": 6,
            "points": 400,
            "seed": 2602,
            "dps": 50,
            "nonzero_offsets": [0],
        },
    },
    mutations={"support_includes_k_minus_2": {"nonzero_offsets": [0, -2]}},
)
def check_hard_instance_structure(params):
    ctx = _ctx(params["dps"])
    tol = ctx.mpf(10) ** -40
    gen = np.random.default_rng(params["seed"])
    worst, rows, instances = ctx.mpf(0), [], 0
    for k in params["ks"]:
        arcs = arc_functionals(ctx, dkkz_neurons(ctx, k))
        if k % 2:
            piece = max(ctx.sqrt(ax**2 + ay**2) for _, _, ax, ay in arcs)
            worst = max(worst, piece if piece > tol else ctx.mpf(0))
            rows.append({"k": k, "max_piece_norm": float(piece)})
            instances += 1
            continue
        pts = gen.standard_normal((params["points"], 2))
        pw = max(
            abs(_relu_form(ctx, k, ctx.mpf(x), ctx.mpf(y)) - _abs_form(ctx, k, ctx.mpf(x), ctx.mpf(y)))
            / ctx.sqrt(ctx.mpf(x) ** 2 + ctx.mpf(y) ** 2)
            for x, y in pts
        )
        worst = max(worst, pw if pw > tol else ctx.mpf(0))
        expected = ctx.mpf(2 * k) / (ctx.pi * (k * k - 1))
        off_support, at_k = ctx.mpf(0), None
        for n in range(params["n_max_factor"] * k + 1):
            c = abs(angular_fourier(ctx, arcs, n))
            if n == k:
                at_k = c
                err = abs(c - expected)
                worst = max(worst, err if err > tol else ctx.mpf(0))
            elif n % (2 * k) == k:
                if c <= tol:  # higher odd multiples must be present too (nonzero)
                    worst = max(worst, ctx.mpf(1))
            else:
                off_support = max(off_support, c)
                if n - k in params["nonzero_offsets"] and c <= tol:  # a frequency claimed to carry mass
                    worst = max(worst, ctx.mpf(1))
        worst = max(worst, off_support if off_support > tol else ctx.mpf(0))
        rows.append(
            {
                "k": k,
                "pointwise": float(pw),
                "coef_at_k": float(at_k),
                "expected": float(expected),
                "max_off_support": float(off_support),
            }
        )
        instances += 1 + params["points"]
    return Evidence(
        worst == 0,
        float(worst),
        "exact",
        instances,
        seeds=[params["seed"]],
        precision=f"mpmath dps={params['dps']}",
        details={"rows": rows, "tolerance": 1e-40},
    )


@claim(
    "dkkz.separation_and_rank",
    source="CN24 Remark 17 (the DKKZ20 instance is Omega(1/k)-separated and rank 2)",
    statement=(
        "The k absolute-value neurons u_m = cos(pi m/k) e1 + sin(pi m/k) e2 of verified_relu.instances.make('dkkz', d, "
        "k) (even k) span a rank-2 space and are pairwise sign-invariantly separated: min_{i != j, s = +-1} |u_i - s "
        "u_j| = 2 sin(pi/(2k)) >= 2/k.  Margin: worst (separation_constant / k) / observed separation; the rank must "
        "be exactly 2 (singular values > 1e-8 and < 1e-12 beyond the second)."
    ),
    kind="high-precision numeric",
    tiers={
        "quick": {"ks": [2, 4, 6, 8, 10, 20], "d": 6, "seed": 2611, "separation_constant": 2.0},
        "full": {"ks": list(range(2, 101, 2)), "d": 12, "seed": 2612, "separation_constant": 2.0},
    },
    mutations={"separation_4_over_k": {"separation_constant": 4.0}},
)
def check_separation_and_rank(params):
    from verified_relu import instances

    gen = np.random.default_rng(params["seed"])
    worst, rows, rank_ok = 0.0, [], True
    for k in params["ks"]:
        net = instances.make("dkkz", params["d"], k, gen)
        U = net.weights / np.linalg.norm(net.weights, axis=1)[:, None]
        G = np.abs(U @ U.T)
        np.fill_diagonal(G, -np.inf)
        sep = math.sqrt(max(0.0, 2.0 - 2.0 * float(G.max())))  # min_s |u_i - s u_j| = sqrt(2 - 2|<u_i,u_j>|)
        exact = 2 * math.sin(math.pi / (2 * k))
        sv = np.linalg.svd(U, compute_uv=False)
        rank2 = bool(sv[1] > 1e-8 and (len(sv) < 3 or sv[2] < 1e-12))
        rank_ok &= rank2
        worst = max(worst, (params["separation_constant"] / k) / sep, abs(sep - exact) / 1e-12)
        rows.append({"k": k, "separation": sep, "exact": exact, "rank2": rank2})
    return Evidence(
        bool(rank_ok and worst <= 1),
        float(worst) if rank_ok else math.inf,
        "ratio",
        len(params["ks"]),
        seeds=[params["seed"]],
        details={"rows": rows},
    )
