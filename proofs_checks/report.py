"""Formatting of the claims' outcomes (the command line that runs them is :mod:`proofs_checks.cli`,
shared by ``python -m proofs_checks`` and ``verified-relu check``).

Outputs: a terminal table (id, source, kind, result, margin, time), JSON (the
:meth:`~proofs_checks.registry.Outcome.to_dict` list plus versions and tier) and Markdown
(every claim with its statement, evidence and time).  Files are written atomically.
Exit status: 0 all claims passed, 1 some claim failed, 2 bad usage (one line on stderr).
"""

from __future__ import annotations

import json
import math

from verified_relu._provenance import jsonable, versions

__all__ = ["LEGEND", "LADDER_TEXT", "format_margin", "to_json", "to_markdown", "to_table"]

#: What the margin column means (also in docs/claims.md).
LEGEND = (
    "margin: ratio = worst observed / bound (passes when <= 1); exact = how far an identity is off "
    "(0: it holds exactly); probability = claimed probability / the 99% Clopper-Pearson lower end of the "
    "observed rate (passes when <= 1); certified = the smallest lower end of a ball enclosing the margin "
    "(right side minus left side, or a stated reformulation) over the proved boxes (proved tier)"
)
#: The evidence ladder (also in docs/claims.md).
LADDER_TEXT = (
    "Evidence ladder, strongest first: proved (branch-and-bound over boxes with ball arithmetic, over a stated "
    "domain: the inequality holds at every point of it) > exact-symbolic > high-precision numeric > statistical > "
    "property-based search (the last three: the bound held at the points tried).  End-to-end runs of a whole "
    "algorithm are reported as their own kind."
)
_SOURCE_WIDTH = 40


def format_margin(evidence):
    """A short human string for an evidence's margin (``-`` when there is none)."""
    if evidence is None:
        return "-"
    m = evidence.margin
    if evidence.margin_kind == "certified":
        return "certified -" if not math.isfinite(m) else f"certified {m:.4g}"
    if evidence.margin_kind == "exact":
        return "exact" if m == 0 else f"off by {m:.3g}"
    if not math.isfinite(m):
        return f"{evidence.margin_kind} inf"
    text = f"{m:.4g}"
    if float(text) == 1.0 and m != 1.0:  # do not display a near-equality as an equality
        text = f"{m:.12g}"
    return f"{evidence.margin_kind} {text}"


def _result(outcome):
    if outcome.error:
        return "ERROR"
    return "pass" if outcome.passed else "FAIL"


def _not_run_line(not_run, tier):
    if tier == "proved":
        return f"Not run at the proved tier (no proof; their quick/full evidence stands): {', '.join(not_run)}."
    return f"Not run at the {tier} tier (full tier only; each statement says why): {', '.join(not_run)}."


def _value(v):
    return "(" + ", ".join(map(str, v)) + ")" if isinstance(v, list | tuple) else str(v)


def _where(c):
    inst = c.get("instance") or dict(zip(c.get("variables", []), c.get("point", [])))
    return ", ".join(f"{k} = {_value(v)}" for k, v in inst.items())


def _counterexample_line(cx):
    c = cx.get("counterexample") or {}
    where = _where(c)
    marg = c.get("margin")
    return f"counterexample [{cx['name']}]: {cx['status']}" + (
        f" at {where} (margin in [{marg[0]:.6g}, {marg[1]:.6g}])" if marg else ""
    )


def to_table(outcomes, not_run=(), tier="quick", verbose=False):
    """A fixed-width text table of outcomes, with a summary line, the ids in ``not_run`` (claims
    that do not run at ``tier``) and a legend of the margins.  Sources longer than 40 characters
    are cut (the legend says so) unless ``verbose``."""
    rows = [("id", "source", "kind", "result", "margin", "time")]
    cut = False
    for o in outcomes:
        src = o.claim.source
        if not verbose and len(src) > _SOURCE_WIDTH:
            src, cut = src[: _SOURCE_WIDTH - 3] + "...", True
        rows.append((o.claim.id, src, o.evidence_kind, _result(o), format_margin(o.evidence), f"{o.seconds:.2f}s"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    failed = [o.claim.id for o in outcomes if not o.passed]
    lines.append("")
    lines.append(
        f"{len(outcomes) - len(failed)}/{len(outcomes)} claims passed"
        + (f"; failed: {', '.join(failed)}" if failed else "")
    )
    if not_run:
        lines.append(_not_run_line(not_run, tier))
    for o in outcomes:
        if o.error:
            lines.append(f"{o.claim.id}: {o.error}")
    lines.append(
        LEGEND
        + "."
        + (f" Sources are cut at {_SOURCE_WIDTH} characters; --verbose prints them in full." if cut else "")
    )
    return "\n".join(lines)


def to_json(outcomes, tier, not_run=(), counterexamples=None):
    """JSON text: ``{"tier", "versions", "passed", "claims": [Outcome.to_dict(), ...], "not_run"}``
    (``not_run``: ids of the claims that do not run at ``tier``), plus ``"counterexamples"`` (the
    proved tier's named counterexamples) when given."""
    data = {
        "tier": tier,
        "versions": versions(),
        "passed": all(o.passed for o in outcomes) and all(c["status"] == "refuted" for c in counterexamples or []),
        "claims": [jsonable(o.to_dict()) for o in outcomes],
        "not_run": list(not_run),
    }
    if counterexamples is not None:
        data["counterexamples"] = jsonable(counterexamples)
    return json.dumps(data, indent=2, sort_keys=False) + "\n"


def _md(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def _proof_lines(ev):
    """Markdown bullet lines for a proved-tier evidence (domain, boxes, margin, precision, mutations)."""
    d = ev.details
    out = [
        f"- **Proved domain:** {_md(d['domain'])}",
        f"- **Proof status:** {d['status']}; {ev.instances} boxes; smallest certified margin {ev.margin:.6g}; "
        f"{_md(ev.precision)}; {d['seconds']:.2f} s",
        f"- **Numeric evidence kept for:** {_md(d['numeric_evidence_kept_for'])}",
    ]
    for pr in d["problems"]:
        mm = "-" if pr["min_margin"] is None else f"{pr['min_margin']:.6g}"
        out.append(
            f"  - `{_md(pr['name'])}`: {_md(pr['statement'])}; over {_md(pr['domain'])} ({pr['inequality']}): "
            f"**{pr['status']}**, boxes: {pr['boxes']}, min margin {mm}"
            + (f"; reformulation: {_md(pr['reformulation'])}" if pr["reformulation"] else "")
        )
    for name, m in d["mutations"].items():
        cx = m["counterexample"] or {}
        where = _where(cx)
        marg = cx.get("margin")
        out.append(
            f"- **Mutation `{name}`:** {m['status']}"
            + (
                f" (`{_md(cx['problem'])}` fails at {_md(where)}, margin in [{marg[0]:.6g}, {marg[1]:.6g}])"
                if marg
                else ""
            )
        )
    return out


def _counterexample_md(cxs):
    out = ["", "## Rigorous counterexamples", ""]
    for cx in cxs:
        c = cx["counterexample"] or {}
        where = _where(c)
        marg = c.get("margin")
        out.append(
            f"- **{_md(cx['name'])}** (`{cx['claim']}`): {_md(cx['shows'])}.  Status: {cx['status']}"
            + (f"; at {_md(where)} the margin lies in [{marg[0]:.6g}, {marg[1]:.6g}] (ball arithmetic)" if marg else "")
            + "."
        )
    return out


def to_markdown(outcomes, tier, not_run=(), proved=None, counterexamples=None):
    """Markdown for ``docs/claims.md``: the evidence ladder, a summary table (with each claim's highest
    rung when ``proved``, the proved tier's outcomes, is given) and one section per claim (and the ids in
    ``not_run``: claims that do not run at ``tier``), then the named counterexamples."""
    vs = versions()
    proof_of = {o.claim.id: o for o in (proved or [])}
    if tier == "proved":
        proof_of = {o.claim.id: o for o in outcomes}

    def rung(o):
        p = proof_of.get(o.claim.id)
        return "proved" if p is not None and p.passed else o.claim.kind

    n_proved = sum(1 for o in proof_of.values() if o.passed)
    out = [
        "# Claims of the papers, checked",
        "",
        "Generated by `python -m proofs_checks --tier " + tier + " --markdown docs/claims.md`; do not edit by hand.",
        "Each claim of CDGKM23, CN24 and DK24 (and DKKZ20) is an executable check returning evidence: pass/fail, "
        "a margin (`ratio`: worst observed/bound, passes when <= 1; `exact`: 0 means the identity holds exactly; "
        "`probability`: claimed probability over the Clopper-Pearson lower end, passes when <= 1; `certified`: the "
        "smallest lower end of a ball enclosing the margin over the proved boxes), the number of "
        "instances, the precision and the seeds.  Every claim also declares mutations (a wrong constant, the "
        "printed form of an erratum) under which its check fails; the test suite runs them.",
        "",
        LADDER_TEXT,
        "",
        "The proved tier (`verified-relu check --tier proved`) runs the claims that have a proof spec "
        "(`proofs_checks/proof_specs.py`): each inequality, reformulated where it is tight at a point (the "
        "record says how), is evaluated in Arb balls on boxes that are proved or bisected; under each of the "
        "claim's mutations the same spec must come back refuted with an exact counterexample point.  A proved "
        "claim keeps its quick/full check; the record says which part of the statement stays numeric.",
        "",
        "Software: " + ", ".join(f"{k} {v}" for k, v in vs.items()) + ".",
        "",
        f"Tier `{tier}`: {sum(o.passed for o in outcomes)}/{len(outcomes)} claims passed."
        + (" " + _not_run_line([f"`{c}`" for c in not_run], tier) if not_run else "")
        + (f" Highest rung `proved`: {n_proved} claims." if proof_of else ""),
        "",
        "Not checked: bibliographic discrepancies (the DK24 PDF header's volume number, which is PMLR volume 247; "
        "the CN24 abstract's running time, (d/eps)^O(k^2) on arXiv versus (dk/eps)^O(k^2) in PMLR, against the "
        "theorem's (dkR/eps)^O(k^2)); they are not mathematical statements.",
        "",
        "| id | source | kind | highest rung | result | margin | time |",
        "|---|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        out.append(
            f"| `{o.claim.id}` | {_md(o.claim.source)} | {o.evidence_kind} | {rung(o)} | {_result(o)} | "
            f"{_md(format_margin(o.evidence))} | {o.seconds:.2f} s |"
        )
    for o in outcomes:
        ev = o.evidence
        out += [
            "",
            f"## `{o.claim.id}`",
            "",
            f"- **Source:** {_md(o.claim.source)}",
            f"- **Statement:** {_md(o.claim.statement)}",
            f"- **Kind:** {o.evidence_kind}",
            f"- **Highest rung:** {rung(o)}",
            f"- **Result:** {_result(o)}" + (f" ({_md(o.error)})" if o.error else ""),
        ]
        if ev is not None and ev.margin_kind != "certified":
            out += [
                f"- **Margin:** {ev.margin_kind} = {ev.margin:.6g}",
                f"- **Instances:** {ev.instances}",
                f"- **Precision:** {_md(ev.precision)}",
                f"- **Seeds:** {', '.join(map(str, ev.seeds)) if ev.seeds else 'none (deterministic)'}",
            ]
            if ev.interval is not None:
                out.append(f"- **Clopper-Pearson interval:** [{ev.interval[0]:.6g}, {ev.interval[1]:.6g}]")
        p = proof_of.get(o.claim.id)
        if p is not None and p.evidence is not None:
            out += _proof_lines(p.evidence)
        out.append(f"- **Mutations (must fail):** {', '.join(f'`{m}`' for m in o.claim.mutations)}")
        out.append(
            f"- **Time:** {o.seconds:.2f} s"
            + (f" (proof {p.seconds:.2f} s)" if p is not None and tier != "proved" else "")
        )
    if counterexamples:
        out += _counterexample_md(counterexamples)
    return "\n".join(out) + "\n"
