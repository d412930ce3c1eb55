"""The QR code drawn into our PDFs is module for module the one segno encodes."""

from __future__ import annotations

import io
import re

import segno
from pypdf import PdfReader
from reportlab.pdfgen.canvas import Canvas

from config.pdf import draw_qr

URL = "https://thituyen.quangnam.gov.vn/verify/HT-2026-ABCDEFGHJK.signature/"


def test_the_drawn_modules_are_exactly_the_encoded_matrix() -> None:
    buffer = io.BytesIO()
    canvas = Canvas(buffer)
    draw_qr(canvas, URL, x=100, y=100, size=120)
    canvas.save()
    content = PdfReader(io.BytesIO(buffer.getvalue())).pages[0].get_contents().get_data().decode()
    matrix = segno.make_qr(URL, error="m", mask=0).matrix
    border, size = 2, len(matrix)
    drawn = [[0] * size for _ in range(size)]
    for x, y, w, h in re.findall(r"(-?\d+) (-?\d+) (\d+) (\d+) re", content):
        row = size + 2 * border - border - 1 - int(y)
        for col in range(int(x) - border, int(x) - border + int(w)):
            drawn[row][col] = 1
        assert int(h) == 1
    assert drawn == [list(r) for r in matrix]
