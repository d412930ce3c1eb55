"""Builders shared by the exam-day tests (this module holds no test of its own).

A campaign with approved rules (written, then oral), posts whose eligible lists are published,
eligible candidates, a venue in Tam Kỳ with its rooms, built through the real services.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from accounts.models import User
from candidates.models import Application
from exams import exam_day
from exams import services as exam_services
from exams.models import Campaign, ExamSession, Post, Room, SessionRoom, Venue
from tests.candidates.builders import decided, submitted


@dataclass
class ExamDaySetup:
    campaign: Campaign
    hr: User
    chair: User
    posts: list[Post]
    applications: list[Application]
    venue: Venue
    rooms: list[Room]
    sessions: list[ExamSession] = field(default_factory=list)


def add_post(campaign: Campaign, title: str, like: Post) -> Post:
    return Post.objects.create(
        campaign=campaign,
        organisation=like.organisation,
        title=title,
        application_opens=like.application_opens,
        application_closes=like.application_closes,
        min_rating_years=None,
    )


def eligible(post: Post, name: str, hr: User, **fields: object) -> Application:
    return decided(submitted(post, name, **fields), eligible=True, by=hr)


def publish_lists(posts: Sequence[Post], hr: User) -> None:
    for post in posts:
        post.eligible_list_published_at, post.eligible_list_published_by = timezone.now(), hr
        post.save(update_fields=["eligible_list_published_at", "eligible_list_published_by"])


def build_exam_day(
    make_post,
    hr: User,
    chair: User,
    *,
    posts: dict[str, list[str]] | None = None,
    capacities: Sequence[int] = (3, 3),
    publish: bool = True,
) -> ExamDaySetup:
    """Posts (title → candidates' names, created in the given order) and rooms "Phòng 201", "Phòng 202"…"""
    posts = posts or {"Phó Giám đốc Sở Y tế": ["Trần Thị An", "Nguyễn Văn Bình", "Lê Văn Cường"]}
    titles = list(posts)
    first = make_post(title=titles[0], opens_in_days=-40, closes_in_days=-20)
    campaign = first.campaign
    rules = exam_services.create_rules_draft(campaign=campaign, by=hr)
    exam_services.approve_rules(rules=rules, by=chair)
    post_objects = [first] + [add_post(campaign, title, first) for title in titles[1:]]
    applications = [eligible(post, name, hr) for post in post_objects for name in posts[post.title]]
    if publish:
        publish_lists(post_objects, hr)
    venue = exam_day.create_venue(name="Trường Chính trị tỉnh Quảng Nam", address="Tam Kỳ, Quảng Nam", by=hr)
    rooms = [
        exam_day.create_room(venue=venue, name=f"Phòng {201 + index}", capacity=capacity, by=hr)
        for index, capacity in enumerate(capacities)
    ]
    return ExamDaySetup(campaign, hr, chair, post_objects, applications, venue, rooms)


def schedule(
    setup: ExamDaySetup,
    *,
    part: str = "written",
    starts_at: datetime | None = None,
    minutes: int = 180,
    rooms: Sequence[Room] | None = None,
    posts: Sequence[Post] | None = None,
) -> ExamSession:
    session = ExamSession(
        campaign=setup.campaign,
        part_code=part,
        starts_at=starts_at or timezone.now() + timedelta(days=10),
        duration_minutes=minutes,
    )
    session = exam_day.save_session(
        session=session, rooms=list(rooms or setup.rooms), posts=list(posts or setup.posts), by=setup.hr
    )
    setup.sessions.append(session)
    return session


def ready_to_publish(setup: ExamDaySetup, *, written_start: datetime | None = None) -> None:
    """A written and an oral session for every post, and the numbers assigned."""
    start = written_start or timezone.now() + timedelta(days=10)
    schedule(setup, part="written", starts_at=start)
    schedule(setup, part="oral", starts_at=start + timedelta(days=7), minutes=60)
    exam_day.assign_candidate_numbers(campaign=setup.campaign, by=setup.hr)


def staffed_room(session: ExamSession, *staff: User, by: User) -> SessionRoom:
    session_room = exam_day.ordered_session_rooms(session)[0]
    exam_day.set_room_staff(session_room=session_room, staff=list(staff), by=by)
    return session_room
