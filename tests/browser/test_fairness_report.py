"""The fairness report of the demo campaign, in a real browser: plots drawn, text alternatives reachable."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from accounts.roles import Role
from scoring.fairness_demo import seed_fairness_demo
from tests.browser.helpers import sign_in_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_hr_opens_the_demo_fairness_report_and_sees_its_plots(
    page: Page, live_server, hr_officer, chair, make_user
) -> None:
    examiners = [
        make_user(f"giamkhao{i}@example.vn", Role.EXAMINER, full_name=name)
        for i, name in enumerate(("Phạm Minh Đức", "Võ Thị Ngọc Ánh", "Huỳnh Tấn Lợi"))
    ]
    run = seed_fairness_demo(hr=hr_officer, chair=chair, examiners=examiners)
    base = live_server.url
    sign_in_staff(page, base, hr_officer)

    page.goto(f"{base}{reverse('fairness_runs', args=[run.campaign_id])}")
    expect(page.locator("[data-testid=runs] [data-status=done]")).to_have_count(1)
    expect(page.locator("form[data-testid=start-run]")).to_be_visible()
    page.locator(f"a[href='{reverse('fairness_run', args=[run.campaign_id, run.pk])}']").click()

    plots = page.locator("figure svg[role=img]")
    expect(plots).to_have_count(2)
    for index in range(2):
        plot = plots.nth(index)
        plot.scroll_into_view_if_needed()
        expect(plot).to_be_visible()
        box = plot.bounding_box()
        assert box is not None and box["width"] > 250 and box["height"] > 120
        # The accessible name comes from the caption (and the data table).
        for element_id in plot.get_attribute("aria-labelledby").split():
            expect(page.locator(f"#{element_id}")).to_have_count(1)
    expect(page.locator("[data-testid=distribution-plot] svg text", has_text="Tiểu ban B")).to_be_visible()
    expect(page.locator("[data-testid=severity-plot] svg text", has_text="Phạm Minh Đức")).to_be_visible()

    page.locator("[data-testid=severity-plot] details summary").click()
    expect(page.locator("#severity-table")).to_be_visible()
    expect(page.locator("#severity-table tbody tr")).to_have_count(3)  # the chair here is no examiner
    expect(page.locator("[data-testid=ranking-basis]")).to_be_visible()
    expect(page.locator("[data-testid=winner-changes]")).to_be_visible()
    expect(page.locator("[data-testid=ranking] tr.differs").first).to_be_visible()
