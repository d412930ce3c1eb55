"""Concurrent appends on PostgreSQL: the head lock serialises them into one unbroken chain, which
verification accepts even as it grows."""

from __future__ import annotations

import threading
from typing import Any
from unittest import mock

import pytest
from django.db import connection, transaction

import audit.services
from audit.models import AuditEvent
from audit.services import record, verify_chain

THREADS, APPENDS = 20, 25


@pytest.mark.postgres_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: SQLite writes one at a time")
@pytest.mark.django_db(transaction=True)
def test_concurrent_transactions_append_one_gapless_chain() -> None:
    start = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def append(worker: int) -> None:
        try:
            start.wait()
            for n in range(APPENDS):
                with transaction.atomic():
                    record(
                        actor=None,
                        action="mark.submit",
                        object_type="scoring.mark",
                        object_id=f"{worker}-{n}",
                        after={"worker": worker, "n": n},
                    )
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=append, args=(worker,)) for worker in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    total = THREADS * APPENDS
    assert list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True)) == list(range(1, total + 1))
    assert AuditEvent.objects.values("prev_hash").distinct().count() == total
    assert AuditEvent.objects.values("object_id").distinct().count() == total
    report = verify_chain()
    assert (report.ok, report.checked) == (True, total)


@pytest.mark.postgres_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: SQLite writes one at a time")
@pytest.mark.django_db(transaction=True)
def test_events_appended_while_verification_runs_are_accepted(make_trail) -> None:
    with transaction.atomic():
        make_trail(30)
    fast_pass = audit.services._fast_pass
    appended: list[int] = []

    def append_then_check(*args: Any) -> Any:
        if not appended:  # once, while the first batch is being read

            def append() -> None:
                try:
                    for n in range(5):
                        with transaction.atomic():
                            record(actor=None, action="mark.submit", object_type="scoring.mark", object_id=f"late-{n}")
                finally:
                    connection.close()

            thread = threading.Thread(target=append)
            thread.start()
            thread.join()
            appended.append(AuditEvent.objects.using("default").count())
        return fast_pass(*args)

    with mock.patch.object(audit.services, "_fast_pass", append_then_check):
        report = verify_chain(batch_size=10)

    assert appended == [35]
    assert (report.ok, report.checked) == (True, 35)
