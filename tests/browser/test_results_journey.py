"""From marks to published results, a certificate and an appeal that publishes version 2, in a real browser."""

from __future__ import annotations

import time

import pytest
from allauth.account.models import EmailAddress
from django.urls import reverse
from playwright.sync_api import Browser, Page, expect

from scoring import appeals
from scoring.certificates import certificate_token
from scoring.models import Appeal, Certificate, ResultSet
from tests.browser.helpers import sign_in, sign_in_staff, submit_form
from tests.conftest import PASSWORD
from tests.scoring.test_results_support import mark_campaign, use_certificate_keys

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AN, BINH = "Nguyễn Văn An", "Trần Thị Bình"


def sign_in_with_totp(page: Page, base: str, user) -> None:
    """A TOTP code is valid for its 30-second period only: never type one in the period's last seconds."""
    left = 30 - time.time() % 30
    if left < 6:
        time.sleep(left + 0.5)
    sign_in_staff(page, base, user)


def can_sign_in(user) -> None:
    user.set_password(PASSWORD)
    user.save()
    EmailAddress.objects.get_or_create(user=user, email=user.email, defaults={"verified": True, "primary": True})


@pytest.fixture
def new_page(browser: Browser, browser_context_args: dict):
    """One browser context per person: each signs in once (a TOTP code is accepted once)."""
    contexts = []

    def make() -> Page:
        contexts.append(browser.new_context(**browser_context_args))
        return contexts[-1].new_page()

    yield make
    # Closed before the live server stops, so no keep-alive request outlives the test's database.
    for context in contexts:
        context.close()


def test_results_are_published_certified_appealed_and_republished(
    new_page, live_server, make_post, settings, tmp_path
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    use_certificate_keys(settings, tmp_path)
    base = live_server.url
    setup = mark_campaign(make_post, {AN: ("70", "80"), BINH: ("72", "80")})
    for user in (setup.hr, setup.chair, *setup.marking.examiners, setup.by_name[AN].candidate):
        can_sign_in(user)
    campaign, post = setup.campaign, setup.post
    review = f"{base}{reverse('results_review', args=[campaign.pk])}"

    # HR prepares.
    hr = new_page()
    sign_in_with_totp(hr, base, setup.hr)
    hr.goto(review)
    submit_form(hr, reverse("results_prepare", args=[campaign.pk]))
    expect(hr.get_by_test_id("draft-status")).to_have_attribute("data-status", "draft")
    draft = ResultSet.objects.get()

    # The chair (another person) approves and publishes.
    chair = new_page()
    sign_in_with_totp(chair, base, setup.chair)
    chair.goto(review)
    submit_form(chair, reverse("results_approve", args=[draft.pk]))
    expect(chair.get_by_test_id("draft-status")).to_have_attribute("data-status", "approved")
    submit_form(chair, reverse("results_publish", args=[draft.pk]))
    draft.refresh_from_db()
    assert draft.status == "published"

    # Anyone sees the results.
    public = new_page()
    public.goto(f"{base}{reverse('results_post', args=[post.pk])}")
    table = public.get_by_test_id("results-table")
    expect(table).to_contain_text(AN)
    expect(table).to_contain_text(BINH)
    expect(table.locator("tbody tr").first).to_contain_text(BINH)  # 76.0 ahead of 75.0
    expect(public.get_by_test_id("version-status")).to_have_attribute("data-version", "1")

    # The candidate downloads the certificate; the verification page says it is valid.
    candidate = new_page()
    sign_in(candidate, base, setup.by_name[AN].candidate.email)
    candidate.goto(f"{base}{reverse('my_results')}")
    expect(candidate.get_by_test_id("rank-proof")).to_be_visible()
    with candidate.expect_download() as download:
        candidate.get_by_test_id("certificate-link").click()
    with open(download.value.path(), "rb") as handle:
        assert handle.read(4) == b"%PDF"
    certificate = Certificate.objects.get(entry__application=setup.by_name[AN], entry__result_set=draft)
    public.goto(f"{base}{reverse('certificate_verify', args=[certificate_token(certificate)])}")
    expect(public.get_by_test_id("verdict")).to_have_attribute("data-state", "valid")

    # The candidate appeals the written part.
    candidate.goto(f"{base}{reverse('my_results')}")
    prefix = str(setup.by_name[AN].public_id)
    candidate.select_option(f"[name='{prefix}-part']", "written")
    candidate.fill(f"[name='{prefix}-reason']", "Tôi đề nghị phúc khảo bài thi viết.")
    submit_form(candidate, reverse("appeal_file", args=[setup.by_name[AN].public_id]))
    expect(candidate.get_by_test_id("my-appeals").locator("li")).to_have_attribute("data-status", "filed")
    appeal = Appeal.objects.get()
    remarker = next(e for e in setup.marking.examiners if e.pk not in appeals.original_markers(appeal))

    # HR assigns an examiner who did not mark the script; they re-mark it blind, by its code.
    appeals_desk = f"{base}{reverse('appeal_list', args=[campaign.pk])}"
    hr.goto(appeals_desk)
    hr.select_option("select[name=remarker]", str(remarker.pk))
    submit_form(hr, reverse("appeal_assign", args=[appeal.public_id]))
    code = appeals.remark_key(appeal)
    examiner = new_page()
    sign_in_with_totp(examiner, base, remarker)
    examiner.goto(f"{base}{reverse('remark_list')}")
    examiner.locator(f"a[href='{reverse('remark_enter', args=[code])}']").click()
    expect(examiner.locator("main")).not_to_contain_text(AN)
    examiner.fill("input[name=value]", "75")
    submit_form(examiner, reverse("remark_enter", args=[code]))
    appeal.refresh_from_db()
    assert appeal.status == "remarked"

    # HR records the outcome (the mean: 72.5), the chair approves: version 2 is published.
    hr.goto(appeals_desk)
    submit_form(hr, reverse("appeal_decide", args=[appeal.public_id]))
    chair.goto(appeals_desk)
    submit_form(chair, reverse("appeal_approve", args=[appeal.public_id]))
    assert ResultSet.objects.get(version=2).status == "published"

    # The candidate sees version 2, and version 1 marked superseded.
    candidate.goto(f"{base}{reverse('my_results')}")
    expect(candidate.get_by_test_id("outcome")).to_have_attribute("data-outcome", "winner")
    expect(candidate.get_by_test_id("rank-proof")).to_contain_text("72")
    candidate.locator(f"a[href='{reverse('results_post_version', args=[post.pk, 1])}']").click()
    expect(candidate.get_by_test_id("version-status")).to_have_attribute("data-status", "superseded")
    expect(candidate.get_by_test_id("superseded")).to_be_visible()
    candidate.goto(f"{base}{reverse('results_post', args=[post.pk])}")
    expect(candidate.get_by_test_id("version-status")).to_have_attribute("data-version", "2")
    expect(candidate.get_by_test_id("results-table").locator("tbody tr").first).to_contain_text(AN)
    public.goto(f"{base}{reverse('certificate_verify', args=[certificate_token(certificate)])}")
    expect(public.get_by_test_id("verdict")).to_have_attribute("data-state", "superseded")
