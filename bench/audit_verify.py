"""Benchmark audit.services.verify_chain against a naive verification.

Run from the project root: ``.venv/bin/python bench/audit_verify.py [--events N]``.

Builds a scratch database (a temporary SQLite file; and, when DATABASE_URL
points at PostgreSQL, a scratch ``<name>_audit_bench`` database on that server,
dropped afterwards), fills it with N realistic events through a fast bulk path
that computes the chain in Python, appends a few events through ``record()`` to
show both paths write the same format, then times:

- ``verify_chain()``: the streaming verification (median of several runs);
- the naive peer: one query and one model instance per event, on a sample,
  scaled to 100,000 events.

Each database runs in its own child process, since Django binds its settings once.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_PER_SECOND = 200_000
RECORDED_SAMPLE = 50

ACTIONS = [
    ("mark.submit", "scoring.mark"),
    ("mark.submit", "scoring.mark"),
    ("mark.submit", "scoring.mark"),
    ("resolution.decide", "scoring.resolution"),
    ("conflict.declare", "exams.conflictdeclaration"),
    ("panel.assign", "exams.panelassignment"),
    ("attendance.record", "scoring.attendance"),
    ("identity.reveal", "scoring.script"),
    ("rules.approve", "exams.rules"),
    ("appeal.decide", "scoring.appeal"),
]
REASONS = [
    "Chênh lệch 6,5 điểm: Chủ tịch Hội đồng quyết định sau khi trao đổi",
    "Thí sinh vắng mặt có lý do",
    "Khai báo xung đột lợi ích: người thân làm việc cùng đơn vị",
    "",
]


def make_payload(rng: random.Random, action: str) -> tuple[dict | None, dict | None]:
    """Before/after as the marking services would write them (already JSON-safe)."""
    score = f"{rng.randint(0, 1000) / 10:.1f}"
    if action == "mark.submit":
        return None, {"script": f"SP-{rng.randint(1, 99999):05d}", "part": "written", "score": score, "round": 1}
    if action == "resolution.decide":
        return (
            {"marks": [score, f"{rng.randint(0, 1000) / 10:.1f}"], "status": "disputed"},
            {"official": score, "status": "resolved", "reason": rng.choice(REASONS)},
        )
    return {"status": "draft"}, {"status": "approved", "note": rng.choice(REASONS), "version": rng.randint(1, 5)}


def fill(n_events: int, *, seed: int = 2026) -> None:
    """N events through the bulk path, then RECORDED_SAMPLE more through record()."""
    from django.db import transaction

    from accounts.models import User
    from audit.models import GENESIS_HASH, AuditEvent, AuditHead
    from audit.services import event_hash, record

    rng = random.Random(seed)
    actors = [
        User.objects.create_user(email=f"examiner{i:02d}@example.vn", full_name=f"Giám khảo {i}") for i in range(20)
    ]
    start = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)
    prev, batch = GENESIS_HASH, []
    with transaction.atomic():
        for seq in range(1, n_events + 1):
            actor = actors[seq % len(actors)]
            action, object_type = ACTIONS[seq % len(ACTIONS)]
            before, after = make_payload(rng, action)
            fields = {
                "seq": seq,
                "at": start + timedelta(microseconds=seq * 2_345_678 + rng.randint(0, 999)),
                "actor_id": actor.pk,
                "actor_label": actor.email,
                "action": action,
                "object_type": object_type,
                "object_id": str(rng.randint(1, 10**6)),
                "campaign_id": 1 + seq % 7,
                "before": before,
                "after": after,
                "prev_hash": prev,
            }
            prev = event_hash(**fields)
            batch.append(AuditEvent(hash=prev, **fields))
            if len(batch) == 5000:
                AuditEvent.objects.bulk_create(batch)
                batch = []
        AuditEvent.objects.bulk_create(batch)
        AuditHead.objects.update_or_create(pk=1, defaults={"last_seq": n_events, "last_hash": prev})
    for i in range(RECORDED_SAMPLE):
        with transaction.atomic():
            before, after = make_payload(rng, "mark.submit")
            record(actor=actors[i % 20], action="mark.submit", object_type="scoring.mark", object_id=i, after=after)


def naive_verify(limit: int) -> bool:
    """The peer: one query and one model instance per event."""
    from audit.models import GENESIS_HASH, AuditEvent
    from audit.services import CHAIN_FIELDS, event_hash

    prev = GENESIS_HASH
    for seq in range(1, limit + 1):
        event = AuditEvent.objects.get(seq=seq)
        fields = {name: getattr(event, name) for name in CHAIN_FIELDS[:-1]}
        if event.prev_hash != prev or event_hash(**fields) != event.hash:
            return False
        prev = event.hash
    return True


def child(n_events: int, naive_sample: int, repeats: int) -> None:
    """Runs in a child process, with DATABASE_URL already pointing at the scratch database."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from audit.services import verify_chain

    if connection.vendor == "postgresql":
        # Django's test-database machinery makes (and later drops) the scratch database.
        connection.settings_dict["TEST"]["NAME"] = f"{connection.settings_dict['NAME']}_audit_bench"
        old_name = connection.settings_dict["NAME"]
        connection.creation.create_test_db(verbosity=0, autoclobber=True)
    else:
        call_command("migrate", verbosity=0)
    try:
        started = time.perf_counter()
        fill(n_events)
        total = n_events + RECORDED_SAMPLE
        print(f"[{connection.vendor}] filled {total:,} events in {time.perf_counter() - started:.1f} s")
        times = []
        for _ in range(repeats):
            report = verify_chain()
            assert report.ok and report.checked == total, report
            times.append(report.seconds)
        best, median = min(times), statistics.median(times)
        rate = total / median
        print(
            f"[{connection.vendor}] verify: {total:,} events in {median:.3f} s = {rate:,.0f} events/s; "
            f"per 100,000 events: {median * 100_000 / total:.3f} s (median of {repeats}, best {best:.3f} s)"
        )
        sample = min(naive_sample, total)
        started = time.perf_counter()
        assert naive_verify(sample)
        naive = time.perf_counter() - started
        print(
            f"[{connection.vendor}] naive (one model instance per query): {sample:,} events in {naive:.3f} s = "
            f"{sample / naive:,.0f} events/s; per 100,000 events: {naive * 100_000 / sample:.3f} s "
            f"({naive / sample * total / median:.0f}x slower)"
        )
        verdict = "meets" if rate > TARGET_PER_SECOND else "MISSES"
        load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
        print(
            f"[{connection.vendor}] {verdict} the target of {TARGET_PER_SECOND:,} events/s "
            f"({os.cpu_count()} CPUs, load average {load})"
        )
    finally:
        if connection.vendor == "postgresql":
            connection.creation.destroy_test_db(old_name, verbosity=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--naive-sample", type=int, default=20_000, help="events the naive peer verifies")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.events, args.naive_sample, args.repeats)
        return

    forwarded = ["--events", str(args.events), "--naive-sample", str(args.naive_sample), "--repeats", str(args.repeats)]
    databases = []
    with tempfile.TemporaryDirectory() as scratch:
        databases.append(f"sqlite:///{scratch}/audit_bench.sqlite3")
        url = os.environ.get("DATABASE_URL", "")
        if url.startswith(("postgres://", "postgresql://")):
            databases.append(url)
        for database_url in databases:
            env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "config.settings"}
            subprocess.run([sys.executable, __file__, "--child", *forwarded], env=env, cwd=ROOT, check=True)


if __name__ == "__main__":
    main()
