"""Ranked lists of a post as PDF, XLSX and CSV, and a zip of its certificates: plain functions returning bytes.

Every text cell of a spreadsheet goes through `neutralise_cell` (a name typed as "=HYPERLINK(…)" must
never run as a formula, ASVS 1.2.10); every PDF text through `nfc` and is escaped (a name is data, never
markup).
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from candidates.exports import neutralise_cell
from config.pdf import BOLD, REGULAR, nfc, register_fonts
from exams.models import Post
from scoring.models import ResultEntry, ResultSet
from scoring.results import entries_of, outcome_labels, rules_of, snapshot_key

GRID = colors.HexColor("#6b7280")
SHADE = colors.HexColor("#eef1f4")


def _parts(result_set: ResultSet) -> list[dict[str, Any]]:
    """The parts as the version recorded them (the snapshot), else as the rules define them now."""
    parts = snapshot_key(result_set, "parts")
    if parts:
        return list(parts)
    return [{"code": p.code, "name": p.name} for p in rules_of(result_set.campaign).parts.all()]


def _headers(parts: Sequence[dict[str, Any]]) -> list[str]:
    return [_("Rank"), _("Full name"), *(str(p["name"]) for p in parts), _("Total"), _("Outcome")]


def _rows(result_set: ResultSet, post: Post) -> tuple[list[dict[str, Any]], list[ResultEntry]]:
    return _parts(result_set), entries_of(result_set, post)


def _mark(value: str | None) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


def _total(entry: ResultEntry, decimals: int) -> Decimal | None:
    if entry.total is None:
        return None
    return Decimal(entry.total).quantize(Decimal(1).scaleb(-decimals))


def _decimals(result_set: ResultSet) -> int:
    return int(snapshot_key(result_set, "decimals") or 1)


def _status_line(result_set: ResultSet) -> str:
    status = result_set.get_status_display()
    line = _("Version %(version)d — %(status)s") % {"version": result_set.version, "status": status}
    if result_set.published_at:
        published = timezone.localtime(result_set.published_at).strftime("%d/%m/%Y %H:%M")
        line += " — " + _("published on %(date)s") % {"date": published}
    return str(line)


# --- CSV and XLSX ---------------------------------------------------------------------------


def _cells(entry: ResultEntry, parts: Sequence[dict[str, Any]], decimals: int) -> list[Any]:
    labels = outcome_labels()
    return [
        entry.rank if entry.rank is not None else "",
        neutralise_cell(entry.full_name),
        *(_mark(entry.part_marks.get(p["code"])) if entry.part_marks.get(p["code"]) else "" for p in parts),
        _total(entry, decimals) if entry.total is not None else "",
        neutralise_cell(str(labels.get(entry.outcome, entry.outcome))),
    ]


def ranked_list_csv(result_set: ResultSet, post: Post) -> bytes:
    """UTF-8 with a byte-order mark, so spreadsheet programs read the Vietnamese names correctly."""
    parts, entries = _rows(result_set, post)
    decimals = _decimals(result_set)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([neutralise_cell(h) for h in _headers(parts)])
    for entry in entries:
        writer.writerow(["" if v is None else str(v) for v in _cells(entry, parts, decimals)])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def ranked_list_xlsx(result_set: ResultSet, post: Post) -> bytes:
    parts, entries = _rows(result_set, post)
    decimals = _decimals(result_set)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(neutralise_cell(_("Results"))[:31])
    sheet.append([neutralise_cell(nfc(post.title))])
    sheet.append([neutralise_cell(_status_line(result_set))])
    sheet.append([])
    sheet.append([neutralise_cell(h) for h in _headers(parts)])
    for entry in entries:
        sheet.append(_cells(entry, parts, decimals))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# --- PDF ---------------------------------------------------------------------------------------


def _styles() -> dict[str, ParagraphStyle]:
    register_fonts()
    base = ParagraphStyle("base", fontName=REGULAR, fontSize=10, leading=13)
    return {
        "base": base,
        "title": ParagraphStyle("title", parent=base, fontName=BOLD, fontSize=15, leading=19, alignment=TA_CENTER),
        "centre": ParagraphStyle("centre", parent=base, alignment=TA_CENTER),
        "cell": ParagraphStyle("cell", parent=base, fontSize=9, leading=11.5),
        "head": ParagraphStyle("head", parent=base, fontName=BOLD, fontSize=9, leading=11.5),
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=10),
    }


def _p(text: object, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(nfc(text)), style)


def _number(value: Decimal | None) -> str:
    # Vietnamese writes a decimal comma; the list is an official document in the language of record.
    return "" if value is None else f"{value:f}".replace(".", ",")


def ranked_list_pdf(result_set: ResultSet, post: Post) -> bytes:
    """An A4 landscape table: rank, name, each part's official mark, total and outcome."""
    styles = _styles()
    parts, entries = _rows(result_set, post)
    decimals = _decimals(result_set)
    labels = outcome_labels()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=14 * mm,
        bottomMargin=14 * mm,
        title=nfc(_("Ranked list: %(post)s") % {"post": post.title}),
        author="Hiền Tài",
        invariant=True,
        lang="vi",
    )
    story: list[Any] = [
        _p(result_set.campaign.title, styles["centre"]),
        _p(_("RANKED LIST OF RESULTS"), styles["title"]),
        _p(f"{post.title} — {post.organisation}", styles["centre"]),
        _p(_status_line(result_set), styles["centre"]),
        Spacer(1, 6 * mm),
    ]
    data: list[list[Any]] = [[_p(h, styles["head"]) for h in _headers(parts)]]
    for entry in entries:
        data.append(
            [
                _p(entry.rank or "—", styles["cell"]),
                _p(entry.full_name, styles["cell"]),
                *(_p(_number(_mark(entry.part_marks.get(p["code"]))) or "—", styles["cell"]) for p in parts),
                _p(_number(_total(entry, decimals)) or "—", styles["cell"]),
                _p(labels.get(entry.outcome, entry.outcome), styles["cell"]),
            ]
        )
    width = landscape(A4)[0] - 30 * mm
    fixed = [14 * mm, *(24 * mm for _p in parts), 22 * mm, 40 * mm]
    table = Table(data, colWidths=[fixed[0], width - sum(fixed), *fixed[1:]], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, GRID),
                ("BACKGROUND", (0, 0), (-1, 0), SHADE),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    story.append(table)
    if result_set.content_hash:
        story += [
            Spacer(1, 5 * mm),
            _p(_("Fingerprint of the published version (SHA-256): %(hash)s") % {"hash": result_set.content_hash},
               styles["small"]),
        ]  # fmt: skip
    document.build(story)
    return buffer.getvalue()


# --- Certificates ------------------------------------------------------------------------------


def certificates_zip(result_set: ResultSet, post: Post) -> bytes:
    """The stored certificate PDFs of a post's candidates in this version, named by rank and serial."""
    out = io.BytesIO()
    entries = result_set.entries.filter(post=post, certificate__isnull=False).select_related("certificate")
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for entry in sorted(entries, key=lambda e: (e.rank is None, e.rank or 0, e.full_name)):
            certificate = entry.certificate
            if not certificate.pdf:
                continue
            with certificate.pdf.open("rb") as handle:
                prefix = f"{entry.rank:03d}" if entry.rank else "000"
                archive.writestr(f"{prefix}-{certificate.serial}.pdf", handle.read())
    return out.getvalue()
