"""The XLSX export: real dates, and no cell a spreadsheet could run as a formula (ASVS 1.2.10)."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from candidates.exports import FORMULA_TRIGGERS, export_applications, neutralise_cell
from candidates.models import Application
from tests.candidates.builders import decided, submitted
from tests.conftest import client_for

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HOSTILE = ['=HYPERLINK("http://x","click")', "+1", "-2", "@SUM(A1)", "\t=1", "\r=1", "  =1+1", "\n@cmd", "\0=1"]
# PostgreSQL text cannot hold NUL: the database never gives one back, the function still handles it.
STORABLE = [value for value in HOSTILE if "\0" not in value]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_value_a_spreadsheet_could_run_is_quoted(value: str) -> None:
    cleaned = neutralise_cell(value)
    assert cleaned.startswith("'")
    assert "\0" not in cleaned


@pytest.mark.parametrize("value", ["Nguyễn Văn An", "Sở Y tế", "", "1980", "a=b", "Trưởng khoa - Nội"])
def test_ordinary_values_are_left_alone(value: str) -> None:
    assert neutralise_cell(value) == value


def unescaped(value: object) -> bool:
    return isinstance(value, str) and value.lstrip().startswith(FORMULA_TRIGGERS) and not value.startswith("'")


def rows_of(data: bytes) -> list[tuple]:
    workbook = load_workbook(io.BytesIO(data))
    return list(workbook.active.iter_rows(values_only=True))


@pytest.mark.django_db
def test_the_export_neutralises_every_hostile_cell_and_keeps_dates_as_dates(hr_officer, make_post) -> None:
    post = make_post(opens_in_days=-20, closes_in_days=-1)
    for index, hostile in enumerate(STORABLE):
        application = submitted(
            post,
            hostile,
            current_organisation=hostile,
            current_position="-Trưởng khoa",
            citizen_id=f"04908000{index:04d}",
        )
        decided(application, eligible=False, reason=hostile)
    submitted(post, "Nguyễn Văn An")

    response = client_for(hr_officer).get(reverse("screening_export", args=[post.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert response["Content-Disposition"].startswith("attachment")
    rows = rows_of(response.content)
    assert rows[0][0] == "Full name" and len(rows) == len(STORABLE) + 2
    cells = [cell for row in rows for cell in row]
    assert not [cell for cell in cells if unescaped(cell)]
    # openpyxl would have stored a formula for a string starting with "=": none is there.
    workbook = load_workbook(io.BytesIO(response.content))
    assert all(cell.data_type != "f" for row in workbook.active.iter_rows() for cell in row)
    by_name = {row[0]: row for row in rows[1:]}
    an = by_name["Nguyễn Văn An"]
    assert isinstance(an[1], datetime) and an[1].date() == date(1980, 5, 17)
    assert isinstance(an[6], datetime)
    assert an[3].isdigit() and len(an[3]) == 12  # the citizen ID stays text, with its leading zero
    assert by_name['\'=HYPERLINK("http://x","click")'][9] == '\'=HYPERLINK("http://x","click")'


@pytest.mark.django_db
def test_the_export_is_built_from_a_plain_function(make_post) -> None:
    post = make_post(opens_in_days=-20, closes_in_days=-1)
    submitted(post, "@Lê Văn Ba")
    with translation.override("en"):
        rows = rows_of(export_applications(Application.objects.filter(post=post)))
    assert rows[1][0] == "'@Lê Văn Ba"
    assert rows[1][7:9] == ("passed", "Submitted")


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["candidate", "examiner", "chair", "supervisor"])
def test_only_hr_exports_applications(who, request, make_post) -> None:
    post = make_post(opens_in_days=-20, closes_in_days=-1)
    client = client_for(request.getfixturevalue(who))
    assert client.get(reverse("screening_export", args=[post.pk])).status_code == 403
    assert Client().get(reverse("screening_export", args=[post.pk])).status_code == 302
