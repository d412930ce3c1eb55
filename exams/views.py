"""Campaigns and posts: HR sets them up and announces them; the public reads what was announced."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.db.models import Count, Q
from django.db.models.fields.json import KeyTextTransform
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from accounts.permissions import role_required
from accounts.roles import Role
from candidates.models import Application
from config.errors import Refused
from exams.collation import name_key
from exams.forms import AnnounceForm, CampaignForm, PostForm, organisation_paths
from exams.models import Campaign, Post
from exams.services import announce_campaign, create_post, current_rules, save_campaign, save_post

# --- Access helpers ---------------------------------------------------------------


def _get_campaign(campaign_id: int) -> Campaign:
    return get_object_or_404(Campaign.objects.select_related("authority"), pk=campaign_id)


def _get_post(post_id: int) -> Post:
    return get_object_or_404(Post.objects.select_related("campaign", "organisation"), pk=post_id)


def _get_public_campaign(campaign_id: int) -> Campaign:
    # A draft does not exist for the public: 404, not 403.
    return get_object_or_404(Campaign.objects.public().select_related("authority"), pk=campaign_id)


def _get_public_post(post_id: int) -> Post:
    return get_object_or_404(Post.objects.public().select_related("campaign__authority", "organisation"), pk=post_id)


# --- HR: campaigns ----------------------------------------------------------------


@role_required(Role.HR)
def hr_campaign_list(request: HttpRequest) -> HttpResponse:
    campaigns = Campaign.objects.select_related("authority").annotate(post_count=Count("posts")).order_by("-created_at")
    return render(request, "exams/hr_campaign_list.html", {"campaigns": campaigns})


@role_required(Role.HR)
def hr_campaign_create(request: HttpRequest) -> HttpResponse:
    form = CampaignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        campaign = save_campaign(campaign=form.instance, by=request.user)  # type: ignore[arg-type]
        messages.success(request, _("Campaign created as a draft. Add its posts, then announce it."))
        return redirect("hr_campaign_detail", campaign.pk)
    return render(request, "exams/hr_campaign_form.html", {"form": form})


@role_required(Role.HR)
def hr_campaign_detail(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _get_campaign(campaign_id)
    is_draft = campaign.status == Campaign.Status.DRAFT
    form = CampaignForm(request.POST or None, instance=campaign) if is_draft else None
    if request.method == "POST":
        if form is None:
            messages.error(request, _("An announced campaign can no longer be edited."))
            return redirect("hr_campaign_detail", campaign.pk)
        if form.is_valid():
            try:
                save_campaign(campaign=form.instance, by=request.user)  # type: ignore[arg-type]
            except Refused as refused:
                messages.error(request, refused.message)
            else:
                messages.success(request, _("Campaign saved."))
            return redirect("hr_campaign_detail", campaign.pk)
    posts = campaign.posts.select_related("organisation").annotate(
        application_count=Count("applications", filter=~Q(applications__status=Application.Status.DRAFT))
    )
    context = {
        "campaign": campaign,
        "form": form,
        "posts": posts,
        "rules": current_rules(campaign),
        "announce_form": AnnounceForm(),
    }
    return render(request, "exams/hr_campaign_detail.html", context)


@role_required(Role.HR)
@require_POST
def hr_campaign_announce(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _get_campaign(campaign_id)
    if not AnnounceForm(request.POST).is_valid():
        messages.error(request, _("Tick the confirmation before announcing the campaign."))
        return redirect("hr_campaign_detail", campaign.pk)
    try:
        announce_campaign(campaign=campaign, by=request.user)  # type: ignore[arg-type]
    except Refused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, _("The campaign is announced: its posts are public."))
    return redirect("hr_campaign_detail", campaign.pk)


# --- HR: posts --------------------------------------------------------------------


@role_required(Role.HR)
def hr_post_create(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _get_campaign(campaign_id)
    form = PostForm(request.POST or None, instance=Post(campaign=campaign))
    if request.method == "POST" and form.is_valid():
        try:
            create_post(post=form.instance, by=request.user)  # type: ignore[arg-type]
        except Refused as refused:
            form.add_error(None, refused.message)
        else:
            messages.success(request, _("Post added."))
            return redirect("hr_campaign_detail", campaign.pk)
    return render(request, "exams/hr_post_form.html", {"form": form, "campaign": campaign, "post": None})


@role_required(Role.HR)
def hr_post_edit(request: HttpRequest, post_id: int) -> HttpResponse:
    post = _get_post(post_id)
    form = PostForm(request.POST or None, instance=post)
    if request.method == "POST" and form.is_valid():
        # The amendment is a public record: written in the platform's language of record.
        with translation.override(settings.LANGUAGE_CODE):
            changes = form.changes()
        try:
            save_post(
                post=form.instance,
                changed_fields=changes,
                by=request.user,  # type: ignore[arg-type]
                reason=form.cleaned_data.get("change_reason", ""),
            )
        except Refused as refused:
            form.add_error(None, refused.message)
        else:
            messages.success(request, _("Post saved.") if changes else _("Nothing was changed."))
            return redirect("hr_campaign_detail", post.campaign_id)
    return render(request, "exams/hr_post_form.html", {"form": form, "campaign": post.campaign, "post": post})


# --- Public pages -----------------------------------------------------------------


def campaign_list(request: HttpRequest) -> HttpResponse:
    campaigns = Campaign.objects.public().select_related("authority").annotate(post_count=Count("posts"))
    return render(request, "exams/campaign_list.html", {"campaigns": campaigns})


def campaign_detail(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _get_public_campaign(campaign_id)
    posts = campaign.posts.select_related("organisation")
    return render(request, "exams/campaign_detail.html", {"campaign": campaign, "posts": posts, "now": timezone.now()})


def post_detail(request: HttpRequest, post_id: int) -> HttpResponse:
    post = _get_public_post(post_id)
    user = request.user
    own_application = None
    if user.is_authenticated and user.has_role(Role.CANDIDATE):  # type: ignore[union-attr]
        own_application = Application.objects.filter(post=post, candidate_id=user.pk).first()
    context = {
        "post": post,
        "is_open": post.is_open(),
        "now": timezone.now(),
        "standards": standards_in_words(post),
        "amendments": post.amendments.all(),
        "organisation_path": organisation_paths().get(post.organisation_id, post.organisation.name),
        "is_candidate": user.is_authenticated and user.has_role(Role.CANDIDATE),  # type: ignore[union-attr]
        "own_application": own_application,
    }
    return render(request, "exams/post_detail.html", context)


def eligible_list(request: HttpRequest, post_id: int) -> HttpResponse:
    post = _get_public_post(post_id)
    if post.eligible_list_published_at is None:
        raise Http404
    names = (
        post.applications.filter(status=Application.Status.ELIGIBLE)
        .annotate(name=KeyTextTransform("full_name", "profile_snapshot"))
        .values_list("name", flat=True)
    )
    # Names only: the published list must not disclose more than the rules publish.
    ordered = sorted((name or "" for name in names), key=name_key)
    return render(request, "exams/eligible_list.html", {"post": post, "names": ordered})


def standards_in_words(post: Post) -> list[str]:
    """The structured standards of a post as sentences, in the order of the eligibility check."""
    lines = []
    levels = (
        (post.min_degree, _("Degree: %(level)s or higher."), post.get_min_degree_display),
        (post.min_political_theory, _("Political theory: %(level)s or higher."), post.get_min_political_theory_display),
        (
            post.min_state_management,
            _("State-management training: %(level)s or higher."),
            post.get_min_state_management_display,
        ),
        (post.min_language, _("Foreign language: level %(level)s or higher."), post.get_min_language_display),
    )
    for value, sentence, label in levels:
        if value is not None:
            lines.append(sentence % {"level": label()})
    if count := post.min_years_service:
        lines.append(
            ngettext("At least %(count)d year in public service.", "At least %(count)d years in public service.", count)
            % {"count": count}
        )
    if count := post.min_years_in_current_post:
        lines.append(
            ngettext(
                "At least %(count)d year in the current post.", "At least %(count)d years in the current post.", count
            )
            % {"count": count}
        )
    if count := post.min_years_management:
        lines.append(
            ngettext(
                "At least %(count)d year in management posts.", "At least %(count)d years in management posts.", count
            )
            % {"count": count}
        )
    if count := post.min_rating_years:
        lines.append(
            ngettext(
                "Rated 'completed duties well' or better in the last year.",
                "Rated 'completed duties well' or better in each of the last %(count)d years.",
                count,
            )
            % {"count": count}
        )
    if count := post.full_term_years:
        lines.append(
            _("Young enough to serve a full %(count)d-year term before the retirement age.") % {"count": count}
        )
    if post.requires_plan_or_nomination:
        lines.append(_("In the succession plan (quy hoạch) for the post, or nominated."))
    if post.requires_no_discipline:
        lines.append(_("No disciplinary measure in force."))
    return lines
