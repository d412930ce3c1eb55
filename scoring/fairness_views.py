"""The fairness report: a campaign's normalisation runs, and one run explained.

HR starts runs; the council chair and the supervisors read the same pages without the form.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRefresh

from accounts.permissions import role_required
from accounts.roles import Role
from config.errors import Refused
from exams.models import Campaign
from exams.services import current_rules
from scoring.fairness import DEFAULT_PARAMETERS, run_report, start_normalisation
from scoring.models import NormalisationRun

READERS = (Role.HR, Role.CHAIR, Role.SUPERVISOR)
UNFINISHED = (NormalisationRun.Status.QUEUED, NormalisationRun.Status.RUNNING)


class RunForm(forms.Form):
    part_code = forms.ChoiceField(label=gettext_lazy("Part"))
    method = forms.ChoiceField(
        label=gettext_lazy("Method"),
        choices=NormalisationRun.Method.choices,
        initial=NormalisationRun.Method.ADDITIVE,
    )
    severity_points = forms.DecimalField(
        label=gettext_lazy("Severity threshold (points)"),
        min_value=0,
        max_value=100,
        decimal_places=2,
        initial=DEFAULT_PARAMETERS["severity_points"],
        help_text=gettext_lazy(
            "An examiner is flagged when their severity exceeds both two standard errors and this many points."
        ),
    )
    min_group = forms.IntegerField(
        label=gettext_lazy("Smallest panel to equate"),
        min_value=2,
        max_value=1000,
        initial=DEFAULT_PARAMETERS["min_group"],
        help_text=gettext_lazy("Equating methods only: a panel with fewer candidates stops the run."),
    )

    def __init__(self, *args: Any, campaign: Campaign, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rules = current_rules(campaign)
        self.fields["part_code"].choices = [(p.code, p.name) for p in rules.parts.all()] if rules else []  # type: ignore[attr-defined]

    def parameters(self) -> dict[str, float | int]:
        return {
            "severity_points": float(self.cleaned_data["severity_points"]),
            "min_group": self.cleaned_data["min_group"],
        }


def _get_run(campaign_id: int, run_id: int) -> NormalisationRun:
    return get_object_or_404(
        NormalisationRun.objects.select_related("campaign", "created_by"), pk=run_id, campaign_id=campaign_id
    )


def _runs_page(request: HttpRequest, campaign: Campaign, form: RunForm | None, status: int = 200) -> HttpResponse:
    rules = current_rules(campaign)
    context = {
        "campaign": campaign,
        "runs": campaign.normalisation_runs.select_related("created_by").order_by("-created_at", "-pk"),  # type: ignore[attr-defined]
        "part_names": {p.code: p.name for p in rules.parts.all()} if rules else {},
        "form": form,
    }
    return render(request, "fairness/runs.html", context, status=status)


@role_required(*READERS)
def fairness_runs(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    form = RunForm(campaign=campaign) if request.user.has_role(Role.HR) else None  # type: ignore[union-attr]
    return _runs_page(request, campaign, form)


@role_required(Role.HR)
@require_POST
def fairness_start(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    form = RunForm(request.POST, campaign=campaign)
    if form.is_valid():
        try:
            run = start_normalisation(
                campaign=campaign,
                part_code=form.cleaned_data["part_code"],
                method=form.cleaned_data["method"],
                by=request.user,  # type: ignore[arg-type]
                parameters=form.parameters(),
            )
        except Refused as refused:
            form.add_error(None, refused.message)
        else:
            messages.success(request, _("Run %(version)d is queued; this page follows it.") % {"version": run.version})
            return redirect("fairness_run", campaign.pk, run.pk)
    return _runs_page(request, campaign, form, status=400)


@role_required(*READERS)
def fairness_run(request: HttpRequest, campaign_id: int, run_id: int) -> HttpResponse:
    run = _get_run(campaign_id, run_id)
    context = {"run": run, "campaign": run.campaign, "report": run_report(run=run), "polling": run.status in UNFINISHED}
    return render(request, "fairness/run.html", context)


@role_required(*READERS)
def fairness_run_status(request: HttpRequest, campaign_id: int, run_id: int) -> HttpResponse:
    """Polled by htmx while the run is queued or running; reloads the page once it has finished."""
    run = _get_run(campaign_id, run_id)
    if run.status not in UNFINISHED:
        if request.htmx:  # type: ignore[attr-defined]
            return HttpResponseClientRefresh()
        return redirect("fairness_run", campaign_id, run_id)
    return render(request, "fairness/_status.html", {"run": run, "campaign": run.campaign})
