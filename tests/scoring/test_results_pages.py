"""Results pages: public lists, the candidate's own page, the council's review, who may see what."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from exams.models import Campaign
from scoring import results
from scoring.models import ResultSet, TieDecision
from tests.conftest import client_for
from tests.scoring.test_results_support import generate_certificates, mark_campaign, publish, use_certificate_keys

pytestmark = pytest.mark.django_db

AN, BINH, CUONG = "Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def marked(make_post):
    return mark_campaign(make_post, {AN: ("72.5", "81.3"), BINH: ("60", "70"), CUONG: ("40", None)})


def test_the_public_page_shows_the_published_list_to_anyone(marked) -> None:
    url = reverse("results_post", args=[marked.post.pk])
    assert b'data-testid="no-results"' in Client().get(url, **EN).content
    result_set = publish(marked)
    page = Client().get(url, **EN)
    assert page.status_code == 200
    body = page.content.decode()
    for text in (AN, BINH, CUONG, "72.5", "81.3", "76.9", "Winner", "Not admitted to the next part"):
        assert text in body
    assert result_set.content_hash in body
    assert body.index(AN) < body.index(BINH) < body.index(CUONG)  # ranked first, then those without a rank


def test_unpublished_versions_and_unannounced_posts_are_not_public(marked) -> None:
    draft = results.prepare_results(campaign=marked.campaign, by=marked.hr)
    assert Client().get(reverse("results_post_version", args=[marked.post.pk, draft.version])).status_code == 404
    assert AN.encode() not in Client().get(reverse("results_post", args=[marked.post.pk])).content
    Campaign.objects.filter(pk=marked.campaign.pk).update(status="draft")
    assert Client().get(reverse("results_post", args=[marked.post.pk])).status_code == 404


def test_the_review_page_walks_prepare_approve_publish(marked) -> None:
    hr, chair = client_for(marked.hr), client_for(marked.chair)
    review = reverse("results_review", args=[marked.campaign.pk])
    assert b"Prepare the results" in hr.get(review, **EN).content
    hr.post(reverse("results_prepare", args=[marked.campaign.pk]))
    draft = ResultSet.objects.get()
    response = hr.post(reverse("results_publish", args=[draft.pk]), follow=True, **EN)
    assert b"Results must be approved by the council chair before publication." in response.content
    assert b"Approve version 1" not in hr.get(review, **EN).content  # HR prepared it: not theirs to approve
    assert b"Approve version 1" in chair.get(review, **EN).content
    chair.post(reverse("results_approve", args=[draft.pk]))
    response = chair.post(reverse("results_publish", args=[draft.pk]), follow=True, **EN)
    assert b"Version 1 is published" in response.content
    again = hr.post(reverse("results_publish", args=[draft.pk]), follow=True, **EN)
    assert b"This version has already been published." in again.content
    draft.refresh_from_db()
    assert draft.status == "published"


def test_the_review_shows_the_difference_against_the_published_version(marked) -> None:
    publish(marked)
    from scoring.models import Resolution

    current = Resolution.objects.get(application=marked.by_name[BINH], part_code="oral", is_current=True)
    Resolution.objects.filter(pk=current.pk).update(is_current=False)
    current.pk, current.value, current.is_current = None, 75, True
    current.save()
    results.prepare_results(campaign=marked.campaign, by=marked.hr, reason="Sửa lỗi cộng điểm")
    page = client_for(marked.chair).get(reverse("results_review", args=[marked.campaign.pk]), **EN).content.decode()
    assert 'data-testid="diff"' in page and "70.0" in page and "75.0" in page


def test_only_the_council_reads_the_review(marked) -> None:
    review = reverse("results_review", args=[marked.campaign.pk])
    assert client_for(marked.marking.examiners[0]).get(review).status_code == 403
    assert client_for(marked.by_name[AN].candidate).get(review).status_code == 403
    assert Client().get(review).status_code == 302
    from tests.scoring.builders import staff

    supervisor = staff("supervisor.results@example.vn", "Supervisor")
    assert client_for(supervisor).get(review).status_code == 200
    assert client_for(supervisor).post(reverse("results_prepare", args=[marked.campaign.pk])).status_code == 403


def test_the_chair_decides_a_tie_on_the_review_page(make_post) -> None:
    setup = mark_campaign(make_post, {AN: ("70", "80"), BINH: ("70", "80")})
    draft = results.prepare_results(campaign=setup.campaign, by=setup.hr)
    chair = client_for(setup.chair)
    page = chair.get(reverse("results_review", args=[setup.campaign.pk]), **EN).content.decode()
    assert 'data-testid="tie-group"' in page and "Record the decision" in page
    an, binh = (str(setup.by_name[n].public_id) for n in (AN, BINH))
    url = reverse("results_tie_decide", args=[draft.pk, setup.post.pk])
    same = chair.post(
        url,
        {"group": "0", f"tie0-position_{an}": "1", f"tie0-position_{binh}": "1", "tie0-reason": "x"},
        follow=True,
        **EN,
    )
    assert b"Give each candidate a different position." in same.content
    chair.post(
        url,
        {"group": "0", f"tie0-position_{an}": "2", f"tie0-position_{binh}": "1", "tie0-reason": "Nhiều năm quản lý"},
    )
    assert TieDecision.objects.get().order == [binh, an]
    assert draft.entries.get(application=setup.by_name[BINH]).outcome == "winner"


def test_the_candidate_sees_marks_proof_and_certificate(marked, settings, tmp_path) -> None:
    use_certificate_keys(settings, tmp_path)
    result_set = publish(marked)
    generate_certificates(result_set)
    client = client_for(marked.by_name[AN].candidate)
    page = client.get(reverse("my_results"), **EN).content.decode()
    assert "Total = (72.5 × 1 + 81.3 × 1) ÷ 2 = 76.9" in page and "Ranked 1 of 2" in page
    serial = result_set.entries.get(application=marked.by_name[AN]).certificate.serial
    assert reverse("certificate_download", kwargs={"serial": serial}) in page
    assert BINH not in page  # only their own result
    assert client.get(reverse("certificate_download", kwargs={"serial": serial})).status_code == 200
