"""The supervisor's filters over the audit trail."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

DATE_INPUT = {"type": "date"}
EARLIEST, LATEST = date(2000, 1, 1), date(9998, 12, 31)  # the filter's range: the day after the end must exist


class AuditFilterForm(forms.Form):
    campaign = forms.IntegerField(label=_("Campaign id"), required=False, min_value=1)
    action = forms.CharField(
        label=_("Action"),
        required=False,
        max_length=64,
        help_text=_("A code such as mark.submit, or the start of one ending with a dot, such as mark."),
    )
    actor = forms.CharField(label=_("Actor's e-mail"), required=False, max_length=254)
    object_type = forms.CharField(
        label=_("Object type"), required=False, max_length=100, help_text=_("Such as scoring.mark.")
    )
    object_id = forms.CharField(label=_("Object id"), required=False, max_length=64)
    date_from = forms.DateField(
        label=_("From"),
        required=False,
        widget=forms.DateInput(attrs=DATE_INPUT, format="%Y-%m-%d"),
        validators=[MinValueValidator(EARLIEST), MaxValueValidator(LATEST)],
    )
    date_to = forms.DateField(
        label=_("To (inclusive)"),
        required=False,
        widget=forms.DateInput(attrs=DATE_INPUT, format="%Y-%m-%d"),
        validators=[MinValueValidator(EARLIEST), MaxValueValidator(LATEST)],  # the day after must exist
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for name in ("action", "actor", "object_type", "object_id"):
            if isinstance(data.get(name), str):
                data[name] = data[name].strip()
        if data.get("actor"):
            data["actor"] = data["actor"].lower()  # addresses are stored in lower case
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError(_("The start date is after the end date."))
        return data
