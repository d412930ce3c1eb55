"""The screening queue and the public eligible list cost a bounded number of queries at any size."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from candidates.models import Application, CriterionCheck
from tests.candidates.builders import bulk_submitted
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

MAX_QUERIES = 15


@pytest.fixture
def crowded_post(make_post):
    post = make_post(opens_in_days=-30, closes_in_days=-1)
    bulk_submitted(post, 10_000)
    return post


def test_the_queue_of_ten_thousand_applications_renders_in_a_bounded_number_of_queries(
    hr_officer, crowded_post, django_assert_max_num_queries
) -> None:
    assert Application.objects.filter(post=crowded_post).count() == 10_000
    assert CriterionCheck.objects.filter(application__post=crowded_post).count() == 20_000
    client = client_for(hr_officer)
    url = reverse("screening_queue", args=[crowded_post.pk])
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(url, {"page": 7}, HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('href="/hr/applications/') == 50
    assert "10000 applications" in html or "10,000 applications" in html
    with django_assert_max_num_queries(MAX_QUERIES):
        filtered = client.get(url, {"auto": "failed", "q": "Nguyễn Văn 0", "page": 2})
    assert filtered.status_code == 200
    assert filtered.content.decode().count('href="/hr/applications/') == 50


def test_the_public_list_of_thousands_of_eligible_candidates_is_bounded(
    make_post, django_assert_max_num_queries
) -> None:
    post = make_post(opens_in_days=-30, closes_in_days=-1)
    bulk_submitted(post, 5_000, eligible=True)
    post.eligible_list_published_at = timezone.now()
    post.save()
    with django_assert_max_num_queries(5):
        response = Client().get(reverse("eligible_list", args=[post.pk]), HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("<li>Nguyễn Văn ") == 5_000
    assert "candidates are eligible" in html
