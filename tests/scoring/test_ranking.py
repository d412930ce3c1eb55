"""Ranking: gates, totals, every tie-break level, winners with 1 and 2 vacancies."""

from __future__ import annotations

import itertools
import subprocess
import sys
from decimal import Decimal as D

import pytest

from scoring.ranking import CandidateMarks, Outcome, PartRule, rank_post

PARTS = [
    PartRule("written", "Thi viết", pass_mark=D("50"), weight=D("1"), gates_next=True),
    PartRule("oral", "Phỏng vấn", pass_mark=D("50"), weight=D("1")),
]
CHAIN = ["decisive_part", "other_parts", "priority", "chair"]


def candidate(
    key: str, written: str | None, oral: str | None, *, priority: int = 0, absent: str = ""
) -> CandidateMarks:
    marks = {"written": D(written) if written else None, "oral": D(oral) if oral else None}
    return CandidateMarks(key, f"Ứng viên {key}", marks, frozenset({absent} - {""}), priority)


def rank(candidates, vacancies=1, chair_orders=(), decisive="oral"):
    return rank_post(candidates, PARTS, vacancies=vacancies, tie_breaks=CHAIN, decisive_part=decisive,
                     chair_orders=chair_orders)  # fmt: skip


def by_key(result):
    return {c.key: c for c in result.candidates}


def test_the_total_is_the_weighted_mean_and_the_best_wins() -> None:
    result = by_key(rank([candidate("a", "70", "80"), candidate("b", "90", "70"), candidate("c", "60", "61")]))
    assert result["b"].total == D("80.0") and result["b"].rank == 1 and result["b"].outcome == Outcome.WINNER
    assert result["a"].total == D("75.0") and result["a"].rank == 2 and result["a"].outcome == Outcome.PASSED
    assert result["c"].rank == 3


def test_failing_the_gating_written_part_means_the_oral_part_is_not_reached() -> None:
    result = by_key(rank([candidate("a", "49.9", "95"), candidate("b", "60", "60")]))
    assert result["a"].outcome == Outcome.NOT_REACHED and result["a"].rank is None
    assert result["b"].outcome == Outcome.WINNER


def test_failing_a_non_gating_part_fails_without_a_rank() -> None:
    result = by_key(rank([candidate("a", "80", "45"), candidate("b", "60", "60")]))
    assert result["a"].outcome == Outcome.FAILED and result["a"].rank is None


def test_absentees_are_marked_absent_not_ranked() -> None:
    result = by_key(rank([candidate("a", None, None, absent="written"), candidate("b", "60", "60")]))
    assert result["a"].outcome == Outcome.ABSENT and result["a"].rank is None


def test_tie_broken_by_the_decisive_part() -> None:
    result = by_key(rank([candidate("a", "80", "70"), candidate("b", "70", "80")]))  # both 75.0
    assert result["b"].rank == 1 and result["a"].rank == 2
    assert any(s.code == "tie_won" and s.params["rule"] == "decisive_part" for s in result["b"].steps)


def test_tie_broken_by_the_other_parts_when_the_decisive_part_is_equal() -> None:
    parts = [*PARTS, PartRule("essay", "Tiểu luận", pass_mark=D("0"), weight=D("0"))]
    a = CandidateMarks("a", "A", {"written": D("70"), "oral": D("80"), "essay": D("60")})
    b = CandidateMarks("b", "B", {"written": D("70"), "oral": D("80"), "essay": D("65")})
    result = by_key(rank_post([a, b], parts, vacancies=1, tie_breaks=CHAIN, decisive_part="oral"))
    assert result["b"].rank == 1 and result["a"].rank == 2
    assert any(s.params.get("rule") == "other_parts" for s in result["b"].steps)


def test_tie_broken_by_priority_category() -> None:
    result = by_key(rank([candidate("a", "70", "80"), candidate("b", "70", "80", priority=1)]))
    assert result["b"].rank == 1 and result["b"].outcome == Outcome.WINNER


def test_a_tie_nothing_breaks_waits_for_the_chair_and_nobody_wins_yet() -> None:
    result = rank([candidate("a", "70", "80"), candidate("b", "70", "80")])
    assert result.needs_chair == [["a", "b"]]
    assert all(c.rank == 1 and c.outcome == Outcome.PASSED for c in result.candidates)
    decided = by_key(rank([candidate("a", "70", "80"), candidate("b", "70", "80")], chair_orders=[["b", "a"]]))
    assert decided["b"].rank == 1 and decided["b"].outcome == Outcome.WINNER and decided["a"].rank == 2


@pytest.mark.parametrize("arrival", list(itertools.permutations("abc")))
def test_a_decision_naming_only_some_of_a_tie_settles_nothing(arrival) -> None:
    """An earlier decision put b before a; c then joined their tie (an appeal): whatever the order the
    candidates come in, the tie of three waits for a decision about all three."""
    candidates = [candidate(key, "70", "80") for key in arrival]
    result = rank(candidates, chair_orders=[["b", "a"]])
    assert result.needs_chair == [["a", "b", "c"]]
    assert all(c.rank == 1 and c.outcome == Outcome.PASSED for c in result.candidates)
    decided = by_key(rank(candidates, chair_orders=[["c", "b", "a"], ["b", "a"]]))  # the latest first
    assert [decided[key].rank for key in "cba"] == [1, 2, 3] and decided["c"].outcome == Outcome.WINNER


def test_a_post_below_the_minimum_of_candidates_names_no_winner() -> None:
    alone = by_key(rank_post([candidate("a", "90", "90")], PARTS, vacancies=1, tie_breaks=CHAIN,
                             decisive_part="oral", min_candidates=2))  # fmt: skip
    assert alone["a"].rank == 1 and alone["a"].outcome == Outcome.PASSED
    assert any(step.code == "below_minimum" for step in alone["a"].steps)
    two = by_key(rank_post([candidate("a", "90", "90"), candidate("b", "60", "60")], PARTS, vacancies=1,
                           tie_breaks=CHAIN, decisive_part="oral", min_candidates=2))  # fmt: skip
    assert two["a"].outcome == Outcome.WINNER


def test_a_tie_below_the_vacancies_does_not_block_the_winner() -> None:
    result = by_key(rank([candidate("w", "90", "90"), candidate("a", "70", "80"), candidate("b", "70", "80")]))
    assert result["w"].outcome == Outcome.WINNER
    assert result["a"].rank == result["b"].rank == 2


def test_two_vacancies_take_the_two_best() -> None:
    result = by_key(rank([candidate("a", "70", "70"), candidate("b", "90", "90"), candidate("c", "80", "80")], 2))
    assert {k for k, c in result.items() if c.outcome == Outcome.WINNER} == {"b", "c"}


def test_fewer_passing_candidates_than_vacancies() -> None:
    result = rank([candidate("a", "70", "70"), candidate("b", "40", "90")], vacancies=2)
    assert [c.key for c in result.winners] == ["a"]


def test_the_proof_shows_each_step_with_numbers() -> None:
    proof = by_key(rank([candidate("a", "72.5", "81.3")]))["a"].steps
    codes = [s.code for s in proof]
    assert codes == ["part_passed", "part_passed", "total", "rank", "winner"]
    total = proof[2].params
    assert total["terms"] == "72.5 × 1 + 81.3 × 1" and total["total"] == "76.9"


def test_the_module_does_not_import_django() -> None:
    code = "import sys, scoring.ranking; assert not any(m.startswith('django') for m in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
