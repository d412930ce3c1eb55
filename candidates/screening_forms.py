"""HR screening forms: the queue's filters, a criterion's review, and the decision."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import normalise_name
from candidates.models import Application


def _yes(value: str) -> bool:
    return value == "1"


class ScreeningFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All")), *[c for c in Application.Status.choices if c[0] != Application.Status.DRAFT]],
    )
    auto = forms.ChoiceField(
        label=_("Automatic check"),
        required=False,
        choices=[("", _("All")), ("passed", _("Passed")), ("failed", _("Failed"))],
    )
    q = forms.CharField(label=_("Name contains"), required=False, max_length=100)

    def clean_q(self) -> str:
        return normalise_name(self.cleaned_data["q"])


class CriterionReviewForm(forms.Form):
    passed = forms.TypedChoiceField(
        label=_("HR finding"),
        choices=[("1", _("Met")), ("0", _("Not met"))],
        coerce=_yes,
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when the finding differs from the automatic result."),
    )


class DecisionForm(forms.Form):
    eligible = forms.TypedChoiceField(
        label=_("Decision"),
        choices=[("1", _("Eligible")), ("0", _("Not eligible"))],
        coerce=_yes,
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=_("Reasons"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Required for “not eligible”: the candidate receives them by e-mail."),
    )
    priority_accepted = forms.BooleanField(
        label=_("The dossier proves the declared priority category"),
        required=False,
        help_text=_("Only a priority category accepted here can break a tie in the ranking."),
    )
