"""Test helpers for users of verified_relu: hypothesis strategies for networks and vectors.

:mod:`verified_relu.testing.strategies` needs `hypothesis <https://hypothesis.works>`_ (the
``test`` extra); importing this package does not, so the core library never depends on it.
The submodule is loaded on first access::

    from verified_relu.testing import strategies as vst
"""

from importlib import import_module

__all__ = ["strategies"]


def __getattr__(name):
    if name == "strategies":
        return import_module(f"{__name__}.strategies")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
