"""Signed checkpoints of the chain's head (T18): a chain rewritten head and all still fails its checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from accounts.roles import Role
from audit.checkpoints import check_checkpoint, make_checkpoint
from audit.models import AuditEvent, AuditHead
from audit.services import CHAIN_FIELDS, event_hash, verify_chain
from scoring import certificates

pytestmark = pytest.mark.django_db
N = 30


@pytest.fixture(autouse=True)
def signing_key(settings, tmp_path: Path) -> None:
    private, _public = certificates.new_key_pair()
    settings.CERT_SIGNING_KEY, settings.CERT_KEY_ID, settings.CERT_PUBLIC_KEYS = private, "HT-AUDIT-TEST", {}
    settings.CERT_DEMO_KEYS, settings.CERT_KEY_DIR = False, tmp_path / "keys"


@pytest.fixture
def trail(make_trail):
    return make_trail(N)


def rewrite_from(seq: int, tamper, *, object_id: str) -> None:
    """What a database owner can do: edit an event, recompute every hash after it, and move the head."""
    previous = AuditEvent.objects.get(seq=seq - 1).hash
    for event in AuditEvent.objects.filter(seq__gte=seq).order_by("seq"):
        if event.seq == seq:
            tamper("UPDATE audit_auditevent SET object_id = %s WHERE seq = %s", [object_id, seq])
            event.object_id = object_id
        fields = {name: getattr(event, name) for name in CHAIN_FIELDS[:-1]} | {"prev_hash": previous}
        new_hash = event_hash(**fields)
        tamper("UPDATE audit_auditevent SET prev_hash = %s, hash = %s WHERE seq = %s", [previous, new_hash, event.seq])
        previous = new_hash
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_audithead SET last_hash = %s WHERE id = 1", [previous])


def test_a_checkpoint_signs_the_head_and_is_itself_recorded(trail) -> None:
    checkpoint = make_checkpoint()
    assert checkpoint["payload"]["seq"] == N
    assert checkpoint["payload"]["hash"] == AuditEvent.objects.get(seq=N).hash
    recorded = AuditEvent.objects.get(seq=N + 1)
    assert recorded.action == "audit.checkpoint" and recorded.after == checkpoint
    verdict = check_checkpoint(checkpoint)
    assert verdict.ok, verdict.reason


def test_a_chain_rewritten_with_its_head_passes_verify_but_fails_its_checkpoint(trail, tamper) -> None:
    checkpoint = make_checkpoint()
    rewrite_from(10, tamper, object_id="9999")
    assert verify_chain().ok  # the chain alone cannot tell: every hash and the head were recomputed

    verdict = check_checkpoint(checkpoint)
    assert not verdict.ok
    assert f"event {N} no longer has the hash" in verdict.reason and "rewritten" in verdict.reason


def test_a_trail_cut_below_the_checkpoint_fails_it(trail, tamper) -> None:
    checkpoint = make_checkpoint()
    tamper("DELETE FROM audit_auditevent WHERE seq > %s", [N - 5])
    AuditHead.objects.filter(pk=1).update(last_seq=N - 5, last_hash=AuditEvent.objects.get(seq=N - 5).hash)
    assert verify_chain().ok

    verdict = check_checkpoint(checkpoint)
    assert not verdict.ok and f"event {N}" in verdict.reason and "missing" in verdict.reason


@pytest.mark.parametrize(
    "forge",
    [
        lambda c: c["payload"].update(seq=c["payload"]["seq"] - 1),
        lambda c: c["payload"].update(hash="0" * 64),
        lambda c: c["payload"].update(key_id="HT-OTHER"),
        lambda c: c.update(signature=c["signature"][:-4] + "AAAA"),
        lambda c: c.update(signature="not base64 at all!"),
        lambda c: c["payload"].update(type="hientai-certificate/1"),
        lambda c: c.update(payload="nothing"),
    ],
)
def test_an_altered_or_forged_checkpoint_is_refused(trail, forge) -> None:
    checkpoint = make_checkpoint()
    forge(checkpoint)
    assert not check_checkpoint(checkpoint).ok


def test_a_checkpoint_signed_by_another_key_is_refused(trail, settings) -> None:
    checkpoint = make_checkpoint()
    settings.CERT_SIGNING_KEY, _public = certificates.new_key_pair()  # the same key id, another key
    verdict = check_checkpoint(checkpoint)
    assert not verdict.ok and "signature does not match" in verdict.reason


def test_the_command_writes_mails_and_checks_a_checkpoint(trail, tamper, tmp_path, make_user, mailoutbox, capsys):
    make_user("giamsat@example.vn", Role.SUPERVISOR)
    make_user("hr.checkpoint@example.vn", Role.HR)
    call_command("audit_checkpoint", "--out", str(tmp_path), "--mail")
    written = tmp_path / f"audit-checkpoint-{N:09d}.json"
    assert json.loads(written.read_text(encoding="utf-8"))["payload"]["seq"] == N
    assert [message.to for message in mailoutbox] == [["giamsat@example.vn"]]
    assert f'"seq": {N}' in mailoutbox[0].body and "&quot;" not in mailoutbox[0].body

    call_command("audit_checkpoint", "--check", str(written))
    assert "Checkpoint holds" in capsys.readouterr().out

    rewrite_from(5, tamper, object_id="4242")
    with pytest.raises(SystemExit) as exit_:
        call_command("audit_checkpoint", "--check", str(written))
    assert exit_.value.code == 1
    assert "does NOT hold" in capsys.readouterr().err


def test_the_command_refuses_an_unreadable_file(tmp_path) -> None:
    bad = tmp_path / "checkpoint.json"
    bad.write_bytes(b"\xff\xfe not json")
    with pytest.raises(CommandError, match="cannot read"):
        call_command("audit_checkpoint", "--check", str(bad))
