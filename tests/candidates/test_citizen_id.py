from datetime import date

import pytest

from candidates.citizen_id import citizen_id_problem


@pytest.mark.parametrize(
    ("number", "birth", "gender", "problem"),
    [
        ("049085000123", date(1985, 3, 2), "male", None),  # Quảng Nam, man born 1985
        ("049185000123", date(1985, 3, 2), "female", None),
        ("001203000001", date(2003, 1, 1), "male", None),
        ("001303000001", date(2003, 1, 1), "female", None),
        ("04908500012", date(1985, 3, 2), "male", "format"),
        ("0490850001234", date(1985, 3, 2), "male", "format"),
        ("04908500012a", date(1985, 3, 2), "male", "format"),
        ("０49085000123", date(1985, 3, 2), "male", "format"),  # full-width digit
        ("000085000123", date(1985, 3, 2), "male", "province"),
        ("097085000123", date(1985, 3, 2), "male", "province"),
        ("049086000123", date(1985, 3, 2), "male", "birth_year"),
        ("049285000123", date(1985, 3, 2), "male", "birth_year"),  # 2085, not 1985
        ("049185000123", date(1985, 3, 2), "male", "gender"),
    ],
)
def test_citizen_id_structure_matches_the_person(number: str, birth: date, gender: str, problem: str | None) -> None:
    assert citizen_id_problem(number, birth_date=birth, gender=gender) == problem
