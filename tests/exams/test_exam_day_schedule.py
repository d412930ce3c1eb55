"""The schedule: sessions refused over capacity or clashing in time, room staff, HR's pages in Vietnam time."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from audit.models import AuditEvent
from config.errors import Refused
from exams import exam_day
from exams.models import CandidateNumber, ExamSession, Panel, PanelMember, SessionRoom
from tests.conftest import client_for
from tests.exams.test_exam_day_builders import add_post, build_exam_day, eligible, publish_lists, schedule

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
def setup(make_post, hr_officer, chair):
    return build_exam_day(make_post, hr_officer, chair, capacities=(2, 2))


def test_a_session_over_the_rooms_capacity_is_refused_and_nothing_saved(setup) -> None:
    with pytest.raises(Refused) as refused:
        schedule(setup, rooms=[setup.rooms[0]])  # 3 eligible candidates, 2 seats
    assert refused.value.code == "over_capacity"
    assert "3 eligible candidates" in str(refused.value.message) and "only 2" in str(refused.value.message)
    assert not ExamSession.objects.exists() and not SessionRoom.objects.exists()


def test_a_room_used_by_two_overlapping_sessions_is_refused(setup, hr_officer) -> None:
    start = timezone.now() + timedelta(days=10)
    schedule(setup, starts_at=start, rooms=setup.rooms)
    other_post = add_post(setup.campaign, "Trưởng phòng Nội vụ", setup.posts[0])
    eligible(other_post, "Vũ Thị Dung", hr_officer)
    with pytest.raises(Refused) as refused:
        schedule(setup, starts_at=start + timedelta(minutes=179), rooms=[setup.rooms[1]], posts=[other_post])
    assert refused.value.code == "room_overlap"
    assert "Phòng 202" in str(refused.value.message)
    assert ExamSession.objects.count() == 1


def test_back_to_back_sessions_in_the_same_room_are_accepted(setup, hr_officer) -> None:
    start = timezone.now() + timedelta(days=10)
    schedule(setup, starts_at=start, minutes=180)
    schedule(setup, part="oral", starts_at=start + timedelta(minutes=180), minutes=60)
    assert ExamSession.objects.count() == 2


def test_two_sessions_of_the_same_candidate_overlapping_are_refused(setup, hr_officer) -> None:
    # The same person is eligible for two posts, sitting in different rooms at overlapping times.
    other_post = add_post(setup.campaign, "Trưởng phòng Nội vụ", setup.posts[0])
    second = eligible(other_post, "Trần Thị An", hr_officer)
    second.candidate = setup.applications[0].candidate
    second.save(update_fields=["candidate"])
    start = timezone.now() + timedelta(days=10)
    schedule(setup, starts_at=start, rooms=setup.rooms)
    other_room = exam_day.create_room(venue=setup.venue, name="Phòng 301", capacity=5, by=hr_officer)
    with pytest.raises(Refused) as refused:
        schedule(setup, starts_at=start + timedelta(hours=2), rooms=[other_room], posts=[other_post])
    assert refused.value.code == "candidate_overlap"
    assert ExamSession.objects.count() == 1


def test_a_post_cannot_sit_the_same_part_twice(setup) -> None:
    schedule(setup)
    with pytest.raises(Refused) as refused:
        schedule(setup, starts_at=timezone.now() + timedelta(days=20))
    assert refused.value.code == "post_twice"


def test_sessions_are_audited(setup, hr_officer) -> None:
    session = schedule(setup)
    event = AuditEvent.objects.get(action="session.create")
    assert event.object_id == str(session.pk) and event.campaign_id == setup.campaign.pk
    assert event.after["duration_minutes"] == 180 and sorted(event.after["rooms"]) == [r.pk for r in setup.rooms]


def test_room_staff_must_have_a_staff_role(setup, hr_officer, candidate, supervisor) -> None:
    session = schedule(setup)
    session_room = exam_day.ordered_session_rooms(session)[0]
    with pytest.raises(Refused) as refused:
        exam_day.set_room_staff(session_room=session_room, staff=[supervisor, candidate], by=hr_officer)
    assert refused.value.code == "not_staff_role"
    assert not session_room.staff.exists()
    exam_day.set_room_staff(session_room=session_room, staff=[supervisor, hr_officer], by=hr_officer)
    assert set(session_room.staff.all()) == {supervisor, hr_officer}


def test_a_blind_marker_of_the_written_part_cannot_invigilate_it(setup, hr_officer, examiner) -> None:
    panel = Panel.objects.create(campaign=setup.campaign, part_code="written", name="Ban chấm thi viết")
    PanelMember.objects.create(panel=panel, user=examiner)
    written = schedule(setup)
    with pytest.raises(Refused) as refused:
        exam_day.set_room_staff(
            session_room=exam_day.ordered_session_rooms(written)[0], staff=[examiner], by=hr_officer
        )
    assert refused.value.code == "blind_marker"


# --- Pages ---------------------------------------------------------------------------------------


def test_hr_schedules_a_session_through_the_form_in_vietnam_time(setup, hr_officer, settings) -> None:
    settings.TIME_ZONE = "UTC"
    response = client_for(hr_officer).post(
        reverse("exam_day_session_create", args=[setup.campaign.pk]),
        {
            "part_code": "written",
            "starts_at": "2031-03-09T07:30",
            "duration_minutes": "180",
            "rooms": [room.pk for room in setup.rooms],
            "posts": [setup.posts[0].pk],
        },
        **EN,
    )
    session = ExamSession.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("exam_day_session", args=[session.pk])
    assert session.starts_at == datetime(2031, 3, 9, 7, 30, tzinfo=VIETNAM)
    page = client_for(hr_officer).get(reverse("exam_day_campaign", args=[setup.campaign.pk]), **EN).content.decode()
    assert "09/03/2031 07:30" in page and "09/03/2031 00:30" not in page


def test_the_form_shows_a_refusal_and_saves_nothing(setup, hr_officer) -> None:
    response = client_for(hr_officer).post(
        reverse("exam_day_session_create", args=[setup.campaign.pk]),
        {
            "part_code": "written",
            "starts_at": "2031-03-09T07:30",
            "duration_minutes": "180",
            "rooms": [setup.rooms[0].pk],
            "posts": [setup.posts[0].pk],
        },
        **EN,
    )
    assert response.status_code == 200
    assert "3 eligible candidates sit this session but its rooms seat only 2." in response.content.decode()
    assert not ExamSession.objects.exists()


def test_schedule_pages_are_for_hr_only(setup, examiner, candidate) -> None:
    for user in (examiner, candidate):
        assert client_for(user).get(reverse("exam_day_campaign", args=[setup.campaign.pk])).status_code == 403


def test_candidates_see_their_sessions_in_vietnam_time_before_numbers(setup, settings) -> None:
    settings.TIME_ZONE = "UTC"
    schedule(setup, starts_at=datetime(2031, 3, 9, 7, 30, tzinfo=VIETNAM))
    application = setup.applications[0]
    application.candidate.groups.add(*_candidate_group())
    page = client_for(application.candidate).get(reverse("candidate_exam"), **EN).content.decode()
    assert "09/03/2031 07:30" in page and "Thi viết" in page
    assert "QN0001" not in page  # no number before publication


def test_room_staff_see_their_rooms(setup, hr_officer, supervisor) -> None:
    session = schedule(setup)
    session_room = exam_day.ordered_session_rooms(session)[0]
    exam_day.set_room_staff(session_room=session_room, staff=[supervisor], by=hr_officer)
    page = client_for(supervisor).get(reverse("staff_rooms"), **EN).content.decode()
    assert reverse("room_attendance", args=[session_room.pk]) in page and "Phòng 201" in page


def test_closing_the_list_too_early_says_why_and_assigns_nothing(make_post, hr_officer, chair) -> None:
    setup = build_exam_day(make_post, hr_officer, chair, publish=False)
    schedule(setup)
    client = client_for(hr_officer)
    response = client.post(reverse("exam_day_assign_numbers", args=[setup.campaign.pk]), follow=True, **EN)
    assert "Publish the eligible list of every post first" in response.content.decode()
    assert not CandidateNumber.objects.exists()
    publish_lists(setup.posts, hr_officer)
    response = client.post(reverse("exam_day_assign_numbers", args=[setup.campaign.pk]), follow=True, **EN)
    assert "The eligible list is closed: 3 candidate numbers." in response.content.decode()


def _candidate_group():
    from django.contrib.auth.models import Group

    return [Group.objects.get_or_create(name=Role.CANDIDATE.value)[0]]


def test_one_person_eligible_for_two_posts_cannot_sit_both_in_one_session(setup, hr_officer) -> None:
    other_post = add_post(setup.campaign, "Trưởng phòng Nội vụ", setup.posts[0])
    second = eligible(other_post, "Trần Thị An", hr_officer)
    second.candidate = setup.applications[0].candidate
    second.save(update_fields=["candidate"])
    with pytest.raises(Refused) as refused:
        schedule(setup, posts=[*setup.posts, other_post])
    assert refused.value.code == "candidate_overlap"
    assert not ExamSession.objects.exists()
