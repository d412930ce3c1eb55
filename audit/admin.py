"""Read-only admin pages: the trail is written by audit.services.record() alone."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from audit.models import AuditEvent, AuditHead


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["seq", "at", "actor_label", "action", "object_type", "object_id", "campaign_id"]
    list_filter = ["action"]
    search_fields = ["=actor_label", "=object_id", "=action"]
    show_full_result_count = False  # a COUNT over millions of rows on every page is wasted work
    # before/after are text columns holding JSON: shown as JSON, not as Python's repr of the value.
    exclude = ["before", "after"]
    readonly_fields = ["before_json", "after_json"]

    @admin.display(description=_("before"))
    def before_json(self, event: AuditEvent) -> SafeString:
        return _as_json(event.before)

    @admin.display(description=_("after"))
    def after_json(self, event: AuditEvent) -> SafeString:
        return _as_json(event.after)


def _as_json(value: Any) -> SafeString:
    return format_html("<pre>{}</pre>", json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True))


@admin.register(AuditHead)
class AuditHeadAdmin(ReadOnlyAdmin):
    list_display = ["last_seq", "last_hash"]
