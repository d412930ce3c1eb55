"""Forms of the results and appeals pages: they collect what was typed; the services judge it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from exams.models import ExamPart, Relation

MAX_MARK_CHARS = 12


REASON = _("Reason")


class ReasonField(forms.CharField):
    def __init__(self, *, label: Any = REASON, required: bool = True, **kwargs: Any) -> None:
        super().__init__(
            label=label, required=required, max_length=4000, widget=forms.Textarea(attrs={"rows": 3}), **kwargs
        )


class PrepareForm(forms.Form):
    reason = ReasonField(
        label=_("Reason for a new version"),
        required=False,
        help_text=_("Required once results are published: it is shown with the new version."),
    )


class TieDecisionForm(forms.Form):
    """The chair's order of a tied group: one position per candidate, and the reason."""

    reason = ReasonField(help_text=_("Recorded in the audit trail and shown in the candidates' rank proof."))

    def __init__(self, *args: Any, members: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.members = members
        choices = [(str(i), str(i)) for i in range(1, len(members) + 1)]
        for index, (key, name) in enumerate(members, start=1):
            self.fields[f"position_{key}"] = forms.ChoiceField(label=name, choices=choices, initial=str(index))
        self.order_fields([f"position_{key}" for key, _name in members] + ["reason"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        positions = [data.get(f"position_{key}") for key, _name in self.members]
        if None not in positions and len(set(positions)) != len(positions):
            raise forms.ValidationError(_("Give each candidate a different position."))
        return data

    def order(self) -> list[str]:
        positions = {key: int(self.cleaned_data[f"position_{key}"]) for key, _name in self.members}
        return sorted(positions, key=positions.__getitem__)


class AppealForm(forms.Form):
    part = forms.ChoiceField(label=_("Part"))
    reason = ReasonField(label=_("Why do you ask for a re-mark?"))

    def __init__(self, *args: Any, parts: list[ExamPart], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["part"].choices = [(p.code, p.name) for p in parts]


class AssignRemarkerForm(forms.Form):
    remarker = forms.ModelChoiceField(label=_("Re-marker"), queryset=User.objects.none(), empty_label=_("Choose…"))

    def __init__(self, *args: Any, examiners: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["remarker"]
        field.queryset = User.objects.filter(pk__in=[u.pk for u in examiners]).order_by("full_name")  # type: ignore[attr-defined]
        field.label_from_instance = lambda user: f"{user.get_full_name()} <{user.email}>"  # type: ignore[attr-defined]


class RemarkDeclarationForm(forms.Form):
    relation = forms.ChoiceField(
        label=_("Relation with the candidate"), choices=[("", _("Choose…")), *Relation.choices]
    )
    details = forms.CharField(label=_("Details"), required=False, max_length=2000)


class RemarkForm(forms.Form):
    value = forms.CharField(label=_("Re-mark"), max_length=MAX_MARK_CHARS, strip=True)


class AppealDecisionForm(forms.Form):
    value = forms.CharField(
        label=_("Proposed mark"),
        required=False,
        max_length=MAX_MARK_CHARS,
        strip=True,
        help_text=_("Only when the re-mark is outside the mean band; within it, the mean applies."),
    )
    reason = ReasonField(required=False)
