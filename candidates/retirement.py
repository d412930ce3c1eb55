"""Statutory retirement age in normal working conditions (no Django imports).

Sources:
- Bộ luật Lao động 2019 (45/2019/QH14), Điều 169 khoản 2: men reach 62 in 2028,
  women 60 in 2035, starting in 2021 from 60y3m (men) and 55y4m (women) and
  rising 3 months (men) / 4 months (women) a year.
- Nghị định 135/2020/NĐ-CP, Điều 4 khoản 2: the same schedule as a table keyed by
  "năm nghỉ hưu", the calendar year in which the person retires.
- NĐ 135/2020, Điều 3: the retirement time (thời điểm nghỉ hưu) is the end of the
  last day of the month in which the person reaches the retirement age; the pension
  starts on the first day of the following month. If a record holds only the birth
  year, 01/01 of that year is used, so callers should pass ``date(year, 1, 1)``.
- NĐ 135/2020, Phụ lục I: the same rule unrolled by birth month, one row per
  month with the age and the month the pension starts (thời điểm hưởng lương hưu).

The rule. Let A(Y) be the age for the calendar year Y: 60y (men) / 55y (women) up
to 2020 (Bộ luật Lao động 2012), then base + step * (Y - 2020) months, capped at 62y / 60y. A person
retires in the first month M in which their age is at least A(year of M). Age
grows 12 months a year and A(Y) only 3 or 4, so within that year the age equals
A(Y) exactly: every nine birth months (men) or eight (women) share one age.
Examples: a man born 09/1961 reaches 60y3m in 12/2021 and keeps the 2021 age; one
born 10/1961 would only reach 60y3m in 01/2022, when 60y6m applies, so he reaches
his age in 04/2022.

Not modelled: lower ages (NĐ 135 Điều 5, Phụ lục II), later retirement by agreement
or under special regimes for some officials, and the armed forces.
"""

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class Gender(StrEnum):
    male = "male"
    female = "female"


@dataclass(frozen=True)
class _Schedule:
    pre_reform_months: int
    step_months: int
    cap_months: int


# Years 2021.. add one step each; 2020 is the last year at the old age.
_LAST_PRE_REFORM_YEAR = 2020
_SCHEDULES = {
    Gender.male: _Schedule(pre_reform_months=60 * 12, step_months=3, cap_months=62 * 12),
    Gender.female: _Schedule(pre_reform_months=55 * 12, step_months=4, cap_months=60 * 12),
}


def _statutory_age_months(*, year: int, gender: Gender) -> int:
    schedule = _SCHEDULES[gender]
    steps = max(0, year - _LAST_PRE_REFORM_YEAR)
    return min(schedule.pre_reform_months + schedule.step_months * steps, schedule.cap_months)


def statutory_age(*, year: int, gender: Gender) -> tuple[int, int]:
    """(years, months) for people retiring in calendar ``year`` (NĐ 135 Điều 4 table)."""
    return divmod(_statutory_age_months(year=year, gender=gender), 12)


def _reach(*, birth_date: date, gender: Gender) -> tuple[int, int]:
    """Return (month index, age in months) of the month the retirement age is reached.

    A month index is ``year * 12 + month - 1``, so ``divmod(index, 12)`` gives the
    year and the zero-based month and no date or float arithmetic is needed.
    """
    birth_index = birth_date.year * 12 + birth_date.month - 1
    schedule = _SCHEDULES[gender]
    # Scan ages from the old age to the cap. The first month whose age meets that
    # year's requirement is the retirement month; the cap always meets it.
    for age in range(schedule.pre_reform_months, schedule.cap_months + 1):
        month_index = birth_index + age
        if age >= _statutory_age_months(year=month_index // 12, gender=gender):
            return month_index, age
    raise AssertionError("unreachable: the capped age always satisfies the schedule")


def retirement_age(*, birth_date: date, gender: Gender) -> tuple[int, int]:
    """Statutory retirement age as (years, months) for this birth month."""
    _, age = _reach(birth_date=birth_date, gender=gender)
    return divmod(age, 12)


def month_reaching_age(*, birth_date: date, gender: Gender) -> tuple[int, int]:
    """(year, month) in which the age is reached; retirement is at its last day's end."""
    month_index, _ = _reach(birth_date=birth_date, gender=gender)
    year, zero_based_month = divmod(month_index, 12)
    return year, zero_based_month + 1


def retirement_month(*, birth_date: date, gender: Gender) -> tuple[int, int]:
    """(year, month) as Phụ lục I lists it: the month after the age is reached.

    The appendix column is "thời điểm hưởng lương hưu", the first month without
    work and with a pension. E.g. a man born 01/1961 reaches 60y3m in 04/2021,
    retires at the end of 30/04/2021 and the appendix lists 05/2021.
    """
    month_index, _ = _reach(birth_date=birth_date, gender=gender)
    year, zero_based_month = divmod(month_index + 1, 12)
    return year, zero_based_month + 1


def retirement_date(*, birth_date: date, gender: Gender) -> date:
    """First day of ``retirement_month``: the first day the person is retired.

    Chosen over the last working day because it makes periods half-open: someone
    appointed on day D can serve a term of N years iff D + N years <= this date,
    i.e. the term ends on or before the last day of the month the age is reached.
    """
    year, month = retirement_month(birth_date=birth_date, gender=gender)
    return date(year, month, 1)
