"""Attendance and incidents: recorded by the room's own staff, once, after the start; read by supervisors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from config.errors import Refused
from exams import exam_day
from exams.models import Attendance, Incident, Seat
from tests.conftest import client_for
from tests.exams.test_exam_day_builders import build_exam_day, ready_to_publish, staffed_room

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def room(make_post, hr_officer, chair, examiner):
    """The written session started 10 minutes ago; the examiner invigilates its first room."""
    setup = build_exam_day(make_post, hr_officer, chair, capacities=(3,))
    ready_to_publish(setup, written_start=timezone.now() - timedelta(minutes=10))
    return staffed_room(setup.sessions[0], examiner, by=hr_officer)


def seat_in(session_room, index: int = 0) -> Seat:
    return Seat.objects.filter(session=session_room.session, room=session_room.room).order_by("seat")[index]


def test_room_staff_record_attendance_with_the_time_and_an_audit_event(room, examiner) -> None:
    seat = seat_in(room)
    attendance = exam_day.record_attendance(
        session_room=room, application=seat.application, status="present", by=examiner
    )
    assert attendance.status == Attendance.Status.PRESENT and attendance.recorded_by == examiner
    assert timezone.now() - attendance.recorded_at < timedelta(minutes=1)
    event = AuditEvent.objects.get(action="attendance.record")
    assert event.actor_id == examiner.pk and event.after["status"] == "present"


def test_attendance_is_refused_for_someone_not_on_the_room_staff(room, supervisor) -> None:
    seat = seat_in(room)
    with pytest.raises(Refused) as refused:
        exam_day.record_attendance(session_room=room, application=seat.application, status="present", by=supervisor)
    assert refused.value.code == "not_staff"
    assert not Attendance.objects.exists()


def test_the_room_page_is_forbidden_to_someone_not_on_its_staff(room, supervisor) -> None:
    seat = seat_in(room)
    client = client_for(supervisor)
    assert client.get(reverse("room_attendance", args=[room.pk])).status_code == 403
    response = client.post(reverse("room_attendance_record", args=[room.pk, seat.pk]), {"status": "present"})
    assert response.status_code == 403
    assert not Attendance.objects.exists()


def test_attendance_is_refused_before_the_session_starts(room, examiner) -> None:
    session = room.session
    session.starts_at = timezone.now() + timedelta(hours=1)
    session.save(update_fields=["starts_at"])
    with pytest.raises(Refused) as refused:
        exam_day.record_attendance(
            session_room=room, application=seat_in(room).application, status="present", by=examiner
        )
    assert refused.value.code == "not_started"
    assert "has not started" in str(refused.value.message)
    assert not Attendance.objects.exists()


def test_a_second_recording_is_refused_and_the_first_kept(room, examiner) -> None:
    application = seat_in(room).application
    exam_day.record_attendance(session_room=room, application=application, status="absent", by=examiner)
    with pytest.raises(Refused) as refused:
        exam_day.record_attendance(session_room=room, application=application, status="present", by=examiner)
    assert refused.value.code == "already_recorded"
    assert "cannot be recorded twice" in str(refused.value.message)
    assert list(Attendance.objects.values_list("status", flat=True)) == ["absent"]


def test_a_candidate_seated_in_another_room_cannot_be_recorded_here(make_post, hr_officer, chair, examiner) -> None:
    setup = build_exam_day(make_post, hr_officer, chair, capacities=(2, 2))
    ready_to_publish(setup, written_start=timezone.now() - timedelta(minutes=10))
    first_room = staffed_room(setup.sessions[0], examiner, by=hr_officer)
    elsewhere = Seat.objects.filter(session=setup.sessions[0]).exclude(room=first_room.room).get()
    with pytest.raises(Refused) as refused:
        exam_day.record_attendance(
            session_room=first_room, application=elsewhere.application, status="present", by=examiner
        )
    assert refused.value.code == "not_seated"
    for headers in ({"HTTP_HX_REQUEST": "true"}, {}):  # through the page too: that seat is not found here
        response = client_for(examiner).post(
            reverse("room_attendance_record", args=[first_room.pk, elsewhere.pk]), {"status": "present"}, **headers
        )
        assert response.status_code == 404
    assert not Attendance.objects.exists()


def test_one_tap_with_htmx_swaps_the_row(room, examiner) -> None:
    seat = seat_in(room)
    response = client_for(examiner).post(
        reverse("room_attendance_record", args=[room.pk, seat.pk]), {"status": "present"}, HTTP_HX_REQUEST="true", **EN
    )
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith(f'<li id="seat-{seat.pk}"')
    assert "Present" in html and "recorded at" in html and "mark-present" not in html
    assert Attendance.objects.get().status == "present"


def test_without_javascript_the_tap_redirects_back_to_the_row(room, examiner) -> None:
    seat = seat_in(room)
    client = client_for(examiner)
    response = client.post(reverse("room_attendance_record", args=[room.pk, seat.pk]), {"status": "excused"})
    assert response["Location"] == f"{reverse('room_attendance', args=[room.pk])}#seat-{seat.pk}"
    again = client.post(
        reverse("room_attendance_record", args=[room.pk, seat.pk]), {"status": "present"}, follow=True, **EN
    )
    assert "cannot be recorded twice" in again.content.decode()
    assert Attendance.objects.get().status == "excused"


def test_the_htmx_row_says_why_a_second_tap_is_refused(room, examiner) -> None:
    seat = seat_in(room)
    client = client_for(examiner)
    url = reverse("room_attendance_record", args=[room.pk, seat.pk])
    client.post(url, {"status": "present"}, HTTP_HX_REQUEST="true")
    html = client.post(url, {"status": "absent"}, HTTP_HX_REQUEST="true", **EN).content.decode()
    assert 'role="alert"' in html and "cannot be recorded twice" in html


def test_the_room_page_lists_candidates_by_seat_with_big_buttons(room, examiner) -> None:
    page = client_for(examiner).get(reverse("room_attendance", args=[room.pk]), **EN).content.decode()
    assert page.count('data-testid="attendance-row"') == 3
    assert page.index('data-number="QN0001"') < page.index('data-number="QN0002"') < page.index('data-number="QN0003"')
    assert "min-height: 48px" in page


# --- Incidents and the supervisor's page ---------------------------------------------------------


def test_a_breach_needs_the_measure_taken(room, examiner) -> None:
    with pytest.raises(Refused) as refused:
        exam_day.record_incident(
            session_room=room,
            application=seat_in(room).application,
            kind="breach",
            reason="Mang điện thoại vào phòng thi.",
            measure="",
            by=examiner,
        )
    assert refused.value.code == "measure_required"
    assert not Incident.objects.exists()


def test_incidents_are_recorded_and_the_supervisor_reads_them(room, examiner, supervisor) -> None:
    seat = seat_in(room, 1)
    exam_day.record_attendance(session_room=room, application=seat_in(room).application, status="present", by=examiner)
    response = client_for(examiner).post(
        reverse("room_incident_record", args=[room.pk]),
        {"application": seat.application_id, "kind": "late", "reason": "Đến muộn 10 phút do tắc đường.", "measure": ""},
    )
    assert response.status_code == 302
    incident = Incident.objects.get()
    assert incident.kind == "late" and incident.application_id == seat.application_id
    assert AuditEvent.objects.filter(action="incident.record").exists()
    page = client_for(supervisor).get(reverse("supervision_session", args=[room.session_id]), **EN).content.decode()
    assert "Đến muộn 10 phút do tắc đường." in page and "Late arrival" in page
    assert "Present" in page and "Not recorded" in page
    overview = client_for(supervisor).get(reverse("supervision_sessions"), **EN).content.decode()
    assert reverse("supervision_session", args=[room.session_id]) in overview


def test_the_supervision_pages_are_read_only_and_for_supervisors(room, hr_officer, examiner, supervisor) -> None:
    url = reverse("supervision_session", args=[room.session_id])
    assert client_for(examiner).get(url).status_code == 403
    assert client_for(hr_officer).get(url).status_code == 403
    page = client_for(supervisor).get(url).content.decode()
    assert "<form" not in page.split('id="main"', 1)[1]


def test_only_candidates_recorded_present_get_a_written_script(room, examiner, hr_officer) -> None:
    from exams import services as exam_services
    from exams.models import Panel
    from scoring.services import create_scripts

    seats = list(Seat.objects.filter(session=room.session, room=room.room).order_by("seat"))
    for seat, status in zip(seats, ["present", "absent", "excused"], strict=True):
        exam_day.record_attendance(session_room=room, application=seat.application, status=status, by=examiner)
    panel = Panel.objects.create(campaign=room.session.campaign, part_code="written", name="Ban chấm thi viết")
    exam_services.assign_to_panel(panel=panel, applications=[seat.application for seat in seats], by=hr_officer)
    scripts = create_scripts(campaign=room.session.campaign, part_code="written", by=hr_officer)
    assert [script.application_id for script in scripts] == [seats[0].application_id]
