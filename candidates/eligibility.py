"""Structured eligibility standards of a post and a checker (no Django imports).

Durations are whole completed calendar months at the appointment date, and years
are ``completed months // 12``. A month is completed on the same day of a later
month, or on that month's last day when it is shorter (31/01 + 1 month = 28/02),
so no day counts or floats are involved.

``required``, ``actual`` and ``reason`` of a :class:`CriterionResult` are English
msgids with ``{name}`` placeholders filled from ``reason_params``; use
:meth:`CriterionResult.render` with ``gettext`` to display them.
"""

import calendar
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import IntEnum

from candidates.retirement import Gender, retirement_age, retirement_date

# Plain values only, so results can be stored as JSON for the audit trail.
ParamValue = str | int


def gettext_noop(message: str) -> str:
    # Django's makemessages runs xgettext with the keyword gettext_noop, so these
    # strings are extracted for translation although nothing here imports Django.
    return message


class DegreeLevel(IntEnum):
    college = 1  # cao đẳng
    bachelor = 2  # đại học
    master = 3  # thạc sĩ
    doctor = 4  # tiến sĩ


class PoliticalTheory(IntEnum):
    none = 0
    elementary = 1  # sơ cấp
    intermediate = 2  # trung cấp
    advanced = 3  # cao cấp
    bachelor = 4  # cử nhân (chính trị)


class StateManagement(IntEnum):
    none = 0
    specialist = 1  # chương trình chuyên viên
    principal = 2  # chuyên viên chính
    senior = 3  # chuyên viên cao cấp


class LanguageLevel(IntEnum):
    """CEFR level (Khung năng lực ngoại ngữ 6 bậc: bậc 1..6 = A1..C2)."""

    none = 0
    A1 = 1
    A2 = 2
    B1 = 3
    B2 = 4
    C1 = 5
    C2 = 6


# Old national certificates (chứng chỉ A/B/C) are commonly read as A2/B1/B2.
# For display and data entry only: a post's standard should name a CEFR level.
LEGACY_LANGUAGE_CERTIFICATES: Mapping[str, LanguageLevel] = {
    "A": LanguageLevel.A2,
    "B": LanguageLevel.B1,
    "C": LanguageLevel.B2,
}


class Rating(IntEnum):
    not_completed = 0  # không hoàn thành nhiệm vụ
    completed = 1  # hoàn thành nhiệm vụ
    good = 2  # hoàn thành tốt nhiệm vụ
    excellent = 3  # hoàn thành xuất sắc nhiệm vụ


DEGREE_LABELS: Mapping[DegreeLevel | None, str] = {
    None: gettext_noop("no degree"),
    DegreeLevel.college: gettext_noop("college degree"),
    DegreeLevel.bachelor: gettext_noop("bachelor's degree"),
    DegreeLevel.master: gettext_noop("master's degree"),
    DegreeLevel.doctor: gettext_noop("doctorate"),
}
POLITICAL_THEORY_LABELS: Mapping[PoliticalTheory, str] = {
    PoliticalTheory.none: gettext_noop("no political theory"),
    PoliticalTheory.elementary: gettext_noop("elementary political theory"),
    PoliticalTheory.intermediate: gettext_noop("intermediate political theory"),
    PoliticalTheory.advanced: gettext_noop("advanced political theory"),
    PoliticalTheory.bachelor: gettext_noop("bachelor of politics"),
}
STATE_MANAGEMENT_LABELS: Mapping[StateManagement, str] = {
    StateManagement.none: gettext_noop("no state-management training"),
    StateManagement.specialist: gettext_noop("specialist state management"),
    StateManagement.principal: gettext_noop("principal-specialist state management"),
    StateManagement.senior: gettext_noop("senior-specialist state management"),
}
LANGUAGE_LABELS: Mapping[LanguageLevel, str] = {
    LanguageLevel.none: gettext_noop("no foreign language"),
    **{level: level.name for level in LanguageLevel if level is not LanguageLevel.none},
}


@dataclass(frozen=True, kw_only=True)
class PostStandards:
    """Standards of one post; None (or False) means the criterion is not required."""

    min_degree: DegreeLevel | None = None
    min_political_theory: PoliticalTheory | None = None
    min_state_management: StateManagement | None = None
    min_language: LanguageLevel | None = None
    min_years_service: int | None = None
    min_years_in_current_post: int | None = None
    min_years_management: int | None = None
    requires_plan_or_nomination: bool = False
    requires_no_discipline: bool = False
    # Ratings of the last N calendar years before the appointment year.
    min_rating_years: int | None = None
    # Years that must remain before the statutory retirement date.
    full_term_years: int | None = 5

    def __post_init__(self) -> None:
        counts = {
            "min_years_service": self.min_years_service,
            "min_years_in_current_post": self.min_years_in_current_post,
            "min_years_management": self.min_years_management,
            "min_rating_years": self.min_rating_years,
            "full_term_years": self.full_term_years,
        }
        for name, value in counts.items():
            if value is not None and value < 0:
                raise ValueError(f"{name} must not be negative, got {value}")


@dataclass(frozen=True, kw_only=True)
class CandidateFacts:
    """What HR verified about a candidate.

    ``management_months`` is the total of completed months in management posts up
    to the appointment date, summed over all stints by the caller: leadership
    careers often have gaps, which a single start date could not express.
    """

    birth_date: date
    gender: Gender
    degree: DegreeLevel | None
    political_theory: PoliticalTheory
    state_management: StateManagement
    language: LanguageLevel
    service_start: date
    current_post_since: date | None
    management_months: int
    in_succession_plan: bool
    nominated: bool
    discipline_in_force: bool
    ratings: Mapping[int, Rating]


def _untranslated(message: str) -> str:
    return message


@dataclass(frozen=True)
class CriterionResult:
    code: str
    passed: bool
    required: str
    actual: str
    reason: str
    reason_params: dict[str, ParamValue]

    def render(self, translate: Callable[[str], str] = _untranslated) -> tuple[str, str, str]:
        """(required, actual, reason) translated first, then filled in."""
        return (
            translate(self.required).format(**self.reason_params),
            translate(self.actual).format(**self.reason_params),
            translate(self.reason).format(**self.reason_params),
        )


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months, clamped to the last day of a shorter month."""
    year, zero_based_month = divmod(day.year * 12 + day.month - 1 + months, 12)
    last_day = calendar.monthrange(year, zero_based_month + 1)[1]
    return date(year, zero_based_month + 1, min(day.day, last_day))


def completed_months(*, start: date, end: date) -> int:
    """Whole months from ``start`` to ``end``; 0 if ``end`` is before ``start``."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if add_months(start, months) > end:
        months -= 1
    return max(months, 0)


_MET_LEVEL = gettext_noop("Meets the minimum level.")
_BELOW_LEVEL = gettext_noop("Below the minimum level.")
_REQUIRED_YEARS = gettext_noop("{required_years} years")
_ACTUAL_DURATION = gettext_noop("{actual_years} years {actual_months} months")
_ENOUGH_YEARS = gettext_noop("Enough years.")
_SHORT_MONTHS = gettext_noop("{shortfall_months} months short.")


def _level_result(
    *,
    code: str,
    required: IntEnum,
    actual: IntEnum | None,
    required_label: str,
    actual_label: str,
    passed: bool,
) -> CriterionResult:
    return CriterionResult(
        code=code,
        passed=passed,
        required=required_label,
        actual=actual_label,
        reason=_MET_LEVEL if passed else _BELOW_LEVEL,
        reason_params={
            "required_level": required.name,
            "actual_level": "none" if actual is None else actual.name,
        },
    )


def _duration_result(*, code: str, required_years: int, actual_months: int) -> CriterionResult:
    shortfall = required_years * 12 - actual_months
    return CriterionResult(
        code=code,
        passed=shortfall <= 0,
        required=_REQUIRED_YEARS,
        actual=_ACTUAL_DURATION,
        reason=_ENOUGH_YEARS if shortfall <= 0 else _SHORT_MONTHS,
        reason_params={
            "required_years": required_years,
            "actual_years": actual_months // 12,
            "actual_months": actual_months % 12,
            "shortfall_months": max(shortfall, 0),
        },
    )


def _political_rank(level: PoliticalTheory) -> int:
    # Cử nhân chính trị counts as cao cấp lý luận chính trị (standards read "cao
    # cấp hoặc cử nhân", i.e. "cao cấp trở lên"), so the two rank equal.
    return min(level, PoliticalTheory.advanced)


def _plan_or_nomination(facts: CandidateFacts) -> CriterionResult:
    if facts.in_succession_plan and facts.nominated:
        actual = gettext_noop("in the succession plan and nominated")
    elif facts.in_succession_plan:
        actual = gettext_noop("in the succession plan")
    elif facts.nominated:
        actual = gettext_noop("nominated")
    else:
        actual = gettext_noop("neither planned nor nominated")
    passed = facts.in_succession_plan or facts.nominated
    return CriterionResult(
        code="plan_or_nomination",
        passed=passed,
        required=gettext_noop("in the succession plan or nominated"),
        actual=actual,
        reason=gettext_noop("Planned or nominated.")
        if passed
        else gettext_noop("Neither in the succession plan nor nominated."),
        reason_params={
            "in_succession_plan": int(facts.in_succession_plan),
            "nominated": int(facts.nominated),
        },
    )


def _no_discipline(facts: CandidateFacts) -> CriterionResult:
    passed = not facts.discipline_in_force
    return CriterionResult(
        code="no_discipline",
        passed=passed,
        required=gettext_noop("no discipline in force"),
        actual=gettext_noop("no discipline in force") if passed else gettext_noop("discipline in force"),
        reason=gettext_noop("No discipline in force.")
        if passed
        else gettext_noop("A disciplinary measure is in force."),
        reason_params={"discipline_in_force": int(facts.discipline_in_force)},
    )


def _ratings(*, ratings: Mapping[int, Rating], years: int, appointment_date: date) -> CriterionResult:
    # The appointment year itself is not rated yet, so count the N years before it.
    checked = range(appointment_date.year - years, appointment_date.year)
    missing = [year for year in checked if year not in ratings]
    low = [year for year in checked if year in ratings and ratings[year] < Rating.good]
    if missing and low:
        reason = gettext_noop("No rating for {missing_years}; below 'completed well' in {low_years}.")
    elif missing:
        reason = gettext_noop("No rating for {missing_years}.")
    elif low:
        reason = gettext_noop("Below 'completed well' in {low_years}.")
    else:
        reason = gettext_noop("'Completed well' or better in every year.")
    return CriterionResult(
        code="ratings",
        passed=not missing and not low,
        required=gettext_noop("'completed well' or better in {first_year}-{last_year}"),
        actual=gettext_noop("{good_years} of {years} years"),
        reason=reason,
        reason_params={
            "years": years,
            "first_year": checked.start,
            "last_year": checked.stop - 1,
            "good_years": years - len(missing) - len(low),
            "missing_years": ", ".join(map(str, missing)),
            "low_years": ", ".join(map(str, low)),
        },
    )


def _age_full_term(*, facts: CandidateFacts, full_term_years: int, appointment_date: date) -> CriterionResult:
    retires_on = retirement_date(birth_date=facts.birth_date, gender=facts.gender)
    term_end = add_months(appointment_date, 12 * full_term_years)
    # retires_on is the first day in retirement, so a term ending that day fits.
    passed = term_end <= retires_on
    months_left = completed_months(start=appointment_date, end=retires_on)
    age_years, age_months = retirement_age(birth_date=facts.birth_date, gender=facts.gender)
    return CriterionResult(
        code="age_full_term",
        passed=passed,
        required=gettext_noop("{full_term_years} years before retirement"),
        actual=gettext_noop("{left_years} years {left_months} months before retirement"),
        reason=gettext_noop("Can serve a full term before retiring on {retirement_date}.")
        if passed
        else gettext_noop("Retires on {retirement_date}, before the term ends on {term_end}."),
        reason_params={
            "full_term_years": full_term_years,
            "left_years": months_left // 12,
            "left_months": months_left % 12,
            "retirement_date": retires_on.isoformat(),
            "term_end": term_end.isoformat(),
            "retirement_age_years": age_years,
            "retirement_age_months": age_months,
        },
    )


def check_eligibility(
    *, facts: CandidateFacts, standards: PostStandards, appointment_date: date
) -> list[CriterionResult]:
    """One result per criterion the standards require, in a fixed order."""
    results: list[CriterionResult] = []
    if standards.min_degree is not None:
        results.append(
            _level_result(
                code="degree",
                required=standards.min_degree,
                actual=facts.degree,
                required_label=DEGREE_LABELS[standards.min_degree],
                actual_label=DEGREE_LABELS[facts.degree],
                passed=facts.degree is not None and facts.degree >= standards.min_degree,
            )
        )
    if standards.min_political_theory is not None:
        results.append(
            _level_result(
                code="political_theory",
                required=standards.min_political_theory,
                actual=facts.political_theory,
                required_label=POLITICAL_THEORY_LABELS[standards.min_political_theory],
                actual_label=POLITICAL_THEORY_LABELS[facts.political_theory],
                passed=_political_rank(facts.political_theory) >= _political_rank(standards.min_political_theory),
            )
        )
    if standards.min_state_management is not None:
        results.append(
            _level_result(
                code="state_management",
                required=standards.min_state_management,
                actual=facts.state_management,
                required_label=STATE_MANAGEMENT_LABELS[standards.min_state_management],
                actual_label=STATE_MANAGEMENT_LABELS[facts.state_management],
                passed=facts.state_management >= standards.min_state_management,
            )
        )
    if standards.min_language is not None:
        results.append(
            _level_result(
                code="language",
                required=standards.min_language,
                actual=facts.language,
                required_label=LANGUAGE_LABELS[standards.min_language],
                actual_label=LANGUAGE_LABELS[facts.language],
                passed=facts.language >= standards.min_language,
            )
        )
    if standards.min_years_service is not None:
        results.append(
            _duration_result(
                code="years_service",
                required_years=standards.min_years_service,
                actual_months=completed_months(start=facts.service_start, end=appointment_date),
            )
        )
    if standards.min_years_in_current_post is not None:
        # No current post counts as zero months rather than a separate failure.
        in_post = (
            0
            if facts.current_post_since is None
            else completed_months(start=facts.current_post_since, end=appointment_date)
        )
        results.append(
            _duration_result(
                code="years_current_post",
                required_years=standards.min_years_in_current_post,
                actual_months=in_post,
            )
        )
    if standards.min_years_management is not None:
        results.append(
            _duration_result(
                code="years_management",
                required_years=standards.min_years_management,
                actual_months=facts.management_months,
            )
        )
    if standards.requires_plan_or_nomination:
        results.append(_plan_or_nomination(facts))
    if standards.requires_no_discipline:
        results.append(_no_discipline(facts))
    if standards.min_rating_years is not None:
        results.append(
            _ratings(
                ratings=facts.ratings,
                years=standards.min_rating_years,
                appointment_date=appointment_date,
            )
        )
    if standards.full_term_years is not None:
        results.append(
            _age_full_term(
                facts=facts,
                full_term_years=standards.full_term_years,
                appointment_date=appointment_date,
            )
        )
    return results


def overall_eligible(results: Iterable[CriterionResult]) -> bool:
    """True iff every returned criterion passed (so True when none is required)."""
    return all(result.passed for result in results)
