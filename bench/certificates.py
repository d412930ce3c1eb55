"""Benchmark the result certificates: render + sign in one process, and a 10,000-certificate batch.

Run from the project root: ``.venv/bin/python bench/certificates.py [--count N] [--render N]``.

1. One process: payload, Ed25519 signature and one-page PDF with the segno QR code
   (``config.pdf.draw_qr``), certificates per second (wall and CPU time) and peak memory; side by
   side, the same page with ReportLab's own ``QrCodeWidget`` (the peer stack.md measured at ~37/s),
   and the page without a QR code (``config.pdf.draw_qr`` now uses a fixed mask and integer module
   coordinates, the two what-ifs this bench first measured).
2. ``--count`` certificates (default 10,000) through two ``manage.py db_worker`` processes on a
   scratch database: a temporary SQLite file, or, when DATABASE_URL points at PostgreSQL, a
   scratch ``<name>_cert_bench`` database on that server, dropped afterwards. Prints wall time and
   rate, and checks one certificate per entry.

Takes about 4 minutes on 2 idle cores (7 with the machine shared); ``--count 2000 --render 300`` for a
quick run.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGET_PER_SECOND = 100
NAMES = ["Nguyễn Thị Minh Khai", "Trần Văn Bình", "Lê Thị Ánh Tuyết", "Phạm Quốc Đạt", "Huỳnh Thị Ngọc Hân"]


def setup_django(env: dict[str, str]) -> None:
    """Sets Django up with these variables; the process's environment is left as it was."""
    import django

    saved = dict(os.environ)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    try:
        django.setup()
        from django.conf import settings

        settings.DATABASES  # noqa: B018 - read now, while the variables are set
    finally:
        os.environ.clear()
        os.environ.update(saved)


def make_payload(index: int, key_id: str) -> dict[str, Any]:
    from scoring import certificates

    return {
        "type": certificates.PAYLOAD_TYPE,
        "v": certificates.PAYLOAD_VERSION,
        "key_id": key_id,
        "serial": certificates.new_serial(2026),
        "result_set": {"version": 1, "content_hash": "3f" * 32},
        "authority": "UBND tỉnh Quảng Nam",
        "campaign": "Thi tuyển chức danh lãnh đạo, quản lý các sở, ban, ngành tỉnh Quảng Nam năm 2026",
        "post": "Phó Giám đốc Sở Y tế",
        "organisation": "Sở Y tế",
        "candidate": {"name": NAMES[index % len(NAMES)], "birth_date": "1980-05-17"},
        "marks": [
            {"code": "written", "name": "Thi viết kiến thức chung", "mark": f"{60 + index % 40}.5"},
            {"code": "oral", "name": "Trình bày, bảo vệ đề án", "mark": f"{55 + index % 45}.0"},
        ],
        "total": f"{115 + index % 40 + index % 45}.5",
        "rank": 1 + index % 7,
        "outcome": "passed",
        "outcome_text": "Đạt yêu cầu, không trúng tuyển",
        "place": "Quảng Nam",
        "date": "2026-05-04",
        "chair": {"title": "Chủ tịch Hội đồng thi tuyển", "name": "Lê Văn Chủ"},
        "verify_url": "https://thituyen.quangnam.gov.vn/verify/",
    }


def one_certificate(index: int, key: Any) -> bytes:
    """What the worker does per entry, minus the database: payload, signature, PDF."""
    from scoring import certificates
    from scoring.certificate_pdf import render_certificate

    payload = make_payload(index, key.key_id)
    signature = certificates.sign_payload(payload, key)
    return render_certificate(payload=payload, token=certificates.make_token(payload["serial"], signature))


def timed_rate(count: int, key: Any) -> tuple[float, float, int]:
    """(wall rate, CPU rate, bytes of the last PDF) for count certificates."""
    wall, cpu = time.perf_counter(), time.process_time()
    size = 0
    for index in range(count):
        size = len(one_certificate(index, key))
    return count / (time.perf_counter() - wall), count / (time.process_time() - cpu), size


def qr_widget(canvas: Any, data: str, *, x: float, y: float, size: float) -> None:
    """The peer: ReportLab's own QR widget, drawn on the same page at the same size."""
    from reportlab.graphics import renderPDF
    from reportlab.graphics.barcode.qr import QrCodeWidget
    from reportlab.graphics.shapes import Drawing

    widget = QrCodeWidget(data, barLevel="M")
    left, bottom, right, top = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (right - left), 0, 0, size / (top - bottom), 0, 0])
    drawing.add(widget)
    renderPDF.draw(drawing, canvas, x, y)


def in_process(render: int, peer: int) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        setup_django(
            {
                "DJANGO_SETTINGS_MODULE": "config.settings",
                "DATABASE_URL": f"sqlite:///{scratch}/unused.sqlite3",  # nothing is queried
            }
        )
        from scoring import certificate_pdf, certificates

        private, _public = certificates.new_key_pair()
        key = certificates.SigningKey("bench-2026", certificates.parse_private_key(private))
        one_certificate(0, key)  # fonts registered once, outside the timing

        wall, cpu, size = timed_rate(render, key)
        verdict = "meets" if cpu >= TARGET_PER_SECOND else "MISSES"
        print(
            f"render + sign + segno QR (config.pdf.draw_qr): {render} certificates, {wall:.1f}/s wall, "
            f"{cpu:.1f}/s CPU ({1000 / cpu:.2f} ms each), {size / 1024:.1f} KiB each: "
            f"{verdict} the target of {TARGET_PER_SECOND}/s"
        )

        tracemalloc.start()
        for index in range(100):
            one_certificate(index, key)
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory: {peak / 2**20:.1f} MiB traced in a 100-certificate loop; max RSS {rss:.0f} MiB")

        variants: list[tuple[str, Callable[..., None] | None, int]] = [
            ("peer: ReportLab QrCodeWidget", qr_widget, peer),
            ("no QR code", lambda *args, **kwargs: None, max(1, render // 2)),
        ]
        original = certificate_pdf.draw_qr
        for label, draw, count in variants:
            certificate_pdf.draw_qr = draw  # type: ignore[assignment]
            try:
                wall, cpu, _size = timed_rate(count, key)
            finally:
                certificate_pdf.draw_qr = original
            print(f"{label}: {count} certificates, {wall:.1f}/s wall, {cpu:.1f}/s CPU ({1000 / cpu:.2f} ms each)")

        import segno

        url = f"https://thituyen.quangnam.gov.vn/verify/{certificates.make_token('HT-2026-ACDEFGHJKM', 'A' * 86)}/"
        print(f"QR content: {len(url)} characters, QR version {segno.make_qr(url, error='m').version} (level M)")


def seed_child(count: int) -> None:
    """In a child process on the scratch database: migrate, build a published version, issue its batch."""
    setup_django({})
    from datetime import timedelta
    from decimal import Decimal

    from django.core.management import call_command
    from django.utils import timezone

    from accounts.models import User
    from candidates.models import Application
    from exams.models import Campaign, CouncilMember, ExamPart, ExamRules, MarkingMode, Organisation, Post
    from scoring import certificates
    from scoring.models import ResultEntry, ResultSet

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    now = timezone.now()
    province = Organisation.objects.create(name="UBND tỉnh Quảng Nam", kind=Organisation.Kind.PROVINCE)
    department = Organisation.objects.create(name="Sở Y tế", kind="department", parent=province)
    campaign = Campaign.objects.create(
        title="Thi tuyển chức danh lãnh đạo, quản lý năm 2026",
        authority=province,
        status=Campaign.Status.RESULTS,
        announced_at=now - timedelta(days=60),
    )
    post = Post.objects.create(
        campaign=campaign,
        organisation=department,
        title="Phó Giám đốc Sở Y tế",
        application_opens=now - timedelta(days=50),
        application_closes=now - timedelta(days=35),
    )
    hr = User.objects.create_user(email="hr@bench.vn", full_name="Trần Thị Hà")
    chair = User.objects.create_user(email="chair@bench.vn", full_name="Lê Văn Chủ")
    CouncilMember.objects.create(campaign=campaign, user=chair, role=CouncilMember.Role.CHAIR)
    rules = ExamRules.objects.create(
        campaign=campaign, status=ExamRules.Status.APPROVED, created_by=hr, approved_by=chair, approved_at=now
    )
    ExamPart.objects.create(
        rules=rules, position=1, code="written", name="Thi viết kiến thức chung", marking_mode=MarkingMode.BLIND_DOUBLE
    )
    ExamPart.objects.create(
        rules=rules, position=2, code="oral", name="Trình bày, bảo vệ đề án", marking_mode=MarkingMode.PANEL_BALLOT
    )
    users = User.objects.bulk_create(
        [User(email=f"c{i}@bench.vn", full_name=NAMES[i % len(NAMES)]) for i in range(count)], batch_size=2000
    )
    applications = Application.objects.bulk_create(
        [
            Application(
                candidate=user,
                post=post,
                status=Application.Status.ELIGIBLE,
                submitted_at=now - timedelta(days=40),
                decided_at=now - timedelta(days=30),
                profile_snapshot={"full_name": user.full_name, "date_of_birth": "1980-05-17"},
            )
            for user in users
        ],
        batch_size=2000,
    )
    result_set = ResultSet.objects.create(
        campaign=campaign,
        version=1,
        status=ResultSet.Status.PUBLISHED,
        prepared_by=hr,
        approved_by=chair,
        approved_at=now,
        published_at=now,
        content={"entries": []},
        content_hash="3f" * 32,
    )
    ResultEntry.objects.bulk_create(
        [
            ResultEntry(
                result_set=result_set,
                application=application,
                post=post,
                full_name=application.candidate.full_name,
                part_marks={"written": f"{60 + i % 40}.5", "oral": f"{55 + i % 45}.0"},
                total=Decimal(f"{115 + i % 40 + i % 45}.5"),
                rank=i + 1,
                outcome="winner" if i == 0 else "passed",
                proof=[],
            )
            for i, application in enumerate(applications)
        ],
        batch_size=2000,
    )
    batch = certificates.issue_certificates(result_set=result_set, by=hr)
    print(f"seeded {count:,} entries and queued batch {batch.pk} in {time.perf_counter() - started:.1f} s")


def check_child(count: int, seconds: float) -> None:
    setup_django({})
    from django.db import connection
    from django.db.models import Count

    from scoring.models import Certificate, CertificateBatch, ResultEntry

    batch = CertificateBatch.objects.get()
    per_entry = set(ResultEntry.objects.annotate(n=Count("certificate")).values_list("n", flat=True))
    made = Certificate.objects.count()
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(
        f"[{connection.vendor}] two db_workers: {made:,} certificates in {seconds:.1f} s = {made / seconds:.1f}/s; "
        f"batch {batch.status} {batch.done}/{batch.total}; certificates per entry: {sorted(per_entry)} "
        f"({os.cpu_count()} CPUs, load average {load})"
    )
    assert made == count and per_entry == {1} and batch.status == "done" and batch.done == count

    # The QR page (T19/T10): in-process requests, so this is the view's own cost, without a web server.
    from django.test import Client

    from scoring.certificates import certificate_token

    client = Client()
    tokens = [certificate_token(c) for c in Certificate.objects.order_by("?")[:300]]
    times = []
    for token in tokens:
        started = time.perf_counter()
        response = client.get(f"/verify/{token}/")
        times.append(time.perf_counter() - started)
        assert response.status_code == 200
    times.sort()
    p50, p95 = times[len(times) // 2], times[int(len(times) * 0.95)]
    print(
        f"[{connection.vendor}] verification page: {len(times)} requests, "
        f"p50 {p50 * 1e3:.1f} ms, p95 {p95 * 1e3:.1f} ms"
    )


def scratch_postgres(url: str) -> tuple[str, Callable[[], None]]:
    """A scratch database beside the one DATABASE_URL names; returns its URL and a dropper."""
    import psycopg

    base, _, name = url.rpartition("/")
    scratch = f"{name.split('?')[0]}_cert_bench"
    admin = f"{base}/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{scratch}"')
        connection.execute(f'CREATE DATABASE "{scratch}"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')

    return f"{base}/{scratch}", drop


def two_workers(count: int, *, database_url: str) -> None:
    from scoring.certificates import new_key_pair

    private, _public = new_key_pair()
    with tempfile.TemporaryDirectory() as scratch:
        drop: Callable[[], None] = lambda: None  # noqa: E731
        if database_url.startswith(("postgres://", "postgresql://")):
            database_url, drop = scratch_postgres(database_url)
        else:
            database_url = f"sqlite:///{scratch}/cert_bench.sqlite3"
        env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE", "DEBUG"}}
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings",
            DATABASE_URL=database_url,
            MEDIA_ROOT=f"{scratch}/media",
            CERT_SIGNING_KEY=private,
            CERT_KEY_ID="bench-2026",
            CERT_BATCH_SHARDS="2",
            LOG_LEVEL="WARNING",
        )
        try:
            run = [sys.executable, __file__]
            subprocess.run([*run, "--seed-child", "--count", str(count)], env=env, cwd=ROOT, check=True)
            worker = [sys.executable, "manage.py", "db_worker", "--batch", "--no-startup-delay", "--no-reload"]
            started = time.perf_counter()
            workers = [subprocess.Popen(worker, env=env, cwd=ROOT) for _ in range(2)]
            codes = [process.wait() for process in workers]
            seconds = time.perf_counter() - started
            assert codes == [0, 0], codes
            megabytes = sum(p.stat().st_size for p in Path(scratch, "media").rglob("*.pdf")) / 2**20
            print(f"PDF files written: {megabytes:.0f} MiB")
            check = [*run, "--check-child", "--count", str(count), "--seconds", f"{seconds:.3f}"]
            subprocess.run(check, env=env, cwd=ROOT, check=True)
        finally:
            drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=10_000, help="certificates through the two workers")
    parser.add_argument("--render", type=int, default=1000, help="certificates rendered in one process")
    parser.add_argument("--peer", type=int, default=200, help="certificates rendered with QrCodeWidget")
    parser.add_argument("--seconds", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("--seed-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--check-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seed_child:
        seed_child(args.count)
        return
    if args.check_child:
        check_child(args.count, args.seconds)
        return
    database_url = os.environ.get("DATABASE_URL", "")
    print(f"{os.cpu_count()} CPUs, load average {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    in_process(args.render, args.peer)
    two_workers(args.count, database_url=database_url)


if __name__ == "__main__":
    main()
