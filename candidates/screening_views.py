"""HR screening: the queue of a post, one application beside its evidence, decisions, publication, export.

HR screens; the council chair and the supervisors read the same pages without the forms.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from accounts.permissions import role_required
from accounts.roles import Role
from candidates.eligibility import CriterionResult
from candidates.exports import export_applications
from candidates.models import Application, CriterionCheck, Gender, PriorityCategory, Rating
from candidates.screening_forms import CriterionReviewForm, DecisionForm, ScreeningFilterForm
from candidates.services import SCREENABLE, decide_application, publish_eligible_list, review_criterion
from config.errors import Refused
from exams.collation import name_key
from exams.models import DegreeLevel, LanguageLevel, PoliticalTheory, Post, StateManagement

SCREENING_READERS = (Role.HR, Role.CHAIR, Role.SUPERVISOR)
PAGE_SIZE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

CRITERION_LABELS = {
    "degree": gettext_lazy("Degree"),
    "political_theory": gettext_lazy("Political theory"),
    "state_management": gettext_lazy("State-management training"),
    "language": gettext_lazy("Foreign language"),
    "years_service": gettext_lazy("Years in public service"),
    "years_current_post": gettext_lazy("Years in the current post"),
    "years_management": gettext_lazy("Years in management"),
    "plan_or_nomination": gettext_lazy("Succession plan or nomination"),
    "no_discipline": gettext_lazy("No discipline"),
    "ratings": gettext_lazy("Annual ratings"),
    "age_full_term": gettext_lazy("Age: a full term before retirement"),
}


# --- Access helpers ---------------------------------------------------------------


def _get_post(post_id: int) -> Post:
    return get_object_or_404(Post.objects.select_related("campaign", "organisation"), pk=post_id)


def _get_application(public_id: object) -> Application:
    # Drafts belong to the candidate alone until they are submitted.
    application = (
        Application.objects.select_related("post__campaign", "post__organisation")
        .exclude(status=Application.Status.DRAFT)
        .filter(public_id=public_id)
        .first()
    )
    if application is None:
        raise Http404
    return application


def _can_screen(request: HttpRequest, application: Application) -> bool:
    return (
        request.user.has_role(Role.HR)  # type: ignore[union-attr]
        and application.status in SCREENABLE
        and application.post.eligible_list_published_at is None
    )


# --- Queue ------------------------------------------------------------------------


def _filtered(applications: QuerySet[Application], form: ScreeningFilterForm) -> QuerySet[Application]:
    if not form.is_valid():
        return applications
    data = form.cleaned_data
    if data["status"]:
        applications = applications.filter(status=data["status"])
    if data["auto"]:
        applications = applications.filter(auto_eligible=data["auto"] == "passed")
    if data["q"]:
        applications = applications.filter(profile_snapshot__full_name__icontains=data["q"])
    return applications


@role_required(*SCREENING_READERS)
def screening_queue(request: HttpRequest, post_id: int) -> HttpResponse:
    post = _get_post(post_id)
    form = ScreeningFilterForm(request.GET)
    submitted = post.applications.exclude(status=Application.Status.DRAFT)
    counts = dict(submitted.order_by().values_list("status").annotate(n=Count("id")))
    rows = (
        _filtered(submitted, form)
        .annotate(
            full_name=KeyTextTransform("full_name", "profile_snapshot"),
            failed_criteria=Count("criteria", filter=Q(criteria__auto_passed=False)),
        )
        # post_id too: the related manager sets each row's post from it.
        .only("post_id", "public_id", "status", "submitted_at", "auto_eligible")
        .order_by("submitted_at", "id")
    )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    status_counts = [
        (value, label, counts.get(value, 0)) for value, label in Application.Status.choices if value != "draft"
    ]
    context = {
        "post": post,
        "form": form,
        "page": page,
        "status_counts": status_counts,
        "total": sum(counts.values()),
        "pending": counts.get(Application.Status.SUBMITTED, 0),
        "eligible": counts.get(Application.Status.ELIGIBLE, 0),
        "can_screen": request.user.has_role(Role.HR),  # type: ignore[union-attr]
    }
    return render(request, "screening/queue.html", context)


@role_required(Role.HR)
@require_POST
def screening_publish(request: HttpRequest, post_id: int) -> HttpResponse:
    post = _get_post(post_id)
    try:
        eligible = publish_eligible_list(post=post, by=request.user)  # type: ignore[arg-type]
    except Refused as refused:
        messages.error(request, refused.message)
        return redirect("screening_queue", post.pk)
    post.refresh_from_db()
    messages.success(
        request,
        ngettext(
            "The eligible list is published: %(count)d candidate.",
            "The eligible list is published: %(count)d candidates.",
            len(eligible),
        )
        % {"count": len(eligible)},
    )
    if post.needs_reannouncement:
        messages.warning(
            request, _("Fewer eligible candidates than the campaign's minimum: the post must be re-announced.")
        )
    return redirect("screening_queue", post.pk)


@role_required(Role.HR)
def screening_export(request: HttpRequest, post_id: int) -> HttpResponse:
    post = _get_post(post_id)
    applications = post.applications.exclude(status=Application.Status.DRAFT).only(
        "post_id", "profile_snapshot", "submitted_at", "auto_eligible", "status", "decision_reason"
    )
    ordered = sorted(applications.iterator(chunk_size=2000), key=lambda a: name_key(a.display_name))
    response = HttpResponse(export_applications(ordered), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="applications-post-{post.pk}.xlsx"'
    return response


# --- One application --------------------------------------------------------------


def _render_text(check: CriterionCheck) -> tuple[str, str, str]:
    params = {key: _display_param(value) for key, value in check.params.items()}
    result = CriterionResult(check.code, check.auto_passed, check.required, check.actual, check.reason, params)
    try:
        return result.render(_)
    except (KeyError, IndexError, ValueError):
        # A broken translation must not hide the finding: fall back to the English text.
        return result.render()


def _display_param(value: Any) -> Any:
    if isinstance(value, str) and len(value) == 10 and value[4:5] == "-":
        try:
            return date.fromisoformat(value).strftime("%d/%m/%Y")
        except ValueError:
            return value
    return value


def _criterion_row(check: CriterionCheck, *, form: CriterionReviewForm | None = None, saved: bool = False) -> dict:
    required, actual, reason = _render_text(check)
    if form is None:
        form = CriterionReviewForm(
            prefix=f"criterion-{check.pk}", initial={"passed": "1" if check.passed else "0", "reason": check.hr_reason}
        )
    return {
        "check": check,
        "label": CRITERION_LABELS.get(check.code, check.code),
        "required": required,
        "actual": actual,
        "reason": reason,
        "form": form,
        "saved": saved,
        "overridden": check.hr_passed is not None and check.hr_passed != check.auto_passed,
    }


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


def _label(choices: Any, value: Any) -> Any:
    return dict(choices).get(value, value) if value is not None else None


def _yes_no(value: Any) -> str | None:
    return None if value is None else (_("Yes") if value else _("No"))


def _profile_sections(snapshot: dict[str, Any]) -> list[tuple[str, list[tuple[str, Any]]]]:
    get = snapshot.get
    return [
        (
            _("Personal data"),
            [
                (_("Full name"), get("full_name")),
                (_("Date of birth"), _day(get("date_of_birth"))),
                (_("Gender"), _label(Gender.choices, get("gender"))),
                (_("Citizen ID (CCCD)"), get("citizen_id")),
                (_("Ethnicity"), get("ethnicity")),
                (_("Phone"), get("phone")),
                (_("Address"), get("address")),
            ],
        ),
        (
            _("Education and training"),
            [
                (_("Highest degree"), _label(DegreeLevel.choices, get("degree_level"))),
                (_("Field of study"), get("degree_field")),
                (_("Institution"), get("degree_institution")),
                (_("Year of graduation"), get("degree_year")),
                (_("Political theory"), _label(PoliticalTheory.choices, get("political_theory"))),
                (_("State-management training"), _label(StateManagement.choices, get("state_management"))),
                (_("Foreign-language level"), _label(LanguageLevel.choices, get("language_level"))),
            ],
        ),
        (
            _("Service"),
            [
                (_("In public service since"), _day(get("service_start"))),
                (_("Current organisation"), get("current_organisation")),
                (_("Current position"), get("current_position")),
                (_("In the current position since"), _day(get("current_post_since"))),
                (_("In the succession plan"), _yes_no(get("in_succession_plan"))),
                (_("Planned for"), get("succession_plan_details")),
                (_("Nominated"), _yes_no(get("nominated"))),
                (_("Nominated by"), get("nomination_details")),
                (_("A disciplinary measure is in force"), _yes_no(get("discipline_in_force"))),
                (_("Discipline record"), get("discipline_details")),
            ],
        ),
        (
            _("Priority category"),
            [
                (_("Priority category"), _label(PriorityCategory.choices, get("priority", PriorityCategory.NONE))),
                (_("Proof of the priority category"), get("priority_details")),
            ],
        ),
    ]


def _render_detail(
    request: HttpRequest,
    application: Application,
    *,
    criterion_form: tuple[int, CriterionReviewForm] | None = None,
    decision_form: DecisionForm | None = None,
) -> HttpResponse:
    snapshot = application.profile_snapshot or {}
    checks = application.criteria.all()
    rows = [
        _criterion_row(check, form=criterion_form[1] if criterion_form and criterion_form[0] == check.pk else None)
        for check in checks
    ]
    jobs = [
        {**job, "start": _day(job.get("start")), "end": _day(job.get("end"))}
        for job in snapshot.get("work_history", [])
    ]
    ratings = sorted(
        ((int(year), _label(Rating.choices, value)) for year, value in snapshot.get("ratings", {}).items())
    )
    context = {
        "application": application,
        "post": application.post,
        "rows": rows,
        "documents": application.documents.all(),
        "sections": _profile_sections(snapshot),
        "jobs": jobs,
        "ratings": ratings[::-1],
        "can_screen": _can_screen(request, application),
        "decision_form": decision_form
        or DecisionForm(
            initial={
                "eligible": "1" if application.auto_eligible else "0",
                "priority_accepted": application.priority_accepted,
            }
        ),
        "claims_priority": bool(snapshot.get("priority")),
    }
    return render(request, "screening/detail.html", context)


@role_required(*SCREENING_READERS)
def screening_detail(request: HttpRequest, public_id: object) -> HttpResponse:
    return _render_detail(request, _get_application(public_id))


@role_required(Role.HR)
@require_POST
def screening_review_criterion(request: HttpRequest, public_id: object, check_id: int) -> HttpResponse:
    application = _get_application(public_id)
    check = get_object_or_404(application.criteria, pk=check_id)
    form = CriterionReviewForm(request.POST, prefix=f"criterion-{check.pk}")
    saved = False
    if form.is_valid():
        try:
            review_criterion(check=check, by=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        except Refused as refused:
            if refused.code != "reason_required" and not request.htmx:  # type: ignore[attr-defined]
                messages.error(request, refused.message)
                return redirect("screening_detail", application.public_id)
            form.add_error("reason" if refused.code == "reason_required" else None, refused.message)
        else:
            if not request.htmx:  # type: ignore[attr-defined]
                messages.success(request, _("Criterion reviewed."))
                return redirect("screening_detail", application.public_id)
            check.refresh_from_db()
            form, saved = None, True
    if request.htmx:  # type: ignore[attr-defined]
        context = {"row": _criterion_row(check, form=form, saved=saved), "application": application, "can_screen": True}
        return render(request, "screening/_criterion_row.html", context)
    return _render_detail(request, application, criterion_form=(check.pk, form))


@role_required(Role.HR)
@require_POST
def screening_decide(request: HttpRequest, public_id: object) -> HttpResponse:
    application = _get_application(public_id)
    form = DecisionForm(request.POST)
    if form.is_valid():
        try:
            decide_application(application=application, by=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        except Refused as refused:
            if refused.code == "not_screenable":
                messages.error(request, refused.message)
                return redirect("screening_detail", application.public_id)
            form.add_error("reason" if refused.code == "reason_required" else None, refused.message)
        else:
            messages.success(
                request,
                _("%(name)s: decision recorded and e-mailed to the candidate.") % {"name": application.display_name},
            )
            return redirect("screening_queue", application.post_id)
    return _render_detail(request, application, decision_form=form)
