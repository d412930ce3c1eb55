"""Forms of the marking pages: declarations, marks, the chair's decisions, HR's requests and imports.

The forms only collect what was typed: ranges, decimals and who may do what are the services' to judge,
so a mark typed in the grid and a mark imported from a file meet exactly the same rules.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from exams.models import ExamPart, Relation

MAX_MARK_CHARS = 12
IMPORT_MAX_BYTES = 5 * 1024 * 1024


class DeclarationForm(forms.Form):
    relation = forms.ChoiceField(label=_("Relation"), choices=[("", _("Choose…")), *Relation.choices])
    details = forms.CharField(
        label=_("Details"),
        required=False,
        max_length=2000,
        widget=forms.TextInput(),
        help_text=_("Required for “Other relation”."),
    )


class MarkForm(forms.Form):
    """One row of the grid: the mark, or one field per rubric criterion (``c1``, ``c2``…), and the button."""

    value = forms.CharField(label=_("Mark"), required=False, max_length=MAX_MARK_CHARS, strip=True)
    submit = forms.BooleanField(required=False)

    def __init__(self, *args: Any, part: ExamPart, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.criteria = list(part.criteria.all())
        for criterion in self.criteria:
            self.fields[f"c{criterion.position}"] = forms.CharField(
                label=criterion.name, required=False, max_length=MAX_MARK_CHARS, strip=True
            )

    def raw_criteria(self) -> dict[str, str]:
        return {str(c.position): self.cleaned_data.get(f"c{c.position}", "") for c in self.criteria}


class DecisionForm(forms.Form):
    value = forms.CharField(label=_("Decided mark"), max_length=MAX_MARK_CHARS)
    reason = forms.CharField(
        label=_("Reason"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Recorded in the audit trail with your decision."),
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=4000, widget=forms.Textarea(attrs={"rows": 2}))


class ReopenRequestForm(ReasonForm):
    """Which submitted mark to reopen: a script code (blind part) or a candidate of the oral order."""

    field_order = ["key", "examiner", "reason"]

    def __init__(self, *args: Any, slots: list[tuple[str, str]] | None, examiners: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if slots is None:
            self.fields["key"] = forms.CharField(label=_("Script code"), max_length=12)
        else:
            self.fields["key"] = forms.ChoiceField(label=_("Candidate"), choices=[("", _("Choose…")), *slots])
        self.fields["examiner"] = forms.TypedChoiceField(
            label=_("Examiner"),
            coerce=int,
            choices=[("", _("Choose…")), *((u.pk, f"{u.get_full_name()} <{u.email}>") for u in examiners)],
        )
        self.order_fields(self.field_order)

    def clean_key(self) -> str:
        return str(self.cleaned_data["key"]).strip().upper()


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Completed template (XLSX)"))

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > IMPORT_MAX_BYTES:
            raise forms.ValidationError(_("The file is larger than 5 MB."))
        return upload
