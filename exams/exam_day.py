"""Exam day: the schedule, candidate numbers (số báo danh) and seats, admission notices, attendance.

Candidate numbers
-----------------
Numbers are assigned when HR closes the eligible list of a campaign (every post's list published).
The order is stable and never the database's:

1. by post: the post title in Vietnamese collation (:func:`exams.collation.name_key`), then the post id;
2. by candidate: the full name at submission in Vietnamese collation (given name first), then the
   application's public id as the last tie-break.

A number is the campaign prefix followed by the 1-based position, zero-padded to 4 digits (to more
when a campaign has 10,000 candidates or more): "QN0001". The prefix is the initials, without
diacritics, of the last two words of the organising authority's name ("UBND tỉnh Quảng Nam" → "QN",
"Sở Y tế" → "YT"). Numbers are unique within a campaign; the public room lookup may name the campaign.

Seats
-----
In each session, candidates sit in number order, filling the session's rooms one after the other
(rooms by venue, then room name in natural order: "Phòng 9" before "Phòng 10"), seat 1 upwards,
never over a room's capacity.

Rerunning the assignment with the same eligible candidates changes nothing. Once HR has published the
numbers, they change only through a :class:`RenumberRequest` with a reason, approved by another person
(the council chair or another HR officer); approval reassigns them, and every candidate whose number,
time, room or seat changed receives a new admission notice by e-mail.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Count, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django_tasks import task

from accounts.models import User
from accounts.roles import Role
from audit.services import record, snapshot
from candidates.models import Application
from config.errors import Refused
from config.tasks import enqueue_with_change
from exams.collation import name_key
from exams.models import (
    Attendance,
    Campaign,
    CandidateNumber,
    ExamSession,
    Incident,
    MarkingMode,
    PanelMember,
    Post,
    RenumberRequest,
    Room,
    Seat,
    SessionRoom,
    Venue,
)
from exams.services import current_rules

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
NUMBER_DIGITS = 4
ROOM_STAFF_ROLES = (Role.SUPERVISOR, Role.EXAMINER, Role.HR)
# The longest a session can last (the model's small integer): bounds the overlap query.
LONGEST_SESSION = timedelta(minutes=32767)


def local_text(moment: datetime) -> str:
    """dd/mm/yyyy HH:MM in Vietnam's time, whatever time zone is active."""
    return timezone.localtime(moment, VIETNAM).strftime("%d/%m/%Y %H:%M")


def part_names(campaign: Campaign) -> dict[str, str]:
    rules = current_rules(campaign)
    return {part.code: part.name for part in rules.parts.all()} if rules else {}


# --- Reads ----------------------------------------------------------------------------


def number_prefix(campaign: Campaign) -> str:
    """Initials of the last two words of the authority's name, without diacritics ("QN")."""
    words = []
    for word in campaign.authority.name.split():
        plain = unicodedata.normalize("NFD", word.replace("đ", "d").replace("Đ", "D"))
        letters = "".join(c for c in plain if c.isascii() and c.isalpha()).upper()
        if letters:
            words.append(letters)
    if len(words) >= 2:
        return words[-2][0] + words[-1][0]
    return (words[0] + "X")[:2] if words else "TT"


def format_number(prefix: str, position: int, total: int) -> str:
    return f"{prefix}{position:0{max(NUMBER_DIGITS, len(str(total)))}d}"


def number_order_key(application: Application) -> tuple:
    post = application.post
    return (name_key(post.title), post.pk, name_key(application.display_name), str(application.public_id))


def ordered_eligible(campaign: Campaign) -> list[Application]:
    """The campaign's eligible applications in the documented number order."""
    applications = Application.objects.filter(post__campaign=campaign, status=Application.Status.ELIGIBLE)
    return sorted(applications.select_related("post"), key=number_order_key)


def natural_key(text: str) -> tuple:
    return tuple(int(part) if part.isdigit() else name_key(part) for part in re.split(r"(\d+)", text) if part)


def ordered_session_rooms(session: ExamSession) -> list[SessionRoom]:
    rooms = session.session_rooms.select_related("room__venue")
    return sorted(rooms, key=lambda sr: (natural_key(sr.room.venue.name), natural_key(sr.room.name), sr.room_id))


def seats_of(application: Application) -> list[Seat]:
    """The seats of one candidate, in time order, with session, room and venue loaded."""
    return list(
        Seat.objects.filter(application=application)
        .select_related("session", "room__venue")
        .order_by("session__starts_at", "session_id")
    )


@dataclass(frozen=True)
class SeatRow:
    """One line of a room's lists."""

    seat: int
    number: str
    full_name: str
    date_of_birth: date | None
    post_title: str
    application_id: int


def room_rows(session_room: SessionRoom) -> list[SeatRow]:
    seats = (
        Seat.objects.filter(session_id=session_room.session_id, room_id=session_room.room_id)
        .select_related("application__post", "application__candidate_number")
        .order_by("seat")
    )
    rows = []
    for seat in seats:
        application = seat.application
        snapshot_data = application.profile_snapshot or {}
        born = snapshot_data.get("date_of_birth")
        rows.append(
            SeatRow(
                seat=seat.seat,
                number=application.candidate_number.number,
                full_name=application.display_name,
                date_of_birth=date.fromisoformat(born) if born else None,
                post_title=application.post.title,
                application_id=application.pk,
            )
        )
    return rows


@dataclass(frozen=True)
class RoomHeader:
    """What the lists of a room print above the table."""

    authority: str
    campaign: str
    part: str
    starts_at: str
    duration_minutes: int
    venue: str
    address: str
    room: str
    staff: list[str]


def room_header(session_room: SessionRoom) -> RoomHeader:
    session = session_room.session
    campaign = session.campaign
    return RoomHeader(
        authority=campaign.authority.name,
        campaign=campaign.title,
        part=part_names(campaign).get(session.part_code, session.part_code),
        starts_at=local_text(session.starts_at),
        duration_minutes=session.duration_minutes,
        venue=session_room.room.venue.name,
        address=session_room.room.venue.address,
        room=session_room.room.name,
        staff=[user.get_full_name() for user in session_room.staff.order_by("full_name")],
    )


def lookup_seats(*, number: str, campaign_id: int | None = None) -> list[Seat]:
    """Public lookup: the seats of a published number (no personal data is read by the caller)."""
    numbers = CandidateNumber.objects.filter(
        number=number.strip().upper(), campaign__numbers_published_at__isnull=False
    )
    if campaign_id is not None:
        numbers = numbers.filter(campaign_id=campaign_id)
    return list(
        Seat.objects.filter(application__candidate_number__in=numbers)
        .select_related("session__campaign", "room__venue", "application__candidate_number")
        .order_by("session__starts_at", "session_id")
    )


def session_has_started(session: ExamSession) -> bool:
    return timezone.now() >= session.starts_at


# --- Venues and rooms -------------------------------------------------------------------


@transaction.atomic
def create_venue(*, name: str, address: str, by: User) -> Venue:
    name = " ".join(unicodedata.normalize("NFC", name).split())
    if Venue.objects.filter(name=name).exists():
        raise Refused(_("A venue with this name already exists."), code="duplicate")
    venue = Venue.objects.create(name=name, address=address.strip())
    record(actor=by, action="venue.create", obj=venue, after=snapshot(venue, ["name", "address"]))
    return venue


@transaction.atomic
def create_room(*, venue: Venue, name: str, capacity: int, by: User) -> Room:
    name = " ".join(unicodedata.normalize("NFC", name).split())
    if capacity < 1:
        raise Refused(_("A room seats at least one candidate."), code="capacity")
    if Room.objects.filter(venue=venue, name=name).exists():
        raise Refused(_("This venue already has a room with this name."), code="duplicate")
    room = Room.objects.create(venue=venue, name=name, capacity=capacity)
    record(actor=by, action="room.create", obj=room, after=snapshot(room, ["venue", "name", "capacity"]))
    return room


# --- Sessions ---------------------------------------------------------------------------


def _overlapping(*, starts_at: datetime, ends_at: datetime, exclude: int | None) -> list[ExamSession]:
    nearby = ExamSession.objects.filter(starts_at__lt=ends_at, starts_at__gt=starts_at - LONGEST_SESSION)
    if exclude is not None:
        nearby = nearby.exclude(pk=exclude)
    return [other for other in nearby.prefetch_related("posts", "rooms") if other.ends_at > starts_at]


def _eligible_candidates(post_ids: Iterable[int]) -> set[int]:
    return set(
        Application.objects.filter(post_id__in=list(post_ids), status=Application.Status.ELIGIBLE).values_list(
            "candidate_id", flat=True
        )
    )


def _double_booked(post_ids: Iterable[int]) -> bool:
    """Someone eligible for two posts that sit the same session would have to be in two seats at once."""
    return (
        Application.objects.filter(post_id__in=list(post_ids), status=Application.Status.ELIGIBLE)
        .values("candidate_id")
        .annotate(applications=Count("id"))
        .filter(applications__gt=1)
        .exists()
    )


def _session_label(session: ExamSession) -> str:
    names = part_names(session.campaign)
    return f"{names.get(session.part_code, session.part_code)}, {local_text(session.starts_at)}"


def _check_schedule(*, session: ExamSession, rooms: Sequence[Room], posts: Sequence[Post]) -> None:
    """Refuses a session over its rooms' capacity, or clashing with another in time."""
    eligible = Application.objects.filter(post__in=posts, status=Application.Status.ELIGIBLE).count()
    capacity = sum(room.capacity for room in rooms)
    if eligible > capacity:
        raise Refused(
            _("%(count)d eligible candidates sit this session but its rooms seat only %(capacity)d.")
            % {"count": eligible, "capacity": capacity},
            code="over_capacity",
        )
    same_part = ExamSession.objects.filter(campaign=session.campaign, part_code=session.part_code)
    if session.pk:
        same_part = same_part.exclude(pk=session.pk)
    clash = Post.objects.filter(pk__in=[post.pk for post in posts], sessions__in=same_part).first()
    if clash:
        raise Refused(
            _("The post “%(post)s” already has a session for this part.") % {"post": clash}, code="post_twice"
        )
    room_ids = {room.pk for room in rooms}
    post_ids = {post.pk for post in posts}
    if _double_booked(post_ids):
        raise Refused(
            _("Some candidates are eligible for two of these posts: they cannot sit both in one session."),
            code="candidate_overlap",
        )
    candidates: set[int] | None = None
    for other in _overlapping(starts_at=session.starts_at, ends_at=session.ends_at, exclude=session.pk):
        shared_rooms = [room for room in other.rooms.all() if room.pk in room_ids]
        if shared_rooms:
            raise Refused(
                _("The room “%(room)s” is already used at that time by the session “%(other)s”.")
                % {"room": shared_rooms[0], "other": _session_label(other)},
                code="room_overlap",
            )
        other_posts = {post.pk for post in other.posts.all()}
        if candidates is None:
            candidates = _eligible_candidates(post_ids)
        if post_ids & other_posts or candidates & _eligible_candidates(other_posts):
            raise Refused(
                _("Some candidates would sit two sessions at once: this one and “%(other)s”.")
                % {"other": _session_label(other)},
                code="candidate_overlap",
            )


SESSION_FIELDS = ["part_code", "starts_at", "duration_minutes", "posts", "rooms"]


@transaction.atomic
def save_session(*, session: ExamSession, rooms: Sequence[Room], posts: Sequence[Post], by: User) -> ExamSession:
    """Creates or changes a session, its rooms and posts; reseats and re-notifies candidates if needed."""
    campaign = Campaign.objects.select_for_update().get(pk=session.campaign_id)
    session.campaign = campaign
    before = None
    if session.pk:
        current = ExamSession.objects.select_for_update().get(pk=session.pk)
        if current.attendance.exists():
            raise Refused(_("Attendance has been recorded: this session can no longer change."), code="started")
        before = snapshot(current, SESSION_FIELDS)
    if session.part_code not in part_names(campaign):
        raise Refused(_("Choose a part of the approved exam rules."), code="unknown_part")
    if not rooms:
        raise Refused(_("Choose at least one room."), code="no_rooms")
    if any(post.campaign_id != campaign.pk for post in posts) or not posts:
        raise Refused(_("Choose at least one post of this campaign."), code="no_posts")
    _check_schedule(session=session, rooms=rooms, posts=posts)
    notices_before = _notice_states(campaign)
    session.save()
    session.posts.set(posts)
    kept = {room.pk for room in rooms}
    session.session_rooms.exclude(room_id__in=kept).delete()
    for room in rooms:
        SessionRoom.objects.get_or_create(session=session, room=room)
    if CandidateNumber.objects.filter(campaign=campaign).exists():
        _allocate_seats(session)
    record(
        actor=by,
        action="session.edit" if before else "session.create",
        obj=session,
        before=before,
        after=snapshot(session, SESSION_FIELDS),
    )
    _send_changed_notices(campaign, notices_before)
    return session


def blind_markers(session: ExamSession) -> set[int]:
    """Examiners marking this session's part blind: they must not see who sits it."""
    rules = current_rules(session.campaign)
    part = rules.parts.filter(code=session.part_code).first() if rules else None
    if part is None or part.marking_mode != MarkingMode.BLIND_DOUBLE:
        return set()
    return set(
        PanelMember.objects.filter(panel__campaign=session.campaign, panel__part_code=session.part_code).values_list(
            "user_id", flat=True
        )
    )


@transaction.atomic
def set_room_staff(*, session_room: SessionRoom, staff: Sequence[User], by: User) -> SessionRoom:
    """The invigilators of a room: supervisors, examiners or HR officers, never a blind marker of the part."""
    session_room = (
        SessionRoom.objects.select_for_update(of=("self",)).select_related("session__campaign").get(pk=session_room.pk)
    )
    markers = blind_markers(session_room.session)
    for user in staff:
        if not user.is_active or not user.has_role(*ROOM_STAFF_ROLES):
            raise Refused(
                _("%(name)s is not a supervisor, examiner or HR officer.") % {"name": user.get_full_name()},
                code="not_staff_role",
            )
        if user.pk in markers:
            raise Refused(
                _("%(name)s marks this part blind and cannot invigilate it.") % {"name": user.get_full_name()},
                code="blind_marker",
            )
    before = snapshot(session_room, ["staff"])
    session_room.staff.set(staff)
    record(
        actor=by,
        action="session_room.staff",
        obj=session_room,
        campaign_id=session_room.session.campaign_id,
        before=before,
        after=snapshot(session_room, ["staff"]),
    )
    return session_room


# --- Candidate numbers and seats -----------------------------------------------------------


def _allocate_seats(session: ExamSession) -> tuple[int, int]:
    """Seats the session's numbered candidates in number order; returns (removed, created)."""
    numbered = sorted(
        CandidateNumber.objects.filter(
            campaign_id=session.campaign_id,
            application__post__in=session.posts.all(),
            application__status=Application.Status.ELIGIBLE,
        ).values_list("number", "application_id")
    )
    session_rooms = ordered_session_rooms(session)
    capacity = sum(sr.room.capacity for sr in session_rooms)
    if len(numbered) > capacity:
        raise Refused(
            _("The session “%(session)s” has %(count)d candidates but its rooms seat only %(capacity)d.")
            % {"session": _session_label(session), "count": len(numbered), "capacity": capacity},
            code="over_capacity",
        )
    desired: dict[int, tuple[int, int]] = {}
    places = ((sr.room_id, seat) for sr in session_rooms for seat in range(1, sr.room.capacity + 1))
    for (_number, application_id), place in zip(numbered, places, strict=False):
        desired[application_id] = place
    existing = {a: (r, s) for a, r, s in session.seats.values_list("application_id", "room_id", "seat")}
    stale = [a for a, place in existing.items() if desired.get(a) != place]
    if stale:
        session.seats.filter(application_id__in=stale).delete()
    new = [a for a, place in desired.items() if existing.get(a) != place]
    Seat.objects.bulk_create(
        Seat(session=session, application_id=a, room_id=desired[a][0], seat=desired[a][1]) for a in new
    )
    return len(stale), len(new)


def _check_lists_closed(campaign: Campaign) -> None:
    posts = list(campaign.posts.all())
    if not posts:
        raise Refused(_("The campaign has no post."), code="no_posts")
    open_posts = [post.title for post in posts if post.eligible_list_published_at is None]
    if open_posts:
        raise Refused(
            _("Publish the eligible list of every post first (not yet: %(posts)s).") % {"posts": ", ".join(open_posts)},
            code="lists_not_published",
        )


def _check_no_attendance(campaign: Campaign) -> None:
    if Attendance.objects.filter(session__campaign=campaign).exists():
        raise Refused(
            _("Attendance has been recorded: candidate numbers and seats can no longer change."), code="started"
        )


def _check_candidate_overlaps(campaign: Campaign) -> None:
    sessions = list(campaign.sessions.prefetch_related("posts"))
    for session in sessions:
        if _double_booked(post.pk for post in session.posts.all()):
            raise Refused(
                _("Some candidates are eligible for two posts of the session “%(session)s”: they cannot sit both.")
                % {"session": _session_label(session)},
                code="candidate_overlap",
            )
    for index, first in enumerate(sessions):
        for second in sessions[index + 1 :]:
            if first.starts_at < second.ends_at and second.starts_at < first.ends_at:
                first_posts = {p.pk for p in first.posts.all()}
                second_posts = {p.pk for p in second.posts.all()}
                if first_posts & second_posts or _eligible_candidates(first_posts) & _eligible_candidates(second_posts):
                    raise Refused(
                        _("Some candidates would sit two sessions at once: “%(first)s” and “%(second)s”.")
                        % {"first": _session_label(first), "second": _session_label(second)},
                        code="candidate_overlap",
                    )


NoticeState = tuple[str, tuple[tuple[int, datetime, int, int, int], ...]]


def _notice_states(campaign: Campaign) -> dict[int, NoticeState]:
    """What each candidate's admission notice says: number, and per session its time, room and seat."""
    numbers = dict(CandidateNumber.objects.filter(campaign=campaign).values_list("application_id", "number"))
    places: dict[int, list[tuple[int, datetime, int, int, int]]] = {}
    for application_id, session_id, starts_at, duration, room_id, seat in (
        Seat.objects.filter(session__campaign=campaign)
        .order_by("session__starts_at", "session_id")
        .values_list(
            "application_id", "session_id", "session__starts_at", "session__duration_minutes", "room_id", "seat"
        )
    ):
        places.setdefault(application_id, []).append((session_id, starts_at, duration, room_id, seat))
    return {a: (number, tuple(places.get(a, []))) for a, number in numbers.items()}


def _send_changed_notices(campaign: Campaign, before: dict[int, NoticeState]) -> int:
    """After publication, e-mails a new notice to every candidate whose notice changed."""
    if campaign.numbers_published_at is None:
        return 0
    after = _notice_states(campaign)
    changed = sorted(a for a, state in after.items() if before.get(a) != state)
    if changed:
        enqueue_with_change(send_admission_notices, changed, changed=True)
    return len(changed)


def _assign(*, campaign: Campaign, by: User, renumber: RenumberRequest | None) -> list[CandidateNumber]:
    _check_lists_closed(campaign)
    _check_no_attendance(campaign)
    _check_candidate_overlaps(campaign)
    ordered = ordered_eligible(campaign)
    prefix = number_prefix(campaign)
    desired = {a.pk: format_number(prefix, i, len(ordered)) for i, a in enumerate(ordered, start=1)}
    existing = dict(CandidateNumber.objects.filter(campaign=campaign).values_list("application_id", "number"))
    notices_before = _notice_states(campaign)
    stale = [a for a, number in existing.items() if desired.get(a) != number]
    new = [a for a, number in desired.items() if existing.get(a) != number]
    if stale:
        CandidateNumber.objects.filter(campaign=campaign, application_id__in=stale).delete()
    CandidateNumber.objects.bulk_create(
        CandidateNumber(campaign=campaign, application_id=a, number=desired[a]) for a in new
    )
    moved = [_allocate_seats(session) for session in campaign.sessions.all()]
    if stale or new or any(removed or created for removed, created in moved):
        listing = "\n".join(f"{desired[a.pk]} {a.public_id}" for a in ordered)
        record(
            actor=by,
            action="numbers.assign",
            obj=campaign,
            after={
                "count": len(ordered),
                "prefix": prefix,
                "changed": len(new),
                "removed": len(set(stale) - set(desired)),
                "seats_changed": sum(created for _removed, created in moved),
                # The full list is re-computable; its digest proves which one was assigned.
                "sha256": hashlib.sha256(listing.encode()).hexdigest(),
                "renumber_request": renumber.pk if renumber else None,
            },
        )
    if renumber is not None:
        renumber.applied_at = timezone.now()
        renumber.save(update_fields=["applied_at"])
        record(actor=by, action="renumber.apply", obj=renumber, campaign_id=campaign.pk)
    _send_changed_notices(campaign, notices_before)
    return list(CandidateNumber.objects.filter(campaign=campaign).order_by("number"))


@transaction.atomic
def assign_candidate_numbers(*, campaign: Campaign, by: User) -> list[CandidateNumber]:
    """Closes the eligible list: numbers and seats for every eligible candidate (rerun: nothing changes).

    After publication it applies an approved renumbering request, and is refused without one.
    """
    campaign = Campaign.objects.select_for_update().select_related("authority").get(pk=campaign.pk)
    renumber = None
    if campaign.numbers_published_at:
        renumber = (
            RenumberRequest.objects.select_for_update()
            .filter(campaign=campaign, approved_by__isnull=False, applied_at__isnull=True)
            .order_by("approved_at")
            .first()
        )
        if renumber is None:
            raise Refused(
                _(
                    "The candidate numbers are published: renumbering needs a request with a reason, "
                    "approved by another person."
                ),
                code="published",
            )
    return _assign(campaign=campaign, by=by, renumber=renumber)


@transaction.atomic
def publish_candidate_numbers(*, campaign: Campaign, by: User) -> int:
    """Publishes numbers and rooms, and e-mails every candidate their admission notice."""
    campaign = Campaign.objects.select_for_update().select_related("authority").get(pk=campaign.pk)
    if campaign.numbers_published_at:
        raise Refused(_("The candidate numbers are already published."), code="already_published")
    numbered = Application.objects.filter(candidate_number__campaign=campaign)
    if not numbered.exists():
        raise Refused(_("Close the eligible list first: no candidate number is assigned."), code="no_numbers")
    for post in campaign.posts.all():
        missing = [name for code, name in part_names(campaign).items() if not post.sessions.filter(part_code=code)]
        if missing:
            raise Refused(
                _("The post “%(post)s” has no session for: %(parts)s.") % {"post": post, "parts": ", ".join(missing)},
                code="no_session",
            )
    campaign.numbers_published_at = timezone.now()
    campaign.save(update_fields=["numbers_published_at"])
    numbered_ids = list(numbered.order_by("candidate_number__number").values_list("pk", flat=True))
    # Rendered and e-mailed in the background: hundreds of PDFs would hold this request, the campaign's
    # lock and the audit chain's head (every audited writer of the platform) for as long.
    enqueue_with_change(send_admission_notices, numbered_ids)
    record(actor=by, action="numbers.publish", obj=campaign, after={"count": len(numbered_ids)})
    return len(numbered_ids)


@transaction.atomic
def request_renumbering(*, campaign: Campaign, reason: str, by: User) -> RenumberRequest:
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.numbers_published_at is None:
        raise Refused(_("The numbers are not published yet: close the eligible list again instead."), code="draft")
    if not reason.strip():
        raise Refused(_("Give the reason for renumbering."), code="reason_required")
    if campaign.renumber_requests.filter(applied_at__isnull=True).exists():
        raise Refused(_("A renumbering request is already waiting."), code="pending")
    renumber = RenumberRequest.objects.create(campaign=campaign, reason=reason.strip(), requested_by=by)
    record(actor=by, action="renumber.request", obj=renumber, after={"reason": renumber.reason})
    return renumber


@transaction.atomic
def approve_renumbering(*, renumber: RenumberRequest, by: User) -> RenumberRequest:
    """Four eyes: the council chair or another HR officer approves, and the numbers are reassigned."""
    # The campaign first, then the request, as assign_candidate_numbers() takes them, and both before the
    # audit chain's head: taken in another order, two writers could each wait for what the other holds.
    Campaign.objects.select_for_update().get(pk=renumber.campaign_id)
    renumber = RenumberRequest.objects.select_for_update().get(pk=renumber.pk)
    if renumber.approved_by_id is not None:
        raise Refused(_("This request has already been approved."), code="already_approved")
    if renumber.requested_by_id == by.pk:
        raise Refused(_("A request must be approved by another person than its author."), code="self_approval")
    if not by.has_role(Role.CHAIR, Role.HR):
        raise Refused(_("Only the council chair or an HR officer approves renumbering."), code="not_allowed")
    renumber.approved_by, renumber.approved_at = by, timezone.now()
    renumber.save(update_fields=["approved_by", "approved_at"])
    record(actor=by, action="renumber.approve", obj=renumber, after={"reason": renumber.reason})
    assign_candidate_numbers(campaign=renumber.campaign, by=by)
    renumber.refresh_from_db()
    return renumber


# --- Admission notices ------------------------------------------------------------------------


def _for_notices(applications: QuerySet[Application]) -> QuerySet[Application]:
    return applications.select_related(
        "candidate", "candidate_number", "post__organisation", "post__campaign__authority"
    ).order_by("candidate_number__number")


def admission_notice_pdf(application: Application, *, parts: dict[str, str] | None = None) -> tuple[str, bytes]:
    """(candidate number, PDF) of a numbered application."""
    from exams.documents import render_admission_notice

    number = CandidateNumber.objects.get(application=application).number
    pdf = render_admission_notice(application=application, number=number, seats=seats_of(application), parts=parts)
    return number, pdf


def send_admission_notice(
    *, application: Application, changed: bool = False, parts: dict[str, str] | None = None
) -> None:
    """E-mails the admission notice as a PDF attachment (the e-mail backend queues it as a task).

    ``changed``: the candidate is told their session (time, venue, room or seat) or number changed.
    """
    number, pdf = admission_notice_pdf(application, parts=parts)
    template = "exam_day/email/session_changed" if changed else "exam_day/email/admission_notice"
    context = {
        "application": application,
        "number": number,
        "name": application.display_name,
        "site_url": settings.SITE_URL,
    }
    with translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string(f"{template}_subject.txt", context).strip()
        body = render_to_string(f"{template}_message.txt", context)
    message = EmailMessage(subject, body, None, [application.candidate.email])
    message.attach(f"giay-bao-du-thi-{number}.pdf", pdf, "application/pdf")
    message.send()


@task()
def send_admission_notices(application_ids: list[int], changed: bool = False) -> int:
    """E-mails each candidate their admission notice (a task: publication and session changes enqueue it).

    ``changed``: the notices follow a change of session, number, room or seat. Returns how many were sent.
    """
    applications = list(_for_notices(Application.objects.filter(pk__in=application_ids)))
    if not applications:
        return 0
    parts = part_names(applications[0].post.campaign)
    for application in applications:
        send_admission_notice(application=application, changed=changed, parts=parts)
    return len(applications)


# --- Attendance and incidents -------------------------------------------------------------------


def _staff_room(session_room: SessionRoom, by: User) -> SessionRoom:
    # Lock this room's row only: the other rooms of the session record at the same time.
    session_room = (
        SessionRoom.objects.select_for_update(of=("self",)).select_related("session", "room").get(pk=session_room.pk)
    )
    if not session_room.staff.filter(pk=by.pk).exists():
        raise Refused(_("You are not on the staff of this exam room."), code="not_staff")
    if not session_has_started(session_room.session):
        raise Refused(
            _("The session has not started: attendance can be recorded from %(start)s.")
            % {"start": local_text(session_room.session.starts_at)},
            code="not_started",
        )
    return session_room


def _seated(session_room: SessionRoom, application: Application) -> None:
    if not Seat.objects.filter(
        session_id=session_room.session_id, room_id=session_room.room_id, application=application
    ).exists():
        raise Refused(_("This candidate has no seat in this room."), code="not_seated")


@transaction.atomic
def record_attendance(*, session_room: SessionRoom, application: Application, status: str, by: User) -> Attendance:
    """Present, absent or excused, once per candidate and session; a second recording is refused."""
    session_room = _staff_room(session_room, by)
    _seated(session_room, application)
    if status not in Attendance.Status.values:
        raise Refused(_("Choose present, absent or excused."), code="bad_status")
    try:
        with transaction.atomic():
            attendance = Attendance.objects.create(
                session_id=session_room.session_id, application=application, status=status, recorded_by=by
            )
    except IntegrityError:
        existing = Attendance.objects.get(session_id=session_room.session_id, application=application)
        raise Refused(
            _("Attendance of this candidate is already recorded (%(status)s at %(time)s): it cannot be recorded twice.")
            % {"status": existing.get_status_display(), "time": local_text(existing.recorded_at)},
            code="already_recorded",
        ) from None
    record(
        actor=by,
        action="attendance.record",
        obj=attendance,
        campaign_id=session_room.session.campaign_id,
        after={
            "session": session_room.session_id,
            "room": session_room.room_id,
            "application": str(application.public_id),
            "status": status,
        },
    )
    return attendance


@transaction.atomic
def record_incident(
    *,
    session_room: SessionRoom,
    application: Application | None,
    kind: str,
    reason: str,
    measure: str,
    by: User,
) -> Incident:
    session_room = _staff_room(session_room, by)
    if application is not None:
        _seated(session_room, application)
    if kind not in Incident.Kind.values:
        raise Refused(_("Choose the kind of incident."), code="bad_kind")
    if not reason.strip():
        raise Refused(_("Describe what happened."), code="reason_required")
    if kind == Incident.Kind.BREACH and not measure.strip():
        raise Refused(_("A breach of the rules is recorded with the measure taken."), code="measure_required")
    incident = Incident.objects.create(
        session_id=session_room.session_id,
        application=application,
        kind=kind,
        reason=reason.strip(),
        measure=measure.strip(),
        recorded_by=by,
    )
    record(
        actor=by,
        action="incident.record",
        obj=incident,
        campaign_id=session_room.session.campaign_id,
        after={
            "session": session_room.session_id,
            "room": session_room.room_id,
            "application": str(application.public_id) if application else None,
            "kind": kind,
            "reason": incident.reason,
            "measure": incident.measure,
        },
    )
    return incident


def candidate_sessions(application: Application) -> QuerySet[ExamSession]:
    """The sessions an eligible candidate sits, known before numbers and rooms are published."""
    return ExamSession.objects.filter(posts=application.post).order_by("starts_at")
