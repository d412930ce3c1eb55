"""HR forms for campaigns and posts; times are entered and shown in Vietnam's time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.forms.models import ModelChoiceIterator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import normalise_name
from exams.models import Campaign, DocumentType, Organisation, Post

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
PATH_SEPARATOR = " › "


def organisation_paths() -> dict[int, str]:
    """Every organisation's place in the hierarchy ("UBND tỉnh Quảng Nam › Sở Y tế"), in one query."""
    rows = {pk: (name, parent) for pk, name, parent in Organisation.objects.values_list("id", "name", "parent_id")}

    def path(pk: int) -> str:
        names, seen = [], set()
        current: int | None = pk
        while current is not None and current in rows and current not in seen:
            seen.add(current)
            name, current = rows[current]
            names.append(name)
        return PATH_SEPARATOR.join(reversed(names))

    return {pk: path(pk) for pk in rows}


class _HierarchyIterator(ModelChoiceIterator):
    # Sorted by path, so each unit sits under its parent; one query for all labels.
    def __iter__(self) -> Iterator[tuple[Any, str]]:
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        yield from sorted(organisation_paths().items(), key=lambda item: item[1])

    def __len__(self) -> int:
        return Organisation.objects.count() + (1 if self.field.empty_label is not None else 0)


class OrganisationChoiceField(forms.ModelChoiceField):
    iterator = _HierarchyIterator

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(queryset=Organisation.objects.all(), **kwargs)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class VietnamDateTimeField(forms.DateTimeField):
    """A datetime-local input read and shown in Asia/Ho_Chi_Minh, whatever time zone is active."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")

    def prepare_value(self, value: Any) -> Any:
        with timezone.override(VIETNAM):
            return super().prepare_value(value)

    def to_python(self, value: Any) -> datetime | None:
        with timezone.override(VIETNAM):
            return super().to_python(value)

    def has_changed(self, initial: Any, data: Any) -> bool:
        # The input has minutes only: seconds stored earlier are not a change.
        if isinstance(initial, datetime):
            initial = initial.replace(second=0, microsecond=0)
        return super().has_changed(initial, data)


class CampaignForm(forms.ModelForm):
    authority = OrganisationChoiceField(label=_("organising authority"))

    class Meta:
        model = Campaign
        fields = [
            "title",
            "authority",
            "description",
            "written_exam_date",
            "oral_exam_date",
            "results_date",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4}),
            "written_exam_date": DateInput(),
            "oral_exam_date": DateInput(),
            "results_date": DateInput(),
        }

    def clean_title(self) -> str:
        return normalise_name(self.cleaned_data["title"])

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        written, oral, results = (data.get(name) for name in ("written_exam_date", "oral_exam_date", "results_date"))
        if written and oral and oral < written:
            self.add_error("oral_exam_date", _("The oral part cannot come before the written part."))
        if results and any(day and results < day for day in (written, oral)):
            self.add_error("results_date", _("Results cannot be planned before the exam."))
        return data


class AnnounceForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("I have checked the posts, their standards and the application windows."),
        help_text=_("Once announced, the campaign is frozen and every change to a post is published with its reason."),
    )


STRUCTURED_STANDARDS = [
    "min_degree",
    "min_political_theory",
    "min_state_management",
    "min_language",
    "min_years_service",
    "min_years_in_current_post",
    "min_years_management",
    "requires_plan_or_nomination",
    "requires_no_discipline",
    "min_rating_years",
    "full_term_years",
]
YEAR_FIELDS = [
    "min_years_service",
    "min_years_in_current_post",
    "min_years_management",
    "min_rating_years",
    "full_term_years",
]


class PostForm(forms.ModelForm):
    """All of a post; once its campaign is announced, a change needs a reason shown to the public."""

    organisation = OrganisationChoiceField(label=_("organisation"))
    vacancies = forms.IntegerField(label=_("vacancies"), min_value=1, max_value=100, initial=1)
    application_opens = VietnamDateTimeField(label=_("applications open"), help_text=_("Vietnam time (UTC+7)."))
    application_closes = VietnamDateTimeField(label=_("applications close"), help_text=_("Vietnam time (UTC+7)."))
    required_documents = forms.MultipleChoiceField(
        label=_("required documents"), choices=DocumentType.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Post
        fields = [
            "organisation",
            "title",
            "vacancies",
            "application_opens",
            "application_closes",
            "planned_appointment_date",
            "standards_text",
            "required_documents",
            *STRUCTURED_STANDARDS,
        ]
        widgets = {"planned_appointment_date": DateInput(), "standards_text": forms.Textarea(attrs={"rows": 6})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in YEAR_FIELDS:
            self.fields[name].widget.attrs.update(min=0, max=40)
        self.announced = self.instance.pk is not None and self.instance.campaign.status != Campaign.Status.DRAFT
        if self.announced:
            self.fields["change_reason"] = forms.CharField(
                label=_("reason for the change"),
                help_text=_("The campaign has been announced: the reason is published on the post with the change."),
                widget=forms.Textarea(attrs={"rows": 3}),
            )

    def clean_title(self) -> str:
        return normalise_name(self.cleaned_data["title"])

    def changes(self) -> dict[str, tuple[Any, Any]]:
        """{field label: (before, after)} as people read them, for the published amendment."""
        return {
            str(self.fields[name].label): (self._describe(name, self.initial.get(name)), self._describe(name, value))
            for name in self.changed_data
            if name != "change_reason"
            for value in [self.cleaned_data.get(name)]
        }

    def _describe(self, name: str, value: Any) -> Any:
        field = self.fields[name]
        if value is None or value == "" or value == []:
            return None
        if name == "organisation":
            return organisation_paths().get(getattr(value, "pk", value), str(value))
        if name == "required_documents":
            labels = dict(DocumentType.choices)
            return "; ".join(str(labels.get(code, code)) for code in value)
        if isinstance(field, forms.BooleanField):
            return str(_("yes") if value else _("no"))
        if isinstance(value, datetime):
            return timezone.localtime(value, VIETNAM).strftime("%d/%m/%Y %H:%M")
        if isinstance(field, forms.TypedChoiceField):
            labels = {str(key): label for key, label in field.choices}
            return str(labels.get(str(value), value))
        return value

    def clean_required_documents(self) -> list[str]:
        chosen = set(self.cleaned_data["required_documents"])
        return [code for code in DocumentType.values if code in chosen]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for name in YEAR_FIELDS:
            value = data.get(name)
            if value is not None and value > 40:
                self.add_error(name, _("At most 40 years."))
        for name in ("application_opens", "application_closes"):
            # Unchanged times keep their stored seconds instead of the input's rounded minutes.
            if name in data and name not in self.changed_data and self.initial.get(name):
                data[name] = self.initial[name]
        opens, closes = data.get("application_opens"), data.get("application_closes")
        if opens and closes and closes <= opens:
            self.add_error("application_closes", _("The application window must close after it opens."))
        appointment = data.get("planned_appointment_date")
        if appointment and closes and appointment < timezone.localtime(closes, VIETNAM).date():
            self.add_error(
                "planned_appointment_date", _("The appointment cannot be planned before applications close.")
            )
        organisation, title = data.get("organisation"), data.get("title")
        if organisation and title:
            clash = Post.objects.filter(campaign_id=self.instance.campaign_id, organisation=organisation, title=title)
            if clash.exclude(pk=self.instance.pk).exists():
                self.add_error("title", _("This campaign already has a post with this title in this organisation."))
        return data
