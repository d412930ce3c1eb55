"""Who may see what on exam day: the notice is its owner's alone, the public lookup shows no name,
the room lists are HR's (and neutralise formulas)."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook
from pypdf import PdfReader

from accounts.roles import Role
from exams import exam_day
from tests.conftest import client_for
from tests.exams.test_exam_day_builders import build_exam_day, ready_to_publish

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def as_candidate(application):
    application.candidate.groups.add(Group.objects.get_or_create(name=Role.CANDIDATE.value)[0])
    return client_for(application.candidate)


@pytest.fixture
def setup(make_post, hr_officer, chair):
    setup = build_exam_day(make_post, hr_officer, chair)
    ready_to_publish(setup)
    return setup


@pytest.fixture
def published(setup, hr_officer):
    exam_day.publish_candidate_numbers(campaign=setup.campaign, by=hr_officer)
    return setup


def notice_url(application) -> str:
    return reverse("admission_notice_download", args=[application.public_id])


def test_the_candidate_downloads_their_own_notice(published) -> None:
    application = published.applications[0]
    response = as_candidate(application).get(notice_url(application))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"] and response["Cache-Control"] == "private, no-store"
    assert "QN0001" in PdfReader(io.BytesIO(response.content)).pages[0].extract_text()


def test_another_candidate_gets_404_for_someone_elses_notice(published) -> None:
    owner, stranger = published.applications[0], published.applications[1]
    assert as_candidate(stranger).get(notice_url(owner)).status_code == 404


def test_staff_and_anonymous_visitors_cannot_download_a_notice(published, hr_officer) -> None:
    url = notice_url(published.applications[0])
    assert client_for(hr_officer).get(url).status_code == 403
    assert Client().get(url).status_code == 302  # to the login page


def test_no_notice_before_the_numbers_are_published(setup) -> None:
    application = setup.applications[0]
    assert as_candidate(application).get(notice_url(application)).status_code == 404
    page = as_candidate(application).get(reverse("candidate_exam"), **EN).content.decode()
    assert "QN0001" not in page and notice_url(application) not in page


def test_the_exam_page_shows_number_room_seat_and_the_download(published) -> None:
    application = published.applications[0]
    page = as_candidate(application).get(reverse("candidate_exam"), **EN).content.decode()
    assert 'data-testid="candidate-number">QN0001<' in page
    assert notice_url(application) in page and "Phòng 201" in page


# --- Public room lookup -------------------------------------------------------------------------


def test_the_public_lookup_shows_room_and_seat_but_no_name(published) -> None:
    application = published.applications[0]
    response = Client().get(reverse("exam_room_lookup"), {"number": "qn0001"}, **EN)
    page = response.content.decode()
    assert response.status_code == 200 and "Phòng 201" in page and "Trường Chính trị tỉnh Quảng Nam" in page
    assert application.display_name not in page
    assert "Trần" not in page and "17/05/1980" not in page and application.candidate.email not in page


def test_the_public_lookup_finds_nothing_before_publication(setup) -> None:
    page = Client().get(reverse("exam_room_lookup"), {"number": "QN0001"}, **EN).content.decode()
    assert "No published candidate number matches." in page and "Phòng 201" not in page


def test_the_qr_link_names_the_campaign(published) -> None:
    query = {"number": "QN0002", "campaign": published.campaign.pk}
    page = Client().get(reverse("exam_room_lookup"), query, **EN).content.decode()
    assert 'data-testid="lookup-results"' in page and "QN0002" in page
    other = Client().get(reverse("exam_room_lookup"), {**query, "campaign": published.campaign.pk + 1}, **EN)
    assert "No published candidate number matches." in other.content.decode()


# --- Room lists -----------------------------------------------------------------------------------


def sheet_url(setup, kind: str, fmt: str) -> str:
    session_room = exam_day.ordered_session_rooms(setup.sessions[0])[0]
    return reverse("exam_day_room_sheet", args=[session_room.pk, kind, fmt])


def test_hr_downloads_the_sign_in_sheet_as_pdf(published, hr_officer) -> None:
    response = client_for(hr_officer).get(sheet_url(published, "sign-in", "pdf"))
    text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert "QN0001" in text and "Trần Thị An" in text and "17/05/1980" in text and "Phòng 201" in text


def test_the_room_list_xlsx_neutralises_formulas(published, hr_officer) -> None:
    application = published.applications[1]
    application.profile_snapshot = {**application.profile_snapshot, "full_name": '=HYPERLINK("http://x","y")'}
    application.save()
    response = client_for(hr_officer).get(sheet_url(published, "list", "xlsx"))
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    names = [row[2] for row in rows if row and row[1] and str(row[1]).startswith("QN")]
    assert '\'=HYPERLINK("http://x","y")' in names
    assert not any(str(cell).startswith("=") for row in rows for cell in row if cell is not None)


def test_room_lists_are_for_hr_only(published, examiner, supervisor) -> None:
    for user in (examiner, supervisor):
        assert client_for(user).get(sheet_url(published, "sign-in", "xlsx")).status_code == 403


def test_an_unknown_sheet_is_404(published, hr_officer) -> None:
    assert client_for(hr_officer).get(sheet_url(published, "secrets", "pdf")).status_code == 404
