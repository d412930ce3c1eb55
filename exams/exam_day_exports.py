"""A room's sign-in sheet and room list as XLSX bytes; every text cell neutralised against formulas."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from candidates.exports import neutralise_cell
from exams.documents import sheet_title
from exams.exam_day import RoomHeader, SeatRow


def _text(value: Any) -> str:
    return neutralise_cell("" if value is None else str(value))


def export_room_sheet(*, kind: str, header: RoomHeader, rows: Sequence[SeatRow]) -> bytes:
    """``kind`` is "sign-in" (with signature and note columns) or "list" (with the post)."""
    with translation.override(settings.LANGUAGE_CODE):
        return _export(kind=kind, header=header, rows=rows)


def _export(*, kind: str, header: RoomHeader, rows: Sequence[SeatRow]) -> bytes:
    workbook = Workbook(write_only=True)
    title = sheet_title(kind)
    sheet = workbook.create_sheet(title[:31])
    bold = Font(bold=True)

    def heading(text: str) -> WriteOnlyCell:
        cell = WriteOnlyCell(sheet, _text(text))
        cell.font = bold
        return cell

    sheet.append([heading(title)])
    for label, value in (
        (_("Campaign"), header.campaign),
        (_("Part"), header.part),
        (_("Start"), header.starts_at),
        (_("Duration (minutes)"), header.duration_minutes),
        (_("Venue"), f"{header.venue}, {header.address}" if header.address else header.venue),
        (_("Room"), header.room),
        (_("Room staff"), ", ".join(header.staff)),
    ):
        sheet.append([heading(label), value if isinstance(value, int) else _text(value)])
    sheet.append([])
    if kind == "sign-in":
        columns = [_("Seat"), _("Candidate number"), _("Full name"), _("Date of birth"), _("Signature"), _("Note")]
    else:
        columns = [_("Seat"), _("Candidate number"), _("Full name"), _("Date of birth"), _("Post")]
    sheet.append([heading(column) for column in columns])
    for row in rows:
        born = WriteOnlyCell(sheet, row.date_of_birth or "")
        born.number_format = "DD/MM/YYYY"
        cells: list[Any] = [row.seat, _text(row.number), _text(row.full_name), born]
        cells += ["", ""] if kind == "sign-in" else [_text(row.post_title)]
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
