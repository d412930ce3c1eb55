"""Marking pages: the examiner's workspace, grid and ballot; the chair's decisions; HR's marking desk.

An examiner of a blind part sees scripts by their code only: nothing on these pages, in their htmx
partials, exports or error messages carries a candidate's name, e-mail, file or application id.
Names appear on the declarations page (the eligible list is public) and on the oral ballot.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast
from uuid import UUID

from django.contrib import messages
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from accounts.models import User
from accounts.permissions import role_required
from accounts.roles import Role
from candidates.exports import neutralise_cell
from candidates.models import Application
from config.errors import Refused
from exams.collation import name_key
from exams.models import (
    Campaign,
    ConflictDeclaration,
    ExamPart,
    MarkingMode,
    Panel,
    PanelMember,
    Relation,
    RubricCriterion,
)
from exams.services import current_rules, declare_conflict
from scoring import imports, services
from scoring.forms import DecisionForm, DeclarationForm, ImportForm, MarkForm, ReopenRequestForm
from scoring.models import Draw, Mark, MarkerAssignment, OralSlot, ReopenRequest, Resolution, Reveal, Script

# How a refusal of the marking service is answered: "not yours" is answered as "does not exist".
REFUSAL_STATUS = {
    "not_assigned": 404,
    "no_rules": 404,
    "no_part": 404,
    "already_submitted": 409,
    "concurrent_save": 409,
    "no_declaration": 403,
    "conflict": 403,
}
MAX_KEY_CHARS = 12


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _fmt(value: Decimal | None, decimals: int) -> str:
    return "" if value is None else number_format(value, decimals)


def _plain(value: Decimal | str) -> str:
    """A stored mark ("72.50") as it is read ("72,5" in Vietnamese, "72.5" in English)."""
    return number_format(Decimal(f"{Decimal(value).normalize():f}"))


# --- Access helpers ---------------------------------------------------------------


def _examiner_campaign(request: HttpRequest, campaign_id: int) -> Campaign:
    """A campaign where the examiner sits on a panel; any other is answered as missing."""
    campaign = Campaign.objects.filter(pk=campaign_id, panels__memberships__user=request.user).first()
    if campaign is None:
        raise Http404
    return campaign


def _part(campaign: Campaign, part_code: str) -> ExamPart:
    try:
        return services.part_of(campaign, part_code)[1]
    except Refused:
        raise Http404 from None


def _examiner_part(request: HttpRequest, campaign_id: int, part_code: str) -> tuple[Campaign, ExamPart]:
    campaign = _examiner_campaign(request, campaign_id)
    part = _part(campaign, part_code)
    if not PanelMember.objects.filter(user=request.user, panel__campaign=campaign, panel__part_code=part.code).exists():
        raise Http404
    return campaign, part


# --- Examiner: rows of the grid and of the ballot ----------------------------------------


@dataclass
class MarkRow:
    key: str  # the script code (blind part) or the oral slot's id: what the examiner posts
    label: str  # the code (blind) or the candidate's name (oral)
    mark: Mark | None = None
    values: dict[str, str] = field(default_factory=dict)  # what the inputs show
    position: int | None = None
    number: str = ""
    error: str = ""
    blocked: str = ""  # why the examiner cannot mark this row (conflict, no declaration)
    result: str = ""  # the oral result, once resolved
    criteria: list[RubricCriterion] = field(default_factory=list)

    @property
    def locked(self) -> bool:
        return self.mark is not None and self.mark.status == Mark.Status.SUBMITTED

    @property
    def inputs(self) -> list[dict[str, Any]]:
        """One input for the mark, or one per rubric criterion (the total is then computed)."""
        if not self.criteria:
            return [{"name": "value", "label": _("Mark"), "value": self.values.get("value", ""), "max": None}]
        return [
            {
                "name": f"c{c.position}",
                "label": c.name,
                "value": self.values.get(f"c{c.position}", ""),
                "max": c.max_score,
            }
            for c in self.criteria
        ]


def _values(mark: Mark | None, part: ExamPart) -> dict[str, str]:
    if mark is None:
        return {}
    values = {"value": _fmt(mark.value, part.decimals)}
    for position, text in (mark.criteria or {}).items():
        values[f"c{position}"] = _fmt(Decimal(text), part.decimals)
    return values


def _blind_rows(user: User, campaign: Campaign, part: ExamPart, code: str | None = None) -> list[MarkRow]:
    assignments = MarkerAssignment.objects.filter(
        examiner=user, script__campaign=campaign, script__part_code=part.code
    ).values_list("script__code", "script__application_id")
    if code is not None:
        assignments = assignments.filter(script__code=code)
    codes = dict(assignments)
    marks = {
        m.application_id: m
        for m in Mark.objects.filter(
            examiner=user, part_code=part.code, is_current=True, application_id__in=codes.values()
        )
    }
    return [
        MarkRow(key=c, label=c, mark=marks.get(a), values=_values(marks.get(a), part)) for c, a in sorted(codes.items())
    ]


def _oral_rows(user: User, campaign: Campaign, part: ExamPart, slot_id: str | None = None) -> list[MarkRow]:
    slots = (
        OralSlot.objects.filter(panel__campaign=campaign, panel__part_code=part.code, panel__memberships__user=user)
        .select_related("application__candidate_number", "panel")
        .order_by("panel__name", "position")
    )
    if slot_id is not None:
        slots = slots.filter(pk=slot_id if slot_id.isdigit() else -1)
    slots = list(slots)
    applications = [s.application_id for s in slots]
    marks = {
        m.application_id: m
        for m in Mark.objects.filter(
            examiner=user, part_code=part.code, is_current=True, application_id__in=applications
        )
    }
    declared = dict(
        ConflictDeclaration.objects.filter(examiner=user, application_id__in=applications).values_list(
            "application_id", "relation"
        )
    )
    finals = services.final_marks(campaign, part.code)
    rows = []
    for slot in slots:
        mark = marks.get(slot.application_id)
        number = getattr(slot.application, "candidate_number", None)
        blocked = ""
        if slot.application_id not in declared:
            blocked = _("Declare any conflict of interest with this candidate before marking.")
        elif declared[slot.application_id] != Relation.NONE:
            blocked = _("You declared a conflict of interest: you do not mark this candidate.")
        final = finals.get(slot.application_id)
        rows.append(
            MarkRow(
                key=str(slot.pk),
                label=slot.application.display_name,
                mark=mark,
                values=_values(mark, part),
                position=slot.position,
                number=number.number if number else "",
                blocked=blocked,
                result=_fmt(final, part.decimals) if final is not None else "",
            )
        )
    return rows


def _rows(user: User, campaign: Campaign, part: ExamPart, key: str | None = None) -> list[MarkRow]:
    if part.marking_mode == MarkingMode.BLIND_DOUBLE:
        rows = _blind_rows(user, campaign, part, key)
    else:
        rows = _oral_rows(user, campaign, part, key)
    criteria = list(part.criteria.all())
    for row in rows:
        row.criteria = criteria
    return rows


def _undeclared(user: User, campaign: Campaign) -> int:
    seats = Application.objects.filter(
        panel_seats__panel__campaign=campaign, panel_seats__panel__memberships__user=user
    )
    declared = ConflictDeclaration.objects.filter(examiner=user).values("application_id")
    return seats.exclude(pk__in=declared).distinct().count()


def _progress(user: User, campaign: Campaign) -> dict[str, Any]:
    rules = current_rules(campaign)
    member_of = set(PanelMember.objects.filter(user=user, panel__campaign=campaign).values_list("panel__part_code"))
    status_counts: dict[tuple[str, str], int] = {
        (p, s): n
        for p, s, n in Mark.objects.filter(examiner=user, campaign=campaign, is_current=True)
        .values("part_code", "status")
        .annotate(n=Count("id"))
        .values_list("part_code", "status", "n")
    }
    parts = []
    for part in rules.parts.all() if rules else []:
        if (part.code,) not in member_of:
            continue
        if part.marking_mode == MarkingMode.BLIND_DOUBLE:
            assigned = MarkerAssignment.objects.filter(
                examiner=user, script__campaign=campaign, script__part_code=part.code
            ).count()
        else:
            conflicted = ConflictDeclaration.objects.filter(examiner=user).exclude(relation=Relation.NONE)
            assigned = (
                OralSlot.objects.filter(
                    panel__campaign=campaign, panel__part_code=part.code, panel__memberships__user=user
                )
                .exclude(application_id__in=conflicted.values("application_id"))
                .count()
            )
        parts.append(
            {
                "part": part,
                "assigned": assigned,
                "drafts": status_counts.get((part.code, Mark.Status.DRAFT), 0),
                "submitted": status_counts.get((part.code, Mark.Status.SUBMITTED), 0),
            }
        )
    return {"campaign": campaign, "parts": parts, "undeclared": _undeclared(user, campaign)}


# --- Examiner: pages -----------------------------------------------------------------


@role_required(Role.EXAMINER)
def workspace(request: HttpRequest) -> HttpResponse:
    campaigns = Campaign.objects.filter(panels__memberships__user=request.user).distinct().order_by("-id")
    cards = [_progress(_user(request), campaign) for campaign in campaigns]
    return render(request, "scoring/workspace.html", {"cards": cards})


def _declaration_rows(user: User, campaign: Campaign) -> list[dict[str, Any]]:
    applications = Application.objects.filter(
        panel_seats__panel__campaign=campaign, panel_seats__panel__memberships__user=user
    ).distinct()
    declared = {d.application_id: d for d in ConflictDeclaration.objects.filter(examiner=user, campaign=campaign)}
    rows = [
        {
            "application": a,
            "name": a.display_name,
            "declaration": declared.get(a.pk),
            "form": DeclarationForm(prefix=f"d-{a.public_id}"),
        }
        for a in applications
    ]
    return sorted(rows, key=lambda row: name_key(row["name"]))


def _render_declarations(
    request: HttpRequest, campaign: Campaign, *, bound: tuple[UUID, DeclarationForm] | None = None, status: int = 200
) -> HttpResponse:
    rows = _declaration_rows(_user(request), campaign)
    for row in rows:
        if bound and row["application"].public_id == bound[0]:
            row["form"] = bound[1]
    context = {"campaign": campaign, "rows": rows, "pending": sum(1 for r in rows if r["declaration"] is None)}
    return render(request, "scoring/declarations.html", context, status=status)


@role_required(Role.EXAMINER)
def declarations(request: HttpRequest, campaign_id: int) -> HttpResponse:
    return _render_declarations(request, _examiner_campaign(request, campaign_id))


@role_required(Role.EXAMINER)
@require_POST
def declare(request: HttpRequest, campaign_id: int, application_id: UUID) -> HttpResponse:
    campaign = _examiner_campaign(request, campaign_id)
    application = Application.objects.filter(
        public_id=application_id,
        panel_seats__panel__campaign=campaign,
        panel_seats__panel__memberships__user=request.user,
    ).first()
    if application is None:
        raise Http404
    form = DeclarationForm(request.POST, prefix=f"d-{application.public_id}")
    if form.is_valid():
        try:
            declare_conflict(examiner=_user(request), application=application, **form.cleaned_data)
        except Refused as refused:
            form.add_error("details" if refused.code == "details_required" else None, refused.message)
        else:
            messages.success(request, _("Declaration recorded for %(name)s.") % {"name": application.display_name})
            return redirect(reverse("marking_declarations", args=[campaign.pk]) + "#declarations")
    return _render_declarations(request, campaign, bound=(application.public_id, form), status=422)


@role_required(Role.EXAMINER)
def part_page(request: HttpRequest, campaign_id: int, part_code: str) -> HttpResponse:
    campaign, part = _examiner_part(request, campaign_id, part_code)
    rows = _rows(_user(request), campaign, part)
    context = {
        "campaign": campaign,
        "part": part,
        "blind": part.marking_mode == MarkingMode.BLIND_DOUBLE,
        "criteria": list(part.criteria.all()),
        "rows": rows,
        "complete_drafts": sum(1 for r in rows if r.mark and not r.locked and r.mark.value is not None),
        "undeclared": _undeclared(_user(request), campaign),
    }
    return render(request, "scoring/part.html", context)


@role_required(Role.EXAMINER)
@require_POST
def save_mark(request: HttpRequest, campaign_id: int, part_code: str, key: str) -> HttpResponse:
    campaign = _examiner_campaign(request, campaign_id)
    part = _part(campaign, part_code)
    if len(key) > MAX_KEY_CHARS:
        raise Http404
    form = MarkForm(request.POST, part=part)
    status, error, mark = 422, "", None
    if not form.is_valid():
        error = " ".join(str(message) for messages_ in form.errors.values() for message in messages_)
    else:
        try:
            mark = services.save_mark_in(
                examiner=_user(request),
                campaign=campaign,
                part=part,
                key=key,
                raw_value=form.cleaned_data["value"],
                raw_criteria=form.raw_criteria(),
                submit=form.cleaned_data["submit"],
            )
            status, error = 200, ""
        except Refused as refused:
            status, error = REFUSAL_STATUS.get(refused.code, 422), str(refused.message)
    if status == 404:
        raise Http404
    return _mark_response(request, campaign, part, key, form=form, mark=mark, error=error, status=status)


def _mark_response(
    request: HttpRequest,
    campaign: Campaign,
    part: ExamPart,
    key: str,
    *,
    form: MarkForm,
    mark: Mark | None,
    error: str,
    status: int,
) -> HttpResponse:
    if not request.htmx:  # type: ignore[attr-defined]
        if error:
            messages.error(request, error)
        else:
            messages.success(request, _("Mark submitted.") if mark and mark.submitted_at else _("Draft saved."))
        return redirect(reverse("marking_part", args=[campaign.pk, part.code]) + f"#row-{key}")
    if mark is not None and part.marking_mode == MarkingMode.BLIND_DOUBLE and mark.script_id is not None:
        row = MarkRow(  # the key is the script's code: the service found the mark by it
            key=key,
            label=key,
            mark=mark,
            values=_values(mark, part),
            criteria=list(part.criteria.all()),
        )
    else:
        rows = _rows(_user(request), campaign, part, key)
        if not rows:
            raise Http404
        row = rows[0]
    if error:
        row.error = error
        if status == 422:  # keep what was typed, so that it can be corrected
            row.values = {name: str(request.POST.get(name, ""))[:12] for name in form.fields if name != "submit"}
    context = {
        "row": row,
        "campaign": campaign,
        "part": part,
        "blind": part.marking_mode == MarkingMode.BLIND_DOUBLE,
        "criteria": list(part.criteria.all()),
        "status": status,
    }
    return render(request, "scoring/_row.html", context, status=status)


@role_required(Role.EXAMINER)
@require_POST
def submit_drafts(request: HttpRequest, campaign_id: int, part_code: str) -> HttpResponse:
    campaign, part = _examiner_part(request, campaign_id, part_code)
    count = services.submit_complete_drafts(examiner=_user(request), campaign=campaign, part_code=part.code)
    messages.success(
        request, ngettext("%(count)d mark submitted.", "%(count)d marks submitted.", count) % {"count": count}
    )
    return redirect("marking_part", campaign.pk, part.code)


@role_required(Role.EXAMINER)
def export_marks(request: HttpRequest, campaign_id: int, part_code: str) -> HttpResponse:
    campaign, part = _examiner_part(request, campaign_id, part_code)
    criteria = list(part.criteria.all())
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    first = _("Script code") if part.marking_mode == MarkingMode.BLIND_DOUBLE else _("Candidate")
    writer.writerow([first, _("Mark"), *(c.name for c in criteria), _("Status"), _("Saved at")])
    for row in _rows(_user(request), campaign, part):
        mark = row.mark
        writer.writerow(
            [
                neutralise_cell(row.label),
                "" if mark is None or mark.value is None else f"{mark.value:.{part.decimals}f}",
                *(((mark.criteria or {}).get(str(c.position), "") if mark else "") for c in criteria),
                neutralise_cell(mark.get_status_display() if mark else ""),
                mark.saved_at.isoformat(timespec="seconds") if mark else "",
            ]
        )
    response = HttpResponse("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="marks-{campaign.pk}-{part.code}.csv"'
    return response


# --- Chair ---------------------------------------------------------------------------


def _candidate_label(*, script: Script | None, application: Application, campaign: Campaign, part_code: str) -> str:
    """The script code of a blind part until its identities are revealed; the name otherwise."""
    if script is not None and not services.is_revealed(campaign, part_code):
        return script.code
    return application.display_name


def _disagreement_items(bound: tuple[int, DecisionForm] | None = None) -> list[dict[str, Any]]:
    campaign_ids = (
        Resolution.objects.filter(
            is_current=True, status__in=[Resolution.Status.PENDING_CHAIR, Resolution.Status.PENDING_COUNCIL]
        )
        .values_list("campaign_id", flat=True)
        .distinct()
    )
    items = []
    for campaign in Campaign.objects.filter(pk__in=campaign_ids).order_by("pk"):
        for resolution in services.pending_resolutions(campaign).select_related("script", "application"):
            marks = Mark.objects.filter(public_id__in=[m[0] for m in resolution.marks]).select_related("examiner")
            by_id = {str(m.public_id): m for m in marks}
            items.append(
                {
                    "resolution": resolution,
                    "campaign": campaign,
                    "label": _candidate_label(
                        script=resolution.script,
                        application=resolution.application,
                        campaign=campaign,
                        part_code=resolution.part_code,
                    ),
                    "marks": [
                        (by_id[m[0]].examiner.get_full_name() if m[0] in by_id else "—", _plain(m[1]))
                        for m in resolution.marks
                    ],
                    "lowest": _plain(min(Decimal(m[1]) for m in resolution.marks)),
                    "highest": _plain(max(Decimal(m[1]) for m in resolution.marks)),
                    "form": bound[1] if bound and bound[0] == resolution.pk else DecisionForm(),
                }
            )
    return items


@role_required(Role.CHAIR)
def disagreements(request: HttpRequest) -> HttpResponse:
    return render(request, "scoring/chair_disagreements.html", {"items": _disagreement_items()})


@role_required(Role.CHAIR)
@require_POST
def decide(request: HttpRequest, resolution_id: int) -> HttpResponse:
    resolution = get_object_or_404(Resolution, pk=resolution_id, is_current=True)
    form = DecisionForm(request.POST)
    if form.is_valid():
        try:
            services.decide_disagreement(
                resolution=resolution,
                by=_user(request),
                raw_value=form.cleaned_data["value"],
                reason=form.cleaned_data["reason"],
            )
        except Refused as refused:
            field_name = {"reason_required": "reason", "not_pending": None, "not_chair": None}.get(
                refused.code, "value"
            )
            form.add_error(field_name, refused.message)
        else:
            messages.success(request, _("Decision recorded."))
            return redirect("chair_disagreements")
    items = _disagreement_items(bound=(resolution.pk, form))
    return render(request, "scoring/chair_disagreements.html", {"items": items}, status=422)


@role_required(Role.CHAIR)
def reopen_requests(request: HttpRequest) -> HttpResponse:
    pending = ReopenRequest.objects.filter(approved_at__isnull=True).select_related(
        "mark__script", "mark__application", "mark__examiner", "mark__campaign", "requested_by"
    )
    items = [
        {
            "request": r,
            "label": _candidate_label(
                script=r.mark.script,
                application=r.mark.application,
                campaign=r.mark.campaign,
                part_code=r.mark.part_code,
            ),
            "value": _plain(r.mark.value) if r.mark.value is not None else "—",
        }
        for r in pending.order_by("requested_at")
    ]
    return render(request, "scoring/chair_reopen.html", {"items": items})


@role_required(Role.CHAIR)
@require_POST
def approve_reopen(request: HttpRequest, request_id: int) -> HttpResponse:
    reopen = get_object_or_404(ReopenRequest, pk=request_id)
    try:
        services.approve_reopen(request=reopen, by=_user(request))
    except Refused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, _("The mark is reopened: the examiner can correct and submit it again."))
    return redirect("chair_reopen")


@role_required(Role.CHAIR)
def reveals(request: HttpRequest) -> HttpResponse:
    pending = Reveal.objects.filter(revealed_at__isnull=True).select_related("campaign", "requested_by")
    return render(request, "scoring/chair_reveals.html", {"reveals": pending.order_by("requested_at")})


@role_required(Role.CHAIR)
@require_POST
def approve_reveal(request: HttpRequest, reveal_id: int) -> HttpResponse:
    reveal = get_object_or_404(Reveal, pk=reveal_id)
    try:
        services.approve_reveal(reveal=reveal, by=_user(request))
    except Refused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, _("Identities revealed."))
    return redirect("chair_reveals")


# --- HR --------------------------------------------------------------------------------


def _hr_campaign(campaign_id: int) -> Campaign:
    return get_object_or_404(Campaign, pk=campaign_id)


def _part_members(campaign: Campaign, part: ExamPart) -> list[User]:
    return list(
        User.objects.filter(panel_memberships__panel__campaign=campaign, panel_memberships__panel__part_code=part.code)
        .distinct()
        .order_by("full_name", "email")
    )


def _slot_choices(campaign: Campaign, part: ExamPart) -> list[tuple[str, str]] | None:
    if part.marking_mode == MarkingMode.BLIND_DOUBLE:
        return None
    slots = OralSlot.objects.filter(panel__campaign=campaign, panel__part_code=part.code).select_related(
        "panel", "application"
    )
    return [
        (str(s.pk), f"{s.panel.name} — {s.position}. {s.application.display_name}")
        for s in slots.order_by("panel__name", "position")
    ]


def _reopen_form(campaign: Campaign, part: ExamPart, data: Any = None) -> ReopenRequestForm:
    return ReopenRequestForm(
        data, prefix=f"reopen-{part.code}", slots=_slot_choices(campaign, part), examiners=_part_members(campaign, part)
    )


def _part_desk(campaign: Campaign, part: ExamPart, forms: dict[str, Any]) -> dict[str, Any]:
    blind = part.marking_mode == MarkingMode.BLIND_DOUBLE
    marks = Mark.objects.filter(campaign=campaign, part_code=part.code, is_current=True)
    resolutions = Resolution.objects.filter(campaign=campaign, part_code=part.code, is_current=True)
    reveal = Reveal.objects.filter(campaign=campaign, part_code=part.code).select_related("requested_by").first()
    desk: dict[str, Any] = {
        "part": part,
        "blind": blind,
        "scripts": Script.objects.filter(campaign=campaign, part_code=part.code).count(),
        "assignments": MarkerAssignment.objects.filter(script__campaign=campaign, script__part_code=part.code).count(),
        "submitted": marks.filter(status=Mark.Status.SUBMITTED).count(),
        "drafts": marks.filter(status=Mark.Status.DRAFT).count(),
        "final": resolutions.filter(status=Resolution.Status.FINAL).count(),
        "pending": resolutions.exclude(status=Resolution.Status.FINAL).count(),
        "reveal": reveal,
        "draws": Draw.objects.filter(campaign=campaign, part_code=part.code)
        .select_related("panel")
        .order_by("-created_at"),
        "reopen_form": forms.get(f"reopen-{part.code}") or _reopen_form(campaign, part),
        "import_form": forms.get(f"import-{part.code}") or ImportForm(prefix=f"import-{part.code}"),
        "import_errors": forms.get(f"import-errors-{part.code}", []),
        "panels": [],
        "revealed": [],
    }
    if not blind:
        for panel in Panel.objects.filter(campaign=campaign, part_code=part.code).order_by("name"):
            slots = panel.oral_slots.select_related("application").order_by("position")
            desk["panels"].append({"panel": panel, "slots": list(slots), "candidates": panel.candidates.count()})
    elif reveal is not None and reveal.revealed_at is not None:
        finals = services.final_marks(campaign, part.code)
        scripts = Script.objects.filter(campaign=campaign, part_code=part.code).select_related("application")
        desk["revealed"] = [
            (s.code, s.application.display_name, _fmt(finals.get(s.application_id), part.decimals)) for s in scripts
        ]
    return desk


def _render_desk(
    request: HttpRequest, campaign: Campaign, forms: dict[str, Any] | None = None, status: int = 200
) -> HttpResponse:
    rules = current_rules(campaign)
    parts = [_part_desk(campaign, part, forms or {}) for part in (rules.parts.all() if rules else [])]
    return render(
        request, "scoring/hr_marking.html", {"campaign": campaign, "rules": rules, "parts": parts}, status=status
    )


@role_required(Role.HR)
def hr_marking(request: HttpRequest, campaign_id: int) -> HttpResponse:
    return _render_desk(request, _hr_campaign(campaign_id))


def _hr_action(request: HttpRequest, campaign: Campaign, action: Callable[[], str]) -> HttpResponse:
    """Runs one service call; its success message or its refusal is shown on the marking desk."""
    try:
        message = action()
    except Refused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, message)
    return redirect("hr_marking", campaign.pk)


@role_required(Role.HR)
@require_POST
def hr_create_scripts(request: HttpRequest, campaign_id: int, part_code: str) -> HttpResponse:
    campaign = _hr_campaign(campaign_id)

    def create() -> str:
        count = len(services.create_scripts(campaign=campaign, part_code=part_code, by=_user(request)))
        return ngettext(
            "%(count)d script created, with its anonymous code.",
            "%(count)d scripts created, each with its anonymous code.",
            count,
        ) % {"count": count}

    return _hr_action(request, campaign, create)


@role_required(Role.HR)
@require_POST
def hr_draw_markers(request: HttpRequest, campaign_id: int, part_code: str) -> HttpResponse:
    campaign = _hr_campaign(campaign_id)

    def draw() -> str:
        draw = services.draw_markers(campaign=campaign, part_code=part_code, by=_user(request))
        return _("Markers drawn. Seed of the draw: %(seed)s.") % {"seed": draw.seed}

    return _hr_action(request, campaign, draw)


@role_required(Role.HR)
@require_POST
def hr_draw_order(request: HttpRequest, campaign_id: int, panel_id: int) -> HttpResponse:
    campaign = _hr_campaign(campaign_id)
    panel = get_object_or_404(Panel, pk=panel_id, campaign=campaign)

    def draw() -> str:
        draw = services.draw_oral_order(panel=panel, by=_user(request))
        return _("Order of %(panel)s drawn. Seed of the draw: %(seed)s.") % {"panel": panel.name, "seed": draw.seed}

    return _hr_action(request, campaign, draw)


@role_required(Role.HR)
@require_POST
def hr_request_reveal(request: HttpRequest, campaign_id: int, part_code: str) -> HttpResponse:
    campaign = _hr_campaign(campaign_id)

    def ask() -> str:
        services.request_reveal(campaign=campaign, part_code=part_code, by=_user(request))
        return _("Reveal requested: another person (the chair) must approve it.")

    return _hr_action(request, campaign, ask)


def _submitted_mark(campaign: Campaign, part: ExamPart, key: str, examiner_id: int) -> Mark | None:
    marks = Mark.objects.filter(
        campaign=campaign, part_code=part.code, examiner_id=examiner_id, is_current=True, status=Mark.Status.SUBMITTED
    )
    if part.marking_mode == MarkingMode.BLIND_DOUBLE:
        return marks.filter(script__code=key).first()
    slot = OralSlot.objects.filter(pk=key if key.isdigit() else -1, panel__campaign=campaign).first()
    return marks.filter(application_id=slot.application_id).first() if slot else None


@role_required(Role.HR)
@require_POST
def hr_request_reopen(request: HttpRequest, campaign_id: int, part_code: str) -> HttpResponse:
    campaign = _hr_campaign(campaign_id)
    part = _part(campaign, part_code)
    form = _reopen_form(campaign, part, request.POST)
    if form.is_valid():
        mark = _submitted_mark(campaign, part, form.cleaned_data["key"], form.cleaned_data["examiner"])
        if mark is None:
            form.add_error("key", _("This examiner has no submitted mark for this script or candidate."))
        else:
            try:
                services.request_reopen(mark=mark, by=_user(request), reason=form.cleaned_data["reason"])
            except Refused as refused:
                form.add_error(None, refused.message)
            else:
                messages.success(request, _("Reopening requested: the chair must approve it."))
                return redirect("hr_marking", campaign.pk)
    return _render_desk(request, campaign, {f"reopen-{part.code}": form}, status=422)


@role_required(Role.HR)
def hr_import_template(request: HttpRequest, campaign_id: int, part_code: str) -> HttpResponse:
    campaign = _hr_campaign(campaign_id)
    part = _part(campaign, part_code)
    response = HttpResponse(imports.build_template(campaign, part), content_type=imports.XLSX)
    response["Content-Disposition"] = f'attachment; filename="marks-{campaign.pk}-{part.code}.xlsx"'
    return response


@role_required(Role.HR)
@require_POST
def hr_import_marks(request: HttpRequest, campaign_id: int, part_code: str) -> HttpResponse:
    campaign = _hr_campaign(campaign_id)
    part = _part(campaign, part_code)
    form = ImportForm(request.POST, request.FILES, prefix=f"import-{part.code}")
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            count = imports.import_marks(
                campaign=campaign, part_code=part.code, data=upload.read(), filename=upload.name, by=_user(request)
            )
        except imports.ImportRefused as refused:
            forms = {f"import-{part.code}": form, f"import-errors-{part.code}": refused.errors}
            return _render_desk(request, campaign, forms, status=422)
        messages.success(
            request, ngettext("%(count)d mark imported.", "%(count)d marks imported.", count) % {"count": count}
        )
        return redirect("hr_marking", campaign.pk)
    return _render_desk(request, campaign, {f"import-{part.code}": form}, status=422)
