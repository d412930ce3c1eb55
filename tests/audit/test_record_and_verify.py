"""record() appends hash-chained events in the caller's transaction; verify_chain() and audit_verify accept them."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import transaction

import audit.services
from audit.models import GENESIS_HASH, AuditEvent, AuditHead
from audit.services import canonical_bytes, event_hash, json_safe, record, snapshot, verify_chain


def run_audit_verify() -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("audit_verify", stdout=out, stderr=err)
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue() + err.getvalue()
    return 0, out.getvalue() + err.getvalue()


@pytest.mark.django_db
def test_a_few_hundred_recorded_events_form_an_intact_chain(make_trail) -> None:
    events = make_trail(300)

    assert [e.seq for e in events] == list(range(1, 301))
    assert events[0].prev_hash == GENESIS_HASH
    assert all(later.prev_hash == earlier.hash for earlier, later in zip(events, events[1:], strict=False))
    assert AuditHead.objects.values_list("last_seq", "last_hash").get() == (300, events[-1].hash)
    report = verify_chain(batch_size=64)  # several batches
    assert (report.ok, report.checked, report.first_broken_seq) == (True, 300, None)


@pytest.mark.django_db
def test_audit_verify_exits_0_and_says_how_many_events_it_verified(make_trail) -> None:
    make_trail(120)

    code, output = run_audit_verify()

    assert code == 0
    assert "Audit chain intact: 120 events verified in" in output


@pytest.mark.django_db
def test_an_empty_trail_verifies() -> None:
    assert verify_chain().ok
    assert run_audit_verify()[0] == 0


@pytest.mark.django_db
def test_record_stores_who_when_what_before_and_after(make_user, make_post) -> None:
    post = make_post()
    hr = make_user("hr.officer@example.vn")

    event = record(
        actor=hr,
        action="rules.approve",
        obj=post,
        before={"weight": Decimal("0.40"), "opens": date(2026, 5, 1)},
        after={"weight": Decimal("0.60"), "opens": date(2026, 5, 2)},
    )

    event.refresh_from_db()
    assert (event.actor, event.actor_label, event.action) == (hr, "hr.officer@example.vn", "rules.approve")
    assert (event.object_type, event.object_id, event.campaign_id) == ("exams.post", str(post.pk), post.campaign_id)
    assert event.before == {"weight": "0.40", "opens": "2026-05-01"}
    assert event.after == {"weight": "0.60", "opens": "2026-05-02"}
    assert event.at.tzinfo is not None


@pytest.mark.django_db
def test_a_campaign_is_its_own_campaign_and_the_label_survives_a_rename(make_user, make_post) -> None:
    campaign = make_post().campaign
    chair = make_user("chair.old@example.vn")

    event = record(actor=chair, action="rules.approve", obj=campaign)
    chair.email = "chair.new@example.vn"
    chair.save()

    event.refresh_from_db()
    assert event.campaign_id == campaign.pk
    assert event.actor_label == "chair.old@example.vn"
    assert verify_chain().ok


@pytest.mark.django_db(transaction=True)
def test_record_outside_a_transaction_raises_and_writes_nothing() -> None:
    with pytest.raises(RuntimeError, match="inside the transaction"):
        record(actor=None, action="mark.submit", object_type="scoring.mark", object_id=1)
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_leaves_no_event_and_no_gap() -> None:
    with transaction.atomic():
        record(actor=None, action="mark.submit", object_type="scoring.mark", object_id=1)
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        record(actor=None, action="mark.submit", object_type="scoring.mark", object_id=2)
        1 / 0  # noqa: B018 - the change fails after its event was written
    with transaction.atomic():
        record(actor=None, action="mark.submit", object_type="scoring.mark", object_id=3)

    assert list(AuditEvent.objects.order_by("seq").values_list("seq", "object_id")) == [(1, "1"), (2, "3")]
    assert verify_chain().ok


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"action": "Mark Submit"}, "short code"),
        ({"action": "mark"}, "short code"),
        ({"action": "mark.submit", "object_id": "x" * 65, "object_type": "scoring.mark"}, "limited"),
        ({"action": "mark.submit", "after": {"score": float("nan")}}, "non-finite"),
    ],
)
def test_record_refuses_malformed_events(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        record(actor=None, **kwargs)
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_record_refuses_an_unsaved_object_or_two_ways_of_naming_it(make_post) -> None:
    from exams.models import Campaign

    with pytest.raises(ValueError, match="unsaved"):
        record(actor=None, action="rules.approve", obj=Campaign(title="x"))
    with pytest.raises(ValueError, match="not both"):
        record(actor=None, action="rules.approve", obj=make_post(), object_id="1")


@pytest.mark.django_db
def test_snapshot_gives_json_safe_values_and_foreign_keys_as_ids(make_post) -> None:
    post = make_post()

    values = snapshot(post, ["title", "campaign", "vacancies", "application_closes"])

    assert values == {
        "title": "Phó Giám đốc Sở Y tế",
        "campaign": post.campaign_id,
        "vacancies": 1,
        "application_closes": post.application_closes.astimezone(UTC).isoformat(timespec="microseconds"),
    }


def test_json_safe_turns_numbers_times_and_collections_into_plain_json() -> None:
    hanoi = timezone(timedelta(hours=7))
    value = {
        1: Decimal("7.50"),
        "float": 1e20,
        "when": datetime(2026, 5, 1, 9, 30, tzinfo=hanoi),
        "day": date(2026, 5, 1),
        "tags": {"b", "a"},
        "pair": (1, None),
        "ok": True,
    }

    assert json_safe(value) == {
        "1": "7.50",
        "float": "1e+20",
        "when": "2026-05-01T02:30:00.000000+00:00",
        "day": "2026-05-01",
        "tags": ["a", "b"],
        "pair": [1, None],
        "ok": True,
    }
    with pytest.raises(TypeError, match="bytes"):
        json_safe(b"raw")


def test_the_canonical_form_is_pinned() -> None:
    # Every stored hash depends on this exact form: changing it breaks every existing chain.
    fields = {
        "seq": 7,
        "at": datetime(2026, 5, 1, 9, 30, 0, 120000, tzinfo=timezone(timedelta(hours=7))),
        "actor_id": 3,
        "actor_label": "chu.tich@example.vn",
        "action": "resolution.decide",
        "object_type": "scoring.resolution",
        "object_id": "42",
        "campaign_id": None,
        "before": None,
        "after": {"reason": 'Chênh lệch "6,5" điểm', "official": "72.5"},
        "prev_hash": "ab" * 32,
    }

    expected = (
        '{"action":"resolution.decide","actor_id":3,"actor_label":"chu.tich@example.vn",'
        '"after":{"official":"72.5","reason":"Chênh lệch \\"6,5\\" điểm"},"at":"2026-05-01T02:30:00.120000+00:00",'
        '"before":null,"campaign_id":null,"object_id":"42","object_type":"scoring.resolution",'
        f'"prev_hash":"{"ab" * 32}","seq":7}}'
    ).encode()
    assert canonical_bytes(**fields) == expected
    assert event_hash(**fields) == hashlib.sha256(expected).hexdigest()


@pytest.mark.django_db
def test_the_fast_verification_renders_awkward_values_exactly_as_the_canonical_form(make_user) -> None:
    # Quotes, backslashes, control characters, emoji, whole seconds and trailing zeros in the microseconds.
    awkward = make_user('an"na\\\u00e9@example.vn')
    moments = [
        datetime(2026, 5, 1, 9, 30, 0, 0, tzinfo=UTC),
        datetime(2026, 5, 1, 9, 30, 1, 120000, tzinfo=UTC),
        datetime(2026, 5, 1, 9, 30, 2, 1, tzinfo=UTC),
    ]
    values = ["tab\there", "line\nbreak \u2028", 'quote " and \\ and \x01', "emoji 🎓 ở Đà Nẵng", "", "=1+2"]
    for i, moment in enumerate(moments * 2):
        with mock.patch("django.utils.timezone.now", return_value=moment):
            record(
                actor=awkward if i % 2 else None,
                action="identity.reveal",
                object_type="scoring.script",
                object_id=values[i],
                campaign_id=None if i % 2 else 10**12,
                before={"nested": {"b": [1, {"c": values[i]}], "a": None}, "n": -3} if i % 3 else None,
                after=[values[i], 0, False] if i % 2 else {"z": values[i], "y": 10**30},
            )

    def slow_path(seq: int) -> str:
        raise AssertionError(f"event {seq} needed the slow path")

    with mock.patch.object(audit.services, "_recomputed_hash", slow_path):
        report = verify_chain()
    assert (report.ok, report.checked) == (True, 6)
