"""The ``proved`` tier: run the proof specs of :mod:`proofs_checks.proof_specs` as evidence.

For a claim with a :class:`~proofs_checks.proof_specs.ProofSpec`, :func:`run_proof` runs
:func:`~proofs_checks.prover.prove` on each of its problems and returns
:class:`~proofs_checks.registry.Evidence` of margin kind ``"certified"``: ``margin`` is the
smallest lower end of the margin (right side minus left side, or its reformulation) over all
proved boxes; ``instances`` the number of boxes; ``details`` the domain, each problem's
status, boxes, margin, seconds and reformulation, what keeps numeric evidence, and every
mutation's outcome.  The evidence passes when every problem is proved *and* every mutation of
the claim comes back ``refuted`` with a counterexample (a mutation only ``undecided`` fails it).

:func:`counterexamples` runs the named counterexamples (a printed statement refuted on a
stated domain).
"""

from __future__ import annotations

import time

from .prover import prove
from .registry import Evidence

__all__ = ["counterexamples", "proved_ids", "run_mutation", "run_proof", "specs"]


def specs():
    from .proof_specs import PROOFS

    return PROOFS


def proved_ids():
    """Ids of the claims that have a proof spec (sorted)."""
    return sorted(specs())


def _run_problems(spec, overrides):
    params = {**spec.params, **overrides}
    out = []
    for pb in spec.build(params):
        res = prove(pb, prec=spec.prec, max_boxes=spec.max_boxes)
        out.append((pb, res))
    return out


def _status(results):
    st = [r.status for _, r in results]
    if "refuted" in st:
        return "refuted"
    return "proved" if all(s == "proved" for s in st) else "undecided"


def _problem_record(pb, res):
    rec = {
        "name": pb.name,
        "statement": pb.statement,
        "domain": pb.domain_text(),
        "inequality": "margin > 0" if pb.strict else "margin >= 0",
        "reformulation": pb.reformulation,
    }
    rec.update(res.to_dict())
    rec["seconds"] = round(rec["seconds"], 4)
    return rec


def run_mutation(claim_id, name):
    """``(status, counterexample record or None, results)`` of the proof spec under mutation ``name``."""
    spec = specs()[claim_id]
    results = _run_problems(spec, spec.mutations[name])
    status = _status(results)
    cx = next(({"problem": pb.name, **r.counterexample} for pb, r in results if r.status == "refuted"), None)
    return status, cx, results


def run_proof(claim_id, overrides=None, with_mutations=True):
    """Evidence for the claim ``claim_id`` from its proof spec (see the module docstring)."""
    spec = specs()[claim_id]
    t0 = time.perf_counter()
    results = _run_problems(spec, overrides or {})
    status = _status(results)
    margins = [r.min_margin for _, r in results if r.min_margin is not None]
    mutations = {}
    if with_mutations:
        for name in spec.mutations:
            m_status, cx, _ = run_mutation(claim_id, name)
            mutations[name] = {"status": m_status, "counterexample": cx}
    mutations_ok = all(m["status"] == "refuted" and m["counterexample"] for m in mutations.values())
    details = {
        "status": status,
        "domain": spec.domain,
        "numeric_evidence_kept_for": spec.numeric,
        "precision_bits": spec.prec,
        "box_budget": spec.max_boxes,
        "problems": [_problem_record(pb, r) for pb, r in results],
        "mutations": mutations,
        "seconds": round(time.perf_counter() - t0, 4),
    }
    return Evidence(
        bool(status == "proved" and mutations_ok),
        min(margins) if margins else float("nan"),
        "certified",
        sum(r.boxes for _, r in results),
        precision=f"Arb balls, {spec.prec} bits",
        details=details,
    )


def counterexamples():
    """The named counterexamples: a list of dicts (name, claim, what, status, counterexample)."""
    from .proof_specs import COUNTEREXAMPLES

    out = []
    for name, (cid, build, what) in COUNTEREXAMPLES.items():
        t0 = time.perf_counter()
        results = [(pb, prove(pb)) for pb in build()]
        cx = next(({"problem": pb.name, **r.counterexample} for pb, r in results if r.status == "refuted"), None)
        out.append(
            {
                "name": name,
                "claim": cid,
                "shows": what,
                "status": _status(results),
                "counterexample": cx,
                "problems": [_problem_record(pb, r) for pb, r in results],
                "seconds": round(time.perf_counter() - t0, 4),
            }
        )
    return out
