import json
import subprocess
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from candidates.eligibility import (
    LEGACY_LANGUAGE_CERTIFICATES,
    CandidateFacts,
    CriterionResult,
    DegreeLevel,
    LanguageLevel,
    PoliticalTheory,
    PostStandards,
    Rating,
    StateManagement,
    add_months,
    check_eligibility,
    completed_months,
    overall_eligible,
)
from candidates.retirement import Gender

APPOINTMENT = date(2025, 7, 1)

# Meets every standard below; each test moves one fact to its boundary.
ALICE = CandidateFacts(
    birth_date=date(1975, 6, 15),
    gender=Gender.male,
    degree=DegreeLevel.master,
    political_theory=PoliticalTheory.advanced,
    state_management=StateManagement.principal,
    language=LanguageLevel.B2,
    service_start=date(2005, 9, 1),
    current_post_since=date(2019, 1, 1),
    management_months=120,
    in_succession_plan=True,
    nominated=False,
    discipline_in_force=False,
    ratings={2022: Rating.good, 2023: Rating.excellent, 2024: Rating.good},
)
NOTHING = PostStandards(full_term_years=None)


def _one(standards: PostStandards, facts: CandidateFacts, on: date = APPOINTMENT) -> CriterionResult:
    [result] = check_eligibility(facts=facts, standards=standards, appointment_date=on)
    return result


def test_only_required_criteria_are_returned() -> None:
    assert check_eligibility(facts=ALICE, standards=NOTHING, appointment_date=APPOINTMENT) == []
    # The full-term age check is on by default (5 years).
    [result] = check_eligibility(facts=ALICE, standards=PostStandards(), appointment_date=APPOINTMENT)
    assert result.code == "age_full_term"


def test_all_criteria_in_a_fixed_order() -> None:
    standards = PostStandards(
        min_degree=DegreeLevel.bachelor,
        min_political_theory=PoliticalTheory.advanced,
        min_state_management=StateManagement.principal,
        min_language=LanguageLevel.B1,
        min_years_service=5,
        min_years_in_current_post=2,
        min_years_management=3,
        requires_plan_or_nomination=True,
        requires_no_discipline=True,
        min_rating_years=3,
    )
    results = check_eligibility(facts=ALICE, standards=standards, appointment_date=APPOINTMENT)
    assert [r.code for r in results] == [
        "degree",
        "political_theory",
        "state_management",
        "language",
        "years_service",
        "years_current_post",
        "years_management",
        "plan_or_nomination",
        "no_discipline",
        "ratings",
        "age_full_term",
    ]
    assert overall_eligible(results)
    # Stored for audit: the parameters must be plain JSON.
    json.dumps([r.reason_params for r in results])


@pytest.mark.parametrize(
    ("degree", "passed"),
    [
        (DegreeLevel.doctor, True),
        (DegreeLevel.bachelor, True),
        (DegreeLevel.college, False),
        (None, False),
    ],
)
def test_degree_boundary(degree: DegreeLevel | None, passed: bool) -> None:
    result = _one(replace(NOTHING, min_degree=DegreeLevel.bachelor), replace(ALICE, degree=degree))
    assert result.passed is passed
    assert result.required == "bachelor's degree"


@pytest.mark.parametrize(
    ("required", "actual", "passed"),
    [
        (PoliticalTheory.advanced, PoliticalTheory.advanced, True),
        (PoliticalTheory.advanced, PoliticalTheory.intermediate, False),
        (PoliticalTheory.advanced, PoliticalTheory.bachelor, True),
        # Cử nhân and cao cấp are equivalent, both ways.
        (PoliticalTheory.bachelor, PoliticalTheory.advanced, True),
        (PoliticalTheory.bachelor, PoliticalTheory.intermediate, False),
        (PoliticalTheory.intermediate, PoliticalTheory.intermediate, True),
        (PoliticalTheory.intermediate, PoliticalTheory.elementary, False),
    ],
)
def test_political_theory_boundary(required: PoliticalTheory, actual: PoliticalTheory, passed: bool) -> None:
    result = _one(
        replace(NOTHING, min_political_theory=required),
        replace(ALICE, political_theory=actual),
    )
    assert result.passed is passed


@pytest.mark.parametrize(
    ("actual", "passed"),
    [(StateManagement.principal, True), (StateManagement.specialist, False)],
)
def test_state_management_boundary(actual: StateManagement, passed: bool) -> None:
    result = _one(
        replace(NOTHING, min_state_management=StateManagement.principal),
        replace(ALICE, state_management=actual),
    )
    assert result.passed is passed


@pytest.mark.parametrize(("actual", "passed"), [(LanguageLevel.B1, True), (LanguageLevel.A2, False)])
def test_language_boundary(actual: LanguageLevel, passed: bool) -> None:
    result = _one(replace(NOTHING, min_language=LanguageLevel.B1), replace(ALICE, language=actual))
    assert result.passed is passed
    assert result.required == "B1"


def test_legacy_certificate_c_reads_as_b2() -> None:
    assert LEGACY_LANGUAGE_CERTIFICATES["C"] is LanguageLevel.B2


def test_years_of_service_boundary_day() -> None:
    standards = replace(NOTHING, min_years_service=5)
    facts = replace(ALICE, service_start=date(2020, 3, 15))
    on_the_day = _one(standards, facts, on=date(2025, 3, 15))
    assert on_the_day.passed
    assert on_the_day.render() == ("5 years", "5 years 0 months", "Enough years.")
    day_before = _one(standards, facts, on=date(2025, 3, 14))
    assert not day_before.passed
    assert day_before.reason_params["shortfall_months"] == 1
    assert day_before.render() == ("5 years", "4 years 11 months", "1 months short.")


def test_years_in_current_post_boundary_day() -> None:
    standards = replace(NOTHING, min_years_in_current_post=2)
    assert _one(standards, replace(ALICE, current_post_since=date(2023, 7, 1))).passed
    assert not _one(standards, replace(ALICE, current_post_since=date(2023, 7, 2))).passed


def test_no_current_post_fails() -> None:
    result = _one(
        replace(NOTHING, min_years_in_current_post=2),
        replace(ALICE, current_post_since=None),
    )
    assert not result.passed
    assert result.reason_params["shortfall_months"] == 24


def test_years_of_management_boundary_month() -> None:
    standards = replace(NOTHING, min_years_management=3)
    assert _one(standards, replace(ALICE, management_months=36)).passed
    assert not _one(standards, replace(ALICE, management_months=35)).passed


@pytest.mark.parametrize(
    ("planned", "nominated", "passed"),
    [(True, False, True), (False, True, True), (True, True, True), (False, False, False)],
)
def test_plan_or_nomination(planned: bool, nominated: bool, passed: bool) -> None:
    result = _one(
        replace(NOTHING, requires_plan_or_nomination=True),
        replace(ALICE, in_succession_plan=planned, nominated=nominated),
    )
    assert result.passed is passed


def test_disciplined_candidate_fails() -> None:
    standards = replace(NOTHING, requires_no_discipline=True)
    assert _one(standards, ALICE).passed
    result = _one(standards, replace(ALICE, discipline_in_force=True))
    assert not result.passed
    assert result.reason == "A disciplinary measure is in force."


def test_ratings_at_good_pass_and_only_the_last_years_count() -> None:
    facts = replace(
        ALICE,
        ratings={
            2021: Rating.not_completed,  # older than the window
            2022: Rating.good,
            2023: Rating.good,
            2024: Rating.good,
            2025: Rating.not_completed,  # the appointment year is not counted
        },
    )
    result = _one(replace(NOTHING, min_rating_years=3), facts)
    assert result.passed
    assert result.render()[0] == "'completed well' or better in 2022-2024"


def test_rating_one_level_below_good_fails() -> None:
    facts = replace(ALICE, ratings={**ALICE.ratings, 2023: Rating.completed})
    result = _one(replace(NOTHING, min_rating_years=3), facts)
    assert not result.passed
    assert result.render()[2] == "Below 'completed well' in 2023."


def test_missing_rating_year_fails() -> None:
    facts = replace(ALICE, ratings={2023: Rating.good, 2024: Rating.excellent})
    result = _one(replace(NOTHING, min_rating_years=3), facts)
    assert not result.passed
    assert result.reason_params["missing_years"] == "2022"
    assert result.render()[1:] == ("2 of 3 years", "No rating for 2022.")


def test_missing_and_low_ratings_are_both_reported() -> None:
    facts = replace(ALICE, ratings={2023: Rating.not_completed, 2024: Rating.good})
    result = _one(replace(NOTHING, min_rating_years=3), facts)
    assert result.render()[2] == "No rating for 2022; below 'completed well' in 2023."


@pytest.mark.parametrize(
    ("gender", "birth_date", "last_ok_appointment"),
    [
        # 62 from 04/1966: reached 04/2028, retired from 01/05/2028.
        (Gender.male, date(1966, 4, 10), date(2023, 5, 1)),
        # In the transition: 61y3m, reached 04/2025, retired from 01/05/2025.
        (Gender.male, date(1964, 1, 31), date(2020, 5, 1)),
        # 60 from 05/1975: reached 05/2035, retired from 01/06/2035.
        (Gender.female, date(1975, 5, 20), date(2030, 6, 1)),
        # In the transition: 57y8m, reached 05/2028, retired from 01/06/2028.
        (Gender.female, date(1970, 9, 5), date(2023, 6, 1)),
    ],
)
def test_full_term_age_boundary_day(gender: Gender, birth_date: date, last_ok_appointment: date) -> None:
    facts = replace(ALICE, gender=gender, birth_date=birth_date)
    standards = PostStandards()  # full_term_years=5
    ok = _one(standards, facts, on=last_ok_appointment)
    assert ok.passed
    assert (ok.reason_params["left_years"], ok.reason_params["left_months"]) == (5, 0)
    late = _one(standards, facts, on=date.fromordinal(last_ok_appointment.toordinal() + 1))
    assert not late.passed
    assert late.reason_params["retirement_date"] == add_months(last_ok_appointment, 60).isoformat()


def test_full_term_failure_message() -> None:
    facts = replace(ALICE, gender=Gender.female, birth_date=date(1975, 5, 20))
    result = _one(PostStandards(), facts, on=date(2031, 1, 15))
    assert result.render() == (
        "5 years before retirement",
        "4 years 4 months before retirement",
        "Retires on 2035-06-01, before the term ends on 2036-01-15.",
    )


def test_render_translates_before_filling_in() -> None:
    result = _one(replace(NOTHING, min_years_service=40), ALICE)
    catalogue = {"{required_years} years": "{required_years} năm"}
    assert result.render(lambda s: catalogue.get(s, s))[0] == "40 năm"


@pytest.mark.parametrize(
    ("start", "end", "months"),
    [
        (date(2021, 1, 31), date(2021, 2, 28), 1),  # clamped to a shorter month
        (date(2021, 1, 31), date(2021, 2, 27), 0),
        (date(2020, 2, 29), date(2021, 2, 28), 12),
        (date(2020, 2, 29), date(2021, 2, 27), 11),
        (date(2021, 3, 15), date(2021, 3, 14), 0),  # end before start
    ],
)
def test_completed_months(start: date, end: date, months: int) -> None:
    assert completed_months(start=start, end=end) == months


def test_overall_eligible() -> None:
    ok = CriterionResult("degree", True, "", "", "", {})
    bad = CriterionResult("language", False, "", "", "", {})
    assert overall_eligible([ok, ok])
    assert not overall_eligible([ok, bad])
    assert overall_eligible([])


def test_negative_standards_are_rejected() -> None:
    with pytest.raises(ValueError, match="min_years_service"):
        PostStandards(min_years_service=-1)


def test_modules_do_not_import_django() -> None:
    code = (
        "import sys, candidates.eligibility, candidates.retirement; "
        "assert not any(m.startswith('django') for m in sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parents[2], check=True)
