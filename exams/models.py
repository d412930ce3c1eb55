from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
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


class Post(models.Model):
    """A leadership post put to competition within a campaign."""

    campaign = models.ForeignKey(Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="posts")
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("organisation"), on_delete=models.PROTECT, related_name="posts"
    )
    title = models.CharField(_("title"), max_length=200)
    vacancies = models.PositiveSmallIntegerField(_("vacancies"), default=1)
    application_opens = models.DateTimeField(_("applications open"))
    application_closes = models.DateTimeField(_("applications close"))

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
