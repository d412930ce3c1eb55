"""Results pages: the public lists, the candidate's own results and appeals, the council's review and
publication, the appeals desk, the re-marker's blind page, and the exports.

Staff (HR, chair, supervisor) read every version; the public and candidates read published ones only.
A candidate's own page and forms answer anyone else's application as missing (404).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast
from uuid import UUID

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import User
from accounts.permissions import role_required
from accounts.roles import Role
from candidates.models import Application
from config.errors import Refused
from exams.models import Campaign, Post
from exams.services import current_rules
from scoring import appeals, results
from scoring.models import Appeal, ResultEntry, ResultSet
from scoring.results import outcome_labels
from scoring.results_exports import certificates_zip, ranked_list_csv, ranked_list_pdf, ranked_list_xlsx
from scoring.results_forms import (
    AppealDecisionForm,
    AppealForm,
    AssignRemarkerForm,
    PrepareForm,
    RemarkDeclarationForm,
    RemarkForm,
    TieDecisionForm,
)

READERS = (Role.HR, Role.CHAIR, Role.SUPERVISOR)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _part_names(result_set: ResultSet | None, campaign: Campaign) -> dict[str, str]:
    parts = results.snapshot_key(result_set, "parts") if result_set is not None else None
    if parts:
        return {p["code"]: p["name"] for p in parts}
    rules = current_rules(campaign)
    return {p.code: p.name for p in rules.parts.all()} if rules else {}


def _decorate(
    entries: list[ResultEntry], parts: list[tuple[str, str]], result_set: ResultSet | None
) -> list[ResultEntry]:
    """Marks and totals as the reader's language writes numbers (72,5 in Vietnamese)."""
    decimals = int((results.snapshot_key(result_set, "decimals") if result_set else None) or 1)
    labels = outcome_labels()
    for entry in entries:
        entry.outcome_label = labels.get(entry.outcome, entry.outcome)  # type: ignore[attr-defined]
        entry.cells = [_number(entry.part_marks.get(code)) for code, _name in parts]  # type: ignore[attr-defined]
        entry.total_text = "—" if entry.total is None else number_format(entry.total, decimals)  # type: ignore[attr-defined]
    return entries


def _number(value: str | None) -> str:
    return "—" if value in (None, "") else number_format(Decimal(str(value)))


def certificate_url(entry: ResultEntry) -> str | None:
    certificate = getattr(entry, "certificate", None)
    if certificate is None or certificate.status != "valid" or not certificate.pdf:
        return None
    try:
        return reverse("certificate_download", kwargs={"serial": certificate.serial})
    except NoReverseMatch:  # the certificates pages are not installed yet
        return None


def _refused(request: HttpRequest, refused: Refused) -> None:
    messages.error(request, str(refused.message))


# --- Public pages ----------------------------------------------------------------------------


def _public_post(post_id: int) -> Post:
    return get_object_or_404(Post.objects.public().select_related("campaign", "organisation"), pk=post_id)


def _versions(post: Post) -> list[ResultSet]:
    return list(
        results.versions()
        .filter(campaign=post.campaign, status__in=results.FROZEN, entries__post=post)
        .distinct()
        .order_by("-version")
    )


def _public_context(post: Post, shown: ResultSet | None) -> dict[str, Any]:
    parts = list(_part_names(shown, post.campaign).items())
    return {
        "post": post,
        "shown": shown,
        "entries": _decorate(results.entries_of(shown, post), parts, shown) if shown else [],
        "parts": parts,
        "outcomes": outcome_labels(),
        "versions": _versions(post),
    }


def public_post(request: HttpRequest, post_id: int) -> HttpResponse:
    post = _public_post(post_id)
    shown = results.current_published(post.campaign_id)
    return render(request, "results/public_post.html", _public_context(post, shown))


def public_post_version(request: HttpRequest, post_id: int, version: int) -> HttpResponse:
    post = _public_post(post_id)
    shown = get_object_or_404(results.versions(), campaign=post.campaign, version=version, status__in=results.FROZEN)
    if not shown.entries.filter(post=post).exists():
        raise Http404
    return render(request, "results/public_post.html", _public_context(post, shown))


# --- The candidate's own results --------------------------------------------------------------


@dataclass
class Card:
    application: Application
    entry: ResultEntry | None
    proof: list[str]
    marks: list[tuple[str, str]]
    certificate_url: str | None
    window: appeals.Window | None
    appeals: list[Appeal]
    form: AppealForm | None
    versions: list[ResultSet] = field(default_factory=list)


def _card(application: Application) -> Card | None:
    campaign = application.post.campaign
    published = results.current_published(campaign)
    versions = [v for v in _versions(application.post) if v.entries.filter(application=application).exists()]
    if not versions:
        return None
    entry = (
        published.entries.select_related("certificate").filter(application=application).first() if published else None
    )
    names = _part_names(published, campaign)
    if entry is not None:
        _decorate([entry], list(names.items()), published)
    window = appeals.appeal_window(campaign)
    filed = list(application.appeals.order_by("filed_at"))
    for appeal in filed:
        appeal.part_name = names.get(appeal.part_code, appeal.part_code)  # type: ignore[attr-defined]
    parts = [
        p
        for p in appeals.appealable_parts(campaign)
        if p.code not in {a.part_code for a in filed} and entry and entry.part_marks.get(p.code)
    ]
    open_form = AppealForm(parts=parts, prefix=str(application.public_id)) if window and window.is_open() else None
    return Card(
        application=application,
        entry=entry,
        proof=results.proof_lines(entry.proof, names) if entry else [],
        marks=list(zip(names.values(), entry.cells, strict=True)) if entry else [],  # type: ignore[attr-defined]
        certificate_url=certificate_url(entry) if entry else None,
        window=window,
        appeals=filed,
        form=open_form if parts else None,
        versions=versions,
    )


@role_required(Role.CANDIDATE)
def my_results(request: HttpRequest) -> HttpResponse:
    applications = (
        Application.objects.filter(candidate=request.user, status=Application.Status.ELIGIBLE)
        .select_related("post__campaign", "post__organisation")
        .order_by("-created_at")
    )
    cards = [card for card in (_card(a) for a in applications) if card is not None]
    return render(request, "results/my_results.html", {"cards": cards, "outcomes": outcome_labels()})


@role_required(Role.CANDIDATE)
@require_POST
def appeal_file(request: HttpRequest, public_id: UUID) -> HttpResponse:
    application = get_object_or_404(
        Application.objects.select_related("post__campaign"), public_id=public_id, candidate=request.user
    )
    form = AppealForm(request.POST, parts=appeals.appealable_parts(application.post.campaign), prefix=str(public_id))
    if not form.is_valid():
        messages.error(request, _("Choose the part and give the reason for the appeal."))
        return redirect("my_results")
    try:
        appeals.file_appeal(
            application=application,
            part_code=form.cleaned_data["part"],
            reason=form.cleaned_data["reason"],
            by=_user(request),
        )
    except Refused as refused:
        _refused(request, refused)
    else:
        messages.success(request, _("Your appeal is filed. You will be told of the outcome by e-mail."))
    return redirect("my_results")


# --- Review, tie decisions, approval and publication --------------------------------------------


def _review_context(request: HttpRequest, campaign: Campaign) -> dict[str, Any]:
    draft = results.latest_unpublished(campaign)
    published = results.current_published(campaign)
    shown = draft or published
    user = _user(request)
    ties = results.tie_groups(draft) if draft else {}
    parts = list(_part_names(shown, campaign).items())
    posts = []
    for post in campaign.posts.order_by("title", "pk"):
        groups = ties.get(post.pk, [])
        forms = [
            TieDecisionForm(members=[(str(e.application.public_id), e.full_name) for e in group], prefix=f"tie{n}")
            for n, group in enumerate(groups)
        ]
        entries = _decorate(results.entries_of(shown, post), parts, shown) if shown else []
        posts.append({"post": post, "entries": entries, "tie_forms": forms})
    return {
        "campaign": campaign,
        "draft": draft,
        "published": published,
        "shown": shown,
        "posts": posts,
        "parts": parts,
        "outcomes": outcome_labels(),
        "changes": results.diff(draft, published) if draft else [],
        "blocking_ties": results.blocking_ties(draft) if draft else 0,
        "versions": list(
            results.versions()
            .filter(campaign=campaign)
            .select_related("prepared_by", "approved_by")
            .order_by("-version")
        ),
        "prepare_form": PrepareForm(),
        "can_prepare": user.has_role(Role.HR),
        "can_approve": bool(
            draft and draft.status == "draft" and user.has_role(Role.CHAIR) and draft.prepared_by_id != user.pk
        ),
        "can_publish": bool(draft and draft.status == "approved" and user.has_role(Role.HR, Role.CHAIR)),
        "is_chair": user.has_role(Role.CHAIR),
        "is_hr": user.has_role(Role.HR),
        "open_appeals": appeals.open_appeals(campaign),
        "batch": published.certificate_batches.order_by("-created_at").first() if published else None,
    }


@role_required(*READERS)
def review(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    return render(request, "results/review.html", _review_context(request, campaign))


@role_required(Role.HR)
@require_POST
def prepare(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    form = PrepareForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        result_set = results.prepare_results(campaign=campaign, by=_user(request), reason=reason)
    except Refused as refused:
        _refused(request, refused)
    else:
        messages.success(
            request,
            _("Version %(version)d is prepared: the council chair can review and approve it.")
            % {"version": result_set.version},
        )
    return redirect("results_review", campaign.pk)


def _result_set(result_set_id: int) -> ResultSet:
    return get_object_or_404(results.versions().select_related("campaign"), pk=result_set_id)


@role_required(Role.CHAIR)
@require_POST
def approve(request: HttpRequest, result_set_id: int) -> HttpResponse:
    result_set = _result_set(result_set_id)
    try:
        results.approve_results(result_set=result_set, by=_user(request))
    except Refused as refused:
        _refused(request, refused)
    else:
        messages.success(
            request, _("Version %(version)d is approved: it can now be published.") % {"version": result_set.version}
        )
    return redirect("results_review", result_set.campaign_id)


@role_required(Role.HR, Role.CHAIR)
@require_POST
def publish(request: HttpRequest, result_set_id: int) -> HttpResponse:
    result_set = _result_set(result_set_id)
    try:
        published = results.publish_results(result_set=result_set, by=_user(request))
    except Refused as refused:
        _refused(request, refused)
        return redirect("results_review", result_set.campaign_id)
    messages.success(
        request, _("Version %(version)d is published; every candidate is e-mailed.") % {"version": published.version}
    )
    if published.certificates_refused:  # type: ignore[attr-defined]
        why = published.certificates_refused  # type: ignore[attr-defined]
        messages.warning(request, _("The certificates could not be issued yet: %(why)s") % {"why": why})
    return redirect("results_review", result_set.campaign_id)


@role_required(Role.CHAIR)
@require_POST
def tie_decide(request: HttpRequest, result_set_id: int, post_id: int) -> HttpResponse:
    result_set = _result_set(result_set_id)
    post = get_object_or_404(Post, pk=post_id, campaign=result_set.campaign)
    groups = results.tie_groups(result_set).get(post.pk, [])
    index = int(request.POST.get("group", "-1")) if str(request.POST.get("group", "")).isdigit() else -1
    if not 0 <= index < len(groups):
        raise Http404
    members = [(str(e.application.public_id), e.full_name) for e in groups[index]]
    form = TieDecisionForm(request.POST, members=members, prefix=f"tie{index}")
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect("results_review", result_set.campaign_id)
    try:
        results.decide_tie(
            campaign=result_set.campaign,
            post=post,
            order=form.order(),
            reason=form.cleaned_data["reason"],
            by=_user(request),
        )
    except Refused as refused:
        _refused(request, refused)
    else:
        messages.success(request, _("Your decision is recorded and the prepared version is recomputed with it."))
    return redirect("results_review", result_set.campaign_id)


# --- Exports ------------------------------------------------------------------------------------


def _export_target(result_set_id: int, post_id: int) -> tuple[ResultSet, Post]:
    result_set = _result_set(result_set_id)
    post = get_object_or_404(Post.objects.select_related("organisation"), pk=post_id, campaign=result_set.campaign)
    return result_set, post


def _download(data: bytes, *, name: str, content_type: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@role_required(*READERS)
def export_pdf(request: HttpRequest, result_set_id: int, post_id: int) -> HttpResponse:
    result_set, post = _export_target(result_set_id, post_id)
    name = f"ket-qua-post{post.pk}-v{result_set.version}.pdf"
    return _download(ranked_list_pdf(result_set, post), name=name, content_type="application/pdf")


@role_required(*READERS)
def export_xlsx(request: HttpRequest, result_set_id: int, post_id: int) -> HttpResponse:
    result_set, post = _export_target(result_set_id, post_id)
    name = f"ket-qua-post{post.pk}-v{result_set.version}.xlsx"
    return _download(ranked_list_xlsx(result_set, post), name=name, content_type=XLSX)


@role_required(*READERS)
def export_csv(request: HttpRequest, result_set_id: int, post_id: int) -> HttpResponse:
    result_set, post = _export_target(result_set_id, post_id)
    name = f"ket-qua-post{post.pk}-v{result_set.version}.csv"
    return _download(ranked_list_csv(result_set, post), name=name, content_type="text/csv; charset=utf-8")


@role_required(Role.HR)
def export_certificates(request: HttpRequest, result_set_id: int, post_id: int) -> HttpResponse:
    result_set, post = _export_target(result_set_id, post_id)
    if result_set.status not in results.FROZEN:
        raise Http404
    name = f"giay-chung-nhan-post{post.pk}-v{result_set.version}.zip"
    return _download(certificates_zip(result_set, post), name=name, content_type="application/zip")


# --- Appeals desk (HR proposes, the chair approves, the supervisor reads) ------------------------


@dataclass
class AppealRow:
    appeal: Appeal
    key: str
    proposal: appeals.Proposal | None
    assign_form: AssignRemarkerForm | None
    decide_form: AppealDecisionForm | None
    can_approve: bool


def _appeal_row(appeal: Appeal, user: User) -> AppealRow:
    open_for_assignment = appeal.status in (Appeal.Status.FILED, Appeal.Status.ASSIGNED)
    hr = user.has_role(Role.HR)
    return AppealRow(
        appeal=appeal,
        key=appeals.remark_key(appeal),
        proposal=appeals.proposal(appeal),
        assign_form=AssignRemarkerForm(examiners=appeals.possible_remarkers(appeal))
        if hr and open_for_assignment
        else None,
        decide_form=AppealDecisionForm() if hr and appeal.status == Appeal.Status.REMARKED else None,
        can_approve=appeal.status == Appeal.Status.DECIDED
        and user.has_role(Role.CHAIR)
        and appeal.decided_by_id != user.pk,
    )


@role_required(*READERS)
def appeal_list(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    names = _part_names(results.current_published(campaign), campaign)
    rows = [_appeal_row(appeal, _user(request)) for appeal in appeals.appeals_of(campaign)]
    for row in rows:
        row.appeal.part_name = names.get(row.appeal.part_code, row.appeal.part_code)  # type: ignore[attr-defined]
    context = {"campaign": campaign, "rows": rows, "window": appeals.appeal_window(campaign)}
    return render(request, "results/appeals.html", context)


def _appeal(public_id: UUID) -> Appeal:
    return get_object_or_404(Appeal.objects.select_related("application__post__campaign"), public_id=public_id)


@role_required(Role.HR)
@require_POST
def appeal_assign(request: HttpRequest, public_id: UUID) -> HttpResponse:
    appeal = _appeal(public_id)
    form = AssignRemarkerForm(request.POST, examiners=appeals.possible_remarkers(appeal))
    if not form.is_valid():
        messages.error(request, _("Choose a re-marker from the list."))
    else:
        try:
            appeals.assign_remarker(appeal=appeal, remarker=form.cleaned_data["remarker"], by=_user(request))
        except Refused as refused:
            _refused(request, refused)
        else:
            messages.success(request, _("The re-marker is assigned: they see the script by its code only."))
    return redirect("appeal_list", appeal.application.post.campaign_id)


@role_required(Role.HR)
@require_POST
def appeal_decide(request: HttpRequest, public_id: UUID) -> HttpResponse:
    appeal = _appeal(public_id)
    form = AppealDecisionForm(request.POST)
    form.is_valid()
    data = form.cleaned_data
    try:
        appeals.decide_appeal(
            appeal=appeal, by=_user(request), raw_value=data.get("value", ""), reason=data.get("reason", "")
        )
    except Refused as refused:
        _refused(request, refused)
    else:
        messages.success(request, _("The outcome is recorded: the council chair approves it."))
    return redirect("appeal_list", appeal.application.post.campaign_id)


@role_required(Role.CHAIR)
@require_POST
def appeal_approve(request: HttpRequest, public_id: UUID) -> HttpResponse:
    appeal = _appeal(public_id)
    try:
        approval = appeals.approve_appeal(appeal=appeal, by=_user(request))
    except Refused as refused:
        _refused(request, refused)
        return redirect("appeal_list", appeal.application.post.campaign_id)
    if approval.result_set is not None:
        messages.success(
            request,
            _("The mark changed: version %(version)d of the results is published.")
            % {"version": approval.result_set.version},
        )
    elif approval.changed:
        messages.warning(
            request,
            _("The mark changed, but the new version could not be published: %(why)s") % {"why": approval.pending},
        )
    else:
        messages.success(request, _("The outcome is approved: the mark is unchanged."))
    return redirect("appeal_list", appeal.application.post.campaign_id)


# --- The re-marker's blind page ----------------------------------------------------------------


@role_required(Role.EXAMINER)
def remark_list(request: HttpRequest) -> HttpResponse:
    rows = [(appeals.remark_key(a), a) for a in appeals.remarks_for(_user(request))]
    return render(request, "results/remark_list.html", {"rows": rows})


def _assigned(request: HttpRequest, key: str) -> Appeal:
    appeal = appeals.appeal_for_remarker(remarker=_user(request), key=key)
    if appeal is None:
        raise Http404
    return appeal


@role_required(Role.EXAMINER)
def remark_enter(request: HttpRequest, key: str) -> HttpResponse:
    appeal = _assigned(request, key)
    form = RemarkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            appeals.enter_remark(appeal=appeal, by=_user(request), raw_value=form.cleaned_data["value"])
        except Refused as refused:
            _refused(request, refused)
        else:
            messages.success(request, _("Your re-mark is submitted."))
            return redirect("remark_list")
    campaign = appeal.application.post.campaign
    context = {
        "appeal": appeal,
        "key": key,
        "script": appeals.script_of(appeal),
        "declared": appeals.has_declared_no_conflict(appeal, _user(request)),
        "declaration_form": RemarkDeclarationForm(),
        "remark_form": form,
        "part": _part_names(None, campaign).get(appeal.part_code, appeal.part_code),
    }
    return render(request, "results/remark_enter.html", context)


@role_required(Role.EXAMINER)
@require_POST
def remark_declare(request: HttpRequest, key: str) -> HttpResponse:
    appeal = _assigned(request, key)
    form = RemarkDeclarationForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose your relation with the candidate."))
        return redirect("remark_enter", key)
    try:
        declaration = appeals.declare_for_remark(
            appeal=appeal,
            by=_user(request),
            relation=form.cleaned_data["relation"],
            details=form.cleaned_data["details"],
        )
    except Refused as refused:
        _refused(request, refused)
        return redirect("remark_enter", key)
    if declaration.has_conflict:
        messages.warning(request, _("You declared a conflict: HR will assign another re-marker."))
        return redirect("remark_list")
    return redirect("remark_enter", key)


@role_required(Role.EXAMINER)
def remark_script(request: HttpRequest, key: str) -> FileResponse:
    appeal = _assigned(request, key)
    script = appeals.script_of(appeal)
    if script is None or not script.file:
        raise Http404
    # Named by the code alone: the uploaded file name could carry the candidate's name.
    return FileResponse(script.file.open("rb"), as_attachment=True, filename=f"{script.code}.pdf")
