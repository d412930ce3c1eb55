"""Tampering through raw SQL, as the table's owner: the database refuses plain edits, the chain catches the rest.

Each tampering test takes the append-only triggers out of the way first (the ``tamper``
fixture), as an attacker with owner rights would, and runs on whichever database the
suite uses (SQLite by default, PostgreSQL when DATABASE_URL is set).
"""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from audit.models import AuditEvent, AuditHead
from audit.services import CHAIN_FIELDS, event_hash, verify_chain

N = 120
COLUMNS = [
    "at",
    "actor_id",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "campaign_id",
    "before",
    "after",
    "prev_hash",
    "hash",
]


def audit_verify_output() -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("audit_verify", stdout=out, stderr=err)
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue() + err.getvalue()
    return 0, out.getvalue() + err.getvalue()


def assert_broken_at(seq: int, *words: str) -> None:
    report = verify_chain()
    assert not report.ok
    assert report.first_broken_seq == seq, report.reason
    assert f"event {seq}" in report.reason
    for word in words:
        assert word in report.reason
    code, output = audit_verify_output()
    assert code == 1
    assert f"BROKEN at event {seq}" in output


def raw_row(seq: int) -> list[object]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(COLUMNS)} FROM audit_auditevent WHERE seq = %s", [seq])
        return list(cursor.fetchone())


def write_row(tamper, seq: int, values: list[object]) -> None:
    assignments = ", ".join(f"{column} = %s" for column in COLUMNS)
    tamper(f"UPDATE audit_auditevent SET {assignments} WHERE seq = %s", [*values, seq])


@pytest.fixture
def trail(make_trail):
    return make_trail(N)


# --- The database refuses ------------------------------------------------------------


@pytest.mark.django_db
def test_the_database_refuses_a_plain_update(trail) -> None:
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(seq=5).update(action="mark.delete")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET after = NULL WHERE seq = 5")
    assert verify_chain().ok


@pytest.mark.django_db
def test_the_database_refuses_a_plain_delete(trail) -> None:
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(seq=N).delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent")
    assert AuditEvent.objects.count() == N


@pytest.mark.django_db(transaction=True)
def test_flush_still_empties_the_trail_and_the_guard_is_back_up_afterwards(make_trail) -> None:
    # Django's test flush (TransactionTestCase, transaction=True) must get past the delete trigger.
    with transaction.atomic():
        make_trail(5)

    call_command("flush", interactive=False, verbosity=0)

    assert not AuditEvent.objects.exists()
    assert not AuditHead.objects.exists()
    with transaction.atomic():
        make_trail(3)
    assert verify_chain().ok
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(seq=2).delete()


# --- The chain catches ---------------------------------------------------------------


@pytest.mark.django_db
def test_an_edited_row_is_named(trail, tamper) -> None:
    tamper("UPDATE audit_auditevent SET after = %s WHERE seq = 57", ['{"score":"99.0","status":"submitted"}'])

    assert_broken_at(57, "edited")


@pytest.mark.django_db
def test_an_edited_actor_is_named(trail, tamper) -> None:
    tamper("UPDATE audit_auditevent SET actor_label = %s WHERE seq = 33", ["someone.else@example.vn"])

    assert_broken_at(33, "edited")


@pytest.mark.django_db
def test_a_deleted_middle_row_is_named_by_the_event_after_the_gap(trail, tamper) -> None:
    tamper("DELETE FROM audit_auditevent WHERE seq = 57")

    assert_broken_at(58, "missing", "event 56 is followed by 58")


@pytest.mark.django_db
def test_a_deleted_first_row_is_named_by_the_new_first_event(trail, tamper) -> None:
    tamper("DELETE FROM audit_auditevent WHERE seq = 1")

    assert_broken_at(2, "missing")


@pytest.mark.django_db
def test_swapped_contents_are_named_by_the_first_of_the_two(trail, tamper) -> None:
    first, second = raw_row(40), raw_row(80)
    write_row(tamper, 40, second)
    write_row(tamper, 80, first)

    assert_broken_at(40, "does not follow")


@pytest.mark.django_db
def test_swapped_sequence_numbers_are_named_by_the_first_of_the_two(trail, tamper) -> None:
    tamper("UPDATE audit_auditevent SET seq = 1000000 WHERE seq = 40")
    tamper("UPDATE audit_auditevent SET seq = 40 WHERE seq = 80")
    tamper("UPDATE audit_auditevent SET seq = 80 WHERE seq = 1000000")

    assert_broken_at(40, "does not follow")


@pytest.mark.django_db
def test_a_deleted_last_row_is_caught_by_the_head(trail, tamper) -> None:
    tamper("DELETE FROM audit_auditevent WHERE seq = %s", [N])

    assert_broken_at(N, "missing", "head")


def chain_fields(event: AuditEvent, **changes: object) -> dict[str, object]:
    return {name: getattr(event, name) for name in CHAIN_FIELDS[:-1]} | changes


@pytest.mark.django_db
def test_a_rewritten_tail_with_recomputed_hashes_is_caught_by_the_head(trail, tamper) -> None:
    # The attacker edits event 100 and recomputes every hash after it: only the head still knows.
    previous = AuditEvent.objects.get(seq=99).hash
    for event in AuditEvent.objects.filter(seq__gte=100).order_by("seq"):
        if event.seq == 100:
            tamper("UPDATE audit_auditevent SET object_id = %s WHERE seq = 100", ["9999"])
            event.object_id = "9999"
        new_hash = event_hash(**chain_fields(event, prev_hash=previous))
        tamper("UPDATE audit_auditevent SET prev_hash = %s, hash = %s WHERE seq = %s", [previous, new_hash, event.seq])
        previous = new_hash
    assert verify_chain().checked == N - 1  # every link holds up to the last event

    assert_broken_at(N, "head")


@pytest.mark.django_db
def test_an_event_forged_past_the_head_is_named(trail) -> None:
    last = AuditEvent.objects.get(seq=N)
    forged = AuditEvent(seq=N + 1, at=last.at, action="mark.submit", object_type="scoring.mark", object_id="1")
    forged.prev_hash = last.hash
    forged.hash = event_hash(**chain_fields(forged))
    forged.save(force_insert=True)  # inserts are allowed: only the head is left behind

    assert_broken_at(N + 1, "beyond the chain head")


@pytest.mark.django_db
def test_a_deleted_head_is_reported(trail) -> None:
    AuditHead.objects.all().delete()

    report = verify_chain()

    assert not report.ok
    assert "head is missing" in report.reason


@pytest.mark.django_db
def test_a_row_rewritten_in_an_equivalent_form_is_not_called_tampered(trail, tamper) -> None:
    # Whitespace in the JSON or a "T" in SQLite's time text changes bytes, not values: no false alarm.
    tamper("UPDATE audit_auditevent SET before = %s WHERE seq = 8", ['{ "status" : "draft" , "score" : "7.5" }'])
    if connection.vendor == "sqlite":
        tamper("UPDATE audit_auditevent SET at = replace(at, ' ', 'T') WHERE seq = 9")

    assert verify_chain().ok
