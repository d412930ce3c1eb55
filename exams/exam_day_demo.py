"""Demo exam day (idempotent): a venue in Tam Kỳ, a written session two days ago with its attendance,
an oral session next week, candidate numbers and seats, published (notices are e-mailed through the queue).

Runs through the real services, so the audit trail shows the demo as it would show real work. A second
run finds everything in place and changes nothing: existing sessions are kept as they are.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, time, timedelta

from django.utils import timezone

from accounts.models import User
from config.errors import Refused
from exams import exam_day
from exams.models import Attendance, Campaign, CandidateNumber, ExamSession, Incident, Room, Seat, Venue
from exams.services import current_rules

VENUE = "Trường Chính trị tỉnh Quảng Nam"
ADDRESS = "Tam Kỳ, Quảng Nam"
ROOMS = ("Phòng 201", "Phòng 202")


def _rooms(*, seats_needed: int, hr: User) -> list[Room]:
    venue = Venue.objects.filter(name=VENUE).first() or exam_day.create_venue(name=VENUE, address=ADDRESS, by=hr)
    capacity = max(20, math.ceil(seats_needed / len(ROOMS)))
    return [
        Room.objects.filter(venue=venue, name=name).first()
        or exam_day.create_room(venue=venue, name=name, capacity=capacity, by=hr)
        for name in ROOMS
    ]


def _session(
    *, campaign: Campaign, part_code: str, starts_at: datetime, minutes: int, rooms: list[Room], hr: User
) -> ExamSession:
    existing = campaign.sessions.filter(part_code=part_code).first()
    if existing is not None:
        return existing
    session = ExamSession(campaign=campaign, part_code=part_code, starts_at=starts_at, duration_minutes=minutes)
    return exam_day.save_session(session=session, rooms=rooms, posts=list(campaign.posts.all()), by=hr)


def _staff(session: ExamSession, staff_users: Sequence[User], hr: User) -> None:
    """Two invigilators a room when there are enough, never a blind marker of the part."""
    session_rooms = exam_day.ordered_session_rooms(session)
    if all(sr.staff.exists() for sr in session_rooms):
        return
    allowed = [u for u in staff_users if u.has_role(*exam_day.ROOM_STAFF_ROLES)]
    allowed = [u for u in allowed if u.pk not in exam_day.blind_markers(session)] or [hr]
    for index, session_room in enumerate(session_rooms):
        team = [allowed[(2 * index + k) % len(allowed)] for k in range(min(2, len(allowed)))]
        exam_day.set_room_staff(session_room=session_room, staff=list(dict.fromkeys(team)), by=hr)


def _attendance(session: ExamSession) -> None:
    """Mostly present; the last number absent, the one before excused; the first arrived late."""
    seats = list(
        Seat.objects.filter(session=session)
        .select_related("application__candidate_number")
        .order_by("application__candidate_number__number")
    )
    done = set(Attendance.objects.filter(session=session).values_list("application_id", flat=True))
    rooms = {sr.room_id: sr for sr in session.session_rooms.prefetch_related("staff")}
    for index, seat in enumerate(seats):
        if seat.application_id in done:
            continue
        status = Attendance.Status.PRESENT
        if len(seats) >= 4 and index == len(seats) - 1:
            status = Attendance.Status.ABSENT
        elif len(seats) >= 4 and index == len(seats) - 2:
            status = Attendance.Status.EXCUSED
        session_room = rooms[seat.room_id]
        exam_day.record_attendance(
            session_room=session_room, application=seat.application, status=status, by=session_room.staff.all()[0]
        )
    if seats and not Incident.objects.filter(session=session).exists():
        first = seats[0]
        session_room = rooms[first.room_id]
        exam_day.record_incident(
            session_room=session_room,
            application=first.application,
            kind=Incident.Kind.LATE,
            reason="Thí sinh đến muộn 10 phút do tắc đường; đã cho vào phòng thi trước khi tính giờ làm bài 15 phút.",
            measure="Ghi biên bản, không cộng thêm thời gian làm bài.",
            by=session_room.staff.all()[0],
        )


def seed_exam_day(
    *, campaign: Campaign, hr: User, staff_users: Sequence[User], written_in_days: int = -2, oral_in_days: int = 5
) -> None:
    """For a campaign whose rules are approved and whose eligible lists are all published.

    The days (relative to today) let several demo campaigns share the venue without overlapping.
    """
    rules = current_rules(campaign)
    if rules is None:
        raise Refused("seed_exam_day needs a campaign with approved exam rules.")
    parts = list(rules.parts.all())
    eligible = sum(post.applications.filter(status="eligible").count() for post in campaign.posts.all())
    rooms = _rooms(seats_needed=eligible, hr=hr)
    today = timezone.localdate()
    written_at = datetime.combine(today + timedelta(days=written_in_days), time(7, 30), tzinfo=exam_day.VIETNAM)
    sessions = [
        _session(campaign=campaign, part_code=parts[0].code, starts_at=written_at, minutes=180, rooms=rooms, hr=hr)
    ]
    if len(parts) > 1:
        oral_at = datetime.combine(today + timedelta(days=oral_in_days), time(7, 30), tzinfo=exam_day.VIETNAM)
        sessions.append(
            _session(campaign=campaign, part_code=parts[1].code, starts_at=oral_at, minutes=240, rooms=rooms, hr=hr)
        )
    for session in sessions:
        _staff(session, staff_users, hr)
    if not CandidateNumber.objects.filter(campaign=campaign).exists():
        exam_day.assign_candidate_numbers(campaign=campaign, by=hr)
    campaign.refresh_from_db()
    if campaign.numbers_published_at is None:
        exam_day.publish_candidate_numbers(campaign=campaign, by=hr)
    if exam_day.session_has_started(sessions[0]):
        _attendance(sessions[0])
