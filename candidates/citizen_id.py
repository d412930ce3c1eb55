"""Structure of the 12-digit citizen identity number (CCCD), Thông tư 07/2016/TT-BCA Điều 7.

Digits 1–3: the province of birth registration (001–096); digit 4: gender and century of birth
(0/1: male/female born 1900–1999, 2/3: 2000–2099, 4/5: 2100–2199, 6/7: 2200–2299, 8/9: 2300–2399);
digits 5–6: the last two digits of the year of birth; digits 7–12: a random number.
"""

from __future__ import annotations

from datetime import date

PROVINCE_CODES = range(1, 97)


def citizen_id_problem(number: str, *, birth_date: date | None, gender: str | None) -> str | None:
    """Why the number cannot be this person's CCCD, or None when it is consistent."""
    if len(number) != 12 or not number.isascii() or not number.isdigit():
        return "format"
    if int(number[:3]) not in PROVINCE_CODES:
        return "province"
    century_gender = int(number[3])
    if birth_date is not None:
        century = 19 + century_gender // 2
        if birth_date.year // 100 != century or birth_date.year % 100 != int(number[4:6]):
            return "birth_year"
    if gender is not None and century_gender % 2 != (1 if gender == "female" else 0):
        return "gender"
    return None
