"""Blind marking in a real browser: declare, mark with autosave, submit, resolve, reveal."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from django.urls import reverse
from playwright.sync_api import BrowserContext, Locator, Page, expect

from exams import services as exam_services
from exams.models import ConflictDeclaration, Relation
from scoring import services
from scoring.models import Mark, Resolution, Reveal, Script
from tests.browser.helpers import sign_in_staff, submit_form
from tests.scoring.builders import build_marking_setup, scripts_with_markers

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WAIT = 15_000  # ms: an autosave waits 600 ms, then the server answers; a loaded CI machine is slow


def status_of(page: Page, code: str) -> Locator:
    return page.get_by_test_id(f"mark-status-{code}")


def test_examiner_marks_blind_scripts_chair_resolves_and_hr_reveals(
    page: Page, new_context: Callable[..., BrowserContext], live_server, make_post
) -> None:
    base = live_server.url
    setup = build_marking_setup(make_post, candidates=2, examiners=2, declare=False)
    campaign = setup.campaign
    examiner, colleague = setup.examiners
    for application in setup.applications:
        exam_services.declare_conflict(examiner=colleague, application=application, relation=Relation.NONE)
    for user in (examiner, setup.chair, setup.hr):  # signing in needs a verified address
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)

    # The examiner declares, candidate by candidate, on the declarations page.
    sign_in_staff(page, base, examiner)
    page.goto(f"{base}{reverse('marking_declarations', args=[campaign.pk])}")
    for application in setup.applications:
        action = reverse("marking_declare", args=[campaign.pk, application.public_id])
        page.locator(f"form[action='{action}'] select").select_option(Relation.NONE)
        submit_form(page, action)
    expect(page.get_by_test_id("declare-form")).to_have_count(0)
    assert ConflictDeclaration.objects.filter(examiner=examiner).count() == 2

    # HR makes the scripts and draws the markers (both examiners mark both scripts).
    scripts_with_markers(setup)
    first, second = sorted(Script.objects.values_list("code", flat=True))

    # Typing saves a draft; Enter moves to the next script; a bad mark shows its reason.
    page.goto(f"{base}{reverse('marking_part', args=[campaign.pk, 'written'])}")
    expect(page.get_by_test_id("marking-grid")).to_be_visible()
    page.locator(f"#mark-{first}-value").fill("77")
    expect(status_of(page, first)).to_have_attribute("data-state", "saved", timeout=WAIT)
    with page.expect_response(lambda response: f"/marks/{first}/" in response.url):
        page.locator(f"#mark-{first}-value").press("Enter")  # leaving the field saves it at once
    expect(page.locator(f"#mark-{second}-value")).to_be_focused()
    page.keyboard.type("181")
    expect(status_of(page, second)).to_have_attribute("data-state", "error", timeout=WAIT)
    expect(page.locator(f"#mark-{second}-value")).to_be_focused()  # the autosave never steals the focus
    page.locator(f"#mark-{second}-value").fill("81,5")
    expect(status_of(page, second)).to_have_attribute("data-state", "saved", timeout=WAIT)
    # Each save lands before the next one starts: the in-memory SQLite of the tests takes one writer at a time.
    with page.expect_response(lambda response: f"/marks/{second}/" in response.url):
        page.locator(f"#mark-{second}-value").blur()
    drafts = {m.script.code: m.value for m in Mark.objects.filter(examiner=examiner).select_related("script")}
    assert drafts == {first: Decimal("77"), second: Decimal("81.5")}

    # Submitting a row locks it; "submit all complete drafts" takes the rest.
    page.get_by_test_id(f"submit-{first}").click()
    expect(status_of(page, first)).to_have_attribute("data-state", "submitted", timeout=WAIT)
    expect(page.locator(f"#mark-{first}-value")).to_have_count(0)
    submit_form(page, reverse("marking_submit_drafts", args=[campaign.pk, "written"]))
    expect(status_of(page, second)).to_have_attribute("data-state", "submitted", timeout=WAIT)
    assert Mark.objects.filter(examiner=examiner, status="submitted").count() == 2

    # The colleague's marks: 70 against 77 (the chair decides), 81 against 81.5 (the mean).
    for code, value in ((first, "70"), (second, "81")):
        services.save_mark(
            examiner=colleague, campaign=campaign, part_code="written", key=code, raw_value=value, submit=True
        )
    pending = Resolution.objects.get(is_current=True, status=Resolution.Status.PENDING_CHAIR)

    # The chair decides the disagreement, by script code, with a reason.
    chair_page = new_context().new_page()
    sign_in_staff(chair_page, base, setup.chair)
    chair_page.goto(f"{base}{reverse('chair_disagreements')}")
    card = chair_page.get_by_test_id(f"disagreement-{pending.pk}")
    expect(card).to_contain_text(first)
    decide = reverse("chair_decide", args=[pending.pk])
    chair_page.locator(f"form[action='{decide}'] [name=value]").fill("74")
    chair_page.locator(f"form[action='{decide}'] [name=reason]").fill("Sau khi trao đổi với hai giám khảo")
    submit_form(chair_page, decide)
    expect(chair_page.get_by_test_id("no-disagreement")).to_be_visible()
    assert Resolution.objects.filter(is_current=True, status="final").count() == 2

    # HR requests the reveal; the chair approves it; HR sees code → name → final mark.
    hr_page = new_context().new_page()
    sign_in_staff(hr_page, base, setup.hr)
    desk = f"{base}{reverse('hr_marking', args=[campaign.pk])}"
    hr_page.goto(desk)
    submit_form(hr_page, reverse("hr_marking_reveal", args=[campaign.pk, "written"]))
    expect(hr_page.get_by_test_id("reveal-pending")).to_be_visible()
    reveal = Reveal.objects.get()
    chair_page.goto(f"{base}{reverse('chair_reveals')}")
    submit_form(chair_page, reverse("chair_reveal_approve", args=[reveal.pk]))
    reveal.refresh_from_db()
    assert reveal.revealed_at is not None and reveal.approved_by == setup.chair
    hr_page.goto(desk)
    table = hr_page.get_by_test_id("reveal-table")
    for script in Script.objects.select_related("application"):
        row = table.locator("tr", has_text=script.code)
        expect(row).to_contain_text(script.application.display_name)
    expect(table.locator("tr", has_text=first)).to_contain_text("74")
