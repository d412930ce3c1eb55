"""HR's exam-day pages, end to end through the test client: venues, rooms, staff, numbers, renumbering."""

from __future__ import annotations

import pytest
from django.urls import reverse

from exams import exam_day
from exams.models import CandidateNumber, RenumberRequest, Room, Venue
from tests.conftest import client_for
from tests.exams.test_exam_day_builders import build_exam_day, ready_to_publish

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def setup(make_post, hr_officer, chair):
    setup = build_exam_day(make_post, hr_officer, chair)
    ready_to_publish(setup)
    return setup


def test_hr_adds_a_venue_and_a_room(setup, hr_officer) -> None:
    client = client_for(hr_officer)
    client.post(reverse("exam_day_venue_create", args=[setup.campaign.pk]), {"name": "Hội trường UBND tỉnh"})
    venue = Venue.objects.get(name="Hội trường UBND tỉnh")
    url = reverse("exam_day_room_create", args=[setup.campaign.pk])
    client.post(url, {"venue": venue.pk, "name": "Phòng họp số 1", "capacity": "25"})
    assert Room.objects.get(venue=venue).capacity == 25
    page = client.post(url, {"venue": venue.pk, "name": "Phòng họp số 1", "capacity": "5"}, follow=True, **EN)
    assert "This venue already has a room with this name." in page.content.decode()
    assert Room.objects.filter(venue=venue).count() == 1


def test_the_hr_pages_show_sessions_rooms_staff_and_lists(setup, hr_officer, supervisor) -> None:
    client = client_for(hr_officer)
    written = setup.sessions[0]
    session_room = exam_day.ordered_session_rooms(written)[0]
    staff_field = f"room-{session_room.pk}-staff"
    client.post(reverse("exam_day_room_staff", args=[session_room.pk]), {staff_field: [supervisor.pk]})
    assert list(session_room.staff.all()) == [supervisor]
    page = client.get(reverse("exam_day_session", args=[written.pk]), **EN).content.decode()
    assert reverse("exam_day_room_sheet", args=[session_room.pk, "sign-in", "pdf"]) in page
    assert "3 of 3 seats given." in page
    campaign_page = client.get(reverse("exam_day_campaign", args=[setup.campaign.pk]), **EN).content.decode()
    assert "Đặng Giám Sát" in campaign_page and "3 candidate numbers assigned." in campaign_page
    numbers = client.get(reverse("exam_day_numbers", args=[setup.campaign.pk]), **EN).content.decode()
    assert numbers.index("QN0001") < numbers.index("QN0002") < numbers.index("QN0003")
    assert setup.campaign.title in client.get(reverse("exam_day_index"), **EN).content.decode()


def test_renumbering_through_the_pages_needs_the_chair(setup, hr_officer, chair) -> None:
    hr = client_for(hr_officer)
    hr.post(reverse("exam_day_publish_numbers", args=[setup.campaign.pk]))
    hr.post(reverse("exam_day_renumber_request", args=[setup.campaign.pk]), {"reason": "Sửa họ tên thí sinh."})
    request = RenumberRequest.objects.get()
    page = hr.get(reverse("exam_day_renumber_requests"), **EN).content.decode()
    assert "Waiting for another person" in page
    assert reverse("exam_day_renumber_approve", args=[request.pk]) not in page
    refused = hr.post(reverse("exam_day_renumber_approve", args=[request.pk]), follow=True, **EN).content.decode()
    assert "must be approved by another person" in refused
    chair_client = client_for(chair)
    chair_page = chair_client.get(reverse("exam_day_renumber_requests"), **EN).content.decode()
    assert reverse("exam_day_renumber_approve", args=[request.pk]) in chair_page
    chair_client.post(reverse("exam_day_renumber_approve", args=[request.pk]))
    request.refresh_from_db()
    assert request.approved_by == chair and request.applied_at is not None
    assert CandidateNumber.objects.count() == 3
