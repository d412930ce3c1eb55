"""Marking rules as pure functions (no Django): rounding, mark validation and disagreement bands.

Everything is Decimal: a mark of 7.45 must round to 7.5 on every machine, which binary floats
do not guarantee. The bands follow TT 06/2020 art. 31 as the campaign's rules configure them:
spread ≤ mean_max → the mean; mean_max < spread < escalate_min → the chair decides with a
reason; spread ≥ escalate_min → escalated (third marker, or the council).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum


class MarkError(ValueError):
    """A mark that the rules do not allow; the message is shown to the examiner."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Band(StrEnum):
    MEAN = "mean"
    CHAIR = "chair"
    ESCALATED = "escalated"


def quantum(decimals: int) -> Decimal:
    return Decimal(1).scaleb(-decimals)


def round_half_up(value: Decimal, decimals: int) -> Decimal:
    return value.quantize(quantum(decimals), rounding=ROUND_HALF_UP)


def parse_mark(raw: str | Decimal | int, *, max_score: Decimal, decimals: int) -> Decimal:
    """A mark as typed (decimal comma accepted), checked against the range and the allowed decimals."""
    text = str(raw).strip().replace(",", ".")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise MarkError("not_a_number", "not_a_number") from None
    if not value.is_finite():
        raise MarkError("not_a_number", "not_a_number")
    if value < 0 or value > max_score:
        raise MarkError("out_of_range", "out_of_range")
    # "7.50" is 7.5 with a trailing zero, not a second decimal; "7.55" is.
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -decimals:
        raise MarkError("too_many_decimals", "too_many_decimals")
    return round_half_up(value, decimals)


@dataclass(frozen=True)
class Outcome:
    band: Band
    spread: Decimal
    value: Decimal | None  # None while the chair or the escalation has not decided


def spread_of(values: Sequence[Decimal]) -> Decimal:
    return max(values) - min(values)


def mean_of(values: Sequence[Decimal], decimals: int) -> Decimal:
    return round_half_up(sum(values, Decimal(0)) / len(values), decimals)


def resolve(values: Sequence[Decimal], *, mean_max: Decimal, escalate_min: Decimal, decimals: int) -> Outcome:
    """Which band a set of marks of one script (or one oral candidate) falls in."""
    if len(values) < 2:
        raise ValueError("a disagreement needs at least two marks")
    spread = spread_of(values)
    if spread <= mean_max:
        return Outcome(Band.MEAN, spread, mean_of(values, decimals))
    if spread < escalate_min:
        return Outcome(Band.CHAIR, spread, None)
    return Outcome(Band.ESCALATED, spread, None)


def closest_pair_mean(values: Sequence[Decimal], decimals: int) -> Decimal:
    """After a third mark: the mean of the two closest marks (ties: the pair with the higher mean)."""
    if len(values) < 3:
        raise ValueError("needs three marks")
    ordered = sorted(values)
    pairs = [(ordered[i + 1] - ordered[i], -(ordered[i] + ordered[i + 1]), i) for i in range(len(ordered) - 1)]
    _, _, index = min(pairs)
    return mean_of([ordered[index], ordered[index + 1]], decimals)


def weighted_total(part_values: Sequence[tuple[Decimal, Decimal]], decimals: int) -> Decimal:
    """Σ weight × mark / Σ weight, rounded once at the end."""
    total_weight = sum((w for _, w in part_values), Decimal(0))
    if total_weight == 0:
        raise ValueError("weights sum to zero")
    return round_half_up(sum((v * w for v, w in part_values), Decimal(0)) / total_weight, decimals)
