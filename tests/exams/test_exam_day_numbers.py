"""Candidate numbers (số báo danh) and seats: order, stability, capacity, publication and four-eyes renumbering."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import record
from candidates.models import Application
from config.errors import Refused
from exams import exam_day
from exams.models import Campaign, CandidateNumber, RenumberRequest, Seat
from tests.conftest import run_queued_tasks
from tests.exams.test_exam_day_builders import build_exam_day, eligible, ready_to_publish, schedule
from tests.locking import hold_then_act

pytestmark = pytest.mark.django_db


def numbers_and_names(campaign) -> list[tuple[str, str, str]]:
    rows = CandidateNumber.objects.filter(campaign=campaign).select_related("application__post").order_by("number")
    return [(row.number, row.application.post.title, row.application.display_name) for row in rows]


def test_numbers_follow_the_post_title_then_the_vietnamese_given_name(make_post, hr_officer, chair) -> None:
    # Posts and candidates are created out of order: neither ids nor code points may decide.
    setup = build_exam_day(
        make_post,
        hr_officer,
        chair,
        posts={
            "Trưởng phòng Nội vụ": ["Vũ Thị Dung", "Hoàng Văn Đức"],
            "Phó Giám đốc Sở Y tế": ["Lê Văn Ánh", "Nguyễn Văn Bình", "Phạm Đức Anh", "Trần Thị An"],
            "Giám đốc Trung tâm Y tế": ["Đỗ Văn Ý"],
        },
        capacities=(10,),
    )
    schedule(setup)
    exam_day.assign_candidate_numbers(campaign=setup.campaign, by=hr_officer)
    assert numbers_and_names(setup.campaign) == [
        ("QN0001", "Giám đốc Trung tâm Y tế", "Đỗ Văn Ý"),
        ("QN0002", "Phó Giám đốc Sở Y tế", "Trần Thị An"),
        ("QN0003", "Phó Giám đốc Sở Y tế", "Phạm Đức Anh"),
        ("QN0004", "Phó Giám đốc Sở Y tế", "Lê Văn Ánh"),  # the tone only breaks the tie of letters
        ("QN0005", "Phó Giám đốc Sở Y tế", "Nguyễn Văn Bình"),
        ("QN0006", "Trưởng phòng Nội vụ", "Vũ Thị Dung"),  # d comes before đ
        ("QN0007", "Trưởng phòng Nội vụ", "Hoàng Văn Đức"),
    ]


def test_identical_names_are_ordered_by_public_id(make_post, hr_officer, chair) -> None:
    setup = build_exam_day(make_post, hr_officer, chair, posts={"Phó Giám đốc Sở Y tế": ["Trần Thị An"] * 3})
    schedule(setup)
    exam_day.assign_candidate_numbers(campaign=setup.campaign, by=hr_officer)
    by_number = CandidateNumber.objects.filter(campaign=setup.campaign).order_by("number")
    public_ids = [str(row.application.public_id) for row in by_number]
    assert public_ids == sorted(public_ids)


def test_rerunning_the_assignment_changes_nothing(make_post, hr_officer, chair) -> None:
    setup = build_exam_day(make_post, hr_officer, chair)
    schedule(setup)
    exam_day.assign_candidate_numbers(campaign=setup.campaign, by=hr_officer)
    numbers = list(CandidateNumber.objects.values_list("pk", "application_id", "number", "assigned_at"))
    seats = list(Seat.objects.values_list("pk", "application_id", "room_id", "seat"))
    events = AuditEvent.objects.count()

    exam_day.assign_candidate_numbers(campaign=setup.campaign, by=hr_officer)

    assert list(CandidateNumber.objects.values_list("pk", "application_id", "number", "assigned_at")) == numbers
    assert list(Seat.objects.values_list("pk", "application_id", "room_id", "seat")) == seats
    assert AuditEvent.objects.count() == events


def test_the_assignment_is_audited(make_post, hr_officer, chair) -> None:
    setup = build_exam_day(make_post, hr_officer, chair)
    schedule(setup)
    exam_day.assign_candidate_numbers(campaign=setup.campaign, by=hr_officer)
    event = AuditEvent.objects.filter(action="numbers.assign").get()
    assert event.actor_id == hr_officer.pk and event.campaign_id == setup.campaign.pk
    assert event.after["count"] == 3 and event.after["prefix"] == "QN" and len(event.after["sha256"]) == 64


def test_numbers_wait_for_every_eligible_list_to_be_published(make_post, hr_officer, chair) -> None:
    setup = build_exam_day(make_post, hr_officer, chair, publish=False)
    with pytest.raises(Refused) as refused:
        exam_day.assign_candidate_numbers(campaign=setup.campaign, by=hr_officer)
    assert refused.value.code == "lists_not_published"
    assert not CandidateNumber.objects.exists()


def test_seats_fill_the_rooms_in_number_order_never_over_capacity(make_post, hr_officer, chair) -> None:
    names = ["Trần Thị An", "Phạm Đức Anh", "Lê Văn Ánh", "Nguyễn Văn Bình", "Vũ Thị Dung"]
    setup = build_exam_day(make_post, hr_officer, chair, posts={"Phó Giám đốc Sở Y tế": names}, capacities=(2, 3))
    schedule(setup)
    exam_day.assign_candidate_numbers(campaign=setup.campaign, by=hr_officer)
    seats = Seat.objects.select_related("room", "application__candidate_number").order_by(
        "application__candidate_number__number"
    )
    assert [(s.application.candidate_number.number, s.room.name, s.seat) for s in seats] == [
        ("QN0001", "Phòng 201", 1),
        ("QN0002", "Phòng 201", 2),
        ("QN0003", "Phòng 202", 1),
        ("QN0004", "Phòng 202", 2),
        ("QN0005", "Phòng 202", 3),
    ]


def test_an_assignment_that_would_overfill_the_rooms_is_refused(make_post, hr_officer, chair) -> None:
    setup = build_exam_day(make_post, hr_officer, chair, capacities=(3,))
    schedule(setup)
    eligible(setup.posts[0], "Đinh Văn Thêm", hr_officer)  # a late decision: four candidates, three seats
    with pytest.raises(Refused) as refused:
        exam_day.assign_candidate_numbers(campaign=setup.campaign, by=hr_officer)
    assert refused.value.code == "over_capacity"
    assert not CandidateNumber.objects.exists() and not Seat.objects.exists()


def test_the_prefix_comes_from_the_authority(make_post, hr_officer, chair) -> None:
    setup = build_exam_day(make_post, hr_officer, chair)
    assert exam_day.number_prefix(setup.campaign) == "QN"
    setup.campaign.authority.name = "Sở Y tế"
    assert exam_day.number_prefix(setup.campaign) == "YT"
    assert exam_day.format_number("QN", 7, 12000) == "QN00007"


# --- Publication and renumbering --------------------------------------------------------------


def test_publishing_emails_each_candidate_their_admission_notice(make_post, hr_officer, chair, mailoutbox) -> None:
    setup = build_exam_day(make_post, hr_officer, chair)
    ready_to_publish(setup)
    mailoutbox.clear()
    assert exam_day.publish_candidate_numbers(campaign=setup.campaign, by=hr_officer) == 3
    assert mailoutbox == []  # rendered and sent by the task queue, not in the request
    assert run_queued_tasks() == 1
    assert sorted(m.to[0] for m in mailoutbox) == sorted(a.candidate.email for a in setup.applications)
    for message in mailoutbox:
        [(filename, content, mimetype)] = message.attachments
        assert filename.startswith("giay-bao-du-thi-QN") and mimetype == "application/pdf"
        assert content.startswith(b"%PDF")


def test_publishing_needs_a_session_of_every_part_for_every_post(make_post, hr_officer, chair) -> None:
    setup = build_exam_day(make_post, hr_officer, chair)
    schedule(setup, part="written")
    exam_day.assign_candidate_numbers(campaign=setup.campaign, by=hr_officer)
    with pytest.raises(Refused) as refused:
        exam_day.publish_candidate_numbers(campaign=setup.campaign, by=hr_officer)
    assert refused.value.code == "no_session"
    setup.campaign.refresh_from_db()
    assert setup.campaign.numbers_published_at is None


@pytest.fixture
def published(make_post, hr_officer, chair):
    setup = build_exam_day(make_post, hr_officer, chair)
    ready_to_publish(setup)
    exam_day.publish_candidate_numbers(campaign=setup.campaign, by=hr_officer)
    run_queued_tasks()  # the admission notices
    setup.campaign.refresh_from_db()
    return setup


def rename(application: Application, name: str) -> None:
    application.profile_snapshot = {**application.profile_snapshot, "full_name": name}
    application.save(update_fields=["profile_snapshot"])


def test_after_publication_renumbering_is_refused_without_an_approved_request(published, hr_officer) -> None:
    before = numbers_and_names(published.campaign)
    rename(published.applications[2], "Lê Văn Ái")  # a corrected name would move this candidate first
    with pytest.raises(Refused) as refused:
        exam_day.assign_candidate_numbers(campaign=published.campaign, by=hr_officer)
    assert refused.value.code == "published"
    exam_day.request_renumbering(campaign=published.campaign, reason="Sửa họ tên thí sinh.", by=hr_officer)
    with pytest.raises(Refused):
        exam_day.assign_candidate_numbers(campaign=published.campaign, by=hr_officer)  # requested, not approved
    assert [row[0] for row in numbers_and_names(published.campaign)] == [row[0] for row in before]
    assert CandidateNumber.objects.get(application=published.applications[2]).number == "QN0003"


def test_the_requester_cannot_approve_their_own_renumbering(published, hr_officer) -> None:
    request = exam_day.request_renumbering(campaign=published.campaign, reason="Sửa họ tên.", by=hr_officer)
    with pytest.raises(Refused) as refused:
        exam_day.approve_renumbering(renumber=request, by=hr_officer)
    assert refused.value.code == "self_approval"
    request.refresh_from_db()
    assert request.approved_by is None and request.applied_at is None


def test_an_examiner_cannot_approve_renumbering(published, hr_officer, examiner) -> None:
    request = exam_day.request_renumbering(campaign=published.campaign, reason="Sửa họ tên.", by=hr_officer)
    with pytest.raises(Refused) as refused:
        exam_day.approve_renumbering(renumber=request, by=examiner)
    assert refused.value.code == "not_allowed"


def test_renumbering_needs_a_reason(published, hr_officer) -> None:
    with pytest.raises(Refused) as refused:
        exam_day.request_renumbering(campaign=published.campaign, reason="  ", by=hr_officer)
    assert refused.value.code == "reason_required"
    assert not RenumberRequest.objects.exists()


def test_the_chair_approves_renumbering_and_changed_candidates_get_a_new_notice(
    published, hr_officer, chair, mailoutbox
) -> None:
    moved = published.applications[2]  # Lê Văn Cường, QN0003
    rename(moved, "Lê Văn Ái")
    request = exam_day.request_renumbering(campaign=published.campaign, reason="Sửa họ tên thí sinh.", by=hr_officer)
    mailoutbox.clear()
    exam_day.approve_renumbering(renumber=request, by=chair)
    request.refresh_from_db()
    assert request.approved_by == chair and request.applied_at is not None
    assert CandidateNumber.objects.get(application=moved).number == "QN0001"
    # Everyone moved one place: each gets the new notice, told their session changed.
    run_queued_tasks()
    assert len(mailoutbox) == 3
    assert all("thay đổi" in m.subject and m.attachments for m in mailoutbox)  # "changed", in Vietnamese
    assert AuditEvent.objects.filter(action="renumber.approve", actor_id=chair.pk).exists()


def test_renumbering_is_refused_once_attendance_is_recorded(published, hr_officer, chair, make_user) -> None:
    from exams.models import Attendance

    session = published.sessions[0]
    Attendance.objects.create(
        session=session, application=published.applications[0], status="present", recorded_by=hr_officer
    )
    request = exam_day.request_renumbering(campaign=published.campaign, reason="Sửa họ tên.", by=hr_officer)
    with pytest.raises(Refused) as refused:
        exam_day.approve_renumbering(renumber=request, by=chair)
    assert refused.value.code == "started"
    request.refresh_from_db()
    assert request.approved_by is None


def test_a_session_change_after_publication_resends_the_notices(published, hr_officer, mailoutbox) -> None:
    written = published.sessions[0]
    mailoutbox.clear()
    written.starts_at = written.starts_at + timedelta(hours=1)
    exam_day.save_session(session=written, rooms=published.rooms, posts=published.posts, by=hr_officer)
    run_queued_tasks()
    assert len(mailoutbox) == 3
    assert all("thay đổi" in m.subject for m in mailoutbox)


def test_saving_a_session_unchanged_sends_nothing(published, hr_officer, mailoutbox) -> None:
    mailoutbox.clear()
    written = published.sessions[0]
    exam_day.save_session(session=written, rooms=published.rooms, posts=published.posts, by=hr_officer)
    assert run_queued_tasks() == 0
    assert mailoutbox == []


def test_moving_a_session_to_other_rooms_reseats_and_notifies(published, hr_officer, mailoutbox) -> None:
    extra = exam_day.create_room(venue=published.venue, name="Phòng 301", capacity=5, by=hr_officer)
    mailoutbox.clear()
    written = published.sessions[0]
    exam_day.save_session(session=written, rooms=[extra], posts=published.posts, by=hr_officer)
    assert set(Seat.objects.filter(session=written).values_list("room__name", flat=True)) == {"Phòng 301"}
    run_queued_tasks()
    assert len(mailoutbox) == 3
    assert timezone.now() < written.starts_at


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="locking needs PostgreSQL (DATABASE_URL)")
def test_approving_a_renumbering_while_another_is_requested_never_deadlocks(published, hr_officer, chair) -> None:
    """A request locks the campaign and then wants the audit chain's head; the approval must take the
    campaign before the head, or each would wait for the other."""
    setup = published
    request = exam_day.request_renumbering(campaign=setup.campaign, reason="Sửa họ tên.", by=hr_officer)
    outcomes = hold_then_act(
        hold=lambda: Campaign.objects.select_for_update().get(pk=setup.campaign.pk),  # a second request
        then=lambda: record(actor=hr_officer, action="test.hold", obj=setup.campaign),
        act=lambda: exam_day.approve_renumbering(renumber=request, by=chair),
    )
    assert outcomes == {"holder": "ok", "actor": "ok"}
    request.refresh_from_db()
    assert request.approved_by == chair and request.applied_at is not None
