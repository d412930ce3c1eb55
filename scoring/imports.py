"""Paper marks imported from an XLSX file: the template, the validation, and the all-or-nothing import.

The whole file is read and checked before anything is written: headers, codes, examiners, duplicates,
numbers, ranges, decimals and marks already submitted. Then every row goes through
``services.save_mark(..., submit=True, source="import")`` in one transaction: one refused row
rolls all of them back, and each bad row is reported with its row number.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook

from accounts.models import User
from audit.services import record
from candidates.exports import neutralise_cell
from config.errors import Refused
from exams.models import Campaign, ConflictDeclaration, ExamPart, MarkingMode, PanelMember, Relation
from scoring import rules as rule_maths
from scoring import services
from scoring.models import Mark, MarkerAssignment, OralSlot

MAX_ROWS = 20_000
MAX_UNZIPPED_BYTES = 50 * 1024 * 1024  # a 5 MB upload that inflates past this is a zip bomb, not marks
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class RowError:
    row: int  # the spreadsheet's row number (1 is the header row)
    message: str


class ImportRefused(Exception):
    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("; ".join(f"row {e.row}: {e.message}" for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class ImportRow:
    row: int
    key: str  # the script code (blind part) or the oral slot's id
    examiner_id: int
    raw_value: str
    raw_criteria: dict[str, str]


@dataclass
class Lookups:
    """What the rows are checked against, loaded once per file."""

    allowed: dict[str, set[int]]  # key -> examiners who may mark it
    examiners: dict[str, int]  # e-mail -> user id
    submitted: set[tuple[str, int]]  # (key, examiner) already submitted
    conflicted: set[tuple[str, int]] = field(default_factory=set)
    applications: dict[str, int] = field(default_factory=dict)  # key -> the candidate it belongs to


# --- Columns -------------------------------------------------------------------------------


def _number(value: Decimal) -> str:
    return f"{value.normalize():f}"


def headers(part: ExamPart) -> list[str]:
    """The template's header row, in the active language."""
    if part.marking_mode == MarkingMode.BLIND_DOUBLE:
        first = [_("Script code")]
    else:
        first = [_("Slot"), _("Panel"), _("Order"), _("Candidate")]
    criteria = [
        _("Criterion %(position)s: %(name)s (max %(max)s)")
        % {"position": c.position, "name": c.name, "max": _number(c.max_score)}
        for c in part.criteria.all()
    ]
    return [*first, _("Examiner e-mail"), _("Mark (max %(max)s)") % {"max": _number(part.max_score)}, *criteria]


def accepted_headers(part: ExamPart) -> list[list[str]]:
    # A template downloaded in Vietnamese may be sent back by a colleague whose pages are in English.
    accepted = []
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            accepted.append([h.casefold() for h in headers(part)])
    return accepted


def _key_width(part: ExamPart) -> int:
    return 1 if part.marking_mode == MarkingMode.BLIND_DOUBLE else 4


# --- Template ------------------------------------------------------------------------------


def template_rows(campaign: Campaign, part: ExamPart) -> list[list[Any]]:
    """One row per mark still expected on paper: assigned, not conflicted, not yet submitted."""
    submitted = set(
        Mark.objects.filter(
            campaign=campaign, part_code=part.code, is_current=True, status=Mark.Status.SUBMITTED
        ).values_list("application_id", "examiner_id")
    )
    blanks = [None] * (1 + len(part.criteria.all()))
    if part.marking_mode == MarkingMode.BLIND_DOUBLE:
        assignments = (
            MarkerAssignment.objects.filter(script__campaign=campaign, script__part_code=part.code)
            .select_related("script", "examiner")
            .order_by("script__code", "round")
        )
        return [
            [a.script.code, a.examiner.email, *blanks]
            for a in assignments
            if (a.script.application_id, a.examiner_id) not in submitted
        ]
    conflicted = set(
        ConflictDeclaration.objects.filter(campaign=campaign)
        .exclude(relation=Relation.NONE)
        .values_list("application_id", "examiner_id")
    )
    members: dict[int, list[tuple[int, str]]] = {}
    for panel_id, user_id, email in (
        PanelMember.objects.filter(panel__campaign=campaign, panel__part_code=part.code)
        .order_by("user__email")
        .values_list("panel_id", "user_id", "user__email")
    ):
        members.setdefault(panel_id, []).append((user_id, email))
    rows = []
    slots = OralSlot.objects.filter(panel__campaign=campaign, panel__part_code=part.code).select_related(
        "panel", "application"
    )
    for slot in slots.order_by("panel__name", "position"):
        for user_id, email in members.get(slot.panel_id, []):
            pair = (slot.application_id, user_id)
            if pair not in submitted and pair not in conflicted:
                name = slot.application.display_name
                rows.append([str(slot.pk), slot.panel.name, slot.position, name, email, *blanks])
    return rows


def build_template(campaign: Campaign, part: ExamPart) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(part.code[:31])
    sheet.append([neutralise_cell(h) for h in headers(part)])
    for row in template_rows(campaign, part):
        sheet.append([neutralise_cell(v) if isinstance(v, str) else v for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- Reading -------------------------------------------------------------------------------


def read_rows(data: bytes) -> list[tuple[int, list[Any]]]:
    """(row number, cell values) of the first sheet, header included; refuses what is not a small XLSX."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNZIPPED_BYTES:
                raise ImportRefused([RowError(0, _("The file is too large once unpacked."))])
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except ImportRefused:
        raise
    except Exception:  # openpyxl raises many kinds (zip, XML, key, value) on a file that is not a workbook
        raise ImportRefused([RowError(0, _("This file is not an XLSX workbook: download the template."))]) from None
    try:
        sheet = workbook.worksheets[0]
        rows = []
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            if number > MAX_ROWS + 1:
                message = _("The file has more than %(max)d rows: split it.") % {"max": MAX_ROWS}
                raise ImportRefused([RowError(0, message)])
            rows.append((number, list(values)))
        return rows
    finally:
        workbook.close()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _blank(values: Sequence[Any]) -> bool:
    return all(_text(v) == "" for v in values)


def _mark_cell(value: Any, *, max_score: Decimal, decimals: int) -> str:
    """The mark as the services expect it typed; raises Refused with the reason."""
    if isinstance(value, bool | datetime | date | time):
        raise Refused(services.mark_message("not_a_number", max_score, decimals), code="not_a_number")
    text = repr(value) if isinstance(value, float) else _text(value)
    try:
        rule_maths.parse_mark(text, max_score=max_score, decimals=decimals)
    except rule_maths.MarkError as error:
        raise Refused(services.mark_message(error.code, max_score, decimals), code=error.code) from None
    return text


# --- Validation (no database: everything it needs is in ``lookups``) -------------------------


def validate(
    rows: list[tuple[int, list[Any]]], *, part: ExamPart, lookups: Lookups
) -> tuple[list[ImportRow], list[RowError]]:
    if not rows:
        return [], [RowError(0, _("The file is empty."))]
    header_number, header = rows[0]
    expected = headers(part)
    found = [_text(h).casefold() for h in header]
    while found and found[-1] == "":
        found.pop()
    if found not in accepted_headers(part):
        message = _("The columns do not match the template of this part. Expected: %(headers)s.") % {
            "headers": " | ".join(expected)
        }
        return [], [RowError(header_number, message)]
    width, criteria = _key_width(part), list(part.criteria.all())
    good: list[ImportRow] = []
    errors: list[RowError] = []
    seen: dict[tuple[str, int], int] = {}
    for number, values in rows[1:]:
        values = (values + [None] * len(expected))[: len(expected)]
        if _blank(values):
            continue
        try:
            row = _row(number, values, width=width, part=part, criteria=criteria, lookups=lookups)
        except Refused as refused:
            errors.append(RowError(number, str(refused.message)))
            continue
        pair = (row.key, row.examiner_id)
        if pair in seen:
            errors.append(RowError(number, _("Duplicate of row %(row)d.") % {"row": seen[pair]}))
            continue
        seen[pair] = number
        good.append(row)
    if not good and not errors:
        errors.append(RowError(0, _("The file has no mark.")))
    return good, errors


def _row(
    number: int, values: list[Any], *, width: int, part: ExamPart, criteria: list[Any], lookups: Lookups
) -> ImportRow:
    key = _text(values[0]).upper()
    email = _text(values[width]).lower()
    if not key:
        raise Refused(_("The script code is missing.") if width == 1 else _("The slot is missing."))
    if key not in lookups.allowed:
        raise Refused(_("Unknown script code “%(key)s”.") % {"key": key} if width == 1 else _("Unknown slot."))
    examiner_id = lookups.examiners.get(email)
    if examiner_id is None:
        raise Refused(_("Unknown examiner “%(email)s”.") % {"email": email})
    if examiner_id not in lookups.allowed[key]:
        raise Refused(_("This examiner is not assigned to this script or candidate."))
    if (key, examiner_id) in lookups.conflicted:
        raise Refused(_("This examiner declared a conflict of interest with this candidate."))
    if (key, examiner_id) in lookups.submitted:
        raise Refused(_("This examiner's mark is already submitted; only the chair can reopen it."))
    raw_value, raw_criteria = "", {}
    mark_cell = values[width + 1]
    if criteria:
        total = Decimal(0)
        for offset, criterion in enumerate(criteria, start=width + 2):
            if _text(values[offset]) == "":
                raise Refused(_("Criterion %(position)s is missing.") % {"position": criterion.position})
            try:
                text = _mark_cell(values[offset], max_score=criterion.max_score, decimals=part.decimals)
            except Refused as refused:
                label = _("Criterion %(position)s") % {"position": criterion.position}
                raise Refused(f"{label}: {refused.message}") from None
            raw_criteria[str(criterion.position)] = text
            total += rule_maths.parse_mark(text, max_score=criterion.max_score, decimals=part.decimals)
        if _text(mark_cell) != "":
            mark = rule_maths.parse_mark(
                _mark_cell(mark_cell, max_score=part.max_score, decimals=part.decimals),
                max_score=part.max_score,
                decimals=part.decimals,
            )
            if mark != total:
                raise Refused(
                    _("The mark (%(mark)s) is not the sum of the criteria (%(total)s).")
                    % {"mark": _number(mark), "total": _number(total)}
                )
    else:
        if _text(mark_cell) == "":
            raise Refused(_("The mark is missing."))
        raw_value = _mark_cell(mark_cell, max_score=part.max_score, decimals=part.decimals)
    return ImportRow(number, key, examiner_id, raw_value, raw_criteria)


# --- Database side ---------------------------------------------------------------------------


def load_lookups(campaign: Campaign, part: ExamPart) -> Lookups:
    allowed: dict[str, set[int]] = {}
    key_of_application: dict[int, list[str]] = {}
    applications: dict[str, int] = {}
    if part.marking_mode == MarkingMode.BLIND_DOUBLE:
        for code, application_id, examiner_id in MarkerAssignment.objects.filter(
            script__campaign=campaign, script__part_code=part.code
        ).values_list("script__code", "script__application_id", "examiner_id"):
            allowed.setdefault(code, set()).add(examiner_id)
            key_of_application.setdefault(application_id, [code])
            applications[code] = application_id
    else:
        for slot_id, application_id, member_id in OralSlot.objects.filter(
            panel__campaign=campaign, panel__part_code=part.code
        ).values_list("pk", "application_id", "panel__memberships__user_id"):
            allowed.setdefault(str(slot_id), set())
            applications[str(slot_id)] = application_id
            if member_id is not None:
                allowed[str(slot_id)].add(member_id)
            key_of_application.setdefault(application_id, [str(slot_id)])
    examiner_ids = set().union(*allowed.values()) if allowed else set()
    examiners = dict(User.objects.filter(pk__in=examiner_ids).values_list("email", "pk"))

    def keyed(pairs: Iterable[tuple[int, int]]) -> set[tuple[str, int]]:
        return {(key, examiner) for app, examiner in pairs for key in key_of_application.get(app, [])}

    submitted = keyed(
        Mark.objects.filter(
            campaign=campaign, part_code=part.code, is_current=True, status=Mark.Status.SUBMITTED
        ).values_list("application_id", "examiner_id")
    )
    conflicted = keyed(
        ConflictDeclaration.objects.filter(campaign=campaign)
        .exclude(relation=Relation.NONE)
        .values_list("application_id", "examiner_id")
    )
    return Lookups(
        allowed=allowed, examiners=examiners, submitted=submitted, conflicted=conflicted, applications=applications
    )


def import_marks(*, campaign: Campaign, part_code: str, data: bytes, filename: str, by: User) -> int:
    """Validates the whole file, then submits every mark in one transaction, or none. Returns the count."""
    _rules, part = services.part_of(campaign, part_code)
    rows = read_rows(data)
    lookups = load_lookups(campaign, part)
    good, errors = validate(rows, part=part, lookups=lookups)
    if errors:
        raise ImportRefused(errors)
    examiners = {u.pk: u for u in User.objects.filter(pk__in={r.examiner_id for r in good})}
    with transaction.atomic():
        # Every candidate of the file is locked before the first mark's event takes the audit chain's head.
        # Locked row by row instead, an examiner submitting meanwhile (holding a candidate, waiting for the
        # head) and this import (holding the head, waiting for that candidate) would deadlock.
        services.lock_candidates(lookups.applications[row.key] for row in good)
        for row in good:
            try:
                with transaction.atomic():
                    services.save_mark(
                        examiner=examiners[row.examiner_id],
                        campaign=campaign,
                        part_code=part_code,
                        key=row.key,
                        raw_value=row.raw_value,
                        raw_criteria=row.raw_criteria,
                        submit=True,
                        source="import",
                    )
            except Refused as refused:
                errors.append(RowError(row.row, str(refused.message)))
        if errors:
            raise ImportRefused(errors)  # leaving the block this way rolls every row back
        record(
            actor=by,
            action="marks.import",
            obj=campaign,
            after={"part": part_code, "rows": len(good), "file": neutralise_cell(filename)[:150]},
        )
    return len(good)
