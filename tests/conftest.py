"""Shared fixtures: named actors for each role, a TOTP helper, and the browser set-up."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.contrib.auth.models import Group
from django.test import Client

from accounts.models import User
from accounts.roles import Role

# Playwright's sync API runs an event loop in the test thread; the ORM calls the
# tests make between page actions are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "Correct-Horse-42"

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def totp_now(secret: str, offset: int = 0) -> str:
    import time

    return format_hotp_value(hotp_value(secret, int(time.time()) // 30 + offset))


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    def make(
        email: str,
        *roles: Role,
        full_name: str = "",
        password: str = PASSWORD,
        mfa_secret: str | None = None,
        verified: bool = True,
    ) -> User:
        user = User.objects.create_user(email=email, password=password, full_name=full_name or email.split("@")[0])
        # get_or_create: transactional (browser) tests flush the groups the data migration made.
        user.groups.set([Group.objects.get_or_create(name=r.value)[0] for r in roles])
        EmailAddress.objects.create(user=user, email=user.email, verified=verified, primary=True)
        if mfa_secret:
            TOTP.activate(user, mfa_secret)
        return user

    return make


@pytest.fixture
def candidate(make_user: Callable[..., User]) -> User:
    return make_user("an.nguyen@example.vn", Role.CANDIDATE, full_name="Nguyễn Văn An")


@pytest.fixture
def hr_officer(make_user: Callable[..., User]) -> User:
    return make_user("hr@example.vn", Role.HR, full_name="Trần Thị Hà", mfa_secret=generate_totp_secret())


@pytest.fixture
def chair(make_user: Callable[..., User]) -> User:
    return make_user("chair@example.vn", Role.CHAIR, full_name="Lê Văn Chủ", mfa_secret=generate_totp_secret())


@pytest.fixture
def examiner(make_user: Callable[..., User]) -> User:
    return make_user(
        "examiner@example.vn", Role.EXAMINER, full_name="Phạm Giám Khảo", mfa_secret=generate_totp_secret()
    )


@pytest.fixture
def supervisor(make_user: Callable[..., User]) -> User:
    return make_user(
        "supervisor@example.vn", Role.SUPERVISOR, full_name="Đặng Giám Sát", mfa_secret=generate_totp_secret()
    )


def client_for(user: User) -> Client:
    """A client signed in as the user, past MFA (force_login marks the session authenticated)."""
    client = Client()
    client.force_login(user)
    return client


def totp_secret_of(user: User) -> str:
    from allauth.mfa.utils import decrypt

    return decrypt(Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP).data["secret"])


# --- Browser tests -----------------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    if not CHROMIUM:
        message = "Debian's chromium is not installed (apt-get install -y chromium): browser tests cannot run"
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture
def browser_context_args(browser_context_args: dict) -> dict:
    return {**browser_context_args, "locale": "vi-VN", "timezone_id": "Asia/Ho_Chi_Minh"}


@pytest.fixture(autouse=True)
def fast_password_hashing(settings) -> None:
    # PBKDF2 at production strength costs ~0.3 s a hash; the suite hashes hundreds.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def require_service(url_variable: str, what: str) -> str:
    """The URL of a real service for this test, or a loud skip (a failure in CI)."""
    url = os.environ.get(url_variable, "")
    if not url:
        message = f"{what} is not configured ({url_variable} unset): this test needs the real service"
        if os.environ.get("REQUIRE_SERVICES"):
            pytest.fail(message)
        pytest.skip(message)
    return url
