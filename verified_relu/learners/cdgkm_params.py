"""Parameters of CDGKM23's MULTISCALELEARN: the theorem's values and a practical profile.

The paper fixes its parameters up to unnamed constants and exponents (``poly(.)``,
``Theta(.)``).  :class:`CDGKMParams` names each one as a field, so
:meth:`CDGKMParams.from_theory` is an exact function of ``(d, k, eps, R, delta)`` and of
those constants; every value is an ``mpmath.mpf`` computed in a private context (the sample
sizes are like ``10^4000``, far below float range).  Digest references: Sec. 2.4 (Eq. 3-4),
2.5 (Lemmas 8, 10), 2.6 (Lemmas 12-20), 2.8.

The chain (with ``L = max(1, log2 k)``, every hidden constant 1 unless a field says otherwise):

* ``xi0 = (eps / (R d))^(k^(L^2))``                      initial accuracy (Eq. 13)
* ``eps' = eps / (d k R)``                                 Case-1 width (Eq. 3)
* ``Lambda = (d R / eps) * xi0^(1 / k^L)``                 detectability threshold (Eq. 3)
* ``gamma_min = (Lambda eps / (R d))^(k^L)``               smallest scale (Eq. 3)
* ``T(gamma) = (Lambda^10 / R^2) (gamma / d)^(c k)``, ``c = T_c``   (Eq. 4)
* ``xi' = d (R + R) xi0``                                  residual-moment accuracy (Lemma 8, ``||lam_hat||_1 <= R``)
* ``N = d^k (R^2 + R^2) / xi'^2``                          moment samples per round (Lemma 8)
* ``omega = sqrt(d R (eps' + xi'))``                        Case-1 threshold (Lemma 10, optimised)
* ``upsilon = Lambda``                                      net / grid granularity (Lemma 14)
* ``N_val = (2R + 4 R^2 k^3)^2 ln(1/delta) / (eps^2/2)^2`` validation samples (Lemma 20 with
  the proof's ``k^3``, see the errata)

None of this is used to *learn* beyond ``eps``, ``R``, ``eps_prime``, ``omega``, ``upsilon``,
``weight_spacing``, the sample sizes and the rounds; ``Lambda`` and ``T`` enter the audit only
(gapped scales and detectability need the ground truth).
"""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar

import mpmath

from .. import _mp
from .._validation import BOOLEAN, NONE, Interval, Options

__all__ = ["DEPARTURES", "CDGKMParams"]

#: name -> what it changes relative to the paper (all off in ``from_theory``; the practical
#: profile switches on the ones it needs and ``LearnResult.diagnostics["departures"]`` lists them).
DEPARTURES = {
    "noise_threshold": "V keeps only singular vectors of M_hat_l above noise_z times its operator-norm standard error "
    "(the paper keeps the top k of each, noise included)",
    "reduce_dim": "dim V is exactly reduce_to: a larger span is compressed, a smaller one completed, by the top "
    "eigenvectors of sum_l (M_hat_l / se_l)^2 (the paper keeps the whole span, dim V <= k(k+1))",
    "greedy_search": "Case 2 candidates by forward selection over the net with least-squares weights "
    "(the paper enumerates every m-subset of the net and every weight on the grid)",
    "ls_weights": "output weights by least squares on the validation Gram matrix instead of the upsilon-grid",
    "beam": "at most beam Case 2 candidates per round are explored (the paper's determinisation explores all paths)",
    "refine": "the accepted network is refined by Levenberg-Marquardt on all samples",
}


def _ctx(dps):
    return _mp.context(dps, guard=0)


@dataclasses.dataclass(frozen=True)
class CDGKMParams:
    """Every parameter of MULTISCALELEARN (digest Sec. 2.5), and the departures switched on.

    Learning parameters
    -------------------
    eps : target L2 error; a path is accepted when its validation MSE is ``<= eps^2 / 2``.
    R : bound on ``||lambda||_1`` (the canonical ``|.|``-form coefficients ``lambda_i = mu_i |w_i| / 2``); the weight grid is ``[-R, R]``.
    delta : failure probability (sizes ``N_val`` and the random net).
    eps_prime : Case 1 is reported when the spread of the estimated projections is ``<= eps_prime``.
    omega : Case-1 threshold: a Case-1 half-neuron with ``||lam_+- u|| <= omega`` is dropped (Lemma 10).
    upsilon : net granularity (covering radius of the net of the unit sphere of V).
    weight_spacing : step of the weight grid of ``[-R, R]`` (the paper: ``upsilon``).
    n_moments : samples for the residual moments (None: all but ``n_val``).
    n_val : fresh validation samples (Lemma 20).
    rounds : at most this many rounds (the paper: ``k``).
    net : ``"cube"`` (deterministic, certified) or ``"random"`` net of the sphere of V.
    max_paths : safety limit on explored computation paths (reaching it ends the run as a failure).
    max_candidates : safety limit on Case-2 candidates per round for the exhaustive search.

    Audit parameters (need ground truth; never used to learn)
    ---------------------------------------------------------
    Lambda : detectability threshold of Def. 6.
    T_prefactor, T_exponent : ``T(gamma) = T_prefactor * (gamma / d)^T_exponent`` (Eq. 4).
    gamma_min : smallest scale considered (Eq. 3).

    Departures (all False in :meth:`from_theory`; see :data:`DEPARTURES`)
    ----------------------------------------------------------------------
    noise_threshold (with noise_z), reduce_dim (with reduce_to), greedy_search, ls_weights,
    beam (an int or None), refine.

    Output
    ------
    paper_checkpoint : with ``refine`` on, also run the paper's steps alone (the same run with
        ``refine`` off, from the same random state) and keep their network as
        ``result.checkpoints["paper"]``.  Costs that second search, which explores more paths
        than the refined one (docs/benchmarks.md); not a departure, it changes no output.

    Theory bookkeeping (``from_theory`` only; None otherwise): xi0, xi_prime, N_per_round,
    net_size, grid_size, paths, and the constants used.
    """

    eps: object = 0.05
    R: object = 8.0
    delta: object = 0.1
    eps_prime: object = 1e-3
    omega: object = 1e-3
    upsilon: object = 0.25
    weight_spacing: object = 0.25
    n_moments: object = None
    n_val: object = 2000
    rounds: int | None = None
    net: str = "cube"
    max_paths: int = 64
    max_candidates: int = 20_000_000
    Lambda: object = 0.05
    T_prefactor: object = None
    T_exponent: object = 2.0
    gamma_min: object = 1e-6
    noise_threshold: bool = False
    noise_z: float = 5.0
    reduce_dim: bool = False
    reduce_to: int | None = None
    greedy_search: bool = False
    ls_weights: bool = False
    beam: int | None = None
    refine: bool = False
    paper_checkpoint: bool = True
    xi0: object = None
    xi_prime: object = None
    N_per_round: object = None
    net_size: object = None
    grid_size: object = None
    paths: object = None
    profile: str = "custom"

    #: Declared constraints of the fields (:func:`verified_relu._validation.check_params`);
    #: the sample counts are checked against the data in ``cdgkm.validate``.
    _constraints: ClassVar[dict] = {
        **{
            name: [Interval("real", 0, None, closed="neither")]
            for name in ("eps", "R", "upsilon", "weight_spacing", "eps_prime", "omega", "Lambda", "gamma_min")
        },
        "delta": [Interval("real", 0, 1, closed="neither")],
        "net": [Options("cube", "random")],
        "beam": [NONE, Interval("int", 1)],
        "max_paths": [Interval("int", 1)],
        "max_candidates": [Interval("int", 1)],
        "paper_checkpoint": [BOOLEAN],
    }

    def departures(self):
        """Names of the departures from the paper that are switched on."""
        names = [
            name
            for name in (
                "noise_threshold",
                "reduce_dim",
                "greedy_search",
                "ls_weights",
                "refine",
            )
            if getattr(self, name)
        ]
        if self.beam is not None:
            names.append("beam")
        return names

    def T(self, gamma, d):
        """The threshold map ``T(gamma) = T_prefactor (gamma / d)^T_exponent`` (float)."""
        pre = float(self.T_prefactor) if self.T_prefactor is not None else float(d) ** float(self.T_exponent)
        return pre * (gamma / d) ** float(self.T_exponent)

    def T_inverse(self, delta, d):
        """``gamma`` with ``T(gamma) = delta``."""
        pre = float(self.T_prefactor) if self.T_prefactor is not None else float(d) ** float(self.T_exponent)
        return d * (delta / pre) ** (1.0 / float(self.T_exponent))

    @classmethod
    def practical(cls, d, k, *, eps=0.05, R=8.0, **overrides):
        """Scaled constants that run here in seconds, with the departures they need switched on.

        ``noise_threshold`` (``noise_z = 2`` times the conservative operator-norm SE bound),
        ``reduce_dim`` (to ``k``), ``greedy_search``, ``ls_weights``, ``beam = 2`` and ``refine``
        are on; ``T(gamma) = gamma^2`` and ``Lambda = 0.05`` for the
        audit.  ``eps`` is absolute: scale the labels to ``E[y^2] ~ 1`` or pass ``eps``.
        """
        base = {
            "eps": eps,
            "R": R,
            "upsilon": 0.3,
            "weight_spacing": 0.25,
            "eps_prime": 1e-3,
            "omega": 1e-3,
            "n_val": None,
            "noise_threshold": True,
            "noise_z": 2.0,
            "reduce_dim": True,
            "reduce_to": k,
            "greedy_search": True,
            "ls_weights": True,
            "beam": 2,
            "refine": True,
            "T_prefactor": float(d) ** 2,
            "T_exponent": 2.0,
            "Lambda": 0.05,
            "profile": "practical",
        }
        base.update(overrides)
        return cls(**base)

    @classmethod
    def faithful(cls, d, k, *, eps, R, upsilon=0.25, weight_spacing=None, n_val=2000, **overrides):
        """Practical constants with **no** departure: exhaustive Case-2 search over the
        ``upsilon``-net and the weight grid, exhaustive path search (depth first, best
        validation first, stopping at the first accepted path as step 11 does).  Tiny
        instances only (``d <= 4``, ``k <= 2``)."""
        base = {
            "eps": eps,
            "R": R,
            "upsilon": upsilon,
            "weight_spacing": upsilon if weight_spacing is None else weight_spacing,
            "n_val": n_val,
            "T_prefactor": float(d) ** 2,
            "T_exponent": 2.0,
            "profile": "faithful",
        }
        base.update(overrides)
        return cls(**base)

    @classmethod
    def from_theory(cls, d, k, eps, R, delta, *, T_c=1, dps=30):
        """The paper's values, exactly (mpmath, ``dps`` digits), every hidden constant 1.

        Floats are read as the decimal they print as (``0.1`` is 1/10); strings and mpf as given.

        See the module docstring for the chain.  Running :func:`verified_relu.learn` with the
        result raises a ``ValueError`` that names the number of samples the theorem demands.
        """
        for name, value in (("d", d), ("k", k)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"CDGKMParams.from_theory: {name} must be an int >= 1, got {value!r}")
        if k > d:
            raise ValueError(f"CDGKMParams.from_theory: k must be <= d, got k={k}, d={d}")
        ctx = _ctx(dps)
        eps, R, delta = (_mp.decimal_mpf(ctx, v) for v in (eps, R, delta))  # 0.1 means 1/10
        if not (eps > 0 and R >= 1 and 0 < delta < 1):
            raise ValueError("CDGKMParams.from_theory: need eps > 0, R >= 1 and 0 < delta < 1")
        D, K = ctx.mpf(d), ctx.mpf(k)
        L = max(ctx.mpf(1), ctx.log(K, 2))
        xi0 = (eps / (R * D)) ** (K ** (L**2))
        eps_prime = eps / (D * K * R)
        Lambda = (D * R / eps) * xi0 ** (1 / K**L)
        gamma_min = (Lambda * eps / (R * D)) ** (K**L)
        T_prefactor = Lambda**10 / R**2
        T_exponent = T_c * K
        xi_prime = D * (R + R) * xi0
        N = D**K * (R**2 + R**2) / xi_prime**2
        omega = ctx.sqrt(D * R * (eps_prime + xi_prime))
        upsilon = Lambda
        n_val = (2 * R + 4 * R**2 * K**3) ** 2 * ctx.log(1 / delta) / (eps**2 / 2) ** 2
        dim_v = K * (K + 1)
        net_size = (1 + 2 / upsilon) ** dim_v
        grid_size = 2 * R / upsilon + 1
        per_round = sum((net_size * grid_size) ** m for m in range(1, k + 1)) + 2
        paths = per_round**K
        return cls(
            eps=eps,
            R=R,
            delta=delta,
            eps_prime=eps_prime,
            omega=omega,
            upsilon=upsilon,
            weight_spacing=upsilon,
            n_moments=N,
            n_val=n_val,
            rounds=k,
            Lambda=Lambda,
            T_prefactor=T_prefactor,
            T_exponent=T_exponent,
            gamma_min=gamma_min,
            xi0=xi0,
            xi_prime=xi_prime,
            N_per_round=N,
            net_size=net_size,
            grid_size=grid_size,
            paths=paths,
            profile="theory",
        )


def as_count(value):
    """A sample size or count as a Python int, or None if it is beyond any machine (> 2^62)."""
    if value is None:
        return None
    v = mpmath.mpf(value) if not isinstance(value, (int, float)) else value
    if v > 2**62:
        return None
    return math.ceil(float(v))
