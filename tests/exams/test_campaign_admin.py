"""HR sets up a campaign and its posts, announces it, and amends an announced post only with a reason."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from exams.models import Campaign, DocumentType, Organisation, Post, PostAmendment
from exams.services import approve_rules, create_rules_draft
from tests.conftest import client_for

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
VN = ZoneInfo("Asia/Ho_Chi_Minh")


def local_input(moment: datetime) -> str:
    return moment.astimezone(VN).strftime("%Y-%m-%dT%H:%M")


def campaign_data(authority: Organisation, **overrides: object) -> dict[str, object]:
    return {
        "title": "Thi tuyển lãnh đạo tỉnh Quảng Nam 2026",
        "authority": authority.pk,
        "description": "Thi tuyển cạnh tranh các chức danh cấp sở.",
        "written_exam_date": "2026-06-10",
        "oral_exam_date": "2026-06-20",
        "results_date": "2026-06-30",
        **overrides,
    }


def post_data(organisation: Organisation, **overrides: object) -> dict[str, object]:
    now = timezone.now()
    data: dict[str, object] = {
        "organisation": organisation.pk,
        "title": "Phó Giám đốc Sở Y tế",
        "vacancies": 1,
        "application_opens": local_input(now - timedelta(days=1)),
        "application_closes": local_input(now + timedelta(days=15)),
        "planned_appointment_date": (timezone.localdate() + timedelta(days=60)).isoformat(),
        "standards_text": "Tốt nghiệp đại học trở lên.",
        "required_documents": [DocumentType.PERSONAL_RECORD, DocumentType.DEGREES],
        "min_degree": 2,
        "min_political_theory": 3,
        "min_state_management": "",
        "min_language": "",
        "min_years_service": 5,
        "min_years_in_current_post": "",
        "min_years_management": "",
        "min_rating_years": 3,
        "full_term_years": 5,
        "requires_plan_or_nomination": "on",
        "requires_no_discipline": "on",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def form_data_of(post: Post, **overrides: object) -> dict[str, object]:
    """What the edit form posts back when nothing is touched."""
    data = post_data(
        post.organisation,
        title=post.title,
        vacancies=post.vacancies,
        application_opens=local_input(post.application_opens),
        application_closes=local_input(post.application_closes),
        planned_appointment_date=post.planned_appointment_date.isoformat() if post.planned_appointment_date else "",
        standards_text=post.standards_text,
        required_documents=post.required_documents,
        min_degree=post.min_degree or "",
        min_political_theory="" if post.min_political_theory is None else post.min_political_theory,
        min_years_service=post.min_years_service or "",
        min_rating_years=post.min_rating_years or "",
        full_term_years=post.full_term_years or "",
        requires_plan_or_nomination="on" if post.requires_plan_or_nomination else None,
        requires_no_discipline="on" if post.requires_no_discipline else None,
    )
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


@pytest.fixture
def hr(hr_officer) -> Client:
    return client_for(hr_officer)


def approve_default_rules(campaign: Campaign, *, hr_officer, chair) -> None:
    approve_rules(rules=create_rules_draft(campaign=campaign, by=hr_officer), by=chair)


def test_campaign_is_created_then_given_a_post_then_announced_and_shown_to_the_public(
    hr, hr_officer, chair, organisation
) -> None:
    response = hr.post(reverse("hr_campaign_create"), campaign_data(organisation.parent))
    campaign = Campaign.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("hr_campaign_detail", args=[campaign.pk])
    assert campaign.status == Campaign.Status.DRAFT
    assert campaign.created_by.email == "hr@example.vn"

    response = hr.post(reverse("hr_post_create", args=[campaign.pk]), post_data(organisation))
    assert response.status_code == 302
    post = Post.objects.get()
    assert post.required_documents == [DocumentType.PERSONAL_RECORD, DocumentType.DEGREES]
    assert (post.min_degree, post.min_political_theory, post.min_state_management) == (2, 3, None)
    assert Client().get(reverse("post_detail", args=[post.pk])).status_code == 404

    response = hr.post(reverse("hr_campaign_announce", args=[campaign.pk]), {"confirm": "on"}, follow=True, **EN)
    assert "Exam rules not approved yet" in response.content.decode()
    assert "must be approved by the council chair" in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT

    approve_default_rules(campaign, hr_officer=hr_officer, chair=chair)
    response = hr.post(reverse("hr_campaign_announce", args=[campaign.pk]), {"confirm": "on"})
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.ANNOUNCED and campaign.announced_at is not None

    public = Client()
    assert campaign.title in public.get(reverse("campaign_list")).content.decode()
    assert post.title in public.get(reverse("campaign_detail", args=[campaign.pk])).content.decode()
    page = public.get(reverse("post_detail", args=[post.pk]), **EN).content.decode()
    assert "Phó Giám đốc Sở Y tế" in page and "Applications are open now." in page
    detail = hr.get(reverse("hr_campaign_detail", args=[campaign.pk])).content.decode()
    assert reverse("screening_queue", args=[post.pk]) in detail


def test_authority_choices_show_the_hierarchy(hr, organisation) -> None:
    page = hr.get(reverse("hr_campaign_create")).content.decode()
    assert "UBND tỉnh Quảng Nam › Sở Y tế" in page


def test_campaign_title_is_stored_in_nfc(hr, organisation) -> None:
    hr.post(reverse("hr_campaign_create"), campaign_data(organisation.parent, title="Thi tuye\u0302\u0309n  2026"))
    assert Campaign.objects.get().title == "Thi tuyển 2026"


def test_campaign_dates_out_of_order_are_refused(hr, organisation) -> None:
    response = hr.post(
        reverse("hr_campaign_create"), campaign_data(organisation.parent, oral_exam_date="2026-06-01"), **EN
    )
    assert response.status_code == 200
    assert "The oral part cannot come before the written part." in response.content.decode()
    assert not Campaign.objects.exists()


def test_announcing_needs_the_confirmation_and_a_post(hr, hr_officer, chair, make_post) -> None:
    post = make_post(status=Campaign.Status.DRAFT)
    campaign = post.campaign
    approve_default_rules(campaign, hr_officer=hr_officer, chair=chair)
    response = hr.post(reverse("hr_campaign_announce", args=[campaign.pk]), {}, follow=True, **EN)
    assert "Tick the confirmation" in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT

    post.delete()
    response = hr.post(reverse("hr_campaign_announce", args=[campaign.pk]), {"confirm": "on"}, follow=True, **EN)
    assert "Add at least one post before announcing the campaign." in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT


def test_an_announced_campaign_can_no_longer_be_edited_nor_given_posts(hr, open_post, organisation) -> None:
    campaign = open_post.campaign
    response = hr.post(
        reverse("hr_campaign_detail", args=[campaign.pk]), campaign_data(organisation.parent), follow=True, **EN
    )
    assert "An announced campaign can no longer be edited." in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.title == "Thi tuyển lãnh đạo 2026"

    response = hr.post(
        reverse("hr_post_create", args=[campaign.pk]), post_data(organisation, title="Trưởng phòng Nghiệp vụ"), **EN
    )
    assert "Posts can be added only while the campaign is a draft." in response.content.decode()
    assert campaign.posts.count() == 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"vacancies": 0}, "greater than or equal to 1"),
        (
            {"application_closes": "2026-01-01T08:00", "application_opens": "2026-01-02T08:00"},
            "must close after it opens",
        ),
        (
            {"application_closes": "2026-03-01T08:00", "planned_appointment_date": "2026-02-01"},
            "The appointment cannot be planned before applications close.",
        ),
        ({"required_documents": []}, "This field is required."),
        ({"min_years_service": 70}, "At most 40 years."),
    ],
)
def test_an_inconsistent_post_is_refused_with_a_reason(hr, make_post, organisation, overrides, message) -> None:
    campaign = make_post(status=Campaign.Status.DRAFT).campaign
    overrides = {"application_opens": "2026-01-01T08:00", **overrides}
    data = post_data(organisation, title="Trưởng phòng Kế hoạch", **overrides)
    response = hr.post(reverse("hr_post_create", args=[campaign.pk]), data, **EN)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert campaign.posts.count() == 1


def test_a_second_post_with_the_same_title_and_organisation_is_refused(hr, make_post, organisation) -> None:
    post = make_post(status=Campaign.Status.DRAFT)
    response = hr.post(reverse("hr_post_create", args=[post.campaign_id]), post_data(organisation), **EN)
    assert "already has a post with this title" in response.content.decode()
    assert Post.objects.count() == 1


def test_the_window_is_read_in_vietnam_time_whatever_the_server_zone(hr, make_post, organisation, settings) -> None:
    settings.TIME_ZONE = "UTC"
    campaign = make_post(status=Campaign.Status.DRAFT).campaign
    data = post_data(
        organisation,
        title="Trưởng phòng Kế hoạch",
        application_opens="2026-03-02T08:00",
        application_closes="2026-03-16T17:00",
        planned_appointment_date="2026-05-01",
    )
    assert hr.post(reverse("hr_post_create", args=[campaign.pk]), data).status_code == 302
    post = campaign.posts.get(title="Trưởng phòng Kế hoạch")
    assert post.application_opens == datetime(2026, 3, 2, 1, 0, tzinfo=ZoneInfo("UTC"))
    assert post.application_closes == datetime(2026, 3, 16, 10, 0, tzinfo=ZoneInfo("UTC"))
    form = hr.get(reverse("hr_post_edit", args=[post.pk])).content.decode()
    assert 'value="2026-03-02T08:00"' in form and 'value="2026-03-16T17:00"' in form


def test_editing_a_draft_post_records_no_amendment(hr, make_post) -> None:
    post = make_post(status=Campaign.Status.DRAFT)
    response = hr.post(reverse("hr_post_edit", args=[post.pk]), form_data_of(post, vacancies=2))
    assert response.status_code == 302
    post.refresh_from_db()
    assert post.vacancies == 2
    assert not PostAmendment.objects.exists()


def test_editing_an_announced_post_without_a_reason_is_refused_and_changes_nothing(hr, open_post) -> None:
    response = hr.post(reverse("hr_post_edit", args=[open_post.pk]), form_data_of(open_post, vacancies=3), **EN)
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    open_post.refresh_from_db()
    assert open_post.vacancies == 1
    assert not PostAmendment.objects.exists()

    response = hr.post(
        reverse("hr_post_edit", args=[open_post.pk]), form_data_of(open_post, vacancies=3, change_reason="   "), **EN
    )
    assert response.status_code == 200
    open_post.refresh_from_db()
    assert open_post.vacancies == 1
    assert not PostAmendment.objects.exists()


def test_editing_an_announced_post_with_a_reason_records_an_amendment_shown_publicly(hr, open_post) -> None:
    closes = open_post.application_closes + timedelta(days=7)
    data = form_data_of(
        open_post,
        vacancies=2,
        application_closes=local_input(closes),
        change_reason="UBND tỉnh bổ sung một chỉ tiêu và gia hạn nộp hồ sơ.",
    )
    response = hr.post(reverse("hr_post_edit", args=[open_post.pk]), data)
    assert response.status_code == 302
    open_post.refresh_from_db()
    assert open_post.vacancies == 2
    amendment = PostAmendment.objects.get()
    assert amendment.reason == "UBND tỉnh bổ sung một chỉ tiêu và gia hạn nộp hồ sơ."
    assert amendment.changed_by.email == "hr@example.vn"
    # Only what changed is recorded: the untouched opening time (with its seconds) is not.
    assert len(amendment.changes) == 2
    assert ["1", "2"] in amendment.changes.values()

    page = Client().get(reverse("post_detail", args=[open_post.pk]), **EN).content.decode()
    assert "UBND tỉnh bổ sung một chỉ tiêu và gia hạn nộp hồ sơ." in page
    assert amendment.changed_at.astimezone(VN).strftime("%d/%m/%Y") in page
    assert closes.astimezone(VN).strftime("%d/%m/%Y %H:%M") in page


def test_an_unchanged_announced_post_needs_no_amendment(hr, open_post) -> None:
    data = form_data_of(open_post, change_reason="Không đổi gì.")
    assert hr.post(reverse("hr_post_edit", args=[open_post.pk]), data).status_code == 302
    assert not PostAmendment.objects.exists()


HR_URLS = [
    ("get", "hr_campaign_list", False),
    ("get", "hr_campaign_create", False),
    ("post", "hr_campaign_create", False),
    ("get", "hr_campaign_detail", "campaign"),
    ("post", "hr_campaign_detail", "campaign"),
    ("post", "hr_campaign_announce", "campaign"),
    ("get", "hr_post_create", "campaign"),
    ("post", "hr_post_create", "campaign"),
    ("get", "hr_post_edit", "post"),
    ("post", "hr_post_edit", "post"),
]


@pytest.mark.parametrize("who", ["anonymous", "candidate", "examiner", "chair", "supervisor"])
def test_only_hr_reaches_campaign_administration(who, request, make_post) -> None:
    post = make_post(status=Campaign.Status.DRAFT)
    client = Client() if who == "anonymous" else client_for(request.getfixturevalue(who))
    for method, name, arg in HR_URLS:
        args = [] if not arg else [post.campaign_id if arg == "campaign" else post.pk]
        response = getattr(client, method)(reverse(name, args=args), {"title": "x", "confirm": "on"})
        if who == "anonymous":
            assert response.status_code == 302 and response["Location"].startswith(reverse("account_login")), name
        else:
            assert response.status_code == 403, (who, method, name)
    post.refresh_from_db()
    assert post.campaign.status == Campaign.Status.DRAFT and post.title == "Phó Giám đốc Sở Y tế"


def test_hr_role_is_what_counts(make_user) -> None:
    user = make_user("two@example.vn", Role.EXAMINER, Role.HR, mfa_secret="JBSWY3DPEHPK3PXP")
    assert client_for(user).get(reverse("hr_campaign_list")).status_code == 200
