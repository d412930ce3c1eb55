"""Shared ReportLab set-up: the Be Vietnam Pro fonts (every Vietnamese diacritic) and QR drawing."""

from __future__ import annotations

import unicodedata
from functools import cache

import fontpkg
import segno
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

REGULAR = "BeVietnamPro"
BOLD = "BeVietnamPro-Bold"
ITALIC = "BeVietnamPro-Italic"


@cache
def register_fonts() -> None:
    pdfmetrics.registerFont(TTFont(REGULAR, str(fontpkg.path("be-vietnam-pro", 400))))
    pdfmetrics.registerFont(TTFont(BOLD, str(fontpkg.path("be-vietnam-pro", 700))))
    pdfmetrics.registerFont(TTFont(ITALIC, str(fontpkg.path("be-vietnam-pro", 400, "italic"))))
    pdfmetrics.registerFontFamily(REGULAR, normal=REGULAR, bold=BOLD, italic=ITALIC, boldItalic=BOLD)


def nfc(text: object) -> str:
    # Decomposed (NFD) text puts the accents in the wrong place with drawString.
    return unicodedata.normalize("NFC", str(text))


def draw_qr(canvas: Canvas, data: str, *, x: float, y: float, size: float) -> None:
    """Draws a QR code as one path of row-run rectangles (fast, and decodes reliably)."""
    matrix = segno.make_qr(data, error="m").matrix
    border = 2
    modules = len(matrix) + 2 * border
    cell = size / modules
    path = canvas.beginPath()
    for row_index, row in enumerate(matrix):
        top = y + size - (row_index + border + 1) * cell
        run_start = None
        for col_index, value in enumerate([*row, 0]):
            if value and run_start is None:
                run_start = col_index
            elif not value and run_start is not None:
                path.rect(x + (run_start + border) * cell, top, (col_index - run_start) * cell, cell)
                run_start = None
    canvas.setFillColorRGB(0, 0, 0)
    canvas.drawPath(path, stroke=0, fill=1)
