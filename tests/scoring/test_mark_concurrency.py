"""T9 on the real views: 50 threads submit marks at once; nothing is lost, nothing is duplicated, no 500.

Each thread has its own test client and database connection, signed in as an examiner with TOTP.
Pairs of threads submit the same mark of the same examiner (a double click, or two tabs with
different values); both markers of a script submit at the same time; other threads mark other
scripts. PostgreSQL only: SQLite serialises writers and would prove nothing.
"""

from __future__ import annotations

import io
import threading
from collections import Counter, defaultdict
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook

from audit.models import AuditEvent
from audit.services import record, verify_chain
from scoring import imports, services
from scoring.models import Mark, MarkerAssignment, Resolution, Script
from tests.locking import hold_then_act, wait_for_a_lock_wait
from tests.scoring.builders import build_marking_setup, mark, pending_chair, scripts_with_markers

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrency needs PostgreSQL (DATABASE_URL)"),
    pytest.mark.django_db(transaction=True),
]

THREADS = 50
CONFLICT_MESSAGES = (
    "This mark is already submitted and locked; only the chair can reopen it.",
    "This mark was just saved from another window; reload the page.",
)


def post_all_at_once(setup, jobs: list[tuple[MarkerAssignment, dict[str, str]]]) -> list[tuple[int, str]]:
    """Each job's examiner posts its data to its script's mark from a thread of its own, all released at once
    (each thread with its own client and database connection). Returns (status, content) per job."""
    barrier = threading.Barrier(len(jobs))
    results: list[tuple[int, str]] = [(0, "")] * len(jobs)

    def post(slot: int, assignment: MarkerAssignment, data: dict[str, str]) -> None:
        try:
            client = Client(raise_request_exception=False)
            client.force_login(assignment.examiner)
            url = reverse("marking_save", args=[setup.campaign.pk, "written", assignment.script.code])
            barrier.wait(timeout=60)
            response = client.post(url, data, HTTP_HX_REQUEST="true", HTTP_ACCEPT_LANGUAGE="en")
            results[slot] = (response.status_code, response.content.decode())
        except Exception as error:  # noqa: BLE001 - any failure of a thread is a failure of the test
            results[slot] = (-1, repr(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post, args=(i, *job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return results


def test_fifty_concurrent_submissions_lose_and_duplicate_nothing(make_post) -> None:
    setup = build_marking_setup(make_post, candidates=13, examiners=4)
    scripts_with_markers(setup)
    assignments = list(
        MarkerAssignment.objects.select_related("script", "examiner").order_by("script__code", "round")[:25]
    )
    jobs = []
    for index, assignment in enumerate(assignments):
        value = "70" if assignment.round == 1 else "72"  # the two markers of a script, at the same time
        twin = value if index % 2 == 0 else "71.5"  # a double click, or a second tab with another value
        jobs += [(assignment, value), (assignment, twin)]
    assert len(jobs) == THREADS
    results = post_all_at_once(setup, [(assignment, {"value": value, "submit": "1"}) for assignment, value in jobs])

    statuses = Counter(status for status, _ in results)
    assert set(statuses) <= {200, 409}, statuses  # never a 500, never a lost request
    winners: dict[int, list[str]] = defaultdict(list)
    for (assignment, value), (status, content) in zip(jobs, results, strict=True):
        if status == 200:
            winners[assignment.pk].append(value)
        else:
            assert any(message in content for message in CONFLICT_MESSAGES), content
    assert statuses == {200: 25, 409: 25}
    assert all(len(values) == 1 for values in winners.values()) and len(winners) == 25

    assert Mark.objects.count() == 25  # nothing duplicated
    for assignment in assignments:
        marks = Mark.objects.filter(script=assignment.script, examiner=assignment.examiner, is_current=True)
        assert marks.count() == 1 and marks.get().status == Mark.Status.SUBMITTED  # nothing lost
        assert marks.get().value == Decimal(winners[assignment.pk][0])
    # Both marks of a script came in at the same time: exactly one resolution took both into account.
    complete = Counter(a.script_id for a in assignments)
    for script_id, count in complete.items():
        current = Resolution.objects.filter(script_id=script_id, is_current=True)
        assert current.count() == (1 if count == 2 else 0)
        if count == 2:
            assert len(current.get().marks) == 2
    assert AuditEvent.objects.filter(action="mark.submit").count() == 25
    assert verify_chain().ok


def test_two_windows_saving_the_same_first_draft_take_turns_and_keep_one_mark(make_post) -> None:
    """A draft locks its candidate: two first saves of one mark take turns, and the second updates the first."""
    setup = build_marking_setup(make_post, candidates=13, examiners=4)
    scripts_with_markers(setup)
    assignments = list(
        MarkerAssignment.objects.select_related("script", "examiner").order_by("script__code", "round")[:20]
    )
    jobs = [(assignment, {"value": value}) for assignment in assignments for value in ("60", "61")]
    results = post_all_at_once(setup, jobs)

    assert Counter(status for status, _ in results) == {200: len(jobs)}, results
    for assignment in assignments:
        marks = Mark.objects.filter(script=assignment.script, examiner=assignment.examiner)
        assert marks.count() == 1 and marks.get().status == Mark.Status.DRAFT
        assert str(marks.get().value) in ("60.00", "61.00")
    assert not AuditEvent.objects.filter(action="mark.submit").exists()


def test_a_draft_waits_for_the_candidates_lock_before_reading_the_marks(make_post) -> None:
    """Every write of a candidate's marks locks the candidate first, and only then reads the marks.

    Another window holds the lock and inserts the examiner's draft; a save that read the marks before
    waiting would miss that draft and collide with it. This one waits, then finds and updates it.
    """
    setup = build_marking_setup(make_post, candidates=13, examiners=4)
    scripts_with_markers(setup)
    assignment = MarkerAssignment.objects.select_related("script", "examiner").order_by("script__code").first()
    script, examiner = assignment.script, assignment.examiner
    inserted, release = threading.Event(), threading.Event()
    outcome: list[object] = []

    def other_window() -> None:
        try:
            with transaction.atomic():
                services.lock_candidate(script.application_id)
                Mark.objects.create(
                    campaign=setup.campaign,
                    part_code="written",
                    application_id=script.application_id,
                    script=script,
                    panel=script.panel,
                    examiner=examiner,
                    value=Decimal("61"),
                )
                inserted.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    def this_window() -> None:
        try:
            outcome.append(mark(examiner, script, "60", submit=False))
        except Exception as error:  # noqa: BLE001 - the outcome is what the test looks at
            outcome.append(error)
        finally:
            connections.close_all()

    first = threading.Thread(target=other_window)
    first.start()
    assert inserted.wait(timeout=30)
    second = threading.Thread(target=this_window)
    second.start()
    try:
        wait_for_a_lock_wait()  # the save waits for the candidate's lock
    finally:
        release.set()
        first.join(timeout=30)
        second.join(timeout=30)
    assert isinstance(outcome[0], Mark), outcome
    saved = Mark.objects.get(script=script, examiner=examiner, is_current=True)
    assert saved.value == Decimal("60") and saved.status == Mark.Status.DRAFT  # the other window's draft, updated


def test_an_import_and_an_examiners_submission_never_deadlock(make_post) -> None:
    """The examiner holds a candidate and then wants the audit chain's head; the import wants that candidate.

    Had the import taken the head first (with its first row's event) and the candidate later, each would
    wait for the other, and PostgreSQL would abort one of them.
    """
    setup = build_marking_setup(make_post, candidates=13, examiners=4)
    scripts_with_markers(setup)
    first, second = Script.objects.order_by("application_id")[:2]
    first_marker, second_marker = (
        MarkerAssignment.objects.filter(script=script).select_related("examiner").order_by("round")[0].examiner
        for script in (first, second)
    )
    rows = [
        ["Script code", "Examiner e-mail", "Mark (max 100)"],
        [first.code, first_marker.email, 70],
        [second.code, second_marker.email, 71],
    ]
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    outcomes = hold_then_act(
        hold=lambda: services.lock_candidate(second.application_id),  # an examiner submitting its mark
        then=lambda: record(actor=second_marker, action="test.hold", campaign_id=setup.campaign.pk),
        act=lambda: imports.import_marks(
            campaign=setup.campaign, part_code="written", data=buffer.getvalue(), filename="m.xlsx", by=setup.hr
        ),
    )
    assert outcomes == {"holder": "ok", "actor": "ok"}
    assert Mark.objects.filter(source="import", status=Mark.Status.SUBMITTED).count() == 2
    assert verify_chain().ok


def test_a_chairs_decision_and_a_reopening_of_the_same_candidate_never_deadlock(make_post) -> None:
    """A reopening holds the candidate and then wants the pending resolution; the chair's decision must take
    the candidate before the resolution, or each would wait for the other."""
    setup = build_marking_setup(make_post, candidates=2, examiners=3)
    scripts_with_markers(setup)
    pending = pending_chair(setup)
    script = pending.script
    outcomes = hold_then_act(
        hold=lambda: services.lock_candidate(script.application_id),  # a reopening of one of the marks
        then=lambda: Resolution.objects.select_for_update().get(pk=pending.pk),
        act=lambda: services.decide_disagreement(resolution=pending, by=setup.chair, raw_value="63", reason="Đã bàn"),
    )
    assert outcomes == {"holder": "ok", "actor": "ok"}
    assert Resolution.objects.get(is_current=True).value == Decimal("63.0")
