"""Appeals (phúc khảo): filed by the candidate inside the window, re-marked blind, decided by the rules.

The re-mark is a new `Mark` (source "appeal") beside the original marks, never replacing them. The
outcome applies the disagreement bands to [official mark, re-mark]: within the mean band it is the
mean; otherwise HR proposes a value between the two with a reason. The chair (another person)
approves; a changed mark becomes a new current `Resolution` (method "appeal") and the results are
prepared, approved and published again as a new version.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.notifications import notify
from accounts.roles import Role
from audit.services import record
from candidates.models import Application
from config.errors import Refused
from exams.models import Campaign, ConflictDeclaration, CouncilMember, ExamPart, Relation
from scoring import results
from scoring import rules as rule_maths
from scoring.models import Appeal, Mark, MarkerAssignment, Resolution, ResultSet, Script
from scoring.services import mark_message

OPEN = (Appeal.Status.FILED, Appeal.Status.ASSIGNED, Appeal.Status.REMARKED, Appeal.Status.DECIDED)


@dataclass(frozen=True)
class Window:
    opens: datetime
    closes: datetime

    def is_open(self, at: datetime | None = None) -> bool:
        return self.opens <= (at or timezone.now()) < self.closes


def appeal_window(campaign: Campaign) -> Window | None:
    """From the first publication of the campaign's results, for the rules' number of days."""
    first = results.versions().filter(campaign=campaign, published_at__isnull=False).order_by("published_at").first()
    if first is None or first.published_at is None:
        return None
    rules = results.rules_of(campaign)
    return Window(first.published_at, first.published_at + timedelta(days=rules.appeal_window_days))


def appealable_parts(campaign: Campaign) -> list[ExamPart]:
    return [part for part in results.rules_of(campaign).parts.all() if part.appealable]


def official_resolution(application: Application, part_code: str) -> Resolution | None:
    return Resolution.objects.filter(
        application=application, part_code=part_code, is_current=True, status=Resolution.Status.FINAL
    ).first()


def _part(campaign: Campaign, part_code: str) -> ExamPart:
    part = next((p for p in results.rules_of(campaign).parts.all() if p.code == part_code), None)
    if part is None:
        raise Refused(_("The rules define no such part."), code="no_part")
    return part


# --- Filing -----------------------------------------------------------------------------------


@transaction.atomic
def file_appeal(*, application: Application, part_code: str, reason: str, by: User) -> Appeal:
    """The candidate asks for a re-mark of one appealable part, once, inside the window."""
    application = Application.objects.select_for_update().select_related("post__campaign").get(pk=application.pk)
    if application.candidate_id != by.pk:
        raise Refused(_("This application is not yours."), code="not_yours")
    campaign = application.post.campaign
    published = results.current_published(campaign)
    if published is None or not published.entries.filter(application=application).exists():
        raise Refused(_("There are no published results to appeal."), code="not_published")
    window = appeal_window(campaign)
    if window is None or not window.is_open():
        raise Refused(_("The appeal window is closed."), code="window_closed")
    part = _part(campaign, part_code)
    if not part.appealable:
        raise Refused(_("Part “%(part)s” cannot be appealed.") % {"part": part.name}, code="not_appealable")
    if not reason.strip():
        raise Refused(_("Give the reason for the appeal."), code="reason_required")
    if Appeal.objects.filter(application=application, part_code=part_code).exists():
        raise Refused(_("You have already appealed this part."), code="already_filed")
    resolution = official_resolution(application, part_code)
    if resolution is None:
        raise Refused(_("You have no official mark in this part to appeal."), code="no_mark")
    try:
        with transaction.atomic():
            appeal = Appeal.objects.create(
                application=application,
                part_code=part_code,
                result_set=published,
                reason=reason.strip(),
                original_value=resolution.value,
            )
    except IntegrityError:
        raise Refused(_("You have already appealed this part."), code="already_filed") from None
    record(
        actor=by,
        action="appeal.file",
        obj=appeal,
        campaign_id=campaign.pk,
        after={
            "part": part_code,
            "reason": appeal.reason,
            "original": appeal.original_value,
            "version": published.version,
        },
    )
    notify(user=by, template="results/email/appeal_filed", context={"appeal": appeal, "part": part})
    return appeal


# --- Re-marker -----------------------------------------------------------------------------


def original_markers(appeal: Appeal) -> set[int]:
    """Everyone who marked the script or the candidate in this part (drawn or having marked)."""
    assigned = MarkerAssignment.objects.filter(
        script__application_id=appeal.application_id, script__part_code=appeal.part_code
    ).values_list("examiner_id", flat=True)
    marked = Mark.objects.filter(application_id=appeal.application_id, part_code=appeal.part_code).exclude(
        source="appeal"
    )
    return set(assigned) | set(marked.values_list("examiner_id", flat=True))


def possible_remarkers(appeal: Appeal) -> list[User]:
    """Examiners who never marked this script and declared no conflict with the candidate (or nothing yet)."""
    excluded = original_markers(appeal)
    conflicted = ConflictDeclaration.objects.filter(application_id=appeal.application_id).exclude(
        relation=Relation.NONE
    )
    excluded |= set(conflicted.values_list("examiner_id", flat=True))
    examiners = User.objects.filter(groups__name=Role.EXAMINER, is_active=True).exclude(pk__in=excluded).distinct()
    return [user for user in examiners.order_by("full_name", "pk") if _not_separate(appeal, user) is None]


def _not_separate(appeal: Appeal, user: User) -> str | None:
    """Why this person cannot re-mark the appeal blind and apart from its decision, if they cannot."""
    if user.pk == appeal.application.candidate_id:
        return str(_("A candidate cannot re-mark their own appeal."))
    if user.has_role(Role.HR):
        return str(_("An HR officer sees the candidates' names and proposes the outcome: they cannot re-mark."))
    seated_chair = CouncilMember.objects.filter(
        campaign_id=appeal.application.post.campaign_id, role=CouncilMember.Role.CHAIR, user=user
    )
    if seated_chair.exists():
        return str(_("The council chair approves the outcome: they cannot re-mark."))
    return None


def _locked(appeal: Appeal) -> Appeal:
    return (
        Appeal.objects.select_for_update()
        .select_related("application__post__campaign", "application__candidate", "result_set")
        .get(pk=appeal.pk)
    )


@transaction.atomic
def assign_remarker(*, appeal: Appeal, remarker: User, by: User) -> Appeal:
    appeal = _locked(appeal)
    if not by.has_role(Role.HR):
        raise Refused(_("Only an HR officer assigns a re-marker."), code="not_hr")
    if appeal.status not in (Appeal.Status.FILED, Appeal.Status.ASSIGNED):
        raise Refused(_("This appeal has already been re-marked."), code="already_remarked")
    if not remarker.has_role(Role.EXAMINER):
        raise Refused(_("A re-marker must be an examiner."), code="not_examiner")
    if remarker.pk in original_markers(appeal):
        raise Refused(_("A re-marker must not be one of the original markers."), code="original_marker")
    if (reason := _not_separate(appeal, remarker)) is not None:
        raise Refused(reason, code="not_separate")
    declaration = ConflictDeclaration.objects.filter(examiner=remarker, application=appeal.application).first()
    if declaration is not None and declaration.has_conflict:
        raise Refused(_("This examiner declared a conflict of interest with the candidate."), code="conflict")
    before = {"remarker": appeal.remarker_id, "status": appeal.status}
    appeal.remarker, appeal.status = remarker, Appeal.Status.ASSIGNED
    appeal.save(update_fields=["remarker", "status"])
    record(
        actor=by,
        action="appeal.assign",
        obj=appeal,
        campaign_id=appeal.application.post.campaign_id,
        before=before,
        after={"remarker": remarker.pk, "status": appeal.status},
    )
    return appeal


def remark_key(appeal: Appeal) -> str:
    """How the re-marker knows the appeal: the script's anonymous code (blind), else the appeal's id."""
    script = script_of(appeal)
    return script.code if script is not None else str(appeal.public_id)


def script_of(appeal: Appeal) -> Script | None:
    return Script.objects.filter(application_id=appeal.application_id, part_code=appeal.part_code).first()


def appeal_for_remarker(*, remarker: User, key: str) -> Appeal | None:
    """The appeal assigned to this re-marker under that key; anything else is answered as absent."""
    candidates = Appeal.objects.filter(remarker=remarker, status=Appeal.Status.ASSIGNED)
    by_code = Script.objects.filter(code=key).values_list("application_id", "part_code").first()
    if by_code is not None:
        return candidates.filter(application_id=by_code[0], part_code=by_code[1]).first()
    try:
        public_id = uuid.UUID(key)
    except ValueError:
        return None
    return candidates.filter(public_id=public_id).first()


@transaction.atomic
def declare_for_remark(*, appeal: Appeal, by: User, relation: str, details: str = "") -> ConflictDeclaration:
    """The re-marker's declaration about the candidate; a conflict sends the appeal back to HR."""
    appeal = _locked(appeal)
    if appeal.remarker_id != by.pk or appeal.status != Appeal.Status.ASSIGNED:
        raise Refused(_("This re-mark is not assigned to you."), code="not_assigned")
    if relation == Relation.OTHER and not details.strip():
        raise Refused(_("Describe the relation."), code="details_required")
    if ConflictDeclaration.objects.filter(examiner=by, application=appeal.application).exists():
        raise Refused(_("You have already declared for this candidate."), code="already_declared")
    declaration = ConflictDeclaration.objects.create(
        campaign_id=appeal.application.post.campaign_id,
        examiner=by,
        application=appeal.application,
        relation=relation,
        details=details.strip(),
    )
    record(
        actor=by,
        action="conflict.declare",
        obj=declaration,
        campaign_id=declaration.campaign_id,
        after={"appeal": str(appeal.public_id), "relation": relation, "details": declaration.details},
    )
    if declaration.has_conflict:
        appeal.remarker, appeal.status = None, Appeal.Status.FILED
        appeal.save(update_fields=["remarker", "status"])
        record(
            actor=by,
            action="appeal.unassign",
            obj=appeal,
            campaign_id=declaration.campaign_id,
            after={"reason": "conflict"},
        )
    return declaration


def has_declared_no_conflict(appeal: Appeal, examiner: User) -> bool:
    return ConflictDeclaration.objects.filter(
        examiner=examiner, application_id=appeal.application_id, relation=Relation.NONE
    ).exists()


@transaction.atomic
def enter_remark(*, appeal: Appeal, by: User, raw_value: str) -> Appeal:
    """The re-mark, stored as a new submitted mark (source "appeal") beside the originals."""
    appeal = _locked(appeal)
    if appeal.remarker_id != by.pk or appeal.status != Appeal.Status.ASSIGNED:
        raise Refused(_("This re-mark is not assigned to you."), code="not_assigned")
    if not has_declared_no_conflict(appeal, by):
        raise Refused(
            _("Declare that you have no conflict of interest with this candidate before re-marking."),
            code="no_declaration",
        )
    campaign = appeal.application.post.campaign
    part = _part(campaign, appeal.part_code)
    try:
        value = rule_maths.parse_mark(raw_value, max_score=part.max_score, decimals=part.decimals)
    except rule_maths.MarkError as error:
        raise Refused(mark_message(error.code, part.max_score, part.decimals), code=error.code) from None
    script = script_of(appeal)
    original_mark = Mark.objects.filter(application=appeal.application, part_code=appeal.part_code).first()
    if original_mark is None:
        raise Refused(_("The original marks of this part cannot be found."), code="no_marks")
    now = timezone.now()
    mark = Mark.objects.create(
        campaign=campaign,
        part_code=appeal.part_code,
        application=appeal.application,
        script=script,
        panel_id=original_mark.panel_id,
        examiner=by,
        value=value,
        status=Mark.Status.SUBMITTED,
        source="appeal",
        saved_at=now,
        submitted_at=now,
    )
    appeal.remark, appeal.status = mark, Appeal.Status.REMARKED
    appeal.save(update_fields=["remark", "status"])
    record(
        actor=by,
        action="appeal.remark",
        obj=appeal,
        campaign_id=campaign.pk,
        after={"key": remark_key(appeal), "mark": str(mark.public_id), "value": value},
    )
    return appeal


# --- Outcome -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Proposal:
    band: str
    spread: Decimal
    value: Decimal | None  # the mean when the band settles it; otherwise HR proposes


def proposal(appeal: Appeal) -> Proposal | None:
    """What the rules say about [official mark, re-mark]."""
    if appeal.remark is None or appeal.original_value is None:
        return None
    campaign = appeal.application.post.campaign
    rules = results.rules_of(campaign)
    part = _part(campaign, appeal.part_code)
    outcome = rule_maths.resolve(
        [Decimal(appeal.original_value), Decimal(appeal.remark.value)],  # type: ignore[arg-type]
        mean_max=rules.mean_max_spread,
        escalate_min=rules.escalate_min_spread,
        decimals=part.decimals,
    )
    return Proposal(str(outcome.band), outcome.spread, outcome.value)


@transaction.atomic
def decide_appeal(*, appeal: Appeal, by: User, raw_value: str = "", reason: str = "") -> Appeal:
    """HR records the outcome: the mean within the band, else a proposed value with a reason."""
    appeal = _locked(appeal)
    if not by.has_role(Role.HR):
        raise Refused(_("Only an HR officer records the outcome of an appeal."), code="not_hr")
    if appeal.status != Appeal.Status.REMARKED:
        raise Refused(_("This appeal is not waiting for an outcome."), code="not_remarked")
    suggested = proposal(appeal)
    assert suggested is not None
    part = _part(appeal.application.post.campaign, appeal.part_code)
    if suggested.value is not None:
        value = suggested.value
    else:
        if not reason.strip():
            raise Refused(
                _("The re-mark is outside the mean band: give the proposed mark and the reason."),
                code="reason_required",
            )
        try:
            value = rule_maths.parse_mark(raw_value, max_score=part.max_score, decimals=part.decimals)
        except rule_maths.MarkError as error:
            raise Refused(mark_message(error.code, part.max_score, part.decimals), code=error.code) from None
        low, high = sorted([Decimal(appeal.original_value), Decimal(appeal.remark.value)])  # type: ignore[arg-type]
        if not low <= value <= high:
            raise Refused(
                _("The proposed mark must lie between the official mark and the re-mark."), code="outside_marks"
            )
    appeal.outcome_value = value
    appeal.outcome_reason = reason.strip()
    appeal.decided_by, appeal.status = by, Appeal.Status.DECIDED
    appeal.save(update_fields=["outcome_value", "outcome_reason", "decided_by", "status"])
    record(
        actor=by,
        action="appeal.decide",
        obj=appeal,
        campaign_id=appeal.application.post.campaign_id,
        after={"band": suggested.band, "spread": suggested.spread, "value": value, "reason": appeal.outcome_reason},
    )
    return appeal


@dataclass(frozen=True)
class Approval:
    appeal: Appeal
    changed: bool
    result_set: ResultSet | None  # the new published version, when the mark changed
    pending: str = ""  # why the new version could not be published at once


@transaction.atomic
def approve_appeal(*, appeal: Appeal, by: User) -> Approval:
    """The chair's approval; a changed mark is written and the results re-published as a new version."""
    appeal = _locked(appeal)
    if appeal.status == Appeal.Status.APPROVED:
        raise Refused(_("This appeal is already approved."), code="already_approved")
    if appeal.status != Appeal.Status.DECIDED:
        raise Refused(_("This appeal has no proposed outcome yet."), code="not_decided")
    if by.pk == appeal.decided_by_id:
        raise Refused(
            _("An appeal outcome must be approved by another person than the one who proposed it."),
            code="self_approval",
        )
    if not by.has_role(Role.CHAIR):
        raise Refused(_("Only the council chair approves an appeal outcome."), code="not_chair")
    if by.pk == appeal.remarker_id:
        raise Refused(_("The re-marker cannot approve the outcome of their own re-mark."), code="self_approval")
    appeal.approved_by, appeal.approved_at, appeal.status = by, timezone.now(), Appeal.Status.APPROVED
    appeal.save(update_fields=["approved_by", "approved_at", "status"])
    campaign = appeal.application.post.campaign
    changed = Decimal(appeal.outcome_value) != Decimal(appeal.original_value)  # type: ignore[arg-type]
    record(
        actor=by,
        action="appeal.approve",
        obj=appeal,
        campaign_id=campaign.pk,
        after={"original": appeal.original_value, "outcome": appeal.outcome_value, "changed": changed},
    )
    part = _part(campaign, appeal.part_code)
    notify(
        user=appeal.application.candidate,
        template="results/email/appeal_decided",
        context={"appeal": appeal, "part": part, "changed": changed},
    )
    if not changed:
        return Approval(appeal, False, None)
    _write_resolution(appeal, by)
    return _republish(appeal, by)


def _write_resolution(appeal: Appeal, by: User) -> Resolution:
    current = (
        Resolution.objects.select_for_update()
        .filter(application=appeal.application, part_code=appeal.part_code, is_current=True)
        .first()
    )
    suggested = proposal(appeal)
    assert suggested is not None and appeal.remark is not None
    if current is not None:
        current.is_current = False
        current.save(update_fields=["is_current"])
    reason = appeal.outcome_reason or str(
        _("Appeal: mean of the official mark %(original)s and the re-mark %(remark)s.")
        % {"original": appeal.original_value, "remark": appeal.remark.value}
    )
    resolution = Resolution.objects.create(
        campaign_id=appeal.application.post.campaign_id,
        part_code=appeal.part_code,
        application=appeal.application,
        script=appeal.remark.script,
        marks=[*(current.marks if current else []), [str(appeal.remark.public_id), str(appeal.remark.value)]],
        spread=suggested.spread,
        band=suggested.band,
        status=Resolution.Status.FINAL,
        value=appeal.outcome_value,
        method="appeal",
        reason=reason,
        decided_by=by,
        decided_at=timezone.now(),
    )
    record(
        actor=by,
        action="resolution.appeal",
        obj=resolution,
        campaign_id=resolution.campaign_id,
        before=None if current is None else {"value": current.value, "resolution": current.pk},
        after={"value": resolution.value, "appeal": str(appeal.public_id), "reason": reason},
    )
    return resolution


def _republish(appeal: Appeal, by: User) -> Approval:
    """Prepared under the name of HR who proposed the outcome, approved and published by the chair."""
    reason = str(
        _("Appeal (phúc khảo) of %(name)s, part %(part)s: %(before)s → %(after)s.")
        % {
            "name": appeal.application.display_name,
            "part": appeal.part_code,
            "before": appeal.original_value,
            "after": appeal.outcome_value,
        }
    )
    campaign = appeal.application.post.campaign
    decided_by = appeal.decided_by
    assert decided_by is not None
    try:
        with transaction.atomic():
            draft = results.prepare_version(
                campaign=campaign, prepared_by=decided_by, actor=by, reason=reason, appeal=str(appeal.public_id)
            )
    except Refused as refused:
        return Approval(appeal, True, None, pending=str(refused.message))
    try:
        with transaction.atomic():
            approved = results.approve_results(result_set=draft, by=by)
            published = results.publish_results(result_set=approved, by=by)
    except Refused as refused:
        return Approval(appeal, True, None, pending=str(refused.message))
    return Approval(appeal, True, published)


def open_appeals(campaign: Campaign) -> int:
    return Appeal.objects.filter(application__post__campaign=campaign, status__in=OPEN).count()


def appeals_of(campaign: Campaign) -> list[Appeal]:
    return list(
        Appeal.objects.filter(application__post__campaign=campaign)
        .select_related("application__post", "remarker", "remark", "decided_by", "approved_by", "result_set")
        .order_by("filed_at")
    )


def remarks_for(examiner: User) -> list[Appeal]:
    return list(Appeal.objects.filter(Q(remarker=examiner) & Q(status=Appeal.Status.ASSIGNED)).order_by("filed_at"))
