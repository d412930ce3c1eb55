"""Candidate B cannot reach anything of candidate A's; examiners and the public cannot reach dossiers."""

from __future__ import annotations

import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from candidates.models import Application, Document
from exams.models import DocumentType
from tests.conftest import client_for, pdf_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def dossier(candidate, make_profile, open_post) -> Document:
    make_profile(candidate)
    client = client_for(candidate)
    client.post(reverse("application_start", args=[open_post.pk]))
    application = Application.objects.get(candidate=candidate)
    client.post(
        reverse("document_upload", args=[application.public_id]),
        {"doc_type": DocumentType.PERSONAL_RECORD, "file": SimpleUploadedFile("so-yeu-ly-lich.pdf", pdf_bytes())},
    )
    return Document.objects.get()


@pytest.fixture
def candidate_b(make_user, make_profile):
    user = make_user("b@example.vn", Role.CANDIDATE, full_name="Trần Thị Bình")
    make_profile(user, citizen_id="049180000002", gender="female")
    return user


def test_owner_downloads_their_document_as_an_attachment(candidate, dossier) -> None:
    response = client_for(candidate).get(reverse("document_download", args=[dossier.public_id]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]


def test_another_candidate_gets_404_for_everything_of_theirs(candidate_b, dossier) -> None:
    client = client_for(candidate_b)
    application_id = dossier.application.public_id
    assert client.get(reverse("document_download", args=[dossier.public_id])).status_code == 404
    assert client.get(reverse("application_detail", args=[application_id])).status_code == 404
    for name in ("application_submit", "application_withdraw", "document_upload"):
        assert client.post(reverse(name, args=[application_id])).status_code == 404
    assert client.post(reverse("document_delete", args=[dossier.public_id])).status_code == 404
    assert Document.objects.filter(pk=dossier.pk).exists()
    dossier.application.refresh_from_db()
    assert dossier.application.status == Application.Status.DRAFT


def test_a_guessed_id_is_404(candidate, dossier) -> None:
    client = client_for(candidate)
    assert client.get(reverse("document_download", args=[uuid.uuid4()])).status_code == 404
    assert client.get(reverse("application_detail", args=[uuid.uuid4()])).status_code == 404
    assert client.get(f"/documents/{dossier.pk}/").status_code == 404  # sequential ids are not routes


def test_logged_out_visitors_get_404_for_a_document(dossier) -> None:
    assert Client().get(reverse("document_download", args=[dossier.public_id])).status_code == 404


def test_uploads_are_not_reachable_under_a_public_media_url(dossier) -> None:
    assert Client().get("/media/" + dossier.file.name).status_code == 404
    assert Client().get("/" + dossier.file.name).status_code == 404


def test_examiners_cannot_reach_dossiers(examiner, dossier) -> None:
    assert client_for(examiner).get(reverse("document_download", args=[dossier.public_id])).status_code == 404


@pytest.mark.parametrize("role_fixture", ["hr_officer", "chair", "supervisor"])
def test_hr_chair_and_supervisor_read_submitted_dossiers_not_drafts(role_fixture, request, dossier) -> None:
    user = request.getfixturevalue(role_fixture)
    url = reverse("document_download", args=[dossier.public_id])
    assert client_for(user).get(url).status_code == 404  # a draft is the candidate's alone
    Application.objects.filter(pk=dossier.application_id).update(
        status=Application.Status.SUBMITTED,
        submitted_at=timezone.now(),
        profile_snapshot={"full_name": "Nguyễn Văn An"},
    )
    assert client_for(user).get(url).status_code == 200
