"""Every page linked from each demo account's home answers without a server error."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.test import Client

from accounts.models import User
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

LINK = re.compile(r'href="(/[^"#?]*)"')
SKIP = ("/static/", "/accounts/logout", "/admin/")


def walk(client: Client, start: str, depth: int = 2) -> dict[str, int]:
    seen: dict[str, int] = {}
    frontier = [start]
    for _ in range(depth):
        following = []
        for url in frontier:
            if url in seen or url.startswith(SKIP):
                continue
            response = client.get(url)
            seen[url] = response.status_code
            if response.status_code == 200 and "text/html" in response.get("Content-Type", ""):
                following += LINK.findall(response.content.decode())
        frontier = following
    return seen


@pytest.mark.parametrize(
    "email",
    [
        "hr@demo.hientai.vn",
        "chair@demo.hientai.vn",
        "examiner1@demo.hientai.vn",
        "supervisor@demo.hientai.vn",
        "ungvien01@demo.hientai.vn",
        "ungvien22@demo.hientai.vn",
    ],
)
def test_every_page_a_demo_account_reaches_answers_without_error(email: str, settings) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    call_command("seed_demo", force=True, quiet_accounts=True)
    statuses = walk(client_for(User.objects.get(email=email), language="vi"), "/")
    errors = {url: code for url, code in statuses.items() if code >= 500}
    assert not errors
    assert len(statuses) > 10


def test_the_public_pages_answer_without_error(settings) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    call_command("seed_demo", force=True, quiet_accounts=True)
    statuses = walk(Client(), "/", depth=3)
    assert not {url: code for url, code in statuses.items() if code >= 500}
    assert sum(code == 200 for code in statuses.values()) > 10
