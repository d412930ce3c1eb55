"""The supervisor's audit page: who may read it, its filters, the verify button and the exports."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from unittest import mock

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from audit.models import AuditEvent
from audit.services import record
from config.spreadsheets import FORMULA_TRIGGERS
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

URLS = [
    ("get", "audit_log"),
    ("post", "audit_verify"),
    ("get", "audit_export_csv"),
    ("get", "audit_export_xlsx"),
]
EVIL_LABEL = '=hyperlink("http://evil.example","x")@example.vn'
EVIL_ID = '=HYPERLINK("http://evil.example","y")'


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def record_at(moment: str, **fields) -> AuditEvent:
    with mock.patch("django.utils.timezone.now", return_value=at(moment)):
        return record(**fields)


@pytest.fixture
def seeded(make_user):
    examiner = make_user("giam.khao@example.vn")
    chair = make_user("chu.tich@example.vn")
    return [
        record_at("2026-03-01T09:00:00+07:00", actor=chair, action="rules.approve", object_type="exams.rules",
                  object_id="1", campaign_id=1, after={"version": 1}),
        record_at("2026-03-01T23:30:00+07:00", actor=examiner, action="mark.submit", object_type="scoring.mark",
                  object_id="77", campaign_id=1, after={"score": "71.5"}),
        record_at("2026-03-02T00:30:00+07:00", actor=examiner, action="mark.submit", object_type="scoring.mark",
                  object_id="78", campaign_id=2, after={"score": "64.0"}),
        record_at("2026-03-03T10:00:00+07:00", actor=chair, action="resolution.decide",
                  object_type="scoring.resolution", object_id="5", campaign_id=2,
                  before={"status": "disputed", "official": None}, after={"status": "resolved", "official": "68.0"}),
    ]  # fmt: skip


def seqs(response) -> list[int]:
    return [event.seq for event, _diff in response.context["rows"]]


# --- Access --------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "name"), URLS)
def test_anonymous_visitors_are_sent_to_the_login_page(client, method, name) -> None:
    response = getattr(client, method)(reverse(name))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize("role", ["hr_officer", "chair", "examiner", "candidate"])
@pytest.mark.parametrize(("method", "name"), URLS)
def test_other_roles_are_refused(request, role, method, name) -> None:
    user = request.getfixturevalue(role)

    response = getattr(client_for(user), method)(reverse(name))

    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action="audit.verify").exists()


def test_the_supervisor_reads_the_trail_newest_first(supervisor, seeded) -> None:
    response = client_for(supervisor).get(reverse("audit_log"))

    assert response.status_code == 200
    assert seqs(response) == [4, 3, 2, 1]
    page = response.content.decode()
    assert "01/03/2026 23:30:00" in page  # Vietnamese time, dd/mm/yyyy
    assert "<caption>" in page and 'scope="col"' in page and 'scope="row"' in page
    assert "disputed" in page and "resolved" in page  # the change, before and after


def test_the_page_shows_a_hundred_events_a_page(supervisor) -> None:
    for n in range(105):
        record(actor=None, action="mark.submit", object_type="scoring.mark", object_id=n)

    client = client_for(supervisor)
    first, second = client.get(reverse("audit_log")), client.get(reverse("audit_log"), {"page": 2})

    assert (len(seqs(first)), seqs(first)[0]) == (100, 105)
    assert seqs(second) == [5, 4, 3, 2, 1]


def test_a_get_cannot_verify(supervisor) -> None:
    assert client_for(supervisor).get(reverse("audit_verify")).status_code == 405


# --- Filters -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"campaign": 2}, [4, 3]),
        ({"action": "mark.submit"}, [3, 2]),
        ({"action": "mark."}, [3, 2]),
        ({"action": "mark"}, []),
        ({"actor": "Chu.Tich@example.vn"}, [4, 1]),
        ({"object_type": "scoring.mark", "object_id": "78"}, [3]),
        # Days are Vietnamese days: 23:30 on 1 March belongs to 1 March, 00:30 on 2 March to 2 March.
        ({"date_to": "2026-03-01"}, [2, 1]),
        ({"date_from": "2026-03-02"}, [4, 3]),
        ({"date_from": "2026-03-02", "date_to": "2026-03-02"}, [3]),
        ({"campaign": 1, "action": "mark.submit"}, [2]),
    ],
)
def test_filters_narrow_the_events(supervisor, seeded, query, expected) -> None:
    response = client_for(supervisor).get(reverse("audit_log"), query)

    assert response.status_code == 200
    assert seqs(response) == expected


def test_the_actor_filter_finds_events_recorded_under_an_old_address(supervisor, seeded) -> None:
    chair = seeded[0].actor
    chair.email = "chu.tich.moi@example.vn"
    chair.save()

    client = client_for(supervisor)

    assert seqs(client.get(reverse("audit_log"), {"actor": "chu.tich.moi@example.vn"})) == [4, 1]
    assert seqs(client.get(reverse("audit_log"), {"actor": "chu.tich@example.vn"})) == [4, 1]


def test_an_invalid_filter_shows_its_error_and_no_events(supervisor, seeded) -> None:
    response = client_for(supervisor).get(reverse("audit_log"), {"date_from": "2026-03-05", "date_to": "2026-03-01"})

    assert response.status_code == 200
    assert seqs(response) == []
    assert "The start date is after the end date." in response.content.decode()


@pytest.mark.parametrize("name", ["audit_log", "audit_export_csv"])
def test_a_date_at_the_end_of_the_calendar_is_a_form_error_not_a_crash(supervisor, seeded, name) -> None:
    response = client_for(supervisor).get(reverse(name), {"date_to": "9999-12-31"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code in (200, 302)  # the export sends an invalid filter back to the page
    if name == "audit_log":
        assert seqs(response) == [] and "Ensure this value is less than or equal to" in response.content.decode()


# --- Verification --------------------------------------------------------------------


def test_verify_now_records_the_result_and_the_page_shows_it(supervisor, seeded) -> None:
    client = client_for(supervisor)

    response = client.post(reverse("audit_verify"), follow=True)

    event = AuditEvent.objects.get(action="audit.verify")
    assert (event.actor, event.after["ok"], event.after["checked"]) == (supervisor, True, 4)
    banner = response.content.decode()
    assert "The audit chain is intact: 4 events verified." in banner
    assert "4 events verified on" in banner and "supervisor@example.vn" in banner


def test_verify_now_names_the_broken_event(supervisor, seeded, tamper) -> None:
    tamper("UPDATE audit_auditevent SET object_id = %s WHERE seq = 2", ["76"])

    response = client_for(supervisor).post(reverse("audit_verify"), follow=True)

    assert AuditEvent.objects.get(action="audit.verify").after["first_broken_seq"] == 2
    assert "The audit chain is broken at event 2" in response.content.decode()


def test_the_page_does_not_verify_on_every_view(supervisor, seeded) -> None:
    with mock.patch("audit.services.verify_chain") as verify:
        client_for(supervisor).get(reverse("audit_log"))
    verify.assert_not_called()


# --- Exports -------------------------------------------------------------------------


@pytest.fixture
def hostile(make_user):
    # A label and an id a spreadsheet would run as formulas, were they not neutralised.
    evil = make_user(EVIL_LABEL)
    record(actor=evil, action="mark.submit", object_type="scoring.mark", object_id=EVIL_ID, campaign_id=9)
    for value in ["+1", "@SUM(A1)", "\t=1", "-2", "\r=3", "<script>alert(1)</script>"]:
        record(actor=None, action="mark.submit", object_type="scoring.mark", object_id=value, campaign_id=9)


def test_the_csv_export_parses_back_with_formulas_neutralised(supervisor, seeded, hostile) -> None:
    response = client_for(supervisor).get(reverse("audit_export_csv"), {"campaign": 9})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="audit-trail-')
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert header[:4] == ["Sequence", "Time (Vietnam)", "Time (UTC, exact)", "Actor's e-mail"]
    assert [int(row[0]) for row in body] == [5, 6, 7, 8, 9, 10, 11]  # in the order recorded
    assert body[0][3] == "'" + EVIL_LABEL
    assert body[0][6] == "'" + EVIL_ID
    assert [row[6] for row in body[1:]] == ["'+1", "'@SUM(A1)", "'\t=1", "'-2", "'\r=3", "<script>alert(1)</script>"]
    assert not [cell for row in rows for cell in row if cell.startswith(FORMULA_TRIGGERS)]


def test_the_xlsx_export_parses_back_with_formulas_neutralised(supervisor, seeded, hostile) -> None:
    response = client_for(supervisor).get(reverse("audit_export_xlsx"), {"campaign": 9})

    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    cells = [cell for row in sheet.iter_rows() for cell in row]
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert [row[0] for row in values[1:]] == [5, 6, 7, 8, 9, 10, 11]
    assert values[1][3] == "'" + EVIL_LABEL
    assert values[1][6] == "'" + EVIL_ID
    assert not [c for c in cells if c.data_type == "f"]
    assert not [c for c in cells if isinstance(c.value, str) and c.value.startswith(FORMULA_TRIGGERS)]
    assert isinstance(values[1][1], datetime)  # the Vietnamese time is a real date cell


def test_the_exports_follow_the_filters_and_are_themselves_recorded(supervisor, seeded) -> None:
    response = client_for(supervisor).get(reverse("audit_export_csv"), {"action": "mark."})

    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [row[0] for row in rows[1:]] == ["2", "3"]
    export = AuditEvent.objects.get(action="audit.export")
    assert (export.actor, export.after["events"], export.after["format"]) == (supervisor, 2, "csv")


def test_the_page_escapes_what_it_shows(supervisor, hostile) -> None:
    page = client_for(supervisor).get(reverse("audit_log")).content.decode()

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
