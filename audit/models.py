"""The audit trail: an append-only, hash-chained list of every sensitive write.

Each event's hash covers all its fields and the previous event's hash, so an
edited, deleted or reordered row breaks the chain from that row on
(Crosby & Wallach 2009; NIST SP 800-53 AU-9, AU-10). The database refuses
UPDATE and DELETE on the events (migration 0002); the chain catches whoever
has the rights to get past that. Writes go through ``audit.services.record``.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

GENESIS_HASH = "0" * 64


class CanonicalJSONEncoder(json.JSONEncoder):
    """Sorted keys, no whitespace, UTF-8 unescaped: the form the hash covers."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.update(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
        super().__init__(**kwargs)


_canonical = CanonicalJSONEncoder().encode


class CanonicalJSONTextField(models.TextField):
    """A JSON value kept as the exact canonical text the event's hash covers, on every database.

    In Python it reads and writes like a JSONField (``event.after`` is a dict, a list, a
    string... or None for SQL NULL), but the column is plain text: PostgreSQL's jsonb would
    keep its own form (other key order, added spaces), so verification would have to parse
    and re-encode every value. With the text stored as hashed, ``verify_chain()`` splices
    it into the canonical form as it is. Rows written as jsonb before migration 0003 keep
    jsonb's form, which verification re-encodes. No JSON lookups (``after__status``) on these
    columns: they are text to the database.
    """

    # "" is a JSON string like any other, so an absent value is None, never "".
    empty_strings_allowed = False

    def get_prep_value(self, value: Any) -> str | None:
        if value is None or hasattr(value, "resolve_expression"):
            return value
        return _canonical(value)

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Any:
        if value is None:
            return None
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            # As JSONField does: a row mangled outside the application still opens (and fails verification).
            return value

    def to_python(self, value: Any) -> Any:
        # The Python value is the decoded JSON; TextField's str() would turn a dict into its repr.
        return value

    def value_to_string(self, obj: models.Model) -> Any:
        # Serialisers (dumpdata) embed the value itself, as they do for a JSONField.
        return self.value_from_object(obj)


class AuditEvent(models.Model):
    # seq is the key: the chain's order is the table's identity, with no second id to keep in step.
    seq = models.PositiveBigIntegerField(_("sequence number"), primary_key=True)
    at = models.DateTimeField(_("at"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # covered by the (actor, seq) index
    )
    # The e-mail at the time: renaming an account later must not rewrite history.
    actor_label = models.CharField(_("actor's e-mail"), max_length=254, blank=True)
    action = models.CharField(_("action"), max_length=64)
    object_type = models.CharField(_("object type"), max_length=100, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    # No foreign key: the trail outlives whatever it describes.
    campaign_id = models.BigIntegerField(_("campaign id"), null=True, blank=True)
    before = CanonicalJSONTextField(_("before"), null=True, blank=True)
    after = CanonicalJSONTextField(_("after"), null=True, blank=True)
    prev_hash = models.CharField(_("previous hash"), max_length=64)
    hash = models.CharField(_("hash"), max_length=64)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-seq"]
        indexes = [
            models.Index(fields=["campaign_id", "seq"], name="audit_event_campaign_seq"),
            models.Index(fields=["action", "seq"], name="audit_event_action_seq"),
            models.Index(fields=["actor", "seq"], name="audit_event_actor_seq"),
            models.Index(fields=["actor_label", "seq"], name="audit_event_label_seq"),
            models.Index(fields=["object_type", "object_id"], name="audit_event_object"),
            models.Index(fields=["at"], name="audit_event_at"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action}"


class AuditHead(models.Model):
    """The chain's last link (one row, pk=1). Appenders lock it, so appends are serialised.

    It also catches a truncated tail: deleting the last events leaves the head pointing past the end.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.PositiveBigIntegerField(_("last sequence number"), default=0)
    last_hash = models.CharField(_("last hash"), max_length=64, default=GENESIS_HASH)

    class Meta:
        verbose_name = _("audit chain head")
        verbose_name_plural = _("audit chain head")
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audit_head_singleton")]

    def __str__(self) -> str:
        return f"#{self.last_seq} {self.last_hash[:12]}"
