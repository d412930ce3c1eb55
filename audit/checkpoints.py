"""Signed checkpoints of the audit chain's head, kept off the host (security.md T18).

The chain shows an edited row, but whoever can write the database can also recompute every
hash after the row they changed, and the chain then verifies again. A checkpoint closes that
gap: the head (last seq and hash) and the time, signed with the platform's Ed25519 key (the
certificates' key, see ``scoring.certificates``), then e-mailed to the supervisors and written
wherever cron puts it (another machine, write-once storage). A rewritten chain no longer holds
the hash a checkpoint kept for its seq, and a checkpoint cannot be forged without the key.

    python manage.py audit_checkpoint --out /mnt/anchors/   # daily, from cron
    python manage.py audit_checkpoint --check FILE.json     # exit 0 if the chain still holds it
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.models import AuditEvent, AuditHead
from audit.services import record, utc_iso, verify_chain

PAYLOAD_TYPE = "hientai-audit-checkpoint/1"


@dataclass(frozen=True)
class CheckpointCheck:
    ok: bool
    reason: str


def make_checkpoint() -> dict[str, Any]:
    """The head signed now, as JSON-ready data: {"payload": {...}, "signature": base64url}.

    The checkpoint is itself recorded in the trail (``audit.checkpoint``), after the head it signs.
    """
    from scoring.certificates import sign_payload, signing_key  # the platform's key lives with the certificates

    key = signing_key()
    with transaction.atomic():
        head = AuditHead.objects.select_for_update().filter(pk=1).first()
        seq, chain_hash = (head.last_seq, head.last_hash) if head is not None else (0, "")
        payload = {
            "type": PAYLOAD_TYPE,
            "site": settings.SITE_URL,
            "seq": seq,
            "hash": chain_hash,
            "at": utc_iso(timezone.now()),
            "key_id": key.key_id,
        }
        checkpoint = {"payload": payload, "signature": sign_payload(payload, key)}
        record(actor=None, action="audit.checkpoint", object_type="audit.auditevent", object_id=seq, after=checkpoint)
    return checkpoint


def check_checkpoint(checkpoint: object) -> CheckpointCheck:
    """Does the trail still hold what this checkpoint signed, and is the whole chain intact?"""
    from cryptography.exceptions import InvalidSignature

    from scoring.certificates import canonical_bytes as signed_bytes  # see make_checkpoint()
    from scoring.certificates import public_keys, unb64url

    if not isinstance(checkpoint, dict):
        return CheckpointCheck(False, "the file is not a checkpoint: it holds no JSON object")
    payload, signature = checkpoint.get("payload"), checkpoint.get("signature")
    if not isinstance(payload, dict) or payload.get("type") != PAYLOAD_TYPE:
        return CheckpointCheck(False, "the file is not an audit checkpoint of this platform")
    key = public_keys().get(str(payload.get("key_id")))
    if key is None:
        return CheckpointCheck(False, f"the checkpoint is signed with an unknown key ({payload.get('key_id')!s:.40})")
    try:
        raw = unb64url(str(signature))
        key.verify(raw, signed_bytes(payload))
    except (InvalidSignature, ValueError, TypeError):  # a malformed or a wrong signature: the same verdict
        return CheckpointCheck(False, "the checkpoint's signature does not match: it was altered or forged")
    seq, chain_hash = payload.get("seq"), payload.get("hash")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        return CheckpointCheck(False, "the checkpoint names no event")
    if seq > 0:
        stored = AuditEvent.objects.filter(seq=seq).values_list("hash", flat=True).first()
        if stored is None:
            return CheckpointCheck(False, f"event {seq}, signed by the checkpoint of {payload.get('at')}, is missing")
        if stored != chain_hash:
            return CheckpointCheck(
                False,
                f"event {seq} no longer has the hash the checkpoint of {payload.get('at')} signed: "
                f"the trail up to it was rewritten",
            )
    report = verify_chain()
    if not report.ok:
        return CheckpointCheck(False, report.reason)
    return CheckpointCheck(
        True, f"the trail holds event {seq} as signed on {payload.get('at')}, and {report.checked} events verify"
    )


def checkpoint_text(checkpoint: dict[str, Any]) -> str:
    return json.dumps(checkpoint, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def mail_checkpoint(checkpoint: dict[str, Any]) -> int:
    """E-mails the checkpoint to every active supervisor (mail leaves the host); returns how many."""
    from accounts.models import User
    from accounts.notifications import notify
    from accounts.roles import Role

    supervisors = list(User.objects.filter(groups__name=Role.SUPERVISOR, is_active=True).distinct())
    for user in supervisors:
        notify(
            user=user,
            template="audit/email/checkpoint",
            context={"payload": checkpoint["payload"], "text": checkpoint_text(checkpoint)},
        )
    return len(supervisors)
