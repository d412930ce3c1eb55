"""Exam rules (HR drafts, the chair approves, everyone reads them), the council and panels, declarations.

HR edits only a draft; an approved version is frozen and changes only through an amendment, which
the chair (another person) approves after reading it in full, with its differences from the version
in force. Supervisors read the council, the panels and every conflict declaration.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from accounts.models import User
from accounts.permissions import role_required
from accounts.roles import Role
from candidates.models import Application
from config.errors import Refused
from exams.models import (
    Campaign,
    CouncilMember,
    Escalation,
    ExamRules,
    MarkingMode,
    Panel,
    PanelCandidate,
    RankingBasis,
    TieBreak,
)
from exams.rules_forms import (
    AmendmentForm,
    ApprovalForm,
    AssignForm,
    CouncilMemberForm,
    DeclarationFilterForm,
    PanelForm,
    PanelMemberForm,
    PersonForm,
    RulesEditor,
    SeatForm,
    plain_number,
)
from exams.services import (
    add_panel_member,
    approve_rules_as_read,
    assign_to_panel,
    create_panel,
    create_rules_draft,
    current_rules,
    remove_council_member,
    remove_from_panel,
    remove_panel_member,
    rules_fingerprint,
    rules_snapshot,
    set_council_member,
)
from scoring.services import undeclared

PAGE_SIZE = 100
COUNCIL_ORDER = list(CouncilMember.Role.values)  # chair, secretary, members
MISSING_SHOWN = 200

# --- Access helpers ------------------------------------------------------------------------


def _get_campaign(campaign_id: int) -> Campaign:
    return get_object_or_404(Campaign.objects.select_related("authority"), pk=campaign_id)


def _get_rules(rules_id: int) -> ExamRules:
    return get_object_or_404(
        ExamRules.objects.select_related("campaign", "created_by", "approved_by").prefetch_related("parts__criteria"),
        pk=rules_id,
    )


def _get_panel(panel_id: int) -> Panel:
    return get_object_or_404(Panel.objects.select_related("campaign"), pk=panel_id)


def _draft_of(campaign: Campaign) -> ExamRules | None:
    return (
        campaign.rule_versions.filter(status=ExamRules.Status.DRAFT)
        .select_related("created_by")
        .prefetch_related("parts__criteria")
        .first()
    )


def _version_in_force(rules: ExamRules) -> ExamRules | None:
    """What an amendment changes: the latest approved version before it."""
    return (
        rules.campaign.rule_versions.filter(status=ExamRules.Status.APPROVED, version__lt=rules.version)
        .prefetch_related("parts__criteria")
        .order_by("-version")
        .first()
    )


def _described(rules: ExamRules | None) -> ExamRules | None:
    """Adds what the templates show in words: the tie-break order and the decisive part's name."""
    if rules is not None:
        labels = dict(TieBreak.choices)
        rules.tie_break_labels = [labels.get(code, code) for code in rules.tie_breaks]  # type: ignore[attr-defined]
        names = {part.code: part.name for part in rules.parts.all()}
        rules.decisive_part_name = names.get(rules.decisive_part, rules.decisive_part)  # type: ignore[attr-defined]
    return rules


def _refusal(request: HttpRequest, refused: Refused) -> None:
    messages.error(request, refused.message)


# --- HR: the rules editor -----------------------------------------------------------------


@role_required(Role.HR)
def hr_rules(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _get_campaign(campaign_id)
    draft = _draft_of(campaign)
    editor = RulesEditor(request.POST or None, rules=draft) if draft else None
    if request.method == "POST":
        if editor is None or request.POST.get("rules") != str(draft.pk):  # type: ignore[union-attr]
            messages.error(request, _("These rules are approved and frozen. Propose an amendment instead."))
            return redirect("hr_rules", campaign.pk)
        if editor.is_valid():
            try:
                editor.save(by=request.user)  # type: ignore[arg-type]
            except Refused as refused:
                _refusal(request, refused)
            else:
                messages.success(request, _("Draft saved. The council chair can now review and approve it."))
            return redirect("hr_rules", campaign.pk)
        messages.error(request, _("Nothing was saved: correct the errors shown below."))
    context = {
        "campaign": campaign,
        "current": _described(current_rules(campaign)),
        "draft": draft,
        "editor": editor,
        "amendment_form": AmendmentForm(),
    }
    return render(request, "rules/hr_rules.html", context)


@role_required(Role.HR)
@require_POST
def hr_rules_start(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _get_campaign(campaign_id)
    form = AmendmentForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""  # the service says when it is needed
    try:
        rules = create_rules_draft(campaign=campaign, by=request.user, reason=reason)  # type: ignore[arg-type]
    except Refused as refused:
        _refusal(request, refused)
    else:
        messages.success(request, _("Draft version %(version)d created: edit it below.") % {"version": rules.version})
    return redirect("hr_rules", campaign.pk)


# --- Chair: approval -------------------------------------------------------------------------


@role_required(Role.CHAIR)
def chair_rules_list(request: HttpRequest) -> HttpResponse:
    drafts = (
        ExamRules.objects.filter(status=ExamRules.Status.DRAFT)
        .select_related("campaign", "created_by")
        .order_by("created_at", "pk")
    )
    return render(request, "rules/chair_list.html", {"drafts": drafts})


@role_required(Role.CHAIR)
def chair_rules_detail(request: HttpRequest, rules_id: int) -> HttpResponse:
    rules = _get_rules(rules_id)
    base = _version_in_force(rules)
    context = {
        "rules": _described(rules),
        "base": base,
        "changes": rules_changes(rules_snapshot(base), rules_snapshot(rules)) if base else None,
        "form": ApprovalForm(initial={"fingerprint": rules_fingerprint(rules)}),
        "is_author": rules.created_by_id == request.user.pk,
    }
    return render(request, "rules/chair_detail.html", context)


@role_required(Role.CHAIR)
@require_POST
def chair_rules_approve(request: HttpRequest, rules_id: int) -> HttpResponse:
    rules = _get_rules(rules_id)
    form = ApprovalForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Open the draft and read it before approving it."))
        return redirect("chair_rules_detail", rules.pk)
    try:
        approve_rules_as_read(rules=rules, by=request.user, fingerprint=form.cleaned_data["fingerprint"])  # type: ignore[arg-type]
    except Refused as refused:
        _refusal(request, refused)
    else:
        messages.success(
            request, _("Version %(version)d is approved: it is in force and frozen.") % {"version": rules.version}
        )
    return redirect("chair_rules_detail", rules.pk)


# --- Public: every approved version ----------------------------------------------------------------


def campaign_rules(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign.objects.public().select_related("authority"), pk=campaign_id)
    versions = (
        campaign.rule_versions.filter(status=ExamRules.Status.APPROVED)
        .select_related("approved_by")
        .prefetch_related("parts__criteria")
        .order_by("-version")
    )
    return render(
        request, "rules/public_rules.html", {"campaign": campaign, "versions": [_described(v) for v in versions]}
    )


# --- HR: council and panels ----------------------------------------------------------------------


def _council_context(campaign: Campaign, *, can_edit: bool, **extra: Any) -> dict[str, Any]:
    rules = current_rules(campaign)
    parts = list(rules.parts.all()) if rules else []
    panels = list(
        campaign.panels.prefetch_related("memberships__user", "posts").annotate(candidate_count=Count("candidates"))
    )
    for panel in panels:
        panel.missing = len(undeclared(panel))  # type: ignore[attr-defined]
    seated = dict(
        PanelCandidate.objects.filter(panel__campaign=campaign)
        .values("part_code")
        .annotate(n=Count("id"))
        .values_list("part_code", "n")
    )
    codes = {part.code for part in parts}
    sections = [
        {"part": part, "panels": [p for p in panels if p.part_code == part.code], "seated": seated.get(part.code, 0)}
        for part in parts
    ]
    if can_edit:
        extra.setdefault("member_form", CouncilMemberForm(campaign=campaign))
        if rules is not None:
            extra.setdefault("panel_form", PanelForm(campaign=campaign, parts=parts))
    return {
        "campaign": campaign,
        "can_edit": can_edit,
        "council": sorted(campaign.council.select_related("user"), key=lambda m: COUNCIL_ORDER.index(m.role)),
        "rules": rules,
        "sections": sections,
        "other_panels": [p for p in panels if p.part_code not in codes],
        "eligible": Application.objects.filter(post__campaign=campaign, status=Application.Status.ELIGIBLE).count(),
        **extra,
    }


@role_required(Role.HR)
def hr_council(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _get_campaign(campaign_id)
    form = CouncilMemberForm(request.POST or None, campaign=campaign)
    if request.method == "POST" and form.is_valid():
        try:
            set_council_member(campaign=campaign, by=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        except Refused as refused:
            _refusal(request, refused)
        else:
            messages.success(request, _("The council is updated."))
        return redirect("hr_council", campaign.pk)
    return render(request, "rules/council.html", _council_context(campaign, can_edit=True, member_form=form))


@role_required(Role.HR)
@require_POST
def hr_council_remove(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _get_campaign(campaign_id)
    form = PersonForm(request.POST)
    if form.is_valid():
        try:
            remove_council_member(campaign=campaign, user=form.cleaned_data["user"], by=request.user)  # type: ignore[arg-type]
        except Refused as refused:
            _refusal(request, refused)
        else:
            messages.success(request, _("%(name)s is no longer on the council.") % {"name": form.cleaned_data["user"]})
    return redirect("hr_council", campaign.pk)


@role_required(Role.HR)
@require_POST
def hr_panel_create(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _get_campaign(campaign_id)
    rules = current_rules(campaign)
    if rules is None:
        messages.error(request, _("Panels are set up for the parts of the approved exam rules: approve them first."))
        return redirect("hr_council", campaign.pk)
    form = PanelForm(request.POST, campaign=campaign, parts=list(rules.parts.all()))
    if form.is_valid():
        try:
            panel = create_panel(
                campaign=campaign,
                part_code=form.cleaned_data["part_code"],
                name=form.cleaned_data["name"],
                posts=list(form.cleaned_data["posts"]),
                by=request.user,  # type: ignore[arg-type]
            )
        except Refused as refused:
            form.add_error(None, refused.message)
        else:
            messages.success(
                request, _("Panel “%(name)s” created: add its examiners and candidates.") % {"name": panel}
            )
            return redirect("hr_panel_detail", panel.pk)
    return render(request, "rules/council.html", _council_context(campaign, can_edit=True, panel_form=form))


def _panel_context(panel: Panel, request: HttpRequest, *, can_edit: bool, **extra: Any) -> dict[str, Any]:
    seats = panel.candidates.select_related("application__post", "application__candidate").order_by(
        "application__post__title", "application_id"
    )
    missing = undeclared(panel)
    people = User.objects.in_bulk({user_id for user_id, _app in missing[:MISSING_SHOWN]})
    applications = Application.objects.in_bulk({app_id for _user, app_id in missing[:MISSING_SHOWN]})
    posts = panel.campaign.posts.order_by("title").annotate(
        eligible=Count("applications", filter=Q(applications__status=Application.Status.ELIGIBLE), distinct=True),
        in_part=Count(
            "applications__panel_seats", filter=Q(applications__panel_seats__part_code=panel.part_code), distinct=True
        ),
        in_panel=Count("applications__panel_seats", filter=Q(applications__panel_seats__panel=panel), distinct=True),
    )
    if can_edit:
        extra.setdefault("member_form", PanelMemberForm())
        extra.setdefault("assign_form", AssignForm(panel=panel))
    return {
        "panel": panel,
        "campaign": panel.campaign,
        "can_edit": can_edit,
        "members": panel.memberships.select_related("user").order_by("user__full_name"),
        "page": Paginator(seats, PAGE_SIZE).get_page(request.GET.get("page")),
        "missing_count": len(missing),
        "missing": [(people[u], applications[a]) for u, a in missing[:MISSING_SHOWN]],
        "posts": posts,
        **extra,
    }


@role_required(Role.HR)
def hr_panel_detail(request: HttpRequest, panel_id: int) -> HttpResponse:
    panel = _get_panel(panel_id)
    return render(request, "rules/panel.html", _panel_context(panel, request, can_edit=True))


@role_required(Role.HR)
@require_POST
def hr_panel_add_member(request: HttpRequest, panel_id: int) -> HttpResponse:
    panel = _get_panel(panel_id)
    form = PanelMemberForm(request.POST)
    if form.is_valid():
        try:
            add_panel_member(panel=panel, user=form.cleaned_data["user"], by=request.user)  # type: ignore[arg-type]
        except Refused as refused:
            form.add_error("user", refused.message)
        else:
            messages.success(request, _("%(name)s joins the panel.") % {"name": form.cleaned_data["user"]})
            return redirect("hr_panel_detail", panel.pk)
    return render(request, "rules/panel.html", _panel_context(panel, request, can_edit=True, member_form=form))


@role_required(Role.HR)
@require_POST
def hr_panel_remove_member(request: HttpRequest, panel_id: int) -> HttpResponse:
    panel = _get_panel(panel_id)
    form = PersonForm(request.POST)
    if form.is_valid():
        try:
            remove_panel_member(panel=panel, user=form.cleaned_data["user"], by=request.user)  # type: ignore[arg-type]
        except Refused as refused:
            _refusal(request, refused)
        else:
            messages.success(request, _("%(name)s left the panel.") % {"name": form.cleaned_data["user"]})
    return redirect("hr_panel_detail", panel.pk)


@role_required(Role.HR)
@require_POST
def hr_panel_assign(request: HttpRequest, panel_id: int) -> HttpResponse:
    panel = _get_panel(panel_id)
    form = AssignForm(request.POST, panel=panel)
    if not form.is_valid():
        return render(request, "rules/panel.html", _panel_context(panel, request, can_edit=True, assign_form=form))
    applications = form.applications()
    if not applications:
        messages.warning(request, _("These posts have no eligible candidate yet."))
        return redirect("hr_panel_detail", panel.pk)
    try:
        added = assign_to_panel(panel=panel, applications=applications, by=request.user)  # type: ignore[arg-type]
    except Refused as refused:
        _refusal(request, refused)
    else:
        messages.success(
            request,
            ngettext(
                "%(added)d candidate assigned (%(total)d eligible in these posts).",
                "%(added)d candidates assigned (%(total)d eligible in these posts).",
                added,
            )
            % {"added": added, "total": len(applications)},
        )
    return redirect("hr_panel_detail", panel.pk)


@role_required(Role.HR)
@require_POST
def hr_panel_unassign(request: HttpRequest, panel_id: int) -> HttpResponse:
    panel = _get_panel(panel_id)
    form = SeatForm(request.POST)
    if form.is_valid():
        application = get_object_or_404(Application, public_id=form.cleaned_data["application"])
        try:
            remove_from_panel(panel=panel, application=application, by=request.user)  # type: ignore[arg-type]
        except Refused as refused:
            _refusal(request, refused)
        else:
            messages.success(request, _("%(name)s is out of the panel.") % {"name": application.display_name})
    return redirect("hr_panel_detail", panel.pk)


# --- Supervisor: read-only ------------------------------------------------------------------------


@role_required(Role.SUPERVISOR)
def supervisor_council(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _get_campaign(campaign_id)
    return render(request, "rules/council.html", _council_context(campaign, can_edit=False))


@role_required(Role.SUPERVISOR)
def supervisor_panel(request: HttpRequest, panel_id: int) -> HttpResponse:
    panel = _get_panel(panel_id)
    return render(request, "rules/panel.html", _panel_context(panel, request, can_edit=False))


@role_required(Role.SUPERVISOR)
def supervisor_declarations(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _get_campaign(campaign_id)
    form = DeclarationFilterForm(request.GET or None, campaign=campaign)
    panel = form.cleaned_data["panel"] if form.is_valid() else None
    declarations = campaign.declarations.select_related("examiner", "application__candidate").order_by(
        "-declared_at", "-pk"
    )
    panels = [panel] if panel else list(campaign.panels.all())
    if panel is not None:
        declarations = declarations.filter(
            examiner__panel_memberships__panel=panel, application__panel_seats__panel=panel
        )
    missing = sorted({pair for each in panels for pair in undeclared(each)})
    people = User.objects.in_bulk({user_id for user_id, _app in missing[:MISSING_SHOWN]})
    applications = Application.objects.in_bulk({app_id for _user, app_id in missing[:MISSING_SHOWN]})
    context = {
        "campaign": campaign,
        "form": form,
        "panel": panel,
        "page": Paginator(declarations, PAGE_SIZE).get_page(request.GET.get("page")),
        "missing_count": len(missing),
        "missing": [(people[u], applications[a]) for u, a in missing[:MISSING_SHOWN]],
    }
    return render(request, "rules/declarations.html", context)


# --- The differences an amendment makes, field by field -------------------------------------------

RULE_LABELS = {
    "mean_max_spread": gettext_lazy("Largest spread resolved by the mean"),
    "escalate_min_spread": gettext_lazy("Smallest spread escalated"),
    "escalation": gettext_lazy("Escalation"),
    "ranking_basis": gettext_lazy("Ranking basis"),
    "tie_breaks": gettext_lazy("Tie-break order"),
    "decisive_part": gettext_lazy("Decisive part"),
    "min_candidates_per_post": gettext_lazy("Minimum candidates per post"),
    "appeal_window_days": gettext_lazy("Appeal window (days)"),
}
PART_LABELS = {
    "position": gettext_lazy("order"),
    "name": gettext_lazy("name"),
    "max_score": gettext_lazy("maximum score"),
    "decimals": gettext_lazy("decimals"),
    "pass_mark": gettext_lazy("pass mark"),
    "gates_next": gettext_lazy("failing it excludes from the next parts"),
    "weight": gettext_lazy("weight"),
    "marking_mode": gettext_lazy("marking mode"),
    "appealable": gettext_lazy("may be appealed"),
    "criteria": gettext_lazy("rubric criteria"),
}
CHOICE_LABELS = {
    "escalation": dict(Escalation.choices),
    "ranking_basis": dict(RankingBasis.choices),
    "marking_mode": dict(MarkingMode.choices),
}
NUMBERS = {"mean_max_spread", "escalate_min_spread", "max_score", "pass_mark", "weight"}


def shown(name: str, value: Any) -> str:
    """A snapshot value as the chair reads it."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if name == "tie_breaks":
        labels = dict(TieBreak.choices)
        return " → ".join(str(labels.get(code, code)) for code in value)
    if name == "criteria":
        return "; ".join(f"{c['name']} ({plain_number(Decimal(c['max_score']))})" for c in value)
    if name in CHOICE_LABELS:
        return str(CHOICE_LABELS[name].get(value, value))
    if name in NUMBERS:
        return plain_number(Decimal(value))
    return str(value)


def rules_changes(before: dict[str, Any], after: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(what, before, after) for every setting and every part that differs between two versions."""
    changes = [
        (str(label), shown(name, before[name]), shown(name, after[name]))
        for name, label in RULE_LABELS.items()
        if before[name] != after[name]
    ]
    old = {part["code"]: part for part in before["parts"]}
    new = {part["code"]: part for part in after["parts"]}
    for code in [*old, *(code for code in new if code not in old)]:
        title = _("Part “%(code)s”") % {"code": code}
        if code not in new:
            changes.append((title, old[code]["name"], _("removed")))
        elif code not in old:
            changes.append((title, "—", _("added: %(name)s") % {"name": new[code]["name"]}))
        else:
            changes.extend(
                (f"{title}: {label}", shown(name, old[code][name]), shown(name, new[code][name]))
                for name, label in PART_LABELS.items()
                if old[code][name] != new[code][name]
            )
    return changes
