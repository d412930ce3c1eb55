from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import normalise_name


class Organisation(models.Model):
    """An agency or unit, in a hierarchy (province → department → division)."""

    class Kind(models.TextChoices):
        PROVINCE = "province", _("Provincial authority")
        DEPARTMENT = "department", _("Department")
        DISTRICT = "district", _("District or city authority")
        UNIT = "unit", _("Public service unit")
        DIVISION = "division", _("Division")

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="organisation_unique_name_in_parent"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: object, **kwargs: object) -> None:
        self.name = normalise_name(self.name)
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class CampaignQuerySet(models.QuerySet["Campaign"]):
    def public(self) -> CampaignQuerySet:
        return self.exclude(status=Campaign.Status.DRAFT).order_by("-announced_at", "-id")


class Campaign(models.Model):
    """A competitive exam round organised by one authority for one or more posts."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ANNOUNCED = "announced", _("Announced")
        SCREENING = "screening", _("Screening")
        EXAM = "exam", _("Exam in progress")
        RESULTS = "results", _("Results published")
        CLOSED = "closed", _("Closed")

    title = models.CharField(_("title"), max_length=300)
    authority = models.ForeignKey(
        Organisation, verbose_name=_("organising authority"), on_delete=models.PROTECT, related_name="campaigns"
    )
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    min_candidates_per_post = models.PositiveSmallIntegerField(_("minimum candidates per post"), default=2)
    written_exam_date = models.DateField(_("planned written exam date"), null=True, blank=True)
    oral_exam_date = models.DateField(_("planned oral exam date"), null=True, blank=True)
    results_date = models.DateField(_("planned results date"), null=True, blank=True)
    numbers_published_at = models.DateTimeField(_("candidate numbers published at"), null=True, blank=True)
    announced_at = models.DateTimeField(_("announced at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CampaignQuerySet.as_manager()

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        constraints = [
            models.CheckConstraint(
                condition=Q(status="draft") | Q(announced_at__isnull=False),
                name="campaign_announced_has_date",
            ),
            models.CheckConstraint(
                condition=Q(min_candidates_per_post__gte=1), name="campaign_min_candidates_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.title


class DocumentType(models.TextChoices):
    """Documents of an application dossier (hồ sơ dự tuyển)."""

    PERSONAL_RECORD = "personal_record", _("Personal record form (sơ yếu lý lịch)")
    DEGREES = "degrees", _("Degrees and certificates")
    HEALTH_CERTIFICATE = "health_certificate", _("Health certificate")
    NOMINATION_MINUTES = "nomination_minutes", _("Nomination or vote minutes")
    SELF_ASSESSMENT = "self_assessment", _("Self-assessment of the last 3 years")
    ACTION_PROGRAMME = "action_programme", _("Action programme (đề án)")


class DegreeLevel(models.IntegerChoices):
    COLLEGE = 1, _("College (cao đẳng)")
    BACHELOR = 2, _("Bachelor (đại học)")
    MASTER = 3, _("Master (thạc sĩ)")
    DOCTOR = 4, _("Doctorate (tiến sĩ)")


class PoliticalTheory(models.IntegerChoices):
    NONE = 0, _("None")
    ELEMENTARY = 1, _("Elementary (sơ cấp)")
    INTERMEDIATE = 2, _("Intermediate (trung cấp)")
    ADVANCED = 3, _("Advanced (cao cấp)")
    BACHELOR = 4, _("Bachelor of politics (cử nhân)")


class StateManagement(models.IntegerChoices):
    NONE = 0, _("None")
    SPECIALIST = 1, _("Specialist programme (chuyên viên)")
    PRINCIPAL = 2, _("Principal specialist (chuyên viên chính)")
    SENIOR = 3, _("Senior specialist (chuyên viên cao cấp)")


class LanguageLevel(models.IntegerChoices):
    NONE = 0, _("None")
    A1 = 1, "A1 (bậc 1)"
    A2 = 2, "A2 (bậc 2)"
    B1 = 3, "B1 (bậc 3)"
    B2 = 4, "B2 (bậc 4)"
    C1 = 5, "C1 (bậc 5)"
    C2 = 6, "C2 (bậc 6)"


def default_required_documents() -> list[str]:
    return [
        DocumentType.PERSONAL_RECORD,
        DocumentType.DEGREES,
        DocumentType.HEALTH_CERTIFICATE,
        DocumentType.NOMINATION_MINUTES,
        DocumentType.ACTION_PROGRAMME,
    ]


class PostQuerySet(models.QuerySet["Post"]):
    def public(self) -> PostQuerySet:
        return self.exclude(campaign__status=Campaign.Status.DRAFT)


class Post(models.Model):
    """A leadership post put to competition within a campaign, with its standards."""

    campaign = models.ForeignKey(Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="posts")
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("organisation"), on_delete=models.PROTECT, related_name="posts"
    )
    title = models.CharField(_("title"), max_length=200)
    vacancies = models.PositiveSmallIntegerField(_("vacancies"), default=1)
    application_opens = models.DateTimeField(_("applications open"))
    application_closes = models.DateTimeField(_("applications close"))
    planned_appointment_date = models.DateField(
        _("planned appointment date"),
        null=True,
        blank=True,
        help_text=_("Ages and years of service are counted at this date."),
    )
    standards_text = models.TextField(_("standards (as announced)"), blank=True)
    required_documents = models.JSONField(_("required documents"), default=default_required_documents)
    # Structured standards, checked automatically at submission (empty = not required).
    min_degree = models.PositiveSmallIntegerField(
        _("minimum degree"), choices=DegreeLevel.choices, null=True, blank=True
    )
    min_political_theory = models.PositiveSmallIntegerField(
        _("minimum political theory"), choices=PoliticalTheory.choices, null=True, blank=True
    )
    min_state_management = models.PositiveSmallIntegerField(
        _("minimum state-management training"), choices=StateManagement.choices, null=True, blank=True
    )
    min_language = models.PositiveSmallIntegerField(
        _("minimum foreign-language level"), choices=LanguageLevel.choices, null=True, blank=True
    )
    min_years_service = models.PositiveSmallIntegerField(_("minimum years of service"), null=True, blank=True)
    min_years_in_current_post = models.PositiveSmallIntegerField(
        _("minimum years in the current post"), null=True, blank=True
    )
    min_years_management = models.PositiveSmallIntegerField(_("minimum years in management"), null=True, blank=True)
    requires_plan_or_nomination = models.BooleanField(_("succession plan or nomination required"), default=True)
    requires_no_discipline = models.BooleanField(_("no discipline in force"), default=True)
    min_rating_years = models.PositiveSmallIntegerField(
        _("years rated at least 'completed well'"), null=True, blank=True, default=3
    )
    full_term_years = models.PositiveSmallIntegerField(
        _("years of full term before retirement"), null=True, blank=True, default=5
    )
    eligible_list_published_at = models.DateTimeField(_("eligible list published at"), null=True, blank=True)
    eligible_list_published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    needs_reannouncement = models.BooleanField(_("flagged for re-announcement"), default=False)

    objects = PostQuerySet.as_manager()

    class Meta:
        verbose_name = _("post")
        verbose_name_plural = _("posts")
        ordering = ["campaign", "title"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "organisation", "title"], name="post_unique_in_campaign"),
            models.CheckConstraint(condition=Q(vacancies__gte=1), name="post_vacancies_positive"),
            models.CheckConstraint(
                condition=Q(application_closes__gt=models.F("application_opens")), name="post_window_ordered"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args: object, **kwargs: object) -> None:
        self.title = normalise_name(self.title)
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def is_open(self, at: datetime | None = None) -> bool:
        """The server's clock decides; the campaign must have been announced."""
        moment = at or timezone.now()
        return (
            self.campaign.status != Campaign.Status.DRAFT and self.application_opens <= moment < self.application_closes
        )

    @property
    def appointment_date(self) -> date:
        return self.planned_appointment_date or timezone.localdate(self.application_closes)

    @property
    def required_document_labels(self) -> list[str]:
        labels = dict(DocumentType.choices)
        return [str(labels.get(code, code)) for code in self.required_documents]


class PostAmendment(models.Model):
    """A change to an announced post: candidates relied on it, so the reason is shown on the post."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="amendments")
    changes = models.JSONField(_("changes"))  # {field: [before, after]} as displayed text
    reason = models.TextField(_("reason"))
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField(_("changed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("post amendment")
        verbose_name_plural = _("post amendments")
        ordering = ["changed_at"]
        constraints = [models.CheckConstraint(condition=~Q(reason=""), name="post_amendment_has_reason")]


# --- Exam rules (versioned, approved by the chair, frozen) ---------------------------


class MarkingMode(models.TextChoices):
    BLIND_DOUBLE = "blind_double", _("Blind double marking")
    PANEL_BALLOT = "panel_ballot", _("Panel ballot")


class RankingBasis(models.TextChoices):
    RAW = "raw", _("Raw official marks")
    ADDITIVE = "additive", _("Adjusted for examiner severity (additive model)")
    LINEAR = "linear", _("Per-panel linear equating")


class Escalation(models.TextChoices):
    THIRD_MARKER = "third_marker", _("A third marker")
    COUNCIL = "council", _("The council decides")


class TieBreak(models.TextChoices):
    DECISIVE_PART = "decisive_part", _("Higher mark in the decisive part")
    OTHER_PARTS = "other_parts", _("Higher mark in the other parts, in order")
    PRIORITY = "priority", _("Priority category")
    CHAIR = "chair", _("Recorded decision of the chair")


def default_tie_breaks() -> list[str]:
    return [TieBreak.DECISIVE_PART, TieBreak.OTHER_PARTS, TieBreak.PRIORITY, TieBreak.CHAIR]


class ExamRules(models.Model):
    """One version of a campaign's rules. Approved by the chair (not the author), then frozen."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        APPROVED = "approved", _("Approved")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="rule_versions")
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    amendment_reason = models.TextField(_("reason for the amendment"), blank=True)
    mean_max_spread = models.DecimalField(
        _("largest spread resolved by the mean"), max_digits=6, decimal_places=2, default=Decimal("5")
    )
    escalate_min_spread = models.DecimalField(
        _("smallest spread escalated"), max_digits=6, decimal_places=2, default=Decimal("10")
    )
    escalation = models.CharField(
        _("escalation"), max_length=20, choices=Escalation.choices, default=Escalation.THIRD_MARKER
    )
    ranking_basis = models.CharField(
        _("ranking basis"), max_length=20, choices=RankingBasis.choices, default=RankingBasis.RAW
    )
    tie_breaks = models.JSONField(_("tie-break order"), default=default_tie_breaks)
    decisive_part = models.CharField(_("decisive part (code)"), max_length=30, default="oral")
    min_candidates_per_post = models.PositiveSmallIntegerField(_("minimum candidates per post"), default=2)
    appeal_window_days = models.PositiveSmallIntegerField(_("appeal window (days)"), default=15)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("exam rules")
        verbose_name_plural = _("exam rules")
        ordering = ["campaign", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "version"], name="rules_version_unique"),
            models.UniqueConstraint(
                fields=["campaign"], condition=Q(status="draft"), name="rules_one_draft_per_campaign"
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | (Q(approved_by__isnull=False) & ~Q(approved_by=models.F("created_by"))),
                name="rules_approved_by_another_person",
            ),
            models.CheckConstraint(
                condition=Q(mean_max_spread__lt=models.F("escalate_min_spread")), name="rules_bands_ordered"
            ),
            models.CheckConstraint(condition=Q(version=1) | ~Q(amendment_reason=""), name="rules_amendment_has_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign} — v{self.version}"


class ExamPart(models.Model):
    rules = models.ForeignKey(ExamRules, on_delete=models.CASCADE, related_name="parts")
    position = models.PositiveSmallIntegerField(_("order"))
    code = models.SlugField(_("code"), max_length=30)
    name = models.CharField(_("name"), max_length=100)
    max_score = models.DecimalField(_("maximum score"), max_digits=6, decimal_places=2, default=Decimal("100"))
    decimals = models.PositiveSmallIntegerField(_("decimals"), default=1)
    pass_mark = models.DecimalField(_("pass mark"), max_digits=6, decimal_places=2, default=Decimal("50"))
    gates_next = models.BooleanField(_("failing it excludes from the next parts"), default=False)
    weight = models.DecimalField(_("weight in the total"), max_digits=5, decimal_places=2, default=Decimal("1"))
    marking_mode = models.CharField(_("marking mode"), max_length=20, choices=MarkingMode.choices)
    appealable = models.BooleanField(_("may be appealed"), default=False)

    class Meta:
        ordering = ["rules", "position"]
        constraints = [
            models.UniqueConstraint(fields=["rules", "position"], name="part_position_unique"),
            models.UniqueConstraint(fields=["rules", "code"], name="part_code_unique"),
            models.CheckConstraint(condition=Q(decimals__lte=2), name="part_decimals_at_most_2"),
            models.CheckConstraint(condition=Q(pass_mark__lte=models.F("max_score")), name="part_pass_mark_in_range"),
            models.CheckConstraint(condition=Q(weight__gte=0), name="part_weight_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name


class RubricCriterion(models.Model):
    part = models.ForeignKey(ExamPart, on_delete=models.CASCADE, related_name="criteria")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(_("criterion"), max_length=200)
    max_score = models.DecimalField(_("maximum"), max_digits=6, decimal_places=2)

    class Meta:
        ordering = ["part", "position"]
        constraints = [models.UniqueConstraint(fields=["part", "position"], name="rubric_position_unique")]


# --- Council, panels and conflicts of interest ---------------------------------------


class CouncilMember(models.Model):
    class Role(models.TextChoices):
        CHAIR = "chair", _("Chair")
        SECRETARY = "secretary", _("Secretary")
        MEMBER = "member", _("Member")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="council")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="council_seats")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.MEMBER)

    class Meta:
        ordering = ["campaign", "role", "id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "user"], name="council_member_once"),
            models.UniqueConstraint(fields=["campaign"], condition=Q(role="chair"), name="council_one_chair"),
        ]


class Panel(models.Model):
    """A group of examiners marking one part for some candidates (or scripts) of a campaign."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="panels")
    part_code = models.SlugField(_("part"), max_length=30)
    name = models.CharField(_("name"), max_length=100)
    posts = models.ManyToManyField(Post, blank=True, related_name="panels")
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="PanelMember", related_name="panels")

    class Meta:
        ordering = ["campaign", "part_code", "name"]
        constraints = [models.UniqueConstraint(fields=["campaign", "part_code", "name"], name="panel_name_unique")]

    def __str__(self) -> str:
        return self.name


class PanelMember(models.Model):
    panel = models.ForeignKey(Panel, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="panel_memberships")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["panel", "user"], name="panel_member_once")]


class PanelCandidate(models.Model):
    """An application assigned to a panel for one part (one panel per part)."""

    panel = models.ForeignKey(Panel, on_delete=models.CASCADE, related_name="candidates")
    application = models.ForeignKey("candidates.Application", on_delete=models.PROTECT, related_name="panel_seats")
    part_code = models.SlugField(max_length=30)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["application", "part_code"], name="panel_candidate_one_panel_per_part")
        ]


class Relation(models.TextChoices):
    NONE = "none", _("No relation")
    PARENT = "parent", _("Parent (of the examiner or the spouse)")
    SPOUSE = "spouse", _("Spouse")
    CHILD = "child", _("Child or child-in-law")
    SIBLING = "sibling", _("Sibling (or sibling of the spouse)")
    AUNT_UNCLE = "aunt_uncle", _("Aunt, uncle, niece or nephew")
    SUPERIOR = "superior", _("Direct superior of the candidate")
    SUBORDINATE = "subordinate", _("Direct subordinate of the candidate")
    OTHER = "other", _("Other relation (describe)")


class ConflictDeclaration(models.Model):
    """What an examiner declares about one candidate of their panel; marking waits for it."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="declarations")
    examiner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="declarations")
    application = models.ForeignKey("candidates.Application", on_delete=models.PROTECT, related_name="declarations")
    relation = models.CharField(_("relation"), max_length=20, choices=Relation.choices)
    details = models.TextField(_("details"), blank=True)
    declared_at = models.DateTimeField(_("declared at"), default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["examiner", "application"], name="declaration_once"),
            models.CheckConstraint(condition=~Q(relation="other") | ~Q(details=""), name="declaration_other_explained"),
        ]

    @property
    def has_conflict(self) -> bool:
        return self.relation != Relation.NONE


# --- Exam day: venues, sessions, candidate numbers, seats, attendance ---------------------


class Venue(models.Model):
    name = models.CharField(_("venue"), max_length=200)
    address = models.CharField(_("address"), max_length=300, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Room(models.Model):
    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="rooms")
    name = models.CharField(_("room"), max_length=100)
    capacity = models.PositiveSmallIntegerField(_("capacity"))

    class Meta:
        ordering = ["venue", "name"]
        constraints = [
            models.UniqueConstraint(fields=["venue", "name"], name="room_name_unique"),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="room_capacity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.venue} — {self.name}"


class ExamSession(models.Model):
    """A sitting of one part: when, for how long, in which rooms."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="sessions")
    part_code = models.SlugField(_("part"), max_length=30)
    starts_at = models.DateTimeField(_("starts at"))
    duration_minutes = models.PositiveSmallIntegerField(_("duration (minutes)"), default=180)
    rooms = models.ManyToManyField(Room, through="SessionRoom", related_name="sessions")
    posts = models.ManyToManyField(Post, blank=True, related_name="sessions")

    class Meta:
        ordering = ["starts_at"]
        constraints = [models.CheckConstraint(condition=Q(duration_minutes__gte=1), name="session_duration_positive")]

    @property
    def ends_at(self) -> datetime:
        from datetime import timedelta

        return self.starts_at + timedelta(minutes=self.duration_minutes)


class SessionRoom(models.Model):
    session = models.ForeignKey(ExamSession, on_delete=models.CASCADE, related_name="session_rooms")
    room = models.ForeignKey(Room, on_delete=models.PROTECT, related_name="session_rooms")
    staff = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="invigilated_rooms")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session", "room"], name="session_room_once")]


class CandidateNumber(models.Model):
    """The số báo danh of an eligible candidate, unique within the campaign."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="candidate_numbers")
    application = models.OneToOneField(
        "candidates.Application", on_delete=models.PROTECT, related_name="candidate_number"
    )
    number = models.CharField(_("candidate number"), max_length=20)
    assigned_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["campaign", "number"]
        constraints = [models.UniqueConstraint(fields=["campaign", "number"], name="candidate_number_unique")]

    def __str__(self) -> str:
        return self.number


class Seat(models.Model):
    session = models.ForeignKey(ExamSession, on_delete=models.CASCADE, related_name="seats")
    application = models.ForeignKey("candidates.Application", on_delete=models.PROTECT, related_name="seats")
    room = models.ForeignKey(Room, on_delete=models.PROTECT, related_name="seats")
    seat = models.PositiveSmallIntegerField(_("seat"))

    class Meta:
        ordering = ["session", "room", "seat"]
        constraints = [
            models.UniqueConstraint(fields=["session", "application"], name="seat_candidate_once"),
            models.UniqueConstraint(fields=["session", "room", "seat"], name="seat_taken_once"),
        ]


class Attendance(models.Model):
    class Status(models.TextChoices):
        PRESENT = "present", _("Present")
        ABSENT = "absent", _("Absent")
        EXCUSED = "excused", _("Excused")

    session = models.ForeignKey(ExamSession, on_delete=models.CASCADE, related_name="attendance")
    application = models.ForeignKey("candidates.Application", on_delete=models.PROTECT, related_name="attendance")
    status = models.CharField(_("attendance"), max_length=20, choices=Status.choices)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session", "application"], name="attendance_once")]


class Incident(models.Model):
    class Kind(models.TextChoices):
        LATE = "late", _("Late arrival")
        BREACH = "breach", _("Breach of the exam-room rules")
        OTHER = "other", _("Other")

    session = models.ForeignKey(ExamSession, on_delete=models.CASCADE, related_name="incidents")
    application = models.ForeignKey(
        "candidates.Application", null=True, blank=True, on_delete=models.PROTECT, related_name="incidents"
    )
    kind = models.CharField(_("incident"), max_length=20, choices=Kind.choices)
    reason = models.TextField(_("what happened"))
    measure = models.TextField(_("measure taken"), blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["recorded_at"]
        constraints = [models.CheckConstraint(condition=~Q(reason=""), name="incident_has_reason")]


class RenumberRequest(models.Model):
    """Numbers already published change only with a reason, approved by another person."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="renumber_requests")
    reason = models.TextField(_("reason"))
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="renumber_has_reason"),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=models.F("requested_by")),
                name="renumber_approved_by_another_person",
            ),
        ]
