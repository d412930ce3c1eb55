"""The supervisor's view of the audit trail: filter, read, verify, export. Nothing here changes a record."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import role_required
from accounts.roles import Role
from audit.exports import export_csv, export_xlsx
from audit.forms import AuditFilterForm
from audit.models import AuditEvent, CanonicalJSONEncoder
from audit.services import events_matching, last_verification, record, record_verification, verify_chain

PAGE_SIZE = 100
EXPORT_LIMIT = 100_000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_json = CanonicalJSONEncoder().encode


def _filtered(request: HttpRequest) -> tuple[AuditFilterForm, QuerySet[AuditEvent]]:
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        return form, AuditEvent.objects.none()
    data = form.cleaned_data
    events = events_matching(
        campaign_id=data["campaign"],
        action=data["action"],
        actor_email=data["actor"],
        object_type=data["object_type"],
        object_id=data["object_id"],
        date_from=data["date_from"],
        date_to=data["date_to"],
    )
    return form, events


def _filter_query(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else _json(value)


def compact_diff(before: Any, after: Any) -> list[tuple[str, str | None, str | None]]:
    """(key, before, after) for each key that changed; None where a side has no value."""
    if isinstance(before, dict) or isinstance(after, dict):
        old = before if isinstance(before, dict) else {}
        new = after if isinstance(after, dict) else {}
        return [
            (key, _shown(old[key]) if key in old else None, _shown(new[key]) if key in new else None)
            for key in sorted(old.keys() | new.keys())
            if old.get(key, ...) != new.get(key, ...)
        ]
    if before is None and after is None:
        return []
    return [("", None if before is None else _shown(before), None if after is None else _shown(after))]


@role_required(Role.SUPERVISOR)
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    form, events = _filtered(request)
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "rows": [(event, compact_diff(event.before, event.after)) for event in page],
        "verification": last_verification(),
        "filter_query": _filter_query(request),
    }
    return render(request, "audit/log.html", context)


@role_required(Role.SUPERVISOR)
@require_POST
def audit_verify(request: HttpRequest) -> HttpResponse:
    report = verify_chain()
    record_verification(actor=request.user, report=report)
    if report.ok:
        message = _("The audit chain is intact: %(count)s events verified.") % {"count": report.checked}
        messages.success(request, message)
    else:
        messages.error(
            request,
            _("The audit chain is broken at event %(seq)s: %(reason)s")
            % {"seq": report.first_broken_seq, "reason": report.reason},
        )
    return redirect("audit_log")


def _export(
    request: HttpRequest, build: Callable[[Iterable[AuditEvent]], bytes], content_type: str, extension: str
) -> HttpResponse:
    form, events = _filtered(request)
    back = f"{reverse('audit_log')}?{_filter_query(request)}"
    if not form.is_valid():
        return redirect(back)
    count = events.count()
    if count > EXPORT_LIMIT:
        messages.error(
            request,
            _("%(count)s events match: narrow the filters to %(limit)s events or fewer to export them.")
            % {"count": count, "limit": EXPORT_LIMIT},
        )
        return redirect(back)
    body = build(events.order_by("seq").iterator(chunk_size=2000))  # in the order they were recorded
    # Who took a copy of the trail, and of what, is itself worth a record (ASVS 16.3.2).
    with transaction.atomic():
        record(
            actor=request.user,
            action="audit.export",
            after={"format": extension, "events": count, "filters": _filter_query(request)},
        )
    response = HttpResponse(body, content_type=content_type)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="audit-trail-{stamp}.{extension}"'
    return response


@role_required(Role.SUPERVISOR)
@require_GET
def audit_export_csv(request: HttpRequest) -> HttpResponse:
    return _export(request, export_csv, "text/csv; charset=utf-8", "csv")


@role_required(Role.SUPERVISOR)
@require_GET
def audit_export_xlsx(request: HttpRequest) -> HttpResponse:
    return _export(request, export_xlsx, XLSX, "xlsx")
