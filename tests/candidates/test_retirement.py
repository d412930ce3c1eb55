import calendar
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from candidates.retirement import (
    Gender,
    month_reaching_age,
    retirement_age,
    retirement_date,
    retirement_month,
    statutory_age,
)

M, F = Gender.male, Gender.female

# Rows in the layout of NĐ 135/2020 Phụ lục I: birth (month, year), retirement age
# (years, months), "thời điểm hưởng lương hưu" (month, year). Rows before the
# schedule (12/1960, 12/1965) and far from it are outside the appendix and follow
# the old 60/55 or the capped 62/60.
APPENDIX_ROWS = [
    # men
    (M, (12, 1960), (60, 0), (1, 2021)),
    (M, (1, 1961), (60, 3), (5, 2021)),
    (M, (9, 1961), (60, 3), (1, 2022)),  # reaches 60y3m in 12/2021: the 2021 age
    (M, (10, 1961), (60, 6), (5, 2022)),
    (M, (6, 1962), (60, 6), (1, 2023)),
    (M, (7, 1962), (60, 9), (5, 2023)),
    (M, (1, 1964), (61, 3), (5, 2025)),
    (M, (3, 1966), (61, 9), (1, 2028)),  # last row before the cap
    (M, (4, 1966), (62, 0), (5, 2028)),  # first cohort at 62
    (M, (1, 1970), (62, 0), (2, 2032)),
    (M, (5, 1950), (60, 0), (6, 2010)),
    (M, (7, 1990), (62, 0), (8, 2052)),
    # women
    (F, (12, 1965), (55, 0), (1, 2021)),
    (F, (1, 1966), (55, 4), (6, 2021)),
    (F, (8, 1966), (55, 4), (1, 2022)),  # reaches 55y4m in 12/2021
    (F, (9, 1966), (55, 8), (6, 2022)),
    (F, (4, 1967), (55, 8), (1, 2023)),
    (F, (5, 1967), (56, 0), (6, 2023)),
    (F, (1, 1970), (57, 4), (6, 2027)),
    (F, (8, 1970), (57, 4), (1, 2028)),
    (F, (9, 1970), (57, 8), (6, 2028)),
    (F, (12, 1970), (57, 8), (9, 2028)),
    (F, (1, 1975), (59, 8), (10, 2034)),
    (F, (4, 1975), (59, 8), (1, 2035)),  # last row before the cap
    (F, (5, 1975), (60, 0), (6, 2035)),  # first cohort at 60, in 2035
    (F, (3, 1950), (55, 0), (4, 2005)),
    (F, (3, 1995), (60, 0), (4, 2055)),
]


def _last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


@pytest.mark.parametrize(("gender", "born", "age", "listed"), APPENDIX_ROWS)
def test_appendix_rows(
    gender: Gender,
    born: tuple[int, int],
    age: tuple[int, int],
    listed: tuple[int, int],
) -> None:
    birth_month, birth_year = born
    listed_month, listed_year = listed
    # Only the birth month matters, so the first and the last day must agree.
    for day in (1, _last_day(birth_year, birth_month)):
        birth_date = date(birth_year, birth_month, day)
        assert retirement_age(birth_date=birth_date, gender=gender) == age
        assert retirement_month(birth_date=birth_date, gender=gender) == (
            listed_year,
            listed_month,
        )
        assert retirement_date(birth_date=birth_date, gender=gender) == date(listed_year, listed_month, 1)


def test_month_reaching_age_is_the_month_before_the_listed_one() -> None:
    # Điều 3: retirement at the end of the month the age is reached.
    assert month_reaching_age(birth_date=date(1961, 1, 20), gender=M) == (2021, 4)
    assert month_reaching_age(birth_date=date(1961, 9, 20), gender=M) == (2021, 12)
    assert month_reaching_age(birth_date=date(1966, 1, 20), gender=F) == (2021, 5)
    assert month_reaching_age(birth_date=date(1975, 4, 20), gender=F) == (2034, 12)


@pytest.mark.parametrize(
    ("year", "male", "female"),
    [
        (2019, (60, 0), (55, 0)),
        (2020, (60, 0), (55, 0)),
        (2021, (60, 3), (55, 4)),
        (2022, (60, 6), (55, 8)),
        (2023, (60, 9), (56, 0)),
        (2024, (61, 0), (56, 4)),
        (2025, (61, 3), (56, 8)),
        (2026, (61, 6), (57, 0)),
        (2027, (61, 9), (57, 4)),
        (2028, (62, 0), (57, 8)),
        (2029, (62, 0), (58, 0)),
        (2030, (62, 0), (58, 4)),
        (2031, (62, 0), (58, 8)),
        (2032, (62, 0), (59, 0)),
        (2033, (62, 0), (59, 4)),
        (2034, (62, 0), (59, 8)),
        (2035, (62, 0), (60, 0)),
        (2050, (62, 0), (60, 0)),
    ],
)
def test_statutory_age_matches_article_4_table(year: int, male: tuple[int, int], female: tuple[int, int]) -> None:
    assert statutory_age(year=year, gender=M) == male
    assert statutory_age(year=year, gender=F) == female


def _cohort_formula(birth_year: int, birth_month: int, gender: Gender) -> int:
    # An independent restatement: each step covers 9 birth months for men
    # (12 - 3) and 8 for women (12 - 4), starting with 01/1961 and 01/1966.
    first_year, base, step, group, cap, old = {
        M: (1961, 723, 3, 9, 744, 720),
        F: (1966, 664, 4, 8, 720, 660),
    }[gender]
    offset = (birth_year - first_year) * 12 + birth_month - 1
    if offset < 0:
        return old
    return min(base + step * (offset // group), cap)


@pytest.mark.parametrize("gender", [M, F])
def test_every_birth_month_matches_the_cohort_formula(gender: Gender) -> None:
    for year in range(1950, 1990):
        for month in range(1, 13):
            years, months = retirement_age(birth_date=date(year, month, 15), gender=gender)
            assert years * 12 + months == _cohort_formula(year, month, gender)


def test_gender_is_a_plain_string() -> None:
    assert Gender("female") is F
    assert M == "male"


birth_dates = st.dates(min_value=date(1930, 1, 1), max_value=date(2010, 12, 31))


@given(first=birth_dates, second=birth_dates, gender=st.sampled_from(Gender))
def test_age_and_date_do_not_decrease_with_birth_date(first: date, second: date, gender: Gender) -> None:
    earlier, later = sorted((first, second))
    assert retirement_age(birth_date=earlier, gender=gender) <= retirement_age(birth_date=later, gender=gender)
    assert retirement_date(birth_date=earlier, gender=gender) <= retirement_date(birth_date=later, gender=gender)


@given(birth_date=birth_dates, gender=st.sampled_from(Gender))
def test_age_is_bounded_and_is_the_age_of_the_year_it_is_reached(birth_date: date, gender: Gender) -> None:
    age = retirement_age(birth_date=birth_date, gender=gender)
    low, high = {M: ((60, 0), (62, 0)), F: ((55, 0), (60, 0))}[gender]
    assert low <= age <= high
    reach_year, reach_month = month_reaching_age(birth_date=birth_date, gender=gender)
    assert age == statutory_age(year=reach_year, gender=gender)
    # The reached month is exactly birth month + age: no month is skipped.
    reached = birth_date.year * 12 + birth_date.month - 1 + age[0] * 12 + age[1]
    assert reached == reach_year * 12 + reach_month - 1
    listed = retirement_date(birth_date=birth_date, gender=gender)
    assert listed.day == 1
    assert listed.year * 12 + listed.month - 1 == reached + 1
