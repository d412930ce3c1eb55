"""The admission notice (giấy báo dự thi): an A4 PDF read back with pypdf."""

from __future__ import annotations

import io
import unicodedata
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from exams import exam_day
from tests.exams.test_exam_day_builders import build_exam_day, ready_to_publish

pytestmark = pytest.mark.django_db
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
NAME = "Nguyễn Thị Ánh Tuyết"


@pytest.fixture
def notice(make_post, hr_officer, chair, settings) -> tuple[str, str]:
    settings.TIME_ZONE = "UTC"  # the notice must print Vietnam time whatever the server's zone
    typed = unicodedata.normalize("NFD", NAME)  # as some keyboards type it
    setup = build_exam_day(make_post, hr_officer, chair, posts={"Phó Giám đốc Sở Y tế": [typed, "Trần Văn Bình"]})
    ready_to_publish(setup, written_start=datetime(2031, 3, 9, 7, 30, tzinfo=VIETNAM))
    number, pdf = exam_day.admission_notice_pdf(setup.applications[0])
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    assert [round(float(v)) for v in reader.pages[0].mediabox[2:]] == [595, 842]  # A4 in points
    return number, reader.pages[0].extract_text()


def test_the_notice_carries_the_number_and_the_name_in_nfc(notice) -> None:
    number, text = notice
    assert number == "QN0002"  # Bình comes before Tuyết
    assert number in text
    assert NAME in text  # composed (NFC), as typed in decomposed form
    assert unicodedata.normalize("NFD", NAME) not in text
    assert "17/05/1980" in text and "Phó Giám đốc Sở Y tế" in text


def test_the_notice_gives_each_sessions_date_time_venue_room_and_seat(notice) -> None:
    _number, text = notice
    assert "09/03/2031" in text and "07:30" in text  # Vietnam time, not 00:30 UTC
    assert "16/03/2031" in text  # the oral session, a week later
    assert "Thi viết" in text and "Trường Chính trị tỉnh" in text and "Phòng 201" in text


def test_the_notice_has_the_national_heading_rules_and_the_lookup_link(notice) -> None:
    number, text = notice
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text and "Độc lập - Tự do - Hạnh phúc" in text
    assert "GIẤY BÁO DỰ THI" in text
    assert f"/exam-rooms/?number={number}&campaign=" in text
    assert "citizen ID card" in text.replace("\n", " ") or "CCCD" in text


def test_a_name_is_printed_as_text_never_read_as_markup(make_post, hr_officer, chair) -> None:
    setup = build_exam_day(make_post, hr_officer, chair, posts={"Phó Giám đốc Sở Y tế": ["Lê <b>Văn</b> & An"]})
    ready_to_publish(setup)
    _number, pdf = exam_day.admission_notice_pdf(setup.applications[0])
    assert "Lê <b>Văn</b> & An" in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
