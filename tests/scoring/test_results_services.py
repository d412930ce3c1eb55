"""Results through the services: what the ranking is fed, publication with four eyes, the frozen snapshot.

The pure ranking cases live in test_ranking.py; here each tie-break level decides a case that was
marked end to end, so the service must feed rank_post the decisive part, the other parts, the
priority category and the chair's recorded decision.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import translation

from audit.models import AuditEvent
from audit.services import verify_chain
from config.errors import Refused
from exams.models import Attendance, Campaign, ExamRules
from scoring import fairness, results
from scoring.fairness import digest_of
from scoring.models import AdjustedScore, Mark, NormalisationRun, Resolution, ResultEntry, ResultSet, TieDecision
from scoring.services import final_marks
from tests.locking import hold_then_act
from tests.scoring.test_results_support import entry_of, hr_and_chair_in_one, mark_campaign, publish

pytestmark = pytest.mark.django_db

NAMES = {"written": "Thi viết", "oral": "Trình bày đề án, phỏng vấn"}


def proof(entry) -> list[str]:
    with translation.override("en"):
        return results.proof_lines(entry.proof, NAMES)


def ranks(result_set: ResultSet) -> dict[str, tuple[int | None, str]]:
    return {e.full_name: (e.rank, e.outcome) for e in result_set.entries.all()}


def refusal(call, **kwargs) -> str:
    with pytest.raises(Refused) as refused:
        call(**kwargs)
    return refused.value.code


# --- What the ranking is fed ---------------------------------------------------------------------


def test_totals_ranks_and_the_proof_in_words(make_post) -> None:
    setup = mark_campaign(make_post, {"Nguyễn Văn An": ("72.5", "81.3"), "Trần Thị Bình": ("60", "70")})
    result_set = publish(setup)
    winner = entry_of(result_set, setup, "Nguyễn Văn An")
    assert winner.part_marks == {"written": "72.5", "oral": "81.3"}
    assert winner.total == Decimal("76.9") and winner.rank == 1 and winner.outcome == "winner"
    assert proof(winner) == [
        "Thi viết: 72.5 ≥ pass mark 50: passed",
        "Trình bày đề án, phỏng vấn: 81.3 ≥ pass mark 50: passed",
        "Total = (72.5 × 1 + 81.3 × 1) ÷ 2 = 76.9",
        "Ranked 1 of 2",
        "Within the number of vacancies (1): winner",
    ]
    assert entry_of(result_set, setup, "Trần Thị Bình").outcome == "passed"


def test_equal_totals_are_decided_by_the_decisive_part(make_post) -> None:
    setup = mark_campaign(make_post, {"Nguyễn Văn An": ("80", "70"), "Trần Thị Bình": ("70", "80")})
    result_set = publish(setup)
    assert ranks(result_set) == {"Trần Thị Bình": (1, "winner"), "Nguyễn Văn An": (2, "passed")}
    assert "Ahead of Nguyễn Văn An on the decisive part (Trình bày đề án, phỏng vấn): 80.0 > 70.0" in proof(
        entry_of(result_set, setup, "Trần Thị Bình")
    )
    assert "Behind Trần Thị Bình on the decisive part (Trình bày đề án, phỏng vấn): 70.0 < 80.0" in proof(
        entry_of(result_set, setup, "Nguyễn Văn An")
    )


def test_equal_totals_and_decisive_part_are_decided_by_the_other_part(make_post) -> None:
    # (70.0 + 80.0) / 2 = 75.0 and (69.9 + 80.0) / 2 = 74.95 → 75.0: same total, same oral mark.
    setup = mark_campaign(make_post, {"Nguyễn Văn An": ("69.9", "80"), "Trần Thị Bình": ("70", "80")})
    result_set = publish(setup)
    assert ranks(result_set) == {"Trần Thị Bình": (1, "winner"), "Nguyễn Văn An": (2, "passed")}
    assert entry_of(result_set, setup, "Nguyễn Văn An").total == entry_of(result_set, setup, "Trần Thị Bình").total
    assert "Ahead of Nguyễn Văn An on the part Thi viết: 70.0 > 69.9" in proof(
        entry_of(result_set, setup, "Trần Thị Bình")
    )


def test_equal_marks_are_decided_by_the_priority_category(make_post) -> None:
    marks = {"Nguyễn Văn An": ("70", "80"), "Trần Thị Bình": ("70", "80")}
    setup = mark_campaign(make_post, marks, priority={"Nguyễn Văn An": 1})
    result_set = publish(setup)
    assert ranks(result_set) == {"Nguyễn Văn An": (1, "winner"), "Trần Thị Bình": (2, "passed")}
    assert "Ahead of Trần Thị Bình by priority category: 1 > 0" in proof(entry_of(result_set, setup, "Nguyễn Văn An"))


def test_a_priority_category_hr_did_not_accept_breaks_no_tie(make_post) -> None:
    marks = {"Nguyễn Văn An": ("70", "80"), "Trần Thị Bình": ("70", "80")}
    setup = mark_campaign(make_post, marks, priority={"Nguyễn Văn An": 3})
    an = setup.by_name["Nguyễn Văn An"]
    an.priority_accepted = False  # declared, but HR did not find its proof in the dossier
    an.save(update_fields=["priority_accepted"])
    draft = results.prepare_results(campaign=setup.campaign, by=setup.hr)
    assert results.blocking_ties(draft)  # still a tie: the chair decides


def test_a_post_below_the_minimum_of_candidates_is_published_without_a_winner(make_post) -> None:
    setup = mark_campaign(make_post, {"Nguyễn Văn An": ("90", "90")})  # the rules ask for 2 candidates
    result_set = publish(setup)
    an = entry_of(result_set, setup, "Nguyễn Văn An")
    assert (an.rank, an.outcome) == (1, "passed")
    assert (
        "1 candidate(s) for this post, fewer than the minimum of 2: no winner, the post is to be announced again"
        in (proof(an))
    )


def test_a_tie_nothing_breaks_waits_for_the_chairs_recorded_decision(make_post) -> None:
    setup = mark_campaign(make_post, {"Nguyễn Văn An": ("70", "80"), "Trần Thị Bình": ("70", "80")})
    draft = results.prepare_results(campaign=setup.campaign, by=setup.hr)
    assert ranks(draft) == {"Nguyễn Văn An": (1, "passed"), "Trần Thị Bình": (1, "passed")}  # nobody wins yet
    assert results.blocking_ties(draft) == 2
    assert refusal(results.approve_results, result_set=draft, by=setup.chair) == "tie_pending"
    an, binh = (str(setup.by_name[n].public_id) for n in ("Nguyễn Văn An", "Trần Thị Bình"))
    kwargs = {"campaign": setup.campaign, "post": setup.post, "reason": "Kinh nghiệm quản lý dài hơn"}
    assert refusal(results.decide_tie, order=[binh, an], by=setup.hr, **kwargs) == "not_chair"
    assert refusal(results.decide_tie, order=[binh, an], by=setup.chair, **{**kwargs, "reason": " "}) == (
        "reason_required"
    )
    assert refusal(results.decide_tie, order=[binh], by=setup.chair, **kwargs) == "not_a_tie"
    results.decide_tie(order=[binh, an], by=setup.chair, **kwargs)
    assert TieDecision.objects.get().order == [binh, an]
    draft.refresh_from_db()
    assert ranks(draft) == {"Trần Thị Bình": (1, "winner"), "Nguyễn Văn An": (2, "passed")}
    assert "Ahead of Nguyễn Văn An by the recorded decision of the council chair" in proof(
        entry_of(draft, setup, "Trần Thị Bình")
    )
    results.approve_results(result_set=draft, by=setup.chair)
    assert results.publish_results(result_set=draft, by=setup.hr).status == "published"


def test_failing_the_gating_written_part_excludes_from_the_oral_part(make_post) -> None:
    setup = mark_campaign(make_post, {"Nguyễn Văn An": ("45", None), "Trần Thị Bình": ("70", "80")})
    result_set = publish(setup)  # no oral mark is needed for the excluded candidate
    excluded = entry_of(result_set, setup, "Nguyễn Văn An")
    assert excluded.outcome == "not_reached" and excluded.rank is None and excluded.total is None
    assert proof(excluded) == [
        "Thi viết: 45.0 < pass mark 50: failed",
        "Thi viết must be passed to take the next parts: the later parts are not counted",
    ]


def test_failing_a_non_gating_part_fails_without_a_rank(make_post) -> None:
    setup = mark_campaign(make_post, {"Nguyễn Văn An": ("90", "45"), "Trần Thị Bình": ("60", "60")})
    result_set = publish(setup)
    assert ranks(result_set) == {"Nguyễn Văn An": (None, "failed"), "Trần Thị Bình": (1, "winner")}


def test_one_vacancy_one_winner(make_post) -> None:
    marks = {"Nguyễn Văn An": ("90", "90"), "Trần Thị Bình": ("80", "80"), "Lê Văn Cường": ("70", "70")}
    one = publish(mark_campaign(make_post, marks, vacancies=1))
    assert ranks(one) == {"Nguyễn Văn An": (1, "winner"), "Trần Thị Bình": (2, "passed"), "Lê Văn Cường": (3, "passed")}


def test_two_vacancies_two_winners(make_post) -> None:
    marks = {"Nguyễn Văn An": ("90", "90"), "Trần Thị Bình": ("80", "80"), "Lê Văn Cường": ("70", "70")}
    setup = mark_campaign(make_post, marks, vacancies=2)
    result_set = publish(setup)
    assert ranks(result_set) == {
        "Nguyễn Văn An": (1, "winner"),
        "Trần Thị Bình": (2, "winner"),
        "Lê Văn Cường": (3, "passed"),
    }
    assert result_set.content["posts"][0]["vacancies"] == 2


def test_fewer_passing_candidates_than_vacancies(make_post) -> None:
    marks = {"Nguyễn Văn An": ("90", "90"), "Trần Thị Bình": ("40", None), "Lê Văn Cường": ("80", "30")}
    setup = mark_campaign(make_post, marks, vacancies=2)
    result_set = publish(setup)
    assert ranks(result_set) == {
        "Nguyễn Văn An": (1, "winner"),
        "Trần Thị Bình": (None, "not_reached"),
        "Lê Văn Cường": (None, "failed"),
    }
    assert len([e for e in result_set.entries.all() if e.outcome == "winner"]) == 1


def test_absentees_are_absent_not_ranked(make_post) -> None:
    marks = {"Nguyễn Văn An": (None, None), "Trần Thị Bình": ("70", "80"), "Lê Văn Cường": ("70", None)}
    setup = mark_campaign(make_post, marks, absent_written=("Nguyễn Văn An",), absent_oral=("Lê Văn Cường",))
    result_set = publish(setup)
    assert ranks(result_set) == {
        "Nguyễn Văn An": (None, "absent"),
        "Trần Thị Bình": (1, "winner"),
        "Lê Văn Cường": (None, "absent"),
    }
    assert proof(entry_of(result_set, setup, "Nguyễn Văn An")) == ["Thi viết: absent"]


def test_preparing_is_refused_while_marks_are_missing_and_lists_them(make_post) -> None:
    setup = mark_campaign(make_post, {"Nguyễn Văn An": ("70", "80"), "Trần Thị Bình": ("70", None)})
    with translation.override("en"), pytest.raises(Refused) as refused:
        results.prepare_results(campaign=setup.campaign, by=setup.hr)
    assert refused.value.code == "marks_missing"
    assert "Trần Thị Bình — Trình bày đề án, phỏng vấn" in str(refused.value.message)
    assert not ResultSet.objects.exists()


def test_preparing_waits_for_the_reveal_of_a_blind_part(make_post) -> None:
    setup = mark_campaign(make_post, {"Nguyễn Văn An": ("70", None)}, reveal=False, oral=False)
    assert refusal(results.prepare_results, campaign=setup.campaign, by=setup.hr) == "not_revealed"


def add_run(setup, code: str, version: int, status: str, values: dict[str, str]) -> NormalisationRun:
    run = NormalisationRun.objects.create(
        campaign=setup.campaign,
        part_code=code,
        version=version,
        method="additive",
        status=status,
        created_by=setup.hr,
        marks_digest=fairness.marks_digest(setup.campaign, code),  # computed on the marks as they are now
        diagnostics={"raw_digest": digest_of(final_marks(setup.campaign, code).items())},
    )
    for name, value in values.items():
        AdjustedScore.objects.create(
            run=run, application=setup.by_name[name], raw_score=Decimal(value), adjusted_score=Decimal(value)
        )
    return run


def test_the_adjusted_basis_ranks_on_the_latest_done_run_and_records_it(make_post) -> None:
    setup = mark_campaign(make_post, {"Nguyễn Văn An": ("70", "80"), "Trần Thị Bình": ("71", "80")})
    ExamRules.objects.filter(pk=setup.marking.rules.pk).update(ranking_basis="additive")
    official = {
        "written": {"Nguyễn Văn An": "70", "Trần Thị Bình": "71"},
        "oral": {"Nguyễn Văn An": "80", "Trần Thị Bình": "80"},
    }
    runs = {}
    for code, values in official.items():
        add_run(setup, code, 1, "done", values)
        # The latest done run says An's examiners were harsh; run 3 failed and is ignored.
        adjusted = {**values, "Nguyễn Văn An": "74"} if code == "written" else values
        runs[code] = add_run(setup, code, 2, "done", adjusted).pk
        add_run(setup, code, 3, "failed", {})
    result_set = publish(setup)
    assert result_set.basis == "additive" and result_set.runs == runs and result_set.content["runs"] == runs
    an = entry_of(result_set, setup, "Nguyễn Văn An")
    assert an.rank == 1 and an.outcome == "winner" and an.adjusted_marks["written"] == "74.00"
    assert an.part_marks["written"] == "70.0"  # the official mark is kept beside the adjusted one
    lines = proof(an)
    assert "On the official marks: total 75.0, ranked 2" in lines
    assert "Total on the adjusted marks = (74.00 × 1 + 80.00 × 1) ÷ 2 = 77.00" in lines


def test_the_adjusted_basis_refuses_a_run_computed_before_the_marks_changed(make_post) -> None:
    """After an appeal, a reopening or a resolution, the run's adjusted marks are out of date."""
    setup = mark_campaign(make_post, {"Nguyễn Văn An": ("70", "80"), "Trần Thị Bình": ("72", "80")})
    ExamRules.objects.filter(pk=setup.marking.rules.pk).update(ranking_basis="additive")
    for code in ("written", "oral"):
        add_run(setup, code, 1, "done", {"Nguyễn Văn An": "70", "Trần Thị Bình": "72"})
    an_mark = Mark.objects.filter(application=setup.by_name["Nguyễn Văn An"], part_code="written").first()
    Mark.objects.create(  # an appeal's re-mark is no panel's mark: the run stays current
        campaign=setup.campaign,
        part_code="written",
        application=an_mark.application,
        script=an_mark.script,
        panel=an_mark.panel,
        examiner=setup.marking.chair,
        value=Decimal("75"),
        status=Mark.Status.SUBMITTED,
        submitted_at=an_mark.submitted_at,
        source="appeal",
    )
    results.prepare_results(campaign=setup.campaign, by=setup.hr)
    Resolution.objects.filter(application=setup.by_name["Nguyễn Văn An"], part_code="written", is_current=True).update(
        value=Decimal("72.5")
    )  # as an appeal's outcome would
    assert refusal(results.prepare_results, campaign=setup.campaign, by=setup.hr) == "normalisation_stale"


def test_an_adjusted_mark_below_zero_ranks_but_fails_no_one(make_post) -> None:
    """Equating can rescale a mark below zero; pass or fail was decided on the official marks."""
    setup = mark_campaign(make_post, {"Nguyễn Văn An": ("70", "80"), "Trần Thị Bình": ("72", "80")})
    ExamRules.objects.filter(pk=setup.marking.rules.pk).update(ranking_basis="additive")
    add_run(setup, "written", 1, "done", {"Nguyễn Văn An": "-5", "Trần Thị Bình": "72"})
    add_run(setup, "oral", 1, "done", {"Nguyễn Văn An": "80", "Trần Thị Bình": "80"})
    result_set = publish(setup)
    an, binh = entry_of(result_set, setup, "Nguyễn Văn An"), entry_of(result_set, setup, "Trần Thị Bình")
    assert (binh.rank, binh.outcome) == (1, "winner")
    assert (an.rank, an.outcome) == (2, "passed") and an.adjusted_marks["written"] == "-5.00"


def test_the_adjusted_basis_without_a_done_run_is_refused(make_post) -> None:
    setup = mark_campaign(make_post, {"Nguyễn Văn An": ("70", "80")})
    ExamRules.objects.filter(pk=setup.marking.rules.pk).update(ranking_basis="linear")
    assert refusal(results.prepare_results, campaign=setup.campaign, by=setup.hr) == "no_normalisation"


# --- Four eyes on publication --------------------------------------------------------------------


def test_publication_refusals(make_post) -> None:
    setup = mark_campaign(make_post, {"Nguyễn Văn An": ("70", "80"), "Trần Thị Bình": ("60", "60")})
    assert refusal(results.prepare_results, campaign=setup.campaign, by=setup.chair) == "not_hr"
    draft = results.prepare_results(campaign=setup.campaign, by=setup.hr)
    # Without approval.
    assert refusal(results.publish_results, result_set=draft, by=setup.hr) == "not_approved"
    # Approved by someone who is not the chair.
    assert refusal(results.approve_results, result_set=draft, by=setup.hr) == "self_approval"
    assert refusal(results.approve_results, result_set=draft, by=setup.marking.examiners[0]) == "not_chair"
    results.approve_results(result_set=draft, by=setup.chair)
    assert refusal(results.approve_results, result_set=draft, by=setup.chair) == "already_approved"
    assert refusal(results.publish_results, result_set=draft, by=setup.marking.examiners[0]) == "not_allowed"
    results.publish_results(result_set=draft, by=setup.chair)
    # A second publication of the same draft.
    assert refusal(results.publish_results, result_set=draft, by=setup.hr) == "already_published"
    assert refusal(results.approve_results, result_set=draft, by=setup.chair) == "already_published"
    assert ResultSet.objects.get().status == "published"


def test_the_preparer_cannot_approve_even_holding_both_roles(make_post) -> None:
    setup = mark_campaign(make_post, {"Nguyễn Văn An": ("70", "80")})
    both = hr_and_chair_in_one()
    draft = results.prepare_results(campaign=setup.campaign, by=both)
    assert refusal(results.approve_results, result_set=draft, by=both) == "self_approval"
    # The database refuses it too, whatever the code does.
    with pytest.raises(IntegrityError), transaction.atomic():
        ResultSet.objects.filter(pk=draft.pk).update(approved_by=both)
    assert refusal(results.publish_results, result_set=draft, by=both) == "not_approved"


def test_a_change_after_preparation_makes_the_draft_stale(make_post) -> None:
    setup = mark_campaign(make_post, {"Nguyễn Văn An": ("70", "80"), "Trần Thị Bình": ("60", "60")})
    draft = results.prepare_results(campaign=setup.campaign, by=setup.hr)
    # A mark changes the way marks change: a new resolution supersedes the current one.
    current = Resolution.objects.get(application=setup.by_name["Trần Thị Bình"], part_code="oral", is_current=True)
    Resolution.objects.filter(pk=current.pk).update(is_current=False)
    current.pk, current.value, current.is_current = None, Decimal("65"), True
    current.save()
    assert refusal(results.approve_results, result_set=draft, by=setup.chair) == "stale"
    draft = results.prepare_results(campaign=setup.campaign, by=setup.hr)
    results.approve_results(result_set=draft, by=setup.chair)
    Attendance.objects.filter(application=setup.by_name["Trần Thị Bình"]).update(status="absent")
    assert refusal(results.publish_results, result_set=draft, by=setup.hr) == "stale"


def test_the_snapshot_hash_is_in_the_audit_chain(make_post) -> None:
    setup = mark_campaign(make_post, {"Nguyễn Văn Ấn": ("72.5", "81.3"), "Trần Thị Bình": ("60", "60")})
    result_set = publish(setup)
    event = AuditEvent.objects.get(action="results.publish")
    assert event.after == {"hash": result_set.content_hash, "version": 1, "supersedes": None, "entries": 2}
    result_set.refresh_from_db()  # as stored, through the JSON column
    assert results.content_hash(result_set.content) == result_set.content_hash
    assert results.snapshot_is_intact(result_set)
    content = result_set.content
    assert content["rules"]["version"] == setup.marking.rules.version and content["basis"] == "raw"
    assert content["runs"] == {} and len(content["entries"]) == 2
    assert content["entries"][0] == {
        "application": str(setup.by_name["Nguyễn Văn Ấn"].public_id),
        "post": setup.post.pk,
        "name": "Nguyễn Văn Ấn",
        "marks": {"written": "72.5", "oral": "81.3"},
        "adjusted": {},
        "total": "76.9",
        "rank": 1,
        "outcome": "winner",
    }
    assert content["proofs_digest"] == results.proofs_digest(
        e.proof for e in sorted(result_set.entries.all(), key=lambda e: e.rank or 99)
    )
    assert verify_chain().ok


def test_a_tampered_snapshot_or_entry_no_longer_matches(make_post) -> None:
    setup = mark_campaign(make_post, {"Nguyễn Văn An": ("70", "80")})
    result_set = publish(setup)
    entry = result_set.entries.get()
    proof = entry.proof
    ResultEntry.objects.filter(pk=entry.pk).update(proof=[*proof, ["winner", {"vacancies": "9"}]])
    assert not results.snapshot_is_intact(result_set)
    ResultEntry.objects.filter(pk=entry.pk).update(proof=proof)
    assert results.snapshot_is_intact(result_set)
    content = result_set.content
    content["entries"][0]["total"] = "99.0"
    ResultSet.objects.filter(pk=result_set.pk).update(content=content)
    result_set.refresh_from_db()
    assert not results.snapshot_is_intact(result_set)


def test_a_new_version_needs_a_reason_and_supersedes_the_published_one(make_post) -> None:
    setup = mark_campaign(make_post, {"Nguyễn Văn An": ("70", "80"), "Trần Thị Bình": ("60", "60")})
    first = publish(setup)
    assert refusal(results.prepare_results, campaign=setup.campaign, by=setup.hr) == "reason_required"
    second = results.prepare_results(campaign=setup.campaign, by=setup.hr, reason="Sửa lỗi nhập điểm")
    assert second.version == 2 and results.diff(second, first) == []
    results.approve_results(result_set=second, by=setup.chair)
    results.publish_results(result_set=second, by=setup.chair)
    first.refresh_from_db()
    assert first.status == "superseded" and first.superseded_at is not None
    assert results.snapshot_is_intact(first)  # the old version is still readable, unchanged
    assert list(ResultSet.objects.filter(status="published")) == [second]
    setup.campaign.refresh_from_db()
    assert setup.campaign.status == "results"


def test_preparing_again_replaces_an_unpublished_version(make_post) -> None:
    setup = mark_campaign(make_post, {"Nguyễn Văn An": ("70", "80")})
    first = results.prepare_results(campaign=setup.campaign, by=setup.hr)
    second = results.prepare_results(campaign=setup.campaign, by=setup.hr)
    assert second.version == first.version == 1
    assert list(ResultSet.objects.values_list("pk", flat=True)) == [second.pk]


def test_every_candidate_is_emailed_on_publication(make_post, settings, mailoutbox, django_capture_on_commit_callbacks):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    setup = mark_campaign(make_post, {"Nguyễn Văn An": ("70", "80"), "Trần Thị Bình": ("60", "60")})
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        publish(setup)
    recipients = sorted(m.to[0] for m in mailoutbox if "/me/results/" in m.body)
    assert recipients == sorted(a.candidate.email for a in setup.by_name.values())


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="locking needs PostgreSQL (DATABASE_URL)")
def test_approving_results_takes_the_campaign_before_the_version(make_post) -> None:
    """An appeal's approval holds the campaign (and the audit chain's head) before it locks a version. An
    approval of results that took the version first and then waited for the campaign would deadlock with it:
    while it waits for the campaign, the version must still be free."""
    setup = mark_campaign(make_post, {"Nguyễn Văn An": ("70", "80"), "Trần Thị Bình": ("72", "80")})
    draft = results.prepare_results(campaign=setup.campaign, by=setup.hr)
    outcomes = hold_then_act(
        hold=lambda: Campaign.objects.select_for_update().get(pk=setup.campaign.pk),  # as an appeal's approval
        then=lambda: ResultSet.objects.select_for_update(nowait=True).get(pk=draft.pk),
        act=lambda: results.approve_results(result_set=draft, by=setup.chair),
    )
    assert outcomes == {"holder": "ok", "actor": "ok"}
    draft.refresh_from_db()
    assert draft.status == ResultSet.Status.APPROVED
