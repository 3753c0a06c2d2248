"""verified_relu._provenance: one JSON spelling of every value a result records, and one provenance."""

import dataclasses
import json
import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest

from verified_relu import _mp
from verified_relu._provenance import jsonable, machine, summary, versions


@pytest.mark.parametrize(
    "value",
    [
        math.inf,
        -math.inf,
        math.nan,
        np.float64("inf"),
        np.float32("-inf"),
        mpmath.mpf("inf"),
        -mpmath.mpf("inf"),
        mpmath.mpf("nan"),
    ],
)
def test_non_finite_numbers_are_strings_float_reads_back(value):
    text = jsonable(value)
    assert text in ("inf", "-inf", "nan")
    back = float(text)
    assert (math.isnan(back) and math.isnan(float(value))) or back == float(value)


@pytest.mark.parametrize("dps", [15, 30, 50, 200])
def test_mpf_keeps_every_digit_of_its_precision(dps):
    ctx = _mp.context(dps)
    for value in (ctx.mpf(1) / 3, -ctx.mpf(2).sqrt() * ctx.mpf(10) ** 400, ctx.mpf("0.1"), ctx.pi / 10**30):
        rounded = _mp.rounder(dps)(value)  # a plain mpmath.mpf, whose own str() shows 15 digits
        text = jsonable(rounded)
        assert isinstance(text, str)
        back = mpmath.MPContext()
        back.dps = dps
        assert back.mpf(text) == rounded  # the exact binary value at its precision, not 15 or 17 digits of it
        if dps > 15:
            assert float(text) != rounded


def test_mpf_text_is_the_shortest_that_reads_back():
    bits = mpmath.mpf(1) / 3  # 53 bits
    text = jsonable(bits)
    for prec in range(53, 53 + 9):  # also a reader working at a few more bits
        ctx = mpmath.MPContext()
        ctx.prec = prec
        assert ctx.mpf(text) == bits
    shorter = mpmath.libmp.to_str(bits._mpf_, len(text.replace("0.", "", 1)) - 1)
    ctx = mpmath.MPContext()
    ctx.prec = 53 + 8
    assert ctx.mpf(shorter) != bits


def test_short_exact_mpf_values():
    assert jsonable(mpmath.mpf(0)) == "0.0"
    assert jsonable(mpmath.mpf(-2.5)) == "-2.5"
    assert jsonable(mpmath.mpf(2) ** -30) == "9.31322574615478515625e-10"  # 2^-30 exactly
    assert jsonable(mpmath.mpf(3)) == "3.0"
    assert mpmath.mpf(jsonable(mpmath.mpf(2) ** 4000)) == mpmath.mpf(2) ** 4000


def test_numpy_scalars_and_arrays_become_python_values():
    out = jsonable(
        {
            "a": np.arange(3),
            "b": np.float32(0.5),
            "c": np.int64(7),
            "d": np.bool_(True),
            "e": np.array([[1.5, np.inf]]),
            4: (1, 2),
        }
    )
    assert out == {"a": [0, 1, 2], "b": 0.5, "c": 7, "d": True, "e": [[1.5, "inf"]], "4": [1, 2]}
    assert type(out["c"]) is int and type(out["b"]) is float and type(out["d"]) is bool
    json.dumps(out, allow_nan=False)


def test_object_arrays_of_mpf():
    ctx = _mp.context(40)
    arr = np.array([ctx.mpf(1) / 7, ctx.mpf(2)], dtype=object)
    out = jsonable(arr)
    assert out[1] == "2.0" and ctx.mpf(out[0]) == ctx.mpf(1) / 7


@dataclasses.dataclass(frozen=True)
class _Plain:
    x: object
    y: object = None


@dataclasses.dataclass(frozen=True)
class _WithToDict:
    x: float

    def to_dict(self):
        return {"doubled": np.float64(2 * self.x)}


def test_dataclasses_their_to_dict_else_their_fields():
    assert jsonable(_Plain(np.arange(2), _Plain(math.inf))) == {"x": [0, 1], "y": {"x": "inf", "y": None}}
    assert jsonable([_WithToDict(1.5)]) == [{"doubled": 3.0}]
    assert jsonable(_Plain) == str(_Plain)  # a class is not an instance


def test_other_numbers_and_objects():
    assert jsonable(Fraction(1, 4)) == 0.25
    assert jsonable(10**40) == 10**40
    assert jsonable(None) is None and jsonable("s") == "s"
    assert jsonable({1j}) == str({1j})


def test_versions_and_machine():
    v = versions()
    assert set(v) == {"verified_relu", "python", "numpy", "scipy", "sympy", "mpmath"}
    assert v["numpy"] == np.__version__ and v["mpmath"] == mpmath.__version__
    assert all(isinstance(s, str) and s for s in v.values())
    assert "no_such_module_xyz" not in versions("no_such_module_xyz")  # an optional one that is missing
    assert versions("pytest")["pytest"] == pytest.__version__
    import scipy
    import sympy

    assert v["scipy"] == scipy.__version__ and v["sympy"] == sympy.__version__
    m = machine()
    assert set(m) == {"platform", "processor", "cpu_count", "python"}
    assert summary().startswith("machine: ") and f"numpy {np.__version__}" in summary()
