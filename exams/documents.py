"""Exam-day PDFs drawn with ReportLab: the admission notice (giấy báo dự thi) and a room's lists.

Plain functions returning bytes; every text goes through ``nfc()`` (decomposed accents print in the
wrong place) and, inside paragraphs, is escaped (a name is data, never markup). Labels are translated
into the platform's language of record, as the e-mails are.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any
from xml.sax.saxutils import escape

from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, ListFlowable, ListItem, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.doctemplate import BaseDocTemplate

from candidates.models import Application
from config.pdf import BOLD, ITALIC, REGULAR, draw_qr, nfc, register_fonts
from exams.exam_day import VIETNAM, RoomHeader, SeatRow, part_names
from exams.models import Seat

NATIONAL_NAME = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
NATIONAL_MOTTO = "Độc lập - Tự do - Hạnh phúc"
NOTICE_TITLE = "GIẤY BÁO DỰ THI"
GRID = colors.HexColor("#6b7280")
SHADE = colors.HexColor("#eef1f4")


def _styles() -> dict[str, ParagraphStyle]:
    register_fonts()
    base = ParagraphStyle("base", fontName=REGULAR, fontSize=10, leading=13)
    return {
        "base": base,
        "small": ParagraphStyle("small", parent=base, fontSize=8.5, leading=11),
        "centre": ParagraphStyle("centre", parent=base, alignment=TA_CENTER),
        "centre_bold": ParagraphStyle("centre_bold", parent=base, fontName=BOLD, alignment=TA_CENTER),
        "title": ParagraphStyle("title", parent=base, fontName=BOLD, fontSize=17, leading=22, alignment=TA_CENTER),
        "subtitle": ParagraphStyle("subtitle", parent=base, fontName=ITALIC, alignment=TA_CENTER),
        "heading": ParagraphStyle("heading", parent=base, fontName=BOLD, fontSize=11, spaceBefore=8, spaceAfter=3),
        "number": ParagraphStyle("number", parent=base, fontName=BOLD, fontSize=15, leading=19),
        "cell": ParagraphStyle("cell", parent=base, fontSize=9, leading=11.5),
        "cell_bold": ParagraphStyle("cell_bold", parent=base, fontName=BOLD, fontSize=9, leading=11.5),
    }


def _p(text: object, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(nfc(text)), style)


def _lines(texts: Sequence[object], style: ParagraphStyle) -> Paragraph:
    return Paragraph("<br/>".join(escape(nfc(text)) for text in texts if text), style)


def _date(value: date | str | None) -> str:
    if not value:
        return ""
    day = value if isinstance(value, date) else date.fromisoformat(str(value))
    return day.strftime("%d/%m/%Y")


def _minutes(minutes: int) -> str:
    return ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}


def _heading_block(authority: str, styles: dict[str, ParagraphStyle], width: float) -> Table:
    left = [_p(authority.upper(), styles["centre"]), _p(_("EXAMINATION COUNCIL").upper(), styles["centre_bold"])]
    right = [_p(NATIONAL_NAME, styles["centre_bold"]), _p(NATIONAL_MOTTO, styles["centre_bold"])]
    table = Table([[left, right]], colWidths=[width * 0.42, width * 0.58])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return table


def _grid(data: list[list[Any]], widths: Sequence[float], *, header: bool = True) -> Table:
    table = Table(data, colWidths=list(widths), repeatRows=1 if header else 0)
    style = [
        ("GRID", (0, 0), (-1, -1), 0.5, GRID),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), SHADE))
    table.setStyle(TableStyle(style))
    return table


class QRCode(Flowable):
    """A QR code as a flowable, drawn with :func:`config.pdf.draw_qr`."""

    def __init__(self, data: str, size: float) -> None:
        super().__init__()
        self.data, self.size = data, size
        self.width = self.height = size

    def draw(self) -> None:
        draw_qr(self.canv, self.data, x=0, y=0, size=self.size)


def room_lookup_url(*, number: str, campaign_id: int) -> str:
    query = urlencode({"number": number, "campaign": campaign_id})
    return f"{settings.SITE_URL}{reverse('exam_room_lookup')}?{query}"


def _document(buffer: io.BytesIO, *, title: str, pagesize: tuple[float, float] = A4) -> SimpleDocTemplate:
    return SimpleDocTemplate(
        buffer,
        pagesize=pagesize,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=14 * mm,
        bottomMargin=16 * mm,
        title=nfc(title),
        author="Hiền Tài",
        invariant=True,
        lang="vi",
    )


# --- Admission notice -----------------------------------------------------------------------------


def render_admission_notice(
    *, application: Application, number: str, seats: Sequence[Seat], parts: Mapping[str, str] | None = None
) -> bytes:
    """One A4 page: who, which number, and for each session when and where, what to bring and the rules.

    ``seats`` come with their session, room and venue loaded (see ``exams.exam_day.seats_of``).
    """
    with translation.override(settings.LANGUAGE_CODE):
        return _admission_notice(application=application, number=number, seats=seats, parts=parts)


def _admission_notice(
    *, application: Application, number: str, seats: Sequence[Seat], parts: Mapping[str, str] | None
) -> bytes:
    styles = _styles()
    campaign = application.post.campaign
    parts = parts if parts is not None else part_names(campaign)
    snapshot = application.profile_snapshot or {}
    buffer = io.BytesIO()
    doc = _document(buffer, title=f"{NOTICE_TITLE} {number}")
    width = doc.width
    story: list[Flowable] = [
        _heading_block(campaign.authority.name, styles, width),
        Spacer(1, 8 * mm),
        _p(NOTICE_TITLE, styles["title"]),
        _p(campaign.title, styles["subtitle"]),
        Spacer(1, 5 * mm),
    ]
    identity = [
        [_p(_("Candidate number"), styles["base"]), _p(number, styles["number"])],
        [_p(_("Full name"), styles["base"]), _p(application.display_name, styles["cell_bold"])],
        [_p(_("Date of birth"), styles["base"]), _p(_date(snapshot.get("date_of_birth")), styles["base"])],
        [_p(_("Post applied for"), styles["base"]), _p(application.post.title, styles["base"])],
        [_p(_("Organisation"), styles["base"]), _p(application.post.organisation.name, styles["base"])],
    ]
    qr_size = 34 * mm
    url = room_lookup_url(number=number, campaign_id=campaign.pk)
    info = Table(identity, colWidths=[38 * mm, width - 38 * mm - qr_size - 6 * mm])
    info.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    qr_cell = [QRCode(url, qr_size), _p(_("Scan to find your exam room"), styles["small"])]
    top = Table([[info, qr_cell]], colWidths=[width - qr_size - 6 * mm, qr_size + 6 * mm])
    top.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    story += [top, _p(_("Exam sessions"), styles["heading"])]
    header = [_("Part"), _("Date"), _("Start"), _("Duration"), _("Venue"), _("Room"), _("Seat")]
    rows: list[list[Any]] = [[_p(text, styles["cell_bold"]) for text in header]]
    for seat in seats:
        session = seat.session
        starts = timezone.localtime(session.starts_at, VIETNAM)
        venue = seat.room.venue
        rows.append(
            [
                _p(parts.get(session.part_code, session.part_code), styles["cell"]),
                _p(starts.strftime("%d/%m/%Y"), styles["cell"]),
                _p(starts.strftime("%H:%M"), styles["cell"]),
                _p(_minutes(session.duration_minutes), styles["cell"]),
                _lines([venue.name, venue.address], styles["cell"]),
                _p(seat.room.name, styles["cell"]),
                _p(seat.seat, styles["cell"]),
            ]
        )
    if len(rows) == 1:
        rows.append([_p(_("No session yet."), styles["cell"])] + [""] * 6)
    story.append(_grid(rows, [w * mm for w in (34, 24, 14, 21, 43, 24, 14)]))
    story.append(_p(_("Times are Vietnam time (UTC+7)."), styles["small"]))
    story.append(_p(_("What to bring"), styles["heading"]))
    story.append(_bullets(bring_list(), styles["base"]))
    story.append(_p(_("Rules of the exam room"), styles["heading"]))
    story.append(_bullets(room_rules(), styles["base"], numbered=True))
    story += [Spacer(1, 4 * mm), _p(url, styles["small"])]
    doc.build(story)
    return buffer.getvalue()


def bring_list() -> list[str]:
    return [
        _("Your citizen ID card (CCCD) or another photo ID."),
        _("This admission notice, printed or on your phone."),
        _("Blue or black pens, a pencil and a ruler."),
        _("For the oral part: the copies of your action programme (đề án) the council asked for."),
    ]


def room_rules() -> list[str]:
    return [
        _("Arrive at least 30 minutes before the start; a late arrival is recorded."),
        _("Show your ID to the invigilators and sit at the seat with your number."),
        _("Switch off phones and other electronic devices and hand them in before the start."),
        _("Bring no notes or documents unless the council allows them."),
        _("Write only on the paper handed out, with no name or mark that identifies you: scripts are marked blind."),
        _("Do not leave the room without an invigilator's permission."),
        _("A breach of these rules is recorded with the measure taken, and may exclude you from the part."),
    ]


def _bullets(lines: Sequence[str], style: ParagraphStyle, *, numbered: bool = False) -> ListFlowable:
    items = [ListItem(_p(line, style), leftIndent=12) for line in lines]
    if numbered:
        return ListFlowable(items, bulletType="1", bulletFontName=REGULAR, bulletFontSize=10, leftIndent=14)
    return ListFlowable(items, bulletType="bullet", start="•", bulletFontName=REGULAR, leftIndent=14)


# --- A room's lists ------------------------------------------------------------------------------


def _page_number(text: Callable[[int], str]) -> Callable[[Canvas, BaseDocTemplate], None]:
    def draw(canvas: Canvas, doc: BaseDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(REGULAR, 8)
        canvas.drawRightString(doc.pagesize[0] - 18 * mm, 8 * mm, nfc(text(canvas.getPageNumber())))
        canvas.restoreState()

    return draw


def render_room_sheet(*, kind: str, header: RoomHeader, rows: Sequence[SeatRow]) -> bytes:
    """A room's sign-in sheet ("sign-in": with a signature column) or room list ("list"), A4 portrait."""
    with translation.override(settings.LANGUAGE_CODE):
        return _room_sheet(kind=kind, header=header, rows=rows)


def sheet_title(kind: str) -> str:
    return _("Sign-in sheet") if kind == "sign-in" else _("Room list")


def _room_sheet(*, kind: str, header: RoomHeader, rows: Sequence[SeatRow]) -> bytes:
    styles = _styles()
    buffer = io.BytesIO()
    title = sheet_title(kind)
    doc = _document(buffer, title=f"{title} — {header.room}")
    story: list[Flowable] = [
        _heading_block(header.authority, styles, doc.width),
        Spacer(1, 5 * mm),
        _p(title.upper(), styles["title"]),
        _p(header.campaign, styles["subtitle"]),
        Spacer(1, 3 * mm),
    ]
    facts = [
        (_("Part"), header.part),
        (_("Start"), f"{header.starts_at} ({_minutes(header.duration_minutes)})"),
        (_("Venue"), f"{header.venue}{', ' + header.address if header.address else ''}"),
        (_("Room"), header.room),
        (_("Room staff"), ", ".join(header.staff) or "—"),
        (_("Candidates"), str(len(rows))),
    ]
    table = Table([[_p(k, styles["cell_bold"]), _p(v, styles["cell"])] for k, v in facts], colWidths=[35 * mm, None])
    table.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("TOPPADDING", (0, 0), (-1, -1), 1)]))
    story += [table, Spacer(1, 4 * mm)]
    cell, bold = styles["cell"], styles["cell_bold"]
    if kind == "sign-in":
        head = [_("Seat"), _("Candidate number"), _("Full name"), _("Date of birth"), _("Signature"), _("Note")]
        data = [[_p(h, bold) for h in head]] + [
            [_p(r.seat, cell), _p(r.number, cell), _p(r.full_name, cell), _p(_date(r.date_of_birth), cell), "", ""]
            for r in rows
        ]
        widths = [12, 26, 52, 24, 36, 24]
    else:
        head = [_("Seat"), _("Candidate number"), _("Full name"), _("Date of birth"), _("Post")]
        data = [[_p(h, bold) for h in head]] + [
            [_p(r.seat, cell), _p(r.number, cell), _p(r.full_name, cell), _p(_date(r.date_of_birth), cell)]
            + [_p(r.post_title, cell)]
            for r in rows
        ]
        widths = [12, 26, 52, 24, 60]
    grid = _grid(data, [w * mm for w in widths])
    if kind == "sign-in":
        grid.setStyle(TableStyle([("TOPPADDING", (0, 1), (-1, -1), 8), ("BOTTOMPADDING", (0, 1), (-1, -1), 8)]))
    story.append(grid)
    story += [Spacer(1, 8 * mm), _p(_("Invigilators' signatures"), styles["cell_bold"])]
    page = _page_number(lambda n: _("Page %(page)d") % {"page": n})
    doc.build(story, onFirstPage=page, onLaterPages=page)
    return buffer.getvalue()
