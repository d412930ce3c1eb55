"""The result certificate as a one-page A4 PDF (plain function: payload in, bytes out, no Django).

The page prints the signed payload in Vietnamese (the document itself is official text), with a
QR code of the verification URL. The payload and its signature are also embedded in the PDF as
the file attachment ``hientai-certificate.json``, so ``manage.py verify_certificate FILE.pdf``
can check the file offline with the public keys.
"""

from __future__ import annotations

import io
import json
from datetime import date
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfdoc import PDFArray, PDFDictionary, PDFName, PDFStream, PDFString
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from config.pdf import BOLD, REGULAR, draw_qr, nfc, register_fonts

ATTACHMENT_NAME = "hientai-certificate.json"
ENVELOPE_FORMAT = "hientai-certificate/1"

OUTCOME_TEXT = {
    "winner": "Trúng tuyển",
    "passed": "Đạt yêu cầu, không trúng tuyển",
    "failed": "Không đạt yêu cầu",
    "not_reached": "Không đạt yêu cầu vòng trước, không xét vòng sau",
    "absent": "Vắng thi",
    "incomplete": "Chưa đủ kết quả",
}

WIDTH, HEIGHT = A4
MARGIN = 20 * mm
INK = (0.1, 0.1, 0.12)
RED = (0.62, 0.09, 0.09)


def outcome_text(code: str) -> str:
    return OUTCOME_TEXT.get(code, code)


def vietnamese_date(day: date) -> str:
    """'ngày 04 tháng 02 năm 2026': a leading zero for days 1–9 and for months 1 and 2 (NĐ 30/2020)."""
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"ngày {day.day:02d} tháng {month} năm {day.year}"


def display_mark(value: object) -> str:
    """A mark as printed in Vietnamese: decimal comma; a missing mark is a dash."""
    if value is None or value == "":
        return "—"
    return str(value).replace(".", ",")


def envelope_bytes(*, payload: dict[str, Any], signature: str) -> bytes:
    """The embedded attachment: the payload as signed, and its signature (base64url)."""
    envelope = {"alg": "Ed25519", "format": ENVELOPE_FORMAT, "payload": payload, "signature": signature}
    return json.dumps(envelope, ensure_ascii=False, sort_keys=True, indent=1).encode()


def _attach(canvas: Canvas, name: str, data: bytes, description: str) -> None:
    """Adds an embedded file (PDF 1.7 §7.11.4) through ReportLab's object model: it has no API for it."""
    doc = canvas._doc
    stream = PDFStream(
        PDFDictionary(
            {
                "Type": PDFName("EmbeddedFile"),
                "Subtype": "/application#2Fjson",  # PDFName() would not escape the slash
                "Params": PDFDictionary({"Size": len(data)}),
            }
        ),
        data,
    )
    filespec = PDFDictionary(
        {
            "Type": PDFName("Filespec"),
            "F": PDFString(name),
            "UF": PDFString(name),
            "Desc": PDFString(description),
            "AFRelationship": PDFName("Data"),
            "EF": PDFDictionary({"F": doc.Reference(stream)}),
        }
    )
    names = PDFDictionary({"Names": PDFArray([PDFString(name), doc.Reference(filespec)])})
    doc.Catalog.Names = PDFDictionary({"EmbeddedFiles": names})


def _centred(canvas: Canvas, text: str, x: float, y: float, font: str, size: float) -> None:
    canvas.setFont(font, size)
    canvas.drawCentredString(x, y, text)


def _wrapped(
    canvas: Canvas, text: str, x: float, y: float, width: float, font: str, size: float, leading: float
) -> float:
    """Draws text wrapped to the width; returns the baseline below the last line."""
    canvas.setFont(font, size)
    for line in simpleSplit(text, font, size, width) or [""]:
        canvas.drawString(x, y, line)
        y -= leading
    return y


def _labelled(canvas: Canvas, label: str, value: str, y: float, *, size: float = 12, bold: bool = False) -> float:
    x = MARGIN + 8 * mm
    canvas.setFont(REGULAR, size)
    canvas.drawString(x, y, label)
    offset = stringWidth(label, REGULAR, size) + 4
    return (
        _wrapped(
            canvas, value, x + offset, y, WIDTH - MARGIN - x - offset, BOLD if bold else REGULAR, size, size * 1.45
        )
        - size * 0.35
    )


def render_certificate(*, payload: dict[str, Any], token: str) -> bytes:
    """One A4 page: heading, certified data, place and date, the chair, serial and QR; payload embedded.

    ``token`` is the verification token ("<serial>.<base64url signature>"): the QR code carries
    ``payload["verify_url"] + token + "/"`` and the signature is embedded with the payload.
    """
    register_fonts()
    text = {key: nfc(value) if isinstance(value, str) else value for key, value in payload.items()}
    candidate = {k: nfc(v) for k, v in payload["candidate"].items() if v is not None}
    chair = {k: nfc(v) for k, v in payload["chair"].items()}
    signature = token.rsplit(".", 1)[-1]
    verify_url = f"{payload['verify_url']}{token}/"

    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1)
    canvas.setTitle(f"Giấy chứng nhận kết quả thi tuyển {payload['serial']}")
    canvas.setAuthor("Hội đồng thi tuyển")
    canvas.setCreator("Hiền Tài")
    canvas.setSubject(payload["serial"])
    canvas.setFillColorRGB(*INK)

    # National heading (right) and issuing body (left), as in an administrative document.
    top = HEIGHT - MARGIN - 4 * mm
    left_x, right_x = MARGIN + 38 * mm, WIDTH - MARGIN - 52 * mm
    authority_lines = simpleSplit(text["authority"].upper(), REGULAR, 10.5, 76 * mm)[:2]
    y = top
    for line in authority_lines:
        _centred(canvas, line, left_x, y, REGULAR, 10.5)
        y -= 13
    _centred(canvas, "HỘI ĐỒNG THI TUYỂN", left_x, y, BOLD, 10.5)
    canvas.setLineWidth(0.6)
    canvas.line(left_x - 14 * mm, y - 5, left_x + 14 * mm, y - 5)
    _centred(canvas, f"Số hiệu: {payload['serial']}", left_x, y - 20, REGULAR, 10)

    _centred(canvas, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", right_x, top, BOLD, 10.5)
    motto = "Độc lập - Tự do - Hạnh phúc"
    _centred(canvas, motto, right_x, top - 14, BOLD, 11.5)
    half = stringWidth(motto, BOLD, 11.5) / 2
    canvas.line(right_x - half, top - 19, right_x + half, top - 19)
    place_date = f"{text['place']}, {vietnamese_date(date.fromisoformat(payload['date']))}"
    _centred(canvas, place_date, right_x, top - 40, REGULAR, 10.5)

    # Title.
    y = HEIGHT - 70 * mm
    canvas.setFillColorRGB(*RED)
    _centred(canvas, "GIẤY CHỨNG NHẬN KẾT QUẢ THI TUYỂN", WIDTH / 2, y, BOLD, 19)
    canvas.setFillColorRGB(*INK)
    y -= 18
    for line in simpleSplit(text["campaign"], REGULAR, 12, WIDTH - 2 * MARGIN - 20 * mm)[:3]:
        _centred(canvas, line, WIDTH / 2, y, REGULAR, 12)
        y -= 16
    y -= 14

    # Certified data.
    _centred(canvas, "HỘI ĐỒNG THI TUYỂN CHỨNG NHẬN", WIDTH / 2, y, BOLD, 12.5)
    y -= 28
    y = _labelled(canvas, "Ông/Bà:", candidate["name"], y, size=14, bold=True)
    birth = candidate.get("birth_date")
    if birth:
        y = _labelled(canvas, "Ngày sinh:", date.fromisoformat(birth).strftime("%d/%m/%Y"), y)
    y = _labelled(canvas, "Chức danh dự tuyển:", text["post"], y, bold=True)
    y = _labelled(canvas, "Cơ quan, đơn vị:", text["organisation"], y)
    y -= 6

    # Marks table.
    x0, x1, x2 = MARGIN + 8 * mm, WIDTH - MARGIN - 48 * mm, WIDTH - MARGIN - 8 * mm
    row = 20
    rows: list[tuple[str, str, bool]] = [("Phần thi", "Điểm", True)]
    rows += [(nfc(part["name"]), display_mark(part["mark"]), False) for part in payload["marks"]]
    rows.append(("Tổng điểm", display_mark(payload["total"]), True))
    rows.append(("Xếp hạng", str(payload["rank"]) if payload["rank"] is not None else "—", False))
    canvas.setLineWidth(0.5)
    canvas.setStrokeColorRGB(0.55, 0.55, 0.6)
    canvas.line(x0, y + row - 5, x2, y + row - 5)
    for label, value, strong in rows:
        font = BOLD if strong else REGULAR
        canvas.setFont(font, 11.5)
        canvas.drawString(x0 + 6, y, simpleSplit(label, font, 11.5, x1 - x0 - 12)[0] if label else "")
        canvas.drawRightString(x2 - 10, y, value)
        canvas.line(x0, y - 7, x2, y - 7)
        y -= row
    top_of_table = y + row * (len(rows) + 1) - 5
    canvas.line(x0, top_of_table, x0, y + row - 7)
    canvas.line(x1, top_of_table, x1, y + row - 7)
    canvas.line(x2, top_of_table, x2, y + row - 7)
    canvas.setStrokeColorRGB(*INK)
    y -= 8
    y = _labelled(canvas, "Kết quả:", nfc(payload["outcome_text"]), y, size=13, bold=True)
    result_set = payload["result_set"]
    y = _wrapped(
        canvas,
        f"Theo kết quả thi tuyển đã công bố (phiên bản {result_set['version']}, "
        f"mã băm SHA-256 {result_set['content_hash'][:16]}…).",
        MARGIN + 8 * mm,
        y - 2,
        WIDTH - 2 * MARGIN - 16 * mm,
        REGULAR,
        9.5,
        12,
    )

    # The chair (right) and the verification block (left).
    sign_x = WIDTH - MARGIN - 45 * mm
    qr_size = 36 * mm
    qr_y = MARGIN + 12 * mm
    # The chair's name stays above the QR block (which sits bottom left, with its notes beside it).
    sign_top = max(min(y - 18, 105 * mm), qr_y + qr_size + 8 * mm + 62)
    for index, line in enumerate(simpleSplit(chair["title"].upper(), BOLD, 11.5, 90 * mm)[:2]):
        _centred(canvas, line, sign_x, sign_top - 15 * index, BOLD, 11.5)
    _centred(canvas, chair["name"], sign_x, sign_top - 62, BOLD, 12)

    draw_qr(canvas, verify_url, x=MARGIN, y=qr_y, size=qr_size)
    canvas.setFillColorRGB(*INK)
    notes = [
        (BOLD, f"Số hiệu: {payload['serial']}"),
        (REGULAR, "Quét mã QR hoặc nhập số hiệu tại"),
        (REGULAR, str(payload["verify_url"])),
        (REGULAR, "để kiểm tra tính xác thực và hiệu lực."),
        (REGULAR, f"Chữ ký số Ed25519, khóa {payload['key_id']}."),
    ]
    note_x, note_y = MARGIN + qr_size + 4 * mm, qr_y + qr_size - 10
    for font, line in notes:
        canvas.setFont(font, 8.5)
        canvas.drawString(note_x, note_y, line)
        note_y -= 11.5
    canvas.setFont(REGULAR, 7.5)
    canvas.drawString(
        MARGIN,
        MARGIN,
        "Tệp PDF này có đính kèm dữ liệu đã ký (hientai-certificate.json) để kiểm tra ngoại tuyến.",
    )

    _attach(
        canvas,
        ATTACHMENT_NAME,
        envelope_bytes(payload=payload, signature=signature),
        "Signed certificate data (Ed25519)",
    )
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
