"""The check command's table: a legend of the margins, and every source in full under --verbose."""

from proofs_checks import registry
from proofs_checks.report import LEGEND
from verified_relu.app.cli import main


def _long_source_claims():
    registry._load_all()
    return [cid for cid, c in registry.REGISTRY.items() if len(c.source) > 40 and c.in_tier("quick")]


def test_the_table_explains_the_margins_and_says_sources_are_cut(capsys):
    cid = min(_long_source_claims(), key=lambda c: len(c))
    assert main(["check", "--only", cid]) in (0, 1)
    out = capsys.readouterr().out
    assert LEGEND in out
    assert "ratio = worst observed / bound" in out and "probability = claimed probability" in out
    assert "Sources are cut at 40 characters; --verbose prints them in full." in out
    assert registry.REGISTRY[cid].source not in out


def test_verbose_prints_the_full_source(capsys):
    cid = min(_long_source_claims(), key=lambda c: len(c))
    assert main(["check", "--only", cid, "--verbose"]) in (0, 1)
    out = capsys.readouterr().out
    assert registry.REGISTRY[cid].source in out
    assert "Sources are cut" not in out
