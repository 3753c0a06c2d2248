"""Claims of CDGKM23, CN24 and DK24 as executable checks.

Each check will state its kind (exact-symbolic, high-precision numeric, statistical,
property-based search, end-to-end) and return evidence, not a boolean.  The exact
identities it builds on live in :mod:`verified_relu.hermite.symbolic`.
"""

__all__: list[str] = []
