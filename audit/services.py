"""Write to the audit trail and verify it.

``record()`` appends one event inside the caller's transaction, so the event and
the change it describes are committed, or rolled back, together. ``verify_chain()``
recomputes every hash and names the first event that no longer fits.

The hash of an event is SHA-256 over its canonical serialisation (see
:func:`canonical_bytes`): JSON with sorted keys, no whitespace, non-ASCII text
as UTF-8 rather than escapes, every field but ``hash`` itself (``prev_hash`` included),
the time as ISO 8601 UTC with microseconds, Decimals as strings. The first event's
``prev_hash`` is 64 zeros.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import FieldDoesNotExist
from django.db import models, transaction
from django.db.models import Q, QuerySet, TextField
from django.db.models.fields.files import FieldFile
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.duration import duration_iso_string
from django.utils.functional import Promise

from audit.models import GENESIS_HASH, AuditEvent, AuditHead, CanonicalJSONEncoder

# "rules.approve", "mark.submit", "identity.reveal": lower-case words joined by dots.
ACTION_CODE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")

# Column order of the rows verify_chain() streams: every hashed field, then the hash.
CHAIN_FIELDS = (
    "seq",
    "at",
    "actor_id",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "campaign_id",
    "before",
    "after",
    "prev_hash",
    "hash",
)

_encode = CanonicalJSONEncoder().encode
_sha256 = hashlib.sha256

# --- Canonical form and hash --------------------------------------------------------


def utc_iso(moment: datetime) -> str:
    """ISO 8601 in UTC with microseconds, e.g. 2026-05-01T03:04:05.000000+00:00."""
    text = moment.isoformat(timespec="microseconds")
    if text.endswith("+00:00"):
        return text
    if moment.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def canonical_bytes(
    *,
    seq: int,
    at: datetime,
    actor_id: int | None,
    actor_label: str,
    action: str,
    object_type: str,
    object_id: str,
    campaign_id: int | None,
    before: Any,
    after: Any,
    prev_hash: str,
) -> bytes:
    """The bytes an event's hash is computed over (before/after must already be JSON-safe)."""
    return _encode(
        {
            "action": action,
            "actor_id": actor_id,
            "actor_label": actor_label,
            "after": after,
            "at": utc_iso(at),
            "before": before,
            "campaign_id": campaign_id,
            "object_id": object_id,
            "object_type": object_type,
            "prev_hash": prev_hash,
            "seq": seq,
        }
    ).encode()


def event_hash(**fields: Any) -> str:
    """SHA-256 (hex) of :func:`canonical_bytes` for the given fields."""
    return _sha256(canonical_bytes(**fields)).hexdigest()


# --- JSON-safe values -----------------------------------------------------------------


def json_safe(value: Any) -> Any:
    """The value as plain JSON that survives every database unchanged.

    Decimals and floats become strings (a jsonb column would otherwise rewrite 1e20
    as an integer and break the hash), dates and times ISO 8601 (datetimes in UTC),
    model instances their primary key, mapping keys strings.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)  # IntegerChoices members become plain ints
    if isinstance(value, str):
        return str(value)  # TextChoices members and safe strings become plain str
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot audit a non-finite number: {value}")
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot audit a non-finite number: {value}")
        return repr(value)
    if isinstance(value, datetime):
        if timezone.is_naive(value):
            value = timezone.make_aware(value)
        return utc_iso(value)
    if isinstance(value, date | clock_time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return duration_iso_string(value)
    if isinstance(value, uuid.UUID | Promise):
        return str(value)
    if isinstance(value, models.Model):
        return json_safe(value.pk)
    if isinstance(value, FieldFile):
        return value.name or ""
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, set | frozenset):
        return sorted((json_safe(item) for item in value), key=_encode)
    raise TypeError(f"cannot audit a value of type {type(value).__name__}: convert it first")


def snapshot(instance: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The named fields of a model instance as JSON-safe values, for ``before`` and ``after``.

    Foreign keys give the related primary key (read from ``<name>_id``, no query),
    many-to-many fields the sorted primary keys; a name that is not a field is read as an attribute.
    """
    result: dict[str, Any] = {}
    for name in fields:
        try:
            field = instance._meta.get_field(name)
        except FieldDoesNotExist:
            result[name] = json_safe(getattr(instance, name))
            continue
        if field.many_to_many and instance.pk is not None:
            result[name] = sorted(json_safe(pk) for pk in getattr(instance, name).values_list("pk", flat=True))
        elif field.concrete:
            result[name] = json_safe(getattr(instance, field.attname))  # type: ignore[union-attr]
        else:
            raise ValueError(f"{name} is a reverse relation of {instance._meta.label}: snapshot its own rows")
    return result


# --- Append -------------------------------------------------------------------------------


def _actor_parts(actor: AbstractBaseUser | AnonymousUser | None) -> tuple[int | None, str]:
    if actor is None or not actor.is_authenticated:
        return None, ""
    if actor.pk is None:
        raise ValueError("the actor must be a saved user")
    return actor.pk, actor.get_username()  # the e-mail address: USERNAME_FIELD is "email"


def _object_parts(
    obj: models.Model | None, object_type: str | None, object_id: object
) -> tuple[str, str, models.Model | None]:
    if obj is None:
        return object_type or "", "" if object_id is None else str(object_id), None
    if object_type is not None or object_id is not None:
        raise ValueError("pass either obj or object_type/object_id, not both")
    if obj.pk is None:
        raise ValueError(f"cannot audit an unsaved {obj._meta.label}: record the event after saving it")
    return obj._meta.label_lower, str(obj.pk), obj


def _campaign_of(obj: models.Model | None) -> int | None:
    # Most audited objects are a campaign or hang from one directly (posts, rules, panels).
    if obj is None:
        return None
    if obj._meta.label_lower == "exams.campaign":
        return obj.pk  # type: ignore[return-value]
    campaign_id = getattr(obj, "campaign_id", None)
    return campaign_id if isinstance(campaign_id, int) else None


def record(
    *,
    actor: AbstractBaseUser | AnonymousUser | None,
    action: str,
    obj: models.Model | None = None,
    object_type: str | None = None,
    object_id: str | int | None = None,
    campaign_id: int | None = None,
    before: Any = None,
    after: Any = None,
) -> AuditEvent:
    """Append one event to the audit trail, in the caller's transaction.

    Call it inside the ``transaction.atomic()`` block that makes the change, after the
    change is saved, and preferably last: the chain head stays locked until the
    transaction ends, which serialises audited writes (that is what keeps the chain a chain).
    ``obj`` fills object_type ("app_label.model") and object_id (its pk); ``campaign_id``
    defaults to the object's campaign when it is a campaign or has a ``campaign_id``.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(
            "audit.record() must run inside the transaction of the change it records: "
            "wrap the change and the call in transaction.atomic()"
        )
    if not ACTION_CODE.fullmatch(action) or len(action) > 64:
        raise ValueError(f"action must be a short code such as 'mark.submit', got {action!r}")
    object_type, object_id_text, instance = _object_parts(obj, object_type, object_id)
    if len(object_type) > 100 or len(object_id_text) > 64:
        raise ValueError("object_type is limited to 100 characters and object_id to 64")
    if campaign_id is None:
        campaign_id = _campaign_of(instance)
    actor_id, actor_label = _actor_parts(actor)
    before, after = json_safe(before), json_safe(after)

    head, _ = AuditHead.objects.select_for_update().get_or_create(pk=1)
    event = AuditEvent(
        seq=head.last_seq + 1,
        at=timezone.now(),  # read under the lock, so times follow the chain's order
        actor_id=actor_id,
        actor_label=actor_label,
        action=action,
        object_type=object_type,
        object_id=object_id_text,
        campaign_id=campaign_id,
        before=before,
        after=after,
        prev_hash=head.last_hash,
    )
    event.hash = event_hash(**{name: getattr(event, name) for name in CHAIN_FIELDS[:-1]})
    event.save(force_insert=True)
    AuditHead.objects.filter(pk=1).update(last_seq=event.seq, last_hash=event.hash)
    return event


# --- Verify --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    first_broken_seq: int | None
    reason: str
    seconds: float = 0.0


def _time_text(text: str) -> str:
    """A UTC time as SQLite or PostgreSQL print it, in the canonical form (or "" if it is in another form).

    "2026-03-01 01:00:14.07+00" -> "2026-03-01T01:00:14.070000+00:00". Parsing a datetime
    per row would cost more than the rest of the verification.
    """
    if text.endswith("+00"):
        text = text[:-3]
    if len(text) == 19:
        return f"{text[:10]}T{text[11:]}.000000+00:00"
    if 21 <= len(text) <= 26 and text[19] == ".":
        return f"{text[:10]}T{text[11:].ljust(15, '0')}+00:00"
    return ""


def _fast_rows(batch_size: int) -> Iterable[tuple[Any, ...]]:
    """CHAIN_FIELDS in seq order, with the time and before/after as text (no converters run)."""
    return (
        AuditEvent.objects.order_by("seq")
        .annotate(
            at_text=Cast("at", TextField()),
            before_text=Cast("before", TextField()),
            after_text=Cast("after", TextField()),
        )
        .values_list(
            "seq",
            "at_text",
            "actor_id",
            "actor_label",
            "action",
            "object_type",
            "object_id",
            "campaign_id",
            "before_text",
            "after_text",
            "prev_hash",
            "hash",
        )
        .iterator(chunk_size=batch_size)
    )


def _recomputed_hash(seq: int) -> str:
    """The hash of one event computed the slow, exact way, from the ORM's Python values."""
    try:
        values = AuditEvent.objects.filter(seq=seq).values_list(*CHAIN_FIELDS[:-1]).get()
        return event_hash(**dict(zip(CHAIN_FIELDS[:-1], values, strict=True)))
    except (ValueError, TypeError, AttributeError):
        return ""  # a row too damaged to read back (say, a time that is not a time) is an edited row


def _head() -> tuple[int, str] | None:
    return AuditHead.objects.filter(pk=1).values_list("last_seq", "last_hash").first()


def verify_chain(*, batch_size: int = 10000) -> ChainReport:
    """Recompute every event's hash in order and check each link and the head.

    Streams plain tuples (no model instances). Reports the first event that is
    edited (its hash no longer matches its content), missing (a gap in seq),
    out of place (its prev_hash is not the previous event's hash), or beyond or
    short of the head. Events appended while it runs are accepted.
    """
    started = time.perf_counter()
    head_before = _head()  # read first: every event it counts was committed before the stream starts
    head_seq, head_hash = head_before or (0, GENESIS_HASH)
    # SQLite holds before/after in the canonical form already (CanonicalJSONEncoder); jsonb does not.
    spliced = transaction.get_connection().vendor == "sqlite"

    def broken(seq: int | None, reason: str, checked: int) -> ChainReport:
        return ChainReport(False, checked, seq, reason, time.perf_counter() - started)

    def describe(seq: int, action: str, at: str) -> str:
        return f"event {seq} ({action} at {at})"

    # The hot loop: locals only, and the canonical form (see canonical_bytes) built as one f-string.
    # prev_hash needs no escaping: it equals the previous event's hash, which was checked to be hex.
    # Should this fast rendering ever differ from canonical_bytes() (a row stored in another form),
    # the event is recomputed the slow way before it is called edited.
    quote, encode, loads, sha256, time_text = encode_basestring, _encode, json.loads, _sha256, _time_text
    expected, prev, last_action, last_at = 1, GENESIS_HASH, "", ""
    for seq, at, actor, label, action, otype, oid, campaign, before, after, prev_hash, stored in _fast_rows(batch_size):
        at = time_text(at) or at  # an odd form fails the fast hash below and is read back exactly
        if seq != expected:
            where = f"event {expected - 1} is followed by {seq}" if expected > 1 else f"the trail starts at {seq}"
            return broken(seq, f"{describe(seq, action, at)}: events before it are missing ({where}).", expected - 1)
        if prev_hash != prev:
            return broken(
                seq,
                f"{describe(seq, action, at)} does not follow event {seq - 1}: its previous-hash link does not "
                f"match. An earlier event was changed, or events were reordered or replaced.",
                seq - 1,
            )
        if not spliced:
            before = "null" if before is None else encode(loads(before))
            after = "null" if after is None else encode(loads(after))
        text = (
            f'{{"action":{quote(action)},"actor_id":{"null" if actor is None else actor},'
            f'"actor_label":{quote(label)},"after":{"null" if after is None else after},"at":"{at}",'
            f'"before":{"null" if before is None else before},"campaign_id":{"null" if campaign is None else campaign},'
            f'"object_id":{quote(oid)},"object_type":{quote(otype)},"prev_hash":"{prev_hash}","seq":{seq}}}'
        )
        if sha256(text.encode()).hexdigest() != stored and _recomputed_hash(seq) != stored:
            return broken(
                seq, f"{describe(seq, action, at)} was edited: its content no longer matches its hash.", seq - 1
            )
        if seq == head_seq and stored != head_hash:
            return broken(
                seq,
                f"{describe(seq, action, at)} is not the event the chain head recorded: "
                f"the events up to it were rewritten.",
                seq - 1,
            )
        prev, expected, last_action, last_at = stored, expected + 1, action, at
    checked = expected - 1

    if checked < head_seq:
        return broken(
            checked + 1,
            f"event {checked + 1} is missing: the chain head records {head_seq} events but the trail ends at "
            f"event {checked}. The latest events were deleted.",
            checked,
        )
    if checked > head_seq:
        # Events past the head read first are fine if they were appended meanwhile.
        head_after = _head()
        if head_after is None:
            return broken(1, f"the chain head is missing although the trail holds {checked} events.", 0)
        head_seq, head_hash = head_after
        if checked > head_seq:
            return broken(
                head_seq + 1,
                f"event {head_seq + 1} and the events after it lie beyond the chain head (event {head_seq}): "
                f"they were added outside the audit service.",
                head_seq,
            )
        if checked == head_seq and prev != head_hash:
            return broken(
                checked,
                f"{describe(checked, last_action, last_at)} is not the event the chain head recorded.",
                checked - 1,
            )
    elapsed = time.perf_counter() - started
    return ChainReport(True, checked, None, f"{checked} events verified: the chain is intact.", elapsed)


def record_verification(*, actor: AbstractBaseUser | AnonymousUser | None, report: ChainReport) -> AuditEvent:
    """Append the outcome of a verification to the trail (action "audit.verify")."""
    with transaction.atomic():
        return record(
            actor=actor,
            action="audit.verify",
            after={
                "ok": report.ok,
                "checked": report.checked,
                "first_broken_seq": report.first_broken_seq,
                "reason": report.reason,
                "seconds": round(report.seconds, 3),
            },
        )


def last_verification() -> AuditEvent | None:
    """The latest recorded verification, if any."""
    return AuditEvent.objects.filter(action="audit.verify").select_related("actor").order_by("-seq").first()


# --- Read ---------------------------------------------------------------------------------


def events_matching(
    *,
    campaign_id: int | None = None,
    action: str = "",
    actor_email: str = "",
    object_type: str = "",
    object_id: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[AuditEvent]:
    """Events matching the supervisor's filters, newest first. Dates are Vietnamese calendar days.

    An action ending with a dot matches every action it starts ("mark." finds mark.submit);
    the e-mail matches the address at the time of the event or the account's address now.
    """
    events = AuditEvent.objects.select_related("actor").order_by("-seq")
    if campaign_id is not None:
        events = events.filter(campaign_id=campaign_id)
    if action.endswith("."):
        events = events.filter(action__startswith=action)
    elif action:
        events = events.filter(action=action)
    if actor_email:
        accounts = get_user_model().objects.filter(email=actor_email).values("pk")
        events = events.filter(Q(actor_label=actor_email) | Q(actor__in=accounts))
    if object_type:
        events = events.filter(object_type=object_type)
    if object_id:
        events = events.filter(object_id=object_id)
    zone = timezone.get_default_timezone()
    if date_from:
        events = events.filter(at__gte=datetime.combine(date_from, clock_time.min, tzinfo=zone))
    if date_to:
        events = events.filter(at__lt=datetime.combine(date_to + timedelta(days=1), clock_time.min, tzinfo=zone))
    return events
