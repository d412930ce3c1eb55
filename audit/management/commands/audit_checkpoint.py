"""Sign the audit chain's head and keep it off the host, or check a kept checkpoint.

Daily, from cron on the application host (the file goes to storage on another machine)::

    python manage.py audit_checkpoint --out /mnt/anchors/ --mail

Later, or in the restore drill (T22)::

    python manage.py audit_checkpoint --check /mnt/anchors/audit-checkpoint-000123.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.checkpoints import check_checkpoint, checkpoint_text, mail_checkpoint, make_checkpoint


class Command(BaseCommand):
    help = "Sign the audit chain's head (to keep off the host), or check that the trail still holds a checkpoint."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", help="a directory (or file) to write the signed checkpoint to; default: stdout")
        parser.add_argument("--mail", action="store_true", help="also e-mail it to every supervisor")
        parser.add_argument("--check", metavar="FILE", help="check a checkpoint instead: exit 0 if the trail holds it")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["check"]:
            self._check(Path(options["check"]))
            return
        from scoring.certificates import CertificateKeyError

        try:
            checkpoint = make_checkpoint()
        except CertificateKeyError as error:
            raise CommandError(f"no signing key: {error}") from None
        text = checkpoint_text(checkpoint)
        if options["out"]:
            target = Path(options["out"])
            if target.is_dir():
                target = target / f"audit-checkpoint-{checkpoint['payload']['seq']:09d}.json"
            target.write_text(text, encoding="utf-8")
            seq = checkpoint["payload"]["seq"]
            self.stdout.write(self.style.SUCCESS(f"Checkpoint of event {seq} written to {target}"))
        else:
            self.stdout.write(text, ending="")
        if options["mail"]:
            sent = mail_checkpoint(checkpoint)
            self.stdout.write(f"E-mailed to {sent} supervisor(s).")

    def _check(self, path: Path) -> None:
        try:
            checkpoint = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise CommandError(f"cannot read {path}: {error}") from None
        verdict = check_checkpoint(checkpoint)
        if verdict.ok:
            self.stdout.write(self.style.SUCCESS(f"Checkpoint holds: {verdict.reason}"))
            return
        self.stderr.write(f"Checkpoint does NOT hold: {verdict.reason}")
        sys.exit(1)
