"""Benchmark: 50 examiners submit marks at once through gunicorn on PostgreSQL, beside a floor.

    .venv/bin/python bench/marking.py [--examiners 50] [--per-examiner 40] [--workers N] [--seconds 90]

What it does, in one run, and then undoes:

1. creates a scratch PostgreSQL database (``BENCH_PG``, default postgres://postgres@127.0.0.1:5432)
   and a temporary directory holding a bench-only settings module and URLconf: the product's URLs
   plus one floor view, a bare Django view that inserts one row (nothing is added to the product);
2. migrates, collects the static files, and seeds a campaign with approved rules, panels of five
   examiners with TOTP, declarations, the scripts and a real draw of two markers per script;
3. signs the examiners in by writing their sessions straight into the database (Django's
   ``SessionStore`` with the keys ``login()`` writes; staff MFA is satisfied by their TOTP device);
4. starts gunicorn (DEBUG=0, production settings, sync workers) on 127.0.0.1 and drives it from
   one thread per examiner with ``http.client``, each submitting a mark for each script drawn to
   them (the htmx request of the grid), and the same number of floor requests: after a warm-up of
   both (marking requests refused as not a number, so nothing is written), one client alone
   (the service time), then all threads hammering (no pause), then all threads paced like people
   (a random pause around ``--think-ms`` between two requests);
5. checks the database afterwards (one current submitted mark per examiner and script), prints
   p50/p95/p99 latency, throughput and errors for both, and the ratio of the p95s;
6. extends the audit chain to at least 200,000 events and times ``audit.services.verify_chain``;
7. stops gunicorn and drops the scratch database. The load is bounded by count and by time.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import psycopg

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
SETTINGS = """from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench_urls"
# The warm-up's refused marks (422) would each print a warning.
LOGGING["loggers"]["django.request"] = {"level": "ERROR"}  # noqa: F405
"""
URLCONF = '''"""Bench only: the product's URLs plus a floor view that inserts one row."""

from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.urls import path

from config.urls import urlpatterns as product_urlpatterns


def floor(request: HttpRequest) -> HttpResponse:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench_floor (examiner_id, value, at) VALUES (%s, %s, now())",
            [request.user.pk, request.POST.get("value", "")],
        )
    return HttpResponse("ok")


urlpatterns = [path("bench/floor/", floor), *product_urlpatterns]
'''
CSRF_TOKEN = "benchcsrftoken0123456789abcdefgh"  # 32 characters: Django accepts the unmasked secret
TARGET_P95_MS = 100.0
SEQUENTIAL = 20
TARGET_RATIO = 2.0
TARGET_EVENTS_PER_SECOND = 200_000


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


# --- Seeding (inside this process, against the scratch database) --------------------------------


def seed(examiners: int, per_examiner: int) -> dict:
    """A campaign whose panels of 5 examiners each mark 2 × candidates scripts: per_examiner each."""
    from allauth.mfa.totp.internal.auth import TOTP
    from django.contrib.auth.models import Group
    from django.utils import timezone

    from accounts.models import User
    from candidates.models import Application
    from exams import services as exam_services
    from exams.models import (
        Attendance,
        Campaign,
        ConflictDeclaration,
        ExamSession,
        Organisation,
        Panel,
        PanelCandidate,
        PanelMember,
        Post,
        Relation,
    )
    from scoring import services
    from scoring.models import MarkerAssignment
    from tests.candidates.builders import bulk_submitted

    panel_size = 5
    panels = examiners // panel_size
    per_panel = per_examiner * panel_size // 2  # two markers a script
    now = timezone.now()
    province = Organisation.objects.create(name="UBND tỉnh Quảng Nam", kind="province")
    department = Organisation.objects.create(name="Sở Nội vụ", kind="department", parent=province)
    campaign = Campaign.objects.create(title="Bench marking", authority=province, status="draft")
    post = Post.objects.create(
        campaign=campaign,
        organisation=department,
        title="Chuyên viên",
        application_opens=now - timedelta(days=40),
        application_closes=now - timedelta(days=20),
    )

    def staff(email: str, role: str) -> User:
        user = User.objects.create_user(email=email, full_name=email.split("@")[0])
        user.groups.add(Group.objects.get_or_create(name=role)[0])
        TOTP.activate(user, "JBSWY3DPEHPK3PXP")
        return user

    hr, chair = staff("hr@bench.vn", "HR officer"), staff("chair@bench.vn", "Council chair")
    rules = exam_services.create_rules_draft(campaign=campaign, by=hr)
    exam_services.approve_rules(rules=rules, by=chair)
    bulk_submitted(post, panels * per_panel, eligible=True, prefix="bench")
    applications = list(Application.objects.filter(post=post).order_by("id").values_list("id", flat=True))
    members = [staff(f"examiner{i:03d}@bench.vn", "Examiner") for i in range(panels * panel_size)]
    session = ExamSession.objects.create(campaign=campaign, part_code="written", starts_at=now - timedelta(days=1))
    for index in range(panels):
        panel = Panel.objects.create(campaign=campaign, part_code="written", name=f"Ban chấm {index + 1}")
        team = members[index * panel_size : (index + 1) * panel_size]
        seats = applications[index * per_panel : (index + 1) * per_panel]
        PanelMember.objects.bulk_create(PanelMember(panel=panel, user=user) for user in team)
        PanelCandidate.objects.bulk_create(
            PanelCandidate(panel=panel, application_id=a, part_code="written") for a in seats
        )
        ConflictDeclaration.objects.bulk_create(
            ConflictDeclaration(campaign=campaign, examiner=user, application_id=a, relation=Relation.NONE)
            for user in team
            for a in seats
        )
        Attendance.objects.bulk_create(
            Attendance(session=session, application_id=a, status="present", recorded_by=hr) for a in seats
        )
    services.create_scripts(campaign=campaign, part_code="written", by=hr)
    services.draw_markers(campaign=campaign, part_code="written", by=hr, seed="bench")
    work: dict[int, list[str]] = {user.pk: [] for user in members}
    for examiner_id, code in MarkerAssignment.objects.values_list("examiner_id", "script__code"):
        work[examiner_id].append(code)
    return {"campaign": campaign.pk, "examiners": members, "work": work}


def session_cookie(user) -> str:
    """A signed-in session written straight to the database, as django.contrib.auth.login() writes it."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key


def extend_chain(total: int) -> int:
    """Appends synthetic events (as mark submissions write them) until the chain holds `total`."""
    from django.db import transaction

    from audit.models import AuditEvent, AuditHead
    from audit.services import event_hash

    head = AuditHead.objects.get(pk=1)
    seq, prev = head.last_seq, head.last_hash
    rng = random.Random(2026)
    start = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)
    batch: list[AuditEvent] = []
    with transaction.atomic():
        AuditHead.objects.select_for_update().get(pk=1)
        while seq < total:
            seq += 1
            fields = {
                "seq": seq,
                "at": start + timedelta(microseconds=seq * 1_234_567),
                "actor_id": None,
                "actor_label": f"examiner{seq % 50:03d}@bench.vn",
                "action": "mark.submit",
                "object_type": "scoring.mark",
                "object_id": str(seq),
                "campaign_id": 1,
                "before": None,
                "after": {
                    "key": f"BENCH{seq % 9999:04d}",
                    "value": f"{rng.randint(0, 1000) / 10:.1f}",
                    "source": "web",
                },
                "prev_hash": prev,
            }
            prev = event_hash(**fields)
            batch.append(AuditEvent(hash=prev, **fields))
            if len(batch) == 5000:
                AuditEvent.objects.bulk_create(batch)
                batch = []
        AuditEvent.objects.bulk_create(batch)
        AuditHead.objects.filter(pk=1).update(last_seq=seq, last_hash=prev)
    return seq


# --- Load -------------------------------------------------------------------------------------


class Phase:
    def __init__(self, name: str) -> None:
        self.name = name
        self.latencies: list[float] = []
        self.statuses: Counter[int | str] = Counter()
        self.lock = threading.Lock()
        self.seconds = 0.0

    def add(self, status: int | str, milliseconds: float) -> None:
        with self.lock:
            self.statuses[status] += 1
            if status == 200:
                self.latencies.append(milliseconds)

    @property
    def errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status != 200)

    def line(self) -> str:
        done = sum(self.statuses.values())
        lat = self.latencies
        return (
            f"{self.name:<30} {done:>6} req {done / self.seconds:>8.1f} req/s   p50 {percentile(lat, 0.50):>7.1f} ms"
            f"   p95 {percentile(lat, 0.95):>7.1f} ms   p99 {percentile(lat, 0.99):>7.1f} ms   "
            f"errors {self.errors} {dict(self.statuses) if self.errors else ''}"
        )


def post(port: int, path: str, body: dict[str, str], cookie: str) -> tuple[int | str, float, bytes]:
    data = urlencode(body)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": f"sessionid={cookie}; csrftoken={CSRF_TOKEN}",
        "X-CSRFToken": CSRF_TOKEN,
        "HX-Request": "true",
        "Accept-Language": "en",
    }
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("POST", path, body=data, headers=headers)
        response = connection.getresponse()
        content = response.read()
        status: int | str = response.status
    except OSError as error:
        status, content = type(error).__name__, b""
    finally:
        connection.close()
    return status, (time.perf_counter() - started) * 1000, content


def run_phase(
    phase: Phase,
    port: int,
    jobs: list[tuple[str, list[tuple[str, dict[str, str]]]]],
    seconds: float,
    think_ms: float = 0,
) -> None:
    """One thread per examiner, all released at once; each works through its list until the deadline.

    With think_ms, each examiner pauses a random 0.5–1.5 × think_ms between two requests (a person
    typing marks); without, it sends the next request as soon as the answer arrives (a stress test).
    """
    barrier = threading.Barrier(len(jobs) + 1)
    deadline: list[float] = [0.0]

    def worker(cookie: str, requests: list[tuple[str, dict[str, str]]]) -> None:
        rng = random.Random(cookie)
        barrier.wait()
        if think_ms:
            time.sleep(rng.uniform(0, think_ms) / 1000)
        for path, body in requests:
            if time.perf_counter() > deadline[0]:
                return
            status, milliseconds, _ = post(port, path, body, cookie)
            phase.add(status, milliseconds)
            if think_ms:
                time.sleep(rng.uniform(0.5, 1.5) * think_ms / 1000)

    threads = [threading.Thread(target=worker, args=job) for job in jobs]
    for thread in threads:
        thread.start()
    deadline[0] = time.perf_counter() + seconds
    started = time.perf_counter()
    barrier.wait()
    for thread in threads:
        thread.join()
    phase.seconds = time.perf_counter() - started


def wait_until_up(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    limit = time.monotonic() + timeout
    while time.monotonic() < limit:
        if process.poll() is not None:
            raise SystemExit("gunicorn stopped while starting")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit("gunicorn did not answer /healthz")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- Main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examiners", type=int, default=50, help="client threads, one examiner each")
    parser.add_argument("--per-examiner", type=int, default=40, help="marks each examiner submits")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1, help="gunicorn workers")
    parser.add_argument("--seconds", type=float, default=90, help="time cap of each phase")
    parser.add_argument("--think-ms", type=float, default=2000, help="mean pause of the paced phases")
    parser.add_argument("--audit-events", type=int, default=200_000)
    args = parser.parse_args()
    if args.examiners % 5:
        raise SystemExit("--examiners must be a multiple of 5 (panels of five)")

    server = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432").rstrip("/")
    scratch = f"hientai_bench_marking_{os.getpid()}"
    scratch_dir = Path(tempfile.mkdtemp(prefix="hientai-bench-"))
    (scratch_dir / "bench_settings.py").write_text(SETTINGS)
    (scratch_dir / "bench_urls.py").write_text(URLCONF)
    env = {
        "DATABASE_URL": f"{server}/{scratch}",
        "DJANGO_SETTINGS_MODULE": "bench_settings",
        "PYTHONPATH": os.pathsep.join([str(scratch_dir), str(ROOT)]),
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "SECURE_HSTS_SECONDS": "0",
        "STATIC_ROOT": str(scratch_dir / "static"),
        "DB_CONN_MAX_AGE": "60",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    sys.path[:0] = [str(scratch_dir), str(ROOT)]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{scratch}"')
    gunicorn: subprocess.Popen | None = None
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        call_command("createcachetable", verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TABLE bench_floor (id bigserial PRIMARY KEY, examiner_id bigint, value text, at timestamptz)"
            )
        data = seed(args.examiners, args.per_examiner)
        cookies = {user.pk: session_cookie(user) for user in data["examiners"]}
        scripts = sum(len(codes) for codes in data["work"].values()) // 2
        print(f"database: PostgreSQL (scratch {scratch}); seeded {scripts} scripts for {args.examiners} examiners "
              f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
        connection.close()

        load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
        port = free_port()
        command = [
            str(VENV_BIN / "gunicorn"), "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
            "--workers", str(args.workers), "--worker-class", "sync", "--backlog", "2048",
            "--timeout", "60", "--log-level", "warning",
        ]  # fmt: skip
        print("gunicorn:", " ".join(command[1:]))
        print(f"workers: {args.workers} sync (2 × {os.cpu_count()} cores + 1); DEBUG=0, DB_CONN_MAX_AGE=60, "
              f"DJANGO_SETTINGS_MODULE=bench_settings (the product's settings, ROOT_URLCONF + floor view)")  # fmt: skip
        gunicorn = subprocess.Popen(command, env={**os.environ, **env}, cwd=ROOT)
        wait_until_up(port, gunicorn)

        campaign = data["campaign"]
        rng = random.Random(7)
        floor_jobs, mark_jobs = [], []
        for examiner in data["examiners"]:
            codes = data["work"][examiner.pk][: args.per_examiner]
            floor_jobs.append((cookies[examiner.pk], [("/bench/floor/", {"value": "70"}) for _ in codes]))
            mark_jobs.append(
                (
                    cookies[examiner.pk],
                    [
                        (
                            f"/examiner/campaigns/{campaign}/parts/written/marks/{code}/",
                            {"value": f"{rng.randint(500, 900) / 10:.1f}", "submit": "1"},
                        )
                        for code in codes
                    ],
                )
            )
        # Warm-up, not measured: every worker loads its code, templates and the rules in force. The marking
        # requests carry a mark that is not a number, so they are refused (422) and write nothing.
        warmup = Phase("warm-up")
        warmup_jobs = [
            (cookie, floor[:3] + [(path, {"value": "not a number", "submit": "1"}) for path, _body in marks[:3]])
            for (cookie, floor), (_cookie, marks) in zip(floor_jobs, mark_jobs, strict=True)
        ]
        run_phase(warmup, port, warmup_jobs, args.seconds)
        assert set(warmup.statuses) <= {200, 422}, warmup.statuses
        # Service time without queueing: one client, one request at a time.
        alone_floor, alone_marking = Phase("floor, 1 client"), Phase("marking, 1 client")
        run_phase(alone_floor, port, [(floor_jobs[0][0], floor_jobs[0][1][:SEQUENTIAL])], args.seconds)
        run_phase(alone_marking, port, [(mark_jobs[0][0], mark_jobs[0][1][:SEQUENTIAL])], args.seconds)
        mark_jobs[0] = (mark_jobs[0][0], mark_jobs[0][1][SEQUENTIAL:])
        half = args.per_examiner // 2
        floor = Phase("floor: bare insert view")
        run_phase(floor, port, [(c, r[:half]) for c, r in floor_jobs], args.seconds)
        marking = Phase("marking: submit a mark")
        run_phase(marking, port, [(c, r[:half]) for c, r in mark_jobs], args.seconds)
        paced_floor = Phase(f"floor, paced {args.think_ms:.0f} ms")
        run_phase(paced_floor, port, [(c, r[half:]) for c, r in floor_jobs], args.seconds, args.think_ms)
        paced = Phase(f"marking, paced {args.think_ms:.0f} ms")
        run_phase(paced, port, [(c, r[half:]) for c, r in mark_jobs], args.seconds, args.think_ms)
        print(f"load: {args.examiners} client threads (http.client, one connection a request) on 127.0.0.1; "
              f"load average before the run: {load_before}")  # fmt: skip
        for phase in (alone_floor, alone_marking, floor, marking, paced_floor, paced):
            print(phase.line())

        from scoring.models import Mark

        submitted = Mark.objects.filter(status="submitted", is_current=True)
        answered = marking.statuses[200] + alone_marking.statuses[200] + paced.statuses[200]
        pairs = submitted.values("examiner_id", "script_id").distinct().count()
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM bench_floor")
            floor_rows = cursor.fetchone()[0]
        print(f"check: {submitted.count()} submitted marks for {answered} answers 200; "
              f"{pairs} distinct (examiner, script) pairs; floor rows inserted: {floor_rows}")  # fmt: skip
        ratio = percentile(marking.latencies, 0.95) / percentile(floor.latencies, 0.95)
        paced_ratio = percentile(paced.latencies, 0.95) / percentile(paced_floor.latencies, 0.95)
        print(f"p95 marking / p95 floor: {ratio:.2f} hammered, {paced_ratio:.2f} paced")
        phases = (alone_floor, alone_marking, floor, marking, paced_floor, paced)
        verdicts = [
            ("p95 under 100 ms (hammered)", percentile(marking.latencies, 0.95) < TARGET_P95_MS),
            ("p95 under 100 ms (paced)", percentile(paced.latencies, 0.95) < TARGET_P95_MS),
            ("within 2x the floor's p95 (hammered)", ratio <= TARGET_RATIO),
            ("within 2x the floor's p95 (paced)", paced_ratio <= TARGET_RATIO),
            ("no errors", all(phase.errors == 0 for phase in phases)),
            ("no lost or duplicated mark", submitted.count() == answered == pairs),
        ]
        for label, ok in verdicts:
            print(f"target {label}: {'met' if ok else 'MISSED'}")

        gunicorn.terminate()
        gunicorn.wait(timeout=30)
        gunicorn = None

        from audit.services import verify_chain

        total = extend_chain(args.audit_events)
        times = []
        for _ in range(3):
            report = verify_chain()
            assert report.ok, report.reason
            times.append(report.seconds)
        median = statistics.median(times)
        rate = report.checked / median
        print(f"audit: verify_chain over {report.checked:,} events in {median:.3f} s (median of 3) = {rate:,.0f} "
              f"events/s; {median * 100_000 / report.checked:.3f} s per 100,000 events; target over "
              f"{TARGET_EVENTS_PER_SECOND:,}/s: {'met' if rate > TARGET_EVENTS_PER_SECOND else 'MISSED'}")  # fmt: skip
        assert total == report.checked
        connection.close()
    finally:
        if gunicorn is not None:
            gunicorn.terminate()
            gunicorn.wait(timeout=30)
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: BLE001 - Django may not be set up when the failure came early
            pass
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
        shutil.rmtree(scratch_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
