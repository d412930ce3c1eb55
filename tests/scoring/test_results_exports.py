"""Exports of a ranked list: formulas neutralised in XLSX and CSV, NFC names in the PDF, certificates zipped."""

from __future__ import annotations

import csv
import io
import unicodedata
import zipfile

import pytest
from django.urls import reverse
from openpyxl import load_workbook
from pypdf import PdfReader

from scoring.results_exports import certificates_zip, ranked_list_csv, ranked_list_pdf, ranked_list_xlsx
from tests.conftest import client_for
from tests.scoring.test_results_support import generate_certificates, mark_campaign, publish, use_certificate_keys

pytestmark = pytest.mark.django_db

HOSTILE = ['=HYPERLINK("http://evil.example","Bấm")', "+1 Nguyễn", "@SUM(A1:A9)", "\t=1+1", "-2 Trần"]
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture
def hostile(make_post):
    marks = {name: ("70", str(60 + i)) for i, name in enumerate(HOSTILE)}
    setup = mark_campaign(make_post, marks)
    return setup, publish(setup)


def assert_neutral(cells: list[str]) -> None:
    for cell in cells:
        assert not cell.startswith(TRIGGERS), cell


def test_csv_neutralises_formulas(hostile) -> None:
    setup, result_set = hostile
    data = ranked_list_csv(result_set, setup.post)
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    names = [row[1] for row in rows[1:]]
    assert sorted(names) == sorted("'" + name for name in HOSTILE)
    assert_neutral([cell for row in rows for cell in row])
    assert rows[1][2:4] == ["70.0", "64.0"]  # marks stay numbers


def test_xlsx_neutralises_formulas(hostile) -> None:
    setup, result_set = hostile
    sheet = load_workbook(io.BytesIO(ranked_list_xlsx(result_set, setup.post))).active
    values = [cell.value for row in sheet.iter_rows() for cell in row if cell.value is not None]
    texts = [v for v in values if isinstance(v, str)]
    assert_neutral(texts)
    assert {"'" + name for name in HOSTILE} <= set(texts)
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_the_pdf_lists_the_names_in_nfc(make_post) -> None:
    decomposed = [unicodedata.normalize("NFD", n) for n in ("Nguyễn Thị Ánh Tuyết", "Đặng Quốc Bảo", "Hồ Ngọc Hà")]
    setup = mark_campaign(make_post, {name: ("70", str(70 + i)) for i, name in enumerate(decomposed)})
    result_set = publish(setup)
    data = ranked_list_pdf(result_set, setup.post)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    for name in decomposed:
        composed = unicodedata.normalize("NFC", name)
        assert composed != name and composed in unicodedata.normalize("NFC", text)
    assert result_set.content_hash in text.replace("\n", "")
    assert setup.post.title in text


def test_the_certificates_zip_holds_the_stored_pdfs(make_post, settings, tmp_path) -> None:
    use_certificate_keys(settings, tmp_path)
    setup = mark_campaign(make_post, {"Nguyễn Văn An": ("70", "80"), "Trần Thị Bình": ("60", "60")})
    result_set = publish(setup)
    generate_certificates(result_set)
    archive = zipfile.ZipFile(io.BytesIO(certificates_zip(result_set, setup.post)))
    names = sorted(archive.namelist())
    serials = [e.certificate.serial for e in result_set.entries.select_related("certificate").order_by("rank")]
    assert [n.split("-", 1)[1].removesuffix(".pdf") for n in names] == serials
    assert names[0].startswith("001-") and all(archive.read(n).startswith(b"%PDF") for n in names)


def test_exports_are_for_staff_and_zips_for_hr(hostile) -> None:
    setup, result_set = hostile
    args = [result_set.pk, setup.post.pk]
    for user, allowed in ((setup.hr, True), (setup.chair, True), (setup.by_name[HOSTILE[0]].candidate, False)):
        client = client_for(user)
        for name in ("results_export_pdf", "results_export_xlsx", "results_export_csv"):
            response = client.get(reverse(name, args=args))
            assert (response.status_code == 200) is allowed, (user, name)
    assert client_for(setup.chair).get(reverse("results_export_certificates", args=args)).status_code == 403
    response = client_for(setup.hr).get(reverse("results_export_certificates", args=args))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
