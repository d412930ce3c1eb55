"""Write to the audit trail and verify it.

``record()`` appends one event inside the caller's transaction, so the event and
the change it describes are committed, or rolled back, together. ``verify_chain()``
recomputes every hash and names the first event that no longer fits.

The hash of an event is SHA-256 over its canonical serialisation (see
:func:`canonical_bytes`): JSON with sorted keys, no whitespace, non-ASCII text
as UTF-8 rather than escapes, every field but ``hash`` itself (``prev_hash`` included),
the time as ISO 8601 UTC with microseconds, Decimals as strings. The first event's
``prev_hash`` is 64 zeros.

before/after are stored as exactly the canonical text that was hashed (see
``audit.models.CanonicalJSONTextField``), so verification splices the stored text into the
canonical form and hashes it, reading the rows past the ORM (a raw cursor on SQLite, COPY on
PostgreSQL); a row that does not match that way is looked at again, exactly, before it is
called edited.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from functools import partial
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import TYPE_CHECKING, Any, NamedTuple

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import FieldDoesNotExist
from django.db import models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper
from django.db.models import Q, QuerySet, TextField
from django.db.models.fields.files import FieldFile
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.duration import duration_iso_string
from django.utils.functional import Promise

from audit.models import GENESIS_HASH, AuditEvent, AuditHead, CanonicalJSONEncoder

if TYPE_CHECKING:
    from psycopg.pq.abc import PGconn

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

    connection = transaction.get_connection()
    with connection.cursor() as cursor:
        last_seq, last_hash = _locked_head(cursor, connection)
        event = AuditEvent(
            seq=last_seq + 1,
            at=timezone.now(),  # read under the lock, so times follow the chain's order
            actor_id=actor_id,
            actor_label=actor_label,
            action=action,
            object_type=object_type,
            object_id=object_id_text,
            campaign_id=campaign_id,
            before=before,
            after=after,
            prev_hash=last_hash,
        )
        event.hash = event_hash(**{name: getattr(event, name) for name in CHAIN_FIELDS[:-1]})
        values = [field.get_db_prep_save(getattr(event, field.attname), connection) for field in _EVENT_FIELDS]
        if connection.vendor == "postgresql":
            cursor.execute(_APPEND_AND_ADVANCE, values)  # one round trip while every other writer waits
        else:
            cursor.execute(_APPEND, values)
            cursor.execute(_ADVANCE, [event.seq, event.hash])
    event._state.adding, event._state.db = False, connection.alias  # as if saved through the ORM
    return event


# Plain SQL for the append: the head stays locked from the first statement to the commit, for every
# audited writer of the platform, so the statements are as few and as cheap to build as they can be.
_EVENT_FIELDS = AuditEvent._meta.concrete_fields
_HEAD_TABLE, _EVENT_TABLE = AuditHead._meta.db_table, AuditEvent._meta.db_table
_APPEND = (
    f"INSERT INTO {_EVENT_TABLE} ({', '.join(field.column for field in _EVENT_FIELDS)}) "
    f"VALUES ({', '.join(['%s'] * len(_EVENT_FIELDS))})"
)
_ADVANCE = f"UPDATE {_HEAD_TABLE} SET last_seq = %s, last_hash = %s WHERE id = 1"
_APPEND_AND_ADVANCE = (
    f"WITH event AS ({_APPEND} RETURNING seq, hash) "
    f"UPDATE {_HEAD_TABLE} SET last_seq = event.seq, last_hash = event.hash FROM event WHERE {_HEAD_TABLE}.id = 1"
)


def _locked_head(cursor: CursorWrapper, connection: BaseDatabaseWrapper) -> tuple[int, str]:
    """The head's (last_seq, last_hash), locked until the transaction ends (SQLite locks the whole file)."""
    select = f"SELECT last_seq, last_hash FROM {_HEAD_TABLE} WHERE id = 1"
    if connection.features.has_select_for_update:
        select += " FOR UPDATE"
    cursor.execute(select)
    row = cursor.fetchone()
    if row is None:  # the very first event: make the head, then lock it
        AuditHead.objects.get_or_create(pk=1)
        cursor.execute(select)
        row = cursor.fetchone()
    return int(row[0]), str(row[1])


# --- Verify --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    first_broken_seq: int | None
    reason: str
    seconds: float = 0.0


# verify_chain() reads one row per event, in seq order, with the columns in this order:
# (hash, prev_hash, action, at, actor_id, actor_label, object_type, object_id, campaign_id, before, after, seq),
# each value as the piece of the canonical form (see canonical_bytes) it becomes, so that the hot loop
# only quotes the four strings, splices and hashes:
# - at: the UTC time as "YYYY-MM-DD HH:MM:SS.ffffff" (another form is left to the closer look);
# - actor_id, campaign_id: an integer, its digits or "null"; None if the column holds anything else
#   (None renders as "None", which no canonical form holds, so the row fails the fast check);
# - before, after: the stored text, "null" for NULL.
Row = Sequence[Any]

_SQLITE_ROWS = """
    SELECT hash, prev_hash, action, CAST(at AS TEXT),
           CASE typeof(actor_id) WHEN 'integer' THEN actor_id WHEN 'null' THEN 'null' END,
           actor_label, object_type, object_id,
           CASE typeof(campaign_id) WHEN 'integer' THEN campaign_id WHEN 'null' THEN 'null' END,
           coalesce(before, 'null'), coalesce(after, 'null'), seq
    FROM audit_auditevent ORDER BY seq
"""

# COPY streams rows as the server produces them, so hashing overlaps the server's work. Batches bound
# what must be read to the end when a row needs a query part-way (see _postgresql_batch). No column is
# NULL, so a backslash in COPY's text format is always an escape.
_POSTGRESQL_BATCH = """
    COPY (
        SELECT hash, prev_hash, action, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'),
               coalesce(actor_id::text, 'null'), actor_label, object_type, object_id,
               coalesce(campaign_id::text, 'null'), coalesce(before, 'null'), coalesce(after, 'null'), seq
        FROM audit_auditevent WHERE seq > %s ORDER BY seq LIMIT %s
    ) TO STDOUT
"""

# COPY's text format escapes a backslash and these control characters, and nothing else.
_COPY_ESCAPES = {"\\": "\\", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_COPY_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


def _copy_field(text: str) -> str:
    """A field of COPY's text format as the column holds it."""
    return _COPY_ESCAPE.sub(lambda match: _COPY_ESCAPES[match[1]], text)


def _copy_ended(pgconn: PGconn) -> None:
    """Take the result that follows a COPY's last row, and raise its error if it failed."""
    from psycopg import OperationalError, errors, pq  # imported here: SQLite-only installations need not load it

    result = pgconn.get_result()
    while pgconn.get_result() is not None:  # libpq ends every command with a NULL result
        pass
    if result is None:
        raise OperationalError("the COPY ended without a result")
    if result.status != pq.ExecStatus.COMMAND_OK:
        raise errors.error_from_result(result)


def _postgresql_batch(connection: BaseDatabaseWrapper, after_seq: int, size: int, end: list[int]) -> Iterator[Row]:
    """Up to ``size`` rows after ``after_seq``, streamed; records the last seq read in ``end[0]``.

    psycopg starts the COPY; its rows are then read with libpq's own call, as psycopg's
    ``Copy.read()`` costs as much per row as the hash. Whoever stops reading part-way must
    read the rest (``list()``) before querying again: the connection takes no other statement
    until the COPY is over.
    """
    pgconn = connection.connection.pgconn
    read = pgconn.get_copy_data
    with (
        connection.wrap_database_errors,
        connection.cursor() as cursor,
        cursor.cursor.copy(_POSTGRESQL_BATCH, (after_seq, size)),
    ):
        try:
            # 0: block until the next row; -1 once the last was read (-2, a failure, raises).
            while (data := read(0))[0] > 0:
                line = str(data[1], "latin-1")[:-1]  # see _ChainRows; drop the newline
                row: list[Any] = line.split("\t")
                if "\\" in line:
                    row = list(map(_copy_field, row))
                row[11] = after_seq = int(row[11])
                yield row
        except GeneratorExit:
            # Read the rest rather than let psycopg cancel the COPY: a cancellation is an error,
            # and would abort the transaction.
            while read(0)[0] > 0:
                pass
            _copy_ended(pgconn)
            raise
        _copy_ended(pgconn)
    end[0] = after_seq


def _postgresql_batches(connection: BaseDatabaseWrapper, batch_size: int) -> Iterator[Iterator[Row]]:
    with transaction.atomic():
        with connection.cursor() as cursor:
            # LIMIT alone does not keep the batches index scans: on a table not analysed since it
            # filled, the planner reads the whole table and sorts it, for every batch.
            cursor.execute("SET LOCAL enable_sort = off")
        try:
            end = [0]
            while True:
                start = end[0]
                batch = _postgresql_batch(connection, start, batch_size, end)
                try:
                    yield batch
                finally:
                    batch.close()  # a batch left part-way when verification stops is read to its end
                if end[0] == start:  # that batch was empty: there is nothing after start
                    return
        finally:
            transaction.set_rollback(True)  # nothing was written; rolling back also ends the SET LOCAL


class _ChainRows(NamedTuple):
    batches: Iterable[Iterable[Row]]
    # Whether a batch left part-way must be read to its end before any other query.
    read_to_end: bool
    # The codec that turns the rows' text back into the bytes the database holds. PostgreSQL's rows
    # are decoded as Latin-1, one character per byte: several times cheaper than UTF-8 for Vietnamese text,
    # and exact, since the hashed form escapes ASCII characters only (so Latin-1 in, Latin-1 out gives
    # the UTF-8 bytes of the form). The closer look decodes them properly (see _utf8).
    encoding: str


@contextmanager
def _chain_rows(batch_size: int) -> Iterator[_ChainRows]:
    """Every event's row (see Row) in seq order, in batches, read past the ORM: its per-row work
    would cost more than the hash."""
    connection = transaction.get_connection()
    connection.ensure_connection()
    if connection.vendor == "postgresql":
        batches = _postgresql_batches(connection, batch_size)
        try:
            yield _ChainRows(batches, read_to_end=True, encoding="latin-1")  # client_encoding is UTF8
        finally:
            batches.close()
        return
    # SQLite takes other queries while a statement is part-read. fetchmany() builds the rows in one
    # call; a few hundred at a time stay in the processor's cache (ten thousand do not, and cost more).
    cursor = connection.connection.cursor()
    try:
        cursor.execute(_SQLITE_ROWS)
        batches = iter(partial(cursor.fetchmany, min(batch_size, 256)), [])
        yield _ChainRows(batches, read_to_end=False, encoding="utf-8")
    finally:
        cursor.close()


def _utf8(row: Row) -> Row:
    """A row read as Latin-1 (see _ChainRows), with its text decoded as what it is, UTF-8."""
    return [value.encode("latin-1").decode() if isinstance(value, str) else value for value in row]


# The text between after and before in the canonical form starts with this, and nothing else in that
# part of the form can (see _fast_pass).
_AT_KEY = ',"at":"'


def _fast_pass(
    rows: Iterator[Row], expected: int, prev: str, head_seq: int, encoding: str
) -> tuple[int, str, Row | None]:
    """Accept rows while each is the expected one, follows the last and matches its hash as spliced.

    Returns the next expected seq, the last accepted hash and the first row that needs a closer look
    (None at the end). The canonical form (see canonical_bytes) is one f-string of the pieces the database
    prepared (see Row); prev_hash needs no escaping, as it equals the previous event's hash, already
    checked to be hex. The head's own event always gets the closer look.

    Splicing stored text is only safe if the pieces cannot be cut elsewhere and still give the hashed
    bytes. Quoted strings and integers end where they must, read from either end, so everything before
    after and from the end of before on is in place; after and before flank ',"at":"<time>","before":'.
    Were they cut elsewhere (after='{"a":1', the time taken from inside after's value, before=
    '5},"at":...'), the hashed bytes would hold ',"at":"' twice in that stretch: the spliced separator
    and the true one, which can overlap neither it, nor a time without quotes, nor the separator's
    rest, so lies inside after or before. Hence a row whose after or before holds ',"at":"', or whose
    time is not 26 characters free of quotes, gets the closer look instead.
    """
    quote, sha256, at_key = encode_basestring, _sha256, _AT_KEY
    for row in rows:
        stored, prev_hash, action, at, actor, label, otype, oid, campaign, before, after, seq = row
        if seq != expected or prev_hash != prev or seq == head_seq:
            return expected, prev, row
        try:
            if len(at) != 26 or '"' in at or at_key in after or at_key in before:
                return expected, prev, row
            digest = sha256(
                f'{{"action":{quote(action)},"actor_id":{actor},"actor_label":{quote(label)},'
                f'"after":{after},"at":"{at[:10]}T{at[11:]}+00:00","before":{before},'
                f'"campaign_id":{campaign},"object_id":{quote(oid)},"object_type":{quote(otype)},'
                f'"prev_hash":"{prev_hash}","seq":{seq}}}'.encode(encoding)
            ).hexdigest()
        except (TypeError, ValueError):  # a value of the wrong type (SQLite keeps what it is given)
            return expected, prev, row
        if digest != stored:
            return expected, prev, row
        prev = stored
        expected += 1
    return expected, prev, None


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


def _second_look(row: Row) -> str | None:
    """The hash of a row from its decoded values, or None if they cannot be read here.

    Rows in another form than the one hashed come here and pass: before/after as jsonb printed
    them (rows written before migration 0003 on PostgreSQL, or rewritten with spaces), a time
    with whole seconds.
    """
    _stored, prev_hash, action, at, actor, label, otype, oid, campaign, before, after, seq = row
    moment = _time_text(at) if isinstance(at, str) else ""
    if not moment or actor is None or campaign is None:
        return None
    if not (isinstance(action, str) and isinstance(label, str) and isinstance(otype, str) and isinstance(oid, str)):
        return None
    try:
        text = _encode(
            {
                "action": action,
                "actor_id": None if actor == "null" else int(actor),
                "actor_label": label,
                "after": json.loads(after),
                "at": moment,
                "before": json.loads(before),
                "campaign_id": None if campaign == "null" else int(campaign),
                "object_id": oid,
                "object_type": otype,
                "prev_hash": prev_hash,
                "seq": seq,
            }
        )
        return _sha256(text.encode()).hexdigest()
    except (ValueError, TypeError, RecursionError):
        return None


def _recomputed_hash(seq: int) -> str:
    """The hash of one event computed the slow, exact way, from the ORM's Python values."""
    try:
        values = AuditEvent.objects.filter(seq=seq).values_list(*CHAIN_FIELDS[:-1]).get()
        return event_hash(**dict(zip(CHAIN_FIELDS[:-1], values, strict=True)))
    except (ValueError, TypeError, AttributeError):
        return ""  # a row too damaged to read back (say, a time that is not a time) is an edited row


def _head() -> tuple[int, str] | None:
    return AuditHead.objects.filter(pk=1).values_list("last_seq", "last_hash").first()


def _described(seq: int, action: str, at: str) -> str:
    return f"event {seq} ({action} at {_time_text(at) or at})"


def _described_by_seq(seq: int) -> str:
    action, at = (
        AuditEvent.objects.filter(seq=seq).annotate(at_text=Cast("at", TextField())).values_list("action", "at_text")
    ).get()
    return _described(seq, action, at)


def verify_chain(*, batch_size: int = 10000) -> ChainReport:
    """Recompute every event's hash in order and check each link and the head.

    Reads plain rows past the ORM (``batch_size`` at a time; at most 256 on SQLite) and hashes each
    event's canonical form spliced from the stored text (see _fast_pass); a row that does not
    match that way gets a closer, exact look before it is called edited. Reports the first event
    that is edited (its hash no longer matches its content), missing (a gap in seq), out of place
    (its prev_hash is not the previous event's hash), or beyond or short of the head.
    Events appended while it runs are accepted.
    """
    started = time.perf_counter()
    head_before = _head()  # read first: every event it counts was committed before the rows are read
    head_seq, head_hash = head_before or (0, GENESIS_HASH)

    def broken(seq: int | None, reason: str, checked: int) -> ChainReport:
        return ChainReport(False, checked, seq, reason, time.perf_counter() - started)

    expected, prev = 1, GENESIS_HASH
    with _chain_rows(batch_size) as source:
        for batch in source.batches:
            rows = iter(batch)
            while True:
                expected, prev, row = _fast_pass(rows, expected, prev, head_seq, source.encoding)
                if row is None:
                    break
                if source.encoding != "utf-8":
                    row = _utf8(row)
                # The closer look: every check again, exactly, with the report for each.
                stored, prev_hash, action, at, *_values, seq = row
                if seq != expected:
                    where = (
                        f"event {expected - 1} is followed by {seq}" if expected > 1 else f"the trail starts at {seq}"
                    )
                    return broken(
                        seq, f"{_described(seq, action, at)}: events before it are missing ({where}).", expected - 1
                    )
                if prev_hash != prev:
                    return broken(
                        seq,
                        f"{_described(seq, action, at)} does not follow event {seq - 1}: its previous-hash link does "
                        f"not match. An earlier event was changed, or events were reordered or replaced.",
                        seq - 1,
                    )
                if _second_look(row) != stored:
                    if source.read_to_end:
                        rows = iter(list(rows))
                    # The ORM's reading is the application's: a difference of form is never an edit.
                    if _recomputed_hash(seq) != stored:
                        return broken(
                            seq,
                            f"{_described(seq, action, at)} was edited: its content no longer matches its hash.",
                            seq - 1,
                        )
                if seq == head_seq and stored != head_hash:
                    return broken(
                        seq,
                        f"{_described(seq, action, at)} is not the event the chain head recorded: "
                        f"the events up to it were rewritten.",
                        seq - 1,
                    )
                prev, expected = stored, expected + 1
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
                checked, f"{_described_by_seq(checked)} is not the event the chain head recorded.", checked - 1
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
