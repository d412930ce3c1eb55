"""The exam-day demo: complete, and the same after a second run."""

from __future__ import annotations

import pytest

from accounts.roles import Role
from audit.models import AuditEvent
from exams.exam_day_demo import seed_exam_day
from exams.models import Attendance, CandidateNumber, ExamSession, Incident, Room, Seat, SessionRoom, Venue
from tests.conftest import run_queued_tasks
from tests.exams.test_exam_day_builders import build_exam_day

pytestmark = pytest.mark.django_db


def state() -> dict[str, list]:
    return {
        "venues": list(Venue.objects.values_list("name", "address")),
        "rooms": list(Room.objects.values_list("venue__name", "name", "capacity")),
        "sessions": list(ExamSession.objects.values_list("part_code", "starts_at", "duration_minutes")),
        "staff": sorted(SessionRoom.objects.values_list("pk", "staff__email")),
        "numbers": list(CandidateNumber.objects.values_list("application_id", "number", "assigned_at")),
        "seats": sorted(Seat.objects.values_list("session_id", "application_id", "room_id", "seat")),
        "attendance": sorted(Attendance.objects.values_list("application_id", "status", "recorded_at")),
        "incidents": list(Incident.objects.values_list("kind", "application_id", "reason")),
        "audit": [AuditEvent.objects.count()],
    }


def test_the_demo_exam_day_is_complete_and_idempotent(make_post, make_user, hr_officer, chair, mailoutbox) -> None:
    names = ["Trần Thị An", "Phạm Đức Anh", "Lê Văn Ánh", "Nguyễn Văn Bình", "Vũ Thị Dung", "Hoàng Văn Đức"]
    setup = build_exam_day(make_post, hr_officer, chair, posts={"Phó Giám đốc Sở Y tế": names})
    staff = [
        make_user("giamsat@example.vn", Role.SUPERVISOR, full_name="Đặng Văn Giám"),
        make_user("coithi@example.vn", Role.EXAMINER, full_name="Lý Thị Coi"),
    ]
    seed_exam_day(campaign=setup.campaign, hr=hr_officer, staff_users=staff)
    first = state()
    seed_exam_day(campaign=setup.campaign, hr=hr_officer, staff_users=staff)
    assert state() == first

    assert [name for _venue, name, _capacity in first["rooms"]][-2:] == ["Phòng 201", "Phòng 202"]
    assert [part for part, _start, _minutes in first["sessions"]] == ["written", "oral"]
    assert len(first["numbers"]) == 6 and len(first["seats"]) == 12
    assert sorted(status for _a, status, _at in first["attendance"]) == ["absent", "excused"] + ["present"] * 4
    assert [kind for kind, _a, _reason in first["incidents"]] == ["late"]
    setup.campaign.refresh_from_db()
    assert setup.campaign.numbers_published_at is not None
    run_queued_tasks()
    assert len(mailoutbox) == 6  # one admission notice each, once
