"""Migration 0003 stores before/after as canonical text: rows written before it still verify, and the
append-only triggers still refuse edits, on SQLite (which remakes the table) and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from audit.models import GENESIS_HASH, AuditEvent
from audit.services import event_hash, record, verify_chain

BEFORE_0003 = [("audit", "0002_append_only_triggers")]
LATEST = [("audit", "0003_before_after_as_canonical_text")]


def payload(seq: int) -> tuple[object, object]:
    if seq % 3 == 0:
        return None, {"score": f"{seq}.5", "note": f"Lần chấm {seq}: ổn", "flags": [True, None, 10**20]}
    return {"status": "draft", "a": {"z": 1, "b": ""}}, [f'quote " and \\ {seq}', {"é": seq}]


@pytest.mark.django_db(transaction=True)
def test_rows_written_before_0003_verify_after_it_and_the_triggers_still_refuse() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE_0003)
    try:
        apps = executor.loader.project_state(BEFORE_0003).apps
        old_event, old_head = apps.get_model("audit", "AuditEvent"), apps.get_model("audit", "AuditHead")
        prev, start = GENESIS_HASH, datetime(2026, 3, 1, 1, 0, tzinfo=UTC)
        with transaction.atomic():
            for seq in range(1, 7):
                before, after = payload(seq)
                fields = {
                    "seq": seq,
                    "at": start + timedelta(seconds=seq, microseconds=seq * 1000),
                    "actor_id": None,
                    "actor_label": "",
                    "action": "mark.submit",
                    "object_type": "scoring.mark",
                    "object_id": str(seq),
                    "campaign_id": 1,
                    "before": before,
                    "after": after,
                    "prev_hash": prev,
                }
                prev = event_hash(**fields)
                old_event.objects.create(hash=prev, **fields)
            old_head.objects.create(pk=1, last_seq=6, last_hash=prev)
    finally:
        executor.loader.build_graph()
        executor.migrate(LATEST)

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT after FROM audit_auditevent WHERE seq = 3")
            assert cursor.fetchone()[0].startswith('{"note": ')  # jsonb's form, kept as it was
    assert AuditEvent.objects.get(seq=3).after == payload(3)[1]
    report = verify_chain()
    assert (report.ok, report.checked) == (True, 6)

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET after = NULL WHERE seq = 2")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(seq=6).delete()
    with transaction.atomic():
        record(actor=None, action="mark.submit", object_type="scoring.mark", object_id="7", after={"ok": True})
    assert verify_chain().checked == 7
