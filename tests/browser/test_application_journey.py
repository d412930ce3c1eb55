"""From sign-up to the published eligible list, in a real browser."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from candidates.models import Application
from tests.browser.helpers import sign_in, sign_in_staff, submit_form
from tests.conftest import PASSWORD, pdf_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_candidate_applies_hr_screens_and_publishes_the_eligible_list(
    page: Page, live_server, make_post, hr_officer, tmp_path
) -> None:
    base = live_server.url
    post = make_post(min_rating_years=None, full_term_years=5)

    # Sign up, verify the e-mail address, sign in.
    page.goto(f"{base}/accounts/signup/")
    page.fill("input[name=full_name]", "Nguyễn Thị Mai Anh")
    page.fill("input[name=email]", "maianh@example.vn")
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.locator("main form button[type=submit]").first.click()
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body).group(0)
    page.goto(re.sub(r"^https?://[^/]+", base, link))
    page.locator("main form button[type=submit]").first.click()
    sign_in(page, base, "maianh@example.vn")

    # The profile, once.
    page.goto(f"{base}{reverse('profile_edit')}")
    fields = {
        "full_name": "Nguyễn Thị Mai Anh", "date_of_birth": "1982-04-09", "citizen_id": "049182000123",
        "ethnicity": "Kinh", "phone": "0905123456", "address": "12 Phan Chu Trinh, Tam Kỳ",
        "degree_field": "Y tế công cộng", "degree_institution": "Đại học Y Dược Huế", "degree_year": "2005",
        "service_start": "2006-09-01", "current_organisation": "Bệnh viện Đa khoa tỉnh Quảng Nam",
        "current_position": "Trưởng khoa", "current_post_since": "2019-01-01",
        "jobs-0-organisation": "Bệnh viện Đa khoa tỉnh", "jobs-0-position": "Trưởng khoa",
        "jobs-0-start": "2019-01-01",
    }  # fmt: skip
    for name, value in fields.items():
        page.fill(f"[name='{name}']", value)
    page.select_option("[name=gender]", "female")
    page.select_option("[name=degree_level]", "3")
    page.select_option("[name=political_theory]", "3")
    page.select_option("[name=state_management]", "2")
    page.select_option("[name=language_level]", "4")
    page.check("[name=in_succession_plan]")
    page.check("[name='jobs-0-is_management']")
    page.locator("form.profile-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/me/$"))

    # Apply, upload the dossier, submit.
    page.goto(f"{base}/posts/{post.pk}/")
    submit_form(page, reverse("application_start", args=[post.pk]))
    application = Application.objects.get(post=post)
    pdf = tmp_path / "ho-so.pdf"
    pdf.write_bytes(pdf_bytes("Hồ sơ dự tuyển"))
    for doc_type in post.required_documents:
        page.select_option("[name=doc_type]", doc_type)
        page.set_input_files("input[name=file]", str(pdf))
        submit_form(page, reverse("document_upload", args=[application.public_id]))
    expect(page.locator("main table tbody tr")).to_have_count(len(post.required_documents))
    submit_form(page, reverse("application_submit", args=[application.public_id]))
    expect(page.get_by_test_id("timeline").locator("li")).to_have_count(2)
    application.refresh_from_db()
    assert application.status == "submitted"

    # The window closes; HR screens and publishes.
    post.application_closes = timezone.now() - timedelta(minutes=1)
    post.save()
    context = page.context.browser.new_context()
    hr_page = context.new_page()
    sign_in_staff(hr_page, base, hr_officer)
    hr_page.goto(f"{base}{reverse('screening_queue', args=[post.pk])}")
    row_link = hr_page.locator(f"a[href='{reverse('screening_detail', args=[application.public_id])}']")
    expect(row_link).to_have_text("Nguyễn Thị Mai Anh")
    row_link.click()
    hr_page.locator("input[name=eligible][value='1']").check()
    submit_form(hr_page, reverse("screening_decide", args=[application.public_id]))
    application.refresh_from_db()
    assert application.status == "eligible"
    hr_page.goto(f"{base}{reverse('screening_queue', args=[post.pk])}")
    hr_page.locator("main details summary").first.click()
    submit_form(hr_page, reverse("screening_publish", args=[post.pk]))
    post.refresh_from_db()
    assert post.eligible_list_published_at is not None

    # The candidate sees the decision; the public list shows the name.
    page.goto(f"{base}{reverse('application_detail', args=[application.public_id])}")
    expect(page.get_by_test_id("timeline").locator("li")).to_have_count(3)
    public = context.new_page()
    public.context.clear_cookies()
    public.goto(f"{base}/posts/{post.pk}/eligible/")
    expect(public.locator("main")).to_contain_text("Nguyễn Thị Mai Anh")
