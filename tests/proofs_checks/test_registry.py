"""The claims registry: every claim passes at the quick tier and fails under each of its
declared mutations; Clopper-Pearson and the probability evidence; the reports and the CLI
(``verified-relu check`` and ``python -m proofs_checks``)."""

import json
import math
import re
import subprocess
import sys

import numpy as np
import pytest
from scipy.stats import beta, binomtest

from proofs_checks import registry, report
from proofs_checks.registry import Evidence, clopper_pearson, probability_evidence, ratio_evidence
from tests.conftest import CLAIM_TEST_RUNS as TEST_RUNS
from verified_relu._provenance import jsonable
from verified_relu.app import cli

registry._load_all()
CLAIM_IDS = sorted(registry.REGISTRY)
QUICK_IDS = [cid for cid in CLAIM_IDS if registry.REGISTRY[cid].in_tier("quick")]
FULL_ONLY_IDS = [cid for cid in CLAIM_IDS if cid not in QUICK_IDS]
# Each claim's evidence, and its evidence under each mutation, is computed once per session by the
# claim_results fixture (tests/conftest.py, which also says at what size) and read here.


# The mutations that take the longest at the quick tier (5 to 40 s each, the end-to-end learner
# runs among them) are in the slow tier, with the full-tier-only claims; their claims are not.
SLOW_MUTATIONS = {
    "cdgkm.end_to_end:one_neuron_too_few",
    "cdgkm.end_to_end_faithful:bound_eps2_over_100",
    "cn.end_to_end:labels_with_noise",
    "cn.end_to_end:one_neuron_too_few",
    "errata.dkkz_orthogonality:printed_form_asserted",
}


def _case(cid, *rest):
    """A parameter case; full-tier-only claims and SLOW_MUTATIONS are marked slow."""
    case_id = ":".join((cid, *rest))
    marks = [] if cid in QUICK_IDS and case_id not in SLOW_MUTATIONS else [pytest.mark.slow]
    return pytest.param(cid, *rest, marks=marks, id=case_id)


MUTATIONS = [_case(cid, name) for cid in CLAIM_IDS for name in sorted(registry.REGISTRY[cid].mutations)]


# ------------------------------------------------------------------ every claim, every mutation
# xdist_group: under pytest-xdist the tests that read a claim's evidence share one worker, and
# so one claim_results (a session fixture is per worker)
@pytest.mark.xdist_group("claims")
@pytest.mark.parametrize("cid", [_case(cid) for cid in CLAIM_IDS])
def test_claim_passes_at_quick_tier(cid, claim_results):
    """Every claim passes at its quick tier (a full-tier-only claim at its full tier, uncapped)."""
    ev = claim_results.claim(cid)
    assert isinstance(ev, Evidence)
    assert ev.passed, f"{cid} failed: margin {ev.margin} ({ev.margin_kind}), details {ev.details}"
    assert ev.instances > 0
    if ev.margin_kind == "exact":
        assert ev.margin == 0.0
    else:
        assert math.isfinite(ev.margin) and ev.margin <= 1.0
    json.dumps(jsonable(ev.to_dict()), allow_nan=False)  # the evidence is JSON-ready after formatting


@pytest.mark.parametrize("cid,mutation", MUTATIONS)
def test_mutation_makes_check_fail(cid, mutation, claim_results):
    ev = claim_results.mutation(cid, mutation)
    assert not ev.passed, f"{cid} still passes under mutation {mutation!r}: margin {ev.margin}"


def test_slow_mutations_are_declared_mutations():
    declared = {f"{cid}:{name}" for cid in CLAIM_IDS for name in registry.REGISTRY[cid].mutations}
    assert SLOW_MUTATIONS <= declared, sorted(SLOW_MUTATIONS - declared)


def test_every_claim_is_well_formed():
    assert CLAIM_IDS, "no claims registered"
    for cid in CLAIM_IDS:
        c = registry.REGISTRY[cid]
        assert c.kind in registry.KINDS
        assert c.source and c.statement and c.mutations
        assert set(c.tiers) == set(registry.TIERS)
        assert isinstance(c.tiers["full"], dict) and c.in_tier("full")
        assert all(isinstance(o, dict) and o for o in c.mutations.values()), cid


def test_full_only_claims_say_so_and_keep_their_guarantee_in_the_tests():
    for cid in FULL_ONLY_IDS:
        c = registry.REGISTRY[cid]
        assert "Full tier only" in c.statement, cid
        assert c.smallest_tier == "full"
        # the size the tests run (TEST_RUNS) can still clear the claimed rate
        full = c.tiers["full"]
        runs = min(full["runs"], TEST_RUNS)
        assert clopper_pearson(runs, runs)[0] > 1 - full["delta"], cid
        with pytest.raises(ValueError, match="full tier only"):
            c.run("quick")


def test_quick_tier_leaves_out_only_the_full_only_claims():
    assert registry.not_in_tier("quick") == FULL_ONLY_IDS
    assert registry.not_in_tier("full") == []


def test_full_only_claim_through_the_cli_and_the_reports(tmp_path, capsys):
    cid = "test_only.full_only_7f3a"

    def check(params):
        return ratio_evidence(params["ratio"], 1)

    with pytest.raises(ValueError, match="dict or None"):
        registry.claim(
            cid,
            source="test",
            statement="s",
            kind="exact-symbolic",
            tiers={"quick": 0.5, "full": {"ratio": 0.5}},
            mutations={"none": {"ratio": 3.0}},
        )
    registry.claim(
        cid,
        source="test",
        statement="a ratio of 0.5 is at most 1",
        kind="exact-symbolic",
        tiers={"quick": None, "full": {"ratio": 0.5}},
        mutations={"none": {"ratio": 3.0}},
    )(check)
    try:
        c = registry.REGISTRY[cid]
        assert not c.in_tier("quick") and c.in_tier("full") and c.smallest_tier == "full"
        assert cid in registry.not_in_tier("quick") and cid not in registry.not_in_tier("full")
        with pytest.raises(ValueError, match="full tier only"):
            registry.run([cid], tier="quick")
        assert cli.main(["check", "--only", cid]) == 2  # default tier quick: a usage error, one line
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and cid in err[0] and "--tier full" in err[0]
        js = tmp_path / "out.json"
        assert cli.main(["check", "--tier", "full", "--only", cid, "--quiet", "--json", str(js)]) == 0
        assert [o["id"] for o in json.loads(js.read_text())["claims"]] == [cid]
        outcomes = registry.run([TWO[0]], tier="quick")
        assert f"Not run at the quick tier (full tier only; each statement says why): {cid}." in report.to_table(
            outcomes, [cid], "quick"
        )
        assert f"`{cid}`" in report.to_markdown(outcomes, "quick", [cid])
        assert json.loads(report.to_json(outcomes, "quick", [cid]))["not_run"] == [cid]
    finally:
        registry.REGISTRY.pop(cid, None)


def test_expected_modules_registered():
    prefixes = {cid.split(".")[0] for cid in CLAIM_IDS}
    assert {"hermite", "errata"} <= prefixes
    hermite = {cid for cid in CLAIM_IDS if cid.startswith("hermite.")}
    assert len(hermite) >= 10


def test_end_to_end_claims_registered():
    e2e = {cid for cid in CLAIM_IDS if registry.REGISTRY[cid].kind == "end-to-end"}
    assert {"cdgkm.end_to_end", "cn.end_to_end", "dk.end_to_end"} <= e2e
    assert "cdgkm.lemma27_tightness" not in CLAIM_IDS  # the erratum is checked once, by errata.lemma27_tightness
    assert "errata.lemma27_tightness" in CLAIM_IDS


# ------------------------------------------------------------------ statistics
@pytest.mark.parametrize(
    "successes,trials,confidence", [(0, 10, 0.99), (3, 10, 0.95), (10, 10, 0.99), (517, 1000, 0.99), (999, 1000, 0.9)]
)
def test_clopper_pearson_matches_scipy(successes, trials, confidence):
    lo, hi = clopper_pearson(successes, trials, confidence)
    ref = binomtest(successes, trials).proportion_ci(confidence_level=confidence, method="exact")
    assert lo == pytest.approx(ref.low, rel=1e-9, abs=1e-12)
    assert hi == pytest.approx(ref.high, rel=1e-9, abs=1e-12)


def test_clopper_pearson_closed_form_at_the_ends():
    # all successes: lower end (alpha/2)^(1/n); no successes: upper end 1 - (alpha/2)^(1/n)
    n, alpha = 1000, 0.01
    assert clopper_pearson(n, n, 0.99) == (pytest.approx((alpha / 2) ** (1 / n), rel=1e-12), 1.0)
    assert clopper_pearson(0, n, 0.99) == (0.0, pytest.approx(1 - (alpha / 2) ** (1 / n), rel=1e-12))


def test_clopper_pearson_rejects_bad_counts():
    for s, t in ((-1, 10), (11, 10), (0, 0)):
        with pytest.raises(ValueError, match="successes"):
            clopper_pearson(s, t)


def test_probability_evidence_lower_claims():
    lo = (0.005) ** (1 / 1000)  # 0.99471: the 99% lower end at 1000/1000
    ok = probability_evidence(1000, 1000, 0.99)
    assert ok.passed and ok.margin == pytest.approx(0.99 / lo) and ok.interval[0] == pytest.approx(lo)
    assert ok.margin_kind == "probability" and ok.details["trials"] == 1000
    # 995/1000: the lower end is below 0.99 although the point estimate is above it
    lo995 = float(beta.ppf(0.005, 995, 6))
    bad = probability_evidence(995, 1000, 0.99)
    assert lo995 < 0.99 and not bad.passed and bad.margin == pytest.approx(0.99 / lo995)
    assert not probability_evidence(0, 100, 0.5).passed  # lower end 0: margin inf


def test_probability_evidence_upper_claims():
    hi = 1 - 0.005 ** (1 / 1000)
    ok = probability_evidence(0, 1000, 0.01, upper=True)
    assert ok.passed and ok.margin == pytest.approx(hi / 0.01)
    assert not probability_evidence(5, 1000, 0.005, upper=True).passed


def test_ratio_and_evidence_validation():
    assert ratio_evidence(1.0, 3).passed and not ratio_evidence(1.0 + 1e-12, 3).passed
    assert not ratio_evidence(float("nan"), 3).passed
    with pytest.raises(ValueError, match="margin_kind"):
        Evidence(True, 0.0, "approximate", 1)


# ------------------------------------------------------------------ reports
def test_reports_cover_every_outcome():
    ids = ["hermite.unnormalized_coefficients", "errata.lemma27_tightness"]
    outcomes = registry.run(ids, tier="quick")
    table = report.to_table(outcomes)
    md = report.to_markdown(outcomes, "quick")
    data = json.loads(report.to_json(outcomes, "quick"))
    for cid in ids:
        assert cid in table and f"## `{cid}`" in md
    assert [c["id"] for c in data["claims"]] == ids and data["tier"] == "quick" and data["passed"] is True
    assert "numpy" in data["versions"] and "2/2 claims passed" in table


def test_docs_claims_md_is_current():
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "docs" / "claims.md"
    if not path.exists():
        pytest.skip("docs/claims.md not generated yet")
    text = path.read_text(encoding="utf-8")
    listed = set(re.findall(r"^## `([^`]+)`$", text, re.M))
    hint = "regenerate with: python -m proofs_checks --tier full --markdown docs/claims.md"
    assert listed <= set(CLAIM_IDS), f"docs/claims.md lists unknown claims {sorted(listed - set(CLAIM_IDS))}; {hint}"
    assert set(CLAIM_IDS) <= listed, f"docs/claims.md misses {sorted(set(CLAIM_IDS) - listed)}; {hint}"


# ------------------------------------------------------------------ CLI
TWO = ["hermite.moment_constant", "errata.dk_lemma5_sign"]


def test_cli_check_writes_json_and_markdown(tmp_path):
    js, md = tmp_path / "claims.json", tmp_path / "claims.md"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "verified_relu",
            "check",
            "--tier",
            "quick",
            "--only",
            *TWO,
            "--json",
            str(js),
            "--markdown",
            str(md),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(js.read_text())
    assert [c["id"] for c in data["claims"]] == TWO and all(c["passed"] for c in data["claims"])
    text = md.read_text()
    assert all(f"`{cid}`" in text for cid in TWO)
    assert "[1/2]" in proc.stderr and TWO[0] in proc.stdout  # progress on stderr, table on stdout


def test_python_m_proofs_checks_same_driver(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "proofs_checks", "--only", TWO[0], "--quiet"], capture_output=True, text=True
    )
    assert proc.returncode == 0 and proc.stdout == "" and proc.stderr == ""


def test_cli_unknown_id_is_usage_error():
    proc = subprocess.run(
        [sys.executable, "-m", "verified_relu", "check", "--only", "no.such_claim"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "no.such_claim" in lines[0] and "Traceback" not in proc.stderr


def test_cli_bad_tier_is_usage_error():
    proc = subprocess.run(
        [sys.executable, "-m", "verified_relu", "check", "--tier", "huge"], capture_output=True, text=True
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_cli_missing_output_directory_is_usage_error(tmp_path, capsys):
    rc = cli.main(["check", "--only", TWO[0], "--quiet", "--json", str(tmp_path / "missing" / "x.json")])
    assert rc == 2
    assert "missing" in capsys.readouterr().err


def test_cli_failing_claim_exits_1(tmp_path, capsys):
    cid = "test_only.always_fails_7f3a"

    def check(params):
        return ratio_evidence(params["ratio"], 1)

    registry.claim(
        cid,
        source="test",
        statement="a ratio of 2 is at most 1",
        kind="exact-symbolic",
        tiers={"quick": {"ratio": 2.0}, "full": {"ratio": 2.0}},
        mutations={"none": {"ratio": 3.0}},
    )(check)
    try:
        js = tmp_path / "out.json"
        rc = cli.main(["check", "--only", cid, TWO[0], "--json", str(js)])
        captured = capsys.readouterr()
        assert rc == 1
        assert "FAIL" in captured.out and cid in captured.out
        data = json.loads(js.read_text())
        assert data["passed"] is False and [c["passed"] for c in data["claims"]] == [False, True]
    finally:
        registry.REGISTRY.pop(cid, None)
    assert cid not in registry.REGISTRY


def test_crashing_check_is_reported_not_raised(capsys):
    cid = "test_only.crashes_7f3a"

    def check(params):
        raise ArithmeticError("boom")

    registry.claim(
        cid,
        source="test",
        statement="crashes",
        kind="exact-symbolic",
        tiers={"quick": {}, "full": {}},
        mutations={"none": {}},
    )(check)
    try:
        rc = cli.main(["check", "--only", cid])
        out = capsys.readouterr().out
        assert rc == 1 and "ERROR" in out and "ArithmeticError: boom" in out
    finally:
        registry.REGISTRY.pop(cid, None)


@pytest.mark.xdist_group("claims")
def test_statistical_claims_use_explicit_seeds(claim_results):
    for cid in QUICK_IDS:
        c = registry.REGISTRY[cid]
        if c.kind == "statistical":
            ev = claim_results.claim(cid)  # the session's run (test_claim_passes_at_quick_tier)
            assert ev.seeds, f"{cid}: a statistical claim must record its seeds"
            again = c.run("quick")  # a second, independent run: it must reproduce the first
            assert np.isclose(again.margin, ev.margin, rtol=0, atol=0), f"{cid} is not reproducible"
