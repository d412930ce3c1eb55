from __future__ import annotations

import uuid
from datetime import date
from pathlib import PurePath

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import normalise_name
from exams.models import DegreeLevel, DocumentType, LanguageLevel, PoliticalTheory, Post, StateManagement


class Gender(models.TextChoices):
    MALE = "male", _("Male")
    FEMALE = "female", _("Female")


class Rating(models.IntegerChoices):
    NOT_COMPLETED = 0, _("Did not complete duties (không hoàn thành nhiệm vụ)")
    COMPLETED = 1, _("Completed duties (hoàn thành nhiệm vụ)")
    GOOD = 2, _("Completed duties well (hoàn thành tốt nhiệm vụ)")
    EXCELLENT = 3, _("Completed duties excellently (hoàn thành xuất sắc nhiệm vụ)")


class PriorityCategory(models.IntegerChoices):
    """The categories that recruitment rules favour (Decree 138/2020/NĐ-CP, art. 5), highest first in a tie.

    Only the order counts here: a tie-break prefers the higher category, once HR has seen its proof.
    """

    NONE = 0, _("None")
    SERVICE = 1, _("Completed military, police or youth-volunteer service")
    POLICY = 2, _("Ethnic minority, former officer, or child of a martyr or war invalid")
    HERO = 3, _("Hero of the armed forces or of labour, or war invalid")


citizen_id_format = RegexValidator(r"^\d{12}$", _("A citizen ID (CCCD) has exactly 12 digits."))


class CandidateProfile(models.Model):
    """What a candidate declares about themselves, reused across applications."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    full_name = models.CharField(_("full name"), max_length=150)
    date_of_birth = models.DateField(_("date of birth"))
    gender = models.CharField(_("gender"), max_length=10, choices=Gender.choices)
    citizen_id = models.CharField(_("citizen ID (CCCD)"), max_length=12, unique=True, validators=[citizen_id_format])
    ethnicity = models.CharField(_("ethnicity"), max_length=50, default="Kinh")
    phone = models.CharField(_("phone"), max_length=20)
    address = models.CharField(_("address"), max_length=300)
    degree_level = models.PositiveSmallIntegerField(_("highest degree"), choices=DegreeLevel.choices)
    degree_field = models.CharField(_("field of study"), max_length=200)
    degree_institution = models.CharField(_("institution"), max_length=200)
    degree_year = models.PositiveSmallIntegerField(_("year of graduation"))
    political_theory = models.PositiveSmallIntegerField(
        _("political theory"), choices=PoliticalTheory.choices, default=PoliticalTheory.NONE
    )
    state_management = models.PositiveSmallIntegerField(
        _("state-management training"), choices=StateManagement.choices, default=StateManagement.NONE
    )
    language_level = models.PositiveSmallIntegerField(
        _("foreign-language level"), choices=LanguageLevel.choices, default=LanguageLevel.NONE
    )
    service_start = models.DateField(_("in public service since"))
    current_organisation = models.CharField(_("current organisation"), max_length=200, blank=True)
    current_position = models.CharField(_("current position"), max_length=200, blank=True)
    current_post_since = models.DateField(_("in the current position since"), null=True, blank=True)
    in_succession_plan = models.BooleanField(_("in the succession plan (quy hoạch)"), default=False)
    succession_plan_details = models.CharField(_("planned for"), max_length=300, blank=True)
    nominated = models.BooleanField(_("nominated"), default=False)
    nomination_details = models.CharField(_("nominated by"), max_length=300, blank=True)
    discipline_in_force = models.BooleanField(_("a disciplinary measure is in force"), default=False)
    discipline_details = models.TextField(_("discipline record"), blank=True)
    priority_category = models.PositiveSmallIntegerField(
        _("priority category"), choices=PriorityCategory.choices, default=PriorityCategory.NONE
    )
    priority_details = models.CharField(_("proof of the priority category"), max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("candidate profile")
        verbose_name_plural = _("candidate profiles")
        constraints = [
            models.CheckConstraint(condition=Q(citizen_id__regex=r"^[0-9]{12}$"), name="profile_citizen_id_12_digits"),
        ]

    def __str__(self) -> str:
        return self.full_name

    def save(self, *args: object, **kwargs: object) -> None:
        for field in (
            "full_name",
            "ethnicity",
            "degree_field",
            "degree_institution",
            "current_organisation",
            "current_position",
            "succession_plan_details",
            "nomination_details",
            "address",
        ):
            setattr(self, field, normalise_name(getattr(self, field)))
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @property
    def management_months(self) -> int:
        from candidates.eligibility import completed_months

        today = timezone.localdate()
        return sum(
            completed_months(start=job.start, end=job.end or today)
            for job in self.work_history.all()
            if job.is_management
        )


class WorkHistory(models.Model):
    profile = models.ForeignKey(CandidateProfile, on_delete=models.CASCADE, related_name="work_history")
    organisation = models.CharField(_("organisation"), max_length=200)
    position = models.CharField(_("position"), max_length=200)
    start = models.DateField(_("from"))
    end = models.DateField(_("to"), null=True, blank=True, help_text=_("Leave empty for the current post."))
    is_management = models.BooleanField(_("management post"), default=False)

    class Meta:
        verbose_name = _("work history entry")
        verbose_name_plural = _("work history")
        ordering = ["-start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(end__gte=models.F("start")), name="work_history_ordered"
            ),
        ]


class PerformanceRating(models.Model):
    profile = models.ForeignKey(CandidateProfile, on_delete=models.CASCADE, related_name="ratings")
    year = models.PositiveSmallIntegerField(_("year"))
    rating = models.PositiveSmallIntegerField(_("rating"), choices=Rating.choices)

    class Meta:
        verbose_name = _("performance rating")
        verbose_name_plural = _("performance ratings")
        ordering = ["-year"]
        constraints = [models.UniqueConstraint(fields=["profile", "year"], name="rating_one_per_year")]


class Application(models.Model):
    """One candidate's application to one post."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        ELIGIBLE = "eligible", _("Eligible")
        NOT_ELIGIBLE = "not_eligible", _("Not eligible")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    candidate = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="applications")
    post = models.ForeignKey(Post, on_delete=models.PROTECT, related_name="applications")
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    # What the candidate declared at submission: screening judges this, not a later edit.
    profile_snapshot = models.JSONField(_("profile at submission"), null=True, blank=True)
    auto_eligible = models.BooleanField(_("automatic check passed"), null=True)
    decision_reason = models.TextField(_("reasons of the decision"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    priority_accepted = models.BooleanField(
        _("priority category accepted"),
        default=False,
        help_text=_("HR found the proof of the declared priority category in the dossier; only then does it count."),
    )

    class Meta:
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["candidate", "post"], name="application_one_per_candidate_and_post"),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(submitted_at__isnull=False), name="application_submitted_has_time"
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["eligible", "not_eligible"]) | Q(decided_at__isnull=False),
                name="application_decision_has_time",
            ),
        ]
        indexes = [models.Index(fields=["post", "status"], name="application_post_status")]

    def __str__(self) -> str:
        return f"{self.candidate} → {self.post}"

    @property
    def is_editable(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def display_name(self) -> str:
        if self.profile_snapshot:
            return str(self.profile_snapshot.get("full_name", ""))
        return str(self.candidate)


class ApplicationEvent(models.Model):
    """The timeline shown to the candidate: every status change with its time."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(_("status"), max_length=20, choices=Application.Status.choices)
    note = models.TextField(_("note"), blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        ordering = ["at", "id"]


def document_storage_path(instance: Document, filename: str) -> str:
    # Never the user's file name: a random name under the application's folder.
    return f"dossiers/{instance.application.public_id}/{uuid.uuid4().hex}{PurePath(filename).suffix.lower()}"


class Document(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="documents")
    doc_type = models.CharField(_("document"), max_length=30, choices=DocumentType.choices)
    file = models.FileField(upload_to=document_storage_path, max_length=300)
    original_name = models.CharField(_("file name"), max_length=150)
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["doc_type", "uploaded_at"]


class CriterionCheck(models.Model):
    """One eligibility criterion of one application: the automatic result, and HR's confirmation."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="criteria")
    code = models.CharField(max_length=40)
    position = models.PositiveSmallIntegerField(default=0)
    auto_passed = models.BooleanField()
    required = models.CharField(max_length=300)
    actual = models.CharField(max_length=300)
    reason = models.CharField(max_length=500)
    params = models.JSONField(default=dict)
    hr_passed = models.BooleanField(null=True)
    hr_reason = models.TextField(blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["application", "code"], name="criterion_once_per_application"),
            # Overriding the automatic result always needs a written reason.
            models.CheckConstraint(
                condition=Q(hr_passed__isnull=True) | Q(hr_passed=models.F("auto_passed")) | ~Q(hr_reason=""),
                name="criterion_override_has_reason",
            ),
        ]

    @property
    def passed(self) -> bool:
        return self.auto_passed if self.hr_passed is None else self.hr_passed


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
