"""Background generation: idempotent tasks, concurrent writers, and a real worker killed mid-batch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection, connections
from django.db.models import Count
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from scoring import certificates
from scoring.certificate_tasks import generate_certificates
from scoring.models import Certificate, CertificateBatch, ResultEntry, ResultSet
from tests.scoring.test_certificates import KeyPair, ResultSetup, build_result_set, cert_key  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]


def stored_files() -> list[str]:
    return default_storage.listdir("certificates")[1] if default_storage.exists("certificates") else []


def assert_one_certificate_per_entry(result_set: ResultSet) -> None:
    entries = ResultEntry.objects.filter(result_set=result_set)
    per_entry = entries.annotate(n=Count("certificate")).values_list("n", flat=True)
    assert sorted(set(per_entry)) == [1]
    assert Certificate.objects.filter(entry__result_set=result_set).count() == entries.count()


@pytest.fixture
def chunked(settings) -> None:
    settings.CERT_BATCH_CHUNK = 3


def test_the_task_run_twice_gives_one_certificate_per_entry(cert_key, chunked, make_post) -> None:  # noqa: F811
    setup = build_result_set(make_post, count=7)
    batch = certificates.issue_certificates(result_set=setup.result_set, by=setup.hr)
    queued = DBTaskResult.objects.filter(task_path=certificates.TASK_PATH).order_by("enqueued_at")
    calls = [row.args_kwargs["kwargs"] for row in queued]
    assert calls == [{"batch_id": batch.pk, "shard": 0, "shards": 2}, {"batch_id": batch.pk, "shard": 1, "shards": 2}]

    for kwargs in calls + calls:  # every shard, twice
        generate_certificates.call(**kwargs)
    generate_certificates.call(batch_id=batch.pk)  # and the whole batch once more

    assert_one_certificate_per_entry(setup.result_set)
    batch.refresh_from_db()
    assert (batch.status, batch.done, batch.total) == (CertificateBatch.Status.DONE, 7, 7)
    assert batch.finished_at is not None
    assert len(stored_files()) == 7
    assert all(certificates.verify_pdf(default_storage.open(c.pdf.name).read()).ok for c in Certificate.objects.all())


def test_a_second_writer_of_the_same_entries_inserts_nothing(cert_key, make_post) -> None:  # noqa: F811
    # Two workers that rendered the same entries: the second insert is ignored and its files removed.
    setup = build_result_set(make_post, count=4)
    context = certificates.set_context(setup.result_set)
    key = certificates.signing_key()
    first = [certificates.prepare(e, context=context, key=key) for e in setup.entries]
    second = [certificates.prepare(e, context=context, key=key) for e in setup.entries]
    mine = certificates.store(first, result_set_id=setup.result_set.pk)
    theirs = certificates.store(second, result_set_id=setup.result_set.pk)
    assert {k: c.serial for k, c in mine.items()} == {k: c.serial for k, c in theirs.items()}
    assert {c.serial for c in theirs.values()} == {p.serial for p in first}
    assert sorted(stored_files()) == sorted(f"{p.serial}.pdf" for p in first)
    assert_one_certificate_per_entry(setup.result_set)


def test_a_serial_already_taken_is_drawn_again(cert_key, make_post, monkeypatch) -> None:  # noqa: F811
    setup = build_result_set(make_post, count=2)
    first = certificates.generate_certificate(setup.entries[0])
    fresh = certificates.new_serial(2026)
    serials = iter([first.serial, fresh])
    monkeypatch.setattr(certificates, "new_serial", lambda year: next(serials))
    second = certificates.generate_certificate(setup.entries[1])
    assert second.serial == fresh and second.entry_id == setup.entries[1].pk
    assert sorted(stored_files()) == sorted([f"{first.serial}.pdf", f"{fresh}.pdf"])
    assert certificates.verify_pdf(default_storage.open(first.pdf.name).read()).payload["serial"] == first.serial


def test_a_batch_stops_when_its_version_is_superseded(cert_key, make_post) -> None:  # noqa: F811
    setup = build_result_set(make_post, count=3)
    batch = certificates.issue_certificates(result_set=setup.result_set, by=setup.hr)
    ResultSet.objects.filter(pk=setup.result_set.pk).update(status=ResultSet.Status.SUPERSEDED)
    run = certificates.run_batch(batch.pk)
    assert run.created == 0
    batch.refresh_from_db()
    assert batch.status == CertificateBatch.Status.FAILED and "no longer the published version" in batch.error
    assert not Certificate.objects.exists() and not stored_files()


def test_a_stalled_batch_is_resumed_once(settings, cert_key, chunked, make_post) -> None:  # noqa: F811
    setup = build_result_set(make_post, count=5)
    batch = certificates.issue_certificates(result_set=setup.result_set, by=setup.hr)
    # A worker claimed shard 0, certified two entries and died.
    dead = DBTaskResult.objects.filter(task_path=certificates.TASK_PATH).order_by("enqueued_at").first()
    dead.claim("dead-worker")
    DBTaskResult.objects.filter(task_path=certificates.TASK_PATH).exclude(pk=dead.pk).delete()
    certificates.generate_certificates_for(setup.entries[:2])
    CertificateBatch.objects.filter(pk=batch.pk).update(status=CertificateBatch.Status.RUNNING, done=2)

    assert not certificates.resume_certificate_batch(batch)  # recent progress: maybe still alive
    settings.CERT_BATCH_STALE_SECONDS = -1
    assert certificates.is_stalled(batch)
    out = __import__("io").StringIO()
    call_command("resume_certificate_batches", stdout=out)
    assert f"Resumed batch(es): {batch.pk}" in out.getvalue()
    dead.refresh_from_db()
    assert dead.status == TaskResultStatus.FAILED and "WorkerLost" in dead.exception_class_path
    fresh = DBTaskResult.objects.get(task_path=certificates.TASK_PATH, status=TaskResultStatus.READY)
    assert fresh.args_kwargs["kwargs"] == {"batch_id": batch.pk, "shard": 0, "shards": 1}
    assert not certificates.resume_certificate_batch(batch)  # its new task waits for a worker: not twice

    generate_certificates.call(**fresh.args_kwargs["kwargs"])
    batch.refresh_from_db()
    assert (batch.status, batch.done) == (CertificateBatch.Status.DONE, 5)
    assert_one_certificate_per_entry(setup.result_set)
    assert not certificates.resume_certificate_batch(batch, force=True)  # done: nothing to resume


# --- PostgreSQL: real concurrency and a real worker ----------------------------------------------------

needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: a worker subprocess cannot share pytest's SQLite test database, and SQLite "
    "writes one at a time (CI runs this file on PostgreSQL too)",
)


@pytest.mark.postgres_only
@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_calls_get_the_same_certificate(cert_key, make_post) -> None:  # noqa: F811
    setup = build_result_set(make_post, count=1)
    entry_id = setup.entries[0].pk
    start = threading.Barrier(4)
    results: list[int] = []
    errors: list[BaseException] = []

    def generate() -> None:
        try:
            start.wait()
            results.append(certificates.generate_certificate(ResultEntry.objects.get(pk=entry_id)).pk)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=generate) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert len(results) == 4 and len(set(results)) == 1
    assert Certificate.objects.count() == 1 and len(stored_files()) == 1


def worker_env(cert_key: KeyPair, tmp_path: Path, settings) -> dict[str, str]:  # noqa: F811
    database = connection.settings_dict
    url = f"postgres://{database['USER'] or 'postgres'}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}"
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=f"{url}/{database['NAME']}",
        CERT_SIGNING_KEY=cert_key.private,
        CERT_KEY_ID=cert_key.key_id,
        MEDIA_ROOT=str(settings.MEDIA_ROOT),
        CERT_BATCH_CHUNK=str(settings.CERT_BATCH_CHUNK),
        DEBUG="0",
        SECRET_KEY="worker-test-secret-key-0123456789-0123456789-0123456789",
        SECURE_SSL_REDIRECT="0",
        LOG_LEVEL="WARNING",
    )
    return env


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "manage.py", "db_worker", "--batch", "--no-startup-delay", "--interval", "0.1"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.mark.postgres_only
@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_is_resumed_to_exactly_one_certificate_each(
    settings,
    cert_key,  # noqa: F811
    make_post,
    tmp_path: Path,
) -> None:
    settings.CERT_BATCH_CHUNK = 20
    settings.CERT_BATCH_SHARDS = 1
    total = 300
    setup: ResultSetup = build_result_set(make_post, count=total)
    batch = certificates.issue_certificates(result_set=setup.result_set, by=setup.hr)
    env = worker_env(cert_key, tmp_path, settings)

    worker = start_worker(env)
    deadline = time.monotonic() + 120
    made = 0
    while time.monotonic() < deadline and worker.poll() is None:
        made = Certificate.objects.filter(entry__result_set=setup.result_set).count()
        if made > 0:
            break
        time.sleep(0.02)
    assert 0 < made < total, f"the worker should be mid-batch ({made}/{total}); stderr: {worker.stderr.read()}"
    worker.send_signal(signal.SIGKILL)
    worker.wait(30)
    worker.stderr.close()

    killed_at = Certificate.objects.filter(entry__result_set=setup.result_set).count()
    assert killed_at < total
    stuck = DBTaskResult.objects.filter(task_path=certificates.TASK_PATH, status=TaskResultStatus.RUNNING)
    assert stuck.count() == 1  # the dead worker's task is left "running" by django-tasks-db
    batch.refresh_from_db()
    assert batch.status == CertificateBatch.Status.RUNNING

    assert certificates.resume_certificate_batch(batch, force=True)
    assert not stuck.exists()
    second = start_worker(env)
    _, errors = second.communicate(timeout=300)
    assert second.returncode == 0, errors.decode()

    assert_one_certificate_per_entry(setup.result_set)
    batch.refresh_from_db()
    assert (batch.status, batch.done, batch.total) == (CertificateBatch.Status.DONE, total, total)
    assert not DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING).exists()
    assert (
        DBTaskResult.objects.filter(task_path=certificates.TASK_PATH, status=TaskResultStatus.SUCCESSFUL).count() == 1
    )
    serials = list(Certificate.objects.values_list("serial", flat=True))
    assert len(set(serials)) == total
    files = set(stored_files())
    assert {f"{serial}.pdf" for serial in serials} <= files
    # At most the chunk the killed worker had written but not inserted is left over, unreferenced.
    assert len(files) - total <= settings.CERT_BATCH_CHUNK
    sample = Certificate.objects.order_by("?").first()
    assert certificates.verify_pdf(default_storage.open(sample.pdf.name).read()).ok
