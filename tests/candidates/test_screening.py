"""HR screens applications criterion by criterion, decides with reasons, and publishes the eligible list."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse

from accounts.models import User
from candidates.models import Application, CriterionCheck, Document
from exams.models import DocumentType
from tests.candidates.builders import decided, submitted
from tests.conftest import client_for, pdf_bytes

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def hr(hr_officer) -> Client:
    return client_for(hr_officer)


@pytest.fixture
def closed_post(make_post):
    return make_post(opens_in_days=-20, closes_in_days=-1)


@pytest.fixture
def weak(closed_post) -> Application:
    """An application whose degree (college) is below the post's minimum (bachelor)."""
    return submitted(closed_post, "Trần Văn Yếu", degree_level=1, email="yeu@example.vn")


@pytest.fixture
def strong(closed_post) -> Application:
    return submitted(closed_post, "Nguyễn Thị Giỏi", email="gioi@example.vn")


def degree_check(application: Application) -> CriterionCheck:
    return application.criteria.get(code="degree")


def review(client: Client, check: CriterionCheck, *, passed: bool, reason: str = "", **extra):
    url = reverse("screening_review_criterion", args=[check.application.public_id, check.pk])
    prefix = f"criterion-{check.pk}"
    return client.post(url, {f"{prefix}-passed": "1" if passed else "0", f"{prefix}-reason": reason}, **EN, **extra)


def decide(client: Client, application: Application, *, eligible: bool, reason: str = ""):
    url = reverse("screening_decide", args=[application.public_id])
    return client.post(url, {"eligible": "1" if eligible else "0", "reason": reason}, **EN)


# --- Queue ------------------------------------------------------------------------


def test_the_queue_filters_by_status_automatic_result_and_name_and_counts_each_status(
    hr, closed_post, weak, strong
) -> None:
    third = submitted(closed_post, "Lê Văn Ba")
    decided(third, eligible=True)
    Application.objects.create(candidate=User.objects.create_user(email="draft@example.vn"), post=closed_post)
    url = reverse("screening_queue", args=[closed_post.pk])

    page = hr.get(url, **EN).content.decode()
    assert "3 applications" in page  # the draft is not in the queue
    assert 'data-status="submitted">2<' in page and 'data-status="eligible">1<' in page
    assert all(name in page for name in ("Trần Văn Yếu", "Nguyễn Thị Giỏi", "Lê Văn Ba"))
    assert "Failed: 1 criterion" in page

    failed = hr.get(url, {"auto": "failed"}).content.decode()
    assert "Trần Văn Yếu" in failed and "Nguyễn Thị Giỏi" not in failed and "Lê Văn Ba" not in failed
    eligible = hr.get(url, {"status": "eligible"}).content.decode()
    assert "Lê Văn Ba" in eligible and "Trần Văn Yếu" not in eligible
    by_name = hr.get(url, {"q": "Giỏi"}).content.decode()
    assert "Nguyễn Thị Giỏi" in by_name and "Trần Văn Yếu" not in by_name
    # The counts describe the whole post, whatever the filter.
    assert 'data-status="submitted">2<' in by_name


def test_the_queue_is_paginated_by_fifty(hr, closed_post) -> None:
    for i in range(51):
        submitted(closed_post, f"Ứng Viên {i:02d}")
    url = reverse("screening_queue", args=[closed_post.pk])
    first = hr.get(url, {"status": "submitted"}, **EN).content.decode()
    assert first.count(">Ứng Viên ") == 50
    assert "page=2" in first and "status=submitted" in first
    second = hr.get(url, {"status": "submitted", "page": 2}).content.decode()
    assert second.count(">Ứng Viên ") == 1


# --- One application --------------------------------------------------------------


def test_the_detail_shows_each_criterion_in_words_beside_the_dossier_and_profile(hr, weak, settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path
    document = Document(
        application=weak, doc_type=DocumentType.DEGREES, original_name="bang-cao-dang.pdf",
        content_type="application/pdf", size=2048, sha256="0" * 64,
    )  # fmt: skip
    document.file.save("x.pdf", ContentFile(pdf_bytes()), save=True)
    page = hr.get(reverse("screening_detail", args=[weak.public_id]), **EN).content.decode()
    assert "bachelor&#x27;s degree" in page and "college degree" in page and "Below the minimum level." in page
    assert "{" not in page.split("Eligibility criteria")[1].split("Dossier")[0]  # every placeholder filled in
    assert reverse("document_download", args=[document.public_id]) in page and "bang-cao-dang.pdf" in page
    assert "Degrees and certificates" in page and "2.0" in page
    assert "17/05/1980" in page and "Bệnh viện Đa khoa tỉnh Quảng Nam" in page
    assert hr.get(reverse("document_download", args=[document.public_id])).status_code == 200


def test_the_age_criterion_shows_dates_day_first(hr, closed_post) -> None:
    application = submitted(closed_post, "Võ Văn Cao Tuổi", date_of_birth="1965-01-10")
    page = hr.get(reverse("screening_detail", args=[application.public_id]), **EN).content.decode()
    assert re.search(r"Retires on \d\d/\d\d/\d{4}, before the term ends on \d\d/\d\d/\d{4}", page)


def test_overriding_a_criterion_without_a_reason_is_refused(hr, weak) -> None:
    check = degree_check(weak)
    response = review(hr, check, passed=True)
    assert response.status_code == 200
    assert "Overriding the automatic result needs a written reason." in response.content.decode()
    check.refresh_from_db()
    assert check.hr_passed is None and check.reviewed_by is None


def test_overriding_a_criterion_with_a_reason_is_recorded(hr, hr_officer, weak) -> None:
    check = degree_check(weak)
    response = review(hr, check, passed=True, reason="Bằng đại học văn bằng 2 năm 2015, đã đối chiếu bản gốc.")
    assert response.status_code == 302
    check.refresh_from_db()
    assert check.hr_passed is True and check.passed
    assert check.hr_reason == "Bằng đại học văn bằng 2 năm 2015, đã đối chiếu bản gốc."
    assert check.reviewed_by == hr_officer and check.reviewed_at is not None


def test_with_htmx_the_criterion_form_answers_with_its_row(hr, weak) -> None:
    check = degree_check(weak)
    response = review(hr, check, passed=True, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith(f'<tr id="criterion-{check.pk}"')
    assert "Overriding the automatic result needs a written reason." in html
    response = review(hr, check, passed=False, reason="", HTTP_HX_REQUEST="true")
    assert "Saved." in response.content.decode()
    check.refresh_from_db()
    assert check.hr_passed is False


def test_an_application_with_a_failed_criterion_cannot_be_declared_eligible(hr, weak, mailoutbox) -> None:
    response = decide(hr, weak, eligible=True)
    assert response.status_code == 200
    assert "cannot be declared eligible" in response.content.decode()
    weak.refresh_from_db()
    assert weak.status == Application.Status.SUBMITTED and weak.decided_at is None
    assert mailoutbox == []


def test_not_eligible_needs_reasons(hr, weak, mailoutbox) -> None:
    response = decide(hr, weak, eligible=False, reason="  ")
    assert "Give the reasons why the application is not eligible." in response.content.decode()
    weak.refresh_from_db()
    assert weak.status == Application.Status.SUBMITTED
    assert mailoutbox == []


def test_a_decision_is_recorded_and_emailed_to_the_candidate(hr, hr_officer, weak, mailoutbox) -> None:
    response = decide(hr, weak, eligible=False, reason="Trình độ cao đẳng, chưa đạt chuẩn đại học.")
    assert response.status_code == 302 and response["Location"] == reverse("screening_queue", args=[weak.post_id])
    weak.refresh_from_db()
    assert weak.status == Application.Status.NOT_ELIGIBLE
    assert weak.decided_by == hr_officer
    assert weak.decision_reason == "Trình độ cao đẳng, chưa đạt chuẩn đại học."
    assert [m.to for m in mailoutbox] == [["yeu@example.vn"]]
    assert "Trình độ cao đẳng, chưa đạt chuẩn đại học." in mailoutbox[0].body


def test_after_an_override_with_reason_the_application_can_be_declared_eligible(hr, weak, mailoutbox) -> None:
    review(hr, degree_check(weak), passed=True, reason="Đã có bằng đại học, bổ sung bản sao.")
    assert decide(hr, weak, eligible=True).status_code == 302
    weak.refresh_from_db()
    assert weak.status == Application.Status.ELIGIBLE
    assert all(check.hr_passed is not None for check in weak.criteria.all())
    assert len(mailoutbox) == 1


# --- Publication ------------------------------------------------------------------


def test_publishing_is_refused_before_the_deadline(hr, open_post, mailoutbox) -> None:
    decided(submitted(open_post, "Nguyễn Văn Sớm"), eligible=True)
    response = hr.post(reverse("screening_publish", args=[open_post.pk]), follow=True, **EN)
    assert "only after the application deadline" in response.content.decode()
    open_post.refresh_from_db()
    assert open_post.eligible_list_published_at is None
    assert mailoutbox == []


def test_publishing_is_refused_while_decisions_are_pending(hr, closed_post, strong, weak) -> None:
    decided(strong, eligible=True)
    response = hr.post(reverse("screening_publish", args=[closed_post.pk]), follow=True, **EN)
    assert "1 submitted applications have no screening decision yet." in response.content.decode()
    closed_post.refresh_from_db()
    assert closed_post.eligible_list_published_at is None


def test_after_publishing_the_public_list_shows_eligible_names_only(hr, closed_post, strong, weak, mailoutbox) -> None:
    third = submitted(closed_post, "Lê Văn Ba")
    decide(hr, strong, eligible=True)
    decide(hr, third, eligible=True)
    decide(hr, weak, eligible=False, reason="Trình độ cao đẳng.")
    mailoutbox.clear()

    response = hr.post(reverse("screening_publish", args=[closed_post.pk]), follow=True, **EN)
    assert "The eligible list is published: 2 candidates." in response.content.decode()
    closed_post.refresh_from_db()
    assert closed_post.eligible_list_published_at is not None and not closed_post.needs_reannouncement
    assert len(mailoutbox) == 3

    page = Client().get(reverse("eligible_list", args=[closed_post.pk]), **EN).content.decode()
    assert "Nguyễn Thị Giỏi" in page and "Lê Văn Ba" in page
    assert "Trần Văn Yếu" not in page
    # Decisions are final once the list is public.
    response = decide(hr, weak, eligible=False, reason="Sửa lý do.")
    assert "not open for screening" in hr.get(response["Location"], **EN).content.decode()
    weak.refresh_from_db()
    assert weak.decision_reason == "Trình độ cao đẳng."


def test_a_post_with_fewer_eligible_than_the_minimum_is_flagged(hr, closed_post, strong, weak) -> None:
    decide(hr, strong, eligible=True)
    decide(hr, weak, eligible=False, reason="Trình độ cao đẳng.")
    response = hr.post(reverse("screening_publish", args=[closed_post.pk]), follow=True, **EN)
    closed_post.refresh_from_db()
    assert closed_post.needs_reannouncement
    html = response.content.decode()
    assert "the post must be re-announced" in html
    assert 'data-testid="reannouncement-warning"' in html
    assert "Only 1 candidate is eligible, fewer than the campaign's minimum of 2 per post." in html


# --- Access -----------------------------------------------------------------------


def hr_urls(application: Application) -> list[tuple[str, str]]:
    post_id, public_id = application.post_id, application.public_id
    check = application.criteria.first()
    return [
        ("get", reverse("screening_queue", args=[post_id])),
        ("post", reverse("screening_publish", args=[post_id])),
        ("get", reverse("screening_export", args=[post_id])),
        ("get", reverse("screening_detail", args=[public_id])),
        ("post", reverse("screening_review_criterion", args=[public_id, check.pk])),
        ("post", reverse("screening_decide", args=[public_id])),
    ]


@pytest.mark.parametrize("who", ["anonymous", "candidate", "examiner"])
def test_candidates_examiners_and_anonymous_users_reach_no_screening_page(who, request, weak) -> None:
    client = Client() if who == "anonymous" else client_for(request.getfixturevalue(who))
    for method, url in hr_urls(weak):
        response = getattr(client, method)(url, {"eligible": "1", "reason": "x"})
        if who == "anonymous":
            assert response.status_code == 302 and response["Location"].startswith(reverse("account_login")), url
        else:
            assert response.status_code == 403, (who, url)
    weak.refresh_from_db()
    assert weak.status == Application.Status.SUBMITTED
    assert weak.post.eligible_list_published_at is None


@pytest.mark.parametrize("who", ["chair", "supervisor"])
def test_chair_and_supervisor_read_the_queue_and_detail_but_change_nothing(who, request, weak) -> None:
    client = client_for(request.getfixturevalue(who))
    queue = client.get(reverse("screening_queue", args=[weak.post_id]), **EN)
    assert queue.status_code == 200 and "Trần Văn Yếu" in queue.content.decode()
    assert reverse("screening_publish", args=[weak.post_id]) not in queue.content.decode()
    detail = client.get(reverse("screening_detail", args=[weak.public_id]), **EN)
    assert detail.status_code == 200
    assert "screening_decide" not in detail.content.decode()
    assert reverse("screening_decide", args=[weak.public_id]) not in detail.content.decode()
    for method, url in hr_urls(weak):
        if method == "post" or url.endswith(".xlsx"):
            assert getattr(client, method)(url, {"eligible": "0", "reason": "x"}).status_code == 403, url
    weak.refresh_from_db()
    assert weak.status == Application.Status.SUBMITTED


def test_drafts_are_not_screened(hr, closed_post, candidate) -> None:
    draft = Application.objects.create(candidate=candidate, post=closed_post)
    assert hr.get(reverse("screening_detail", args=[draft.public_id])).status_code == 404


def test_examiners_cannot_download_a_dossier_document(examiner, weak, settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path
    document = Document(
        application=weak, doc_type=DocumentType.PERSONAL_RECORD, original_name="so-yeu-ly-lich.pdf",
        content_type="application/pdf", size=1000, sha256="0" * 64,
    )  # fmt: skip
    document.file.save("x.pdf", ContentFile(pdf_bytes()), save=True)
    assert client_for(examiner).get(reverse("document_download", args=[document.public_id])).status_code == 404
    assert Client().get(reverse("document_download", args=[document.public_id])).status_code in (302, 404)


def test_the_queue_shows_the_submission_time_in_vietnam_time(hr, weak, settings) -> None:
    settings.TIME_ZONE = "UTC"
    Application.objects.filter(pk=weak.pk).update(submitted_at=datetime(2026, 3, 1, 18, 5, tzinfo=UTC))
    page = hr.get(reverse("screening_queue", args=[weak.post_id])).content.decode()
    assert "02/03/2026 01:05" in page


def test_a_declared_priority_category_counts_only_once_hr_accepts_its_proof(hr, closed_post) -> None:
    claimed = submitted(
        closed_post, "Hoàng Văn Ưu", email="uu@example.vn", priority=2, priority_details="Giấy xác nhận số 12/XN"
    )
    detail = reverse("screening_detail", args=[claimed.public_id])
    page = hr.get(detail, **EN).content.decode()
    assert "Ethnic minority, former officer, or child of a martyr or war invalid" in page and "12/XN" in page
    assert "The dossier proves the declared priority category" in page
    decide(hr, claimed, eligible=True)  # the box left unticked
    claimed.refresh_from_db()
    assert claimed.status == Application.Status.ELIGIBLE and not claimed.priority_accepted
    url = reverse("screening_decide", args=[claimed.public_id])
    hr.post(url, {"eligible": "1", "reason": "", "priority_accepted": "on"}, **EN)
    claimed.refresh_from_db()
    assert claimed.priority_accepted
    hr.post(url, {"eligible": "0", "reason": "Thiếu bằng cấp", "priority_accepted": "on"}, **EN)
    claimed.refresh_from_db()
    assert claimed.status == Application.Status.NOT_ELIGIBLE and not claimed.priority_accepted

    plain = submitted(closed_post, "Lê Văn Thường", email="thuong@example.vn")
    page = hr.get(reverse("screening_detail", args=[plain.public_id]), **EN).content.decode()
    assert "The dossier proves the declared priority category" not in page
    hr.post(reverse("screening_decide", args=[plain.public_id]), {"eligible": "1", "priority_accepted": "on"}, **EN)
    plain.refresh_from_db()
    assert plain.status == Application.Status.ELIGIBLE and not plain.priority_accepted  # nothing was declared


def test_failing_a_criterion_of_an_eligible_application_sends_it_back_to_the_queue(hr, closed_post, strong) -> None:
    decide(hr, strong, eligible=True)
    strong.refresh_from_db()
    assert strong.status == Application.Status.ELIGIBLE
    review(hr, degree_check(strong), passed=False, reason="Bằng không hợp lệ")
    strong.refresh_from_db()
    assert strong.status == Application.Status.SUBMITTED  # to be decided again, with the reasons e-mailed
    response = hr.post(reverse("screening_publish", args=[closed_post.pk]), follow=True, **EN)
    assert "1 submitted applications have no screening decision yet." in response.content.decode()
    closed_post.refresh_from_db()
    assert closed_post.eligible_list_published_at is None


def test_each_screening_step_is_in_the_audit_chain(hr, closed_post, strong, weak) -> None:
    from audit.models import AuditEvent
    from audit.services import verify_chain

    review(hr, degree_check(weak), passed=True, reason="Bằng tương đương")
    decide(hr, weak, eligible=True)
    decide(hr, strong, eligible=False, reason="Thiếu kinh nghiệm")
    hr.post(reverse("screening_publish", args=[closed_post.pk]), **EN)
    events = list(AuditEvent.objects.order_by("seq").values_list("action", "after"))
    assert [action for action, _after in events] == [
        "application.criterion",
        "application.decide",
        "application.decide",
        "eligible_list.publish",
    ]
    assert events[0][1]["reason"] == "Bằng tương đương" and events[2][1]["status"] == "not_eligible"
    assert events[3][1]["eligible"] == [str(weak.public_id)]
    assert verify_chain().ok
