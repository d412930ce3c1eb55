"""Exam-day forms: venues, rooms, sessions (in Vietnam time), room staff, attendance, incidents, lookups."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from exams.exam_day import ROOM_STAFF_ROLES, room_rows
from exams.forms import VietnamDateTimeField
from exams.models import Attendance, Campaign, ExamSession, Incident, Room, SessionRoom, Venue


class VenueForm(forms.Form):
    name = forms.CharField(label=_("Venue"), max_length=200)
    address = forms.CharField(label=_("Address"), max_length=300, required=False)


class RoomForm(forms.Form):
    venue = forms.ModelChoiceField(label=_("Venue"), queryset=Venue.objects.all())
    name = forms.CharField(label=_("Room"), max_length=100)
    capacity = forms.IntegerField(label=_("Capacity (seats)"), min_value=1, max_value=1000)


class RoomChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Room) -> str:
        return _("%(room)s (%(capacity)d seats)") % {"room": obj, "capacity": obj.capacity}


class SessionForm(forms.ModelForm):
    """Part, start (Vietnam time), duration, rooms and posts; the checks that span sessions are the service's."""

    part_code = forms.ChoiceField(label=_("Part"))
    starts_at = VietnamDateTimeField(label=_("Date and start time (Vietnam time)"))
    duration_minutes = forms.IntegerField(
        label=_("Duration (minutes)"), min_value=1, max_value=720, initial=180, help_text=_("The written part: 180.")
    )
    rooms = RoomChoiceField(
        label=_("Rooms"),
        queryset=Room.objects.select_related("venue"),
        widget=forms.CheckboxSelectMultiple,
    )
    posts = forms.ModelMultipleChoiceField(
        label=_("Posts whose candidates sit it"), queryset=None, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = ExamSession
        fields = ["part_code", "starts_at", "duration_minutes"]

    def __init__(self, *args: Any, campaign: Campaign, parts: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["part_code"].choices = list(parts.items())
        self.fields["posts"].queryset = campaign.posts.order_by("title")
        if self.instance.pk:
            self.fields["rooms"].initial = list(self.instance.rooms.values_list("pk", flat=True))
            self.fields["posts"].initial = list(self.instance.posts.values_list("pk", flat=True))


def room_staff_queryset() -> QuerySet[User]:
    return (
        User.objects.filter(is_active=True, groups__name__in=[role.value for role in ROOM_STAFF_ROLES])
        .distinct()
        .order_by("full_name", "email")
    )


class StaffChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return f"{obj.get_full_name()} ({obj.email})"


class RoomStaffForm(forms.Form):
    staff = StaffChoiceField(
        label=_("Room staff (invigilators)"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Supervisors, examiners or HR officers. They record attendance in this room."),
    )

    def __init__(self, *args: Any, session_room: SessionRoom, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", f"room-{session_room.pk}")
        kwargs.setdefault("initial", {"staff": list(session_room.staff.values_list("pk", flat=True))})
        super().__init__(*args, **kwargs)
        self.fields["staff"].queryset = room_staff_queryset()


class AttendanceForm(forms.Form):
    status = forms.ChoiceField(label=_("Attendance"), choices=Attendance.Status.choices)


class IncidentForm(forms.Form):
    application = forms.TypedChoiceField(label=_("Candidate"), coerce=int, required=False, empty_value=None)
    kind = forms.ChoiceField(label=_("Incident"), choices=Incident.Kind.choices)
    reason = forms.CharField(label=_("What happened"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
    measure = forms.CharField(
        label=_("Measure taken"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=2000,
        help_text=_("Required for a breach of the rules."),
    )

    def __init__(self, *args: Any, session_room: SessionRoom, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [
            (row.application_id, f"{row.seat} · {row.number} · {row.full_name}") for row in room_rows(session_room)
        ]
        self.fields["application"].choices = [("", _("— the room as a whole —")), *choices]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") == Incident.Kind.BREACH and not (data.get("measure") or "").strip():
            self.add_error("measure", _("A breach of the rules is recorded with the measure taken."))
        return data


class RenumberRequestForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for renumbering"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text=_("Another person (the council chair or another HR officer) must approve it."),
    )


class LookupForm(forms.Form):
    number = forms.CharField(label=_("Candidate number"), max_length=20)
    campaign = forms.IntegerField(required=False, widget=forms.HiddenInput)
