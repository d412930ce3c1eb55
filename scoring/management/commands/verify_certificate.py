"""Offline check of a certificate PDF: the embedded payload against its signature, with the public keys."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from scoring import certificates
from scoring.certificate_pdf import display_mark


class Command(BaseCommand):
    help = (
        "Checks a result certificate PDF offline: reads the signed data embedded in it and verifies the "
        "Ed25519 signature with the configured public keys (CERT_PUBLIC_KEYS and the current key). "
        "Exits 0 if valid, 1 if not. The live status (superseded, revoked) is on the verification page."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", help="the certificate PDF")
        parser.add_argument(
            "--keys",
            help="a JSON file {key_id: base64 public key} to use instead of the configured keys",
        )
        parser.add_argument("--json", action="store_true", dest="as_json", help="print the certified data as JSON")

    def handle(self, *args: Any, file: str, keys: str | None, as_json: bool, **options: Any) -> None:
        path = Path(file)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"NOT VALID: cannot read {path}: {exc.strerror}", returncode=1) from exc
        public = self._keys(keys)
        result = certificates.verify_pdf(data, keys=public)
        if not result.ok or result.payload is None:
            raise CommandError(f"NOT VALID: {result.reason}", returncode=1)
        if as_json:
            self.stdout.write(_json_dumps(result.payload))
        else:
            self.stdout.write(describe(result.payload))
        self.stdout.write(self.style.SUCCESS(f"VALID (key {result.key_id})"))

    def _keys(self, path: str | None) -> dict[str, Any] | None:
        if path is None:
            try:
                return certificates.public_keys()
            except certificates.CertificateKeyError as exc:
                raise CommandError(f"NOT VALID: the public keys are misconfigured: {exc}", returncode=1) from exc
        try:
            listed = _json_loads(Path(path).read_text())
            return {str(kid): certificates.parse_public_key(str(text)) for kid, text in listed.items()}
        except (OSError, ValueError, AttributeError, certificates.CertificateKeyError) as exc:
            raise CommandError(f"cannot read the keys file {path}: {exc}", returncode=1) from exc


def _json_dumps(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, indent=2, sort_keys=True)


def _json_loads(text: str) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("expected a JSON object")
    return value


def describe(payload: dict[str, Any]) -> str:
    candidate = payload.get("candidate") or {}
    chair = payload.get("chair") or {}
    result_set = payload.get("result_set") or {}
    lines = [
        f"Serial:        {payload.get('serial')}",
        f"Candidate:     {candidate.get('name')} (born {candidate.get('birth_date') or '—'})",
        f"Campaign:      {payload.get('campaign')}",
        f"Post:          {payload.get('post')}",
        f"Organisation:  {payload.get('organisation')}",
    ]
    for part in payload.get("marks") or []:
        lines.append(f"  {part.get('name')}: {display_mark(part.get('mark'))}")
    lines += [
        f"Total:         {display_mark(payload.get('total'))}",
        f"Rank:          {payload.get('rank') if payload.get('rank') is not None else '—'}",
        f"Outcome:       {payload.get('outcome_text')} ({payload.get('outcome')})",
        f"Issued:        {payload.get('place')}, {payload.get('date')}",
        f"Chair:         {chair.get('name')} ({chair.get('title')})",
        f"Results:       version {result_set.get('version')}, SHA-256 {result_set.get('content_hash')}",
        f"Verify online: {payload.get('verify_url')}?serial={payload.get('serial')}",
    ]
    return "\n".join(lines)
