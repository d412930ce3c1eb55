"""What the public sees: announced campaigns and posts, the window in Vietnam time, the eligible list."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from candidates.models import Application
from exams.models import Campaign
from tests.candidates.builders import decided, submitted
from tests.conftest import client_for

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def test_only_announced_campaigns_are_listed(make_post) -> None:
    make_post(campaign_title="Kỳ thi đã công bố")
    make_post(campaign_title="Kỳ thi còn nháp", status=Campaign.Status.DRAFT)
    page = Client().get(reverse("campaign_list")).content.decode()
    assert "Kỳ thi đã công bố" in page
    assert "Kỳ thi còn nháp" not in page


def test_a_draft_campaign_and_its_posts_are_404_to_the_public(make_post, candidate) -> None:
    post = make_post(status=Campaign.Status.DRAFT)
    for client in (Client(), client_for(candidate)):
        assert client.get(reverse("campaign_detail", args=[post.campaign_id])).status_code == 404
        assert client.get(reverse("post_detail", args=[post.pk])).status_code == 404
        assert client.get(reverse("eligible_list", args=[post.pk])).status_code == 404


def test_the_window_is_shown_in_vietnam_time(make_post, settings) -> None:
    settings.TIME_ZONE = "UTC"
    utc = ZoneInfo("UTC")
    post = make_post()
    post.application_opens = datetime(2026, 3, 1, 18, 30, tzinfo=utc)  # 02/03 01:30 in Vietnam
    post.application_closes = datetime(2026, 3, 16, 10, 0, tzinfo=utc)  # 16/03 17:00 in Vietnam
    post.save()
    page = Client().get(reverse("post_detail", args=[post.pk]), **EN).content.decode()
    assert "02/03/2026 01:30" in page and "16/03/2026 17:00" in page
    assert "Vietnam time" in page
    assert 'datetime="2026-03-02T01:30:00+07:00"' in page
    assert "01/03/2026 18:30" not in page


def test_the_post_page_states_the_standards_in_words(make_post) -> None:
    post = make_post(
        min_years_service=5, min_political_theory=3, standards_text="Có phẩm chất chính trị tốt.", min_rating_years=3
    )
    page = Client().get(reverse("post_detail", args=[post.pk]), **EN).content.decode()
    assert "Degree: Bachelor (đại học) or higher." in page
    assert "Political theory: Advanced (cao cấp) or higher." in page
    assert "At least 5 years in public service." in page
    assert "in each of the last 3 years" in page
    assert "No disciplinary measure in force." in page
    assert "Có phẩm chất chính trị tốt." in page
    assert "Health certificate" in page
    assert "Vacancies" in page and "Sở Y tế" in page


def test_signed_in_candidates_get_an_apply_button_while_the_window_is_open(open_post, candidate) -> None:
    apply_url = reverse("application_start", args=[open_post.pk])
    page = client_for(candidate).get(reverse("post_detail", args=[open_post.pk]), **EN).content.decode()
    assert f'action="{apply_url}"' in page and 'method="post"' in page

    anonymous = Client().get(reverse("post_detail", args=[open_post.pk]), **EN).content.decode()
    assert apply_url not in anonymous
    assert f"{reverse('account_login')}?next=" in anonymous and "Sign in to apply" in anonymous


def test_a_candidate_who_applied_is_sent_to_their_application(open_post, candidate) -> None:
    application = Application.objects.create(candidate=candidate, post=open_post)
    page = client_for(candidate).get(reverse("post_detail", args=[open_post.pk])).content.decode()
    assert reverse("application_detail", args=[application.public_id]) in page
    assert reverse("application_start", args=[open_post.pk]) not in page


@pytest.mark.parametrize(("opens", "closes", "text"), [(-10, -1, "Applications are closed."), (2, 10, "not open yet")])
def test_no_apply_button_outside_the_window(make_post, candidate, opens, closes, text) -> None:
    post = make_post(opens_in_days=opens, closes_in_days=closes)
    page = client_for(candidate).get(reverse("post_detail", args=[post.pk]), **EN).content.decode()
    assert reverse("application_start", args=[post.pk]) not in page
    assert text in page


def test_the_eligible_list_is_404_until_published(make_post) -> None:
    post = make_post(opens_in_days=-10, closes_in_days=-1)
    decided(submitted(post, "Nguyễn Văn An"), eligible=True)
    response = Client().get(reverse("eligible_list", args=[post.pk]))
    assert response.status_code == 404
    post_page = Client().get(reverse("post_detail", args=[post.pk])).content.decode()
    assert reverse("eligible_list", args=[post.pk]) not in post_page


def test_the_published_list_names_the_eligible_only_in_vietnamese_order(make_post) -> None:
    post = make_post(opens_in_days=-10, closes_in_days=-1)
    for name in ("Trần Văn Bình", "Nguyễn Thị Ánh", "Lê Văn An", "Đặng Thị Bích"):
        decided(submitted(post, name), eligible=True)
    decided(submitted(post, "Phạm Văn Loại"), eligible=False, reason="Chưa đủ thời gian công tác.")
    post.eligible_list_published_at = timezone.now()
    post.save()

    response = Client().get(reverse("eligible_list", args=[post.pk]), **EN)
    assert response.status_code == 200
    page = response.content.decode()
    order = [page.index(name) for name in ("Lê Văn An", "Nguyễn Thị Ánh", "Đặng Thị Bích", "Trần Văn Bình")]
    assert order == sorted(order)
    assert "4 candidates are eligible" in page
    assert "Phạm Văn Loại" not in page and "Chưa đủ thời gian" not in page
    assert "1980" not in page and "049080" not in page  # neither dates of birth nor citizen IDs
    post_page = Client().get(reverse("post_detail", args=[post.pk])).content.decode()
    assert reverse("eligible_list", args=[post.pk]) in post_page


def test_the_eligible_list_of_a_campaign_back_in_draft_is_404(make_post) -> None:
    post = make_post(opens_in_days=-10, closes_in_days=-1)
    post.eligible_list_published_at = timezone.now() - timedelta(days=1)
    post.save()
    Campaign.objects.filter(pk=post.campaign_id).update(status=Campaign.Status.DRAFT)
    assert Client().get(reverse("eligible_list", args=[post.pk])).status_code == 404
