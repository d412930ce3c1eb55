"""Totals, pass/fail, ranks and winners of one post, with a step-by-step proof (pure, no Django).

The rules decide everything: parts in order with pass marks and gates, weights, the tie-break
chain (decisive part, the other parts in order, priority category, then a recorded decision of
the chair), and the number of vacancies. Never database order: a tie that nothing in the chain
breaks stays a tie, and is reported as needing the chair's decision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from functools import cmp_to_key

from scoring.rules import round_half_up


class Outcome(StrEnum):
    WINNER = "winner"  # passes, and ranks within the vacancies
    PASSED = "passed"  # passes every part, ranked below the vacancies
    FAILED = "failed"  # below a pass mark
    NOT_REACHED = "not_reached"  # failed a gating part: later parts not taken into account
    ABSENT = "absent"  # did not sit a part
    INCOMPLETE = "incomplete"  # a mark is still missing


class TieBreak(StrEnum):
    DECISIVE_PART = "decisive_part"
    OTHER_PARTS = "other_parts"
    PRIORITY = "priority"
    CHAIR = "chair"


@dataclass(frozen=True)
class PartRule:
    code: str
    name: str
    pass_mark: Decimal
    weight: Decimal
    gates_next: bool = False
    decimals: int = 1


@dataclass(frozen=True)
class CandidateMarks:
    key: str  # a stable identifier (the application's public id)
    name: str
    marks: Mapping[str, Decimal | None]  # part code → official mark (None: not marked)
    absent: frozenset[str] = frozenset()  # parts not sat
    priority: int = 0  # higher is preferred (priority category)


@dataclass(frozen=True)
class Step:
    """One line of the rank proof: a message code and its numbers, rendered by the interface."""

    code: str
    params: dict[str, str]


@dataclass
class RankedCandidate:
    key: str
    name: str
    outcome: Outcome
    total: Decimal | None
    rank: int | None = None
    tied_with: list[str] = field(default_factory=list)  # keys still tied after the whole chain
    steps: list[Step] = field(default_factory=list)


@dataclass(frozen=True)
class PostResult:
    candidates: list[RankedCandidate]
    needs_chair: list[list[str]]  # groups of keys whose tie only the chair can break

    @property
    def winners(self) -> list[RankedCandidate]:
        return [c for c in self.candidates if c.outcome == Outcome.WINNER]


def fmt(value: Decimal) -> str:
    return f"{value:f}"


def _evaluate(candidate: CandidateMarks, parts: Sequence[PartRule], decimals: int) -> RankedCandidate:
    steps: list[Step] = []
    outcome: Outcome | None = None
    for part in parts:
        if part.code in candidate.absent:
            steps.append(Step("absent", {"part": part.name}))
            return RankedCandidate(candidate.key, candidate.name, Outcome.ABSENT, None, steps=steps)
        mark = candidate.marks.get(part.code)
        if mark is None:
            steps.append(Step("missing", {"part": part.name}))
            return RankedCandidate(candidate.key, candidate.name, Outcome.INCOMPLETE, None, steps=steps)
        passed = mark >= part.pass_mark
        steps.append(
            Step(
                "part_passed" if passed else "part_failed",
                {"part": part.name, "mark": fmt(mark), "pass_mark": fmt(part.pass_mark)},
            )
        )
        if not passed:
            if part.gates_next:
                steps.append(Step("gate", {"part": part.name}))
                return RankedCandidate(candidate.key, candidate.name, Outcome.NOT_REACHED, None, steps=steps)
            outcome = Outcome.FAILED
    weighted = sum((candidate.marks[p.code] * p.weight for p in parts), Decimal(0))  # type: ignore[operator]
    weights = sum((p.weight for p in parts), Decimal(0))
    total = round_half_up(weighted / weights, decimals)
    terms = " + ".join(f"{fmt(candidate.marks[p.code])} × {fmt(p.weight)}" for p in parts)  # type: ignore[arg-type]
    steps.append(Step("total", {"terms": terms, "sum": fmt(weighted), "weights": fmt(weights), "total": fmt(total)}))
    return RankedCandidate(candidate.key, candidate.name, outcome or Outcome.PASSED, total, steps=steps)


def rank_post(
    candidates: Sequence[CandidateMarks],
    parts: Sequence[PartRule],
    *,
    vacancies: int,
    tie_breaks: Sequence[str],
    decisive_part: str,
    chair_orders: Sequence[Sequence[str]] = (),
    min_candidates: int = 0,
) -> PostResult:
    """Ranks the candidates who passed every part; the others get an outcome and no rank.

    `chair_orders` are the chair's recorded decisions, the latest first, each an order of keys (best
    first) for a tie nothing else breaks. A decision settles a tie only if it names every candidate in
    it: one that names some of them says nothing about the others. A post with fewer candidates than
    `min_candidates` ranks them but names no winner: the competition needs re-announcing.
    """
    if vacancies < 1:
        raise ValueError("a post has at least one vacancy")
    decimals = max((p.decimals for p in parts), default=1)
    by_key = {c.key: c for c in candidates}
    evaluated = [_evaluate(c, parts, decimals) for c in candidates]
    ranked = [r for r in evaluated if r.outcome == Outcome.PASSED]
    others = [r for r in evaluated if r.outcome != Outcome.PASSED]
    other_codes = [p.code for p in parts if p.code != decisive_part]

    def criteria(a: RankedCandidate, b: RankedCandidate) -> tuple[int, str, dict[str, str]]:
        """Which way the chain decides a tie of totals: (sign, tie-break used, its numbers)."""
        ma, mb = by_key[a.key].marks, by_key[b.key].marks
        for rule in tie_breaks:
            if rule == TieBreak.DECISIVE_PART and decisive_part in ma:
                x, y = ma[decisive_part], mb[decisive_part]
                if x != y:
                    return (-1 if x > y else 1), rule, {"part": decisive_part, "a": fmt(x), "b": fmt(y)}  # type: ignore[arg-type]
            elif rule == TieBreak.OTHER_PARTS:
                for code in other_codes:
                    x, y = ma[code], mb[code]
                    if x != y:
                        return (-1 if x > y else 1), rule, {"part": code, "a": fmt(x), "b": fmt(y)}  # type: ignore[arg-type]
            elif rule == TieBreak.PRIORITY:
                x, y = by_key[a.key].priority, by_key[b.key].priority
                if x != y:
                    return (-1 if x > y else 1), rule, {"a": str(x), "b": str(y)}
        return 0, "", {}  # the chair's decisions are applied to whole tied groups, below

    def compare(a: RankedCandidate, b: RankedCandidate) -> int:
        if a.total != b.total:
            return -1 if a.total > b.total else 1  # type: ignore[operator]
        return criteria(a, b)[0]

    ranked.sort(key=lambda r: r.key)  # a fixed starting order, so equal elements never move by accident
    ranked.sort(key=cmp_to_key(compare))
    tied: list[list[RankedCandidate]] = []
    for index, current in enumerate(ranked):
        previous = ranked[index - 1] if index else None
        if previous is not None and compare(previous, current) == 0:
            tied[-1].append(current)
            continue
        tied.append([current])
        if previous is not None and previous.total == current.total:
            _sign, rule, params = criteria(previous, current)
            current.steps.append(Step("tie_lost", {"rule": rule, "other": previous.name, **params}))
            previous.steps.append(Step("tie_won", {"rule": rule, "other": current.name, **params}))
    groups: list[list[RankedCandidate]] = []
    for group in tied:
        decision = _covering_decision(group, chair_orders) if TieBreak.CHAIR in tie_breaks else None
        if decision is None:
            groups.append(group)
            continue
        order = sorted(group, key=lambda member: decision.index(member.key))
        for better, worse in zip(order, order[1:], strict=False):
            worse.steps.append(Step("tie_lost", {"rule": TieBreak.CHAIR, "other": better.name}))
            better.steps.append(Step("tie_won", {"rule": TieBreak.CHAIR, "other": worse.name}))
        groups.extend([member] for member in order)
    position = 1
    for group in groups:
        for member in group:
            member.rank = position
            member.tied_with = [other.key for other in group if other is not member]
        position += len(group)
    needs_chair = [sorted(member.key for member in group) for group in groups if len(group) > 1]
    too_few = len(candidates) < min_candidates
    for candidate in ranked:
        within = candidate.rank is not None and candidate.rank <= vacancies and not too_few
        # A tie across the last vacancy cannot be settled here: nobody in it wins until the chair decides.
        straddles = candidate.tied_with and candidate.rank + len(candidate.tied_with) > vacancies  # type: ignore[operator]
        candidate.outcome = Outcome.WINNER if within and not straddles else Outcome.PASSED
        candidate.steps.append(Step("rank", {"rank": str(candidate.rank), "of": str(len(ranked))}))
        if candidate.outcome == Outcome.WINNER:
            candidate.steps.append(Step("winner", {"vacancies": str(vacancies)}))
        elif within and straddles:
            candidate.steps.append(Step("tie_at_cutoff", {"vacancies": str(vacancies)}))
        elif too_few and candidate.rank is not None and candidate.rank <= vacancies:
            candidate.steps.append(
                Step("below_minimum", {"count": str(len(candidates)), "minimum": str(min_candidates)})
            )
    return PostResult(candidates=ranked + sorted(others, key=lambda r: r.name), needs_chair=needs_chair)


def _covering_decision(group: Sequence[RankedCandidate], chair_orders: Sequence[Sequence[str]]) -> list[str] | None:
    """The latest of the chair's decisions that names every candidate of a tied group, if any."""
    if len(group) < 2:
        return None
    keys = {member.key for member in group}
    return next((list(order) for order in chair_orders if keys <= set(order)), None)
