"""The fairness report: who may see it, what it shows, and the raw-vs-adjusted decision comparison."""

from __future__ import annotations

import re
from decimal import Decimal
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from exams.models import ExamRules, RankingBasis
from scoring import services
from scoring.fairness import Standing, compare_decision, create_run, run_normalisation
from scoring.fairness_demo import seed_fairness_demo
from scoring.models import Mark, MarkerAssignment, NormalisationRun, Script
from tests.conftest import client_for
from tests.scoring.builders import build_marking_setup, scripts_with_markers

pytestmark = pytest.mark.django_db

Status = NormalisationRun.Status


@pytest.fixture
def demo(make_user, hr_officer, chair) -> NormalisationRun:
    examiners = [
        make_user(f"giamkhao{i}@example.vn", Role.EXAMINER, full_name=name)
        for i, name in enumerate(("Phạm Minh Đức", "Võ Thị Ngọc Ánh", "Huỳnh Tấn Lợi"))
    ]
    return seed_fairness_demo(hr=hr_officer, chair=chair, examiners=examiners)


def english(user) -> Client:
    client = client_for(user)
    client.cookies["django_language"] = "en"
    return client


def run_url(run: NormalisationRun) -> str:
    return reverse("fairness_run", args=[run.campaign_id, run.pk])


# --- Access -------------------------------------------------------------------------------------


def test_hr_the_chair_and_the_supervisor_read_the_report_others_get_403(
    demo, hr_officer, chair, supervisor, examiner, candidate
) -> None:
    pages = [reverse("fairness_runs", args=[demo.campaign_id]), run_url(demo)]
    for user in (hr_officer, chair, supervisor):
        for url in pages:
            assert client_for(user).get(url).status_code == 200, (user, url)
    for user in (examiner, candidate):
        for url in pages:
            assert client_for(user).get(url).status_code == 403, (user, url)
    assert Client().get(pages[1]).status_code == 302  # to the login page


def test_a_run_of_another_campaign_is_not_found(demo, hr_officer, make_post) -> None:
    other = make_post(campaign_title="Another campaign").campaign
    assert client_for(hr_officer).get(reverse("fairness_run", args=[other.pk, demo.pk])).status_code == 404


def test_only_hr_gets_the_form_and_may_start_a_run(demo, hr_officer, chair, supervisor) -> None:
    runs = reverse("fairness_runs", args=[demo.campaign_id])
    start = reverse("fairness_start", args=[demo.campaign_id])
    assert b'data-testid="start-run"' in client_for(hr_officer).get(runs).content
    for user in (chair, supervisor):
        assert b'data-testid="start-run"' not in client_for(user).get(runs).content
        assert client_for(user).post(start, {"part_code": "oral", "method": "additive"}).status_code == 403
    data = {"part_code": "oral", "method": "robust", "severity_points": "2.5", "min_group": "3"}
    response = client_for(hr_officer).post(start, data)
    run = NormalisationRun.objects.get(campaign=demo.campaign, version=2)
    assert response.status_code == 302 and response["Location"] == run_url(run)
    assert run.method == "robust" and run.parameters == {"severity_points": 2.5, "min_group": 3}
    assert run.created_by == hr_officer


def test_a_refused_start_shows_the_reason_and_changes_nothing(demo, hr_officer) -> None:
    start = reverse("fairness_start", args=[demo.campaign_id])
    response = english(hr_officer).post(start, {"part_code": "written", "method": "additive", "severity_points": "3",
                                                "min_group": "3"})  # fmt: skip
    assert response.status_code == 400
    assert b"no submitted marks" in response.content
    response = english(hr_officer).post(start, {"part_code": "oral", "method": "additive", "severity_points": "-1",
                                                "min_group": "3"})  # fmt: skip
    assert response.status_code == 400
    assert NormalisationRun.objects.filter(campaign=demo.campaign).count() == 1


# --- What the report shows ----------------------------------------------------------------------


def test_the_plots_are_inline_svg_with_text_alternatives(demo, hr_officer) -> None:
    html = english(hr_officer).get(run_url(demo)).content.decode()
    svgs = re.findall(r"<svg[^>]*>", html)
    assert len(svgs) == 2
    for tag in svgs:
        assert 'role="img"' in tag
        ids = re.search(r'aria-labelledby="([^"]+)"', tag).group(1).split()
        assert len(ids) == 2
        for element_id in ids:
            assert f'id="{element_id}"' in html
        assert re.search(rf'<figcaption id="{ids[0]}">\s*\S', html)
        assert re.search(rf'<details>\s*<summary>[^<]+</summary>\s*<table class="table" id="{ids[1]}">', html)
    assert "<text" in html and "Tiểu ban A" in html.split("<svg")[1]  # text stays text
    assert "Phạm Minh Đức" in html.split("<svg")[2]
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "two inline SVGs share an element id"


def test_the_report_states_the_official_basis_and_the_diagnostics_in_words(demo, hr_officer) -> None:
    html = unescape(english(hr_officer).get(run_url(demo)).content.decode())
    assert "Official ranking basis: raw marks; this adjustment is advice." in html
    assert re.search(r"Tiểu ban B marked \d+\.\d ± \d+\.\d points harsher than average", html)
    assert re.search(r"Tiểu ban A marked \d+\.\d ± \d+\.\d points more leniently than average", html)
    assert re.search(r"examiners' marks agree (well|only moderately|poorly) \(ICC 0\.\d\d", html)
    assert "one connected design" in html
    assert "Krippendorff" in html
    ExamRules.objects.filter(campaign=demo.campaign).update(ranking_basis=RankingBasis.ADDITIVE)
    html = unescape(english(hr_officer).get(run_url(demo)).content.decode())
    assert "This run's method fits the rules" in html


def test_the_decision_section_lists_differing_pairs_and_warns_of_a_changed_winner(demo, hr_officer) -> None:
    html = english(hr_officer).get(run_url(demo)).content.decode()
    assert 'data-testid="winner-changes"' in html and "The winner changes." in html
    assert 'data-testid="differing-pairs"' in html
    assert 'class="differs"' in html
    assert "is ahead on raw scores" in html


def test_a_failed_run_shows_its_error_in_words(demo, hr_officer) -> None:
    failed = NormalisationRun.objects.create(
        campaign=demo.campaign,
        part_code="oral",
        version=9,
        method="linear",
        status=Status.FAILED,
        error="Group 3 has 1 score(s); at least 3 are needed to equate it on its own.",
        diagnostics={"error": {"code": "panel_too_small"}, "small_panels": [{"panel": 0, "candidates": 1}]},
        created_by=hr_officer,
        finished_at=timezone.now(),
    )
    html = english(hr_officer).get(run_url(failed)).content.decode()
    assert 'data-testid="run-error"' in html
    assert "This run failed" in html and "too few candidates to be equated on its own" in html
    assert "at least 3 are needed" in html  # the technical detail, behind a disclosure
    assert "<svg" not in html


def test_an_unfinished_run_polls_its_status_and_reloads_when_done(demo, hr_officer) -> None:
    queued = create_run(campaign=demo.campaign, part_code="oral", method="additive", by=hr_officer)
    html = english(hr_officer).get(run_url(queued)).content.decode()
    status_url = reverse("fairness_run_status", args=[demo.campaign_id, queued.pk])
    assert f'hx-get="{status_url}"' in html and 'hx-trigger="every 2s"' in html
    assert 'http-equiv="refresh"' in html  # without JavaScript too
    polled = english(hr_officer).get(status_url, HTTP_HX_REQUEST="true")
    assert polled.status_code == 200 and b"waiting for a worker" in polled.content
    run_normalisation(run_id=queued.pk)
    polled = english(hr_officer).get(status_url, HTTP_HX_REQUEST="true")
    assert polled["HX-Refresh"] == "true"


def test_a_blind_part_shows_codes_not_names_until_the_reveal(make_post) -> None:
    setup = build_marking_setup(make_post, candidates=4, examiners=3, names=["Lê Bí Mật", "Trần Ẩn Danh", "Ngô Kín",
                                                                            "Đỗ Giấu Tên"])  # fmt: skip
    scripts_with_markers(setup)
    now = timezone.now()
    for assignment in MarkerAssignment.objects.select_related("script"):
        script = assignment.script
        Mark.objects.create(
            campaign=setup.campaign, part_code="written", application=script.application, script=script,
            panel=script.panel, examiner=assignment.examiner, status=Mark.Status.SUBMITTED, submitted_at=now,
            value=Decimal(50 + 5 * setup.applications.index(script.application) + assignment.round),
        )  # fmt: skip
    run = create_run(campaign=setup.campaign, part_code="written", method="additive", by=setup.hr)
    run_normalisation(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == Status.DONE, run.error
    (block,) = run.diagnostics["reliability"]["icc"]
    assert block["block"] == "double" and block["n"] == 4 and block["form"] == "ICC(1,1)"
    html = english(setup.hr).get(run_url(run)).content.decode()
    for name in ("Lê Bí Mật", "Trần Ẩn Danh", "Ngô Kín", "Đỗ Giấu Tên"):
        assert name not in html
    for code in Script.objects.values_list("code", flat=True):
        assert code in html
    assert services.is_revealed(setup.campaign, "written") is False


# --- The decision comparison (pure) --------------------------------------------------------------


def standing(label: str, raw: str, adjusted: str, se: str | None = None) -> Standing:
    return Standing(ord(label), label, Decimal(raw), Decimal(adjusted), None if se is None else Decimal(se))


def test_compare_decision_lists_every_pair_whose_order_differs_and_flags_a_changed_winner() -> None:
    people = [
        standing("A", "80", "77", "0.5"),
        standing("B", "78", "79", "0.5"),
        standing("C", "70", "71", "2"),
        standing("D", "70", "69.5", "2"),
        standing("E", "60", "60", "0.5"),
    ]
    comparison = compare_decision(standings=people, vacancies=1)
    assert [(r.standing.label, r.raw_rank, r.adjusted_rank) for r in comparison.rows] == [
        ("A", 1, 2), ("B", 2, 1), ("C", 3, 3), ("D", 3, 4), ("E", 5, 5),
    ]  # fmt: skip
    # C and D are level on raw scores; after adjustment C is ahead: their order differs too.
    assert {(p.raw_ahead.label, p.adjusted_ahead.label) for p in comparison.pairs} == {("A", "B"), ("D", "C")}
    pair = next(p for p in comparison.pairs if p.raw_ahead.label == "A")
    assert pair.gap == Decimal(2) and pair.clear is True  # 2 points > 1.96 × √(0.5² + 0.5²)
    tie = next(p for p in comparison.pairs if p.raw_ahead.label in "CD")
    assert tie.level_on_raw and not tie.level_after and tie.gap == Decimal("1.5")
    assert tie.clear is False  # 1.5 points is within the uncertainty of ±2 SE each
    assert comparison.pair_count == 2
    assert [r.standing.label for r in comparison.rows if r.differs] == ["A", "B", "C", "D"]
    assert comparison.winner_changes
    assert [s.label for s in comparison.raw_winners] == ["A"]
    assert [s.label for s in comparison.adjusted_winners] == ["B"]
    assert not comparison.tie_at_cut


def test_compare_decision_keeps_the_winners_when_only_lower_places_swap_and_shows_ties_at_the_cut() -> None:
    people = [standing("A", "90", "88"), standing("B", "80", "70"), standing("C", "75", "72")]
    comparison = compare_decision(standings=people, vacancies=1)
    assert not comparison.winner_changes and comparison.pair_count == 1
    assert comparison.pairs[0].clear is None  # equating: no standard errors
    tied = compare_decision(standings=[standing("A", "80", "80"), standing("B", "80", "79")], vacancies=1)
    assert tied.tie_at_cut and [r.raw_rank for r in tied.rows] == [1, 1]
    assert [r.standing.label for r in tied.rows] == ["A", "B"]  # a tie is listed by name, never by database order
