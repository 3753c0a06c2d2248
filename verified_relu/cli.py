"""The command line, :mod:`verified_relu.app.cli` (kept importable here: ``verified_relu.cli.main``)."""

from .app.cli import DEMO_DEFAULTS, main

__all__ = ["DEMO_DEFAULTS", "main"]
