"""Exam day: HR's schedule and numbers, the candidate's notice, the room staff's attendance, the public lookup."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import User
from accounts.permissions import role_required
from accounts.roles import Role
from candidates.models import Application
from config.errors import Refused
from exams import exam_day
from exams.documents import render_room_sheet
from exams.exam_day_exports import export_room_sheet
from exams.exam_day_forms import (
    AttendanceForm,
    IncidentForm,
    LookupForm,
    RenumberRequestForm,
    RoomForm,
    RoomStaffForm,
    SessionForm,
    VenueForm,
)
from exams.models import (
    Attendance,
    Campaign,
    CandidateNumber,
    ExamSession,
    Incident,
    RenumberRequest,
    Seat,
    SessionRoom,
    Venue,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
STAFF = exam_day.ROOM_STAFF_ROLES
PAGE_SIZE = 200

# --- Access helpers ----------------------------------------------------------------------------


def _get_campaign(campaign_id: int) -> Campaign:
    return get_object_or_404(
        Campaign.objects.select_related("authority").exclude(status=Campaign.Status.DRAFT), pk=campaign_id
    )


def _get_session(session_id: int) -> ExamSession:
    return get_object_or_404(ExamSession.objects.select_related("campaign__authority"), pk=session_id)


def _get_session_room(pk: int) -> SessionRoom:
    return get_object_or_404(SessionRoom.objects.select_related("session__campaign__authority", "room__venue"), pk=pk)


def _get_staff_room(request: HttpRequest, pk: int) -> SessionRoom:
    """The room's page is for its own staff: anyone else is refused."""
    session_room = _get_session_room(pk)
    if not session_room.staff.filter(pk=request.user.pk).exists():
        raise PermissionDenied(_("You are not on the staff of this exam room."))
    return session_room


def _get_own_numbered_application(request: HttpRequest, public_id: object) -> Application:
    # Strangers and unpublished numbers get 404: a notice exists only for its owner, once published.
    application = (
        Application.objects.select_related("post__campaign__authority", "post__organisation", "candidate_number")
        .filter(
            public_id=public_id,
            candidate_id=request.user.pk,
            candidate_number__isnull=False,
            post__campaign__numbers_published_at__isnull=False,
        )
        .first()
    )
    if application is None:
        raise Http404
    return application


def _name_parts(sessions: Iterable[ExamSession]) -> None:
    """Sets ``part_name`` on each session (the rules are read once per campaign)."""
    names: dict[int, dict[str, str]] = {}
    for session in sessions:
        if session.campaign_id not in names:
            names[session.campaign_id] = exam_day.part_names(session.campaign)
        session.part_name = names[session.campaign_id].get(session.part_code, session.part_code)  # type: ignore[attr-defined]


def _actor(request: HttpRequest) -> User:
    return cast(User, request.user)


def _refused(request: HttpRequest, refused: Refused) -> None:
    messages.error(request, refused.message)


# --- HR: schedule ---------------------------------------------------------------------------------


@role_required(Role.HR)
def hr_index(request: HttpRequest) -> HttpResponse:
    campaigns = (
        Campaign.objects.exclude(status=Campaign.Status.DRAFT)
        .annotate(session_count=Count("sessions", distinct=True), numbered=Count("candidate_numbers", distinct=True))
        .order_by("-announced_at", "-id")
    )
    return render(request, "exam_day/hr_index.html", {"campaigns": campaigns})


@role_required(Role.HR)
def hr_campaign(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _get_campaign(campaign_id)
    sessions = list(
        campaign.sessions.prefetch_related(
            "posts",
            Prefetch("session_rooms", SessionRoom.objects.select_related("room__venue").prefetch_related("staff")),
        ).annotate(seat_count=Count("seats", distinct=True))
    )
    _name_parts(sessions)
    posts = campaign.posts.annotate(
        eligible=Count("applications", filter=Q(applications__status=Application.Status.ELIGIBLE))
    ).order_by("title")
    context = {
        "campaign": campaign,
        "parts": exam_day.part_names(campaign),
        "posts": posts,
        "sessions": sessions,
        "venues": Venue.objects.prefetch_related("rooms"),
        "venue_form": VenueForm(),
        "room_form": RoomForm(),
        "numbered": CandidateNumber.objects.filter(campaign=campaign).count(),
        "renumber_form": RenumberRequestForm(),
        "renumber_requests": campaign.renumber_requests.select_related("requested_by", "approved_by").order_by("-id"),
    }
    return render(request, "exam_day/hr_campaign.html", context)


@role_required(Role.HR)
@require_POST
def hr_venue_create(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _get_campaign(campaign_id)
    form = VenueForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the venue's name."))
        return redirect("exam_day_campaign", campaign.pk)
    try:
        exam_day.create_venue(by=_actor(request), **form.cleaned_data)
    except Refused as refused:
        _refused(request, refused)
    else:
        messages.success(request, _("Venue added."))
    return redirect("exam_day_campaign", campaign.pk)


@role_required(Role.HR)
@require_POST
def hr_room_create(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _get_campaign(campaign_id)
    form = RoomForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose the venue, and give the room's name and capacity (at least 1)."))
        return redirect("exam_day_campaign", campaign.pk)
    try:
        exam_day.create_room(by=_actor(request), **form.cleaned_data)
    except Refused as refused:
        _refused(request, refused)
    else:
        messages.success(request, _("Room added."))
    return redirect("exam_day_campaign", campaign.pk)


def _session_form_page(request: HttpRequest, campaign: Campaign, session: ExamSession) -> HttpResponse:
    parts = exam_day.part_names(campaign)
    if not parts:
        messages.error(request, _("The exam rules must be approved before sessions are scheduled."))
        return redirect("exam_day_campaign", campaign.pk)
    form = SessionForm(request.POST or None, instance=session, campaign=campaign, parts=parts)
    if request.method == "POST" and form.is_valid():
        rooms, posts = list(form.cleaned_data["rooms"]), list(form.cleaned_data["posts"])
        try:
            session = exam_day.save_session(session=form.instance, rooms=rooms, posts=posts, by=_actor(request))
        except Refused as refused:
            form.add_error(None, refused.message)
        else:
            messages.success(request, _("Session saved."))
            return redirect("exam_day_session", session.pk)
    session_rooms = exam_day.ordered_session_rooms(session) if session.pk else []
    for session_room in session_rooms:
        session_room.staff_form = RoomStaffForm(session_room=session_room)  # type: ignore[attr-defined]
        session_room.seat_count = session.seats.filter(room_id=session_room.room_id).count()  # type: ignore[attr-defined]
    context = {"campaign": campaign, "session": session, "form": form, "session_rooms": session_rooms}
    return render(request, "exam_day/hr_session_form.html", context)


@role_required(Role.HR)
def hr_session_create(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _get_campaign(campaign_id)
    return _session_form_page(request, campaign, ExamSession(campaign=campaign))


@role_required(Role.HR)
def hr_session_edit(request: HttpRequest, session_id: int) -> HttpResponse:
    session = _get_session(session_id)
    return _session_form_page(request, session.campaign, session)


@role_required(Role.HR)
@require_POST
def hr_room_staff(request: HttpRequest, pk: int) -> HttpResponse:
    session_room = _get_session_room(pk)
    form = RoomStaffForm(request.POST, session_room=session_room)
    if form.is_valid():
        try:
            exam_day.set_room_staff(
                session_room=session_room, staff=list(form.cleaned_data["staff"]), by=_actor(request)
            )
        except Refused as refused:
            _refused(request, refused)
        else:
            messages.success(request, _("Room staff saved for %(room)s.") % {"room": session_room.room.name})
    else:
        messages.error(request, _("Choose the room staff among the listed people."))
    return redirect("exam_day_session", session_room.session_id)


@role_required(Role.HR)
def hr_room_sheet(request: HttpRequest, pk: int, kind: str, fmt: str) -> HttpResponse:
    if kind not in ("sign-in", "list") or fmt not in ("pdf", "xlsx"):
        raise Http404
    session_room = _get_session_room(pk)
    header, rows = exam_day.room_header(session_room), exam_day.room_rows(session_room)
    if fmt == "pdf":
        response = HttpResponse(render_room_sheet(kind=kind, header=header, rows=rows), content_type="application/pdf")
    else:
        response = HttpResponse(export_room_sheet(kind=kind, header=header, rows=rows), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{kind}-session-{session_room.session_id}-room-{pk}.{fmt}"'
    response["Cache-Control"] = "private, no-store"
    return response


# --- HR: numbers ---------------------------------------------------------------------------------


@role_required(Role.HR)
@require_POST
def hr_assign_numbers(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _get_campaign(campaign_id)
    try:
        numbers = exam_day.assign_candidate_numbers(campaign=campaign, by=_actor(request))
    except Refused as refused:
        _refused(request, refused)
    else:
        messages.success(
            request, _("The eligible list is closed: %(count)d candidate numbers.") % {"count": len(numbers)}
        )
    return redirect("exam_day_campaign", campaign.pk)


@role_required(Role.HR)
@require_POST
def hr_publish_numbers(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _get_campaign(campaign_id)
    try:
        count = exam_day.publish_candidate_numbers(campaign=campaign, by=_actor(request))
    except Refused as refused:
        _refused(request, refused)
    else:
        messages.success(request, _("Numbers published: %(count)d admission notices e-mailed.") % {"count": count})
    return redirect("exam_day_campaign", campaign.pk)


@role_required(Role.HR)
def hr_numbers(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _get_campaign(campaign_id)
    numbers = CandidateNumber.objects.filter(campaign=campaign).select_related("application__post").order_by("number")
    page = Paginator(numbers, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "exam_day/hr_numbers.html", {"campaign": campaign, "page": page})


@role_required(Role.HR)
@require_POST
def hr_renumber_request(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _get_campaign(campaign_id)
    form = RenumberRequestForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the reason for renumbering."))
        return redirect("exam_day_campaign", campaign.pk)
    try:
        exam_day.request_renumbering(campaign=campaign, reason=form.cleaned_data["reason"], by=_actor(request))
    except Refused as refused:
        _refused(request, refused)
    else:
        messages.success(request, _("Request recorded: the council chair or another HR officer must approve it."))
    return redirect("exam_day_campaign", campaign.pk)


@role_required(Role.HR, Role.CHAIR)
def renumber_requests(request: HttpRequest) -> HttpResponse:
    requests = RenumberRequest.objects.select_related("campaign", "requested_by", "approved_by").order_by(
        "applied_at", "-requested_at"
    )
    return render(request, "exam_day/renumber_requests.html", {"requests": requests})


@role_required(Role.HR, Role.CHAIR)
@require_POST
def renumber_approve(request: HttpRequest, pk: int) -> HttpResponse:
    renumber = get_object_or_404(RenumberRequest, pk=pk)
    try:
        exam_day.approve_renumbering(renumber=renumber, by=_actor(request))
    except Refused as refused:
        _refused(request, refused)
    else:
        messages.success(request, _("Approved: the numbers are reassigned and changed notices e-mailed."))
    return redirect("exam_day_renumber_requests")


# --- Candidate -------------------------------------------------------------------------------------


@role_required(Role.CANDIDATE)
def candidate_exam(request: HttpRequest) -> HttpResponse:
    applications = (
        Application.objects.filter(candidate_id=request.user.pk, status=Application.Status.ELIGIBLE)
        .select_related("post__campaign", "post__organisation")
        .order_by("-post__campaign__announced_at", "post__title")
    )
    entries = []
    for application in applications:
        campaign = application.post.campaign
        published = campaign.numbers_published_at is not None
        number = CandidateNumber.objects.filter(application=application).first() if published else None
        sessions = list(exam_day.candidate_sessions(application).select_related("campaign"))
        _name_parts(sessions)
        seats = {seat.session_id: seat for seat in exam_day.seats_of(application)} if published else {}
        rows = [(session, seats.get(session.pk)) for session in sessions]
        entries.append({"application": application, "number": number, "rows": rows, "published": published})
    return render(request, "exam_day/candidate_exam.html", {"entries": entries})


@role_required(Role.CANDIDATE)
def admission_notice_download(request: HttpRequest, public_id: str) -> HttpResponse:
    application = _get_own_numbered_application(request, public_id)
    number, pdf = exam_day.admission_notice_pdf(application)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="giay-bao-du-thi-{number}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


# --- Room staff: attendance and incidents -------------------------------------------------------------


@role_required(*STAFF)
def staff_rooms(request: HttpRequest) -> HttpResponse:
    mine = (
        SessionRoom.objects.filter(staff=_actor(request))
        .select_related("session__campaign", "room__venue")
        .order_by("session__starts_at", "room__name")
    )
    upcoming = list(
        ExamSession.objects.filter(starts_at__gte=timezone.now() - timedelta(days=1))
        .select_related("campaign")
        .prefetch_related("rooms__venue")
        .order_by("starts_at")[:100]
    )
    _name_parts([*(session_room.session for session_room in mine), *upcoming])
    return render(request, "exam_day/staff_rooms.html", {"session_rooms": mine, "upcoming": upcoming})


def _attendance_rows(session_room: SessionRoom) -> list[dict]:
    attendance = {a.application_id: a for a in Attendance.objects.filter(session_id=session_room.session_id)}
    seats = {
        seat.application_id: seat.pk
        for seat in Seat.objects.filter(session_id=session_room.session_id, room_id=session_room.room_id)
    }
    return [
        {"row": row, "seat_id": seats[row.application_id], "attendance": attendance.get(row.application_id)}
        for row in exam_day.room_rows(session_room)
    ]


@role_required(*STAFF)
def room_attendance(request: HttpRequest, pk: int) -> HttpResponse:
    session_room = _get_staff_room(request, pk)
    session = session_room.session
    _name_parts([session])
    rows = _attendance_rows(session_room)
    seated = [entry["row"].application_id for entry in rows]
    context = {
        "session_room": session_room,
        "session": session,
        "rows": rows,
        "started": exam_day.session_has_started(session),
        "incident_form": IncidentForm(session_room=session_room),
        "incidents": session.incidents.filter(
            Q(application_id__in=seated) | Q(application__isnull=True, recorded_by__in=session_room.staff.all())
        ).select_related("application__candidate_number"),
        "statuses": Attendance.Status.choices,
    }
    return render(request, "exam_day/room_attendance.html", context)


@role_required(*STAFF)
@require_POST
def room_attendance_record(request: HttpRequest, pk: int, seat_id: int) -> HttpResponse:
    session_room = _get_staff_room(request, pk)
    seat = get_object_or_404(  # a seat of this room only: another room's is not this staff's to record
        Seat.objects.select_related("application"),
        pk=seat_id,
        session_id=session_room.session_id,
        room_id=session_room.room_id,
    )
    form, error = AttendanceForm(request.POST), None
    try:
        if not form.is_valid():
            raise Refused(_("Choose present, absent or excused."))
        exam_day.record_attendance(
            session_room=session_room,
            application=seat.application,
            status=form.cleaned_data["status"],
            by=_actor(request),
        )
    except Refused as refused:
        error = refused.message
    if request.htmx:  # type: ignore[attr-defined]
        entry = next(e for e in _attendance_rows(session_room) if e["seat_id"] == seat.pk)
        context = {"entry": entry, "session_room": session_room, "error": error, "statuses": Attendance.Status.choices}
        started = exam_day.session_has_started(session_room.session)
        return render(request, "exam_day/_attendance_row.html", {**context, "started": started})
    if error:
        messages.error(request, error)
    return redirect(f"{reverse('room_attendance', args=[session_room.pk])}#seat-{seat.pk}")


@role_required(*STAFF)
@require_POST
def room_incident_record(request: HttpRequest, pk: int) -> HttpResponse:
    session_room = _get_staff_room(request, pk)
    form = IncidentForm(request.POST, session_room=session_room)
    if not form.is_valid():
        messages.error(request, _("The incident was not recorded: %(errors)s") % {"errors": _errors_text(form)})
        return redirect(f"{reverse('room_attendance', args=[session_room.pk])}#incidents")
    data = form.cleaned_data
    application = Application.objects.filter(pk=data["application"]).first() if data["application"] else None
    try:
        exam_day.record_incident(
            session_room=session_room,
            application=application,
            kind=data["kind"],
            reason=data["reason"],
            measure=data["measure"],
            by=_actor(request),
        )
    except Refused as refused:
        _refused(request, refused)
    else:
        messages.success(request, _("Incident recorded."))
    return redirect(f"{reverse('room_attendance', args=[session_room.pk])}#incidents")


def _errors_text(form: IncidentForm) -> str:
    return " ".join(f"{form.fields[name].label}: {' '.join(errors)}" for name, errors in form.errors.items())


# --- Supervisor: read-only ----------------------------------------------------------------------------


@role_required(Role.SUPERVISOR)
def supervision_sessions(request: HttpRequest) -> HttpResponse:
    sessions = ExamSession.objects.select_related("campaign").annotate(
        seated=Count("seats", distinct=True),
        present=Count("attendance", filter=Q(attendance__status=Attendance.Status.PRESENT), distinct=True),
        absent=Count("attendance", filter=Q(attendance__status=Attendance.Status.ABSENT), distinct=True),
        excused=Count("attendance", filter=Q(attendance__status=Attendance.Status.EXCUSED), distinct=True),
        incident_count=Count("incidents", distinct=True),
    )
    sessions = list(sessions.order_by("-starts_at"))
    _name_parts(sessions)
    return render(request, "exam_day/supervision_sessions.html", {"sessions": sessions})


@role_required(Role.SUPERVISOR)
def supervision_session(request: HttpRequest, session_id: int) -> HttpResponse:
    session = _get_session(session_id)
    _name_parts([session])
    rooms = [
        {"session_room": session_room, "rows": _attendance_rows(session_room)}
        for session_room in exam_day.ordered_session_rooms(session)
    ]
    incidents = Incident.objects.filter(session=session).select_related("application__candidate_number", "recorded_by")
    return render(
        request, "exam_day/supervision_session.html", {"session": session, "rooms": rooms, "incidents": incidents}
    )


# --- Public ---------------------------------------------------------------------------------------------


def exam_room_lookup(request: HttpRequest) -> HttpResponse:
    """Anyone finds the room of a published candidate number: numbers and places only, never a name."""
    form = LookupForm(request.GET or None)
    seats, searched = [], False
    if form.is_valid():
        searched = True
        seats = exam_day.lookup_seats(number=form.cleaned_data["number"], campaign_id=form.cleaned_data["campaign"])
    _name_parts(seat.session for seat in seats)
    return render(request, "exam_day/public_lookup.html", {"form": form, "seats": seats, "searched": searched})
