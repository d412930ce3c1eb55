from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import normalise_name
from candidates.citizen_id import citizen_id_problem
from candidates.models import CandidateProfile, PerformanceRating, PriorityCategory, WorkHistory
from exams.models import DocumentType

DATE_INPUT = {"type": "date"}

CITIZEN_ID_MESSAGES = {
    "format": _("A citizen ID (CCCD) has exactly 12 digits."),
    "province": _("The first three digits of a CCCD are a province code (001–096)."),
    "birth_year": _("This CCCD does not match your year of birth (digits 4–6)."),
    "gender": _("This CCCD does not match your gender (digit 4)."),
}


class ProfileForm(forms.ModelForm):
    class Meta:
        model = CandidateProfile
        fields = [
            "full_name", "date_of_birth", "gender", "citizen_id", "ethnicity", "phone", "address",
            "degree_level", "degree_field", "degree_institution", "degree_year", "political_theory",
            "state_management", "language_level", "service_start", "current_organisation", "current_position",
            "current_post_since", "in_succession_plan", "succession_plan_details", "nominated", "nomination_details",
            "discipline_in_force", "discipline_details", "priority_category", "priority_details",
        ]  # fmt: skip
        widgets = {
            "date_of_birth": forms.DateInput(attrs=DATE_INPUT, format="%Y-%m-%d"),
            "service_start": forms.DateInput(attrs=DATE_INPUT, format="%Y-%m-%d"),
            "current_post_since": forms.DateInput(attrs=DATE_INPUT, format="%Y-%m-%d"),
            "discipline_details": forms.Textarea(attrs={"rows": 2}),
            "citizen_id": forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "maxlength": 12}),
            "phone": forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["priority_category"].required = False  # most candidates have none; leaving it out says so

    def clean_full_name(self) -> str:
        name = normalise_name(self.cleaned_data["full_name"])
        if len(name.split(" ")) < 2:
            raise forms.ValidationError(_("Enter your family name and given name."))
        return name

    def clean_date_of_birth(self) -> date:
        born = self.cleaned_data["date_of_birth"]
        today = timezone.localdate()
        if born > today:
            raise forms.ValidationError(_("The date of birth cannot be in the future."))
        if today.year - born.year < 18 or today.year - born.year > 80:
            raise forms.ValidationError(_("Check the date of birth: the age must be between 18 and 80."))
        return born

    def clean_priority_category(self) -> int:
        return self.cleaned_data.get("priority_category") or PriorityCategory.NONE  # left out: none

    def clean_citizen_id(self) -> str:
        return self.cleaned_data["citizen_id"].strip()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("priority_category") and not (data.get("priority_details") or "").strip():
            self.add_error(
                "priority_details",
                _("Name the document that proves the priority category, and attach it to your dossier."),
            )
        number = data.get("citizen_id")
        if number:
            problem = citizen_id_problem(number, birth_date=data.get("date_of_birth"), gender=data.get("gender"))
            if problem:
                self.add_error("citizen_id", CITIZEN_ID_MESSAGES[problem])
        today = timezone.localdate()
        for field in ("service_start", "current_post_since"):
            if data.get(field) and data[field] > today:
                self.add_error(field, _("This date cannot be in the future."))
        if data.get("degree_year") and not 1950 <= data["degree_year"] <= today.year:
            self.add_error("degree_year", _("Enter the year of graduation (1950 to this year)."))
        return data


class WorkHistoryForm(forms.ModelForm):
    class Meta:
        model = WorkHistory
        fields = ["organisation", "position", "start", "end", "is_management"]
        widgets = {
            "start": forms.DateInput(attrs=DATE_INPUT, format="%Y-%m-%d"),
            "end": forms.DateInput(attrs=DATE_INPUT, format="%Y-%m-%d"),
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", _("The end date is before the start date."))
        return data


class RatingForm(forms.ModelForm):
    class Meta:
        model = PerformanceRating
        fields = ["year", "rating"]

    def clean_year(self) -> int:
        year = self.cleaned_data["year"]
        if not 1990 <= year <= timezone.localdate().year:
            raise forms.ValidationError(_("Enter a year between 1990 and this year."))
        return year


WorkHistoryFormSet = forms.inlineformset_factory(
    CandidateProfile, WorkHistory, form=WorkHistoryForm, extra=1, can_delete=True, max_num=30, validate_max=True
)
RatingFormSet = forms.inlineformset_factory(
    CandidateProfile, PerformanceRating, form=RatingForm, extra=3, can_delete=True, max_num=10, validate_max=True
)


class DocumentUploadForm(forms.Form):
    doc_type = forms.ChoiceField(label=_("Document"))
    file = forms.FileField(
        label=_("File (PDF, JPEG or PNG)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"}),
    )

    def __init__(self, *args: Any, required_documents: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labels = dict(DocumentType.choices)
        self.fields["doc_type"].choices = [(code, labels.get(code, code)) for code in required_documents]
