"""Exports of applications as XLSX bytes.

Every text cell goes through :func:`neutralise_cell`: an HR officer opening the
file must never run a formula a candidate typed into their profile (ASVS 1.2.10).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from candidates.models import Application, Gender
from config.spreadsheets import FORMULA_TRIGGERS, neutralise_cell  # noqa: F401 - used by other exports

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")

# --- XLSX -------------------------------------------------------------------------


def _text(value: Any) -> str:
    return neutralise_cell("" if value is None else str(value))


def _date(value: Any) -> date | str:
    if not value:
        return ""
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return _text(value)


def _local(moment: datetime | None) -> datetime | str:
    # Excel has no time zones: write the Vietnamese wall-clock time.
    return moment.astimezone(VIETNAM).replace(tzinfo=None) if moment else ""


def export_applications(applications: Iterable[Application]) -> bytes:
    """One row per application: who, from where, when, and the screening outcome."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Applications"))
    headers = [
        _("Full name"),
        _("Date of birth"),
        _("Gender"),
        _("Citizen ID"),
        _("Current organisation"),
        _("Current position"),
        _("Submitted at"),
        _("Automatic check"),
        _("Status"),
        _("Reasons of the decision"),
    ]
    sheet.append([_text(header) for header in headers])
    genders = dict(Gender.choices)
    auto = {True: _("passed"), False: _("failed"), None: "—"}
    for application in applications:
        snapshot = application.profile_snapshot or {}
        dob = WriteOnlyCell(sheet, _date(snapshot.get("date_of_birth")))
        dob.number_format = "DD/MM/YYYY"
        submitted = WriteOnlyCell(sheet, _local(application.submitted_at))
        submitted.number_format = "DD/MM/YYYY HH:MM"
        sheet.append(
            [
                _text(snapshot.get("full_name")),
                dob,
                _text(genders.get(snapshot.get("gender"), snapshot.get("gender"))),
                _text(snapshot.get("citizen_id")),
                _text(snapshot.get("current_organisation")),
                _text(snapshot.get("current_position")),
                submitted,
                _text(auto[application.auto_eligible]),
                _text(application.get_status_display()),
                _text(application.decision_reason),
            ]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
