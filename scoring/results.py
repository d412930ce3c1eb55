"""Results of a campaign: prepared by HR, approved by the chair, published as a frozen, hashed version.

The ranking is `scoring.ranking.rank_post` (pure); this module only feeds it what the rules and the
records say: each part's official mark (the current final resolution), absences, weights, gates,
the tie-break chain, the chair's recorded tie decisions and the ranking basis (raw marks, or the
adjusted scores of the latest done normalisation run of each part). A version is a new record each
time; a published version is never edited, only superseded by the next one.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from types import ModuleType
from typing import Any

from django.db import transaction
from django.db.models import Count, F, Max, QuerySet, Sum
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_tasks import task

from accounts.models import User
from accounts.notifications import notify
from accounts.roles import Role
from audit.models import CanonicalJSONEncoder
from audit.services import json_safe, record, utc_iso
from candidates.models import Application
from config.errors import Refused
from config.tasks import enqueue_with_change
from exams.models import Attendance, Campaign, ExamPart, ExamRules, MarkingMode, Post, RankingBasis
from exams.services import current_rules
from scoring.fairness import marks_changed_since
from scoring.models import (
    AdjustedScore,
    NormalisationRun,
    Resolution,
    ResultEntry,
    ResultSet,
    Script,
    TieDecision,
)
from scoring.ranking import CandidateMarks, Outcome, PartRule, PostResult, RankedCandidate, rank_post
from scoring.rules import round_half_up
from scoring.services import final_marks, is_revealed

UNPUBLISHED = (ResultSet.Status.DRAFT, ResultSet.Status.APPROVED)
FROZEN = (ResultSet.Status.PUBLISHED, ResultSet.Status.SUPERSEDED)
RANKED = (Outcome.WINNER, Outcome.PASSED)
NOT_SAT = (Attendance.Status.ABSENT, Attendance.Status.EXCUSED)
ADJUSTED_DECIMALS = 2
MISSING_SHOWN = 20
SNAPSHOT_FORMAT = 1


@dataclass(frozen=True)
class MissingMark:
    post: str
    candidate: str
    part: str


@dataclass
class Row:
    """One candidate's result, as it becomes a ResultEntry."""

    application_id: int
    public_id: str
    post_id: int
    full_name: str
    part_marks: dict[str, str | None]
    adjusted_marks: dict[str, str | None]
    total: Decimal | None
    rank: int | None
    outcome: str
    proof: list[list[Any]]


@dataclass
class Computation:
    rules: ExamRules
    basis: str
    runs: dict[str, int]
    decimals: int
    rows: list[Row] = field(default_factory=list)
    missing: list[MissingMark] = field(default_factory=list)
    needs_chair: dict[int, list[list[str]]] = field(default_factory=dict)  # post id → groups of public ids
    digest: str = ""


@dataclass
class _Inputs:
    rules: ExamRules
    parts: list[ExamPart]
    basis: str
    runs: dict[str, int]
    posts: list[Post]
    applications: list[dict[str, Any]]
    official: dict[str, dict[int, Decimal]]
    adjusted: dict[str, dict[int, Decimal]]
    absent: set[tuple[int, str]]
    chair_orders: dict[int, list[list[str]]]


# --- Reading what decides the results ---------------------------------------------------


def rules_of(campaign: Campaign) -> ExamRules:
    rules = current_rules(campaign)
    if rules is None:
        raise Refused(_("The campaign has no approved rules."), code="no_rules")
    return rules


def priority_of(raw: object) -> int:
    """The priority category declared in the profile snapshot (higher is preferred), 0 when none."""
    try:
        return int(str(raw)) if raw not in (None, "") else 0
    except ValueError:
        return 0


def _method_fits(method: str, basis: str) -> bool:
    # The rules fix the method before marking: an "additive" basis accepts the shrunk variant too.
    return method == basis or method.startswith(basis + "_")


def normalisation_runs(campaign: Campaign, rules: ExamRules) -> dict[str, int]:
    """Part code → the latest done run fitting the rules' basis ({} on the raw basis)."""
    if rules.ranking_basis == RankingBasis.RAW:
        return {}
    runs: dict[str, int] = {}
    for part in rules.parts.all():
        candidates = NormalisationRun.objects.filter(
            campaign=campaign, part_code=part.code, status=NormalisationRun.Status.DONE
        ).order_by("-version")
        run = next((r for r in candidates if _method_fits(r.method, rules.ranking_basis)), None)
        if run is None:
            raise Refused(
                _("The rules rank on adjusted marks, but part “%(part)s” has no finished normalisation run.")
                % {"part": part.name},
                code="no_normalisation",
            )
        if marks_changed_since(run):
            raise Refused(
                _(
                    "The marks of part “%(part)s” changed after its normalisation run (a resolution, a "
                    "reopening or an appeal): run it again, then prepare the results."
                )
                % {"part": part.name},
                code="normalisation_stale",
            )
        runs[part.code] = run.pk
    return runs


def _load(campaign: Campaign) -> _Inputs:
    rules = rules_of(campaign)
    parts = list(rules.parts.all())
    runs = normalisation_runs(campaign, rules)
    applications = list(
        Application.objects.filter(post__campaign=campaign, status=Application.Status.ELIGIBLE)
        .annotate(
            snapshot_name=KeyTextTransform("full_name", "profile_snapshot"),
            snapshot_priority=KeyTextTransform("priority", "profile_snapshot"),
        )
        .values(
            "id",
            "public_id",
            "post_id",
            "snapshot_name",
            "snapshot_priority",
            "priority_accepted",
            "candidate__full_name",
        )
        .order_by("id")
    )
    absent = set(
        Attendance.objects.filter(session__campaign=campaign, status__in=NOT_SAT).values_list(
            "application_id", "session__part_code"
        )
    )
    chair_orders: dict[int, list[list[str]]] = defaultdict(list)
    # The latest decision first: it wins where two decisions name the same candidates.
    for decision in TieDecision.objects.filter(campaign=campaign).order_by("-decided_at", "-pk"):
        chair_orders[decision.post_id].append([str(key) for key in decision.order])
    return _Inputs(
        rules=rules,
        parts=parts,
        basis=rules.ranking_basis,
        runs=runs,
        posts=list(Post.objects.filter(campaign=campaign).order_by("title", "pk")),
        applications=applications,
        official={part.code: final_marks(campaign, part.code) for part in parts},
        adjusted={
            code: dict(AdjustedScore.objects.filter(run_id=run_id).values_list("application_id", "adjusted_score"))
            for code, run_id in runs.items()
        },
        absent=absent,
        chair_orders=dict(chair_orders),
    )


def fingerprint(campaign: Campaign) -> str:
    """What the results are computed from, in a few aggregate queries: any change between preparation
    and publication (a new or superseded resolution, an attendance, a tie decision, an eligibility, an
    amended rule, a vacancy, a new normalisation run) changes it.

    Resolutions, tie decisions and runs are never edited, only added or superseded (the ids and the
    current flags move); attendance and applications can be edited, so their states are counted too.
    """
    rules = current_rules(campaign)
    resolutions = Resolution.objects.filter(campaign=campaign, is_current=True, status=Resolution.Status.FINAL)
    parts: dict[str, Any] = {}
    for code, count, top, total in (
        resolutions.order_by().values("part_code").annotate(n=Count("id"), top=Max("id"), total=Sum("id"))
    ).values_list("part_code", "n", "top", "total"):
        parts[code] = [count, top, total]
    applications = Application.objects.filter(post__campaign=campaign, status=Application.Status.ELIGIBLE)
    not_sat = Attendance.objects.filter(session__campaign=campaign, status__in=NOT_SAT)
    data = {
        "rules": None if rules is None else rules.pk,
        "basis": None if rules is None else rules.ranking_basis,
        "resolutions": parts,
        "applications": list(applications.aggregate(n=Count("id"), top=Max("id"), total=Sum("id")).values()),
        "not_sat": list(not_sat.aggregate(n=Count("id"), total=Sum("id")).values()),
        "ties": list(TieDecision.objects.filter(campaign=campaign).aggregate(n=Count("id"), top=Max("id")).values()),
        "runs": list(
            NormalisationRun.objects.filter(campaign=campaign, status=NormalisationRun.Status.DONE)
            .aggregate(n=Count("id"), top=Max("id"))
            .values()
        ),
        "vacancies": sorted(Post.objects.filter(campaign=campaign).values_list("pk", "vacancies")),
    }
    return hashlib.sha256(CanonicalJSONEncoder().encode(json_safe(data)).encode()).hexdigest()


def _name(application: dict[str, Any]) -> str:
    # NFC: the same name typed decomposed must print, sort and compare as the same name.
    return unicodedata.normalize("NFC", str(application["snapshot_name"] or application["candidate__full_name"] or ""))


def _plain(value: Decimal) -> Decimal:
    # 1.00 → 1 and 50.00 → 50, so the proof reads "× 1" and "≥ pass mark 50".
    return value.normalize() if value == value.to_integral_value() else value


NO_PASS_MARK = Decimal("-Infinity")


def _part_rules(parts: Sequence[ExamPart], *, adjusted: bool) -> list[PartRule]:
    if adjusted:
        # Pass marks apply to the official marks (checked first); adjusted marks only rank, and may fall below
        # zero (equating rescales them): nothing fails on them.
        return [
            PartRule(p.code, p.name, pass_mark=NO_PASS_MARK, weight=_plain(p.weight), decimals=ADJUSTED_DECIMALS)
            for p in parts
        ]
    return [
        PartRule(
            p.code,
            p.name,
            pass_mark=_plain(p.pass_mark),
            weight=_plain(p.weight),
            gates_next=p.gates_next,
            decimals=p.decimals,
        )
        for p in parts
    ]


def _marks_of(
    app_id: int, parts: Sequence[ExamPart], source: dict[str, dict[int, Decimal]], decimals: int | None
) -> dict[str, Decimal | None]:
    marks: dict[str, Decimal | None] = {}
    for part in parts:
        value = source.get(part.code, {}).get(app_id)
        marks[part.code] = (
            None if value is None else round_half_up(value, part.decimals if decimals is None else decimals)
        )
    return marks


def _steps(candidate: RankedCandidate) -> list[list[Any]]:
    return [[step.code, step.params] for step in candidate.steps]


def compute(campaign: Campaign) -> Computation:
    """Every eligible candidate's result, without writing anything."""
    inputs = _load(campaign)
    adjusted_basis = inputs.basis != RankingBasis.RAW
    decimals = ADJUSTED_DECIMALS if adjusted_basis else max((p.decimals for p in inputs.parts), default=1)
    result = Computation(inputs.rules, inputs.basis, inputs.runs, decimals, digest=fingerprint(campaign))
    by_post: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for application in inputs.applications:
        by_post[application["post_id"]].append(application)
    for post in inputs.posts:
        if post.pk in by_post:
            _compute_post(result, inputs, post, {str(a["public_id"]): a for a in by_post[post.pk]})
    return result


def _compute_post(result: Computation, inputs: _Inputs, post: Post, applications: dict[str, dict[str, Any]]) -> None:
    chain: dict[str, Any] = {
        "vacancies": post.vacancies,
        "tie_breaks": inputs.rules.tie_breaks,
        "decisive_part": inputs.rules.decisive_part,
        "chair_orders": inputs.chair_orders.get(post.pk, []),
        "min_candidates": inputs.rules.min_candidates_per_post,
    }
    candidates = {
        key: CandidateMarks(
            key=key,
            name=_name(a),
            marks=_marks_of(a["id"], inputs.parts, inputs.official, None),
            absent=frozenset(p.code for p in inputs.parts if (a["id"], p.code) in inputs.absent),
            priority=priority_of(a["snapshot_priority"]) if a["priority_accepted"] else 0,  # proven only
        )
        for key, a in applications.items()
    }
    raw = rank_post(list(candidates.values()), _part_rules(inputs.parts, adjusted=False), **chain)
    for ranked in raw.candidates:
        if ranked.outcome == Outcome.INCOMPLETE:
            part = next(s.params["part"] for s in ranked.steps if s.code == "missing")
            result.missing.append(MissingMark(post.title, ranked.name, part))
    final, adjusted = raw, {}
    if inputs.basis != RankingBasis.RAW:
        final = _rank_adjusted(raw, candidates, inputs, applications, chain, result, post)
        adjusted = {r.key: r for r in final.candidates}
    if final.needs_chair:
        result.needs_chair[post.pk] = final.needs_chair
    for ranked in raw.candidates:
        application = applications[ranked.key]
        chosen = adjusted.get(ranked.key, ranked)
        marks = candidates[ranked.key].marks
        result.rows.append(
            Row(
                application_id=application["id"],
                public_id=ranked.key,
                post_id=post.pk,
                full_name=ranked.name,
                part_marks={code: None if value is None else f"{value:f}" for code, value in marks.items()},
                adjusted_marks=_adjusted_text(application["id"], inputs) if adjusted else {},
                total=chosen.total,
                rank=chosen.rank,
                outcome=str(chosen.outcome),
                proof=_proof(ranked, adjusted.get(ranked.key), inputs.basis),
            )
        )


def _adjusted_text(app_id: int, inputs: _Inputs) -> dict[str, str | None]:
    marks = _marks_of(app_id, inputs.parts, inputs.adjusted, ADJUSTED_DECIMALS)
    return {code: None if value is None else f"{value:f}" for code, value in marks.items()}


def _rank_adjusted(
    raw: PostResult,
    candidates: dict[str, CandidateMarks],
    inputs: _Inputs,
    applications: dict[str, dict[str, Any]],
    chain: dict[str, Any],
    result: Computation,
    post: Post,
) -> PostResult:
    """Those who passed on their official marks, ranked on their adjusted marks."""
    adjusted = []
    for ranked in raw.candidates:
        if ranked.outcome not in RANKED:
            continue
        candidate = candidates[ranked.key]
        marks = _marks_of(applications[ranked.key]["id"], inputs.parts, inputs.adjusted, ADJUSTED_DECIMALS)
        for part in inputs.parts:
            if marks[part.code] is None:
                result.missing.append(
                    MissingMark(post.title, ranked.name, str(_("%(part)s (adjusted)") % {"part": part.name}))
                )
        adjusted.append(CandidateMarks(candidate.key, candidate.name, marks, frozenset(), candidate.priority))
    return rank_post(adjusted, _part_rules(inputs.parts, adjusted=True), **chain)


def _proof(raw: RankedCandidate, adjusted: RankedCandidate | None, basis: str) -> list[list[Any]]:
    if adjusted is None:
        return _steps(raw)
    # The official marks decide pass or fail; the adjusted marks the total and the rank.
    official = [[s.code, dict(s.params)] for s in raw.steps if s.code in ("part_passed", "part_failed", "total")]
    official.append(["raw_rank", {"rank": str(raw.rank), "total": official[-1][1].get("total", "")}])
    official.append(["basis", {"basis": basis}])
    for step in adjusted.steps:
        if step.code in ("part_passed", "part_failed"):
            continue
        official.append(["adjusted_total" if step.code == "total" else step.code, dict(step.params)])
    return official


# --- Versions ----------------------------------------------------------------------------


def versions() -> QuerySet[ResultSet]:
    """Result sets without their snapshot (loaded only where it is needed: see snapshot_key)."""
    return ResultSet.objects.defer("content")


def current_published(campaign: Campaign | int) -> ResultSet | None:
    campaign_id = campaign if isinstance(campaign, int) else campaign.pk
    return versions().filter(campaign_id=campaign_id, status=ResultSet.Status.PUBLISHED).first()


def latest_unpublished(campaign: Campaign) -> ResultSet | None:
    return versions().filter(campaign=campaign, status__in=UNPUBLISHED).order_by("-version").first()


def _check_revealed(campaign: Campaign, rules: ExamRules) -> None:
    for part in rules.parts.all():
        if part.marking_mode != MarkingMode.BLIND_DOUBLE:
            continue
        if Script.objects.filter(campaign=campaign, part_code=part.code).exists() and not is_revealed(
            campaign, part.code
        ):
            raise Refused(
                _("The identities of part “%(part)s” are not revealed yet: results can be prepared after the reveal.")
                % {"part": part.name},
                code="not_revealed",
            )


def _missing_message(missing: list[MissingMark]) -> str:
    lines = "; ".join(f"{m.post} — {m.candidate} — {m.part}" for m in missing[:MISSING_SHOWN])
    more = len(missing) - MISSING_SHOWN
    text = _("Results cannot be prepared: %(count)d official marks are missing or unresolved: %(list)s") % {
        "count": len(missing),
        "list": lines,
    }
    if more > 0:
        text += " " + str(_("(and %(more)d more)") % {"more": more})
    return str(text)


ENTRY_COLUMNS = (
    "result_set_id", "application_id", "post_id", "full_name", "part_marks", "adjusted_marks", "total", "rank",
    "outcome", "proof",
)  # fmt: skip


def _write_entries(result_set: ResultSet, rows: list[Row]) -> None:
    """The entries in a few statements: COPY on PostgreSQL, batched INSERTs elsewhere.

    At 50,000 entries the ORM's per-object cost (bulk_create) dominated the whole preparation; the
    values are the same the ORM would write (JSON text, the decimal, plain columns).
    """
    connection = transaction.get_connection()
    ops = connection.ops
    table, columns = ops.quote_name(ResultEntry._meta.db_table), ", ".join(ops.quote_name(c) for c in ENTRY_COLUMNS)
    encode, empty = json.JSONEncoder().encode, "{}"  # most entries have no adjusted marks
    values = (
        (
            result_set.pk,
            row.application_id,
            row.post_id,
            row.full_name,
            encode(row.part_marks),
            encode(row.adjusted_marks) if row.adjusted_marks else empty,
            row.total,
            row.rank,
            row.outcome,
            encode(row.proof),
        )
        for row in rows
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for value in values:
                    copy.write_row(value)
            return
        sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(ENTRY_COLUMNS))})"
        batch: list[tuple[Any, ...]] = []
        for value in values:
            batch.append(value)
            if len(batch) == 5000:
                cursor.executemany(sql, batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)


def _snapshot(computation: Computation) -> dict[str, Any]:
    """The draft's content: what publication freezes (it adds who approved, when, and the hash)."""
    titles = {p.pk: p for p in Post.objects.filter(pk__in={row.post_id for row in computation.rows})}
    entries = [
        {
            "application": row.public_id,
            "post": row.post_id,
            "name": row.full_name,
            "marks": row.part_marks,
            "adjusted": row.adjusted_marks,
            "total": _total_text(row.total, computation.decimals),
            "rank": row.rank,
            "outcome": row.outcome,
        }
        for row in computation.rows
    ]
    proofs = {row.public_id: row.proof for row in computation.rows}
    entries.sort(key=_entry_order)
    return {
        "format": SNAPSHOT_FORMAT,
        "inputs_digest": computation.digest,
        "rules": {"id": computation.rules.pk, "version": computation.rules.version},
        "decimals": computation.decimals,
        "basis": computation.basis,
        "runs": computation.runs,
        "parts": [
            {
                "code": p.code,
                "name": p.name,
                "pass_mark": f"{_plain(p.pass_mark):f}",
                "weight": f"{_plain(p.weight):f}",
                "gates_next": p.gates_next,
                "appealable": p.appealable,
            }
            for p in computation.rules.parts.all()
        ],
        "posts": [{"id": p.pk, "title": p.title, "vacancies": p.vacancies} for _pk, p in sorted(titles.items())],
        "entries": entries,
        "proofs_digest": proofs_digest(proofs[e["application"]] for e in entries),
    }


def proofs_digest(proofs: Iterable[Any]) -> str:
    """SHA-256 over the entries' rank proofs, one canonical JSON line each, in the snapshot's entry order.

    The proofs stay on the entries (they are long); the snapshot freezes them through this digest.
    """
    digest, encode = hashlib.sha256(), CanonicalJSONEncoder().encode
    for proof in proofs:
        digest.update(encode(proof).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def _entry_order(entry: dict[str, Any]) -> tuple[Any, ...]:
    return (entry["post"], entry["rank"] is None, entry["rank"] or 0, entry["name"], entry["application"])


@transaction.atomic
def prepare_results(*, campaign: Campaign, by: User, reason: str = "") -> ResultSet:
    """A new draft version, computed from the current official marks (HR)."""
    if not by.has_role(Role.HR):
        raise Refused(_("Only an HR officer prepares the results."), code="not_hr")
    return prepare_version(campaign=campaign, prepared_by=by, actor=by, reason=reason)


@transaction.atomic
def prepare_version(*, campaign: Campaign, prepared_by: User, actor: User, reason: str, appeal: str = "") -> ResultSet:
    """Computes and stores a new unpublished version; `actor` is who triggered it (the chair, for an appeal)."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    rules = rules_of(campaign)
    _check_revealed(campaign, rules)
    computation = compute(campaign)
    if computation.missing:
        raise Refused(_missing_message(computation.missing), code="marks_missing")
    if not computation.rows:
        raise Refused(_("The campaign has no eligible candidate."), code="no_candidates")
    published = current_published(campaign)
    if published is not None and not reason.strip():
        raise Refused(
            _("Results are already published: give the reason for a new version, it is shown with the results."),
            code="reason_required",
        )
    # An unpublished version was never seen outside the council: a new preparation replaces it.
    replaced = list(campaign.result_sets.filter(status__in=UNPUBLISHED).values_list("version", flat=True))
    campaign.result_sets.filter(status__in=UNPUBLISHED).delete()
    version = (campaign.result_sets.aggregate(last=Max("version"))["last"] or 0) + 1
    result_set = ResultSet.objects.create(
        campaign=campaign,
        version=version,
        basis=computation.basis,
        runs=computation.runs,
        reason=reason.strip(),
        prepared_by=prepared_by,
        content=_snapshot(computation),
    )
    _write_entries(result_set, computation.rows)
    record(
        actor=actor,
        action="results.prepare",
        obj=result_set,
        after={
            "version": version,
            "basis": computation.basis,
            "runs": computation.runs,
            "entries": len(computation.rows),
            "inputs_digest": computation.digest,
            "needs_chair": {str(k): v for k, v in computation.needs_chair.items()},
            "replaced_versions": replaced,
            "prepared_by": prepared_by.pk,
            "appeal": appeal,
            "reason": reason.strip(),
        },
    )
    return result_set


def _refresh(result_set: ResultSet) -> ResultSet:
    """Recomputes an unpublished version in place (after the chair's tie decision); approval is reset."""
    computation = compute(result_set.campaign)
    if computation.missing:
        raise Refused(_missing_message(computation.missing), code="marks_missing")
    result_set.entries.all().delete()
    _write_entries(result_set, computation.rows)
    result_set.status, result_set.approved_by, result_set.approved_at = ResultSet.Status.DRAFT, None, None
    result_set.basis, result_set.runs, result_set.content = computation.basis, computation.runs, _snapshot(computation)
    result_set.save(update_fields=["status", "approved_by", "approved_at", "basis", "runs", "content"])
    return result_set


def _check_fresh(result_set: ResultSet, digest: str) -> None:
    if fingerprint(result_set.campaign) != digest:
        raise Refused(
            _("Marks, attendance, rules or tie decisions changed since this version was prepared: prepare it again."),
            code="stale",
        )


# --- Ties, approval and publication --------------------------------------------------------


def tie_groups(result_set: ResultSet) -> dict[int, list[list[ResultEntry]]]:
    """Post id → groups of entries the whole chain left tied (same rank), for the chair to order."""
    by_rank: dict[tuple[int, int], list[ResultEntry]] = defaultdict(list)
    for entry in result_set.entries.filter(rank__isnull=False).select_related("application").order_by("pk"):
        by_rank[(entry.post_id, entry.rank)].append(entry)  # type: ignore[index]
    groups: dict[int, list[list[ResultEntry]]] = defaultdict(list)
    for (post_id, _rank), entries in sorted(by_rank.items()):
        if len(entries) > 1:
            groups[post_id].append(entries)
    return dict(groups)


def blocking_ties(result_set: ResultSet) -> int:
    """Entries tied across the last vacancy: within the vacancies yet not winners (nobody in such a tie
    wins until the chair decides; see rank_post)."""
    within = result_set.entries.filter(outcome=Outcome.PASSED, rank__lte=F("post__vacancies")).only("proof")
    return sum(1 for entry in within if any(step[0] == "tie_at_cutoff" for step in entry.proof or []))


def _digest_of(result_set: ResultSet) -> str:
    return str(snapshot_key(result_set, "inputs_digest") or "")


def _locked(result_set: ResultSet) -> ResultSet:
    """The version, locked after its campaign: every writer of a campaign's results takes the campaign
    first (an appeal's approval holds it, and the audit chain's head, when it re-publishes), so that two
    of them never wait on each other in a circle."""
    Campaign.objects.select_for_update().get(pk=result_set.campaign_id)
    return (
        ResultSet.objects.select_for_update(of=("self",))
        .defer("content")
        .select_related("campaign")
        .get(pk=result_set.pk)
    )


@transaction.atomic
def decide_tie(*, campaign: Campaign, post: Post, order: Sequence[str], reason: str, by: User) -> TieDecision:
    """The chair's recorded order of a tie nothing in the chain broke; the draft is recomputed with it."""
    if not by.has_role(Role.CHAIR):
        raise Refused(_("Only the council chair decides a tie."), code="not_chair")
    if not reason.strip():
        raise Refused(_("Give the reason for the decision."), code="reason_required")
    Campaign.objects.select_for_update().get(pk=campaign.pk)  # serialised with a new preparation
    draft = (
        campaign.result_sets.select_for_update()
        .filter(status__in=UNPUBLISHED)
        .defer("content")
        .order_by("-version")
        .first()
    )
    if draft is None:
        raise Refused(_("There is no prepared version to decide a tie in."), code="no_draft")
    order = [str(key) for key in order]
    groups = tie_groups(draft).get(post.pk, [])
    if not any(sorted(order) == sorted(str(e.application.public_id) for e in group) for group in groups):
        raise Refused(_("These candidates are not tied in the prepared version."), code="not_a_tie")
    decision = TieDecision.objects.create(
        campaign=campaign, post=post, order=order, reason=reason.strip(), decided_by=by
    )
    _refresh(draft)
    record(
        actor=by,
        action="results.tie_decide",
        obj=decision,
        campaign_id=campaign.pk,
        after={"post": post.pk, "order": order, "reason": decision.reason, "version": draft.version},
    )
    return decision


@transaction.atomic
def approve_results(*, result_set: ResultSet, by: User) -> ResultSet:
    """The chair's approval of a prepared version (never the preparer's)."""
    result_set = _locked(result_set)
    if result_set.status in FROZEN:
        raise Refused(_("This version is already published."), code="already_published")
    if result_set.status == ResultSet.Status.APPROVED:
        raise Refused(_("This version is already approved."), code="already_approved")
    if by.pk == result_set.prepared_by_id:
        raise Refused(
            _("Results must be approved by another person than the one who prepared them."), code="self_approval"
        )
    if not by.has_role(Role.CHAIR):
        raise Refused(_("Only the council chair approves the results."), code="not_chair")
    if blocking_ties(result_set):
        raise Refused(
            _("A tie across the last vacancy needs the chair's recorded decision before approval."), code="tie_pending"
        )
    digest = _digest_of(result_set)
    _check_fresh(result_set, digest)
    result_set.status, result_set.approved_by, result_set.approved_at = (
        ResultSet.Status.APPROVED,
        by,
        timezone.now(),
    )
    result_set.save(update_fields=["status", "approved_by", "approved_at"])
    record(
        actor=by,
        action="results.approve",
        obj=result_set,
        after={"version": result_set.version, "inputs_digest": digest},
    )
    return result_set


def _total_text(total: Decimal | None, decimals: int) -> str | None:
    return None if total is None else f"{round_half_up(Decimal(total), decimals):f}"


def stored_entries(result_set: ResultSet) -> list[dict[str, Any]]:
    """The version's entries read back from the entries table, in the snapshot's order, with their proofs."""
    decimals = int(snapshot_key(result_set, "decimals") or 1)
    rows = result_set.entries.values_list(
        "application__public_id", "post_id", "full_name", "part_marks", "adjusted_marks", "total", "rank", "outcome",
        "proof",
    )  # fmt: skip
    entries = [
        {
            "application": str(public_id),
            "post": post_id,
            "name": name,
            "marks": marks,
            "adjusted": adjusted,
            "total": _total_text(total, decimals),
            "rank": rank,
            "outcome": outcome,
            "proof": proof,
        }
        for public_id, post_id, name, marks, adjusted, total, rank, outcome, proof in rows
    ]
    return sorted(entries, key=_entry_order)


def _without_proofs(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{key: value for key, value in entry.items() if key != "proof"} for entry in entries]


def snapshot_key(result_set: ResultSet, key: str) -> Any:
    """One top-level value of a version's snapshot, read inside the JSON column (the whole snapshot of a
    large campaign is tens of megabytes: pages and exports need only its header)."""
    annotated = ResultSet.objects.filter(pk=result_set.pk).annotate(value=KeyTransform(key, "content"))
    return annotated.values_list("value", flat=True).get()


def content_hash(content: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON (sorted keys, no whitespace, UTF-8), as the audit trail hashes."""
    return hashlib.sha256(CanonicalJSONEncoder().encode(content).encode()).hexdigest()


def snapshot_is_intact(result_set: ResultSet) -> bool:
    """The stored snapshot still hashes to the published hash and still matches the entries."""
    if not result_set.content_hash or content_hash(result_set.content) != result_set.content_hash:
        return False
    entries = stored_entries(result_set)
    content = result_set.content
    return (
        _without_proofs(entries) == content["entries"]
        and proofs_digest(e["proof"] for e in entries) == (content["proofs_digest"])
    )


def _certificates() -> ModuleType | None:
    """The certificates module (built in parallel); until it lands, publication issues none."""
    try:
        from scoring import certificates
    except ModuleNotFoundError as error:
        if error.name != "scoring.certificates":
            raise
        return None
    return certificates


@transaction.atomic
def publish_results(*, result_set: ResultSet, by: User) -> ResultSet:
    """Freezes an approved version: snapshot, hash in the audit chain, previous version superseded."""
    campaign = Campaign.objects.select_for_update().get(pk=result_set.campaign_id)
    result_set = ResultSet.objects.select_for_update().select_related("campaign").get(pk=result_set.pk)
    if not by.has_role(Role.HR, Role.CHAIR):
        raise Refused(_("Only an HR officer or the council chair publishes the results."), code="not_allowed")
    if result_set.status in FROZEN:
        raise Refused(_("This version has already been published."), code="already_published")
    if result_set.status != ResultSet.Status.APPROVED:
        raise Refused(_("Results must be approved by the council chair before publication."), code="not_approved")
    _check_fresh(result_set, result_set.content["inputs_digest"])
    now = timezone.now()
    previous = (
        campaign.result_sets.select_for_update().filter(status=ResultSet.Status.PUBLISHED).defer("content").first()
    )
    if previous is not None:
        previous.status, previous.superseded_at = ResultSet.Status.SUPERSEDED, now
        previous.save(update_fields=["status", "superseded_at"])
    result_set.published_at = now
    result_set.content = {
        **result_set.content,
        "campaign": {"id": campaign.pk, "title": campaign.title},
        "version": result_set.version,
        "reason": result_set.reason,
        "prepared_by": result_set.prepared_by_id,
        "approved_by": result_set.approved_by_id,
        "published_at": utc_iso(now),
    }
    result_set.content_hash = content_hash(result_set.content)
    result_set.status = ResultSet.Status.PUBLISHED
    result_set.save(update_fields=["published_at", "content", "content_hash", "status"])
    if campaign.status != Campaign.Status.CLOSED and campaign.announced_at is not None:
        campaign.status = Campaign.Status.RESULTS
        campaign.save(update_fields=["status"])
    certificates = _certificates()
    if certificates is not None and previous is not None:
        reason = _("Superseded by version %(version)d of the results: %(reason)s") % {
            "version": result_set.version,
            "reason": result_set.reason,
        }
        certificates.supersede_certificates(result_set=previous, reason=str(reason))
    result_set.certificates_refused = _issue_certificates(certificates, result_set, by)  # type: ignore[attr-defined]
    enqueue_with_change(notify_results_published, result_set.pk)
    record(
        actor=by,
        action="results.publish",
        obj=result_set,
        after={
            "hash": result_set.content_hash,
            "version": result_set.version,
            "supersedes": None if previous is None else previous.version,
            "entries": len(result_set.content["entries"]),
        },
    )
    return result_set


def _issue_certificates(certificates: ModuleType | None, result_set: ResultSet, by: User) -> str:
    """Issues the version's certificates; a refusal (no signing key…) leaves HR the button, not a failed publication."""
    if certificates is None:
        return str(_("Certificates are not available on this installation."))
    try:
        with transaction.atomic():
            certificates.issue_certificates(result_set=result_set, by=by)
    except Refused as refused:
        return str(refused.message)
    return ""


@task()
def notify_results_published(result_set_id: int) -> int:
    """E-mails every candidate of the version that their results are published (in the background)."""
    result_set = ResultSet.objects.get(pk=result_set_id)
    sent = 0
    for entry in result_set.entries.select_related("application__candidate", "post").order_by("pk").iterator():
        notify(
            user=entry.application.candidate,
            template="results/email/published",
            context={"entry": entry, "result_set": result_set, "post": entry.post},
        )
        sent += 1
    return sent


def outcome_labels() -> dict[str, str]:
    return {
        Outcome.WINNER: str(_("Winner")),
        Outcome.PASSED: str(_("Passed")),
        Outcome.FAILED: str(_("Failed")),
        Outcome.NOT_REACHED: str(_("Not admitted to the next part")),
        Outcome.ABSENT: str(_("Absent")),
        Outcome.INCOMPLETE: str(_("Incomplete")),
    }


# --- Reading versions ------------------------------------------------------------------------


def sort_key(entry: ResultEntry) -> tuple[Any, ...]:
    from exams.collation import name_key

    return (entry.rank is None, entry.rank or 0, name_key(entry.full_name))


def entries_of(result_set: ResultSet, post: Post) -> list[ResultEntry]:
    return sorted(result_set.entries.filter(post=post).select_related("application"), key=sort_key)


@dataclass(frozen=True)
class Change:
    post_id: int
    name: str
    what: str
    before: str
    after: str


def diff(result_set: ResultSet, against: ResultSet | None) -> list[Change]:
    """What differs from another version, candidate by candidate (marks, total, rank, outcome)."""
    if against is None:
        return []
    parts = {p["code"]: p["name"] for p in snapshot_key(result_set, "parts") or []}
    labels = {"total": str(_("Total")), "rank": str(_("Rank")), "outcome": str(_("Outcome"))}
    outcomes = outcome_labels()
    old = {e.application_id: e for e in against.entries.all()}
    changes: list[Change] = []
    for entry in sorted(result_set.entries.all(), key=lambda e: (e.post_id, *sort_key(e))):
        before = old.get(entry.application_id)
        if before is None:
            changes.append(Change(entry.post_id, entry.full_name, str(_("Candidate")), "—", str(_("new"))))
            continue
        pairs = [
            (parts.get(code, code), before.part_marks.get(code), value) for code, value in entry.part_marks.items()
        ]
        pairs += [
            (labels["total"], _text(before.total), _text(entry.total)),
            (labels["rank"], _text(before.rank), _text(entry.rank)),
            (
                labels["outcome"],
                outcomes.get(before.outcome, before.outcome),
                outcomes.get(entry.outcome, entry.outcome),
            ),
        ]
        changes.extend(
            Change(entry.post_id, entry.full_name, what, _text(a), _text(b)) for what, a, b in pairs if a != b
        )
    return changes


def _text(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, Decimal):
        return f"{_plain(value.normalize()):f}"
    return str(value)


# --- The rank proof in words -------------------------------------------------------------------

STEP_TEXTS: dict[str, Any] = {
    "part_passed": _("%(part)s: %(mark)s ≥ pass mark %(pass_mark)s: passed"),
    "part_failed": _("%(part)s: %(mark)s < pass mark %(pass_mark)s: failed"),
    "gate": _("%(part)s must be passed to take the next parts: the later parts are not counted"),
    "absent": _("%(part)s: absent"),
    "missing": _("%(part)s: the mark is missing"),
    "total": _("Total = (%(terms)s) ÷ %(weights)s = %(total)s"),
    "adjusted_total": _("Total on the adjusted marks = (%(terms)s) ÷ %(weights)s = %(total)s"),
    "raw_rank": _("On the official marks: total %(total)s, ranked %(rank)s"),
    "basis": _("The rules rank on marks adjusted for examiner severity (%(basis)s)"),
    "rank": _("Ranked %(rank)s of %(of)s"),
    "winner": _("Within the number of vacancies (%(vacancies)s): winner"),
    "tie_at_cutoff": _("Tied across the last vacancy: the council chair decides"),
    "below_minimum": _(
        "%(count)s candidate(s) for this post, fewer than the minimum of %(minimum)s: no winner, the post is to be "
        "announced again"
    ),
}
TIE_WON: dict[str, Any] = {
    "decisive_part": _("Ahead of %(other)s on the decisive part (%(part)s): %(a)s > %(b)s"),
    "other_parts": _("Ahead of %(other)s on the part %(part)s: %(a)s > %(b)s"),
    "priority": _("Ahead of %(other)s by priority category: %(a)s > %(b)s"),
    "chair": _("Ahead of %(other)s by the recorded decision of the council chair"),
}
TIE_LOST: dict[str, Any] = {
    "decisive_part": _("Behind %(other)s on the decisive part (%(part)s): %(b)s < %(a)s"),
    "other_parts": _("Behind %(other)s on the part %(part)s: %(b)s < %(a)s"),
    "priority": _("Behind %(other)s by priority category: %(b)s < %(a)s"),
    "chair": _("Behind %(other)s by the recorded decision of the council chair"),
}
NUMERIC = ("mark", "pass_mark", "total", "sum", "weights", "a", "b")


def _localise(text: str) -> str:
    from django.utils.formats import get_format

    separator = str(get_format("DECIMAL_SEPARATOR"))
    return text.replace(".", separator) if separator != "." else text


def proof_lines(proof: Sequence[Sequence[Any]], part_names: dict[str, str]) -> list[str]:
    """The stored steps of a rank proof as sentences with their numbers, in the reader's language."""
    lines = []
    for code, raw in proof:
        params = {key: str(value) for key, value in dict(raw).items()}
        params["part"] = part_names.get(params.get("part", ""), params.get("part", ""))
        for key in (*NUMERIC, "terms"):
            if key in params and not (key in ("a", "b") and raw.get("rule") == "priority"):
                params[key] = _localise(params[key])
        if code in ("tie_won", "tie_lost"):
            template = (TIE_WON if code == "tie_won" else TIE_LOST).get(params.get("rule", ""))
        else:
            template = STEP_TEXTS.get(code)
        lines.append(str(template) % params if template is not None else code)
    return lines
