"""Scripts, marker assignments, marks, resolutions and identity reveal.

Raw marks are never overwritten: a reopened mark is a new row that supersedes the old one,
and each resolution of a disagreement is its own record.
"""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from exams.models import Campaign, Panel

# No 0/O, 1/I/L, 5/S, 8/B: a code is read aloud and copied by hand from a paper script.
CODE_ALPHABET = "2346779ACDEFGHJKMNPQRTUVWXY"


def new_script_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


class Draw(models.Model):
    """A random draw (markers for scripts, order of oral candidates), reproducible from its seed."""

    class Kind(models.TextChoices):
        MARKERS = "markers", _("Markers of the scripts")
        THIRD_MARKER = "third_marker", _("Third marker")
        ORAL_ORDER = "oral_order", _("Order of the oral part")
        CODES = "codes", _("Anonymous codes")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="draws")
    part_code = models.SlugField(max_length=30)
    panel = models.ForeignKey(Panel, null=True, blank=True, on_delete=models.PROTECT, related_name="draws")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    seed = models.CharField(max_length=64)
    result = models.JSONField(default=dict)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]


class Script(models.Model):
    """A candidate's paper in a blind part, known to examiners only by its code (số phách)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="scripts")
    part_code = models.SlugField(max_length=30)
    application = models.ForeignKey("candidates.Application", on_delete=models.PROTECT, related_name="scripts")
    panel = models.ForeignKey(Panel, on_delete=models.PROTECT, related_name="scripts")
    code = models.CharField(max_length=12, unique=True, default=new_script_code)
    file = models.FileField(upload_to="scripts/", max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["application", "part_code"], name="script_one_per_part"),
        ]

    def __str__(self) -> str:
        return self.code


class MarkerAssignment(models.Model):
    script = models.ForeignKey(Script, on_delete=models.CASCADE, related_name="assignments")
    examiner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="script_assignments")
    round = models.PositiveSmallIntegerField(default=1)
    draw = models.ForeignKey(Draw, on_delete=models.PROTECT, related_name="assignments")

    class Meta:
        ordering = ["script", "round"]
        constraints = [
            models.UniqueConstraint(fields=["script", "examiner"], name="assignment_examiner_once"),
            models.UniqueConstraint(fields=["script", "round"], name="assignment_round_once"),
        ]


class OralSlot(models.Model):
    panel = models.ForeignKey(Panel, on_delete=models.CASCADE, related_name="oral_slots")
    application = models.ForeignKey("candidates.Application", on_delete=models.PROTECT, related_name="oral_slots")
    position = models.PositiveSmallIntegerField()
    draw = models.ForeignKey(Draw, on_delete=models.PROTECT, related_name="oral_slots")

    class Meta:
        ordering = ["panel", "position"]
        constraints = [
            models.UniqueConstraint(fields=["panel", "position"], name="oral_slot_position_once"),
            models.UniqueConstraint(fields=["panel", "application"], name="oral_slot_candidate_once"),
        ]


class Mark(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="marks")
    part_code = models.SlugField(max_length=30)
    application = models.ForeignKey("candidates.Application", on_delete=models.PROTECT, related_name="marks")
    script = models.ForeignKey(Script, null=True, blank=True, on_delete=models.PROTECT, related_name="marks")
    panel = models.ForeignKey(Panel, on_delete=models.PROTECT, related_name="marks")
    examiner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="marks")
    value = models.DecimalField(_("mark"), max_digits=6, decimal_places=2, null=True, blank=True)
    criteria = models.JSONField(_("marks per criterion"), default=dict, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    is_current = models.BooleanField(default=True)
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )
    source = models.CharField(max_length=20, default="web")  # web, import
    saved_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["part_code", "application", "examiner"]
        constraints = [
            models.UniqueConstraint(
                fields=["examiner", "application", "part_code"],
                condition=Q(is_current=True),
                name="mark_one_current_per_examiner",
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | (Q(value__isnull=False) & Q(submitted_at__isnull=False)),
                name="mark_submitted_is_complete",
            ),
            models.CheckConstraint(condition=Q(value__isnull=True) | Q(value__gte=0), name="mark_not_negative"),
        ]
        indexes = [models.Index(fields=["campaign", "part_code", "status"], name="mark_part_status")]


class ReopenRequest(models.Model):
    """Four eyes on changing a submitted mark: asked by one person, approved by the chair (another)."""

    mark = models.ForeignKey(Mark, on_delete=models.PROTECT, related_name="reopen_requests")
    reason = models.TextField(_("reason"))
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="reopen_has_reason"),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=models.F("requested_by")),
                name="reopen_approved_by_another_person",
            ),
        ]


class Resolution(models.Model):
    """How the marks of one script or oral candidate became the part's mark; never edited, only superseded."""

    class Band(models.TextChoices):
        MEAN = "mean", _("Mean (spread within the tolerance)")
        CHAIR = "chair", _("Decided by the chair")
        ESCALATED = "escalated", _("Escalated")

    class Status(models.TextChoices):
        FINAL = "final", _("Final")
        PENDING_CHAIR = "pending_chair", _("Waiting for the chair")
        PENDING_THIRD = "pending_third", _("Waiting for the third marker")
        PENDING_COUNCIL = "pending_council", _("Waiting for the council")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="resolutions")
    part_code = models.SlugField(max_length=30)
    application = models.ForeignKey("candidates.Application", on_delete=models.PROTECT, related_name="resolutions")
    script = models.ForeignKey(Script, null=True, blank=True, on_delete=models.PROTECT, related_name="resolutions")
    marks = models.JSONField(default=list)  # [[mark public id, value], ...] as they were resolved
    spread = models.DecimalField(max_digits=6, decimal_places=2)
    band = models.CharField(max_length=20, choices=Band.choices)
    status = models.CharField(max_length=20, choices=Status.choices)
    value = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    method = models.CharField(max_length=40, blank=True)
    reason = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    is_current = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["part_code", "application", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "part_code"], condition=Q(is_current=True), name="resolution_one_current"
            ),
            models.CheckConstraint(
                condition=~Q(status="final") | Q(value__isnull=False), name="resolution_final_has_value"
            ),
            models.CheckConstraint(
                condition=~Q(band="chair", status="final") | ~Q(reason=""), name="resolution_chair_gives_reason"
            ),
        ]


class Reveal(models.Model):
    """Identities of a blind part: asked by HR, approved by another person, only when marking is complete."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="reveals")
    part_code = models.SlugField(max_length=30)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revealed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "part_code"], name="reveal_once_per_part"),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=models.F("requested_by")),
                name="reveal_approved_by_another_person",
            ),
        ]


class NormalisationRun(models.Model):
    """One computation of severity-adjusted scores for a part; versioned, never touching the marks."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    class Method(models.TextChoices):
        ADDITIVE = "additive", _("Additive examiner-severity model (least squares)")
        ADDITIVE_SHRUNK = "additive_shrunk", _("Additive model, sparse examiners shrunk (empirical Bayes)")
        LINEAR = "linear", _("Per-panel linear equating (mean and SD)")
        ROBUST = "robust", _("Per-panel robust equating (median and MAD)")
        QUANTILE = "quantile", _("Per-panel quantile equating")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="normalisation_runs")
    part_code = models.SlugField(max_length=30)
    version = models.PositiveIntegerField()
    method = models.CharField(max_length=20, choices=Method.choices)
    parameters = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True)
    diagnostics = models.JSONField(default=dict, blank=True)
    marks_digest = models.CharField(max_length=64, blank=True)  # which marks the run saw
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["campaign", "part_code", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "part_code", "version"], name="normalisation_run_version")
        ]


class AdjustedScore(models.Model):
    run = models.ForeignKey(NormalisationRun, on_delete=models.CASCADE, related_name="scores")
    application = models.ForeignKey("candidates.Application", on_delete=models.PROTECT, related_name="+")
    raw_score = models.DecimalField(max_digits=8, decimal_places=4)
    adjusted_score = models.DecimalField(max_digits=8, decimal_places=4)
    standard_error = models.DecimalField(max_digits=8, decimal_places=4, null=True, blank=True)
    component = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "application"], name="adjusted_score_once")]


class SeverityEstimate(models.Model):
    """Severity of an examiner or a panel in a run (positive = harsher than average)."""

    run = models.ForeignKey(NormalisationRun, on_delete=models.CASCADE, related_name="severities")
    examiner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    panel = models.ForeignKey(Panel, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    severity = models.DecimalField(max_digits=8, decimal_places=4)
    standard_error = models.DecimalField(max_digits=8, decimal_places=4, null=True, blank=True)
    marks = models.PositiveIntegerField()
    flagged = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(examiner__isnull=False, panel__isnull=True) | Q(examiner__isnull=True, panel__isnull=False),
                name="severity_of_examiner_or_panel",
            ),
            models.UniqueConstraint(
                fields=["run", "examiner"], condition=Q(examiner__isnull=False), name="severity_examiner_once"
            ),
            models.UniqueConstraint(
                fields=["run", "panel"], condition=Q(panel__isnull=False), name="severity_panel_once"
            ),
        ]


# --- Results, publication, certificates and appeals ------------------------------------------


class ResultSet(models.Model):
    """One version of a campaign's results: prepared by HR, approved by the chair, then frozen."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        APPROVED = "approved", _("Approved")
        PUBLISHED = "published", _("Published")
        SUPERSEDED = "superseded", _("Superseded")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="result_sets")
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    basis = models.CharField(max_length=20, default="raw")  # the rules' ranking basis when prepared
    runs = models.JSONField(default=dict, blank=True)  # part code → normalisation run id used
    reason = models.TextField(blank=True)  # why a new version (e.g. an appeal changed a mark)
    prepared_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    prepared_at = models.DateTimeField(default=timezone.now)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)
    content = models.JSONField(null=True, blank=True)  # the frozen snapshot, as published
    content_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["campaign", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "version"], name="result_set_version_unique"),
            models.UniqueConstraint(
                fields=["campaign"], condition=Q(status="published"), name="result_set_one_published"
            ),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=models.F("prepared_by")),
                name="result_set_approved_by_another_person",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["published", "superseded"])
                | (Q(published_at__isnull=False) & ~Q(content_hash="")),
                name="result_set_published_is_frozen",
            ),
        ]


class ResultEntry(models.Model):
    result_set = models.ForeignKey(ResultSet, on_delete=models.CASCADE, related_name="entries")
    application = models.ForeignKey("candidates.Application", on_delete=models.PROTECT, related_name="result_entries")
    post = models.ForeignKey("exams.Post", on_delete=models.PROTECT, related_name="result_entries")
    full_name = models.CharField(max_length=150)
    part_marks = models.JSONField(default=dict)  # part code → official mark as a string, or null
    adjusted_marks = models.JSONField(default=dict, blank=True)  # part code → adjusted mark, when normalised
    total = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    rank = models.PositiveIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=20)
    proof = models.JSONField(default=list)  # [[step code, {params}], ...]

    class Meta:
        ordering = ["result_set", "post", "rank", "full_name"]
        constraints = [models.UniqueConstraint(fields=["result_set", "application"], name="result_entry_once")]


class TieDecision(models.Model):
    """The chair's recorded order for a tie nothing in the chain breaks."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="tie_decisions")
    post = models.ForeignKey("exams.Post", on_delete=models.PROTECT, related_name="tie_decisions")
    order = models.JSONField()  # application public ids, best first
    reason = models.TextField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["decided_at"]
        constraints = [models.CheckConstraint(condition=~Q(reason=""), name="tie_decision_has_reason")]


class Certificate(models.Model):
    """The signed result certificate of one candidate for one published version."""

    class Status(models.TextChoices):
        VALID = "valid", _("Valid")
        SUPERSEDED = "superseded", _("Superseded by a later version")
        REVOKED = "revoked", _("Revoked")

    entry = models.OneToOneField(ResultEntry, on_delete=models.PROTECT, related_name="certificate")
    serial = models.CharField(max_length=40, unique=True)
    payload = models.JSONField()
    signature = models.CharField(max_length=200)
    key_id = models.CharField(max_length=40)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.VALID)
    status_reason = models.TextField(blank=True)
    pdf = models.FileField(upload_to="certificates/", max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["serial"]


class CertificateBatch(models.Model):
    """Progress of the background generation of a version's certificates (shown to HR)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    result_set = models.ForeignKey(ResultSet, on_delete=models.CASCADE, related_name="certificate_batches")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)


class Appeal(models.Model):
    """A request for re-marking (phúc khảo) of one appealable part, inside the window."""

    class Status(models.TextChoices):
        FILED = "filed", _("Filed")
        ASSIGNED = "assigned", _("Re-marker assigned")
        REMARKED = "remarked", _("Re-marked")
        DECIDED = "decided", _("Outcome proposed")
        APPROVED = "approved", _("Outcome approved")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    application = models.ForeignKey("candidates.Application", on_delete=models.PROTECT, related_name="appeals")
    part_code = models.SlugField(max_length=30)
    result_set = models.ForeignKey(ResultSet, on_delete=models.PROTECT, related_name="appeals")
    reason = models.TextField(_("reason"))
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.FILED)
    filed_at = models.DateTimeField(default=timezone.now)
    remarker = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="appeal_remarks"
    )
    remark = models.ForeignKey(Mark, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    original_value = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    outcome_value = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    outcome_reason = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["filed_at"]
        constraints = [
            models.UniqueConstraint(fields=["application", "part_code"], name="appeal_once_per_part"),
            models.CheckConstraint(condition=~Q(reason=""), name="appeal_has_reason"),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=models.F("decided_by")),
                name="appeal_approved_by_another_person",
            ),
        ]
