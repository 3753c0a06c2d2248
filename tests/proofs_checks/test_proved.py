"""The proved tier: the branch-and-bound prover, every proof spec, every mutation refuted with a
rigorous counterexample, the two named counterexamples, and the command line."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import flint
import pytest

from proofs_checks import registry
from proofs_checks.proved import counterexamples, proved_ids, run_mutation, run_proof, specs
from proofs_checks.prover import Problem, arb_of, iv, prove

PROVED = proved_ids()
MUTATIONS = [(cid, name) for cid in PROVED for name in specs()[cid].mutations]


def _x(box):
    return iv(*box[0])


# ------------------------------------------------------------------ the prover
def test_prover_proves_a_true_inequality():
    pb = Problem("t", "1 + x^2 > x", lambda b: 1 + _x(b) ** 2 - _x(b), ((-10, 10),), ("x",), strict=True)
    res = prove(pb, prec=64)
    assert res.status == "proved" and res.proved_boxes >= 1 and res.boxes >= res.proved_boxes
    assert 0 < res.min_margin <= 0.75  # the true minimum of 1 + x^2 - x is 3/4
    assert res.counterexample is None and res.unproved == [] and res.prec == 64 and res.seconds >= 0


def test_prover_refutes_with_a_verified_box_and_point():
    pb = Problem("t", "x^2 >= x/2", lambda b: _x(b) ** 2 - _x(b) / 2, ((-10, 10),), ("x",))
    res = prove(pb)
    assert res.status == "refuted"
    cx = res.counterexample
    x = Fraction(cx["point"][0])
    assert x * x - x / 2 < 0  # exact: the point violates the inequality
    lo, hi = (Fraction(v) for v in cx["box"][0])
    assert lo <= x <= hi and cx["margin"][1] < 0


def test_prover_undecided_within_budget_lists_boxes():
    pb = Problem("t", "1 + x^2 > x", lambda b: 1 + _x(b) ** 2 - _x(b), ((-10, 10),), ("x",), strict=True)
    res = prove(pb, max_boxes=2)
    assert res.status == "undecided" and res.boxes == 2 and len(res.unproved) >= 2
    covered = sorted((Fraction(b[0][0]), Fraction(b[0][1])) for b in res.unproved)
    assert covered[0][0] == -10 and covered[-1][1] == 10  # the unproved boxes are listed, not lost


def test_prover_tight_non_strict_and_exact_pairs():
    # x >= 0 on [0, 1], tight at 0: an exact (lo, hi) pair decides it; a strict version is refuted at 0
    pair = Problem("t", "x >= 0", lambda b: (b[0][0], b[0][1]), ((0, 1),), ("x",))
    assert prove(pair).status == "proved"
    strict = Problem("t", "x > 0", lambda b: (b[0][0], b[0][1]), [((0, 0),)], ("x",), strict=True)
    assert prove(strict).status == "refuted"


def test_prover_leaves_global_precision_alone():
    before = flint.ctx.prec
    prove(Problem("t", "x + 1 > 0", lambda b: _x(b) + 1, ((0, 1),), ("x",), strict=True), prec=300)
    assert flint.ctx.prec == before


def test_prover_validates_arguments():
    pb = Problem("t", "x + 1 > 0", lambda b: _x(b) + 1, ((0, 1),), ("x",), strict=True)
    with pytest.raises(ValueError, match="max_boxes"):
        prove(pb, max_boxes=0)
    with pytest.raises(ValueError, match="prec"):
        prove(pb, prec=4)


# ------------------------------------------------------------------ the claims
def test_at_least_twelve_claims_have_proofs_of_registered_claims():
    registry._load_all()
    assert len(PROVED) >= 12
    assert set(PROVED) <= set(registry.REGISTRY)
    for cid in PROVED:
        assert set(specs()[cid].mutations) == set(registry.REGISTRY[cid].mutations), cid


@pytest.mark.parametrize("cid", PROVED)
def test_claim_is_proved_over_its_stated_domain(cid):
    ev = run_proof(cid, with_mutations=False)
    d = ev.details
    assert d["status"] == "proved", [(p["name"], p["status"]) for p in d["problems"]]
    assert d["domain"] and d["numeric_evidence_kept_for"] and d["problems"]
    assert ev.margin_kind == "certified" and ev.instances >= len(d["problems"])
    assert math.isfinite(ev.margin) and ev.margin >= 0
    for p in d["problems"]:
        assert p["status"] == "proved" and p["domain"] and p["boxes"] >= 1 and p["prec"] == specs()[cid].prec


@pytest.mark.parametrize("cid,name", MUTATIONS)
def test_mutation_is_refuted_with_a_rigorous_counterexample(cid, name):
    status, cx, results = run_mutation(cid, name)
    assert status == "refuted", [(pb.name, r.status) for pb, r in results]
    assert cx is not None and cx["point"] and cx["box"] and cx["margin"][1] <= 0
    # re-check the point at a higher precision, in the inequality's original form
    pb = next(pb for pb, r in results if r.status == "refuted")
    point = tuple(Fraction(v) for v in cx["point"])
    for (lo, hi), v in zip(cx["box"], point):
        assert Fraction(lo) <= v <= Fraction(hi)
    check = pb.point_margin or (lambda pt: pb.margin(tuple((x, x) for x in pt)))
    with flint.ctx.workprec(400):
        val = check(point)
        val = arb_of(val[0]).union(arb_of(val[1])) if isinstance(val, tuple) else val
        assert (val <= 0) if pb.strict else (val < 0)


def test_proof_evidence_records_mutations_refuted():
    ev = run_proof("hermite.lipschitz_relu")
    assert ev.passed and ev.details["mutations"]["constant_0.4"]["status"] == "refuted"


# ------------------------------------------------------------------ the named counterexamples
def _inverse_2x2(a, b):
    d = b - a
    return [[b / d, -a / d], [Fraction(-1) / d, Fraction(1) / d]]


def test_vandermonde_counterexample_on_minus_one_one():
    found = {c["name"]: c for c in counterexamples()}
    cx = found["cdgkm.vandermonde: nodes in [-1, 1], m = 2"]
    assert cx["status"] == "refuted"
    a, b = (Fraction(v) for v in cx["counterexample"]["instance"]["nodes"])
    assert -1 <= a < b <= 1
    inv = _inverse_2x2(a, b)
    # ||V^-1||_2^2 = the largest eigenvalue (p+r)/2 + sqrt(((p-r)/2)^2 + q^2) of inv^T inv, against
    # the bound (2/Delta^2)^2, decided in exact rationals
    p = inv[0][0] ** 2 + inv[1][0] ** 2
    r = inv[0][1] ** 2 + inv[1][1] ** 2
    q = inv[0][0] * inv[0][1] + inv[1][0] * inv[1][1]
    rest = (2 / (b - a) ** 2) ** 2 - (p + r) / 2
    assert rest < 0 or ((p - r) / 2) ** 2 + q * q > rest * rest
    # and the extreme pair a = -1, b = 1: ||V^-1||_2 = 1/sqrt(2) > 2/4
    inv = _inverse_2x2(Fraction(-1), Fraction(1))
    assert inv[0][0] ** 2 + inv[1][0] ** 2 == Fraction(1, 2) > Fraction(1, 4)


def test_lemma27_printed_counterexample_on_an_antipodal_pair():
    found = {c["name"]: c for c in counterexamples()}
    cx = found["cdgkm.lemma27_power_sums: printed, antipodal pair"]
    assert cx["status"] == "refuted"
    inst = cx["counterexample"]["instance"]
    q = [Fraction(v) for v in inst["q"]]
    v = [Fraction(x) for x in inst["v"]]
    k = 2
    moments = [abs(sum(qi * vi ** (2 * s) for qi, vi in zip(q, v))) for s in range(k + 1)]
    tau, alpha, gamma = abs(q[0]), abs(v[0]), abs(v[0] - v[1])
    rhs = tau / (2 * k) * (alpha**2 * gamma**2 / (4 * k)) ** k  # k' = 1: the beta term vanishes
    assert max(moments) == 0 < rhs


# ------------------------------------------------------------------ independent cross-checks of the enclosures
def test_vandermonde3_frobenius_enclosure_matches_exact_inverse():
    from proofs_checks._proof_specs_cdgkm import _vandermonde3_problem

    for case in ("left", "right"):
        pb = _vandermonde3_problem(Fraction(0), "2m-2", case)
        for pt in [(Fraction(0), Fraction(1), Fraction(1)), (Fraction(1, 3), Fraction(1, 2), Fraction(1, 5))]:
            nodes = [Fraction(x) for x in pb.describe(pt)["nodes"]]
            gaps = [nodes[1] - nodes[0], nodes[2] - nodes[1]]
            delta = min(gaps)
            frob = Fraction(0)
            for i in range(3):
                j, k = [n for n in range(3) if n != i]
                den = (nodes[i] - nodes[j]) * (nodes[i] - nodes[k])
                frob += (1 + (nodes[j] + nodes[k]) ** 2 + (nodes[j] * nodes[k]) ** 2) / den**2
            with flint.ctx.workprec(128):
                m = pb.margin(tuple((x, x) for x in pt))
                assert m.overlaps(arb_of(9 - frob * delta**8))


def test_decay_enclosure_contains_the_exact_ratio():
    from proofs_checks._balls import log_abs_c
    from proofs_checks.proof_specs import _decay_Q, _log_K

    with flint.ctx.workprec(128):
        for m in (100, 1000, 10**6):
            t = arb_of(Fraction(1, m))
            log_r = log_abs_c(m) + arb_of(Fraction(5, 4)) * flint.arb(m).log() - _log_K()
            assert (t * _decay_Q(t)).overlaps(log_r)
            assert bool(0 < log_r.expm1() * m <= 1)


# ------------------------------------------------------------------ the command line
def test_cli_proved_tier_json_has_domains_and_counterexamples(tmp_path):
    from proofs_checks.cli import main

    out = tmp_path / "proved.json"
    md = tmp_path / "proved.md"
    assert main(["--tier", "proved", "--json", str(out), "--markdown", str(md), "--quiet"]) == 0
    data = json.loads(out.read_text())
    assert data["tier"] == "proved" and data["passed"]
    ids = [c["id"] for c in data["claims"]]
    assert ids == PROVED
    for c in data["claims"]:
        ev = c["evidence"]
        assert c["kind"] == "proved" and c["passed"]
        assert ev["details"]["domain"] and ev["margin_kind"] == "certified" and ev["precision"].startswith("Arb")
        assert all(p["domain"] and p["boxes"] >= 1 for p in ev["details"]["problems"])
        assert all(m["status"] == "refuted" for m in ev["details"]["mutations"].values())
    assert {c["status"] for c in data["counterexamples"]} == {"refuted"}
    text = md.read_text()
    assert "Evidence ladder" in text and "Proved domain" in text and "Rigorous counterexamples" in text


def test_cli_proved_tier_rejects_claims_without_proof(capsys):
    from proofs_checks.cli import main

    assert main(["--tier", "proved", "--only", "cdgkm.end_to_end", "--quiet"]) == 2
    assert "no proof" in capsys.readouterr().err


def test_verified_relu_check_offers_the_proved_tier(capsys):
    from verified_relu.app.cli import main

    assert main(["check", "--tier", "proved", "--only", "hermite.lipschitz_abs"]) == 0
    out = capsys.readouterr().out
    assert "proved" in out and "hermite.lipschitz_abs" in out and "certified" in out
