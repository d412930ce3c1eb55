from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.context_processors import role_links
from accounts.forms import StaffInviteForm
from accounts.models import User
from accounts.permissions import can_manage_staff, role_required
from accounts.roles import STAFF_ROLES, Role
from accounts.services import invite_staff
from config.errors import Refused
from exams.models import Campaign, Post


def home(request: HttpRequest) -> HttpResponse:
    campaigns = Campaign.objects.public().select_related("authority")[:10]
    return render(
        request,
        "accounts/home.html",
        {"campaigns": campaigns, "roles": role_links(request.user)},
    )


@role_required(Role.CANDIDATE)
def candidate_home(request: HttpRequest) -> HttpResponse:
    applications = request.user.applications.select_related(  # type: ignore[union-attr]
        "post__organisation", "post__campaign"
    ).order_by("-created_at")
    context = {
        "applications": applications,
        "profile": getattr(request.user, "profile", None),
        "open_posts": Post.objects.public()
        .filter(application_opens__lte=timezone.now(), application_closes__gt=timezone.now())
        .select_related("organisation")[:20],
    }
    return render(request, "accounts/candidate_home.html", context)


@role_required(Role.HR)
def hr_home(request: HttpRequest) -> HttpResponse:
    campaigns = Campaign.objects.select_related("authority").order_by("-created_at")
    return render(request, "accounts/hr_home.html", {"campaigns": campaigns})


@role_required(Role.CHAIR)
def chair_home(request: HttpRequest) -> HttpResponse:
    from exams.models import ExamRules
    from scoring.models import ReopenRequest, Resolution, ResultSet, Reveal

    context = {
        "rules_waiting": ExamRules.objects.filter(status=ExamRules.Status.DRAFT).count(),
        "disagreements": Resolution.objects.filter(
            is_current=True, status__in=[Resolution.Status.PENDING_CHAIR, Resolution.Status.PENDING_COUNCIL]
        ).count(),
        "reopens": ReopenRequest.objects.filter(approved_at__isnull=True).count(),
        "reveals": Reveal.objects.filter(revealed_at__isnull=True).count(),
        "results_waiting": ResultSet.objects.filter(status=ResultSet.Status.DRAFT).select_related("campaign"),
        "campaigns": Campaign.objects.public().select_related("authority"),
    }
    return render(request, "accounts/chair_home.html", context)


@role_required(Role.EXAMINER)
def examiner_home(request: HttpRequest) -> HttpResponse:
    return redirect("marking_workspace")


@role_required(Role.SUPERVISOR)
def supervisor_home(request: HttpRequest) -> HttpResponse:
    campaigns = Campaign.objects.public().select_related("authority")
    return render(request, "accounts/supervisor_home.html", {"campaigns": campaigns})


@require_http_methods(["GET", "POST"])
def staff_list(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("account_login")
    if not can_manage_staff(request.user):
        raise PermissionDenied
    form = StaffInviteForm(request.POST or None, inviter=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            user = invite_staff(invited_by=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        except Refused as refused:
            form.add_error("roles", refused.message)
        else:
            messages.success(request, _("Invitation sent to %(email)s.") % {"email": user.email})
            return redirect("staff_list")
    staff = (
        User.objects.filter(groups__name__in=[r.value for r in STAFF_ROLES])
        .distinct()
        .prefetch_related("groups")
        .order_by("full_name")
    )
    return render(request, "accounts/staff_list.html", {"form": form, "staff": staff})
