"""Reading and writing datasets, :mod:`verified_relu.app.data` (kept importable here:
``verified_relu.data.load_dataset`` and friends)."""

from .app.data import FORMATS, DataError, data_format, gaussianity_warnings, load_dataset, save_dataset

__all__ = ["FORMATS", "DataError", "data_format", "gaussianity_warnings", "load_dataset", "save_dataset"]
