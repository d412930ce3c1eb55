"""Steps shared by the browser journeys."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.conftest import PASSWORD, totp_now, totp_secret_of


def sign_in(page: Page, base: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password)
    page.locator("main form button[type=submit]").first.click()


def sign_in_staff(page: Page, base: str, user) -> None:
    """Password, then the TOTP code of the user's authenticator."""
    sign_in(page, base, user.email)
    page.wait_for_url("**/accounts/2fa/authenticate/")
    page.fill("input[name=code]", totp_now(totp_secret_of(user)))
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_load_state()


def sign_out(page: Page, base: str) -> None:
    page.context.clear_cookies()


def submit_form(page: Page, action: str) -> None:
    """Clicks the submit button of the form posting to `action` (independent of the language)."""
    page.locator(f"form[action='{action}'] button[type=submit]").first.click()
    page.wait_for_load_state()
