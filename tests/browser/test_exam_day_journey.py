"""Exam day in a real browser: the candidate downloads the admission notice; a room officer marks
attendance on a phone, one tap per candidate."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from allauth.mfa.totp.internal.auth import generate_totp_secret
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from accounts.roles import Role
from exams import exam_day
from exams.models import Attendance, Seat
from tests.browser.helpers import sign_in, sign_in_staff
from tests.exams.test_exam_day_builders import build_exam_day, ready_to_publish, staffed_room

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def published(make_post, make_user, hr_officer, chair):
    """Numbers published; the written session started ten minutes ago, in one room of four seats."""
    setup = build_exam_day(
        make_post,
        hr_officer,
        chair,
        posts={"Phó Giám đốc Sở Y tế": ["Nguyễn Thị Mai Anh", "Trần Văn Bình", "Lê Thị Cúc"]},
        capacities=(4,),
    )
    # The first candidate signs in with a real account.
    owner = make_user("maianh@example.vn", Role.CANDIDATE, full_name="Nguyễn Thị Mai Anh")
    application = setup.applications[0]
    application.candidate = owner
    application.save(update_fields=["candidate"])
    ready_to_publish(setup, written_start=timezone.now() - timedelta(minutes=10))
    exam_day.publish_candidate_numbers(campaign=setup.campaign, by=hr_officer)
    return setup


def test_the_candidate_downloads_the_admission_notice(page: Page, live_server, published) -> None:
    base = live_server.url
    application = published.applications[0]
    sign_in(page, base, "maianh@example.vn")
    page.goto(f"{base}{reverse('candidate_exam')}")
    expect(page.get_by_test_id("candidate-number")).to_have_text("QN0001")
    with page.expect_download() as download_info:
        page.locator(f"a[href='{reverse('admission_notice_download', args=[application.public_id])}']").click()
    download = download_info.value
    assert download.suggested_filename == "giay-bao-du-thi-QN0001.pdf"
    text = PdfReader(io.BytesIO(download.path().read_bytes())).pages[0].extract_text()
    assert "QN0001" in text and "Nguyễn Thị Mai Anh" in text and "Phòng 201" in text


def test_a_room_officer_marks_attendance_on_a_phone_one_tap_each(browser, live_server, published, make_user) -> None:
    base = live_server.url
    officer = make_user("coithi@example.vn", Role.EXAMINER, full_name="Lý Thị Coi", mfa_secret=generate_totp_secret())
    session_room = staffed_room(published.sessions[0], officer, by=published.hr)
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh", has_touch=True
    )
    phone = context.new_page()
    sign_in_staff(phone, base, officer)
    phone.goto(f"{base}{reverse('staff_rooms')}")
    phone.locator(f"a[href='{reverse('room_attendance', args=[session_room.pk])}']").click()

    rows = phone.get_by_test_id("attendance-row")
    expect(rows).to_have_count(3)
    taps = {"QN0001": "present", "QN0002": "present", "QN0003": "absent"}
    phone.evaluate("window.sameDocument = true")  # gone if a tap reloaded the page
    for number, status in taps.items():
        row = phone.locator(f"[data-testid=attendance-row][data-number='{number}']")
        button = row.get_by_test_id(f"mark-{status}")
        box = button.bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44  # a thumb-sized target
        button.tap()
        expect(row.get_by_test_id("recorded")).to_be_visible()
        expect(row.get_by_test_id("mark-present")).to_have_count(0)  # swapped in place: one tap, done

    recorded = {
        seat.application.candidate_number.number: seat.application.attendance.get().status
        for seat in Seat.objects.filter(session=session_room.session).select_related("application__candidate_number")
    }
    assert recorded == taps
    assert phone.evaluate("window.sameDocument === true")  # each row was swapped by htmx
    assert set(Attendance.objects.values_list("recorded_by", flat=True)) == {officer.pk}
    # Nothing wider than the phone: no sideways scrolling.
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    context.close()
