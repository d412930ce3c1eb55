"""Writes of campaigns and posts: announcing, and amending what candidates rely on."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.roles import Role
from audit.models import AuditEvent
from audit.services import record, snapshot
from config.errors import Refused
from exams.models import (
    Campaign,
    ConflictDeclaration,
    CouncilMember,
    ExamPart,
    ExamRules,
    MarkingMode,
    Panel,
    PanelCandidate,
    PanelMember,
    Post,
    PostAmendment,
    Relation,
)


@transaction.atomic
def announce_campaign(*, campaign: Campaign, by: User) -> Campaign:
    """Makes a campaign public. The gate on approved exam rules is added here too, in one place."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.status != Campaign.Status.DRAFT:
        raise Refused(_("This campaign has already been announced."), code="already_announced")
    rules = current_rules(campaign)
    if rules is None:
        raise Refused(
            _("The exam rules must be approved by the council chair before the campaign is announced."),
            code="rules_not_approved",
        )
    posts = list(campaign.posts.all())
    if not posts:
        raise Refused(_("Add at least one post before announcing the campaign."), code="no_posts")
    for post in posts:
        if not post.required_documents:
            raise Refused(_("Post “%(post)s” lists no required document.") % {"post": post}, code="no_documents")
    campaign.status = Campaign.Status.ANNOUNCED
    campaign.announced_at = timezone.now()
    campaign.min_candidates_per_post = rules.min_candidates_per_post
    campaign.save(update_fields=["status", "announced_at", "min_candidates_per_post"])
    record(actor=by, action="campaign.announce", obj=campaign, after={"rules_version": rules.version})
    return campaign


def _display(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if hasattr(value, "isoformat"):
        return (
            timezone.localtime(value).strftime("%d/%m/%Y %H:%M")
            if hasattr(value, "hour")
            else value.strftime("%d/%m/%Y")
        )
    return str(value)


@transaction.atomic
def save_post(*, post: Post, changed_fields: dict[str, tuple[Any, Any]], by: User, reason: str = "") -> Post:
    """Saves a post; once the campaign is announced, every change needs a reason shown on the post.

    `changed_fields` maps a field's label to (before, after) as the form saw them.
    """
    announced = post.pk and post.campaign.status != Campaign.Status.DRAFT
    if announced and post.eligible_list_published_at:
        raise Refused(
            _("The eligible list of this post is published: the post can no longer change."), code="published"
        )
    if announced and changed_fields:
        if not reason.strip():
            raise Refused(
                _("This post has been announced: give the reason for the change, it will be shown on the post."),
                code="reason_required",
            )
        post.save()
        PostAmendment.objects.create(
            post=post,
            changes={label: [_display(before), _display(after)] for label, (before, after) in changed_fields.items()},
            reason=reason.strip(),
            changed_by=by,
        )
        # Standards may have changed: undecided applications are checked again against them.
        from candidates.services import recheck_submitted_applications

        recheck_submitted_applications(post=post)
    else:
        post.save()
    if changed_fields:
        record(
            actor=by,
            action="post.amend" if announced else "post.edit",
            obj=post,
            campaign_id=post.campaign_id,
            after={
                "changes": {label: [_display(b), _display(a)] for label, (b, a) in changed_fields.items()},
                "reason": reason.strip(),
            },
        )
    return post


CAMPAIGN_FIELDS = [
    "title",
    "authority",
    "description",
    "min_candidates_per_post",
    "written_exam_date",
    "oral_exam_date",
    "results_date",
]


@transaction.atomic
def save_campaign(*, campaign: Campaign, by: User) -> Campaign:
    """Creates a campaign, or saves one still in draft: an announced campaign is frozen."""
    before = None
    if campaign.pk:
        current = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if current.status != Campaign.Status.DRAFT:
            raise Refused(_("An announced campaign can no longer be edited."), code="not_draft")
        campaign.status, campaign.announced_at = current.status, current.announced_at
        before = snapshot(current, CAMPAIGN_FIELDS)
    else:
        campaign.created_by = by
    campaign.save()
    action = "campaign.edit" if before else "campaign.create"
    record(actor=by, action=action, obj=campaign, before=before, after=snapshot(campaign, CAMPAIGN_FIELDS))
    return campaign


@transaction.atomic
def create_post(*, post: Post, by: User) -> Post:
    """Adds a post to a draft campaign: the posts of an announced campaign are those announced."""
    campaign = Campaign.objects.select_for_update().get(pk=post.campaign_id)
    if campaign.status != Campaign.Status.DRAFT:
        raise Refused(_("Posts can be added only while the campaign is a draft."), code="not_draft")
    post.save()
    record(actor=by, action="post.create", obj=post, after=snapshot(post, ["organisation", "title", "vacancies"]))
    return post


# --- Rules: edited by HR, approved by the chair (another person), then frozen ----------------


def current_rules(campaign: Campaign) -> ExamRules | None:
    """The latest approved version: what decides marks and ranks from now on."""
    return (
        ExamRules.objects.filter(campaign=campaign, status=ExamRules.Status.APPROVED)
        .prefetch_related("parts__criteria")
        .order_by("-version")
        .first()
    )


# Approved rules never change (an amendment is a new version), so a process may keep them: marking
# reads them on every keystroke. The key adds the creation and approval times to the id, so a version
# rolled back and its id reused (SQLite reuses ids) is never taken for another.
RulesKey = tuple[object, ...]  # (id, created_at, approved_at) as the database driver returns them
_RULES_IN_FORCE: dict[RulesKey, ExamRules] = {}
_RULES_IN_FORCE_KEPT = 256
_RULES_IN_FORCE_KEY = (
    f"SELECT id, created_at, approved_at FROM {ExamRules._meta.db_table} "
    "WHERE campaign_id = %s AND status = %s ORDER BY version DESC LIMIT 1"
)


def rules_in_force(campaign: Campaign) -> ExamRules | None:
    """current_rules() with its parts and criteria, shared by the process: read it, never change it."""
    # Plain SQL: this lookup runs on every mark saved, and the ORM would spend more building it than
    # the database spends answering it.
    with connection.cursor() as cursor:
        cursor.execute(_RULES_IN_FORCE_KEY, [campaign.pk, ExamRules.Status.APPROVED])
        row = cursor.fetchone()
    if row is None:
        return None
    key: RulesKey = tuple(row)
    rules = _RULES_IN_FORCE.get(key)
    if rules is None:
        rules = ExamRules.objects.prefetch_related("parts__criteria").get(pk=key[0])
        if len(_RULES_IN_FORCE) >= _RULES_IN_FORCE_KEPT:
            _RULES_IN_FORCE.pop(next(iter(_RULES_IN_FORCE)), None)
        _RULES_IN_FORCE[key] = rules
    return rules


# The editable fields of a rules version and of its parts: the editor's form and the audit snapshot
# both use these lists, so a new field is edited and audited at once.
RULE_FIELDS = [
    "mean_max_spread",
    "escalate_min_spread",
    "escalation",
    "ranking_basis",
    "tie_breaks",
    "decisive_part",
    "min_candidates_per_post",
    "appeal_window_days",
]
PART_FIELDS = [
    "position",
    "code",
    "name",
    "max_score",
    "decimals",
    "pass_mark",
    "gates_next",
    "weight",
    "marking_mode",
    "appealable",
]


def rules_snapshot(rules: ExamRules) -> dict[str, Any]:
    data = snapshot(rules, ["version", "status", "amendment_reason", *RULE_FIELDS])
    data["parts"] = [
        {
            **snapshot(part, PART_FIELDS),
            "criteria": [snapshot(c, ["position", "name", "max_score"]) for c in part.criteria.all()],
        }
        for part in rules.parts.all()
    ]
    return data


def _editable_rules(rules: ExamRules) -> ExamRules:
    rules = ExamRules.objects.select_for_update().get(pk=rules.pk)
    if rules.status != ExamRules.Status.DRAFT:
        raise Refused(
            _("These rules are approved and frozen. Propose an amendment instead: it needs a reason and approval."),
            code="frozen",
        )
    return rules


@transaction.atomic
def record_rules_edit(*, rules: ExamRules, by: User, before: dict[str, Any] | None) -> ExamRules:
    """Called after a rules form saved a draft: refuses frozen rules, and audits the change."""
    locked = ExamRules.objects.select_for_update().get(pk=rules.pk)
    if locked.status != ExamRules.Status.DRAFT:
        raise Refused(_("These rules are approved and frozen."), code="frozen")
    record(actor=by, action="rules.edit", obj=rules, before=before, after=rules_snapshot(rules))
    return rules


@transaction.atomic
def create_rules_draft(*, campaign: Campaign, by: User, reason: str = "") -> ExamRules:
    """A first version, or an amendment copied from the version in force (which needs a reason)."""
    Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.rule_versions.filter(status=ExamRules.Status.DRAFT).exists():
        raise Refused(_("A draft of these rules is already being edited."), code="draft_exists")
    base = current_rules(campaign)
    if base is None:
        rules = ExamRules.objects.create(campaign=campaign, created_by=by)
        for position, (code, name, mode, gates, appealable) in enumerate(DEFAULT_PARTS, start=1):
            ExamPart.objects.create(
                rules=rules,
                position=position,
                code=code,
                name=name,
                marking_mode=mode,
                gates_next=gates,
                appealable=appealable,
            )
    else:
        if not reason.strip():
            raise Refused(_("An amendment of approved rules needs a reason."), code="reason_required")
        parts = list(base.parts.prefetch_related("criteria"))
        rules = base
        rules.pk = None
        rules._state.adding = True
        rules.__dict__.pop("_prefetched_objects_cache", None)  # else rules.parts would answer with the base's
        rules.version = base.version + 1
        rules.status, rules.amendment_reason = ExamRules.Status.DRAFT, reason.strip()
        rules.created_by, rules.approved_by, rules.approved_at = by, None, None
        rules.save()
        for part in parts:
            criteria = list(part.criteria.all())
            part.pk, part._state.adding, part.rules = None, True, rules
            part.save()
            for criterion in criteria:
                criterion.pk, criterion._state.adding, criterion.part = None, True, part
                criterion.save()
    record(actor=by, action="rules.draft", obj=rules, after=rules_snapshot(rules))
    return rules


DEFAULT_PARTS = (
    ("written", "Thi viết", MarkingMode.BLIND_DOUBLE, True, True),
    ("oral", "Trình bày đề án, phỏng vấn", MarkingMode.PANEL_BALLOT, False, False),
)


@transaction.atomic
def approve_rules(*, rules: ExamRules, by: User) -> ExamRules:
    rules = _editable_rules(rules)
    # Whoever wrote any of the draft (created it, or saved an edit: the trail records each) cannot approve it.
    edited = AuditEvent.objects.filter(
        action__in=["rules.draft", "rules.edit"], object_type="exams.examrules", object_id=str(rules.pk), actor=by
    )
    if by.pk == rules.created_by_id or edited.exists():
        raise Refused(_("Rules must be approved by another person than their author."), code="self_approval")
    if not by.has_role(Role.CHAIR):
        raise Refused(_("Only the council chair approves the rules."), code="not_chair")
    seated_chair = CouncilMember.objects.filter(campaign_id=rules.campaign_id, role=CouncilMember.Role.CHAIR).first()
    if seated_chair is not None and seated_chair.user_id != by.pk:
        raise Refused(_("Only the chair of this campaign's council approves its rules."), code="not_this_chair")
    if not rules.parts.exists():
        raise Refused(_("The rules define no part."), code="no_parts")
    before = rules_snapshot(rules)
    rules.status, rules.approved_by, rules.approved_at = ExamRules.Status.APPROVED, by, timezone.now()
    rules.save(update_fields=["status", "approved_by", "approved_at"])
    record(actor=by, action="rules.approve", obj=rules, before=before, after=rules_snapshot(rules))
    return rules


# --- Council, panels and declarations ------------------------------------------------------


@transaction.atomic
def set_council_member(*, campaign: Campaign, user: User, role: str, by: User) -> CouncilMember:
    Campaign.objects.select_for_update().get(pk=campaign.pk)
    if not user.has_role(Role.EXAMINER, Role.CHAIR):
        raise Refused(_("Council members are examiners or council chairs."), code="not_examiner")
    if role == CouncilMember.Role.CHAIR and (
        CouncilMember.objects.filter(campaign=campaign, role=CouncilMember.Role.CHAIR).exclude(user=user).exists()
    ):
        raise Refused(_("This council already has a chair."), code="chair_taken")
    member, created = CouncilMember.objects.update_or_create(campaign=campaign, user=user, defaults={"role": role})
    record(
        actor=by,
        action="council.member",
        obj=member,
        campaign_id=campaign.pk,
        after={"user": user.email, "role": role, "created": created},
    )
    return member


@transaction.atomic
def add_panel_member(*, panel: Panel, user: User, by: User) -> PanelMember:
    if not user.has_role(Role.EXAMINER):
        raise Refused(_("Only examiners can sit on a panel."), code="not_examiner")
    Panel.objects.select_for_update().get(pk=panel.pk)
    if panel.marks.exists():
        raise Refused(_("Marking has started in this panel: its members can no longer change."), code="marking_started")
    member, _created = PanelMember.objects.get_or_create(panel=panel, user=user)
    record(actor=by, action="panel.member", obj=panel, campaign_id=panel.campaign_id, after={"user": user.email})
    return member


@transaction.atomic
def assign_to_panel(*, panel: Panel, applications: list[Any], by: User) -> int:
    """Puts eligible candidates in a panel for its part (one panel per part and candidate)."""
    Panel.objects.select_for_update().get(pk=panel.pk)
    if any(a.status != "eligible" or a.post.campaign_id != panel.campaign_id for a in applications):
        raise Refused(_("Only eligible candidates of this campaign can be assigned."), code="not_eligible")
    ids = [a.pk for a in applications]
    elsewhere = PanelCandidate.objects.filter(application_id__in=ids, part_code=panel.part_code).exclude(panel=panel)
    if elsewhere.exists():
        raise Refused(_("A candidate is already in another panel for this part."), code="other_panel")
    present = set(panel.candidates.filter(application_id__in=ids).values_list("application_id", flat=True))
    try:
        with transaction.atomic():
            created = PanelCandidate.objects.bulk_create(
                PanelCandidate(panel=panel, application_id=pk, part_code=panel.part_code)
                for pk in ids
                if pk not in present
            )
    except IntegrityError:
        raise Refused(_("A candidate is already in another panel for this part."), code="other_panel") from None
    added = len(created)
    record(
        actor=by,
        action="panel.assign",
        obj=panel,
        campaign_id=panel.campaign_id,
        after={"added": added, "applications": len(ids)},
    )
    return added


@transaction.atomic
def declare_conflict(*, examiner: User, application: Any, relation: str, details: str = "") -> ConflictDeclaration:
    if not PanelMember.objects.filter(user=examiner, panel__candidates__application=application).exists():
        raise Refused(_("This candidate is not in one of your panels."), code="not_in_panel")
    if relation == Relation.OTHER and not details.strip():
        raise Refused(_("Describe the relation."), code="details_required")
    if ConflictDeclaration.objects.filter(examiner=examiner, application=application).exists():
        raise Refused(_("You have already declared for this candidate."), code="already_declared")
    declaration = ConflictDeclaration.objects.create(
        campaign_id=application.post.campaign_id,
        examiner=examiner,
        application=application,
        relation=relation,
        details=details.strip(),
    )
    # No marker is ever drawn before declaring about every candidate of the panel (draw_markers and the
    # third marker's draw both check), so a declaration never concerns a script already assigned.
    record(
        actor=examiner,
        action="conflict.declare",
        obj=declaration,
        campaign_id=declaration.campaign_id,
        after={"application": str(application.public_id), "relation": relation, "details": details.strip()},
    )
    return declaration


# --- Rules pages: the chair approves what they read; panels are created and trimmed by HR ------


def rules_fingerprint(rules: ExamRules) -> str:
    """A hash of everything a version says: the approval form carries the one the chair read."""
    import hashlib
    import json

    text = json.dumps(rules_snapshot(rules), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@transaction.atomic
def approve_rules_as_read(*, rules: ExamRules, by: User, fingerprint: str) -> ExamRules:
    """Approves a draft only if it still says what the chair read (HR may have saved it since)."""
    locked = ExamRules.objects.select_for_update().get(pk=rules.pk)
    if locked.status == ExamRules.Status.DRAFT and rules_fingerprint(locked) != fingerprint:
        raise Refused(
            _("The draft was changed after you opened it. Read the new text before approving it."),
            code="changed_since_read",
        )
    return approve_rules(rules=locked, by=by)


@transaction.atomic
def create_panel(*, campaign: Campaign, part_code: str, name: str, posts: list[Post], by: User) -> Panel:
    """A panel marks one part of the rules in force, optionally for some posts only."""
    Campaign.objects.select_for_update().get(pk=campaign.pk)  # serialises the name check below
    rules = current_rules(campaign)
    if rules is None or not any(part.code == part_code for part in rules.parts.all()):
        raise Refused(_("Choose a part of the approved exam rules."), code="no_part")
    name = name.strip()
    if not name:
        raise Refused(_("Give the panel a name."), code="name_required")
    if Panel.objects.filter(campaign=campaign, part_code=part_code, name=name).exists():
        raise Refused(_("This part already has a panel with this name."), code="duplicate_name")
    if any(post.campaign_id != campaign.pk for post in posts):
        raise Refused(_("A panel can only serve posts of its own campaign."), code="other_campaign")
    panel = Panel.objects.create(campaign=campaign, part_code=part_code, name=name)
    panel.posts.set(posts)
    record(actor=by, action="panel.create", obj=panel, after=snapshot(panel, ["part_code", "name", "posts"]))
    return panel


@transaction.atomic
def remove_panel_member(*, panel: Panel, user: User, by: User) -> None:
    """Takes an examiner off a panel before marking starts there (the expected marks depend on it)."""
    from scoring.models import Mark, MarkerAssignment

    panel = Panel.objects.select_for_update().get(pk=panel.pk)
    membership = PanelMember.objects.filter(panel=panel, user=user).first()
    if membership is None:
        raise Refused(_("This examiner is not on the panel."), code="not_member")
    # A panel ballot expects a mark from every member; a blind draw named this examiner's scripts.
    if (
        Mark.objects.filter(panel=panel).exists()
        or MarkerAssignment.objects.filter(script__panel=panel, examiner=user).exists()
    ):
        raise Refused(
            _("Marking has started in this panel: its examiners can no longer change."), code="marking_started"
        )
    membership.delete()
    record(actor=by, action="panel.member_remove", obj=panel, before={"user": user.email})


@transaction.atomic
def remove_from_panel(*, panel: Panel, application: Any, by: User) -> None:
    """Takes a candidate out of a panel while nothing was drawn or marked for them there."""
    from scoring.models import Mark, OralSlot, Script

    panel = Panel.objects.select_for_update().get(pk=panel.pk)
    seat = PanelCandidate.objects.filter(panel=panel, application=application).first()
    if seat is None:
        raise Refused(_("This candidate is not in the panel."), code="not_in_panel")
    if (
        Script.objects.filter(panel=panel, application=application).exists()
        or OralSlot.objects.filter(panel=panel, application=application).exists()
        or Mark.objects.filter(panel=panel, application=application).exists()
    ):
        raise Refused(
            _("This candidate already has a script, a drawn slot or marks in this panel: they stay in it."),
            code="marking_started",
        )
    seat.delete()
    record(
        actor=by,
        action="panel.unassign",
        obj=panel,
        before={"application": str(application.public_id), "part": panel.part_code},
    )


@transaction.atomic
def remove_council_member(*, campaign: Campaign, user: User, by: User) -> None:
    member = CouncilMember.objects.select_for_update().filter(campaign=campaign, user=user).first()
    if member is None:
        raise Refused(_("This person is not on the council."), code="not_member")
    role = member.role
    member.delete()
    record(
        actor=by,
        action="council.member_remove",
        object_type="exams.councilmember",
        object_id=f"{campaign.pk}:{user.pk}",
        campaign_id=campaign.pk,
        before={"user": user.email, "role": role},
    )
