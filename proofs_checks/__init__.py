"""Claims of CDGKM23, CN24 and DK24 (and DKKZ20) as executable checks.

Each claim states its source, statement and kind (exact-symbolic, high-precision numeric,
statistical, property-based search, end-to-end) and its check returns
:class:`~proofs_checks.registry.Evidence` (pass/fail, margin, instances, seeds, precision, a
Clopper-Pearson interval for probabilistic claims), never a bare boolean.  Modules by paper:
:mod:`.hermite`, :mod:`.cdgkm`, :mod:`.cn`, :mod:`.dk`, :mod:`.dkkz`, :mod:`.errata`.

    >>> from proofs_checks import run
    >>> outcomes = run(tier="quick")      # doctest: +SKIP
"""

from .registry import REGISTRY, Claim, Evidence, clopper_pearson, get, run

__all__ = ["REGISTRY", "Claim", "Evidence", "clopper_pearson", "get", "run"]
