"""Verify the audit trail's hash chain: exit 0 if intact, 1 naming the first broken event.

Meant for cron and for the restore drill (T22): ``python manage.py audit_verify``.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from audit.services import record_verification, verify_chain


class Command(BaseCommand):
    help = "Recompute the audit trail's hash chain and report the first broken event."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=10000, help="rows fetched at a time")
        parser.add_argument(
            "--record",
            action="store_true",
            help="also append the result to the trail as an audit.verify event (shown on the supervisor's page)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = verify_chain(batch_size=options["batch_size"])
        if options["record"]:
            record_verification(actor=None, report=report)
        if report.ok:
            self.stdout.write(
                self.style.SUCCESS(f"Audit chain intact: {report.checked} events verified in {report.seconds:.3f} s")
            )
            return
        self.stderr.write(
            f"Audit chain BROKEN at event {report.first_broken_seq}: {report.reason}\n"
            f"({report.checked} events before it verified in {report.seconds:.3f} s)"
        )
        sys.exit(1)
