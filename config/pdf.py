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
    """Draws a QR code as one path of row-run rectangles (fast, and decodes reliably).

    A fixed mask skips segno's search over the eight masks (a third of the cost), and the path is
    drawn in whole module units under a scale transform, so its numbers stay short integers.
    """
    matrix = segno.make_qr(data, error="m", mask=0).matrix
    border = 2
    modules = len(matrix) + 2 * border
    runs: list[str] = []
    for row_index, row in enumerate(matrix):
        bottom = modules - border - 1 - row_index
        run_start = None
        for col_index, value in enumerate([*row, 0]):
            if value and run_start is None:
                run_start = col_index
            elif not value and run_start is not None:
                runs.append(f"{run_start + border} {bottom} {col_index - run_start} 1 re")
                run_start = None
    canvas.saveState()
    canvas.translate(x, y)
    canvas.scale(size / modules, size / modules)
    canvas.setFillColorRGB(0, 0, 0)
    # The operators are written directly: ReportLab's path.rect() formats each float through fp_str,
    # which was half the cost of a certificate. `_code` is the canvas's own operator list (pinned version).
    canvas._code.append(" ".join(runs) + " f")
    canvas.restoreState()
