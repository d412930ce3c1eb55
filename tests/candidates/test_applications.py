"""The candidate's side: profile, application window, dossier, submission, withdrawal, timeline."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from audit.models import AuditEvent
from candidates.models import Application, CandidateProfile, Document
from exams.models import DocumentType
from tests.conftest import PROFILE_DEFAULTS, client_for, pdf_bytes

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def profile_post_data(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {**PROFILE_DEFAULTS, "full_name": "Nguyễn Văn An", "citizen_id": "049080000001"}
    data.update(
        {
            "jobs-TOTAL_FORMS": 1,
            "jobs-INITIAL_FORMS": 0,
            "jobs-MIN_NUM_FORMS": 0,
            "jobs-MAX_NUM_FORMS": 30,
            "jobs-0-organisation": "Bệnh viện Đa khoa tỉnh",
            "jobs-0-position": "Trưởng khoa",
            "jobs-0-start": "2018-01-01",
            "jobs-0-is_management": "on",
            "ratings-TOTAL_FORMS": 1,
            "ratings-INITIAL_FORMS": 0,
            "ratings-MIN_NUM_FORMS": 0,
            "ratings-MAX_NUM_FORMS": 10,
            "ratings-0-year": timezone.localdate().year - 1,
            "ratings-0-rating": 2,
        }
    )
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not False}


def upload(client: Client, application: Application, doc_type: str, name: str, data: bytes):
    return client.post(
        reverse("document_upload", args=[application.public_id]),
        {"doc_type": doc_type, "file": SimpleUploadedFile(name, data)},
        follow=True,
        **EN,
    )


def test_profile_is_saved_with_nfc_names_and_work_history(candidate) -> None:
    response = client_for(candidate).post(
        reverse("profile_edit"), profile_post_data(full_name="Nguye\u0302\u0303n  Va\u0306n An")
    )
    assert response.status_code == 302
    profile = CandidateProfile.objects.get(user=candidate)
    assert profile.full_name == "Nguyễn Văn An"
    assert profile.work_history.get().is_management
    assert profile.ratings.count() == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("citizen_id", "04908000001", "exactly 12 digits"),
        ("citizen_id", "049090000001", "year of birth"),
        ("citizen_id", "049180000001", "gender"),
        ("date_of_birth", (timezone.localdate() + timedelta(days=1)).isoformat(), "cannot be in the future"),
    ],
)
def test_invalid_profile_is_refused_with_a_reason_and_nothing_saved(candidate, field, value, message) -> None:
    response = client_for(candidate).post(reverse("profile_edit"), profile_post_data(**{field: value}), **EN)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not CandidateProfile.objects.exists()


def test_a_priority_category_needs_its_proof_named_and_is_kept_at_submission(candidate, open_post) -> None:
    client = client_for(candidate)
    response = client.post(reverse("profile_edit"), profile_post_data(priority_category=2), **EN)
    assert response.status_code == 200 and "Name the document that proves the priority category" in (
        response.content.decode()
    )
    assert not CandidateProfile.objects.exists()
    details = "Giấy xác nhận con thương binh số 12/XN"
    response = client.post(reverse("profile_edit"), profile_post_data(priority_category=2, priority_details=details))
    assert response.status_code == 302
    application = submit_through_pages(candidate, open_post)
    assert application.status == Application.Status.SUBMITTED
    assert application.profile_snapshot["priority"] == 2 and application.profile_snapshot["priority_details"] == details
    assert not application.priority_accepted  # until HR finds the proof
    assert AuditEvent.objects.get(action="application.submit").after["application"] == str(application.public_id)


def test_a_citizen_id_already_used_is_refused(candidate, make_user, make_profile) -> None:
    other = make_user("other@example.vn", Role.CANDIDATE, full_name="Trần Văn Bình")
    make_profile(other, citizen_id="049080000001")
    response = client_for(candidate).post(reverse("profile_edit"), profile_post_data(), **EN)
    assert response.status_code == 200
    assert not CandidateProfile.objects.filter(user=candidate).exists()


def test_applying_needs_a_profile_first(candidate, open_post) -> None:
    response = client_for(candidate).post(reverse("application_start", args=[open_post.pk]))
    assert response.status_code == 302 and reverse("profile_edit") in response["Location"]
    assert not Application.objects.exists()


def test_applying_before_opening_or_after_the_deadline_is_refused(candidate, make_profile, make_post) -> None:
    make_profile(candidate)
    client = client_for(candidate)
    for post in (make_post(opens_in_days=1, closes_in_days=10), make_post(opens_in_days=-10, closes_in_days=-1)):
        response = client.post(reverse("application_start", args=[post.pk]), follow=True, **EN)
        assert "not open" in response.content.decode()
    assert not Application.objects.exists()


def test_a_second_application_to_the_same_post_is_refused(candidate, make_profile, open_post) -> None:
    make_profile(candidate)
    client = client_for(candidate)
    client.post(reverse("application_start", args=[open_post.pk]))
    response = client.post(reverse("application_start", args=[open_post.pk]), follow=True, **EN)
    assert "already applied" in response.content.decode()
    assert Application.objects.count() == 1


def test_a_forged_post_id_is_404(candidate, make_profile, make_post) -> None:
    make_profile(candidate)
    draft = make_post(status="draft")
    assert client_for(candidate).post(reverse("application_start", args=[999999])).status_code == 404
    assert client_for(candidate).post(reverse("application_start", args=[draft.pk])).status_code == 404


def start(candidate, post) -> Application:
    client_for(candidate).post(reverse("application_start", args=[post.pk]))
    return Application.objects.get(candidate=candidate, post=post)


def submit_through_pages(candidate, post) -> Application:
    """Starts an application, uploads every required document and submits it, as the candidate would."""
    application = start(candidate, post)
    client = client_for(candidate)
    for doc_type in post.required_documents:
        upload(client, application, doc_type, f"{doc_type}.pdf", pdf_bytes())
    client.post(reverse("application_submit", args=[application.public_id]))
    application.refresh_from_db()
    return application


def test_full_submission_checks_eligibility_records_the_timeline_and_emails_a_receipt(
    candidate, make_profile, open_post, mailoutbox
) -> None:
    make_profile(candidate)
    application = start(candidate, open_post)
    client = client_for(candidate)
    for doc_type in open_post.required_documents:
        upload(client, application, doc_type, f"{doc_type}.pdf", pdf_bytes())
    assert application.documents.count() == len(open_post.required_documents)
    response = client.post(reverse("application_submit", args=[application.public_id]), follow=True, **EN)
    assert "has been submitted" in response.content.decode()
    application.refresh_from_db()
    assert application.status == Application.Status.SUBMITTED and application.submitted_at
    assert application.profile_snapshot["full_name"] == "Nguyễn Văn An"
    assert {c.code for c in application.criteria.all()} >= {"degree", "age_full_term"}
    assert list(application.events.values_list("status", flat=True)) == ["draft", "submitted"]
    assert any("Hiền Tài" in m.subject and candidate.email in m.to for m in mailoutbox)
    # Locked once submitted: another upload changes nothing.
    upload(client, application, DocumentType.DEGREES, "late.pdf", pdf_bytes())
    assert application.documents.count() == len(open_post.required_documents)


def test_submission_without_the_required_documents_is_refused(candidate, make_profile, open_post) -> None:
    make_profile(candidate)
    application = start(candidate, open_post)
    response = client_for(candidate).post(
        reverse("application_submit", args=[application.public_id]), follow=True, **EN
    )
    assert "Upload every required document" in response.content.decode()
    application.refresh_from_db()
    assert application.status == Application.Status.DRAFT


def test_submission_after_the_deadline_is_refused_by_the_server_clock(candidate, make_profile, open_post) -> None:
    make_profile(candidate)
    application = start(candidate, open_post)
    client = client_for(candidate)
    for doc_type in open_post.required_documents:
        upload(client, application, doc_type, "f.pdf", pdf_bytes())
    open_post.application_closes = timezone.now() - timedelta(seconds=1)
    open_post.save()
    response = client.post(reverse("application_submit", args=[application.public_id]), follow=True, **EN)
    assert "window is closed" in response.content.decode()
    application.refresh_from_db()
    assert application.status == Application.Status.DRAFT


def test_withdrawal_before_the_deadline_and_not_after(candidate, make_profile, open_post) -> None:
    make_profile(candidate)
    application = start(candidate, open_post)
    client = client_for(candidate)
    client.post(reverse("application_withdraw", args=[application.public_id]))
    application.refresh_from_db()
    assert application.status == Application.Status.WITHDRAWN
    assert list(application.events.values_list("status", flat=True)) == ["draft", "withdrawn"]
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["application.withdraw"]


def test_a_candidate_screened_early_may_still_withdraw_before_the_deadline(
    candidate, make_profile, open_post, hr_officer
) -> None:
    from candidates.services import decide_application

    make_profile(candidate)
    application = submit_through_pages(candidate, open_post)
    decide_application(application=application, by=hr_officer, eligible=True, reason="")
    client_for(candidate).post(reverse("application_withdraw", args=[application.public_id]))
    application.refresh_from_db()
    assert application.status == Application.Status.WITHDRAWN


def test_no_document_is_added_to_a_draft_after_the_deadline(candidate, make_profile, open_post) -> None:
    make_profile(candidate)
    application = start(candidate, open_post)
    open_post.application_closes = timezone.now() - timedelta(minutes=1)
    open_post.save()
    response = upload(client_for(candidate), application, DocumentType.DEGREES, "late.pdf", pdf_bytes())
    assert "The application window is closed" in response.content.decode()
    assert not Document.objects.exists()


def test_withdrawal_after_the_deadline_is_refused(candidate, make_profile, open_post) -> None:
    make_profile(candidate)
    application = start(candidate, open_post)
    open_post.application_closes = timezone.now() - timedelta(minutes=1)
    open_post.save()
    response = client_for(candidate).post(
        reverse("application_withdraw", args=[application.public_id]), follow=True, **EN
    )
    assert "deadline has passed" in response.content.decode()
    application.refresh_from_db()
    assert application.status == Application.Status.DRAFT


def test_a_bad_file_is_refused_with_its_reason_and_nothing_stored(candidate, make_profile, open_post) -> None:
    make_profile(candidate)
    application = start(candidate, open_post)
    client = client_for(candidate)
    png_named_pdf = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    response = upload(client, application, DocumentType.DEGREES, "bang.pdf", png_named_pdf)
    assert response.status_code == 200
    assert "errorlist" in response.content.decode() or "message error" in response.content.decode()
    response = upload(client, application, DocumentType.DEGREES, "empty.pdf", b"")
    assert not Document.objects.exists()


def test_the_stored_file_name_is_random_and_the_shown_name_is_sanitised(candidate, make_profile, open_post) -> None:
    make_profile(candidate)
    application = start(candidate, open_post)
    upload(client_for(candidate), application, DocumentType.DEGREES, "Bằng thạc sĩ.pdf", pdf_bytes())
    document = Document.objects.get()
    assert "Bằng" not in document.file.name and document.file.name.endswith(".pdf")
    assert document.original_name == "Bằng thạc sĩ.pdf"


def test_candidate_age_is_counted_at_the_planned_appointment_date(candidate, make_profile, make_post) -> None:
    # Born 01/1966 (man, retires at 62 from 2028): 5 years before retirement ends before an appointment in 2026.
    make_profile(candidate, date_of_birth=date(1966, 1, 15), citizen_id="049066000001")
    post = make_post(planned_appointment_date=date(2026, 12, 1))
    application = start(candidate, post)
    for doc_type in post.required_documents:
        upload(client_for(candidate), application, doc_type, "f.pdf", pdf_bytes())
    client_for(candidate).post(reverse("application_submit", args=[application.public_id]))
    check = application.criteria.get(code="age_full_term")
    assert check.auto_passed is False


def test_an_oversized_upload_is_cut_off_and_refused(candidate, make_profile, open_post, settings) -> None:
    settings.DOSSIER_MAX_FILE_BYTES = 50_000
    make_profile(candidate)
    application = start(candidate, open_post)
    big = pdf_bytes() + b"%" + b"x" * 200_000
    response = upload(client_for(candidate), application, DocumentType.DEGREES, "big.pdf", big)
    assert "more than the" in response.content.decode()
    assert not Document.objects.exists()
    # A body declared far over the limit (more than a megabyte over) is stopped before the file is read.
    huge = pdf_bytes() + b"%" + b"x" * 1_300_000
    response = upload(client_for(candidate), application, DocumentType.DEGREES, "huge.pdf", huge)
    assert response.status_code == 200 and "more than the" in response.content.decode()
    assert not Document.objects.exists()


def test_an_amended_standard_rechecks_undecided_applications(candidate, make_profile, open_post, hr_officer) -> None:
    from exams.services import save_post

    make_profile(candidate)  # a master's degree
    application = submit_through_pages(candidate, open_post)
    assert application.criteria.get(code="degree").auto_passed
    open_post.min_degree = 4  # a doctorate now
    save_post(post=open_post, changed_fields={"min": (3, 4)}, by=hr_officer, reason="Theo quyết định mới")
    application.refresh_from_db()
    assert application.criteria.get(code="degree").auto_passed is False
    assert application.auto_eligible is False


def test_an_amendment_keeps_hrs_reviews_of_criteria_it_does_not_change(
    candidate, make_profile, open_post, hr_officer
) -> None:
    from candidates.services import review_criterion
    from exams.services import save_post

    make_profile(candidate)
    application = submit_through_pages(candidate, open_post)
    age = application.criteria.exclude(code="degree").first()
    review_criterion(check=age, by=hr_officer, passed=not age.auto_passed, reason="Đã xác minh với cơ quan")
    open_post.standards_text = (open_post.standards_text or "") + " (sửa lỗi chính tả)"
    save_post(post=open_post, changed_fields={"standards": ("a", "b")}, by=hr_officer, reason="Sửa lỗi chính tả")
    kept = application.criteria.get(code=age.code)
    assert (kept.hr_passed, kept.hr_reason, kept.reviewed_by) == (
        not age.auto_passed,
        "Đã xác minh với cơ quan",
        hr_officer,
    )
    open_post.min_degree = 4  # the degree's standard changes: its check is new, and so is any review of it
    save_post(post=open_post, changed_fields={"min": (3, 4)}, by=hr_officer, reason="Theo quyết định mới")
    assert application.criteria.get(code=age.code).reviewed_by == hr_officer
    assert application.criteria.get(code="degree").reviewed_at is None
    amendments = AuditEvent.objects.filter(action="post.amend").order_by("seq")
    assert [event.after["reason"] for event in amendments] == ["Sửa lỗi chính tả", "Theo quyết định mới"]


def test_a_post_cannot_change_once_its_eligible_list_is_published(open_post, hr_officer) -> None:
    from config.errors import Refused
    from exams.services import save_post

    open_post.eligible_list_published_at = timezone.now()
    open_post.save()
    open_post.vacancies = 3
    with pytest.raises(Refused):
        save_post(post=open_post, changed_fields={"vacancies": (1, 3)}, by=hr_officer, reason="x")
    open_post.refresh_from_db()
    assert open_post.vacancies == 1
