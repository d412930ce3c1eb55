"""The results demo: published with certificates and one appeal in progress, and idempotent."""

from __future__ import annotations

import pytest

from accounts.demo import seed_accounts
from audit.services import verify_chain
from scoring.models import Appeal, Certificate, ResultSet
from scoring.results_demo import RESULTS_DEMO_TITLE, seed_results_demo
from tests.scoring.test_results_support import use_certificate_keys

pytestmark = pytest.mark.django_db


def test_the_demo_is_published_certified_with_an_appeal_in_progress_and_idempotent(settings, tmp_path) -> None:
    use_certificate_keys(settings, tmp_path)
    accounts = seed_accounts()
    staff = {user.email: user for user in accounts["staff"]}
    kwargs = {
        "hr": staff["hr@demo.hientai.vn"],
        "chair": staff["chair@demo.hientai.vn"],
        "examiners": [staff[f"examiner{i}@demo.hientai.vn"] for i in (1, 2, 3)],
        "candidates": accounts["candidates"],
    }
    campaign = seed_results_demo(**kwargs)
    assert campaign.title == RESULTS_DEMO_TITLE
    published = ResultSet.objects.get(campaign=campaign, status="published")
    outcomes = sorted(published.entries.values_list("outcome", flat=True))
    assert outcomes == ["absent", "not_reached", "passed", "passed", "passed", "winner", "winner"]
    assert Certificate.objects.filter(entry__result_set=published, status="valid").count() == 7
    assert published.certificate_batches.get().status == "done"
    appeal = Appeal.objects.get()
    assert appeal.status == "assigned" and appeal.remarker is not None
    again = seed_results_demo(**kwargs)
    assert again == campaign and ResultSet.objects.count() == 1 and Appeal.objects.count() == 1
    assert verify_chain().ok
