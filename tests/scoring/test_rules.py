"""Disagreement bands at their boundaries, and rounding (Decimal, half-up)."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal as D

import pytest

from scoring.rules import Band, MarkError, closest_pair_mean, parse_mark, resolve, round_half_up, weighted_total

BANDS = {"mean_max": D("5"), "escalate_min": D("10"), "decimals": 1}


@pytest.mark.parametrize(
    ("marks", "band", "value"),
    [
        (["70", "75"], Band.MEAN, D("72.5")),  # spread 5.0: the mean
        (["70", "75.01"], Band.CHAIR, None),  # spread 5.01: the chair decides
        (["70", "79.99"], Band.CHAIR, None),  # spread 9.99: still the chair
        (["70", "80"], Band.ESCALATED, None),  # spread 10.0: escalated
        (["60", "61", "62", "65"], Band.MEAN, D("62.0")),  # a panel ballot: spread 5 → mean 62.0
        (["50", "50"], Band.MEAN, D("50.0")),
    ],
)
def test_the_band_is_decided_by_the_spread_at_its_boundaries(marks, band, value) -> None:
    outcome = resolve([D(m) for m in marks], **BANDS)
    assert outcome.band == band and outcome.value == value
    assert outcome.spread == max(D(m) for m in marks) - min(D(m) for m in marks)


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [("72.45", 1, "72.5"), ("72.449", 1, "72.4"), ("72.55", 1, "72.6"), ("0.05", 1, "0.1"), ("84.125", 2, "84.13"),
     ("62.5", 0, "63"), ("61.5", 0, "62")],
)  # fmt: skip
def test_rounding_is_half_up_never_bankers_or_binary(value, decimals, expected) -> None:
    assert round_half_up(D(value), decimals) == D(expected)


def test_mean_of_two_marks_rounds_half_up() -> None:
    assert resolve([D("70.0"), D("70.9")], **BANDS).value == D("70.5")  # 70.45 → 70.5


@pytest.mark.parametrize(
    ("raw", "code"),
    [("100.1", "out_of_range"), ("-1", "out_of_range"), ("7.55", "too_many_decimals"), ("abc", "not_a_number"),
     ("NaN", "not_a_number"), ("Infinity", "not_a_number"), ("", "not_a_number"), ("1e3", "out_of_range")],
)  # fmt: skip
def test_bad_marks_are_refused_with_a_reason(raw, code) -> None:
    with pytest.raises(MarkError) as error:
        parse_mark(raw, max_score=D("100"), decimals=1)
    assert error.value.code == code


@pytest.mark.parametrize(("raw", "expected"), [("7,5", "7.5"), ("7.50", "7.5"), ("100", "100.0"), ("0", "0.0")])
def test_good_marks_are_accepted_with_a_decimal_comma(raw, expected) -> None:
    assert parse_mark(raw, max_score=D("100"), decimals=1) == D(expected)


def test_third_mark_takes_the_mean_of_the_two_closest() -> None:
    assert closest_pair_mean([D("60"), D("72"), D("70")], 1) == D("71.0")
    assert closest_pair_mean([D("60"), D("65"), D("70")], 1) == D("67.5")  # equal gaps: the higher pair


def test_weighted_total_rounds_once() -> None:
    assert weighted_total([(D("72.5"), D("1")), (D("81.3"), D("2"))], 1) == D("78.4")  # 235.1 / 3 = 78.366…


def test_the_module_does_not_import_django() -> None:
    code = "import sys, scoring.rules; assert not any(m.startswith('django') for m in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
