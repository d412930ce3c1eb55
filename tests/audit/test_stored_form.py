"""before/after are stored as the canonical text the hash covers, and verification hashes that text as stored.

Runs on whichever database the suite uses (SQLite by default, PostgreSQL when DATABASE_URL is set).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from unittest import mock

import pytest
from django.core import serializers
from django.db import DataError, connection, transaction
from django.test import Client
from django.urls import reverse

import audit.services
from accounts.roles import Role
from audit.models import AuditEvent
from audit.services import CHAIN_FIELDS, canonical_bytes, json_safe, record, verify_chain
from tests.conftest import PASSWORD, totp_now

from .test_tampering import assert_broken_at

AWKWARD = ['quote " and \\ and \x01\x1f', "tab\there, line\nbreak \u2028", "emoji 🎓 ở Đà Nẵng", "", "=1+2"]


def stored_text(seq: int) -> tuple[str | None, str | None]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT before, after FROM audit_auditevent WHERE seq = %s", [seq])
        return cursor.fetchone()


def no_slow_path(seq: int) -> str:
    raise AssertionError(f"event {seq} was read back through the ORM")


@pytest.mark.django_db
def test_the_stored_text_of_before_and_after_is_the_text_that_was_hashed() -> None:
    before = {"reason": AWKWARD[0], "score": json_safe(7.5), "nested": {"b": [1, None, True], "a": AWKWARD[2]}}
    after = [AWKWARD[1], 10**30, {"z": "", "y": False}]

    event = record(
        actor=None, action="rules.approve", object_type="exams.rules", object_id="1", before=before, after=after
    )

    before_text, after_text = stored_text(event.seq)
    assert before_text == json.dumps(before, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    assert after_text == json.dumps(after, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    hashed = canonical_bytes(**{name: getattr(event, name) for name in CHAIN_FIELDS[:-1]}).decode()
    assert f'"before":{before_text},' in hashed and f'"after":{after_text},' in hashed


@pytest.mark.django_db
def test_before_and_after_still_read_as_python_values() -> None:
    event = record(actor=None, action="mark.submit", object_type="scoring.mark", object_id="1", after={"score": "7.5"})
    plain = record(actor=None, action="mark.submit", object_type="scoring.mark", object_id="2", before="", after=[])

    event.refresh_from_db()
    plain.refresh_from_db()

    assert (event.before, event.after) == (None, {"score": "7.5"})
    assert (plain.before, plain.after) == ("", [])  # a JSON string, not an absent value
    assert stored_text(event.seq)[0] is None  # None is SQL NULL
    assert list(AuditEvent.objects.filter(before__isnull=True).values_list("seq", flat=True)) == [event.seq]
    dumped = json.loads(serializers.serialize("json", [event]))[0]["fields"]
    assert dumped["after"] == {"score": "7.5"}  # dumpdata writes the value, not its repr
    assert verify_chain().ok


@pytest.mark.django_db
@pytest.mark.parametrize("batch_size", [3, 10000])
def test_awkward_strings_round_trip_and_verify_without_the_slow_path(make_user, batch_size) -> None:
    actor = make_user('an"na\\\u00e9@example.vn')
    for i, text in enumerate(AWKWARD):
        record(
            actor=actor if i % 2 else None,
            action="identity.reveal",
            object_type="scoring.script",
            object_id=text,
            before={text: text} if i % 2 else None,
            after={"note": text, "list": [text, i]},
        )

    for i, event in enumerate(AuditEvent.objects.order_by("seq")):
        assert event.object_id == AWKWARD[i]
        assert event.after == {"note": AWKWARD[i], "list": [AWKWARD[i], i]}
    with mock.patch.object(audit.services, "_recomputed_hash", no_slow_path):
        report = verify_chain(batch_size=batch_size)
    assert (report.ok, report.checked) == (True, len(AWKWARD))


@pytest.mark.django_db
def test_rows_stored_in_another_json_form_still_verify_without_a_query_each(make_trail, tamper) -> None:
    # Rows written before migration 0003 on PostgreSQL hold jsonb's printed form ("{"a": 1, ...}",
    # shorter keys first); any row may have been rewritten with spaces or escaped non-ASCII.
    make_trail(40)
    for event in AuditEvent.objects.filter(seq__in=[3, 4, 20]):
        tamper(
            "UPDATE audit_auditevent SET before = %s, after = %s WHERE seq = %s",
            [None if event.before is None else json.dumps(event.before), json.dumps(event.after, indent=1), event.seq],
        )
    if connection.vendor == "postgresql":
        tamper("UPDATE audit_auditevent SET before = before::jsonb::text, after = after::jsonb::text WHERE seq > 30")
        assert stored_text(31)[1].startswith('{"note": "Lần chấm 30"')  # jsonb's form: spaces, shorter keys first

    with mock.patch.object(audit.services, "_recomputed_hash", no_slow_path):
        report = verify_chain(batch_size=16)

    assert (report.ok, report.checked) == (True, 40)


@pytest.mark.django_db
def test_rows_only_the_orm_can_read_are_checked_mid_batch_and_the_batch_goes_on(make_trail, tamper) -> None:
    make_trail(30)
    tamper("UPDATE audit_auditevent SET after = %s WHERE seq = 5", ['{ "note" : "Lần chấm 4", "score" : "11.0",'
                                                                   ' "status" : "submitted" }'])  # fmt: skip
    read_back = []
    exact = audit.services._recomputed_hash

    def recomputed(seq: int) -> str:
        read_back.append(seq)
        return exact(seq)

    with (
        mock.patch.object(audit.services, "_second_look", return_value=None),
        mock.patch.object(audit.services, "_recomputed_hash", recomputed),
    ):
        report = verify_chain(batch_size=8)

    assert (report.ok, report.checked) == (True, 30)
    assert read_back == [5, 30]  # the reshaped row and the head's own event


@pytest.mark.django_db
def test_after_and_before_cut_elsewhere_are_caught(tamper) -> None:
    # An event whose after holds keys "at" and "before" offers a forgery: cut after short, take the
    # time from inside it and push the rest into before. Spliced as stored, the pieces give back the
    # very bytes that were hashed; the verifier must still see that the values changed.
    inner = "2026-05-01T02:30:00.120000+00:00"
    record(actor=None, action="mark.submit", object_type="scoring.mark", object_id="1")
    event = record(
        actor=None,
        action="mark.submit",
        object_type="scoring.mark",
        object_id="2",
        after={"a": 1, "at": inner, "before": 5},
    )
    record(actor=None, action="mark.submit", object_type="scoring.mark", object_id="3")
    hashed = canonical_bytes(**{name: getattr(event, name) for name in CHAIN_FIELDS[:-1]}).decode()
    cut_after = '{"a":1'
    cut_before = f'5}},"at":"{audit.services.utc_iso(event.at)}","before":null'
    assert f'"after":{cut_after},"at":"{inner}","before":{cut_before},' in hashed  # the same bytes

    forged_at = datetime(2026, 5, 1, 2, 30, 0, 120000, tzinfo=UTC)
    at_param = forged_at.replace(tzinfo=None).isoformat(sep=" ") if connection.vendor == "sqlite" else forged_at
    tamper(
        "UPDATE audit_auditevent SET after = %s, before = %s, at = %s WHERE seq = %s",
        [cut_after, cut_before, at_param, event.seq],
    )

    assert_broken_at(event.seq, "edited")


@pytest.mark.skipif(connection.vendor != "sqlite", reason="only SQLite keeps a text in an integer column")
@pytest.mark.django_db
def test_an_id_that_is_not_an_integer_is_caught(make_trail, tamper) -> None:
    make_trail(20)
    tamper("UPDATE audit_auditevent SET campaign_id = '2,\"x\":1' WHERE seq = 12")

    assert_broken_at(12, "edited")


@pytest.mark.postgres_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="reads through COPY on PostgreSQL only")
@pytest.mark.django_db
def test_a_failing_read_raises_and_leaves_the_transaction_usable(make_trail) -> None:
    make_trail(5)
    failing = audit.services._POSTGRESQL_BATCH.replace(" seq\n", " seq + 0 / (seq - 3)\n")  # fails at event 3
    assert failing != audit.services._POSTGRESQL_BATCH

    with mock.patch.object(audit.services, "_POSTGRESQL_BATCH", failing), pytest.raises(DataError):
        verify_chain()

    with transaction.atomic():
        assert AuditEvent.objects.count() == 5
    assert verify_chain().ok


def test_the_admin_shows_before_and_after_as_json(make_user) -> None:
    root = make_user("root.audit@example.vn", Role.HR, mfa_secret="JBSWY3DPEHPK3PXP")
    root.is_staff = root.is_superuser = True
    root.save()
    with transaction.atomic():
        event = record(actor=root, action="rules.edit", object_type="exams.examrules", object_id=1,
                       before={"tên": "Trần Thị Hà", "điểm": "5.0"}, after=None)  # fmt: skip
    client = Client(headers={"accept-language": "en"})
    client.post(reverse("account_login"), {"login": root.email, "password": PASSWORD})
    client.post(reverse("mfa_authenticate"), {"code": totp_now("JBSWY3DPEHPK3PXP")})
    page = client.get(reverse("admin:audit_auditevent_change", args=[event.seq])).content.decode()
    assert "&quot;tên&quot;: &quot;Trần Thị Hà&quot;" in page  # JSON, with its double quotes
    assert "{&#x27;" not in page  # not Python's repr
    assert "<pre>null</pre>" in page
