"""Normalisation runs: start one, compute it (the task body), compare the decision, gather the report.

A run reads a part's current submitted marks and every candidate's raw official score, calls the
pure maths of ``scoring.normalisation`` and writes its own versioned rows beside the marks, never
over them. Choices a reader of the results should know (the report states them too):

* The raw score is the official part mark (the current final resolution). A candidate without
  one yet gets the mean of their marks, and the diagnostics say how many.
* Examiner severities always come from the additive model, whatever the method, so every run
  shows them; under an equating method they are for information.
* Panel severity under the additive methods aggregates the examiners: the mark-weighted mean
  severity of the examiners who marked in the panel, i.e. the average shift its candidates
  received. A second model with panels as raters is not identifiable in the usual design, where
  each candidate sits before one panel only (every panel would be its own connected component).
  Its standard error treats the examiners' estimates as independent, an approximation.
  Under an equating method the panel severity is the mean shift the equating applied.
* A candidate belongs to the panel that gave most of their marks (ties: the lower panel id).
"""

from __future__ import annotations

import hashlib
import logging
import math
from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from django.db import transaction
from django.db.models import Max, QuerySet
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User
from accounts.roles import Role
from audit.services import record
from config.errors import Refused
from config.tasks import enqueue_with_change
from exams.models import Campaign, ExamPart, MarkingMode, Panel, Post, RankingBasis
from exams.services import current_rules
from scoring import normalisation as nm
from scoring.models import AdjustedScore, Mark, MarkerAssignment, NormalisationRun, Script, SeverityEstimate
from scoring.services import final_marks, is_revealed, part_of

logger = logging.getLogger(__name__)

Method = NormalisationRun.Method
Status = NormalisationRun.Status
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

ADDITIVE_METHODS = frozenset({Method.ADDITIVE, Method.ADDITIVE_SHRUNK})
EQUATERS: dict[str, Callable[..., dict[Any, FloatArray]]] = {
    Method.LINEAR: nm.linear_equate,
    Method.ROBUST: nm.robust_equate,
    Method.QUANTILE: nm.quantile_equate,
}
DEFAULT_PARAMETERS: dict[str, float | int] = {"severity_points": 3.0, "min_group": 3}
SMALL_PANEL = 3  # fewer candidates than this: too few to equate a panel on its own
PAIR_LIMIT = 200  # differing pairs listed per post (all are counted)
TWO_SE = 2.0
Z95 = 1.96
# AdjustedScore and SeverityEstimate hold 8 digits with 4 decimals.
STORABLE = Decimal("9999.9999")
FOUR_PLACES = Decimal("0.0001")


# --- Starting a run -----------------------------------------------------------------------------


def clean_parameters(parameters: Mapping[str, Any] | None) -> dict[str, float | int]:
    """The run's parameters with defaults filled in; refuses anything unknown or out of range."""
    given = dict(parameters or {})
    unknown = sorted(set(given) - set(DEFAULT_PARAMETERS))
    if unknown:
        raise Refused(_("Unknown parameter: %(names)s.") % {"names": ", ".join(unknown)}, code="bad_parameter")
    merged = {**DEFAULT_PARAMETERS, **given}
    try:
        points = float(merged["severity_points"])
        min_group = float(merged["min_group"])
    except (TypeError, ValueError):
        raise Refused(_("The parameters must be numbers."), code="bad_parameter") from None
    if not (math.isfinite(points) and 0 <= points <= 100):
        raise Refused(_("The severity threshold must be between 0 and 100 points."), code="bad_parameter")
    if not (min_group.is_integer() and 2 <= min_group <= 1000):
        raise Refused(_("The smallest panel to equate must be a whole number from 2 to 1000."), code="bad_parameter")
    return {"severity_points": points, "min_group": int(min_group)}


def current_marks(campaign: Campaign, part_code: str) -> QuerySet[Mark]:
    return Mark.objects.filter(
        campaign=campaign, part_code=part_code, is_current=True, status=Mark.Status.SUBMITTED, value__isnull=False
    ).exclude(source="appeal")  # an appeal's re-mark is judged by the appeal, not by the panels' severity


@transaction.atomic
def create_run(
    *, campaign: Campaign, part_code: str, method: str, by: User, parameters: Mapping[str, Any] | None = None
) -> NormalisationRun:
    """A new queued version of the part's normalisation, audited; nobody computes it yet."""
    if not by.has_role(Role.HR):
        raise Refused(_("Only HR starts a normalisation run."), code="not_hr")
    if method not in Method.values:
        raise Refused(_("Choose a normalisation method."), code="bad_method")
    part_of(campaign, part_code)
    cleaned = clean_parameters(parameters)
    if not current_marks(campaign, part_code).exists():
        raise Refused(_("This part has no submitted marks yet: there is nothing to normalise."), code="no_marks")
    # The campaign row serialises concurrent starts, so versions never collide.
    Campaign.objects.select_for_update().get(pk=campaign.pk)
    last = NormalisationRun.objects.filter(campaign=campaign, part_code=part_code).aggregate(v=Max("version"))["v"]
    run = NormalisationRun.objects.create(
        campaign=campaign,
        part_code=part_code,
        version=(last or 0) + 1,
        method=method,
        parameters=cleaned,
        created_by=by,
    )
    record(
        actor=by,
        action="normalisation.start",
        obj=run,
        campaign_id=campaign.pk,
        after={"part": part_code, "version": run.version, "method": method, "parameters": cleaned},
    )
    return run


@transaction.atomic
def start_normalisation(
    *, campaign: Campaign, part_code: str, method: str, by: User, parameters: Mapping[str, Any] | None = None
) -> NormalisationRun:
    """HR starts a run: a new version, queued, computed in the background by ``compute_normalisation``."""
    run = create_run(campaign=campaign, part_code=part_code, method=method, by=by, parameters=parameters)
    from scoring.tasks import compute_normalisation

    enqueue_with_change(compute_normalisation, run.pk)
    return run


# --- Reading the part ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PartData:
    """The part's current submitted marks as arrays (one entry per mark, grouped by candidate)."""

    mark_ids: IntArray
    candidates: IntArray
    raters: IntArray
    panels: IntArray
    values: FloatArray
    raw: dict[int, Decimal]  # official raw score of each candidate
    unresolved: list[int]  # candidates whose raw score is the mean of their marks
    candidate_panel: dict[int, int]
    digest: str
    raw_digest: str


def digest_of(pairs: Iterable[tuple[int, Decimal | float]]) -> str:
    """SHA-256 over the (id, value) pairs sorted by id, values written with two decimals (marks have
    at most two, so a Decimal and the float read from it give the same text)."""
    sha = hashlib.sha256()
    for key, value in sorted(pairs, key=lambda pair: pair[0]):
        sha.update(f"{key}:{value:.2f}\n".encode())
    return sha.hexdigest()


def marks_changed_since(run: NormalisationRun) -> bool:
    """Whether the marks or the final marks of the run's part changed after it was computed."""
    return marks_digest(run.campaign, run.part_code) != run.marks_digest or digest_of(
        final_marks(run.campaign, run.part_code).items()
    ) != (run.diagnostics or {}).get("raw_digest")


def marks_digest(campaign: Campaign, part_code: str) -> str:
    return digest_of(current_marks(campaign, part_code).values_list("id", "value").iterator(chunk_size=5000))


def majority_panels(pairs: Iterable[tuple[int, int]]) -> dict[int, int]:
    """Each candidate's panel: the one that gave most of their marks (ties: the lower panel id)."""
    best: dict[int, tuple[int, int]] = {}
    for (candidate, panel), count in Counter(pairs).items():
        key = (count, -panel)
        if candidate not in best or key > (best[candidate][0], -best[candidate][1]):
            best[candidate] = (count, panel)
    return {candidate: panel for candidate, (_count, panel) in best.items()}


def load_part(campaign: Campaign, part_code: str) -> PartData:
    # Streamed into typed arrays: a million marks stay a few tens of megabytes.
    columns = [array("q") for _ in range(4)]
    column_values = array("d")
    marks = current_marks(campaign, part_code).order_by("application_id", "id")
    for row in marks.values_list("id", "application_id", "examiner_id", "panel_id", "value").iterator(10_000):
        for column, item in zip(columns, row[:4], strict=True):
            column.append(item)
        column_values.append(float(row[4]))
    ids, candidates, raters, panels = (np.array(c, dtype=np.int64) for c in columns)
    values = np.array(column_values, dtype=np.float64)
    official = final_marks(campaign, part_code)
    raw: dict[int, Decimal] = {}
    unresolved: list[int] = []
    if values.size:
        uniq, codes = np.unique(candidates, return_inverse=True)
        means = np.bincount(codes, weights=values) / np.bincount(codes)
        for candidate, mean in zip(uniq.tolist(), means.tolist(), strict=True):
            if candidate in official:
                raw[candidate] = Decimal(official[candidate])
            else:
                raw[candidate] = Decimal(mean).quantize(FOUR_PLACES, ROUND_HALF_EVEN)
                unresolved.append(candidate)
    return PartData(
        mark_ids=ids,
        candidates=candidates,
        raters=raters,
        panels=panels,
        values=values,
        raw=raw,
        unresolved=unresolved,
        candidate_panel=majority_panels(zip(candidates.tolist(), panels.tolist(), strict=True)),
        digest=digest_of(zip(ids.tolist(), values.tolist(), strict=True)),
        raw_digest=digest_of(official.items()),
    )


# --- Computing a run ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Severity:
    key: int  # examiner or panel id
    severity: float  # positive = harsher than average
    se: float | None
    marks: int
    flagged: bool


@dataclass
class Outcome:
    adjusted: dict[int, float]
    se: dict[int, float | None]
    component: dict[int, int]
    examiners: list[Severity]
    panels: list[Severity]
    diagnostics: dict[str, Any]


class RunFailure(Exception):
    """The run cannot be computed as asked; ``message`` says why in words."""

    def __init__(self, code: str, message: str, diagnostics: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.diagnostics = diagnostics or {}


ERROR_CODES: tuple[tuple[type[nm.NormalisationError], str], ...] = (
    (nm.DisconnectedDesignError, "disconnected"),
    (nm.GroupTooSmallError, "panel_too_small"),
    (nm.ZeroSpreadError, "zero_spread"),
    (nm.InsufficientDataError, "insufficient"),
    (nm.NormalisationError, "invalid"),
)


def error_code(error: nm.NormalisationError) -> str:
    return next(code for kind, code in ERROR_CODES if isinstance(error, kind))


def brief(message: str, limit: int = 600) -> str:
    """A message short enough to read (the maths lists every component of a split design)."""
    return message if len(message) <= limit else message[: limit - 1].rstrip(" ,(") + "…"


def finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def json_clean(value: Any) -> Any:
    """Plain JSON for the diagnostics column: NumPy scalars unwrapped, non-finite numbers as null."""
    if isinstance(value, dict):
        return {str(k): json_clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_clean(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        return round(number, 6) if math.isfinite(number) else None
    return value


def _flag(severity: float, se: float | None, points: float) -> bool:
    return se is not None and abs(severity) > TWO_SE * se and abs(severity) > points


def _try_fit(data: PartData, *, shrink: bool) -> tuple[nm.AdditiveFit | None, nm.NormalisationError | None]:
    try:
        return nm.fit_additive(data.candidates, data.raters, data.values, shrink=shrink), None
    except nm.NormalisationError as error:
        return None, error


def examiner_severities(data: PartData, fit: nm.AdditiveFit, points: float) -> list[Severity]:
    counts = Counter(data.raters.tolist())
    rows = []
    for key, leniency in fit.leniency.items():
        rater = cast(int, key)  # examiner ids: fit_additive gives back the ids it was given
        severity = 0.0 - leniency
        se = finite(fit.leniency_se[key])
        rows.append(Severity(rater, severity, se, counts[rater], _flag(severity, se, points)))
    return rows


def panels_from_examiners(data: PartData, examiners: Sequence[Severity], points: float) -> list[Severity]:
    """Mark-weighted mean severity of the examiners who marked in each panel (see the module doc)."""
    by_id = {row.key: row for row in examiners}
    weights: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for (panel, rater), count in Counter(zip(data.panels.tolist(), data.raters.tolist(), strict=True)).items():
        weights[panel].append((rater, count))
    rows = []
    for panel, items in sorted(weights.items()):
        total = sum(count for _rater, count in items)
        severity = sum(count * by_id[rater].severity for rater, count in items) / total
        terms = [(count / total, by_id[rater].se) for rater, count in items]
        se = None
        if all(s is not None for _w, s in terms):
            se = math.sqrt(sum((w * s) ** 2 for w, s in terms if s is not None))
        rows.append(Severity(panel, severity, se, total, _flag(severity, se, points)))
    return rows


def _additive(fit: nm.AdditiveFit | None, error: nm.NormalisationError | None) -> Outcome:
    if fit is None:
        assert error is not None
        raise error
    nm.require_connected(fit)
    return Outcome(
        adjusted={cast(int, k): v for k, v in fit.ability.items()},
        se={cast(int, k): finite(v) for k, v in fit.ability_se.items()},
        component={},
        examiners=[],
        panels=[],
        diagnostics={},
    )


def _equate(data: PartData, method: str, min_group: int) -> Outcome:
    members: dict[int, list[int]] = defaultdict(list)
    for candidate in sorted(data.raw):
        members[data.candidate_panel[candidate]].append(candidate)
    groups = {panel: [float(data.raw[c]) for c in cands] for panel, cands in sorted(members.items())}
    equated = EQUATERS[method](groups, min_group=min_group)
    adjusted = {c: float(v) for panel, cands in members.items() for c, v in zip(cands, equated[panel], strict=True)}
    return Outcome(adjusted=adjusted, se=dict.fromkeys(adjusted), component={}, examiners=[], panels=[], diagnostics={})


def equating_shifts(data: PartData, adjusted: Mapping[int, float]) -> list[Severity]:
    """Under equating, a panel's severity is the mean amount its candidates were raised."""
    shifts: dict[int, list[float]] = defaultdict(list)
    for candidate, value in adjusted.items():
        shifts[data.candidate_panel[candidate]].append(value - float(data.raw[candidate]))
    marks = Counter(data.panels.tolist())
    return [Severity(p, float(np.mean(s)), None, marks[p], False) for p, s in sorted(shifts.items())]


def compute(run: NormalisationRun, data: PartData, part: ExamPart) -> Outcome:
    """Diagnostics first (they never raise), then the method; a refusal raises ``RunFailure``."""
    params = {**DEFAULT_PARAMETERS, **run.parameters}
    points = float(params["severity_points"])
    fit, fit_error = _try_fit(data, shrink=run.method == Method.ADDITIVE_SHRUNK)
    examiners = examiner_severities(data, fit, points) if fit is not None else []
    diagnostics = diagnose(data, part, run.campaign_id, fit, fit_error, examiners, run.method, params)
    try:
        if run.method in ADDITIVE_METHODS:
            outcome = _additive(fit, fit_error)
            outcome.panels = panels_from_examiners(data, examiners, points)
        else:
            outcome = _equate(data, run.method, int(params["min_group"]))
            outcome.panels = equating_shifts(data, outcome.adjusted)
    except nm.NormalisationError as error:
        raise RunFailure(error_code(error), brief(str(error)), diagnostics) from error
    outcome.examiners = examiners
    outcome.diagnostics = diagnostics
    if fit is not None:
        outcome.component = {cast(int, c): i for i, (cands, _r) in enumerate(fit.components) for c in cands}
    return outcome


def storable(value: float | Decimal | None, what: str) -> Decimal | None:
    """The value as the 8-digit, 4-decimal columns store it; refuses NaN, infinities and overflow."""
    if value is None:
        return None
    number = value if isinstance(value, Decimal) else Decimal(float(value))
    if not number.is_finite():
        raise RunFailure("out_of_range", f"{what} is not a finite number.")
    number = number.quantize(FOUR_PLACES, ROUND_HALF_EVEN)
    if abs(number) > STORABLE:
        raise RunFailure("out_of_range", f"{what} ({number}) is too large to store.")
    return number


def _write(run: NormalisationRun, data: PartData, outcome: Outcome) -> None:
    scores = [
        AdjustedScore(
            run=run,
            application_id=candidate,
            raw_score=storable(data.raw[candidate], "A raw score"),
            adjusted_score=storable(outcome.adjusted[candidate], "An adjusted score"),
            standard_error=storable(outcome.se.get(candidate), "A standard error"),
            component=outcome.component.get(candidate, 0),
        )
        for candidate in sorted(outcome.adjusted)
    ]
    severities = [
        SeverityEstimate(
            run=run,
            severity=storable(row.severity, "A severity"),
            standard_error=storable(row.se, "A standard error"),
            marks=row.marks,
            flagged=row.flagged,
            **{kind: row.key},
        )
        for kind, rows in (("examiner_id", outcome.examiners), ("panel_id", outcome.panels))
        for row in rows
    ]
    AdjustedScore.objects.bulk_create(scores, batch_size=2000)
    SeverityEstimate.objects.bulk_create(severities, batch_size=2000)


def run_normalisation(*, run_id: int) -> str:
    """The task body. Idempotent: a done run is left alone; anything else is (re)computed from
    scratch in one transaction, so an interrupted attempt leaves no half-written result.
    Ends ``done`` or ``failed`` with a message in words; never raises for bad data."""
    run = NormalisationRun.objects.filter(pk=run_id).first()
    if run is None or run.status == Status.DONE:
        return "missing" if run is None else Status.DONE
    NormalisationRun.objects.filter(pk=run_id).exclude(status=Status.DONE).update(status=Status.RUNNING)
    try:
        with transaction.atomic():
            run = NormalisationRun.objects.select_for_update().select_related("campaign").get(pk=run_id)
            if run.status == Status.DONE:  # another worker finished it while we waited
                return Status.DONE
            AdjustedScore.objects.filter(run=run).delete()
            SeverityEstimate.objects.filter(run=run).delete()
            _compute_and_write(run)
            return Status.DONE
    except RunFailure as failure:
        _fail(run_id, failure.code, failure.message, failure.diagnostics)
    except Exception:
        logger.exception("Normalisation run %s failed unexpectedly", run_id)
        _fail(run_id, "unexpected", "An unexpected error stopped the computation; nothing was saved.", {})
    return Status.FAILED


def _compute_and_write(run: NormalisationRun) -> None:
    try:
        _rules, part = part_of(run.campaign, run.part_code)
    except Refused as refused:
        raise RunFailure("no_part", str(refused.message)) from None
    data = load_part(run.campaign, run.part_code)
    if data.values.size == 0:
        raise RunFailure("no_marks", "This part has no submitted marks.", {"counts": {"marks": 0}})
    run.marks_digest = data.digest
    try:
        outcome = compute(run, data, part)
    except RunFailure as failure:
        failure.diagnostics = {**failure.diagnostics, "marks_digest": data.digest}
        raise
    _write(run, data, outcome)
    run.diagnostics = json_clean(outcome.diagnostics)
    run.status, run.error, run.finished_at = Status.DONE, "", timezone.now()
    run.save(update_fields=["marks_digest", "diagnostics", "status", "error", "finished_at"])


@transaction.atomic
def _fail(run_id: int, code: str, message: str, diagnostics: dict[str, Any]) -> None:
    run = NormalisationRun.objects.select_for_update().filter(pk=run_id).first()
    if run is None or run.status == Status.DONE:
        return
    digest = diagnostics.pop("marks_digest", "")
    run.diagnostics = json_clean({**diagnostics, "error": {"code": code}})
    run.status, run.error, run.finished_at = Status.FAILED, message, timezone.now()
    run.marks_digest = digest or run.marks_digest
    run.save(update_fields=["diagnostics", "status", "error", "finished_at", "marks_digest"])


# --- Diagnostics --------------------------------------------------------------------------------


def diagnose(
    data: PartData,
    part: ExamPart,
    campaign_id: int,
    fit: nm.AdditiveFit | None,
    fit_error: nm.NormalisationError | None,
    examiners: Sequence[Severity],
    method: str,
    params: Mapping[str, Any],
) -> dict[str, Any]:
    panel_sizes = Counter(data.candidate_panel.values())
    notes = []
    if len(set(data.raters.tolist())) == 1:
        notes.append("single_examiner")
    if fit is not None and finite(fit.residual_sd) is None:
        notes.append("no_residual_df")
    diagnostics: dict[str, Any] = {
        "method": method,
        "parameters": dict(params),
        "counts": {
            "marks": int(data.values.size),
            "candidates": len(data.raw),
            "examiners": len(set(data.raters.tolist())),
            "panels": len(panel_sizes),
        },
        "raw_source": {"official": len(data.raw) - len(data.unresolved), "mean_of_marks": len(data.unresolved)},
        "unresolved": data.unresolved[:1000],
        "reliability": {"icc": icc_blocks(data, part, campaign_id), "alpha": alpha_of(data)},
        "small_panels": [{"panel": p, "candidates": n} for p, n in sorted(panel_sizes.items()) if n < SMALL_PANEL],
        "flagged_examiners": [row.key for row in examiners if row.flagged],
        "residual_sd": None if fit is None else finite(fit.residual_sd),
        "notes": notes,
        "raw_digest": data.raw_digest,
    }
    if fit is not None:
        diagnostics["components"] = {
            "count": len(fit.components),
            "sizes": [{"candidates": len(c), "examiners": len(r)} for c, r in fit.components],
        }
    else:
        assert fit_error is not None
        diagnostics["model_error"] = {"code": error_code(fit_error), "message": brief(str(fit_error))}
    return diagnostics


def _icc_entry(matrix: FloatArray, form: str, **where: Any) -> dict[str, Any]:
    n, k = matrix.shape if matrix.ndim == 2 else (0, 0)
    entry = {**where, "form": form, "n": int(n), "k": int(k)}
    try:
        entry["value"] = finite(nm.icc(matrix)[form])
    except nm.NormalisationError as error:
        entry["error"] = error_code(error)
    return entry


def icc_blocks(data: PartData, part: ExamPart, campaign_id: int) -> list[dict[str, Any]]:
    """ICC on complete blocks: first/second marks of double-marked scripts (one-way ICC(1,1):
    each script has its own pair of markers), or per panel the candidates x members table
    (ICC(2,1), absolute agreement of the same members on raw marks)."""
    if part.marking_mode == MarkingMode.BLIND_DOUBLE:
        return [_icc_entry(_double_marks(data, part, campaign_id), "ICC(1,1)", block="double")]
    return [
        _icc_entry(_panel_table(data, panel), "ICC(2,1)", panel=panel) for panel in sorted(set(data.panels.tolist()))
    ]


def _double_marks(data: PartData, part: ExamPart, campaign_id: int) -> FloatArray:
    rounds = {
        (app, examiner): number
        for app, examiner, number in MarkerAssignment.objects.filter(
            script__campaign_id=campaign_id, script__part_code=part.code
        ).values_list("script__application_id", "examiner_id", "round")
    }
    marks: dict[int, list[tuple[tuple[int, int], float]]] = defaultdict(list)
    for mark_id, cand, rater, value in zip(
        data.mark_ids.tolist(), data.candidates.tolist(), data.raters.tolist(), data.values.tolist(), strict=True
    ):
        # Rounds 1 and 2 of the draw; marks without a drawn round (imported) follow in mark order.
        marks[cand].append(((rounds.get((cand, rater), 10**6), mark_id), value))
    rows = [[v for _r, v in sorted(pairs)[:2]] for pairs in marks.values() if len(pairs) >= 2]
    return np.array(rows, dtype=np.float64).reshape(-1, 2)


def _panel_table(data: PartData, panel: int) -> FloatArray:
    mask = data.panels == panel
    cells: dict[tuple[int, int], float] = {}
    for cand, rater, value in zip(
        data.candidates[mask].tolist(), data.raters[mask].tolist(), data.values[mask].tolist(), strict=True
    ):
        cells[(cand, rater)] = value
    load = Counter(rater for _cand, rater in cells)
    members = sorted(load, key=lambda r: (-load[r], r))
    cands = sorted({cand for cand, _rater in cells})
    while True:
        complete = [c for c in cands if all((c, r) in cells for r in members)]
        # A conflict of interest leaves a hole: drop the least-busy member until the table fills.
        if len(complete) >= 2 or len(members) <= 2:
            break
        members = members[:-1]
    return np.array([[cells[(c, r)] for r in members] for c in complete], dtype=np.float64).reshape(
        len(complete), len(members)
    )


def alpha_of(data: PartData) -> dict[str, Any]:
    """Krippendorff's alpha (interval) over all marks.

    Alpha only uses the values within each unit, not who gave them, so each candidate's marks are
    packed into slots 0..k-1: a k x candidates table instead of an examiners x candidates one that
    would be almost empty (and huge) in a large campaign. The result is identical.
    """
    _uniq, codes = np.unique(data.candidates, return_inverse=True)
    counts = np.bincount(codes)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    order = np.argsort(codes, kind="stable")
    slot = np.empty_like(codes)
    slot[order] = np.arange(codes.size) - np.repeat(starts, counts)
    table = np.full((int(counts.max()), counts.size), np.nan)
    table[slot, codes] = data.values
    try:
        return {"value": finite(nm.krippendorff_alpha(table, "interval"))}
    except nm.NormalisationError as error:
        return {"error": error_code(error)}


# --- The decision: raw vs adjusted rankings -----------------------------------------------------


@dataclass(frozen=True)
class Standing:
    application_id: int
    label: str
    raw: Decimal
    adjusted: Decimal
    se: Decimal | None = None


@dataclass(frozen=True)
class RankedRow:
    standing: Standing
    raw_rank: int
    adjusted_rank: int
    raw_winner: bool
    adjusted_winner: bool
    differs: bool

    @property
    def margin(self) -> Decimal | None:
        return None if self.standing.se is None else 2 * self.standing.se

    @property
    def movement(self) -> int:
        """Places gained after adjustment (negative: places lost)."""
        return self.raw_rank - self.adjusted_rank

    @property
    def places(self) -> int:
        return abs(self.movement)


@dataclass(frozen=True)
class SwappedPair:
    raw_ahead: Standing  # ahead (or level) on raw scores
    adjusted_ahead: Standing  # ahead (or level) after adjustment
    gap: Decimal  # adjusted score of adjusted_ahead minus that of raw_ahead
    clear: bool | None  # the gap exceeds ~95% of its uncertainty; None without standard errors

    @property
    def level_on_raw(self) -> bool:
        return self.raw_ahead.raw == self.adjusted_ahead.raw

    @property
    def level_after(self) -> bool:
        return self.gap == 0


@dataclass(frozen=True)
class Comparison:
    vacancies: int
    rows: list[RankedRow]
    pairs: list[SwappedPair]
    pair_count: int
    raw_winners: list[Standing]
    adjusted_winners: list[Standing]
    winner_changes: bool
    tie_at_cut: bool


def competition_ranks(values: Sequence[Decimal]) -> list[int]:
    """1, 2, 2, 4: tied values share the best rank of the tie."""
    first: dict[Decimal, int] = {}
    for position, value in enumerate(sorted(values, reverse=True), start=1):
        first.setdefault(value, position)
    return [first[value] for value in values]


def compare_decision(*, standings: Sequence[Standing], vacancies: int) -> Comparison:
    """One post's ranking on raw and on adjusted scores, every pair whose order differs, and
    whether the winners (the top ``vacancies``) change. Ties share a rank and are listed by name."""
    people = sorted(standings, key=lambda s: (-s.raw, s.label, s.application_id))
    raw_ranks = competition_ranks([s.raw for s in people])
    adj_ranks = competition_ranks([s.adjusted for s in people])
    pairs, count, involved = _swapped_pairs(people)
    rows = [
        RankedRow(s, r, a, r <= vacancies, a <= vacancies, s.application_id in involved)
        for s, r, a in zip(people, raw_ranks, adj_ranks, strict=True)
    ]
    raw_winners = [row.standing for row in rows if row.raw_winner]
    adjusted_winners = sorted((row.standing for row in rows if row.adjusted_winner), key=lambda s: -s.adjusted)
    return Comparison(
        vacancies=vacancies,
        rows=rows,
        pairs=pairs,
        pair_count=count,
        raw_winners=raw_winners,
        adjusted_winners=adjusted_winners,
        winner_changes={s.application_id for s in raw_winners} != {s.application_id for s in adjusted_winners},
        tie_at_cut=len(raw_winners) > vacancies or len(adjusted_winners) > vacancies,
    )


def _swapped_pairs(people: Sequence[Standing]) -> tuple[list[SwappedPair], int, set[int]]:
    raw = np.array([float(s.raw) for s in people])
    adj = np.array([float(s.adjusted) for s in people])
    pairs: list[SwappedPair] = []
    involved: set[int] = set()
    count = 0
    step = 512  # rows per block: memory stays bounded for a post with thousands of candidates
    for lo in range(0, len(people), step):
        hi = min(lo + step, len(people))
        differ = np.sign(raw[lo:hi, None] - raw[None, :]) != np.sign(adj[lo:hi, None] - adj[None, :])
        differ &= np.arange(len(people))[None, :] > np.arange(lo, hi)[:, None]
        for i, j in zip(*np.nonzero(differ), strict=True):
            a, b = people[lo + int(i)], people[int(j)]
            count += 1
            involved.update((a.application_id, b.application_id))
            if len(pairs) < PAIR_LIMIT:
                pairs.append(_pair(a, b))
    return pairs, count, involved


def _pair(a: Standing, b: Standing) -> SwappedPair:
    first, second = (a, b) if (a.raw, -a.adjusted) >= (b.raw, -b.adjusted) else (b, a)
    gap = second.adjusted - first.adjusted
    clear = None
    if first.se is not None and second.se is not None and (first.se or second.se):
        clear = float(abs(gap)) > Z95 * math.hypot(float(first.se), float(second.se))
    return SwappedPair(first, second, gap, clear)


# --- The report ---------------------------------------------------------------------------------

PLOT_PANELS = 40  # the plots show at most this many panels / examiners, the most severe either way
PLOT_EXAMINERS = 60


@dataclass(frozen=True)
class Finding:
    level: str  # ok, info, warn, err
    text: str


@dataclass(frozen=True)
class SeverityRow:
    name: str
    severity: float
    se: float | None
    marks: int
    flagged: bool
    candidates: int = 0
    raw_mean: float | None = None
    adjusted_mean: float | None = None

    @property
    def margin(self) -> float | None:
        return None if self.se is None else TWO_SE * self.se


@dataclass(frozen=True)
class PanelScores:
    name: str
    raw: list[float]
    adjusted: list[float]

    @property
    def count(self) -> int:
        return len(self.raw)

    @property
    def raw_min(self) -> float:
        return min(self.raw)

    @property
    def raw_max(self) -> float:
        return max(self.raw)

    @property
    def raw_mean(self) -> float:
        return float(np.mean(self.raw))

    @property
    def adjusted_mean(self) -> float:
        return float(np.mean(self.adjusted))


@dataclass
class RunReport:
    run: NormalisationRun
    part: ExamPart | None
    basis: str
    marks_changed: bool
    error: str = ""
    findings: list[Finding] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    panels: list[SeverityRow] = field(default_factory=list)
    examiners: list[SeverityRow] = field(default_factory=list)
    distributions: list[PanelScores] = field(default_factory=list)
    plotted_examiners: list[SeverityRow] = field(default_factory=list)
    distribution_svg: str = ""
    severity_svg: str = ""
    threshold: float = float(DEFAULT_PARAMETERS["severity_points"])
    comparisons: list[tuple[Post, Comparison]] = field(default_factory=list)


def num(value: float | Decimal | None, places: int = 1) -> str:
    """A number in the active language's format (decimal comma in Vietnamese)."""
    return "—" if value is None else number_format(round(float(value), places), places)


def threshold_text(value: float) -> str:
    """A threshold as typed: 3 rather than 3,0."""
    return num(value, 0) if float(value).is_integer() else num(value, 2).rstrip("0")


def candidate_labels(campaign: Campaign, part: ExamPart | None) -> dict[int, str]:
    """Names, or the anonymous codes while a blind part's identities are not revealed."""
    if part is not None and part.marking_mode == MarkingMode.BLIND_DOUBLE and not is_revealed(campaign, part.code):
        return dict(Script.objects.filter(campaign=campaign, part_code=part.code).values_list("application_id", "code"))
    from candidates.models import Application

    applications = Application.objects.filter(post__campaign=campaign).select_related("candidate")
    return {a.pk: a.display_name for a in applications.only("profile_snapshot", "candidate__full_name")}


def basis_statement(campaign: Campaign, method: str) -> str:
    """Which score is official: the campaign's rules decide, and they were fixed before marking."""
    rules = current_rules(campaign)
    basis = rules.ranking_basis if rules is not None else RankingBasis.RAW
    if basis == RankingBasis.RAW:
        return _("Official ranking basis: raw marks; this adjustment is advice.")
    label = RankingBasis(basis).label
    # As the results do: an "additive" basis accepts the shrunk variant too.
    if method == basis or method.startswith(f"{basis}_"):
        text = _(
            "Official ranking basis: %(basis)s. This run's method fits the rules: the results use the latest "
            "finished run of this kind."
        )
        return text % {"basis": label}
    return _("Official ranking basis: %(basis)s; this run uses another method, so it is advice.") % {"basis": label}


def failure_text(code: str) -> str:
    texts = {
        "disconnected": _(
            "The design is split into groups that share no examiner: severities in different groups cannot be "
            "compared, so the additive model refuses to rank their candidates together. Link the groups with "
            "shared examiners or candidates, or use a per-panel equating method."
        ),
        "panel_too_small": _(
            "A panel has too few candidates to be equated on its own. Use the additive model, which links "
            "panels through shared examiners."
        ),
        "zero_spread": _(
            "All scores in a panel are equal, so there is no spread to equate. Use the robust method, which "
            "falls back to the pooled spread, or the additive model."
        ),
        "insufficient": _("There is too little data to estimate anything (for example one mark per candidate)."),
        "no_marks": _("This part has no submitted marks."),
        "no_part": _("The campaign's rules no longer define this part."),
        "out_of_range": _("The computation gave a value too large to store: check the marks."),
        "unexpected": _("An unexpected error stopped the computation; nothing was saved. Try again or ask support."),
    }
    return str(texts.get(code, _("The marks cannot be normalised as asked.")))


def run_report(*, run: NormalisationRun) -> RunReport:
    """Everything the report page shows about one run, in words and tables."""
    campaign = run.campaign
    try:
        part: ExamPart | None = part_of(campaign, run.part_code)[1]
    except Refused:
        part = None
    diagnostics = run.diagnostics or {}
    changed = run.status == Status.DONE and marks_changed_since(run)
    report = RunReport(run=run, part=part, basis=basis_statement(campaign, run.method), marks_changed=changed)
    report.threshold = float((diagnostics.get("parameters") or run.parameters or {}).get("severity_points", 3.0))
    if run.status == Status.FAILED:
        report.error = failure_text((diagnostics.get("error") or {}).get("code", ""))
    if run.status not in (Status.DONE, Status.FAILED):
        return report
    report.assumptions = assumptions(run.method)
    _fill_tables(report)
    report.findings = findings(report, diagnostics)
    _draw(report)
    return report


def _fill_tables(report: RunReport) -> None:
    run = report.run
    scores = list(AdjustedScore.objects.filter(run=run).select_related("application__post"))
    panel_of = majority_panels(current_marks(run.campaign, run.part_code).values_list("application_id", "panel_id"))
    by_panel: dict[int, list[AdjustedScore]] = defaultdict(list)
    for score in scores:
        by_panel[panel_of.get(score.application_id, 0)].append(score)
    names = dict(Panel.objects.filter(campaign=run.campaign).values_list("pk", "name"))
    estimates = SeverityEstimate.objects.filter(run=run).select_related("examiner").order_by("-severity", "pk")
    for estimate in estimates:
        members = by_panel.get(estimate.panel_id or 0, []) if estimate.panel_id else []
        row = SeverityRow(
            name=estimate.examiner.get_full_name() if estimate.examiner else names.get(estimate.panel_id or 0, "—"),
            severity=float(estimate.severity),
            se=finite(estimate.standard_error),
            marks=estimate.marks,
            flagged=estimate.flagged,
            candidates=len(members),
            raw_mean=float(np.mean([float(s.raw_score) for s in members])) if members else None,
            adjusted_mean=float(np.mean([float(s.adjusted_score) for s in members])) if members else None,
        )
        (report.examiners if estimate.examiner_id else report.panels).append(row)
    report.distributions = [
        PanelScores(names.get(p, "—"), [float(s.raw_score) for s in m], [float(s.adjusted_score) for s in m])
        for p, m in sorted(by_panel.items(), key=lambda item: (names.get(item[0], ""), item[0]))
    ]
    labels = candidate_labels(run.campaign, report.part)
    by_post: dict[int, list[Standing]] = defaultdict(list)
    posts: dict[int, Post] = {}
    for s in scores:
        posts[s.application.post_id] = s.application.post
        label = labels.get(s.application_id, "—")
        by_post[s.application.post_id].append(
            Standing(s.application_id, label, s.raw_score, s.adjusted_score, s.standard_error)
        )
    report.comparisons = [
        (posts[p], compare_decision(standings=by_post[p], vacancies=posts[p].vacancies))
        for p in sorted(posts, key=lambda p: (posts[p].title, p))
    ]


def _draw(report: RunReport) -> None:
    from scoring import plots

    shown = sorted(report.distributions, key=lambda d: -abs(float(np.mean(d.adjusted) - np.mean(d.raw))))
    report.distributions = sorted(shown[:PLOT_PANELS], key=lambda d: d.name)
    if report.distributions:
        report.distribution_svg = plots.distributions_svg(
            [d.name for d in report.distributions],
            [d.raw for d in report.distributions],
            [d.adjusted for d in report.distributions],
            labelledby="distribution-caption distribution-table",
        )
    extreme = sorted(report.examiners, key=lambda e: -abs(e.severity))[:PLOT_EXAMINERS]
    report.plotted_examiners = sorted(extreme, key=lambda e: -e.severity)
    if report.plotted_examiners:
        report.severity_svg = plots.severity_svg(
            [e.name for e in report.plotted_examiners],
            [e.severity for e in report.plotted_examiners],
            [e.se for e in report.plotted_examiners],
            [e.flagged for e in report.plotted_examiners],
            threshold=report.threshold,
            labelledby="severity-caption severity-table",
        )


def assumptions(method: str) -> list[str]:
    texts = []
    if method in ADDITIVE_METHODS:
        texts.append(
            _(
                "Each examiner is assumed to shift every mark by the same amount. Adjusted scores are what an "
                "average examiner of this design would have given. An examiner who is harsh only on weak "
                "candidates, or who squeezes the range of marks, is not corrected."
            )
        )
        texts.append(
            _(
                "A panel's severity is the average severity of the examiners who marked in it, weighted by their "
                "marks; its margin treats the examiners' estimates as independent, an approximation."
            )
        )
        if method == Method.ADDITIVE_SHRUNK:
            texts.append(
                _(
                    "Severities of examiners with few marks are pulled towards zero (empirical Bayes): a little "
                    "bias in exchange for much less noise."
                )
            )
    else:
        texts.append(
            _(
                "Every panel is assumed to have received equally able candidates (random groups). If one panel "
                "got the stronger candidates, equating erases a real difference between them."
            )
        )
        texts.append(_("Equating gives no standard error; a panel's severity is the average shift of its candidates."))
        if method == Method.QUANTILE:
            texts.append(_("Quantile equating needs large panels; with small panels prefer a linear method."))
    texts.append(_("Examiner severities always come from the additive model, whatever the method."))
    texts.append(_("The ± margins are about two standard errors: the true value very probably lies within them."))
    texts.append(_("Adjusted scores may leave the 0–100 range; they are kept unclipped for ranking."))
    return texts


def severity_text(name: str, row: SeverityRow) -> str:
    values = {
        "name": name,
        "points": num(abs(row.severity)),
        "margin": num(None if row.se is None else TWO_SE * row.se),
    }
    if abs(row.severity) < 0.05:
        return _("%(name)s marked about as severely as average.") % values
    if row.se is None and row.severity > 0:
        return _("%(name)s marked about %(points)s points harsher than average (no margin can be estimated).") % values
    if row.se is None:
        return (
            _("%(name)s marked about %(points)s points more leniently than average (no margin can be estimated).")
            % values
        )
    if row.severity > 0:
        return _("%(name)s marked %(points)s ± %(margin)s points harsher than average.") % values
    return _("%(name)s marked %(points)s ± %(margin)s points more leniently than average.") % values


def _icc_sentence(block: Mapping[str, Any], panel: str) -> Finding:
    value = block.get("value")
    double = block.get("block") == "double"
    values = {"panel": panel, "value": num(value, 2), "n": block.get("n", 0), "k": block.get("k", 0)}
    if value is None:
        text = (
            _("Agreement between first and second markers cannot be measured (too few scripts, or all marks equal).")
            if double
            else _("In %(panel)s, agreement cannot be measured (too few complete marks, or all marks equal).")
        )
        return Finding("info", text % values)
    if value >= 0.75:
        text = (
            _("First and second markers agree well (ICC %(value)s over %(n)d double-marked scripts).")
            if double
            else _("In %(panel)s, examiners' marks agree well (ICC %(value)s; %(n)d candidates, %(k)d examiners).")
        )
        return Finding("ok", text % values)
    if value >= 0.5:
        text = (
            _("First and second markers agree only moderately (ICC %(value)s over %(n)d double-marked scripts).")
            if double
            else _(
                "In %(panel)s, examiners' marks agree only moderately (ICC %(value)s; %(n)d candidates, "
                "%(k)d examiners)."
            )
        )
        return Finding("warn", text % values)
    text = (
        _("First and second markers agree poorly (ICC %(value)s over %(n)d double-marked scripts).")
        if double
        else _("In %(panel)s, examiners' marks agree poorly (ICC %(value)s; %(n)d candidates, %(k)d examiners).")
    )
    return Finding("warn", text % values)


def _reliability_findings(reliability: Mapping[str, Any], panel_names: Mapping[int, str]) -> list[Finding]:
    blocks = list(reliability.get("icc") or [])
    out = [_icc_sentence(b, panel_names.get(b.get("panel", 0), "—")) for b in blocks[:8]]
    measured = [float(b["value"]) for b in blocks if b.get("value") is not None]
    if len(blocks) > 8 and measured:
        out.append(
            Finding(
                "info",
                _("Across %(count)d panels the median ICC is %(value)s; the first 8 are listed above.")
                % {"count": len(measured), "value": num(float(np.median(measured)), 2)},
            )
        )
    alpha = (reliability.get("alpha") or {}).get("value")
    if alpha is not None:
        values = {"value": num(alpha, 2)}
        if alpha >= 0.8:
            out.append(
                Finding("ok", _("Over all marks, Krippendorff's alpha is %(value)s: agreement is good.") % values)
            )
        elif alpha >= 0.667:
            text = _("Over all marks, Krippendorff's alpha is %(value)s: enough only for tentative conclusions.")
            out.append(Finding("warn", text % values))
        else:
            out.append(
                Finding("warn", _("Over all marks, Krippendorff's alpha is %(value)s: agreement is low.") % values)
            )
    return out


def _design_findings(d: Mapping[str, Any], panel_names: Mapping[int, str]) -> list[Finding]:
    out = []
    components = d.get("components") or {}
    if components.get("count", 1) > 1:
        listed = components.get("sizes", [])
        sizes = "; ".join(
            _("%(c)d candidates and %(e)d examiners") % {"c": s["candidates"], "e": s["examiners"]} for s in listed[:5]
        )
        if len(listed) > 5:
            sizes += "; …"
        text = _(
            "The design is split into %(count)d groups that share no examiner: scores cannot be compared across "
            "them (%(sizes)s)."
        )
        out.append(Finding("err", text % {"count": components["count"], "sizes": sizes}))
    elif components:
        out.append(Finding("ok", _("All candidates are linked through shared examiners: one connected design.")))
    for small in d.get("small_panels") or []:
        text = ngettext(
            "%(panel)s has only %(count)d candidate: too few to equate on its own.",
            "%(panel)s has only %(count)d candidates: too few to equate on its own.",
            small["candidates"],
        )
        out.append(
            Finding("warn", text % {"panel": panel_names.get(small["panel"], "—"), "count": small["candidates"]})
        )
    unresolved = (d.get("raw_source") or {}).get("mean_of_marks", 0)
    if unresolved:
        text = ngettext(
            "%(count)d candidate has no final official mark yet: the raw score shown is the mean of the marks.",
            "%(count)d candidates have no final official mark yet: the raw score shown is the mean of their marks.",
            unresolved,
        )
        out.append(Finding("warn", text % {"count": unresolved}))
    notes = d.get("notes") or []
    if "single_examiner" in notes:
        out.append(Finding("info", _("Only one examiner marked this part: there is no severity to correct.")))
    if "no_residual_df" in notes:
        text = _(
            "Every mark is fitted exactly (for example one mark per candidate), so the uncertainty cannot be "
            "estimated: no margins are shown."
        )
        out.append(Finding("info", text))
    return out


def findings(report: RunReport, d: Mapping[str, Any]) -> list[Finding]:
    """The diagnostics in words a non-statistician understands."""
    panel_names = dict(Panel.objects.filter(campaign=report.run.campaign).values_list("pk", "name"))
    out = _design_findings(d, panel_names)
    out.extend(Finding("warn" if row.flagged else "info", severity_text(row.name, row)) for row in report.panels)
    flagged = [row for row in report.examiners if row.flagged]
    beyond = _("This is beyond both the statistical margin and the %(points)s-point threshold.")
    for row in flagged:
        out.append(
            Finding("warn", severity_text(row.name, row) + " " + beyond % {"points": threshold_text(report.threshold)})
        )
    if report.examiners and not flagged:
        text = _("No examiner's severity exceeds both two standard errors and %(points)s points.")
        out.append(Finding("ok", text % {"points": threshold_text(report.threshold)}))
    out.extend(_reliability_findings(d.get("reliability") or {}, panel_names))
    if d.get("residual_sd") is not None:
        text = _("Marks scatter by about %(sd)s points around the model (residual SD).")
        out.append(Finding("info", text % {"sd": num(d["residual_sd"])}))
    return out
