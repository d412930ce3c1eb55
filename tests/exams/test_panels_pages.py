"""Council and panels (HR), and what supervisors read of them: members, assignments, declarations."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.roles import Role
from audit.models import AuditEvent
from candidates.models import Application
from exams import services as exam_services
from exams.models import Campaign, CouncilMember, Panel, PanelCandidate, PanelMember, Post, Relation
from scoring.models import Script
from tests.candidates.builders import decided, submitted
from tests.conftest import client_for

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
MFA = "JBSWY3DPEHPK3PXP"


@pytest.fixture
def post(make_post, hr_officer, chair) -> Post:
    """A post of a campaign with approved rules (written, oral) and three eligible candidates."""
    post = make_post(opens_in_days=-40, closes_in_days=-20, status=Campaign.Status.DRAFT)
    rules = exam_services.create_rules_draft(campaign=post.campaign, by=hr_officer)
    exam_services.approve_rules(rules=rules, by=chair)
    for name in ("Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường"):
        decided(submitted(post, name), eligible=True, by=hr_officer)
    submitted(post, "Phạm Chưa Duyệt")  # not screened yet: never assigned
    return post


@pytest.fixture
def campaign(post) -> Campaign:
    return post.campaign


@pytest.fixture
def hr(hr_officer) -> Client:
    return client_for(hr_officer)


@pytest.fixture
def panel(campaign, post, hr_officer) -> Panel:
    return exam_services.create_panel(
        campaign=campaign, part_code="written", name="Ban chấm thi viết", posts=[post], by=hr_officer
    )


def page_of(client: Client, url: str) -> str:
    response = client.get(url, **EN)
    assert response.status_code == 200
    return response.content.decode()


# --- Council ----------------------------------------------------------------------------------------


def test_hr_seats_examiners_and_the_chair_on_the_council(campaign, hr, examiner, chair) -> None:
    url = reverse("hr_council", args=[campaign.pk])
    hr.post(url, {"user": examiner.pk, "role": "member"}, **EN)
    page = hr.post(url, {"user": chair.pk, "role": "chair"}, follow=True, **EN).content.decode()
    assert "The council is updated." in page
    assert {(m.user, m.role) for m in CouncilMember.objects.filter(campaign=campaign)} == {
        (examiner, "member"),
        (chair, "chair"),
    }
    assert "Phạm Giám Khảo" in page and "Lê Văn Chủ" in page
    assert AuditEvent.objects.filter(action="council.member").count() == 2


def test_only_examiners_and_chairs_can_sit_on_the_council(campaign, hr, hr_officer, candidate) -> None:
    for person in (hr_officer, candidate):
        response = hr.post(reverse("hr_council", args=[campaign.pk]), {"user": person.pk, "role": "member"}, **EN)
        assert "Select a valid choice" in response.content.decode()
    assert not CouncilMember.objects.exists()


def test_the_council_has_one_chair(campaign, hr, hr_officer, chair, make_user) -> None:
    other = make_user("chair2@example.vn", Role.CHAIR, full_name="Hồ Chủ Tịch Hai", mfa_secret=MFA)
    exam_services.set_council_member(campaign=campaign, user=chair, role="chair", by=hr_officer)
    response = hr.post(reverse("hr_council", args=[campaign.pk]), {"user": other.pk, "role": "chair"}, **EN)
    assert "The council already has a chair (Lê Văn Chủ)" in response.content.decode()
    assert not CouncilMember.objects.filter(user=other).exists()


def test_hr_removes_a_council_member(campaign, hr, hr_officer, examiner) -> None:
    exam_services.set_council_member(campaign=campaign, user=examiner, role="member", by=hr_officer)
    page = hr.post(
        reverse("hr_council_remove", args=[campaign.pk]), {"user": examiner.pk}, follow=True, **EN
    ).content.decode()
    assert "is no longer on the council" in page
    assert not CouncilMember.objects.exists()
    assert AuditEvent.objects.filter(action="council.member_remove").exists()


# --- Panels -----------------------------------------------------------------------------------------


def test_panels_wait_for_approved_rules(make_post, hr) -> None:
    campaign = make_post(status=Campaign.Status.DRAFT).campaign
    page = page_of(hr, reverse("hr_council", args=[campaign.pk]))
    assert "the rules must be approved first" in page
    response = hr.post(
        reverse("hr_panel_create", args=[campaign.pk]), {"name": "Ban chấm", "part_code": "written"}, follow=True, **EN
    )
    assert (
        "Panels are set up for the parts of the approved exam rules: approve them first." in response.content.decode()
    )
    assert not Panel.objects.exists()


def test_hr_creates_a_panel_for_a_part_of_the_rules(campaign, post, hr) -> None:
    url = reverse("hr_panel_create", args=[campaign.pk])
    response = hr.post(url, {"name": "Ban chấm thi viết", "part_code": "written", "posts": [post.pk]}, **EN)
    panel = Panel.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("hr_panel_detail", args=[panel.pk])
    assert (panel.part_code, list(panel.posts.all())) == ("written", [post])
    page = hr.post(url, {"name": "Ban chấm thi viết", "part_code": "written"}, **EN).content.decode()
    assert "This part already has a panel with this name." in page
    assert Panel.objects.count() == 1
    assert "Select a valid choice" in hr.post(url, {"name": "X", "part_code": "essay"}, **EN).content.decode()


def test_panel_members_must_be_examiners(panel, hr, examiner, hr_officer, chair) -> None:
    url = reverse("hr_panel_add_member", args=[panel.pk])
    page = hr.post(url, {"user": examiner.pk}, follow=True, **EN).content.decode()
    assert "Phạm Giám Khảo joins the panel." in page
    for person in (hr_officer, chair):  # staff, but not examiners
        response = hr.post(url, {"user": person.pk}, **EN)
        assert "Select a valid choice" in response.content.decode()
    assert [m.user for m in PanelMember.objects.all()] == [examiner]


def test_hr_removes_an_examiner_before_marking_starts(panel, hr, hr_officer, examiner) -> None:
    exam_services.add_panel_member(panel=panel, user=examiner, by=hr_officer)
    url = reverse("hr_panel_remove_member", args=[panel.pk])
    assert "left the panel" in hr.post(url, {"user": examiner.pk}, follow=True, **EN).content.decode()
    assert not PanelMember.objects.exists()


def test_hr_assigns_every_eligible_candidate_of_the_posts(panel, post, hr) -> None:
    page = hr.post(
        reverse("hr_panel_assign", args=[panel.pk]), {"posts": [post.pk]}, follow=True, **EN
    ).content.decode()
    assert "3 candidates assigned (3 eligible in these posts)." in page
    assert "3 candidates in the panel" in page
    assert "Phạm Chưa Duyệt" not in page
    assert set(PanelCandidate.objects.values_list("application__status", flat=True)) == {"eligible"}
    # Again: nobody is added twice.
    page = hr.post(reverse("hr_panel_assign", args=[panel.pk]), {"posts": [post.pk]}, follow=True, **EN)
    assert "0 candidates assigned" in page.content.decode()
    assert PanelCandidate.objects.count() == 3


def test_a_candidate_sits_in_one_panel_per_part(campaign, panel, post, hr, hr_officer) -> None:
    hr.post(reverse("hr_panel_assign", args=[panel.pk]), {"posts": [post.pk]}, **EN)
    second = exam_services.create_panel(campaign=campaign, part_code="written", name="Ban hai", posts=[], by=hr_officer)
    page = hr.post(
        reverse("hr_panel_assign", args=[second.pk]), {"posts": [post.pk]}, follow=True, **EN
    ).content.decode()
    assert "A candidate is already in another panel for this part." in page
    assert not second.candidates.exists() and panel.candidates.count() == 3
    # Another part is another matter.
    oral = exam_services.create_panel(campaign=campaign, part_code="oral", name="Tiểu ban", posts=[], by=hr_officer)
    hr.post(reverse("hr_panel_assign", args=[oral.pk]), {"posts": [post.pk]}, **EN)
    assert oral.candidates.count() == 3
    page = page_of(hr, reverse("hr_council", args=[campaign.pk]))
    assert "3 of 3 eligible candidates are in a panel for this part." in page


def test_a_candidate_leaves_a_panel_only_before_their_script_exists(campaign, panel, post, hr, hr_officer) -> None:
    hr.post(reverse("hr_panel_assign", args=[panel.pk]), {"posts": [post.pk]}, **EN)
    first, second = Application.objects.filter(status="eligible").order_by("pk")[:2]
    url = reverse("hr_panel_unassign", args=[panel.pk])
    page = hr.post(url, {"application": first.public_id}, follow=True, **EN).content.decode()
    assert "is out of the panel" in page
    Script.objects.create(campaign=campaign, part_code="written", application=second, panel=panel)
    page = hr.post(url, {"application": second.public_id}, follow=True, **EN).content.decode()
    assert "This candidate already has a script" in page
    assert set(panel.candidates.values_list("application", flat=True)) == {
        a.pk for a in Application.objects.filter(status="eligible").exclude(pk=first.pk)
    }


def test_missing_declarations_are_counted_per_panel(campaign, panel, post, hr, hr_officer, examiner) -> None:
    exam_services.add_panel_member(panel=panel, user=examiner, by=hr_officer)
    hr.post(reverse("hr_panel_assign", args=[panel.pk]), {"posts": [post.pk]}, **EN)
    assert "3 declarations missing" in page_of(hr, reverse("hr_panel_detail", args=[panel.pk]))
    application = panel.candidates.first().application
    exam_services.declare_conflict(examiner=examiner, application=application, relation=Relation.NONE)
    page = page_of(hr, reverse("hr_panel_detail", args=[panel.pk]))
    assert "2 declarations missing" in page
    council = page_of(hr, reverse("hr_council", args=[campaign.pk]))
    assert '<td class="num"><span class="badge warn">2</span></td>' in council


# --- Access -----------------------------------------------------------------------------------------


def hr_urls(campaign: Campaign, panel: Panel) -> list[tuple[str, str]]:
    return [
        ("get", reverse("hr_council", args=[campaign.pk])),
        ("post", reverse("hr_council", args=[campaign.pk])),
        ("post", reverse("hr_council_remove", args=[campaign.pk])),
        ("post", reverse("hr_panel_create", args=[campaign.pk])),
        ("get", reverse("hr_panel_detail", args=[panel.pk])),
        ("post", reverse("hr_panel_add_member", args=[panel.pk])),
        ("post", reverse("hr_panel_remove_member", args=[panel.pk])),
        ("post", reverse("hr_panel_assign", args=[panel.pk])),
        ("post", reverse("hr_panel_unassign", args=[panel.pk])),
    ]


@pytest.mark.parametrize("role", [Role.CHAIR, Role.EXAMINER, Role.SUPERVISOR, Role.CANDIDATE])
def test_only_hr_manages_the_council_and_panels(campaign, panel, post, make_user, role) -> None:
    client = client_for(make_user("other@example.vn", role, mfa_secret=MFA))
    for method, url in hr_urls(campaign, panel):
        assert getattr(client, method)(url, {"posts": [post.pk], "name": "X", "part_code": "oral"}).status_code == 403
    assert Panel.objects.count() == 1 and not panel.candidates.exists()


def test_anonymous_visitors_are_sent_to_sign_in(campaign, panel) -> None:
    for method, url in hr_urls(campaign, panel):
        response = getattr(Client(), method)(url)
        assert response.status_code == 302 and reverse("account_login") in response["Location"]


# --- Supervisors ------------------------------------------------------------------------------------


@pytest.fixture
def declared(campaign, panel, post, hr_officer, examiner, make_user):
    """Two examiners on the panel; one declared a sibling, the other has not declared yet."""
    second = make_user("examiner2@example.vn", Role.EXAMINER, full_name="Đỗ Chưa Khai", mfa_secret=MFA)
    for person in (examiner, second):
        exam_services.add_panel_member(panel=panel, user=person, by=hr_officer)
    applications = list(Application.objects.filter(status="eligible").order_by("pk"))
    exam_services.assign_to_panel(panel=panel, applications=applications, by=hr_officer)
    exam_services.declare_conflict(
        examiner=examiner, application=applications[0], relation=Relation.SIBLING, details="Anh ruột của vợ"
    )
    for application in applications[1:]:
        exam_services.declare_conflict(examiner=examiner, application=application, relation=Relation.NONE)
    return applications


def test_supervisors_read_every_declaration_and_the_missing_ones(campaign, panel, declared, supervisor) -> None:
    client = client_for(supervisor)
    page = page_of(client, reverse("supervisor_declarations", args=[campaign.pk]))
    assert "3 declarations" in page
    assert "Phạm Giám Khảo" in page and "Nguyễn Văn An" in page
    assert "Sibling (or sibling of the spouse)" in page and "Anh ruột của vợ" in page
    assert "No relation" in page
    assert "3 declarations missing" in page and "Đỗ Chưa Khai" in page
    filtered = page_of(client, reverse("supervisor_declarations", args=[campaign.pk]) + f"?panel={panel.pk}")
    assert "3 declarations" in filtered
    other = Panel.objects.create(campaign=campaign, part_code="oral", name="Tiểu ban trống")
    empty = page_of(client, reverse("supervisor_declarations", args=[campaign.pk]) + f"?panel={other.pk}")
    assert "0 declarations" in empty and "Anh ruột của vợ" not in empty


def test_supervisors_read_the_council_and_panels_without_forms(campaign, panel, declared, supervisor) -> None:
    client = client_for(supervisor)
    council = page_of(client, reverse("supervisor_council", args=[campaign.pk]))
    assert "Ban chấm thi viết" in council and "Read-only." in council
    assert '<form method="post" action="/hr/' not in council
    detail = page_of(client, reverse("supervisor_panel", args=[panel.pk]))
    assert "Đỗ Chưa Khai" in detail and "Nguyễn Văn An" in detail
    assert "Assign all eligible" not in detail and "/hr/" not in detail.split("<main", 1)[1]


@pytest.mark.parametrize("role", [Role.HR, Role.CHAIR, Role.EXAMINER, Role.CANDIDATE])
def test_only_supervisors_reach_the_supervision_pages(campaign, panel, make_user, role) -> None:
    client = client_for(make_user("other@example.vn", role, mfa_secret=MFA))
    for url in (
        reverse("supervisor_declarations", args=[campaign.pk]),
        reverse("supervisor_council", args=[campaign.pk]),
        reverse("supervisor_panel", args=[panel.pk]),
    ):
        assert client.get(url).status_code == 403
        response = Client().get(url)
        assert response.status_code == 302 and reverse("account_login") in response["Location"]
