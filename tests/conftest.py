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


def client_for(user: User, language: str = "en") -> Client:
    """A client signed in as the user, past MFA (force_login marks the session authenticated).

    It asks for English by default, so tests can compare messages with their source strings;
    the Vietnamese default is tested where it matters with language="vi".
    """
    client = Client(headers={"accept-language": language})
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


# --- Campaigns, posts and candidates' profiles --------------------------------


@pytest.fixture
def organisation(db: None):
    from exams.models import Organisation

    province = Organisation.objects.create(name="UBND tỉnh Quảng Nam", kind=Organisation.Kind.PROVINCE)
    return Organisation.objects.create(name="Sở Y tế", kind=Organisation.Kind.DEPARTMENT, parent=province)


@pytest.fixture
def make_post(organisation):
    from datetime import timedelta

    from django.utils import timezone

    from exams.models import Campaign, Post

    def make(
        *, opens_in_days: float = -1, closes_in_days: float = 10, status: str = Campaign.Status.ANNOUNCED, **fields
    ):
        now = timezone.now()
        campaign = Campaign.objects.create(
            title=fields.pop("campaign_title", "Thi tuyển lãnh đạo 2026"),
            authority=organisation.parent,
            status=status,
            announced_at=None if status == Campaign.Status.DRAFT else now - timedelta(days=5),
        )
        defaults = {
            "title": "Phó Giám đốc Sở Y tế",
            "vacancies": 1,
            "application_opens": now + timedelta(days=opens_in_days),
            "application_closes": now + timedelta(days=closes_in_days),
            "min_rating_years": None,
            "min_degree": 2,
        }
        return Post.objects.create(campaign=campaign, organisation=organisation, **{**defaults, **fields})

    return make


@pytest.fixture
def open_post(make_post):
    return make_post()


PROFILE_DEFAULTS = {
    "date_of_birth": "1980-05-17",
    "gender": "male",
    "ethnicity": "Kinh",
    "phone": "0905123456",
    "address": "12 Phan Chu Trinh, Tam Kỳ",
    "degree_level": 3,
    "degree_field": "Y tế công cộng",
    "degree_institution": "Đại học Y Dược Huế",
    "degree_year": 2003,
    "political_theory": 3,
    "state_management": 2,
    "language_level": 4,
    "service_start": "2004-09-01",
    "current_organisation": "Bệnh viện Đa khoa tỉnh Quảng Nam",
    "current_position": "Trưởng khoa",
    "current_post_since": "2018-01-01",
    "in_succession_plan": True,
    "nominated": False,
    "discipline_in_force": False,
}


@pytest.fixture
def make_profile(db: None):
    from datetime import date

    from candidates.models import CandidateProfile, WorkHistory

    def make(user: User, *, citizen_id: str = "049080000001", **fields) -> CandidateProfile:
        data = {**PROFILE_DEFAULTS, **fields}
        for key in ("date_of_birth", "service_start", "current_post_since"):
            if isinstance(data.get(key), str):
                data[key] = date.fromisoformat(data[key])
        profile = CandidateProfile.objects.create(user=user, full_name=user.full_name, citizen_id=citizen_id, **data)
        WorkHistory.objects.create(
            profile=profile,
            organisation="Bệnh viện Đa khoa tỉnh",
            position="Trưởng khoa",
            start=date(2018, 1, 1),
            is_management=True,
        )
        return profile

    return make


def run_queued_tasks() -> int:
    """Runs what the database task queue holds, in order, as the worker would; returns how many ran.

    In the test's own transaction: `manage.py db_worker` would close the test's connection on PostgreSQL.
    The worker itself is tested in tests/accounts/test_platform.py and tests/scoring/test_certificate_tasks.py.
    """
    from django_tasks_db.models import DBTaskResult

    ran = 0
    while queued := DBTaskResult.objects.filter(status="READY").order_by("enqueued_at").first():
        queued.claim("test")
        arguments = queued.args_kwargs
        queued.set_successful(queued.task.call(*arguments["args"], **arguments["kwargs"]))
        ran += 1
    return ran


def pdf_bytes(text: str = "Sơ yếu lý lịch") -> bytes:
    import io

    from reportlab.pdfgen.canvas import Canvas

    buffer = io.BytesIO()
    canvas = Canvas(buffer)
    canvas.drawString(72, 720, text)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def english_outside_requests():
    """Messages built outside a request (services, tasks) compare with their English source.

    Without it, the language a previous test's request left active would leak into the next test.
    Requests still choose their own language (LocaleMiddleware), and Vietnamese is tested explicitly.
    """
    from django.utils import translation

    with translation.override("en"):
        yield
