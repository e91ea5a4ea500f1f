"""Tests for cmperf.units: parsing quantities with units into SI floats and formatting them back."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cmperf.units import Dimension, UnitError, format_quantity, parse_quantity


@pytest.mark.parametrize(
    ("text", "dimension", "expected"),
    [
        # Decimal and IEC byte prefixes.
        ("1 B", Dimension.BYTES, 1.0),
        ("1 KB", Dimension.BYTES, 1e3),
        ("1 kB", Dimension.BYTES, 1e3),
        ("1 MB", Dimension.BYTES, 1e6),
        ("1 GB", Dimension.BYTES, 1e9),
        ("1 TB", Dimension.BYTES, 1e12),
        ("1 KiB", Dimension.BYTES, 2**10),
        ("1 MiB", Dimension.BYTES, 2**20),
        ("1 GiB", Dimension.BYTES, 2**30),
        ("64 GiB", Dimension.BYTES, 64 * 2**30),
        ("1 TiB", Dimension.BYTES, 2**40),
        # Bandwidth in bytes and in bits.
        ("1.6 TB/s", Dimension.BANDWIDTH, 1.6e12),
        ("3.2 TB/s", Dimension.BANDWIDTH, 3.2e12),
        ("1 GiB/s", Dimension.BANDWIDTH, 2**30),
        ("400 Gb/s", Dimension.BANDWIDTH, 50e9),
        ("400 Gbps", Dimension.BANDWIDTH, 50e9),
        ("8 b/s", Dimension.BANDWIDTH, 1.0),
        # Time.
        ("1 s", Dimension.TIME, 1.0),
        ("15 ms", Dimension.TIME, 15e-3),
        ("50 us", Dimension.TIME, 50e-6),
        ("50 µs", Dimension.TIME, 50e-6),
        ("200 ns", Dimension.TIME, 200e-9),
        ("2 min", Dimension.TIME, 120.0),
        ("1 h", Dimension.TIME, 3600.0),
        # FLOP rates and FLOP counts.
        ("376 TFLOP/s", Dimension.FLOP_RATE, 376e12),
        ("376 TFLOPS", Dimension.FLOP_RATE, 376e12),
        ("752 TOP/s", Dimension.FLOP_RATE, 752e12),
        ("752 TOPS", Dimension.FLOP_RATE, 752e12),
        ("1 PFLOP/s", Dimension.FLOP_RATE, 1e15),
        ("2.5 GFLOP", Dimension.FLOP, 2.5e9),
        ("1 TFLOP", Dimension.FLOP, 1e12),
    ],
)
def test_parse_quantity_values(text: str, dimension: Dimension, expected: float) -> None:
    assert parse_quantity(text, dimension) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.6TB/s", 1.6e12),  # no space
        ("  1.6 TB/s  ", 1.6e12),  # surrounding whitespace
        ("1e3 GB/s", 1e12),  # exponent notation
        (".5 TB/s", 0.5e12),
        ("+2 GB/s", 2e9),
        ("1_000 GB/s", 1e12),  # digit separators
        ("1,000 GB/s", 1e12),
    ],
)
def test_parse_quantity_number_forms(text: str, expected: float) -> None:
    assert parse_quantity(text, Dimension.BANDWIDTH) == pytest.approx(expected, rel=1e-12)


def test_dimension_may_be_given_as_string() -> None:
    assert parse_quantity("15 ms", "time") == pytest.approx(15e-3)
    assert parse_quantity("1 GB/s", "bandwidth") == pytest.approx(1e9)


def test_decimal_and_iec_prefixes_differ() -> None:
    gb = parse_quantity("1 GB", Dimension.BYTES)
    gib = parse_quantity("1 GiB", Dimension.BYTES)
    assert gb == 1e9
    assert gib == 2**30
    assert gib > gb


def test_bits_are_an_eighth_of_bytes() -> None:
    bits = parse_quantity("400 Gb/s", Dimension.BANDWIDTH)
    byts = parse_quantity("400 GB/s", Dimension.BANDWIDTH)
    assert bits == pytest.approx(byts / 8)


@pytest.mark.parametrize("value", ["1.5", "64", " 3 ", "1e9", "-2"])
def test_bare_number_strings_are_rejected(value: str) -> None:
    with pytest.raises(UnitError):
        parse_quantity(value, Dimension.BYTES)


@pytest.mark.parametrize("value", [64, 1.5, 0, True, False, None, [1, "GB"], {"GB": 1}])
def test_non_strings_are_rejected(value: object) -> None:
    with pytest.raises(UnitError):
        parse_quantity(value, Dimension.BYTES)


@pytest.mark.parametrize(
    ("text", "dimension"),
    [
        ("1.6 TB", Dimension.BANDWIDTH),  # bytes where a bandwidth is expected
        ("1.6 TB/s", Dimension.BYTES),  # bandwidth where bytes are expected
        ("15 ms", Dimension.BYTES),
        ("64 GB", Dimension.TIME),
        ("376 TFLOP", Dimension.FLOP_RATE),  # a count, not a rate
        ("376 TFLOP/s", Dimension.FLOP),  # a rate, not a count
        ("376 TFLOPS", Dimension.FLOP),
        ("1 GB/s", Dimension.FLOP_RATE),
        ("1 GiFLOP/s", Dimension.FLOP_RATE),  # no IEC prefixes for FLOP
        ("1 Gis", Dimension.TIME),
    ],
)
def test_wrong_dimension_is_rejected(text: str, dimension: Dimension) -> None:
    with pytest.raises(UnitError):
        parse_quantity(text, dimension)


@pytest.mark.parametrize(
    "text",
    ["nan GB", "NaN GB", "inf GB", "-inf GB", "infinity GB", "1e400 GB", "1e300 EB"],
)
def test_non_finite_is_rejected(text: str) -> None:
    with pytest.raises(UnitError):
        parse_quantity(text, Dimension.BYTES)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "GB",
        "abc",
        "one GB",
        "1 2 GB",
        "1..2 GB",
        "1 gigabyte",
        "1 XB",
        "1 G B",
        "1 GB extra",
        "GB 1",
        "1 gb",
    ],
)
def test_garbage_is_rejected(text: str) -> None:
    with pytest.raises(UnitError):
        parse_quantity(text, Dimension.BYTES)


def test_unit_error_is_a_value_error_and_names_the_input() -> None:
    with pytest.raises(ValueError, match=r"1\.6 TB"):
        parse_quantity("1.6 TB", Dimension.BANDWIDTH)
    assert issubclass(UnitError, ValueError)


def test_unknown_dimension_is_rejected() -> None:
    with pytest.raises(ValueError):
        parse_quantity("1 GB", "length")


@pytest.mark.parametrize(
    ("value", "dimension", "expected"),
    [
        (1.6e12, Dimension.BANDWIDTH, "1.6 TB/s"),
        (50e9, Dimension.BANDWIDTH, "50 GB/s"),
        (64e9, Dimension.BYTES, "64 GB"),
        (15e-3, Dimension.TIME, "15 ms"),
        (50e-6, Dimension.TIME, "50 us"),
        (200e-9, Dimension.TIME, "200 ns"),
        (2.0, Dimension.TIME, "2 s"),
        (376e12, Dimension.FLOP_RATE, "376 TFLOP/s"),
        (2.5e9, Dimension.FLOP, "2.5 GFLOP"),
    ],
)
def test_format_quantity(value: float, dimension: Dimension, expected: str) -> None:
    assert format_quantity(value, dimension) == expected


def test_format_quantity_digits() -> None:
    assert format_quantity(1.23456e12, Dimension.BANDWIDTH, digits=5) == "1.2346 TB/s"


def test_format_quantity_zero_uses_the_base_unit() -> None:
    assert format_quantity(0.0, Dimension.TIME) == "0 s"
    assert format_quantity(0.0, Dimension.BYTES) == "0 B"


def _positive_finite(low: float = 1e-12, high: float = 1e21) -> st.SearchStrategy[float]:
    return st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False)


def _rounding_bound(digits: int) -> float:
    """Worst relative error of rounding to `digits` significant digits (plus float slack)."""
    return 0.5 * 10.0 ** (1 - digits) * (1 + 1e-9) + 1e-14


@given(dimension=st.sampled_from(list(Dimension)), value=_positive_finite())
def test_format_then_parse_round_trips(dimension: Dimension, value: float) -> None:
    # The default 3 significant digits bound the error at 0.5% (1.005 -> "1"), not 0.1%.
    text = format_quantity(value, dimension)
    parsed = parse_quantity(text, dimension)
    assert math.isfinite(parsed)
    assert parsed == pytest.approx(value, rel=_rounding_bound(3)), text


@given(dimension=st.sampled_from(list(Dimension)), value=_positive_finite())
def test_format_with_four_digits_round_trips_within_a_tenth_of_a_percent(
    dimension: Dimension, value: float
) -> None:
    text = format_quantity(value, dimension, digits=4)
    assert parse_quantity(text, dimension) == pytest.approx(value, rel=1e-3), text


@given(
    dimension=st.sampled_from(list(Dimension)),
    value=_positive_finite(),
    digits=st.integers(min_value=1, max_value=15),
)
def test_round_trip_tightens_with_digits(dimension: Dimension, value: float, digits: int) -> None:
    text = format_quantity(value, dimension, digits=digits)
    bound = _rounding_bound(digits)
    assert parse_quantity(text, dimension) == pytest.approx(value, rel=bound), text
