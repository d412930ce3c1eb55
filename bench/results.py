"""Benchmark: prepare, approve and publish the results of 50,000 applications (50 posts × 1,000).

The data are built with bulk inserts (applications, final resolutions of two parts), then the three
services are timed as HR and the chair call them. Runs on a scratch SQLite database and, when
DATABASE_URL is set, on that PostgreSQL database too (its name must contain "bench": it is recreated).

    .venv/bin/python bench/results.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hientai_bench .venv/bin/python bench/results.py

Target: under 10 s for the three steps together. Certificate throughput is measured in bench/certificates.py.
"""

from __future__ import annotations

import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
POSTS, PER_POST = 50, 1000
TARGET_SECONDS = 10.0


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    os.environ.setdefault("STATIC_ROOT", tempfile.mkdtemp())
    os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp())
    if not os.environ.get("CERT_SIGNING_KEY"):
        import base64

        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        raw = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        os.environ["CERT_SIGNING_KEY"], os.environ["CERT_KEY_ID"] = base64.b64encode(raw).decode(), "bench"
    import django

    django.setup()


def build() -> tuple[object, object, object]:
    from django.contrib.auth.models import Group
    from django.utils import timezone

    from accounts.models import User
    from candidates.models import Application
    from exams.models import Campaign, CouncilMember, ExamPart, ExamRules, MarkingMode, Organisation, Post
    from scoring.models import Resolution

    now = timezone.now()
    hr = User.objects.create_user(email="hr@bench.vn", full_name="Trần Thị Hà")
    hr.groups.add(Group.objects.get_or_create(name="HR officer")[0])
    chair = User.objects.create_user(email="chair@bench.vn", full_name="Nguyễn Văn Thanh")
    chair.groups.add(Group.objects.get_or_create(name="Council chair")[0])
    province = Organisation.objects.create(name="UBND tỉnh Quảng Nam", kind="province")
    campaign = Campaign.objects.create(
        title="Thi tuyển công chức năm 2026 (bench)", authority=province, status="exam", announced_at=now
    )
    CouncilMember.objects.create(campaign=campaign, user=chair, role="chair")
    rules = ExamRules.objects.create(
        campaign=campaign, status="approved", created_by=hr, approved_by=chair, approved_at=now
    )
    ExamPart.objects.create(
        rules=rules,
        position=1,
        code="written",
        name="Thi viết",
        marking_mode=MarkingMode.BLIND_DOUBLE,
        gates_next=True,
        appealable=True,
    )
    ExamPart.objects.create(
        rules=rules, position=2, code="oral", name="Phỏng vấn", marking_mode=MarkingMode.PANEL_BALLOT
    )
    posts = Post.objects.bulk_create(
        Post(campaign=campaign, organisation=province, title=f"Vị trí {p:02d}", vacancies=1 + p % 3,
             application_opens=now - timezone.timedelta(days=60), application_closes=now - timezone.timedelta(days=30))
        for p in range(POSTS)
    )  # fmt: skip
    if posts[0].pk is None:
        posts = list(Post.objects.filter(campaign=campaign).order_by("title"))
    total = POSTS * PER_POST
    users = User.objects.bulk_create(
        (User(email=f"ungvien{i}@bench.vn", full_name=f"Ứng Viên {i}") for i in range(total)), batch_size=5000
    )
    applications = Application.objects.bulk_create(
        (
            Application(
                candidate=user, post=posts[i // PER_POST], status="eligible", submitted_at=now, decided_at=now,
                profile_snapshot={"full_name": f"Nguyễn Văn {i:05d}", "gender": "male"},
            )
            for i, user in enumerate(users)
        ),
        batch_size=5000,
    )  # fmt: skip
    if applications[0].pk is None:
        applications = list(Application.objects.filter(post__campaign=campaign).order_by("id"))
    rng = random.Random(2026)
    resolutions = []
    for i, application in enumerate(applications):
        for code in ("written", "oral"):
            # The first candidate of each post is best by a margin: no tie across the vacancies.
            value = Decimal("99.0") if i % PER_POST == 0 else Decimal(rng.randint(300, 950)) / 10
            resolutions.append(
                Resolution(campaign=campaign, part_code=code, application=application, spread=Decimal("1"),
                           band="mean", status="final", value=value, method="mean", marks=[])
            )  # fmt: skip
    Resolution.objects.bulk_create(resolutions, batch_size=5000)
    return campaign, hr, chair


def run() -> None:
    setup_django()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    campaign, hr, chair = build()
    built = time.perf_counter() - started
    memory_before = peak_mib()

    from scoring import results

    timings = {}
    profiler = None
    if os.environ.get("BENCH_PROFILE"):
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    draft = results.prepare_results(campaign=campaign, by=hr)
    timings["prepare_results"] = time.perf_counter() - started
    started = time.perf_counter()
    results.approve_results(result_set=draft, by=chair)
    timings["approve_results"] = time.perf_counter() - started
    started = time.perf_counter()
    published = results.publish_results(result_set=draft, by=hr)
    timings["publish_results"] = time.perf_counter() - started
    total = sum(timings.values())
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(os.environ["BENCH_PROFILE"])

    entries = published.entries.count()
    winners = published.entries.filter(outcome="winner").count()
    print(f"database: {connection.vendor}; {entries:,} applications in {POSTS} posts built in {built:.1f} s")
    for name, seconds in timings.items():
        print(f"  {name:<18} {seconds:6.2f} s")
    verdict = "ok" if total < TARGET_SECONDS else "MISSED"
    print(f"  {'total':<18} {total:6.2f} s  (target < {TARGET_SECONDS:.0f} s: {verdict})")
    snapshot = len(published.content["entries"])
    print(f"  winners {winners:,}; snapshot {snapshot:,} entries, sha256 {published.content_hash[:16]}…")
    print(f"  peak RSS: {memory_before:.0f} MiB after building the data, {peak_mib():.0f} MiB after publishing")
    print(f"  certificates: {published.certificates_refused or 'batch queued'}")


def recreate(url: str) -> None:
    import psycopg

    name = urlparse(url).path.lstrip("/")
    if "bench" not in name:
        raise SystemExit(f"refusing to recreate {name!r}: the benchmark database's name must contain 'bench'")
    admin = urlparse(url)._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')


def main() -> None:
    if os.environ.get("BENCH_RESULTS_CHILD"):
        run()
        return
    targets = [f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"]
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        recreate(os.environ["DATABASE_URL"])
        targets.append(os.environ["DATABASE_URL"])
    for url in targets:
        env = {**os.environ, "DATABASE_URL": url, "BENCH_RESULTS_CHILD": "1"}
        subprocess.run([sys.executable, __file__], env=env, check=True)


if __name__ == "__main__":
    main()
