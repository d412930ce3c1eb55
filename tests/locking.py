"""Two transactions that take the same locks in opposite orders deadlock: a helper to prove they do not.

PostgreSQL only (the caller skips elsewhere): SQLite takes one writer at a time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from django.db import connections, transaction


def wait_for_a_lock_wait(timeout: float = 5.0) -> None:
    """Returns once some transaction of the database waits for a lock."""
    deadline = time.monotonic() + timeout
    with connections["default"].cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # a transaction would otherwise see one snapshot
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
            if cursor.fetchone()[0]:
                return
            time.sleep(0.01)
    raise AssertionError("nothing ever waited for a lock")


def hold_then_act(*, hold: Callable[[], None], then: Callable[[], None], act: Callable[[], object]) -> dict[str, str]:
    """The holder's transaction runs `hold` (its first locks); the actor then runs `act` in its own thread;
    once the actor waits for a lock, the holder runs `then` (which wants more) and commits.

    Returns each side's outcome: "ok", or the exception it met (a deadlock, typically).
    """
    held, outcomes = threading.Event(), {}

    def holder() -> None:
        with transaction.atomic():
            hold()
            held.set()
            wait_for_a_lock_wait()
            then()

    def actor() -> None:
        assert held.wait(timeout=30)
        act()

    def run(side: str, work: Callable[[], object]) -> None:
        try:
            work()
            outcomes[side] = "ok"
        except Exception as error:  # noqa: BLE001 - the outcome is what the caller looks at
            outcomes[side] = repr(error)
        finally:
            held.set()  # the actor never waits for a holder that failed
            connections.close_all()

    threads = [
        threading.Thread(target=run, args=("holder", holder)),
        threading.Thread(target=run, args=("actor", actor)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes
