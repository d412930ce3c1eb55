"""Helpers for the audit tests: a trail of varied events, and raw SQL past the append-only triggers."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from accounts.models import User
from audit.models import AuditEvent
from audit.services import record

ACTIONS = ["rules.approve", "panel.assign", "conflict.declare", "mark.submit", "resolution.decide", "identity.reveal"]


@pytest.fixture
def make_trail(make_user: Callable[..., User]) -> Callable[..., list[AuditEvent]]:
    """n events through record(), from a few actors, over two campaigns, with Decimal and Vietnamese values."""

    def make(n: int) -> list[AuditEvent]:
        actors = [make_user(f"actor{i}@example.vn") for i in range(3)]
        events = []
        for i in range(n):
            before = None if i % 3 == 0 else {"score": Decimal(f"{i % 100}.5"), "status": "draft"}
            after = {"score": Decimal(f"{(i + 7) % 100}.0"), "status": "submitted", "note": f"Lần chấm {i}"}
            events.append(
                record(
                    actor=actors[i % 3] if i % 10 else None,
                    action=ACTIONS[i % len(ACTIONS)],
                    object_type="scoring.mark",
                    object_id=str(1000 + i),
                    campaign_id=1 + i % 2,
                    before=before,
                    after=after,
                )
            )
        return events

    return make


@pytest.fixture
def tamper(db: None) -> Callable[..., None]:
    """Raw SQL as the table's owner would run it, after taking the append-only triggers out of the way.

    Only for tests inside a transaction: rolling it back restores the triggers.
    """
    assert connection.in_atomic_block, "tampering needs the test's transaction to put the triggers back"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Deferred foreign-key checks of this transaction's inserts would block the ALTER.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only")
        else:
            cursor.execute("DROP TRIGGER audit_event_no_update")
            cursor.execute("DROP TRIGGER audit_event_no_delete")

    def run(sql: str, params: list[Any] | tuple[Any, ...] = ()) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)

    return run
