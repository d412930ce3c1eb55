"""Writes of the application life cycle: each is one transaction, refused as a whole or done."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.notifications import notify
from audit.services import record
from candidates import eligibility, uploads
from candidates.models import (
    Application,
    ApplicationEvent,
    CandidateProfile,
    CriterionCheck,
    Document,
)
from candidates.retirement import Gender as RetirementGender
from config.errors import Refused
from exams.models import Post


def record_event(*, application: Application, actor: User | None, note: str = "") -> ApplicationEvent:
    return ApplicationEvent.objects.create(application=application, status=application.status, actor=actor, note=note)


def _audit(application: Application, actor: User, action: str, *, before: Any = None, after: Any = None) -> None:
    """The application's change in the audit chain (the timeline above is the candidate's view of it)."""
    record(
        actor=actor,
        action=action,
        obj=application,
        campaign_id=application.post.campaign_id,
        before=before,
        after={"application": str(application.public_id), **(after or {})},
    )


# --- Eligibility ----------------------------------------------------------------


def standards_for(post: Post) -> eligibility.PostStandards:
    def level(enum: Any, value: int | None) -> Any:
        return None if value is None else enum(value)

    return eligibility.PostStandards(
        min_degree=level(eligibility.DegreeLevel, post.min_degree),
        min_political_theory=level(eligibility.PoliticalTheory, post.min_political_theory),
        min_state_management=level(eligibility.StateManagement, post.min_state_management),
        min_language=level(eligibility.LanguageLevel, post.min_language),
        min_years_service=post.min_years_service,
        min_years_in_current_post=post.min_years_in_current_post,
        min_years_management=post.min_years_management,
        requires_plan_or_nomination=post.requires_plan_or_nomination,
        requires_no_discipline=post.requires_no_discipline,
        min_rating_years=post.min_rating_years,
        full_term_years=post.full_term_years,
    )


def snapshot_profile(profile: CandidateProfile, *, at: date) -> dict[str, Any]:
    fields = [
        "full_name",
        "gender",
        "citizen_id",
        "ethnicity",
        "phone",
        "address",
        "degree_level",
        "degree_field",
        "degree_institution",
        "degree_year",
        "political_theory",
        "state_management",
        "language_level",
        "current_organisation",
        "current_position",
        "in_succession_plan",
        "succession_plan_details",
        "nominated",
        "nomination_details",
        "discipline_in_force",
        "discipline_details",
        "priority_details",
    ]
    data: dict[str, Any] = {name: getattr(profile, name) for name in fields}
    data["priority"] = profile.priority_category  # the key the ranking reads (scoring.results.priority_of)
    for name in ("date_of_birth", "service_start", "current_post_since"):
        value = getattr(profile, name)
        data[name] = value.isoformat() if value else None
    jobs = list(profile.work_history.all())
    data["work_history"] = [
        {
            "organisation": job.organisation,
            "position": job.position,
            "start": job.start.isoformat(),
            "end": job.end.isoformat() if job.end else None,
            "is_management": job.is_management,
        }
        for job in jobs
    ]
    data["management_months"] = sum(
        eligibility.completed_months(start=job.start, end=min(job.end or at, at))
        for job in jobs
        if job.is_management and job.start <= at
    )
    data["ratings"] = {str(r.year): r.rating for r in profile.ratings.all()}
    return data


def facts_from_snapshot(snapshot: dict[str, Any]) -> eligibility.CandidateFacts:
    def day(value: str | None) -> date | None:
        return date.fromisoformat(value) if value else None

    return eligibility.CandidateFacts(
        birth_date=date.fromisoformat(snapshot["date_of_birth"]),
        gender=RetirementGender(snapshot["gender"]),
        degree=eligibility.DegreeLevel(snapshot["degree_level"]) if snapshot["degree_level"] else None,
        political_theory=eligibility.PoliticalTheory(snapshot["political_theory"]),
        state_management=eligibility.StateManagement(snapshot["state_management"]),
        language=eligibility.LanguageLevel(snapshot["language_level"]),
        service_start=date.fromisoformat(snapshot["service_start"]),
        current_post_since=day(snapshot["current_post_since"]),
        management_months=int(snapshot["management_months"]),
        in_succession_plan=bool(snapshot["in_succession_plan"]),
        nominated=bool(snapshot["nominated"]),
        discipline_in_force=bool(snapshot["discipline_in_force"]),
        ratings={int(year): eligibility.Rating(value) for year, value in snapshot["ratings"].items()},
    )


def run_eligibility_check(application: Application) -> list[CriterionCheck]:
    post = application.post
    results = eligibility.check_eligibility(
        facts=facts_from_snapshot(application.profile_snapshot or {}),
        standards=standards_for(post),
        appointment_date=post.appointment_date,
    )
    # HR's review of a criterion survives a new check that gives it the same standard and the same result
    # (a typo fixed in the post, say); a changed standard or result needs reviewing again.
    reviewed = {
        (check.code, check.required, check.auto_passed): check
        for check in application.criteria.filter(reviewed_at__isnull=False)
    }
    application.criteria.all().delete()
    checks = []
    for position, result in enumerate(results):
        check = CriterionCheck(
            application=application,
            code=result.code,
            position=position,
            auto_passed=result.passed,
            required=result.required,
            actual=result.actual,
            reason=result.reason,
            params=result.reason_params,
        )
        if (kept := reviewed.get((result.code, result.required, result.passed))) is not None:
            check.hr_passed, check.hr_reason = kept.hr_passed, kept.hr_reason
            check.reviewed_by_id, check.reviewed_at = kept.reviewed_by_id, kept.reviewed_at
        checks.append(check)
    checks = CriterionCheck.objects.bulk_create(checks)
    application.auto_eligible = eligibility.overall_eligible(results)
    return checks


def recheck_submitted_applications(*, post: Post) -> int:
    """Runs the automatic check again on the post's undecided applications (after an amendment)."""
    applications = list(post.applications.filter(status=Application.Status.SUBMITTED).select_related("post"))
    for application in applications:
        run_eligibility_check(application)
        application.save(update_fields=["auto_eligible"])
    return len(applications)


# --- Candidate actions ------------------------------------------------------------


def _locked(application: Application) -> Application:
    return Application.objects.select_for_update().select_related("post__campaign").get(pk=application.pk)


@transaction.atomic
def start_application(*, candidate: User, post: Post) -> Application:
    if not hasattr(candidate, "profile"):
        raise Refused(_("Fill in your profile before applying."), code="no_profile")
    if not post.is_open():
        raise Refused(_("Applications to this post are not open."), code="window_closed")
    try:
        with transaction.atomic():
            application = Application.objects.create(candidate=candidate, post=post)
    except IntegrityError:
        raise Refused(_("You have already applied to this post."), code="duplicate") from None
    record_event(application=application, actor=candidate)
    return application


def add_document(*, application: Application, doc_type: str, filename: str, data: bytes) -> Document:
    # Parsing a PDF can take a second: do it before taking the application's row lock.
    try:
        if uploads.is_suspicious_name(filename):
            raise uploads.UploadRejected("bad_name")
        inspected = uploads.inspect_upload(
            data, filename=filename, max_bytes=settings.DOSSIER_MAX_FILE_BYTES, max_pixels=settings.DOSSIER_MAX_PIXELS
        )
    except uploads.UploadRejected as rejected:
        raise Refused(rejected.text, code=rejected.code) from None
    return _store_document(
        application=application, doc_type=doc_type, filename=filename, data=data, inspected=inspected
    )


@transaction.atomic
def _store_document(
    *, application: Application, doc_type: str, filename: str, data: bytes, inspected: uploads.InspectedFile
) -> Document:
    application = _locked(application)
    if not application.is_editable:
        raise Refused(_("A submitted application can no longer be changed."), code="locked")
    if not application.post.is_open():
        raise Refused(
            _("The application window is closed: the deadline has passed or it has not opened."), code="window_closed"
        )
    if doc_type not in application.post.required_documents:
        raise Refused(_("This post does not ask for this document."), code="unknown_document")
    used = application.documents.aggregate(total=Sum("size"))["total"] or 0
    try:
        uploads.check_quota(existing_total=used, new_size=inspected.size, max_total=settings.DOSSIER_MAX_TOTAL_BYTES)
    except uploads.UploadRejected as rejected:
        raise Refused(rejected.text, code=rejected.code) from None
    document = Document(
        application=application,
        doc_type=doc_type,
        original_name=uploads.safe_display_name(filename),
        content_type=inspected.content_type,
        size=inspected.size,
        sha256=inspected.sha256,
    )
    document.file.save(f"upload{inspected.extension}", ContentFile(data), save=False)
    # If the row cannot be written, the stored file must not stay behind.
    try:
        document.save()
    except Exception:
        document.file.delete(save=False)
        raise
    return document


@transaction.atomic
def remove_document(*, document: Document) -> None:
    application = _locked(document.application)
    if not application.is_editable:
        raise Refused(_("A submitted application can no longer be changed."), code="locked")
    storage, name = document.file.storage, document.file.name
    document.delete()
    transaction.on_commit(lambda: storage.delete(name))


@transaction.atomic
def submit_application(*, application: Application, candidate: User) -> Application:
    application = _locked(application)
    if application.status != Application.Status.DRAFT:
        raise Refused(_("This application has already been submitted."), code="not_draft")
    if not application.post.is_open():
        raise Refused(
            _("The application window is closed: the deadline has passed or it has not opened."), code="window_closed"
        )
    present = set(application.documents.values_list("doc_type", flat=True))
    missing = [code for code in application.post.required_documents if code not in present]
    if missing:
        raise Refused(_("Upload every required document before submitting."), code="missing_documents")
    now = timezone.now()
    application.profile_snapshot = snapshot_profile(candidate.profile, at=application.post.appointment_date)
    application.status = Application.Status.SUBMITTED
    application.submitted_at = now
    run_eligibility_check(application)
    application.save()
    record_event(application=application, actor=candidate)
    _audit(application, candidate, "application.submit", after={"auto_eligible": application.auto_eligible})
    notify(user=candidate, template="candidates/email/submitted", context={"application": application})
    return application


@transaction.atomic
def withdraw_application(*, application: Application, candidate: User) -> Application:
    application = _locked(application)
    # Before the deadline, a candidate may withdraw even if HR has already screened the application.
    withdrawable = (*SCREENABLE, Application.Status.DRAFT)
    if application.status not in withdrawable or application.post.eligible_list_published_at:
        raise Refused(_("This application can no longer be withdrawn."), code="not_withdrawable")
    if timezone.now() >= application.post.application_closes:
        raise Refused(_("The deadline has passed: the application can no longer be withdrawn."), code="window_closed")
    if application.submitted_at is None:
        application.submitted_at = timezone.now()
    application.status = Application.Status.WITHDRAWN
    application.save()
    record_event(application=application, actor=candidate)
    _audit(application, candidate, "application.withdraw")
    notify(user=candidate, template="candidates/email/withdrawn", context={"application": application})
    return application


# --- HR screening ---------------------------------------------------------------


SCREENABLE = (Application.Status.SUBMITTED, Application.Status.ELIGIBLE, Application.Status.NOT_ELIGIBLE)


@transaction.atomic
def review_criterion(*, check: CriterionCheck, by: User, passed: bool, reason: str) -> CriterionCheck:
    application = _locked(check.application)
    if application.status not in SCREENABLE or application.post.eligible_list_published_at:
        raise Refused(_("This application is not open for screening."), code="not_screenable")
    reason = reason.strip()
    if passed != check.auto_passed and not reason:
        raise Refused(_("Overriding the automatic result needs a written reason."), code="reason_required")
    before = {"passed": check.hr_passed, "reason": check.hr_reason}
    check.hr_passed, check.hr_reason = passed, reason
    check.reviewed_by, check.reviewed_at = by, timezone.now()
    check.save()
    if application.status == Application.Status.ELIGIBLE and not passed:
        # An eligible application cannot keep a failed criterion: it goes back to the queue, to be decided again.
        application.status = Application.Status.SUBMITTED
        application.save(update_fields=["status"])
        record_event(application=application, actor=by, note=reason)
    _audit(
        application,
        by,
        "application.criterion",
        before=before,
        after={"criterion": check.code, "passed": passed, "reason": reason, "status": application.status},
    )
    return check


@transaction.atomic
def decide_application(
    *, application: Application, by: User, eligible: bool, reason: str, priority_accepted: bool = False
) -> Application:
    application = _locked(application)
    if application.status not in SCREENABLE or application.post.eligible_list_published_at:
        raise Refused(_("This application is not open for screening."), code="not_screenable")
    checks = list(application.criteria.all())
    failing = [c for c in checks if not c.passed]
    if eligible and failing:
        raise Refused(
            _(
                "An application with a failed criterion cannot be declared eligible: "
                "override the criterion first, with a reason."
            ),
            code="criteria_failed",
        )
    reason = reason.strip()
    if not eligible and not reason:
        raise Refused(_("Give the reasons why the application is not eligible."), code="reason_required")
    now = timezone.now()
    for check in checks:
        if check.hr_passed is None:
            # Deciding confirms every criterion HR did not override.
            check.hr_passed, check.reviewed_by, check.reviewed_at = check.auto_passed, by, now
            check.save(update_fields=["hr_passed", "reviewed_by", "reviewed_at"])
    application.status = Application.Status.ELIGIBLE if eligible else Application.Status.NOT_ELIGIBLE
    application.decision_reason = reason
    application.decided_by, application.decided_at = by, now
    claimed = bool((application.profile_snapshot or {}).get("priority"))
    application.priority_accepted = eligible and claimed and priority_accepted
    application.save()
    record_event(application=application, actor=by, note=reason)
    _audit(
        application,
        by,
        "application.decide",
        after={"status": application.status, "reason": reason, "priority_accepted": application.priority_accepted},
    )
    notify(user=application.candidate, template="candidates/email/decided", context={"application": application})
    return application


@transaction.atomic
def publish_eligible_list(*, post: Post, by: User) -> list[Application]:
    """Publishes who may sit the exam for a post; flags the post when too few remain."""
    post = Post.objects.select_for_update().select_related("campaign").get(pk=post.pk)
    if post.eligible_list_published_at:
        raise Refused(_("The eligible list of this post is already published."), code="already_published")
    if timezone.now() < post.application_closes:
        raise Refused(_("The eligible list can be published only after the application deadline."), code="window_open")
    pending = post.applications.filter(status=Application.Status.SUBMITTED).count()
    if pending:
        raise Refused(
            _("%(count)d submitted applications have no screening decision yet.") % {"count": pending},
            code="pending_decisions",
        )
    eligible = list(post.applications.filter(status=Application.Status.ELIGIBLE).select_related("candidate"))
    post.eligible_list_published_at, post.eligible_list_published_by = timezone.now(), by
    post.needs_reannouncement = len(eligible) < post.campaign.min_candidates_per_post
    post.save(update_fields=["eligible_list_published_at", "eligible_list_published_by", "needs_reannouncement"])
    record(
        actor=by,
        action="eligible_list.publish",
        obj=post,
        campaign_id=post.campaign_id,
        after={
            "eligible": sorted(str(a.public_id) for a in eligible),
            "needs_reannouncement": post.needs_reannouncement,
        },
    )
    decided = post.applications.filter(status__in=[Application.Status.ELIGIBLE, Application.Status.NOT_ELIGIBLE])
    for application in decided.select_related("candidate"):
        notify(
            user=application.candidate, template="candidates/email/list_published", context={"application": application}
        )
    return eligible
