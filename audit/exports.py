"""The audit trail as CSV or XLSX bytes, for the supervisor.

Every text cell goes through :func:`neutralise_cell`, so a label or an id that
looks like a formula is shown as text, never run (OWASP ASVS 1.2.10). The rows
carry the exact UTC time, before/after in canonical JSON and both hashes, so an
exported run of events can be re-verified offline with audit.services.event_hash.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from audit.models import AuditEvent, CanonicalJSONEncoder
from audit.services import utc_iso
from config.spreadsheets import neutralise_cell

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")

_json = CanonicalJSONEncoder().encode


def _headers() -> list[str]:
    return [
        _("Sequence"),
        _("Time (Vietnam)"),
        _("Time (UTC, exact)"),
        _("Actor's e-mail"),
        _("Action"),
        _("Object type"),
        _("Object id"),
        _("Campaign id"),
        _("Before"),
        _("After"),
        _("Previous hash"),
        _("Hash"),
    ]


def _row(event: AuditEvent) -> list[Any]:
    return [
        event.seq,
        event.at.astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M:%S"),
        utc_iso(event.at),
        event.actor_label,
        event.action,
        event.object_type,
        event.object_id,
        "" if event.campaign_id is None else event.campaign_id,
        "" if event.before is None else _json(event.before),
        "" if event.after is None else _json(event.after),
        event.prev_hash,
        event.hash,
    ]


def _text(value: Any) -> Any:
    return neutralise_cell(value) if isinstance(value, str) else value


def export_csv(events: Iterable[AuditEvent]) -> bytes:
    """UTF-8 with a byte-order mark, so spreadsheet programs read Vietnamese correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_text(header) for header in _headers()])
    for event in events:
        writer.writerow([_text(value) for value in _row(event)])
    return buffer.getvalue().encode("utf-8-sig")


def export_xlsx(events: Iterable[AuditEvent]) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Audit trail"))
    sheet.append([_text(header) for header in _headers()])
    for event in events:
        values = _row(event)
        # Excel has no time zones: the Vietnamese wall-clock time, as a real date cell.
        local = WriteOnlyCell(sheet, event.at.astimezone(VIETNAM).replace(tzinfo=None))
        local.number_format = "DD/MM/YYYY HH:MM:SS"
        # openpyxl refuses control characters: drop them, then judge what is left and what was there.
        cells = [_xlsx_text(value) if isinstance(value, str) else value for value in values]
        cells[1] = local
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _xlsx_text(value: str) -> str:
    cleaned = ILLEGAL_CHARACTERS_RE.sub("", value)
    if neutralise_cell(value) != value or neutralise_cell(cleaned) != cleaned:
        return "'" + cleaned
    return cleaned
