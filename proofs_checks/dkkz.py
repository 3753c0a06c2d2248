"""Claims: dkkz (see proofs_checks.registry for the check protocol)."""

from .registry import claim, ratio_evidence, probability_evidence, Evidence  # noqa: F401
