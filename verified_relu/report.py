"""Reports of a learning result, :mod:`verified_relu.app.report` (kept importable here:
``verified_relu.report.write_report``)."""

from .app.report import ReportArgumentError, write_report

__all__ = ["ReportArgumentError", "write_report"]
