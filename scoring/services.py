"""Marking: scripts and codes, random draws, marks, disagreements, reopening and the reveal.

Every write locks what it changes, runs in one transaction and records an audit event in it.
"""

from __future__ import annotations

import random
import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from audit.services import record
from candidates.models import Application
from config.errors import Refused
from exams.models import (
    Attendance,
    Campaign,
    ConflictDeclaration,
    Escalation,
    ExamPart,
    ExamRules,
    MarkingMode,
    Panel,
    PanelCandidate,
    Relation,
)
from exams.services import rules_in_force
from scoring import rules as rule_maths
from scoring.models import Draw, Mark, MarkerAssignment, OralSlot, ReopenRequest, Resolution, Reveal, Script

MARKERS_PER_SCRIPT = 2
Audit = Callable[[], None]  # an audit event still to record


def part_of(campaign: Campaign, part_code: str) -> tuple[ExamRules, ExamPart]:
    """The rules in force and one of their parts (shared by the process: read them, never change them)."""
    rules = rules_in_force(campaign)
    if rules is None:
        raise Refused(_("The campaign has no approved rules."), code="no_rules")
    part = next((p for p in rules.parts.all() if p.code == part_code), None)
    if part is None:
        raise Refused(_("The rules define no such part."), code="no_part")
    return rules, part


def new_seed() -> str:
    return secrets.token_hex(16)


# --- Scripts and draws ----------------------------------------------------------------


@transaction.atomic
def create_scripts(*, campaign: Campaign, part_code: str, by: User) -> list[Script]:
    """One anonymous script per candidate who sat the part (absentees get none)."""
    _rules, part = part_of(campaign, part_code)
    if part.marking_mode != MarkingMode.BLIND_DOUBLE:
        raise Refused(_("Only a blind part has anonymous scripts."), code="not_blind")
    seats = PanelCandidate.objects.filter(panel__campaign=campaign, part_code=part_code).select_related("panel")
    present = set(
        Attendance.objects.filter(
            session__campaign=campaign, session__part_code=part_code, status=Attendance.Status.PRESENT
        ).values_list("application_id", flat=True)
    )
    existing = set(
        Script.objects.filter(campaign=campaign, part_code=part_code).values_list("application_id", flat=True)
    )
    created = []
    for seat in seats:
        if seat.application_id in present and seat.application_id not in existing:
            created.append(
                Script.objects.create(
                    campaign=campaign, part_code=part_code, application_id=seat.application_id, panel=seat.panel
                )
            )
    # The code ↔ candidate table is the secret: the audit keeps only how many codes were made.
    record(actor=by, action="scripts.create", obj=campaign, after={"part": part_code, "count": len(created)})
    return created


def conflicted_pairs(campaign: Campaign) -> set[tuple[int, int]]:
    return set(
        ConflictDeclaration.objects.filter(campaign=campaign)
        .exclude(relation=Relation.NONE)
        .values_list("examiner_id", "application_id")
    )


def undeclared(panel: Panel) -> list[tuple[int, int]]:
    """(examiner, application) pairs of a panel still waiting for a declaration."""
    members = list(panel.memberships.values_list("user_id", flat=True))
    candidates = list(panel.candidates.values_list("application_id", flat=True))
    declared = set(
        ConflictDeclaration.objects.filter(examiner_id__in=members, application_id__in=candidates).values_list(
            "examiner_id", "application_id"
        )
    )
    return [(m, a) for m in members for a in candidates if (m, a) not in declared]


@transaction.atomic
def draw_markers(*, campaign: Campaign, part_code: str, by: User, seed: str | None = None) -> Draw:
    """Two markers per script, drawn at random from its panel, never a conflicted examiner.

    The draw is reproducible from its seed; the least-loaded eligible examiners are preferred so
    that work is spread evenly, ties broken by the seeded generator.
    """
    seed = seed or new_seed()
    rng = random.Random(seed)
    scripts = list(
        # of=("self",): "no assignment yet" is an outer join, whose nullable side PostgreSQL cannot lock.
        Script.objects.select_for_update(of=("self",))
        .filter(campaign=campaign, part_code=part_code, assignments__isnull=True)
        .select_related("panel")
        .order_by("code")
    )
    if not scripts:
        raise Refused(_("Every script already has its markers."), code="nothing_to_draw")
    for panel in {s.panel for s in scripts}:
        if undeclared(panel):
            raise Refused(
                _("Every examiner of panel %(panel)s must declare conflicts of interest before the draw.")
                % {"panel": panel.name},
                code="declarations_missing",
            )
    conflicts = conflicted_pairs(campaign)
    members: dict[int, list[int]] = defaultdict(list)
    for panel_id, user_id in Panel.members.through.objects.filter(
        panel__campaign=campaign, panel__part_code=part_code
    ).values_list("panel_id", "user_id"):
        members[panel_id].append(user_id)
    load: dict[int, int] = defaultdict(int)
    draw = Draw.objects.create(campaign=campaign, part_code=part_code, kind=Draw.Kind.MARKERS, seed=seed, created_by=by)
    assignments = []
    for script in scripts:
        eligible = [u for u in sorted(members[script.panel_id]) if (u, script.application_id) not in conflicts]
        if len(eligible) < MARKERS_PER_SCRIPT:
            raise Refused(
                _("Panel %(panel)s has too few examiners without a conflict for one of its scripts.")
                % {"panel": script.panel.name},
                code="too_few_markers",
            )
        rng.shuffle(eligible)
        chosen = sorted(eligible, key=lambda u: load[u])[:MARKERS_PER_SCRIPT]
        for round_number, examiner_id in enumerate(chosen, start=1):
            load[examiner_id] += 1
            assignments.append(MarkerAssignment(script=script, examiner_id=examiner_id, round=round_number, draw=draw))
    MarkerAssignment.objects.bulk_create(assignments)
    draw.result = {"scripts": len(scripts), "assignments": len(assignments)}
    draw.save(update_fields=["result"])
    record(actor=by, action="draw.markers", obj=draw, campaign_id=campaign.pk, after={"seed": seed, **draw.result})
    return draw


@transaction.atomic
def draw_oral_order(*, panel: Panel, by: User, seed: str | None = None) -> Draw:
    if panel.oral_slots.exists():
        raise Refused(_("The order of this panel has already been drawn."), code="already_drawn")
    seed = seed or new_seed()
    applications = list(panel.candidates.order_by("application__public_id").values_list("application_id", flat=True))
    if not applications:
        raise Refused(_("This panel has no candidate."), code="empty_panel")
    order = applications[:]
    random.Random(seed).shuffle(order)
    draw = Draw.objects.create(
        campaign=panel.campaign,
        part_code=panel.part_code,
        panel=panel,
        kind=Draw.Kind.ORAL_ORDER,
        seed=seed,
        created_by=by,
        result={"order": order},
    )
    OralSlot.objects.bulk_create(
        OralSlot(panel=panel, application_id=app_id, position=position, draw=draw)
        for position, app_id in enumerate(order, start=1)
    )
    record(
        actor=by,
        action="draw.oral_order",
        obj=draw,
        campaign_id=panel.campaign_id,
        after={"seed": seed, "order": order},
    )
    return draw


def _extra_marker(*, script: Script, round_number: int, by: User, kind: str) -> tuple[MarkerAssignment, Audit]:
    """Draws one more marker for a script (a third, or a replacement): the writes now, and the audit event
    to record after the caller's own."""
    conflicts = conflicted_pairs(script.campaign)
    taken = set(script.assignments.values_list("examiner_id", flat=True))
    # Only a member who has declared about every candidate of the panel: one drawn before declaring would
    # learn whose script it is from which declaration lets them mark it.
    undeclared_members = {member for member, _application in undeclared(script.panel)}
    eligible = sorted(
        u
        for u in script.panel.memberships.values_list("user_id", flat=True)
        if u not in taken and u not in undeclared_members and (u, script.application_id) not in conflicts
    )
    if not eligible:
        raise Refused(
            _(
                "No other examiner of the panel can be drawn for this script (each needs every declaration "
                "made, and no conflict): ask HR to add one to the panel."
            ),
            code="no_marker",
        )
    seed = new_seed()
    examiner_id = random.Random(seed).choice(eligible)
    draw = Draw.objects.create(
        campaign=script.campaign,
        part_code=script.part_code,
        panel=script.panel,
        kind=kind,
        seed=seed,
        created_by=by,
        result={"script": script.code, "round": round_number, "examiner": examiner_id},
    )
    assignment = MarkerAssignment.objects.create(script=script, examiner_id=examiner_id, round=round_number, draw=draw)

    def audit() -> None:
        record(
            actor=by,
            action=f"draw.{kind}",
            obj=draw,
            campaign_id=script.campaign_id,
            after={"seed": seed, **draw.result},
        )

    return assignment, audit


# --- Marks -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """What an examiner may mark, as read by one query: the candidate, the script (blind part), the panel,
    and the examiner's declaration about the candidate ("" when none is made)."""

    application_id: int
    script_id: int | None
    panel_id: int
    relation: str

    def check_may_mark(self) -> None:
        if not self.relation:
            raise Refused(
                _("Declare any conflict of interest with this candidate before marking."), code="no_declaration"
            )
        if self.relation != Relation.NONE:
            raise Refused(_("You declared a conflict of interest: you cannot mark this candidate."), code="conflict")


# The examiner's target, read in one statement that also locks the candidate's row (on PostgreSQL; SQLite
# takes the database's write lock at BEGIN). Hand-written because it runs on every keystroke's save and
# every submission: the ORM cannot lock one table of a join while reading a subquery beside it.
_BLIND_TARGET_SQL = """
    SELECT s.application_id, s.id, s.panel_id,
           COALESCE((SELECT d.relation FROM exams_conflictdeclaration d
                     WHERE d.examiner_id = %(examiner)s AND d.application_id = s.application_id), '')
    FROM scoring_script s
    JOIN scoring_markerassignment ma ON ma.script_id = s.id AND ma.examiner_id = %(examiner)s
    JOIN candidates_application a ON a.id = s.application_id
    WHERE s.campaign_id = %(campaign)s AND s.part_code = %(part)s AND s.code = %(key)s
"""
_ORAL_TARGET_SQL = """
    SELECT o.application_id, NULL, o.panel_id,
           COALESCE((SELECT d.relation FROM exams_conflictdeclaration d
                     WHERE d.examiner_id = %(examiner)s AND d.application_id = o.application_id), '')
    FROM scoring_oralslot o
    JOIN exams_panel p ON p.id = o.panel_id
    JOIN exams_panelmember pm ON pm.panel_id = p.id AND pm.user_id = %(examiner)s
    JOIN candidates_application a ON a.id = o.application_id
    WHERE p.campaign_id = %(campaign)s AND p.part_code = %(part)s AND o.id = %(key)s
"""


def _target_in(*, examiner: User, campaign: Campaign, part: ExamPart, key: str) -> Target:
    """The key an examiner sends (a script code, or an oral slot's id) if it is theirs to mark.

    Anything not assigned to them is answered as if it did not exist. The candidate's row is locked until
    the commit: every write of a candidate's marks takes this lock first (see lock_candidate()), so what
    the transaction reads next about those marks stays true until it commits.
    """
    blind = part.marking_mode == MarkingMode.BLIND_DOUBLE
    if not blind and not (key.isascii() and key.isdigit() and len(key) <= 18):  # an oral slot's id (bigint)
        raise Refused(_("This candidate is not assigned to you."), code="not_assigned")
    sql = _BLIND_TARGET_SQL if blind else _ORAL_TARGET_SQL
    if connection.features.has_select_for_update_of:
        sql += " FOR UPDATE OF a"
    with connection.cursor() as cursor:
        cursor.execute(sql, {"examiner": examiner.pk, "campaign": campaign.pk, "part": part.code, "key": key})
        row = cursor.fetchone()
    if row is None:
        if blind:
            raise Refused(_("This script is not assigned to you."), code="not_assigned")
        raise Refused(_("This candidate is not assigned to you."), code="not_assigned")
    return Target(*row)


def _criteria_total(part: ExamPart, raw_criteria: dict[str, str]) -> tuple[dict[str, str], Decimal | None]:
    criteria = list(part.criteria.all())
    if not criteria:
        return {}, None
    values: dict[str, str] = {}
    total, complete = Decimal(0), True
    for criterion in criteria:
        raw = raw_criteria.get(str(criterion.position), "")
        if raw is None or str(raw).strip() == "":
            complete = False  # a draft may leave criteria blank; the others are still kept and checked
            continue
        try:
            value = rule_maths.parse_mark(raw, max_score=criterion.max_score, decimals=part.decimals)
        except rule_maths.MarkError as error:
            raise Refused(mark_message(error.code, criterion.max_score, part.decimals), code=error.code) from None
        values[str(criterion.position)] = str(value)
        total += value
    return values, total if complete else None


def mark_message(code: str, max_score: Decimal, decimals: int) -> str:
    messages = {
        "not_a_number": _("Enter a number, such as 72.5."),
        "out_of_range": _("A mark must be between 0 and %(max)s."),
        "too_many_decimals": _("A mark has at most %(decimals)d decimal(s)."),
    }
    return str(messages[code]) % {"max": f"{max_score.normalize():f}", "decimals": decimals}


def _candidate_marks(application_id: int, part_code: str) -> list[Mark]:
    """The current marks of a candidate's part, every examiner's: read under the candidate's lock."""
    return list(Mark.objects.filter(application_id=application_id, part_code=part_code, is_current=True).order_by())


def save_mark(
    *,
    examiner: User,
    campaign: Campaign,
    part_code: str,
    key: str,
    raw_value: str,
    raw_criteria: dict[str, str] | None = None,
    submit: bool = False,
    source: str = "web",
) -> Mark:
    """Saves a draft as the examiner types, or submits it (which locks it)."""
    _rules, part = part_of(campaign, part_code)
    return save_mark_in(
        examiner=examiner,
        campaign=campaign,
        part=part,
        key=key,
        raw_value=raw_value,
        raw_criteria=raw_criteria,
        submit=submit,
        source=source,
    )


def expected_markers(*, part: ExamPart, application_id: int) -> set[int]:
    if part.marking_mode == MarkingMode.BLIND_DOUBLE:
        return set(
            MarkerAssignment.objects.filter(
                script__application_id=application_id, script__part_code=part.code
            ).values_list("examiner_id", flat=True)
        )
    seat = PanelCandidate.objects.filter(application_id=application_id, part_code=part.code).first()
    if seat is None:
        return set()
    members = set(seat.panel.memberships.values_list("user_id", flat=True))
    conflicted = set(
        ConflictDeclaration.objects.filter(application_id=application_id, examiner_id__in=members)
        .exclude(relation=Relation.NONE)
        .values_list("examiner_id", flat=True)
    )
    return members - conflicted


def _evaluation(
    *, campaign: Campaign, part: ExamPart, application_id: int, submitted: list[Mark], by: User
) -> Callable[[], tuple[Resolution, Audit]] | None:
    """Once every expected mark is in, applies the bands (a third mark closes an escalation).

    `submitted` are the candidate's current submitted marks of the part, this one included. Does the
    reads now; returns the writes (None while a mark is missing), which return the audit
    events still to record.

    Reads, writes, then events: the audit chain's head, locked for every writer of the platform from
    the first record() to the commit, is held for the events alone, and they come in their natural
    order (the mark, then its resolution).
    """
    rules = part.rules
    submitted = sorted(submitted, key=lambda m: (m.submitted_at, m.pk))
    if part.marking_mode == MarkingMode.BLIND_DOUBLE and len(submitted) < MARKERS_PER_SCRIPT:
        return None  # a script always has two markers at least (a draw refuses fewer): not complete yet
    expected = expected_markers(part=part, application_id=application_id)
    if not expected or not expected <= {m.examiner_id for m in submitted}:
        return None
    current = (
        Resolution.objects.select_for_update()
        .filter(application_id=application_id, part_code=part.code, is_current=True)
        .first()
    )
    values = [m.value for m in submitted]
    common = {
        "campaign": campaign,
        "part": part,
        "application_id": application_id,
        "script_id": submitted[0].script_id,
        "marks": [[str(m.public_id), str(m.value)] for m in submitted],
    }
    if current is not None and current.status == Resolution.Status.FINAL:
        return lambda: (current, lambda: None)
    if part.marking_mode == MarkingMode.BLIND_DOUBLE and len(expected) > MARKERS_PER_SCRIPT:
        # A third marker was drawn (the spread was escalated) and every mark is in: the two closest decide.
        # Read from the assignments, not from the pending record, which a reopening retires.
        value = rule_maths.closest_pair_mean(values, part.decimals)
        spread = current.spread if current is not None else max(values) - min(values)
        return lambda: _superseded(
            current,
            **common,
            spread=spread,
            band=Resolution.Band.ESCALATED,
            status=Resolution.Status.FINAL,
            value=value,
            method="closest_pair_mean",
            by=by,
        )
    outcome = rule_maths.resolve(
        values, mean_max=rules.mean_max_spread, escalate_min=rules.escalate_min_spread, decimals=part.decimals
    )
    if outcome.band == rule_maths.Band.MEAN:
        status, method = Resolution.Status.FINAL, "mean"
    elif outcome.band == rule_maths.Band.CHAIR:
        status, method = Resolution.Status.PENDING_CHAIR, ""
    elif rules.escalation == Escalation.THIRD_MARKER and part.marking_mode == MarkingMode.BLIND_DOUBLE:
        status, method = Resolution.Status.PENDING_THIRD, ""
    else:
        status, method = Resolution.Status.PENDING_COUNCIL, ""

    def write() -> tuple[Resolution, Audit]:
        resolution, audit = _superseded(
            current,
            **common,
            spread=outcome.spread,
            band=outcome.band,
            status=status,
            value=outcome.value,
            method=method,
            by=None,
        )
        if status != Resolution.Status.PENDING_THIRD or resolution.script_id is None:
            return resolution, audit
        # The third marker is drawn here, before any event: the draw's reads and writes must not run
        # while the audit chain's head is locked. Its event follows the resolution's.
        script = Script.objects.select_related("campaign", "panel").get(pk=resolution.script_id)
        _assignment, draw_audit = _extra_marker(script=script, round_number=3, by=by, kind=Draw.Kind.THIRD_MARKER)

        def audit_then_draw() -> None:
            audit()
            draw_audit()

        return resolution, audit_then_draw

    return write


def _supersede(current: Resolution | None, *, by: User | None, reason: str = "", **fields: Any) -> Resolution:
    resolution, audit = _superseded(current, by=by, reason=reason, **fields)
    audit()
    return resolution


def _superseded(
    current: Resolution | None, *, by: User | None, reason: str = "", **fields: Any
) -> tuple[Resolution, Audit]:
    """The writes of _supersede(), and its audit event, to be recorded when the caller's own event is in."""
    before = None if current is None else {"status": current.status, "value": str(current.value)}
    if current is not None:
        current.is_current = False
        current.save(update_fields=["is_current"])
    part: ExamPart = fields.pop("part")
    resolution = Resolution.objects.create(
        part_code=part.code,
        reason=reason,
        decided_by=by,
        decided_at=timezone.now() if fields["status"] == Resolution.Status.FINAL else None,
        **fields,
    )

    def audit() -> None:
        record(
            actor=by,
            action="resolution." + resolution.status,
            obj=resolution,
            campaign_id=resolution.campaign_id,
            before=before,
            after={
                "band": resolution.band,
                "spread": str(resolution.spread),
                "value": str(resolution.value),
                "method": resolution.method,
                "reason": reason,
                "marks": resolution.marks,
            },
        )

    return resolution, audit


@transaction.atomic
def decide_disagreement(*, resolution: Resolution, by: User, raw_value: str, reason: str) -> Resolution:
    """The chair's decision (or the council's, recorded by the chair), with a reason."""
    lock_candidate(resolution.application_id)  # as every write of the candidate's marks and resolutions
    current = Resolution.objects.select_for_update().get(pk=resolution.pk)
    if not current.is_current or current.status not in (
        Resolution.Status.PENDING_CHAIR,
        Resolution.Status.PENDING_COUNCIL,
    ):
        raise Refused(_("This disagreement is not waiting for a decision."), code="not_pending")
    if not by.has_role("Council chair"):
        raise Refused(_("Only the council chair decides a disagreement."), code="not_chair")
    if not reason.strip():
        raise Refused(_("Give the reason for the decision."), code="reason_required")
    _rules, part = part_of(current.campaign, current.part_code)
    try:
        value = rule_maths.parse_mark(raw_value, max_score=part.max_score, decimals=part.decimals)
    except rule_maths.MarkError as error:
        raise Refused(mark_message(error.code, part.max_score, part.decimals), code=error.code) from None
    values = [Decimal(v) for _id, v in current.marks]
    if not min(values) <= value <= max(values):
        raise Refused(_("The decided mark must lie between the lowest and the highest mark."), code="outside_marks")
    return _supersede(
        current,
        by=by,
        reason=reason.strip(),
        campaign=current.campaign,
        part=part,
        application=current.application,
        script=current.script,
        marks=current.marks,
        spread=current.spread,
        band=current.band,
        status=Resolution.Status.FINAL,
        value=value,
        method="chair" if current.band == Resolution.Band.CHAIR else "council",
    )


# --- Reopening a submitted mark (four eyes) --------------------------------------------------


def _lock_campaign(campaign_id: int) -> None:
    """Serialises a reopening with the reveal of its part (taken before any candidate of the campaign)."""
    list(Campaign.objects.select_for_update().filter(pk=campaign_id).values_list("pk", flat=True))


def _refuse_if_revealed(campaign_id: int, part_code: str) -> None:
    if is_revealed(campaign_id, part_code):
        raise Refused(
            _("The identities of this part are revealed: a mark can no longer be reopened (an appeal re-marks it)."),
            code="revealed",
        )


def _refuse_if_reopening(campaign_id: int, part_code: str) -> None:
    waiting = ReopenRequest.objects.filter(
        mark__campaign_id=campaign_id, mark__part_code=part_code, approved_at__isnull=True
    )
    if waiting.exists():
        raise Refused(
            _("A request to reopen a mark of this part is waiting: it must be approved before the reveal."),
            code="reopen_pending",
        )


@transaction.atomic
def request_reopen(*, mark: Mark, by: User, reason: str) -> ReopenRequest:
    _lock_campaign(mark.campaign_id)
    _refuse_if_revealed(mark.campaign_id, mark.part_code)
    if mark.status != Mark.Status.SUBMITTED or not mark.is_current:
        raise Refused(_("Only a submitted mark can be reopened."), code="not_submitted")
    if not reason.strip():
        raise Refused(_("Give the reason for reopening the mark."), code="reason_required")
    if ReopenRequest.objects.filter(mark=mark, approved_at__isnull=True).exists():
        raise Refused(_("A request to reopen this mark is already waiting."), code="pending")
    request = ReopenRequest.objects.create(mark=mark, reason=reason.strip(), requested_by=by)
    record(
        actor=by,
        action="mark.reopen_request",
        obj=request,
        campaign_id=mark.campaign_id,
        after={"reason": request.reason},
    )
    return request


@transaction.atomic
def approve_reopen(*, request: ReopenRequest, by: User) -> Mark:
    campaign_id, part_code = Mark.objects.filter(pk=request.mark_id).values_list("campaign_id", "part_code").get()
    _lock_campaign(campaign_id)
    _refuse_if_revealed(campaign_id, part_code)
    request = ReopenRequest.objects.select_for_update(of=("self",)).select_related("mark").get(pk=request.pk)
    if request.approved_at:
        raise Refused(_("This request has already been approved."), code="approved")
    if by.pk == request.requested_by_id:
        raise Refused(_("A reopening must be approved by another person than the one who asked."), code="self_approval")
    if not by.has_role("Council chair"):
        raise Refused(_("Only the council chair approves a reopening."), code="not_chair")
    lock_candidate(request.mark.application_id)
    old = Mark.objects.select_for_update().get(pk=request.mark_id)
    old.is_current = False
    old.save(update_fields=["is_current"])
    new = Mark.objects.create(
        campaign=old.campaign,
        part_code=old.part_code,
        application=old.application,
        script=old.script,
        panel=old.panel,
        examiner=old.examiner,
        value=old.value,
        criteria=old.criteria,
        supersedes=old,
    )
    Resolution.objects.filter(application=old.application, part_code=old.part_code, is_current=True).update(
        is_current=False
    )
    request.approved_by, request.approved_at = by, timezone.now()
    request.save(update_fields=["approved_by", "approved_at"])
    record(
        actor=by,
        action="mark.reopen",
        obj=old,
        campaign_id=old.campaign_id,
        before={"value": str(old.value), "status": old.status},
        after={"new_mark": str(new.public_id)},
    )
    return new


# --- Identity reveal (blind part), four eyes ----------------------------------------------


def blocking_reveal(campaign: Campaign, part_code: str) -> int:
    """Scripts of the part without a final resolution."""
    scripts = Script.objects.filter(campaign=campaign, part_code=part_code)
    final = Resolution.objects.filter(
        campaign=campaign, part_code=part_code, is_current=True, status=Resolution.Status.FINAL
    ).values("application_id")
    return scripts.exclude(application_id__in=final).count()


@transaction.atomic
def request_reveal(*, campaign: Campaign, part_code: str, by: User) -> Reveal:
    _lock_campaign(campaign.pk)
    if not Script.objects.filter(campaign=campaign, part_code=part_code).exists():
        raise Refused(_("This part has no script."), code="no_scripts")
    _refuse_if_reopening(campaign.pk, part_code)
    pending = blocking_reveal(campaign, part_code)
    if pending:
        raise Refused(
            _(
                "%(count)d scripts are not finally marked: identities stay hidden until every mark is "
                "submitted and every disagreement resolved."
            )
            % {"count": pending},
            code="not_complete",
        )
    try:
        with transaction.atomic():
            reveal = Reveal.objects.create(campaign=campaign, part_code=part_code, requested_by=by)
    except IntegrityError:
        raise Refused(_("The reveal of this part has already been requested."), code="already_requested") from None
    record(actor=by, action="reveal.request", obj=reveal, campaign_id=campaign.pk, after={"part": part_code})
    return reveal


@transaction.atomic
def approve_reveal(*, reveal: Reveal, by: User) -> Reveal:
    _lock_campaign(reveal.campaign_id)  # a reopening approved meanwhile would follow the reveal
    reveal = Reveal.objects.select_for_update().get(pk=reveal.pk)
    if reveal.revealed_at:
        raise Refused(_("Identities of this part are already revealed."), code="already_revealed")
    if by.pk == reveal.requested_by_id:
        raise Refused(_("The reveal must be approved by another person than the one who asked."), code="self_approval")
    if blocking_reveal(reveal.campaign, reveal.part_code):
        raise Refused(_("Some scripts are not finally marked."), code="not_complete")
    _refuse_if_reopening(reveal.campaign_id, reveal.part_code)
    reveal.approved_by, reveal.revealed_at = by, timezone.now()
    reveal.save(update_fields=["approved_by", "revealed_at"])
    mapping = dict(
        Script.objects.filter(campaign=reveal.campaign, part_code=reveal.part_code).values_list(
            "code", "application__public_id"
        )
    )
    record(
        actor=by,
        action="reveal.approve",
        obj=reveal,
        campaign_id=reveal.campaign_id,
        after={"part": reveal.part_code, "codes": {c: str(a) for c, a in sorted(mapping.items())}},
    )
    return reveal


def is_revealed(campaign: Campaign | int, part_code: str) -> bool:
    return Reveal.objects.filter(campaign=campaign, part_code=part_code, revealed_at__isnull=False).exists()


def final_marks(campaign: Campaign, part_code: str) -> dict[int, Decimal]:
    return dict(
        Resolution.objects.filter(
            campaign=campaign, part_code=part_code, is_current=True, status=Resolution.Status.FINAL
        ).values_list("application_id", "value")
    )


def pending_resolutions(campaign: Campaign) -> Iterable[Resolution]:
    return Resolution.objects.filter(campaign=campaign, is_current=True).filter(
        Q(status=Resolution.Status.PENDING_CHAIR) | Q(status=Resolution.Status.PENDING_COUNCIL)
    )


def submit_complete_drafts(*, examiner: User, campaign: Campaign, part_code: str) -> int:
    """Submits each of the examiner's drafts of the part that holds a whole mark; returns how many.

    Each mark is submitted in its own transaction, exactly as if its row's button had been pressed:
    one refused mark (reopened or submitted meanwhile from another window) does not hold up the others.
    """
    _rules, part = part_of(campaign, part_code)
    drafts = Mark.objects.filter(
        examiner=examiner,
        campaign=campaign,
        part_code=part_code,
        is_current=True,
        status=Mark.Status.DRAFT,
        value__isnull=False,
    ).select_related("script")
    slots = dict(
        OralSlot.objects.filter(
            panel__campaign=campaign, panel__part_code=part_code, panel__memberships__user=examiner
        ).values_list("application_id", "pk")
    )
    submitted = 0
    for draft in drafts:
        key = draft.script.code if draft.script is not None else str(slots.get(draft.application_id, ""))
        try:
            save_mark(
                examiner=examiner,
                campaign=campaign,
                part_code=part.code,
                key=key,
                raw_value="" if draft.criteria else str(draft.value),
                raw_criteria=draft.criteria or None,
                submit=True,
            )
        except Refused:
            continue
        submitted += 1
    return submitted


def save_mark_in(
    *,
    examiner: User,
    campaign: Campaign,
    part: ExamPart,
    key: str,
    raw_value: str,
    raw_criteria: dict[str, str] | None = None,
    submit: bool = False,
    source: str = "web",
) -> Mark:
    """save_mark() for a caller that already holds the part of the rules in force (the marking page does)."""
    try:
        with transaction.atomic():
            return _save_mark(
                examiner=examiner,
                campaign=campaign,
                part=part,
                key=key,
                raw_value=raw_value,
                raw_criteria=raw_criteria or {},
                submit=submit,
                source=source,
            )
    except IntegrityError:
        # Two windows created the same mark at once: the other one won. Caught out here, so that the
        # common case needs no savepoint, and the whole write is undone.
        raise Refused(
            _("This mark was just saved from another window; reload the page."), code="concurrent_save"
        ) from None


def _save_mark(
    *,
    examiner: User,
    campaign: Campaign,
    part: ExamPart,
    key: str,
    raw_value: str,
    raw_criteria: dict[str, str],
    submit: bool,
    source: str,
) -> Mark:
    target = _target_in(examiner=examiner, campaign=campaign, part=part, key=key)
    target.check_may_mark()
    criteria, total = _criteria_total(part, raw_criteria)
    value: Decimal | None = total
    if part.criteria.all():
        # A rubric's mark is the sum of its criteria, never a value sent beside them (a forged request could
        # otherwise leave a criterion blank and submit any mark).
        if value is not None and value > part.max_score:
            raise Refused(mark_message("out_of_range", part.max_score, part.decimals), code="out_of_range")
    elif str(raw_value).strip() != "":
        try:
            value = rule_maths.parse_mark(raw_value, max_score=part.max_score, decimals=part.decimals)
        except rule_maths.MarkError as error:
            raise Refused(mark_message(error.code, part.max_score, part.decimals), code=error.code) from None
    if submit and value is None:
        raise Refused(_("Enter the mark before submitting."), code="empty")
    marks = _candidate_marks(target.application_id, part.code)  # the target's read locked the candidate
    mark = next((m for m in marks if m.examiner_id == examiner.pk), None)
    if mark is not None and mark.status == Mark.Status.SUBMITTED:
        raise Refused(
            _("This mark is already submitted and locked; only the chair can reopen it."), code="already_submitted"
        )
    now = timezone.now()
    before = None if mark is None else {"value": str(mark.value), "status": mark.status}
    status = Mark.Status.SUBMITTED if submit else Mark.Status.DRAFT
    submitted_at = now if submit else None
    if mark is None:
        mark = Mark.objects.create(
            campaign=campaign,
            part_code=part.code,
            application_id=target.application_id,
            script_id=target.script_id,
            panel_id=target.panel_id,
            examiner=examiner,
            value=value,
            criteria=criteria,
            status=status,
            saved_at=now,
            submitted_at=submitted_at,
            source=source,
        )
    else:
        mark.value, mark.criteria, mark.saved_at = value, criteria, now
        mark.status, mark.submitted_at, mark.source = status, submitted_at, source
        mark.save(update_fields=["value", "criteria", "saved_at", "status", "submitted_at", "source"])
    resolved = None
    if submit:
        # The candidate's lock (above) makes the submissions of one candidate's marks take turns, so the
        # evaluation sees every mark committed before this one. Its reads and writes come before
        # record(): from there to the commit, the audit chain's head is locked for every writer.
        submitted = [m for m in marks if m.status == Mark.Status.SUBMITTED and m.examiner_id != examiner.pk]
        resolve = _evaluation(
            campaign=campaign,
            part=part,
            application_id=target.application_id,
            submitted=[*submitted, mark],
            by=examiner,
        )
        resolved = None if resolve is None else resolve()
    record(  # a draft too: every change of a mark is in the chain, the examiner's working values included
        actor=examiner,
        action="mark.submit" if submit else "mark.draft",
        obj=mark,
        campaign_id=campaign.pk,
        before=before,
        after={"key": key, "value": None if value is None else str(value), "criteria": criteria, "source": source},
    )
    if resolved is not None:
        resolved[1]()  # the resolution's event, after the mark's
    return mark


def lock_candidate(application_id: int) -> None:
    """Serialises the writes of one candidate's marks (a draft, a submission, a reopening, a chair's decision).

    Taken before any mark of the candidate is read for a write, so that two of them never wait on each
    other. Marking takes it in the same statement as its target (_target_in).
    """
    lock_candidates([application_id])


def lock_candidates(application_ids: Iterable[int]) -> None:
    """lock_candidate() for several candidates, always in the order of their ids, so that two writers that
    each lock several never wait on each other in a circle."""
    ids = sorted(set(application_ids))
    list(Application.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))
