"""Re-queues certificate batches left unfinished by a worker that died (run after restarting workers),
and deletes the PDFs such a worker wrote without their certificate."""

from __future__ import annotations

from argparse import ArgumentParser
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from scoring import certificates
from scoring.models import CertificateBatch


class Command(BaseCommand):
    help = (
        "Resumes unfinished certificate batches with no progress for CERT_BATCH_STALE_SECONDS (or failed): "
        "marks their dead tasks failed and queues one task for the missing certificates. Idempotent: "
        "no certificate is ever made twice. --force resumes without waiting for the staleness delay. "
        "Then deletes certificate PDFs no certificate refers to, older than the staleness delay."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--batch", type=int, help="only this batch (id)")
        parser.add_argument("--force", action="store_true", help="the workers are known to be dead: do not wait")

    def handle(self, *args: Any, batch: int | None, force: bool, **options: Any) -> None:
        if batch is not None:
            found = CertificateBatch.objects.filter(pk=batch).first()
            if found is None:
                raise CommandError(f"no certificate batch {batch}")
            resumed = [batch] if certificates.resume_certificate_batch(found, force=force) else []
        else:
            resumed = certificates.resume_stalled_batches(force=force)
        if resumed:
            self.stdout.write(f"Resumed batch(es): {', '.join(map(str, resumed))}")
        else:
            self.stdout.write("Nothing to resume.")
        swept = certificates.sweep_orphan_files(older_than=timedelta(seconds=settings.CERT_BATCH_STALE_SECONDS))
        if swept:
            self.stdout.write(f"Deleted {len(swept)} PDF(s) without a certificate: {', '.join(swept)}")
