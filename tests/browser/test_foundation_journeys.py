"""Real browser journeys (Debian chromium through Playwright, against a live server)."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from accounts.models import User
from accounts.roles import Role
from tests.conftest import PASSWORD, totp_now

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page: Page, base: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password)
    page.locator("main form button[type=submit]").first.click()


def test_candidate_signs_up_verifies_by_email_and_reaches_their_home(page: Page, live_server) -> None:
    base = live_server.url
    page.goto(f"{base}/accounts/signup/")
    expect(page.locator("h1")).to_have_text("Đăng ký")
    page.fill("input[name=full_name]", "Nguyễn Thị Mai Anh")
    page.fill("input[name=email]", "mai.anh.signup@example.vn")
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.locator("main form button[type=submit]").first.click()
    expect(page.locator("h1")).to_contain_text("Xác nhận")

    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body).group(0)
    page.goto(link.replace("http://testserver", base).replace("https://testserver", base))
    page.locator("main form button[type=submit]").first.click()

    sign_in(page, base, "mai.anh.signup@example.vn")
    page.goto(f"{base}/")
    page.get_by_role("link", name="Hồ sơ dự tuyển của tôi").first.click()
    expect(page.locator("h1")).to_have_text("Hồ sơ dự tuyển của tôi")
    expect(page.locator("main")).to_contain_text("Nguyễn Thị Mai Anh")


def test_staff_without_mfa_sets_it_up_then_must_give_a_code_at_next_login(make_user, page: Page, live_server) -> None:
    make_user("examiner.new@example.vn", Role.EXAMINER, full_name="Phạm Minh Đức")
    base = live_server.url
    sign_in(page, base, "examiner.new@example.vn")
    page.goto(f"{base}/examiner/")
    # Sent to set up TOTP; allauth first asks to confirm the password.
    if "/reauthenticate/" in page.url:
        page.fill("input[name=password]", PASSWORD)
        page.locator("main form button[type=submit]").first.click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/totp/activate/"))
    secret = page.locator("#authenticator_secret").input_value()
    page.fill("input[name=code]", totp_now(secret))
    page.locator("main form button[type=submit]").first.click()
    page.goto(f"{base}/examiner/")
    expect(page).to_have_url(re.compile(r"/examiner/campaigns/$"))  # the examiner's workspace

    page.locator("summary").click()
    page.get_by_role("button", name="Đăng xuất").click()
    sign_in(page, base, "examiner.new@example.vn")
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
    page.goto(f"{base}/examiner/")  # not signed in without the code
    expect(page).to_have_url(re.compile(r"/accounts/(login|2fa/authenticate)/"))
    if "/login/" in page.url:
        sign_in(page, base, "examiner.new@example.vn")
    page.fill("input[name=code]", totp_now(secret))
    page.locator("main form button[type=submit]").first.click()
    page.goto(f"{base}/examiner/")
    expect(page).to_have_url(re.compile(r"/examiner/campaigns/$"))  # the examiner's workspace
    assert User.objects.get(email="examiner.new@example.vn").authenticator_set.count() >= 1


def test_language_switch_changes_the_interface_to_english_and_back(page: Page, live_server) -> None:
    base = live_server.url
    page.goto(f"{base}/")
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(page.get_by_role("link", name="Đăng nhập")).to_be_visible()
    page.select_option("#language-select", "en")
    page.get_by_role("button", name="Đổi").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    page.select_option("#language-select", "vi")
    page.get_by_role("button", name="Change").click()
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(page.get_by_role("link", name="Đăng nhập")).to_be_visible()
