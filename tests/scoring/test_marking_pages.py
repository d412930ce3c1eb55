"""The marking pages through the test client: grid, autosave, submit, ballot, chair and HR desks."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.roles import Role
from audit.models import AuditEvent
from exams import services as exam_services
from exams.models import ConflictDeclaration, RubricCriterion
from scoring import services
from scoring.models import Draw, Mark, MarkerAssignment, OralSlot, ReopenRequest, Resolution, Reveal, Script
from tests.scoring.builders import MarkingSetup, build_marking_setup, pending_chair, scripts_with_markers, staff

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
HTMX = {**EN, "HTTP_HX_REQUEST": "true"}


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def setup(make_post) -> MarkingSetup:
    setup = build_marking_setup(make_post)
    scripts_with_markers(setup)
    return setup


def assignment_of(setup: MarkingSetup) -> MarkerAssignment:
    return MarkerAssignment.objects.select_related("script", "examiner").order_by("script__code", "round").first()


def save_url(setup: MarkingSetup, key: str, part: str = "written") -> str:
    return reverse("marking_save", args=[setup.campaign.pk, part, key])


def grid_url(setup: MarkingSetup, part: str = "written") -> str:
    return reverse("marking_part", args=[setup.campaign.pk, part])


def without_tokens(content: bytes) -> str:
    """The page without its CSRF tokens, which differ at each response."""
    return re.sub(r"[A-Za-z0-9]{64}", "", content.decode())


# --- The grid -------------------------------------------------------------------------


def test_the_grid_lists_the_examiners_scripts_by_code_with_one_labelled_input_each(setup) -> None:
    examiner = setup.examiners[0]
    codes = set(MarkerAssignment.objects.filter(examiner=examiner).values_list("script__code", flat=True))
    others = set(Script.objects.values_list("code", flat=True)) - codes
    response = client_for(examiner).get(grid_url(setup), **EN)
    assert response.status_code == 200
    html = response.content.decode()
    for code in codes:
        assert f'id="mark-{code}-value"' in html and f'<label class="visually-hidden" for="mark-{code}-value">' in html
        assert f'hx-post="{save_url(setup, code)}"' in html
    for code in others:
        assert code not in html
    assert 'scope="col"' in html and 'aria-live="polite"' in html


def test_typing_saves_a_draft_and_answers_the_row_with_the_time(setup) -> None:
    assignment = assignment_of(setup)
    client = client_for(assignment.examiner)
    response = client.post(save_url(setup, assignment.script.code), {"value": "72,5"}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-state="saved"' in html and "saved " in html
    assert html.lstrip().startswith(f'<tr id="row-{assignment.script.code}"')
    mark = Mark.objects.get()
    assert mark.status == Mark.Status.DRAFT and mark.value == Decimal("72.5") and mark.submitted_at is None
    client.post(save_url(setup, assignment.script.code), {"value": "73"}, **HTMX)
    mark.refresh_from_db()
    assert mark.value == Decimal("73") and Mark.objects.count() == 1  # the draft is updated, not duplicated


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("101", "A mark must be between 0 and 100."),
        ("-1", "A mark must be between 0 and 100."),
        ("72.55", "A mark has at most 1 decimal(s)."),
        ("abc", "Enter a number, such as 72.5."),
        ("1" * 20, "Ensure this value has at most 12 characters"),
    ],
)
def test_a_bad_mark_is_refused_with_its_reason_and_nothing_is_saved(setup, typed, message) -> None:
    assignment = assignment_of(setup)
    response = client_for(assignment.examiner).post(save_url(setup, assignment.script.code), {"value": typed}, **HTMX)
    assert response.status_code == 422
    html = response.content.decode()
    assert message in html and 'data-state="error"' in html and 'aria-invalid="true"' in html
    assert not Mark.objects.exists()


def test_submitting_locks_the_mark_and_a_second_submission_is_a_409(setup) -> None:
    assignment = assignment_of(setup)
    client = client_for(assignment.examiner)
    url = save_url(setup, assignment.script.code)
    first = client.post(url, {"value": "70", "submit": "1"}, **HTMX)
    assert first.status_code == 200
    assert 'data-state="submitted"' in first.content.decode() and "mark-input" not in first.content.decode()
    second = client.post(url, {"value": "71", "submit": "1"}, **HTMX)
    assert second.status_code == 409
    assert "This mark is already submitted and locked; only the chair can reopen it." in second.content.decode()
    draft_after = client.post(url, {"value": "75"}, **HTMX)  # an autosave arriving late changes nothing either
    assert draft_after.status_code == 409
    mark = Mark.objects.get()
    assert mark.status == Mark.Status.SUBMITTED and mark.value == Decimal("70")


def test_submitting_without_a_mark_is_refused(setup) -> None:
    assignment = assignment_of(setup)
    response = client_for(assignment.examiner).post(
        save_url(setup, assignment.script.code), {"value": "", "submit": "1"}, **HTMX
    )
    assert response.status_code == 422 and "Enter the mark before submitting." in response.content.decode()


def test_without_htmx_the_row_form_saves_and_redirects_back_to_the_grid(setup) -> None:
    assignment = assignment_of(setup)
    client = client_for(assignment.examiner)
    response = client.post(save_url(setup, assignment.script.code), {"value": "70", "submit": "1"}, **EN)
    assert response.status_code == 302 and response["Location"].startswith(grid_url(setup))
    assert "Mark submitted." in client.get(response["Location"], **EN).content.decode()


def test_a_script_not_assigned_is_404_like_one_that_does_not_exist(setup) -> None:
    assignment = assignment_of(setup)
    stranger = next(e for e in setup.examiners if not assignment.script.assignments.filter(examiner=e).exists())
    client = client_for(stranger)
    taken = client.post(save_url(setup, assignment.script.code), {"value": "70", "submit": "1"}, **HTMX)
    missing = client.post(save_url(setup, "ZZZZZZZZ"), {"value": "70", "submit": "1"}, **HTMX)
    assert taken.status_code == missing.status_code == 404
    same_page = without_tokens(taken.content).replace(assignment.script.code, "KEY")
    assert same_page == without_tokens(missing.content).replace("ZZZZZZZZ", "KEY")
    assert not Mark.objects.exists()


def test_pages_of_another_campaign_or_role_are_refused(setup, make_user) -> None:
    outsider = staff("outsider@example.vn", "Examiner")
    assert client_for(outsider).get(grid_url(setup)).status_code == 404
    assert client_for(outsider).get(reverse("marking_declarations", args=[setup.campaign.pk])).status_code == 404
    assert client_for(setup.hr).get(grid_url(setup)).status_code == 403
    assert Client().get(grid_url(setup)).status_code == 302  # to the login page


def test_submit_all_complete_drafts(setup) -> None:
    examiner = setup.examiners[0]
    codes = list(
        MarkerAssignment.objects.filter(examiner=examiner)
        .order_by("script__code")
        .values_list("script__code", flat=True)
    )
    client = client_for(examiner)
    client.post(save_url(setup, codes[0]), {"value": "70"}, **HTMX)
    client.post(save_url(setup, codes[1]), {"value": ""}, **HTMX)  # an empty draft is not complete
    response = client.post(reverse("marking_submit_drafts", args=[setup.campaign.pk, "written"]), **EN)
    assert response.status_code == 302
    assert Mark.objects.get(script__code=codes[0]).status == Mark.Status.SUBMITTED
    assert Mark.objects.get(script__code=codes[1]).status == Mark.Status.DRAFT
    assert "1 mark submitted." in client.get(response["Location"], **EN).content.decode()


def test_the_export_has_codes_and_own_marks_only(setup) -> None:
    examiner = setup.examiners[0]
    assignments = list(MarkerAssignment.objects.filter(examiner=examiner).select_related("script"))
    services.save_mark(
        examiner=examiner,
        campaign=setup.campaign,
        part_code="written",
        key=assignments[0].script.code,
        raw_value="64.5",
        submit=True,
    )
    response = client_for(examiner).get(reverse("marking_export", args=[setup.campaign.pk, "written"]), **EN)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Script code,Mark")
    assert len(lines) == 1 + len(assignments)
    assert any(line.startswith(f"{assignments[0].script.code},64.5,") for line in lines)


def test_a_rubric_part_has_one_input_per_criterion_and_the_total_is_their_sum(make_post) -> None:
    setup = build_marking_setup(make_post)
    part = setup.rules.parts.get(code="written")
    RubricCriterion.objects.create(part=part, position=1, name="Kiến thức", max_score=60)
    RubricCriterion.objects.create(part=part, position=2, name="Trình bày", max_score=40)
    scripts_with_markers(setup)
    assignment = assignment_of(setup)
    client = client_for(assignment.examiner)
    url = save_url(setup, assignment.script.code)
    page = client.get(grid_url(setup), **EN).content.decode()
    assert f'id="mark-{assignment.script.code}-c1"' in page and f'id="mark-{assignment.script.code}-c2"' in page
    partial = client.post(url, {"c2": "30"}, **HTMX)  # a draft may leave a criterion blank
    assert partial.status_code == 200
    assert Mark.objects.get().criteria == {"2": "30.0"} and Mark.objects.get().value is None
    too_much = client.post(url, {"c1": "61", "c2": "30"}, **HTMX)
    assert too_much.status_code == 422 and "A mark must be between 0 and 60." in too_much.content.decode()
    forged = client.post(url, {"value": "95", "c1": "10", "submit": "1"}, **HTMX)  # a mark beside a blank criterion
    assert forged.status_code == 422 and "Enter the mark before submitting." in forged.content.decode()
    assert Mark.objects.get().status == Mark.Status.DRAFT and Mark.objects.get().value is None
    done = client.post(url, {"c1": "45,5", "c2": "30", "submit": "1"}, **HTMX)
    assert done.status_code == 200
    mark = Mark.objects.get()
    assert mark.value == Decimal("75.5") and mark.status == Mark.Status.SUBMITTED


# --- Declarations --------------------------------------------------------------------------


def test_declarations_list_candidates_by_name_and_record_each_declaration(make_post) -> None:
    setup = build_marking_setup(make_post, declare=False, names=["Lê Thị Mai", "Trần Văn Bảo"])
    examiner = setup.examiners[0]
    client = client_for(examiner)
    url = reverse("marking_declarations", args=[setup.campaign.pk])
    page = client.get(url, **EN).content.decode()
    assert "Lê Thị Mai" in page and "Trần Văn Bảo" in page and "2 declarations to make." in page
    application = setup.applications[0]
    action = reverse("marking_declare", args=[setup.campaign.pk, application.public_id])
    prefix = f"d-{application.public_id}"
    refused = client.post(action, {f"{prefix}-relation": "other", f"{prefix}-details": ""}, **EN)
    assert refused.status_code == 422 and "Describe the relation." in refused.content.decode()
    response = client.post(action, {f"{prefix}-relation": "none"}, **EN)
    assert response.status_code == 302
    declaration = ConflictDeclaration.objects.get(examiner=examiner)
    assert declaration.application == application and declaration.relation == "none"
    assert "1 declaration to make." in client.get(url, **EN).content.decode()


def test_marking_waits_for_the_declaration_with_a_link_to_it(setup) -> None:
    services.draw_oral_order(panel=setup.oral_panel, by=setup.hr, seed="o")
    newcomer = staff("newcomer@example.vn", "Examiner")
    exam_services.add_panel_member(panel=setup.oral_panel, user=newcomer, by=setup.hr)
    slot = OralSlot.objects.first()
    client = client_for(newcomer)
    page = client.get(grid_url(setup, "oral"), **EN).content.decode()
    assert "Declare any conflict of interest with this candidate before marking." in page
    response = client.post(save_url(setup, str(slot.pk), "oral"), {"value": "80", "submit": "1"}, **HTMX)
    assert response.status_code == 403
    html = response.content.decode()
    assert "Declare any conflict of interest" in html
    assert reverse("marking_declarations", args=[setup.campaign.pk]) in html
    assert not Mark.objects.exists()


# --- The oral ballot -----------------------------------------------------------------------


def test_ballot_marks_stay_secret_from_the_other_members_until_the_result(setup) -> None:
    services.draw_oral_order(panel=setup.oral_panel, by=setup.hr, seed="o")
    slot = OralSlot.objects.order_by("position").first()
    first, second, third = setup.examiners
    page = client_for(first).get(grid_url(setup, "oral"), **EN).content.decode()
    assert setup.applications[0].display_name in page  # the oral part is not blind
    response = client_for(first).post(save_url(setup, str(slot.pk), "oral"), {"value": "87.3", "submit": "1"}, **HTMX)
    assert response.status_code == 200 and "87.3" in response.content.decode()
    for other in (second, third):
        html = client_for(other).get(grid_url(setup, "oral"), **EN).content.decode()
        assert "87.3" not in html and "87,3" not in html
    client_for(second).post(save_url(setup, str(slot.pk), "oral"), {"value": "85.1", "submit": "1"}, **HTMX)
    assert "87.3" not in client_for(third).get(grid_url(setup, "oral"), **EN).content.decode()
    client_for(third).post(save_url(setup, str(slot.pk), "oral"), {"value": "86", "submit": "1"}, **HTMX)
    final = Resolution.objects.get(part_code="oral", is_current=True)
    assert final.status == "final" and final.value == Decimal("86.1")
    after = client_for(third).get(grid_url(setup, "oral"), **EN).content.decode()
    assert "result 86.1" in after and "87.3" not in after and "85.1" not in after


# --- Chair ------------------------------------------------------------------------------------


def test_the_chair_sees_a_disagreement_by_code_and_decides_it_with_a_reason(setup) -> None:
    resolution = pending_chair(setup)
    last = list(AuditEvent.objects.order_by("-seq").values_list("action", flat=True)[:2])
    assert last == ["resolution.pending_chair", "mark.submit"]  # the mark, then what it led to
    client = client_for(setup.chair)
    page = client.get(reverse("chair_disagreements"), **EN).content.decode()
    assert resolution.script.code in page and resolution.application.display_name not in page
    url = reverse("chair_decide", args=[resolution.pk])
    no_reason = client.post(url, {"value": "63", "reason": ""}, **EN)
    assert no_reason.status_code == 422 and "This field is required." in no_reason.content.decode()
    outside = client.post(url, {"value": "70", "reason": "Sau trao đổi"}, **EN)
    assert outside.status_code == 422
    assert "The decided mark must lie between the lowest and the highest mark." in outside.content.decode()
    done = client.post(url, {"value": "63,5", "reason": "Sau trao đổi"}, **EN)
    assert done.status_code == 302
    final = Resolution.objects.get(is_current=True)
    assert final.status == "final" and final.value == Decimal("63.5") and final.reason == "Sau trao đổi"
    assert "No disagreement waits for a decision." in client.get(reverse("chair_disagreements"), **EN).content.decode()


def both_roles(email: str) -> User:
    return staff(email, "HR officer", "Council chair")


def test_a_reopening_asked_and_approved_by_the_same_person_is_refused_through_the_pages(setup) -> None:
    assignment = assignment_of(setup)
    services.save_mark(
        examiner=assignment.examiner,
        campaign=setup.campaign,
        part_code="written",
        key=assignment.script.code,
        raw_value="70",
        submit=True,
    )
    hr_and_chair = both_roles("both@example.vn")
    client = client_for(hr_and_chair)
    prefix = "reopen-written"
    asked = client.post(
        reverse("hr_marking_reopen", args=[setup.campaign.pk, "written"]),
        {
            f"{prefix}-key": assignment.script.code.lower(),
            f"{prefix}-examiner": assignment.examiner.pk,
            f"{prefix}-reason": "Cộng sai",
        },
        **EN,
    )
    assert asked.status_code == 302
    request = ReopenRequest.objects.get()
    assert assignment.script.code in client.get(reverse("chair_reopen"), **EN).content.decode()
    refused = client.post(reverse("chair_reopen_approve", args=[request.pk]), follow=True, **EN)
    assert "A reopening must be approved by another person than the one who asked." in refused.content.decode()
    request.refresh_from_db()
    assert request.approved_at is None and Mark.objects.get().is_current
    approved = client_for(setup.chair).post(reverse("chair_reopen_approve", args=[request.pk]), follow=True, **EN)
    assert "The mark is reopened" in approved.content.decode()
    assert Mark.objects.filter(is_current=True, status="draft").count() == 1 and Mark.objects.count() == 2


def test_a_reopening_of_a_mark_that_is_not_submitted_is_refused_on_the_form(setup) -> None:
    assignment = assignment_of(setup)
    prefix = "reopen-written"
    response = client_for(setup.hr).post(
        reverse("hr_marking_reopen", args=[setup.campaign.pk, "written"]),
        {
            f"{prefix}-key": assignment.script.code,
            f"{prefix}-examiner": assignment.examiner.pk,
            f"{prefix}-reason": "x",
        },
        **EN,
    )
    assert response.status_code == 422
    assert "This examiner has no submitted mark for this script or candidate." in response.content.decode()
    assert not ReopenRequest.objects.exists()


def mark_everything(setup: MarkingSetup, values: tuple[str, str] = ("70", "72")) -> None:
    for script in Script.objects.all():
        for assignment, value in zip(script.assignments.order_by("round"), values, strict=True):
            services.save_mark(
                examiner=assignment.examiner,
                campaign=setup.campaign,
                part_code="written",
                key=script.code,
                raw_value=value,
                submit=True,
            )


def test_a_reveal_asked_and_approved_by_the_same_person_is_refused_through_the_pages(setup) -> None:
    mark_everything(setup)
    hr_and_chair = both_roles("both@example.vn")
    client = client_for(hr_and_chair)
    client.post(reverse("hr_marking_reveal", args=[setup.campaign.pk, "written"]), **EN)
    reveal = Reveal.objects.get()
    refused = client.post(reverse("chair_reveal_approve", args=[reveal.pk]), follow=True, **EN)
    assert "The reveal must be approved by another person than the one who asked." in refused.content.decode()
    reveal.refresh_from_db()
    assert reveal.revealed_at is None
    client_for(setup.chair).post(reverse("chair_reveal_approve", args=[reveal.pk]), **EN)
    reveal.refresh_from_db()
    assert reveal.revealed_at is not None and reveal.approved_by == setup.chair


# --- HR -----------------------------------------------------------------------------------------


def test_hr_creates_scripts_draws_markers_and_sees_the_seed_and_progress(make_post) -> None:
    setup = build_marking_setup(make_post)
    client = client_for(setup.hr)
    desk = reverse("hr_marking", args=[setup.campaign.pk])
    client.post(reverse("hr_marking_scripts", args=[setup.campaign.pk, "written"]), **EN)
    assert Script.objects.count() == 4
    response = client.post(reverse("hr_marking_draw_markers", args=[setup.campaign.pk, "written"]), follow=True, **EN)
    seed = Draw.objects.get(kind=Draw.Kind.MARKERS).seed
    html = response.content.decode()
    assert f"Seed of the draw: {seed}." in html and f'<code data-testid="seed">{seed}</code>' in html
    assert '<dd data-count="assignments">8</dd>' in html
    for script in Script.objects.all():  # the code ↔ candidate table stays secret before the reveal
        assert script.code not in html
    again = client.post(reverse("hr_marking_draw_markers", args=[setup.campaign.pk, "written"]), follow=True, **EN)
    assert "Every script already has its markers." in again.content.decode()
    order = client.post(
        reverse("hr_marking_draw_order", args=[setup.campaign.pk, setup.oral_panel.pk]), follow=True, **EN
    )
    assert "Seed of the draw:" in order.content.decode() and OralSlot.objects.count() == 4
    assert client.get(desk, **EN).status_code == 200


def test_the_reveal_waits_for_complete_marking_then_shows_code_name_and_final_mark(setup) -> None:
    client = client_for(setup.hr)
    early = client.post(reverse("hr_marking_reveal", args=[setup.campaign.pk, "written"]), follow=True, **EN)
    assert "4 scripts are not finally marked" in early.content.decode() and not Reveal.objects.exists()
    mark_everything(setup)
    client.post(reverse("hr_marking_reveal", args=[setup.campaign.pk, "written"]), **EN)
    client_for(setup.chair).post(reverse("chair_reveal_approve", args=[Reveal.objects.get().pk]), **EN)
    html = client.get(reverse("hr_marking", args=[setup.campaign.pk]), **EN).content.decode()
    assert 'data-testid="reveal-table"' in html
    for script in Script.objects.select_related("application"):
        assert script.code in html and script.application.display_name in html
    assert "71.0" in html


def test_role_pages_refuse_other_roles(setup) -> None:
    examiner = client_for(setup.examiners[0])
    for name in ("chair_disagreements", "chair_reopen", "chair_reveals"):
        assert examiner.get(reverse(name)).status_code == 403
    assert examiner.get(reverse("hr_marking", args=[setup.campaign.pk])).status_code == 403
    hr = client_for(setup.hr)
    assert hr.get(reverse("marking_workspace")).status_code == 403


def test_the_workspace_shows_each_part_with_its_progress(setup) -> None:
    examiner = setup.examiners[0]
    assignment = MarkerAssignment.objects.filter(examiner=examiner).select_related("script").first()
    client = client_for(examiner)
    client.post(save_url(setup, assignment.script.code), {"value": "70"}, **HTMX)
    html = client.get(reverse("marking_workspace"), **EN).content.decode()
    assigned = MarkerAssignment.objects.filter(examiner=examiner).count()
    assert grid_url(setup) in html and grid_url(setup, "oral") in html
    assert f'<td class="num">{assigned}</td>' in html and '<td class="num">1</td>' in html
    assert reverse("marking_declarations", args=[setup.campaign.pk]) in html


def test_group_membership_is_read_from_the_role_groups(setup) -> None:
    # An examiner whose role is withdrawn loses the pages at once.
    examiner = setup.examiners[0]
    examiner.groups.remove(Group.objects.get(name=Role.EXAMINER.value))
    assert client_for(examiner).get(grid_url(setup)).status_code == 403
