"""Paper marks imported from XLSX: the whole file goes in, or nothing does, with each bad row listed."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from audit.models import AuditEvent
from config.errors import Refused
from exams.models import RubricCriterion
from scoring import imports, services
from scoring.models import Mark, MarkerAssignment, OralSlot, Script
from tests.scoring.builders import MarkingSetup, build_marking_setup, scripts_with_markers

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def setup(make_post) -> MarkingSetup:
    setup = build_marking_setup(make_post)
    scripts_with_markers(setup)
    return setup


def hr_client(setup: MarkingSetup) -> Client:
    client = Client()
    client.force_login(setup.hr)
    return client


def template(setup: MarkingSetup, part: str = "written", language: str = "en") -> list[list]:
    response = hr_client(setup).get(
        reverse("hr_marking_template", args=[setup.campaign.pk, part]), HTTP_ACCEPT_LANGUAGE=language
    )
    assert response.status_code == 200 and response["Content-Type"] == imports.XLSX
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def xlsx(rows: list[list]) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(
    setup: MarkingSetup, data: bytes, part: str = "written", name: str = "marks.xlsx", client: Client | None = None
) -> HttpResponse:
    return (client or hr_client(setup)).post(
        reverse("hr_marking_import", args=[setup.campaign.pk, part]),
        {f"import-{part}-file": SimpleUploadedFile(name, data)},
        **EN,
    )


def filled(rows: list[list], values: list) -> list[list]:
    header, *body = rows
    return [header, *([*row[:2], value, *row[3:]] for row, value in zip(body, values, strict=True))]


def test_the_template_lists_every_expected_mark_of_the_part(setup) -> None:
    rows = template(setup)
    assert rows[0] == ["Script code", "Examiner e-mail", "Mark (max 100)"]
    expected = {
        (a.script.code, a.examiner.email) for a in MarkerAssignment.objects.select_related("script", "examiner")
    }
    assert {(r[0], r[1]) for r in rows[1:]} == expected and len(rows) == 9


def test_a_valid_file_goes_in_whole_through_the_marking_service(setup) -> None:
    rows = template(setup)
    values = [70, "72,5", 64.5, "66", 80, 81, 55, "58.5"]
    client = hr_client(setup)
    response = upload(setup, xlsx(filled(rows, values)), client=client)
    assert response.status_code == 302
    marks = Mark.objects.all()
    assert marks.count() == 8
    assert all(m.status == Mark.Status.SUBMITTED and m.source == "import" for m in marks)
    by_pair = {(m.script.code, m.examiner.email): m.value for m in marks.select_related("script", "examiner")}
    assert by_pair[(rows[2][0], rows[2][1])] == Decimal("72.5")
    assert AuditEvent.objects.filter(action="marks.import", actor_id=setup.hr.pk).count() == 1
    assert AuditEvent.objects.filter(action="mark.submit").count() == 8
    follow = client.get(response["Location"], **EN).content.decode()
    assert "8 marks imported." in follow
    assert len(template(setup)) == 1  # nothing left to type


def test_a_template_downloaded_in_vietnamese_is_accepted(setup) -> None:
    rows = template(setup, language="vi")
    response = upload(setup, xlsx(filled(rows, [70] * 8)))
    assert response.status_code == 302 and Mark.objects.count() == 8


def errors_of(response: HttpResponse) -> str:
    assert response.status_code == 422
    html = response.content.decode()
    assert "Nothing was imported." in html
    return html


def test_wrong_headers_refuse_the_whole_file(setup) -> None:
    rows = template(setup)
    rows[0] = ["Code", "E-mail", "Điểm"]
    html = errors_of(upload(setup, xlsx(filled(rows, [70] * 8))))
    assert "The columns do not match the template of this part." in html
    assert not Mark.objects.exists()


def test_each_bad_row_is_listed_and_nothing_is_saved(setup) -> None:
    rows = filled(template(setup), [70, 71, 72, 73, 74, 75, 76, 77])
    first = MarkerAssignment.objects.select_related("script", "examiner").order_by("script__code", "round").first()
    rows[2][2] = "bảy mươi"  # text in a number cell (row 3)
    rows[3][0] = "ZZZZ2222"  # an unknown code (row 4)
    rows[4][2] = 101  # out of range (row 5)
    rows[5][2] = 70.25  # too many decimals (row 6)
    rows[6][1] = "nobody@example.vn"  # an unknown examiner (row 7)
    rows.append(list(rows[1]))  # a duplicate of row 2 (row 10)
    rows.append([None, None, None])  # a blank row is ignored
    html = errors_of(upload(setup, xlsx(rows)))
    for row, message in [
        (3, "Enter a number, such as 72.5."),
        (4, "Unknown script code “ZZZZ2222”."),
        (5, "A mark must be between 0 and 100."),
        (6, "A mark has at most 1 decimal(s)."),
        (7, "Unknown examiner “nobody@example.vn”."),
        (10, "Duplicate of row 2."),
    ]:
        assert f'<li data-row="{row}">Row {row}: {message}</li>' in html, (row, message)
    assert html.count("<li data-row=") == 6
    assert not Mark.objects.exists() and first.script.code in rows[1][0]


def test_a_mark_already_submitted_refuses_the_file(setup) -> None:
    rows = filled(template(setup), [70] * 8)
    code, email = rows[1][0], rows[1][1]
    examiner = next(e for e in setup.examiners if e.email == email)
    services.save_mark(
        examiner=examiner, campaign=setup.campaign, part_code="written", key=code, raw_value="60", submit=True
    )
    html = errors_of(upload(setup, xlsx(rows)))
    assert "Row 2: This examiner&#x27;s mark is already submitted; only the chair can reopen it." in html
    assert Mark.objects.count() == 1 and Mark.objects.get().value == Decimal("60")


def test_an_examiner_not_assigned_to_the_script_is_refused(setup) -> None:
    rows = filled(template(setup), [70] * 8)
    script = Script.objects.get(code=rows[1][0])
    stranger = next(e for e in setup.examiners if not script.assignments.filter(examiner=e).exists())
    rows[1][1] = stranger.email
    html = errors_of(upload(setup, xlsx(rows)))
    assert "Row 2: This examiner is not assigned to this script or candidate." in html


def test_a_refusal_while_saving_rolls_back_the_rows_already_saved(setup, monkeypatch) -> None:
    real = services.save_mark
    calls = []

    def flaky(**kwargs: Any) -> Mark:
        calls.append(kwargs["key"])
        if len(calls) == 5:
            raise Refused("Declare any conflict of interest with this candidate before marking.", code="no_declaration")
        return real(**kwargs)

    monkeypatch.setattr(services, "save_mark", flaky)
    html = errors_of(upload(setup, xlsx(filled(template(setup), [70] * 8))))
    assert "Row 6: Declare any conflict of interest" in html
    assert len(calls) == 8  # every row was tried, so that every bad row is reported
    assert not Mark.objects.exists() and not AuditEvent.objects.filter(action="mark.submit").exists()


def test_a_file_that_is_not_a_workbook_is_refused(setup) -> None:
    html = errors_of(upload(setup, b"Script code,Examiner e-mail,Mark\nABC,x@y.vn,70\n", name="marks.xlsx"))
    assert "This file is not an XLSX workbook" in html
    assert "The file is empty." in errors_of(upload(setup, xlsx([])))


def test_a_rubric_needs_every_criterion_and_a_mark_that_is_their_sum(make_post) -> None:
    setup = build_marking_setup(make_post)
    part = setup.rules.parts.get(code="written")
    RubricCriterion.objects.create(part=part, position=1, name="Kiến thức", max_score=60)
    RubricCriterion.objects.create(part=part, position=2, name="Trình bày", max_score=40)
    scripts_with_markers(setup)
    rows = template(setup)
    assert rows[0][3:] == ["Criterion 1: Kiến thức (max 60)", "Criterion 2: Trình bày (max 40)"]
    body = [[r[0], r[1], None, 40, 30] for r in rows[1:]]
    body[0][2] = 75  # not 40 + 30
    body[1][4] = None  # a criterion missing
    html = errors_of(upload(setup, xlsx([rows[0], *body])))
    assert "Row 2: The mark (75) is not the sum of the criteria (70)." in html
    assert "Row 3: Criterion 2 is missing." in html
    body[0][2], body[1][4] = 70, 30
    assert upload(setup, xlsx([rows[0], *body])).status_code == 302
    mark = Mark.objects.first()
    assert mark.value == Decimal("70") and mark.criteria == {"1": "40.0", "2": "30.0"}


def test_oral_ballots_are_imported_by_slot(setup) -> None:
    services.draw_oral_order(panel=setup.oral_panel, by=setup.hr, seed="o")
    rows = template(setup, "oral")
    assert rows[0] == ["Slot", "Panel", "Order", "Candidate", "Examiner e-mail", "Mark (max 100)"]
    assert len(rows) == 1 + 4 * 3
    slot = OralSlot.objects.get(position=1)
    assert [r[3] for r in rows[1:] if r[0] == str(slot.pk)][0] == slot.application.display_name
    body = [[*r[:5], 80] for r in rows[1:]]
    assert upload(setup, xlsx([rows[0], *body]), part="oral").status_code == 302
    assert Mark.objects.filter(part_code="oral", status="submitted").count() == 12


def test_validation_alone_needs_no_database() -> None:
    class Part:
        code, marking_mode, max_score, decimals = "written", "blind_double", Decimal(100), 1

        class criteria:  # noqa: N801
            @staticmethod
            def all() -> list:
                return []

    lookups = imports.Lookups(allowed={"ABCD2345": {7}}, examiners={"a@b.vn": 7}, submitted=set())
    good, errors = imports.validate(
        [(1, ["Script code", "Examiner e-mail", "Mark (max 100)"]), (2, ["abcd2345", "A@B.vn", "7,5"])],
        part=Part(),  # type: ignore[arg-type]
        lookups=lookups,
    )
    assert errors == [] and good == [imports.ImportRow(2, "ABCD2345", 7, "7,5", {})]
