"""The registry of claims and the evidence a check returns.

A *claim* is a statement of one of the papers (a lemma, an equation, an erratum) turned into an
executable *check*: a function of a parameter dict (one per tier) that returns
:class:`Evidence` -- pass/fail plus the margin by which it held, the number of instances, the
seeds and the precision -- never a bare boolean.  Every claim also declares *mutations*:
parameter overrides (a wrong constant, a perturbed identity, the printed form of an erratum)
under which its check must fail; the test suite runs them, so no check passes vacuously.

Tiers: ``"proved"`` runs the claims that have a proof spec (:mod:`proofs_checks.proof_specs`):
branch-and-bound over boxes with ball arithmetic, over a stated domain (:mod:`proofs_checks.proved`);
its evidence has margin kind ``"certified"``.  ``"quick"`` is sized so that ``verified-relu check --tier quick`` is short on two cores
(its measured time is in docs/benchmarks.md, "Stated durations, measured"); ``"full"`` is the
complete evidence (docs/claims.md).  A claim whose statistical guarantee needs more runs than
fit in the quick tier declares ``tiers={"quick": None, "full": {...}}``: it runs at the full tier
only (its statement says why), and the quick tier's report names it as not run.

Margins follow one convention: ``margin`` is the worst ratio ``observed / bound`` over the
instances tried (the claim holds when it is ``<= 1``), unless ``margin_kind`` says otherwise:

* ``"ratio"`` -- worst ``observed / bound`` (pass iff ``<= 1``);
* ``"exact"`` -- an exact (symbolic or rational) identity: ``margin`` is 0.0 when every
  instance holds exactly, else the largest absolute discrepancy found;
* ``"certified"`` -- the ``proved`` tier: the smallest lower end, over the proved boxes, of a
  ball enclosing the margin (right side minus left side, or a reformulation divided by a positive
  factor); the claim passes when every box is proved and every mutation is refuted;
* ``"probability"`` -- a probabilistic claim: ``margin`` is the claimed probability divided by
  the Clopper-Pearson lower end (pass iff ``<= 1``; for a claimed *upper* bound, the upper end
  divided by the claim), with the interval in ``interval``.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable

__all__ = [
    "KINDS",
    "LADDER",
    "RUN_TIERS",
    "TIERS",
    "Claim",
    "Evidence",
    "Outcome",
    "REGISTRY",
    "claim",
    "clopper_pearson",
    "get",
    "not_in_tier",
    "probability_evidence",
    "ratio_evidence",
    "run",
]

KINDS = ("exact-symbolic", "high-precision numeric", "statistical", "property-based search", "end-to-end")
TIERS = ("quick", "full")
#: the tiers a run can ask for: the claims' own parameter tiers plus ``"proved"``
RUN_TIERS = TIERS + ("proved",)
#: the evidence ladder, strongest first ("end-to-end" runs of a whole algorithm are not a rung)
LADDER = ("proved", "exact-symbolic", "high-precision numeric", "statistical", "property-based search")
MARGIN_KINDS = ("ratio", "exact", "probability", "certified")


@dataclasses.dataclass(frozen=True)
class Evidence:
    """What a check found.

    passed : bool
    margin : float -- see the module docstring for its meaning per ``margin_kind``.
    margin_kind : {"ratio", "exact", "probability"}
    instances : int -- number of instances (inputs, configurations, samples) tried.
    seeds : list -- the seeds used (empty for deterministic checks).
    precision : str -- e.g. ``"exact (sympy)"``, ``"float64"``, ``"mpmath dps=50"``.
    interval : (float, float) or None -- Clopper-Pearson interval for probabilistic claims.
    details : dict -- JSON-ready extra numbers a reviewer may want (worst instance, ...).
    """

    passed: bool
    margin: float
    margin_kind: str
    instances: int
    seeds: list = dataclasses.field(default_factory=list)
    precision: str = "float64"
    interval: tuple | None = None
    details: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if self.margin_kind not in MARGIN_KINDS:
            raise ValueError(f"Evidence: margin_kind must be one of {MARGIN_KINDS}, got {self.margin_kind!r}")

    def to_dict(self):
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Claim:
    """A registered claim: ``check(params) -> Evidence`` with parameters per tier."""

    id: str
    source: str
    statement: str
    kind: str
    check: Callable
    tiers: dict
    mutations: dict

    def in_tier(self, tier):
        """Whether the claim runs at ``tier`` (a full-tier-only claim has no quick parameters)."""
        if tier not in self.tiers:
            raise ValueError(f"claim {self.id}: tier must be one of {sorted(self.tiers)}, got {tier!r}")
        return self.tiers[tier] is not None

    @property
    def smallest_tier(self):
        """The first tier of :data:`TIERS` the claim runs at (where its mutations are tried)."""
        return next(t for t in TIERS if self.tiers[t] is not None)

    def run(self, tier="quick", **overrides):
        if not self.in_tier(tier):
            raise ValueError(
                f"claim {self.id} runs at the {self.smallest_tier} tier only, not at {tier!r} "
                f"(its statistical guarantee needs the runs of that tier)"
            )
        return self.check({**self.tiers[tier], **overrides})


REGISTRY: dict = {}


def claim(id, *, source, statement, kind, tiers, mutations):
    """Decorator registering ``check(params) -> Evidence`` as a claim.

    ``tiers`` maps ``"quick"`` and ``"full"`` to parameter dicts (``"quick"`` may be None: the
    claim runs at the full tier only); ``mutations`` maps a name to parameter overrides under
    which the check must fail (at the claim's smallest tier).
    """
    if kind not in KINDS:
        raise ValueError(f"claim {id}: kind must be one of {KINDS}, got {kind!r}")
    if set(tiers) != set(TIERS):
        raise ValueError(f"claim {id}: tiers must define exactly {TIERS}, got {sorted(tiers)}")
    if not isinstance(tiers["full"], dict) or not (tiers["quick"] is None or isinstance(tiers["quick"], dict)):
        raise ValueError(f"claim {id}: tiers['full'] must be a dict and tiers['quick'] a dict or None")
    if not mutations:
        raise ValueError(f"claim {id}: at least one mutation (a way to make the check fail) is required")

    def register(fn):
        if id in REGISTRY:
            raise ValueError(f"claim id {id!r} is registered twice")
        REGISTRY[id] = Claim(id, source, statement, kind, fn, dict(tiers), dict(mutations))
        return fn

    return register


def clopper_pearson(successes, trials, confidence=0.99):
    """Exact two-sided Clopper-Pearson interval for a binomial proportion."""
    from scipy.stats import beta

    if not 0 <= successes <= trials or trials <= 0:
        raise ValueError(f"clopper_pearson: need 0 <= successes <= trials and trials > 0, got {successes}/{trials}")
    alpha = 1 - confidence
    lo = 0.0 if successes == 0 else float(beta.ppf(alpha / 2, successes, trials - successes + 1))
    hi = 1.0 if successes == trials else float(beta.ppf(1 - alpha / 2, successes + 1, trials - successes))
    return lo, hi


def _load_all():
    # importing the modules registers their claims
    from . import cdgkm, cn, dk, dkkz, errata, hermite, learners  # noqa: F401


def get(claim_id):
    _load_all()
    try:
        return REGISTRY[claim_id]
    except KeyError:
        raise KeyError(f"no claim {claim_id!r}; known: {sorted(REGISTRY)}") from None


@dataclasses.dataclass(frozen=True)
class Outcome:
    claim: Claim
    evidence: Evidence | None
    seconds: float
    error: str | None = None
    kind: str | None = None  # the evidence's kind when it is not the claim's check's ("proved")

    @property
    def evidence_kind(self):
        return self.kind or self.claim.kind

    @property
    def passed(self):
        return self.error is None and self.evidence is not None and self.evidence.passed

    def to_dict(self):
        return {
            "id": self.claim.id,
            "source": self.claim.source,
            "statement": self.claim.statement,
            "kind": self.evidence_kind,
            "passed": self.passed,
            "seconds": round(self.seconds, 3),
            "error": self.error,
            "evidence": None if self.evidence is None else self.evidence.to_dict(),
        }


def not_in_tier(tier):
    """Ids of the registered claims that do not run at ``tier`` (full-tier-only claims at quick;
    the claims without a proof at ``"proved"``)."""
    _load_all()
    if tier not in RUN_TIERS:
        raise ValueError(f"tier must be one of {RUN_TIERS}, got {tier!r}")
    if tier == "proved":
        from .proved import proved_ids

        return sorted(set(REGISTRY) - set(proved_ids()))
    return sorted(cid for cid, c in REGISTRY.items() if not c.in_tier(tier))


def run(ids=None, tier="quick", progress=None):
    """Run the given claims (all those of ``tier`` when ``ids`` is None); an exception in a check
    is a failure.  Asking for a claim that does not run at ``tier`` is a ValueError.  At the
    ``"proved"`` tier each claim's evidence comes from its proof spec (:func:`proofs_checks.proved.run_proof`)."""
    _load_all()
    if tier not in RUN_TIERS:
        raise ValueError(f"tier must be one of {RUN_TIERS}, got {tier!r}")
    if tier == "proved":
        return _run_proved(ids, progress)
    chosen = sorted(c for c in REGISTRY if REGISTRY[c].in_tier(tier)) if ids is None else list(ids)
    unknown = [c for c in chosen if c not in REGISTRY]
    if unknown:
        raise KeyError(f"unknown claim id(s) {unknown}; known: {sorted(REGISTRY)}")
    elsewhere = [c for c in chosen if not REGISTRY[c].in_tier(tier)]
    if elsewhere:
        raise ValueError(f"claim(s) {elsewhere} run at the full tier only, not at {tier!r}")
    outcomes = []
    for i, cid in enumerate(chosen):
        c = REGISTRY[cid]
        t0 = time.perf_counter()
        try:
            ev, err = c.run(tier), None
        except Exception as exc:  # a crashing check is reported as a failure, with its message
            ev, err = None, f"{type(exc).__name__}: {exc}"
        outcomes.append(Outcome(c, ev, time.perf_counter() - t0, err))
        if progress:
            progress(i + 1, len(chosen), outcomes[-1])
    return outcomes


def _run_proved(ids, progress):
    from .proved import proved_ids, run_proof

    chosen = proved_ids() if ids is None else list(ids)
    unknown = [c for c in chosen if c not in REGISTRY]
    if unknown:
        raise KeyError(f"unknown claim id(s) {unknown}; known: {sorted(REGISTRY)}")
    missing = [c for c in chosen if c not in proved_ids()]
    if missing:
        raise ValueError(f"claim(s) {missing} have no proof (the proved tier runs {proved_ids()})")
    outcomes = []
    for i, cid in enumerate(chosen):
        t0 = time.perf_counter()
        try:
            ev, err = run_proof(cid), None
        except Exception as exc:  # a crashing proof is reported as a failure, with its message
            ev, err = None, f"{type(exc).__name__}: {exc}"
        outcomes.append(Outcome(REGISTRY[cid], ev, time.perf_counter() - t0, err, kind="proved"))
        if progress:
            progress(i + 1, len(chosen), outcomes[-1])
    return outcomes


def ratio_evidence(worst_ratio, instances, **kw):
    """Evidence for a bound: pass iff the worst observed/bound ratio is <= 1 (NaN fails)."""
    ok = bool(math.isfinite(worst_ratio) and worst_ratio <= 1.0)
    return Evidence(ok, float(worst_ratio), "ratio", int(instances), **kw)


def probability_evidence(successes, trials, claimed, *, upper=False, confidence=0.99, **kw):
    """Evidence for "P(event) >= claimed" (or "<= claimed" with ``upper=True``) from Bernoulli
    trials: passes only when the Clopper-Pearson interval clears the claimed value."""
    lo, hi = clopper_pearson(successes, trials, confidence)
    if upper:
        margin = hi / claimed if claimed > 0 else math.inf
    else:
        margin = claimed / lo if lo > 0 else math.inf
    details = dict(kw.pop("details", {}))
    details.update({"successes": int(successes), "trials": int(trials), "claimed": claimed, "confidence": confidence})
    return Evidence(
        bool(margin <= 1.0), float(margin), "probability", int(trials), interval=(lo, hi), details=details, **kw
    )
