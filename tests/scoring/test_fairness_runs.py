"""Normalisation runs: the task computes what the maths says, is idempotent, and refuses in words
what the design cannot support, never writing a NaN."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from config.errors import Refused
from exams.models import Panel
from scoring import fairness
from scoring.fairness import create_run, run_normalisation, run_report, start_normalisation
from scoring.models import AdjustedScore, Mark, NormalisationRun, Resolution, SeverityEstimate
from scoring.normalisation import fit_additive, linear_equate
from scoring.tasks import compute_normalisation
from tests.conftest import client_for
from tests.scoring.builders import MarkingSetup, build_marking_setup

pytestmark = pytest.mark.django_db

Method = NormalisationRun.Method
Status = NormalisationRun.Status


@pytest.fixture(autouse=True)
def immediate_tasks(settings) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


# --- Builders shared with the report tests ------------------------------------------------------


def panel(setup: MarkingSetup, name: str) -> Panel:
    return Panel.objects.create(campaign=setup.campaign, part_code="oral", name=name)


def add_marks(setup: MarkingSetup, rows: Iterable[tuple[int, int, Panel, float]]) -> list[Mark]:
    """Submitted current marks of the oral part: (candidate index, examiner index, panel, value)."""
    now = timezone.now()
    return [
        Mark.objects.create(
            campaign=setup.campaign,
            part_code="oral",
            application=setup.applications[c],
            panel=p,
            examiner=setup.examiners[e],
            value=Decimal(str(round(v, 2))),
            status=Mark.Status.SUBMITTED,
            submitted_at=now,
        )
        for c, e, p, v in rows
    ]


def resolve(setup: MarkingSetup, index: int, value: str) -> Resolution:
    return Resolution.objects.create(
        campaign=setup.campaign,
        part_code="oral",
        application=setup.applications[index],
        spread=Decimal(0),
        band=Resolution.Band.MEAN,
        status=Resolution.Status.FINAL,
        value=Decimal(value),
        method="mean",
    )


LENIENCY = (3.0, 0.0, -3.0)


def crossed(setup: MarkingSetup, p: Panel, *, candidates: int = 6, noise: bool = True) -> None:
    """Each candidate marked by two of three examiners in turn: a connected, incomplete design."""
    rows = []
    for c in range(candidates):
        for e in (c % 3, (c + 1) % 3):
            wobble = ((c * 7 + e * 3) % 5 - 2) * 0.4 if noise else 0.0
            rows.append((c, e, p, 60 + 3 * c + LENIENCY[e] + wobble))
    add_marks(setup, rows)


@pytest.fixture
def start(django_capture_on_commit_callbacks) -> Callable[..., NormalisationRun]:
    def go(setup: MarkingSetup, method: str = Method.ADDITIVE, **parameters: float) -> NormalisationRun:
        with django_capture_on_commit_callbacks(execute=True):
            run = start_normalisation(
                campaign=setup.campaign, part_code="oral", method=method, by=setup.hr, parameters=parameters
            )
        run.refresh_from_db()
        return run

    return go


def assert_clean(run: NormalisationRun) -> None:
    """Finished, no NaN anywhere, a message in words when it failed, and a report that renders."""
    run.refresh_from_db()
    assert run.status in (Status.DONE, Status.FAILED)
    json.dumps(run.diagnostics, allow_nan=False)
    for score in AdjustedScore.objects.filter(run=run):
        for value in (score.raw_score, score.adjusted_score, score.standard_error):
            assert value is None or value.is_finite()
    for estimate in SeverityEstimate.objects.filter(run=run):
        assert estimate.severity.is_finite()
        assert estimate.standard_error is None or estimate.standard_error.is_finite()
    if run.status == Status.FAILED:
        assert run.error and run.diagnostics["error"]["code"]
        assert not AdjustedScore.objects.filter(run=run).exists()
    response = client_for(run.created_by).get(reverse("fairness_run", args=[run.campaign_id, run.pk]))
    assert response.status_code == 200
    # A NaN shown as a word; not the letters inside a random token (the CSRF token held "nAn" once).
    assert not re.search(rb"(?i)\bnan\b", response.content.split(b"<svg")[0])
    assert not re.search(rb"\bNaN\b", response.content)  # the plots too (x="NaN")


@pytest.fixture
def setup(make_post) -> MarkingSetup:
    return build_marking_setup(make_post, candidates=8, examiners=4)


def oral_marks(setup: MarkingSetup) -> list[Mark]:
    return list(Mark.objects.filter(campaign=setup.campaign, part_code="oral").order_by("application_id", "id"))


# --- Computation --------------------------------------------------------------------------------


def test_an_additive_run_matches_fit_additive_on_the_same_marks(setup, start) -> None:
    crossed(setup, setup.oral_panel)
    run = start(setup)
    assert run.status == Status.DONE and run.version == 1 and run.finished_at
    marks = oral_marks(setup)
    fit = fit_additive(
        [m.application_id for m in marks], [m.examiner_id for m in marks], [float(m.value) for m in marks]
    )
    scores = {s.application_id: s for s in run.scores.all()}
    assert set(scores) == set(fit.ability)
    for app, ability in fit.ability.items():
        assert float(scores[app].adjusted_score) == pytest.approx(ability, abs=1e-4)
        assert float(scores[app].standard_error) == pytest.approx(fit.ability_se[app], abs=1e-4)
    examiners = {s.examiner_id: s for s in run.severities.filter(examiner__isnull=False)}
    for rater, leniency in fit.leniency.items():
        assert float(examiners[rater].severity) == pytest.approx(-leniency, abs=1e-4)
        assert float(examiners[rater].standard_error) == pytest.approx(fit.leniency_se[rater], abs=1e-4)
        assert examiners[rater].marks == sum(1 for m in marks if m.examiner_id == rater)
    (panel_row,) = run.severities.filter(panel__isnull=False)
    assert panel_row.panel == setup.oral_panel and panel_row.marks == len(marks)
    # One panel with every examiner: the mark-weighted mean of sum-to-zero severities is ~0.
    assert abs(float(panel_row.severity)) < 1
    d = run.diagnostics
    assert d["components"] == {"count": 1, "sizes": [{"candidates": 6, "examiners": 3}]}
    assert d["counts"] == {"marks": 12, "candidates": 6, "examiners": 3, "panels": 1}
    assert d["raw_source"] == {"official": 0, "mean_of_marks": 6}
    assert d["reliability"]["alpha"]["value"] is not None
    assert run.marks_digest == fairness.marks_digest(setup.campaign, "oral")
    assert AuditEvent.objects.filter(action="normalisation.start", object_id=str(run.pk)).exists()
    assert start(setup).version == 2  # every start is a new version; the first one is untouched
    assert run.scores.count() == 6


def test_the_shrunk_method_uses_the_empirical_bayes_fit(setup, start) -> None:
    crossed(setup, setup.oral_panel)
    run = start(setup, Method.ADDITIVE_SHRUNK)
    marks = oral_marks(setup)
    fit = fit_additive(
        [m.application_id for m in marks], [m.examiner_id for m in marks], [float(m.value) for m in marks], shrink=True
    )
    for score in run.scores.all():
        assert float(score.adjusted_score) == pytest.approx(fit.ability[score.application_id], abs=1e-4)


def test_linear_equating_works_per_panel_on_the_official_raw_scores(setup, start) -> None:
    a, b = panel(setup, "A"), panel(setup, "B")
    add_marks(setup, [(c, 0, a, 60 + 4 * c) for c in range(4)] + [(c, 1, b, 40 + 3 * c) for c in range(4, 8)])
    resolve(setup, 0, "61.5")
    run = start(setup, Method.LINEAR)
    assert run.status == Status.DONE, run.error
    raw = {0: 61.5, 1: 64.0, 2: 68.0, 3: 72.0, 4: 52.0, 5: 55.0, 6: 58.0, 7: 61.0}
    expected = linear_equate({"A": [raw[i] for i in range(4)], "B": [raw[i] for i in range(4, 8)]})
    scores = {s.application_id: s for s in run.scores.all()}
    for i, app in enumerate(setup.applications):
        group, k = ("A", i) if i < 4 else ("B", i - 4)
        assert float(scores[app.pk].raw_score) == raw[i]
        assert float(scores[app.pk].adjusted_score) == pytest.approx(expected[group][k], abs=1e-4)
        assert scores[app.pk].standard_error is None
    shifts = {s.panel.name: float(s.severity) for s in run.severities.filter(panel__isnull=False)}
    assert shifts["B"] > 0 > shifts["A"]  # B's candidates were raised: B marked harsher
    assert run.diagnostics["raw_source"] == {"official": 1, "mean_of_marks": 7}


def test_an_examiner_beyond_both_thresholds_is_flagged(setup, start) -> None:
    rows = []
    for c in range(8):
        for e in range(3):
            wobble = ((c * 5 + e * 3) % 7 - 3) * 0.3
            rows.append((c, e, setup.oral_panel, 60 + 2 * c + (-8 if e == 0 else 4) + wobble))
    add_marks(setup, rows)
    run = start(setup)
    flagged = set(run.severities.filter(flagged=True).values_list("examiner_id", flat=True))
    assert setup.examiners[0].pk in flagged
    assert set(run.diagnostics["flagged_examiners"]) == flagged
    relaxed = start(setup, severity_points=10)
    assert not relaxed.severities.filter(examiner__isnull=False, flagged=True).exists()


# --- Idempotence and crashes --------------------------------------------------------------------


def test_calling_the_task_twice_leaves_one_set_of_rows(setup) -> None:
    crossed(setup, setup.oral_panel)
    run = create_run(campaign=setup.campaign, part_code="oral", method=Method.ADDITIVE, by=setup.hr)
    assert compute_normalisation.call(run.pk) == Status.DONE
    first = list(AdjustedScore.objects.filter(run=run).order_by("application_id").values_list("adjusted_score"))
    assert compute_normalisation.call(run.pk) == Status.DONE
    assert AdjustedScore.objects.filter(run=run).count() == 6
    assert SeverityEstimate.objects.filter(run=run).count() == 4  # 3 examiners + 1 panel
    assert list(AdjustedScore.objects.filter(run=run).order_by("application_id").values_list("adjusted_score")) == first


def test_an_interrupted_run_is_recomputed_once_in_full(setup) -> None:
    crossed(setup, setup.oral_panel)
    run = create_run(campaign=setup.campaign, part_code="oral", method=Method.ADDITIVE, by=setup.hr)
    # A worker died after writing some rows: they are partial and wrong, and the run is still "running".
    AdjustedScore.objects.create(
        run=run, application=setup.applications[0], raw_score=Decimal(1), adjusted_score=Decimal(999)
    )
    SeverityEstimate.objects.create(run=run, examiner=setup.examiners[0], severity=Decimal(42), marks=1)
    NormalisationRun.objects.filter(pk=run.pk).update(status=Status.RUNNING)
    assert run_normalisation(run_id=run.pk) == Status.DONE
    assert AdjustedScore.objects.filter(run=run).count() == 6
    assert SeverityEstimate.objects.filter(run=run, examiner=setup.examiners[0]).count() == 1
    assert not AdjustedScore.objects.filter(run=run, adjusted_score=999).exists()
    assert not SeverityEstimate.objects.filter(run=run, severity=42).exists()


def test_a_crash_while_writing_leaves_no_half_written_result(setup, monkeypatch) -> None:
    crossed(setup, setup.oral_panel)
    run = create_run(campaign=setup.campaign, part_code="oral", method=Method.ADDITIVE, by=setup.hr)
    real_write = fairness._write

    def write_then_crash(*args, **kwargs) -> None:
        real_write(*args, **kwargs)
        raise RuntimeError("disk full")

    monkeypatch.setattr(fairness, "_write", write_then_crash)
    assert run_normalisation(run_id=run.pk) == Status.FAILED
    run.refresh_from_db()
    assert run.status == Status.FAILED and run.diagnostics["error"]["code"] == "unexpected"
    assert not AdjustedScore.objects.filter(run=run).exists()
    assert not SeverityEstimate.objects.filter(run=run).exists()
    monkeypatch.setattr(fairness, "_write", real_write)
    assert run_normalisation(run_id=run.pk) == Status.DONE  # a failed run can simply be run again
    assert AdjustedScore.objects.filter(run=run).count() == 6


def test_with_the_database_queue_the_task_is_enqueued_with_the_run(setup, settings) -> None:
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    crossed(setup, setup.oral_panel)
    run = start_normalisation(campaign=setup.campaign, part_code="oral", method=Method.ADDITIVE, by=setup.hr)
    task = DBTaskResult.objects.get()
    assert task.task_path == "scoring.tasks.compute_normalisation"
    assert task.args_kwargs["args"] == [run.pk]
    assert NormalisationRun.objects.get(pk=run.pk).status == Status.QUEUED


# --- Refusals at the start ------------------------------------------------------------------------


def test_only_hr_starts_a_run_on_a_known_part_with_marks_and_sane_parameters(setup) -> None:
    def attempt(**overrides) -> str:
        arguments = {"campaign": setup.campaign, "part_code": "oral", "method": Method.ADDITIVE, "by": setup.hr}
        with pytest.raises(Refused) as refused:
            start_normalisation(**{**arguments, **overrides})
        return refused.value.code

    assert attempt() == "no_marks"
    crossed(setup, setup.oral_panel)
    assert attempt(by=setup.chair) == "not_hr"
    assert attempt(by=setup.examiners[0]) == "not_hr"
    assert attempt(part_code="practical") == "no_part"
    assert attempt(method="magic") == "bad_method"
    assert attempt(parameters={"severity_points": -1}) == "bad_parameter"
    assert attempt(parameters={"min_group": 2.5}) == "bad_parameter"
    assert attempt(parameters={"alpha": 1}) == "bad_parameter"
    assert not NormalisationRun.objects.exists()


# --- Guards: what the design cannot support ---------------------------------------------------------


def small_panel_design(setup: MarkingSetup, size: int) -> None:
    big, small = panel(setup, "Big"), panel(setup, "Small")
    rows = [(c, e, big, 55 + 4 * c + e) for c in range(5) for e in (0, 1)]
    rows += [(c, e, small, 50 + 5 * (c - 5) + 2 * e) for c in range(5, 5 + size) for e in (1, 2)]
    add_marks(setup, rows)


@pytest.mark.parametrize("size", [1, 2])
def test_a_panel_of_one_or_two_candidates_is_refused_by_equating_but_linked_by_the_additive_model(
    setup, start, size
) -> None:
    small_panel_design(setup, size)
    equated = start(setup, Method.LINEAR)
    assert_clean(equated)
    assert equated.status == Status.FAILED
    assert equated.diagnostics["error"]["code"] == "panel_too_small"
    assert any(f.level == "warn" and "Small" in f.text for f in run_report(run=equated).findings)
    additive = start(setup, Method.ADDITIVE)
    assert_clean(additive)
    assert additive.status == Status.DONE
    small = Panel.objects.get(name="Small")
    assert additive.diagnostics["small_panels"] == [{"panel": small.pk, "candidates": size}]


def test_a_tied_panel_stops_linear_equating_and_robust_falls_back_to_the_pooled_scale(setup, start) -> None:
    spread, tied = panel(setup, "Spread"), panel(setup, "Tied")
    add_marks(setup, [(c, e, spread, 50 + 6 * c + e) for c in range(4) for e in (0, 1)])
    add_marks(setup, [(c, e, tied, 70) for c in range(4, 8) for e in (1, 2)])
    linear = start(setup, Method.LINEAR)
    assert_clean(linear)
    assert linear.status == Status.FAILED and linear.diagnostics["error"]["code"] == "zero_spread"
    robust = start(setup, Method.ROBUST)
    assert_clean(robust)
    assert robust.status == Status.DONE
    additive = start(setup, Method.ADDITIVE)
    assert_clean(additive)
    tied_icc = next(b for b in additive.diagnostics["reliability"]["icc"] if b["panel"] == tied.pk)
    assert tied_icc.get("value") is None and tied_icc["error"] == "zero_spread"


def test_a_single_examiner_gives_raw_means_with_no_margin(setup, start) -> None:
    add_marks(setup, [(c, 0, setup.oral_panel, 50 + 3 * c) for c in range(5)])
    run = start(setup, Method.ADDITIVE)
    assert_clean(run)
    assert run.status == Status.DONE
    assert set(run.diagnostics["notes"]) == {"single_examiner", "no_residual_df"}
    assert run.diagnostics["reliability"]["alpha"] == {"error": "insufficient"}
    assert all(s.standard_error is None for s in run.scores.all())
    assert [float(s.adjusted_score) for s in run.scores.order_by("application_id")] == [50, 53, 56, 59, 62]
    shrunk = start(setup, Method.ADDITIVE_SHRUNK)
    assert_clean(shrunk)
    assert shrunk.status == Status.FAILED and shrunk.diagnostics["error"]["code"] == "insufficient"


def test_a_disconnected_design_is_refused_by_the_additive_model_and_reported(setup, start) -> None:
    north, south = panel(setup, "North"), panel(setup, "South")
    add_marks(setup, [(c, e, north, 50 + 5 * c + e) for c in range(4) for e in (0, 1)])
    add_marks(setup, [(c, e, south, 40 + 4 * c + e) for c in range(4, 8) for e in (2, 3)])
    additive = start(setup, Method.ADDITIVE)
    assert_clean(additive)
    assert additive.status == Status.FAILED
    assert additive.diagnostics["error"]["code"] == "disconnected"
    assert additive.diagnostics["components"]["count"] == 2
    report = run_report(run=additive)
    assert "share no examiner" in report.error
    assert any(f.level == "err" and "2 groups" in f.text for f in report.findings)
    linear = start(setup, Method.LINEAR)
    assert_clean(linear)
    assert linear.status == Status.DONE  # random groups: equating needs no link, and says so
    assert linear.diagnostics["components"]["count"] == 2
    assert {s.component for s in linear.scores.all()} == {0, 1}


def test_a_report_says_when_marks_changed_after_the_run(setup, start) -> None:
    marks = add_marks(setup, [(c, e, setup.oral_panel, 50 + 4 * c + e) for c in range(4) for e in (0, 1)])
    run = start(setup)
    assert not run_report(run=run).marks_changed
    Mark.objects.filter(pk=marks[0].pk).update(value=Decimal("99.00"))
    assert run_report(run=run).marks_changed
    Mark.objects.filter(pk=marks[0].pk).update(value=marks[0].value)
    assert not run_report(run=run).marks_changed
    resolve(setup, 1, "51.00")
    assert run_report(run=run).marks_changed  # the official raw score changed


# --- The demo -----------------------------------------------------------------------------------


def test_the_demo_is_idempotent_and_shows_three_panels_of_different_severity(make_user) -> None:
    from accounts.roles import Role
    from scoring.fairness_demo import FAIRNESS_DEMO_TITLE, seed_fairness_demo

    hr = make_user("hr.demo@example.vn", Role.HR)
    chair = make_user("chair.demo@example.vn", Role.CHAIR, Role.EXAMINER)
    examiners = [make_user(f"e{i}.demo@example.vn", Role.EXAMINER) for i in range(3)]
    run = seed_fairness_demo(hr=hr, chair=chair, examiners=examiners)
    again = seed_fairness_demo(hr=hr, chair=chair, examiners=examiners)
    assert again.pk == run.pk and run.status == Status.DONE
    assert NormalisationRun.objects.count() == 1
    assert Mark.objects.filter(campaign=run.campaign).count() == 60
    assert Resolution.objects.filter(campaign=run.campaign, status="final").count() == 30
    assert run.campaign.title == FAIRNESS_DEMO_TITLE
    severity = {s.panel.name: float(s.severity) for s in run.severities.filter(panel__isnull=False)}
    assert severity["Tiểu ban A"] < -2.5 and severity["Tiểu ban B"] > 2.5 and abs(severity["Tiểu ban C"]) < 1.5
    assert run.diagnostics["components"]["count"] == 1
    assert run.severities.filter(examiner__isnull=False, flagged=True).exists()
    ((_post, comparison),) = run_report(run=run).comparisons
    assert comparison.winner_changes
