"""The rules pages: HR drafts and edits, the chair approves (never the author), everyone reads the versions."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.roles import Role
from audit.models import AuditEvent
from exams.models import Campaign, ExamRules, TieBreak
from exams.services import rules_fingerprint, rules_snapshot
from tests.conftest import client_for

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


class _FormParser(HTMLParser):
    """The fields of each <form> of a page, as the browser would submit them untouched."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self._form: dict[str, Any] | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self._form = {}
            self.forms.append(self._form)
        elif self._form is None or not (a.get("name") or tag == "option"):
            return
        elif tag == "input" and a.get("type") in ("checkbox", "radio"):
            if "checked" in a:
                self._form[a["name"]] = a.get("value") or "on"
        elif tag == "input":
            self._form[a["name"]] = a.get("value") or ""
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select and "selected" in a:
            self._form[self._select] = a.get("value") or ""
        elif tag == "textarea":
            self._textarea = a["name"]
            self._form[self._textarea] = ""

    def handle_data(self, data: str) -> None:
        if self._form is not None and self._textarea:
            self._form[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def editor_form(client: Client, campaign: Campaign) -> dict[str, Any]:
    """What the rules editor posts back when nothing is touched."""
    parser = _FormParser()
    parser.feed(client.get(reverse("hr_rules", args=[campaign.pk]), **EN).content.decode())
    return next(form for form in parser.forms if "rules" in form)


def save_rules(client: Client, campaign: Campaign, data: dict[str, Any]):
    return client.post(reverse("hr_rules", args=[campaign.pk]), data, follow=True, **EN)


@pytest.fixture
def campaign(make_post) -> Campaign:
    return make_post(status=Campaign.Status.DRAFT).campaign


@pytest.fixture
def draft(campaign, hr_officer) -> ExamRules:
    client_for(hr_officer).post(reverse("hr_rules_start", args=[campaign.pk]), **EN)
    return ExamRules.objects.get(campaign=campaign, status=ExamRules.Status.DRAFT)


def approve(client: Client, rules: ExamRules):
    """Opens the draft, then approves it; without a button on the page, posts what a forged form would."""
    page = client.get(reverse("chair_rules_detail", args=[rules.pk]), **EN)
    parser = _FormParser()
    parser.feed(page.content.decode())
    fingerprint = next((f["fingerprint"] for f in parser.forms if "fingerprint" in f), rules_fingerprint(rules))
    return client.post(reverse("chair_rules_approve", args=[rules.pk]), {"fingerprint": fingerprint}, follow=True, **EN)


# --- HR drafts and edits ----------------------------------------------------------------------


def test_hr_starts_the_rules_with_the_usual_two_parts(campaign, hr_officer) -> None:
    client = client_for(hr_officer)
    page = client.get(reverse("hr_rules", args=[campaign.pk]), **EN).content.decode()
    assert "No version is approved yet" in page and "Start the rules" in page
    response = client.post(reverse("hr_rules_start", args=[campaign.pk]), follow=True, **EN)
    assert "Draft version 1 created" in response.content.decode()
    rules = ExamRules.objects.get(campaign=campaign)
    assert rules.status == ExamRules.Status.DRAFT and rules.created_by == hr_officer
    assert [p.code for p in rules.parts.all()] == ["written", "oral"]
    assert "Save the draft" in response.content.decode()


def test_a_valid_edit_is_saved_with_criteria_and_audited(campaign, draft, hr_officer) -> None:
    client = client_for(hr_officer)
    data = editor_form(client, campaign)
    assert data["parts-0-code"] == "written" and data["parts-0-max_score"] == "100"
    data.update(
        {
            "mean_max_spread": "4,5",  # the decimal comma of Vietnamese forms
            "parts-0-pass_mark": "60",
            "parts-0-criteria-0-name": "Kiến thức chung",
            "parts-0-criteria-0-max_score": "40",
            "parts-0-criteria-1-name": "Kỹ năng phân tích",
            "parts-0-criteria-1-max_score": "60",
            f"tie_{TieBreak.PRIORITY}": "",  # left out
            f"tie_{TieBreak.CHAIR}": "3",
        }
    )
    response = save_rules(client, campaign, data)
    assert "Draft saved" in response.content.decode()
    draft.refresh_from_db()
    written = draft.parts.get(code="written")
    assert str(draft.mean_max_spread) == "4.50"
    assert draft.tie_breaks == [TieBreak.DECISIVE_PART, TieBreak.OTHER_PARTS, TieBreak.CHAIR]
    assert str(written.pass_mark) == "60.00"
    assert [(c.position, c.name, str(c.max_score)) for c in written.criteria.all()] == [
        (1, "Kiến thức chung", "40.00"),
        (2, "Kỹ năng phân tích", "60.00"),
    ]
    event = AuditEvent.objects.get(action="rules.edit")
    assert event.actor_id == hr_officer.pk
    assert event.before["mean_max_spread"] == "5.00" and event.after["mean_max_spread"] == "4.50"
    assert event.after["parts"][0]["criteria"][1]["name"] == "Kỹ năng phân tích"


def test_parts_can_be_removed_added_and_reordered(campaign, draft, hr_officer) -> None:
    client = client_for(hr_officer)
    data = editor_form(client, campaign)
    data.update(
        {
            "parts-0-DELETE": "on",  # the written part goes
            "parts-2-position": "1",  # a new part comes first
            "parts-2-code": "case",
            "parts-2-name": "Xử lý tình huống",
            "parts-2-marking_mode": "panel_ballot",
            "parts-2-weight": "2",
            "parts-2-gates_next": "on",
        }
    )
    assert "Draft saved" in save_rules(client, campaign, data).content.decode()
    assert [(p.position, p.code, p.gates_next, str(p.weight)) for p in draft.parts.all()] == [
        (1, "case", True, "2.00"),
        (2, "oral", False, "1.00"),
    ]


BAD_INPUTS = {
    "decimals 3": ({"parts-0-decimals": "3"}, "A part is marked with 0, 1 or 2 decimals."),
    "pass mark over the maximum": (
        {"parts-1-pass_mark": "120"},
        "The pass mark cannot exceed the maximum score (100).",
    ),
    "rubric sum is not the maximum": (
        {
            "parts-0-criteria-0-name": "Kiến thức",
            "parts-0-criteria-0-max_score": "40",
            "parts-0-criteria-1-name": "Kỹ năng",
            "parts-0-criteria-1-max_score": "50",
        },
        "The criteria&#x27;s maxima add up to 90, not to the part&#x27;s maximum score of 100.",
    ),
    "criterion without maximum": ({"parts-0-criteria-0-name": "Kiến thức"}, "Give the criterion&#x27;s maximum."),
    "duplicate tie-break": (
        {f"tie_{TieBreak.DECISIVE_PART}": "1", f"tie_{TieBreak.OTHER_PARTS}": "1"},
        "Each tie-break needs its own position",
    ),
    "chair not last": (
        {f"tie_{TieBreak.CHAIR}": "1", f"tie_{TieBreak.DECISIVE_PART}": "4"},
        "The chair&#x27;s decision must be the last tie-break",
    ),
    "chair left out": ({f"tie_{TieBreak.CHAIR}": ""}, "The chair&#x27;s decision must be the last tie-break"),
    "bands not ordered": (
        {"mean_max_spread": "10", "escalate_min_spread": "5"},
        "The escalated spread must be larger than the spread resolved by the mean (10).",
    ),
    "negative weight": ({"parts-1-weight": "-1"}, "A weight cannot be negative."),
    "every weight zero": ({"parts-0-weight": "0", "parts-1-weight": "0"}, "At least one part must have a weight"),
    "duplicate code": ({"parts-1-code": "written"}, "Two parts have the same code."),
    "duplicate code beside a removed part": (
        {"parts-0-DELETE": "on", "parts-0-name": "", "parts-2-code": "oral", "parts-2-name": "Phỏng vấn"},
        "Two parts have the same code.",
    ),
    "duplicate order": ({"parts-1-position": "1"}, "Two parts have the same order number."),
    "unknown decisive part": ({"decisive_part": "interview"}, "The decisive part must be one of the parts"),
    "not a number": ({"parts-0-max_score": "một trăm"}, "Enter a number."),
    "no part left": ({"parts-0-DELETE": "on", "parts-1-DELETE": "on"}, "The rules need at least one part."),
}


@pytest.mark.parametrize("case", BAD_INPUTS.keys())
def test_a_bad_input_is_refused_with_a_message_and_nothing_changes(campaign, draft, hr_officer, case) -> None:
    client = client_for(hr_officer)
    before = rules_snapshot(draft)
    changes, message = BAD_INPUTS[case]
    data = {**editor_form(client, campaign), "appeal_window_days": "20", **changes}  # a valid change beside it
    response = save_rules(client, campaign, data)
    page = response.content.decode()
    assert response.status_code == 200
    assert "Nothing was saved: correct the errors shown below." in page
    assert message in page
    draft.refresh_from_db()
    assert rules_snapshot(draft) == before
    assert not AuditEvent.objects.filter(action="rules.edit").exists()


def test_a_campaign_without_approved_rules_cannot_be_announced(campaign, draft, hr_officer, chair) -> None:
    client = client_for(hr_officer)
    url = reverse("hr_campaign_announce", args=[campaign.pk])
    page = client.post(url, {"confirm": "on"}, follow=True, **EN).content.decode()
    assert "The exam rules must be approved by the council chair" in page
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT
    approve(client_for(chair), draft)
    page = client.post(url, {"confirm": "on"}, follow=True, **EN).content.decode()
    assert "The campaign is announced" in page
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.ANNOUNCED


# --- The chair approves ----------------------------------------------------------------------------


def test_the_chair_sees_the_drafts_awaiting_approval(campaign, draft, chair) -> None:
    page = client_for(chair).get(reverse("chair_rules_list"), **EN).content.decode()
    assert campaign.title in page and reverse("chair_rules_detail", args=[draft.pk]) in page
    detail = client_for(chair).get(reverse("chair_rules_detail", args=[draft.pk]), **EN).content.decode()
    assert "Thi viết" in detail and "Blind double marking" in detail and f"Approve version {draft.version}" in detail


def test_the_author_cannot_approve_their_own_draft(campaign, make_user) -> None:
    author = make_user(
        "hr.chair@example.vn", Role.HR, Role.CHAIR, full_name="Võ Hai Vai", mfa_secret="JBSWY3DPEHPK3PXP"
    )
    client = client_for(author)
    client.post(reverse("hr_rules_start", args=[campaign.pk]), **EN)
    rules = ExamRules.objects.get(campaign=campaign)
    detail = client.get(reverse("chair_rules_detail", args=[rules.pk]), **EN).content.decode()
    assert "You drafted these rules" in detail and "Approve version" not in detail
    page = approve(client, rules).content.decode()
    assert "Rules must be approved by another person than their author." in page
    rules.refresh_from_db()
    assert rules.status == ExamRules.Status.DRAFT and rules.approved_by is None


@pytest.mark.parametrize("role", [Role.HR, Role.EXAMINER, Role.SUPERVISOR, Role.CANDIDATE])
def test_only_a_council_chair_reaches_the_approval_pages(draft, make_user, role) -> None:
    client = client_for(make_user("other@example.vn", role, mfa_secret="JBSWY3DPEHPK3PXP"))
    assert client.get(reverse("chair_rules_list")).status_code == 403
    assert client.get(reverse("chair_rules_detail", args=[draft.pk])).status_code == 403
    assert client.post(reverse("chair_rules_approve", args=[draft.pk]), {"fingerprint": "x"}).status_code == 403
    draft.refresh_from_db()
    assert draft.status == ExamRules.Status.DRAFT


def test_anonymous_visitors_are_sent_to_sign_in(campaign, draft) -> None:
    for url in (
        reverse("hr_rules", args=[campaign.pk]),
        reverse("chair_rules_list"),
        reverse("chair_rules_detail", args=[draft.pk]),
    ):
        response = Client().get(url)
        assert response.status_code == 302 and reverse("account_login") in response["Location"]


def test_the_chair_approves_what_they_read_not_a_later_edit(campaign, draft, hr_officer, chair) -> None:
    chair_client = client_for(chair)
    page = chair_client.get(reverse("chair_rules_detail", args=[draft.pk]), **EN).content.decode()
    parser = _FormParser()
    parser.feed(page)
    read = next(f["fingerprint"] for f in parser.forms if "fingerprint" in f)
    hr_client = client_for(hr_officer)
    save_rules(hr_client, campaign, {**editor_form(hr_client, campaign), "appeal_window_days": "30"})
    response = chair_client.post(
        reverse("chair_rules_approve", args=[draft.pk]), {"fingerprint": read}, follow=True, **EN
    )
    assert "The draft was changed after you opened it" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == ExamRules.Status.DRAFT
    assert "is approved" in approve(chair_client, draft).content.decode()


def test_approved_rules_are_frozen_and_amended_only_with_a_reason(campaign, draft, hr_officer, chair) -> None:
    hr_client, chair_client = client_for(hr_officer), client_for(chair)
    stale = editor_form(hr_client, campaign)
    page = approve(chair_client, draft).content.decode()
    assert "Version 1 is approved: it is in force and frozen." in page
    draft.refresh_from_db()
    assert draft.status == ExamRules.Status.APPROVED and draft.approved_by == chair and draft.approved_at

    # The editor is gone, and a late POST of the old form changes nothing.
    frozen = rules_snapshot(draft)
    response = save_rules(hr_client, campaign, {**stale, "appeal_window_days": "30"})
    assert "These rules are approved and frozen." in response.content.decode()
    draft.refresh_from_db()
    assert rules_snapshot(draft) == frozen
    assert "Save the draft" not in response.content.decode()
    assert "Propose an amendment" in response.content.decode()

    # An amendment needs a reason.
    start = reverse("hr_rules_start", args=[campaign.pk])
    page = hr_client.post(start, {"reason": "  "}, follow=True, **EN).content.decode()
    assert "An amendment of approved rules needs a reason." in page
    assert campaign.rule_versions.count() == 1

    reason = "Bộ Nội vụ hướng dẫn làm tròn đến 2 chữ số thập phân."
    page = hr_client.post(start, {"reason": reason}, follow=True, **EN).content.decode()
    assert "Draft version 2 created" in page
    data = {**editor_form(hr_client, campaign), "parts-0-decimals": "2", "escalation": "council"}
    assert "Draft saved" in save_rules(hr_client, campaign, data).content.decode()
    amendment = ExamRules.objects.get(campaign=campaign, version=2)
    assert amendment.amendment_reason == reason

    # The chair sees what changes, field by field, against the version in force.
    detail = chair_client.get(reverse("chair_rules_detail", args=[amendment.pk]), **EN).content.decode()
    assert "Changes from version 1" in detail
    assert "Part “written”: decimals" in detail
    assert "<del>A third marker</del>" in detail and "<ins>The council decides</ins>" in detail
    assert "Part “oral”" not in detail  # unchanged parts are not listed
    assert "Version 2 is approved" in approve(chair_client, amendment).content.decode()
    draft.refresh_from_db()
    assert draft.status == ExamRules.Status.APPROVED  # version 1 stays as it was approved


def test_the_public_page_lists_every_approved_version_with_its_reason(campaign, draft, hr_officer, chair) -> None:
    approve(client_for(chair), draft)
    hr_client = client_for(hr_officer)
    hr_client.post(reverse("hr_campaign_announce", args=[campaign.pk]), {"confirm": "on"}, **EN)
    url = reverse("campaign_rules", args=[campaign.pk])
    reason = "Thêm tiêu chí chấm phần trình bày đề án."
    hr_client.post(reverse("hr_rules_start", args=[campaign.pk]), {"reason": reason}, **EN)
    amendment = ExamRules.objects.get(campaign=campaign, version=2)
    assert "Version 2" not in Client().get(url, **EN).content.decode()  # a draft is not public
    approve(client_for(chair), amendment)

    page = Client().get(url, **EN).content.decode()
    assert page.index("Version 2") < page.index("Version 1")
    assert reason in page
    assert page.count("Approved on") == 2 and chair.full_name in page
    assert "In force" in page and "Replaced" in page
    assert "Higher mark in the decisive part" in page and "Raw official marks" in page
    assert "Trình bày đề án, phỏng vấn" in page


def test_the_rules_of_a_draft_campaign_are_not_public(campaign, draft, chair) -> None:
    approve(client_for(chair), draft)
    assert Client().get(reverse("campaign_rules", args=[campaign.pk])).status_code == 404


@pytest.mark.parametrize("role", [Role.CHAIR, Role.EXAMINER, Role.SUPERVISOR, Role.CANDIDATE])
def test_only_hr_edits_the_rules(campaign, draft, make_user, role) -> None:
    client = client_for(make_user("other@example.vn", role, mfa_secret="JBSWY3DPEHPK3PXP"))
    assert client.get(reverse("hr_rules", args=[campaign.pk])).status_code == 403
    assert client.post(reverse("hr_rules_start", args=[campaign.pk])).status_code == 403
    assert client.post(reverse("hr_rules", args=[campaign.pk]), {"rules": draft.pk}).status_code == 403
