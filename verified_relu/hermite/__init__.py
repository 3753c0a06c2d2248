"""Hermite layer: exact derivations (:mod:`.symbolic`), generated constants (:mod:`._generated`)
and numeric evaluation (:mod:`.numeric`).  The symbolic module imports sympy and is loaded only
on demand; the numeric module never imports it."""

from .numeric import abs_coefficients, contraction_scales, hermite_normalized, relu_coefficients

__all__ = ["hermite_normalized", "relu_coefficients", "abs_coefficients", "contraction_scales"]
