"""Forms of the rules editor (HR), the approval (chair), and the council and panels pages.

The rules editor is one form for the version's settings, a formset of parts, and one small formset
of rubric criteria inside each part. It validates everything before writing anything, then saves
the draft and audits it in one transaction.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.db import transaction
from django.utils import formats
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.roles import Role
from candidates.models import Application
from config.errors import Refused
from exams.models import (
    CouncilMember,
    Escalation,
    ExamPart,
    ExamRules,
    MarkingMode,
    Panel,
    Post,
    RankingBasis,
    RubricCriterion,
    TieBreak,
)
from exams.services import PART_FIELDS, RULE_FIELDS, record_rules_edit, rules_snapshot

# Plain words for each choice HR makes: these decide careers, so the page says what each one does.
RANKING_EXPLANATIONS = {
    RankingBasis.RAW: _(
        "Candidates are ranked on the official marks as the examiners gave them, after the disagreement "
        "bands. Adjusted marks are still computed and shown beside them, as advice only."
    ),
    RankingBasis.ADDITIVE: _(
        "Each examiner's usual severity or leniency is estimated from all their marks and taken out "
        "before ranking. It needs examiners who marked in more than one panel, so that panels can be compared."
    ),
    RankingBasis.LINEAR: _(
        "The marks of each panel are rescaled to the same average and spread before ranking. It assumes "
        "that every panel received candidates of comparable ability, for example assigned at random."
    ),
}
ESCALATION_EXPLANATIONS = {
    Escalation.THIRD_MARKER: _(
        "For a blind part, a third examiner marks the script and the mark is the mean of the two closest "
        "marks. For a panel ballot, the council decides."
    ),
    Escalation.COUNCIL: _("The council discusses the script or the candidate and decides the mark, with a reason."),
}
TIE_BREAK_EXPLANATIONS = {
    TieBreak.DECISIVE_PART: _("The higher mark in the decisive part (chosen above) ranks first."),
    TieBreak.OTHER_PARTS: _("The higher mark in each other part, taken in the order of the parts."),
    TieBreak.PRIORITY: _("A candidate in a priority category recorded in the application ranks first."),
    TieBreak.CHAIR: _("Any tie still left is decided by the council chair, with a recorded reason."),
}


def plain_number(value: Decimal | None) -> str:
    """100.00 → "100", 72.50 → "72,5" in Vietnamese: no trailing zeros, the language's decimal mark."""
    if value is None:
        return ""
    return formats.number_format(value.normalize())


class DecimalInputField(forms.DecimalField):
    """A number typed with a decimal comma or point ("72,5" or "72.5"), shown in the page's language."""

    widget = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})

    def to_python(self, value: Any) -> Decimal | None:
        if isinstance(value, str):
            value = value.strip().replace(",", ".")
        return super().to_python(value)

    def prepare_value(self, value: Any) -> Any:
        return plain_number(value) if isinstance(value, Decimal) else value


# --- Rules editor ----------------------------------------------------------------------


class RulesForm(forms.Form):
    mean_max_spread = DecimalInputField(
        label=_("Largest spread resolved by the mean"),
        min_value=Decimal(0),
        max_digits=6,
        decimal_places=2,
        help_text=_("When the highest and lowest marks differ by this much or less, the mark is their mean."),
    )
    escalate_min_spread = DecimalInputField(
        label=_("Smallest spread escalated"),
        min_value=Decimal(0),
        max_digits=6,
        decimal_places=2,
        help_text=_(
            "From this spread up, the disagreement is escalated. In between the two, the chair decides after "
            "discussion, with a recorded reason."
        ),
    )
    escalation = forms.ChoiceField(label=_("Escalation"), choices=Escalation.choices, widget=forms.RadioSelect)
    ranking_basis = forms.ChoiceField(label=_("Ranking basis"), choices=RankingBasis.choices, widget=forms.RadioSelect)
    decisive_part = forms.SlugField(
        label=_("Decisive part (code)"),
        max_length=30,
        help_text=_("The code of one of the parts below, such as “oral”: it decides first in a tie."),
    )
    min_candidates_per_post = forms.IntegerField(
        label=_("Minimum candidates per post"),
        min_value=1,
        max_value=99,
        help_text=_("A post with fewer eligible candidates is flagged for re-announcement."),
    )
    appeal_window_days = forms.IntegerField(
        label=_("Appeal window (days)"),
        min_value=0,
        max_value=365,
        help_text=_("Days after publication during which a candidate may appeal an appealable part."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # One position box per tie-break: HR orders them; an empty box leaves that tie-break out.
        for code, label in TieBreak.choices:
            self.fields[f"tie_{code}"] = forms.IntegerField(
                label=label,
                required=False,
                min_value=1,
                max_value=len(TieBreak.choices),
                help_text=TIE_BREAK_EXPLANATIONS[TieBreak(code)],
            )

    @classmethod
    def initial_for(cls, rules: ExamRules) -> dict[str, Any]:
        initial = {name: getattr(rules, name) for name in RULE_FIELDS if name != "tie_breaks"}
        for index, code in enumerate(rules.tie_breaks, start=1):
            initial[f"tie_{code}"] = index
        return initial

    def tie_break_fields(self) -> list[forms.BoundField]:
        return [self[f"tie_{code}"] for code in TieBreak.values]

    def ranking_choices(self) -> list[tuple[Any, str]]:
        return [(radio, RANKING_EXPLANATIONS[RankingBasis(radio.data["value"])]) for radio in self["ranking_basis"]]

    def escalation_choices(self) -> list[tuple[Any, str]]:
        return [(radio, ESCALATION_EXPLANATIONS[Escalation(radio.data["value"])]) for radio in self["escalation"]]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        low, high = data.get("mean_max_spread"), data.get("escalate_min_spread")
        if low is not None and high is not None and high <= low:
            self.add_error(
                "escalate_min_spread",
                _("The escalated spread must be larger than the spread resolved by the mean (%(low)s).")
                % {"low": plain_number(low)},
            )
        positions = {code: data.get(f"tie_{code}") for code in TieBreak.values}
        if any(f"tie_{code}" in self.errors for code in TieBreak.values):
            return data
        used = [position for position in positions.values() if position is not None]
        if len(used) != len(set(used)):
            self.add_error(None, _("Each tie-break needs its own position: two of them have the same number."))
        elif positions[TieBreak.CHAIR] is None or positions[TieBreak.CHAIR] != max(used):
            self.add_error(
                f"tie_{TieBreak.CHAIR}",
                _("The chair's decision must be the last tie-break, so that every tie is settled."),
            )
        else:
            data["tie_breaks"] = sorted((code for code, p in positions.items() if p is not None), key=positions.get)
        return data


class CriterionForm(forms.Form):
    name = forms.CharField(label=_("Criterion"), max_length=200, required=False)
    max_score = DecimalInputField(
        label=_("Maximum"), required=False, min_value=Decimal("0.01"), max_digits=6, decimal_places=2
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        name, maximum = data.get("name", "").strip(), data.get("max_score")
        if name and maximum is None and "max_score" not in self.errors:
            self.add_error("max_score", _("Give the criterion's maximum."))
        if maximum is not None and not name:
            self.add_error("name", _("Name the criterion."))
        data["name"] = name
        return data

    @property
    def is_blank(self) -> bool:
        return not self.cleaned_data.get("name") and self.cleaned_data.get("max_score") is None


CriterionFormSet = forms.formset_factory(CriterionForm, extra=2, max_num=30, validate_max=True)


class PartForm(forms.Form):
    position = forms.IntegerField(label=_("Order"), min_value=1, max_value=99)
    code = forms.SlugField(
        label=_("Code"), max_length=30, help_text=_("Short, unique, in Latin letters: “written”, “oral”.")
    )
    name = forms.CharField(label=_("Name"), max_length=100)
    max_score = DecimalInputField(
        label=_("Maximum score"), initial=Decimal(100), min_value=Decimal("0.01"), max_digits=6, decimal_places=2
    )
    decimals = forms.IntegerField(
        label=_("Decimals"),
        initial=1,
        min_value=0,
        max_value=2,
        error_messages={
            "min_value": _("A part is marked with 0, 1 or 2 decimals."),
            "max_value": _("A part is marked with 0, 1 or 2 decimals."),
        },
    )
    pass_mark = DecimalInputField(
        label=_("Pass mark"), initial=Decimal(50), min_value=Decimal(0), max_digits=6, decimal_places=2
    )
    gates_next = forms.BooleanField(label=_("Failing it excludes from the next parts"), required=False)
    weight = DecimalInputField(
        label=_("Weight in the total"),
        initial=Decimal(1),
        min_value=Decimal(0),
        max_digits=5,
        decimal_places=2,
        error_messages={"min_value": _("A weight cannot be negative.")},
    )
    marking_mode = forms.ChoiceField(
        label=_("Marking mode"), choices=MarkingMode.choices, initial=MarkingMode.PANEL_BALLOT
    )
    appealable = forms.BooleanField(label=_("May be appealed"), required=False)

    def __init__(self, *args: Any, criteria: list[dict[str, Any]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.criteria = CriterionFormSet(
            self.data if self.is_bound else None, prefix=f"{self.prefix}-criteria", initial=criteria or []
        )

    def has_changed(self) -> bool:
        return super().has_changed() or self.criteria.has_changed()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        maximum, pass_mark = data.get("max_score"), data.get("pass_mark")
        if maximum is not None and pass_mark is not None and pass_mark > maximum:
            self.add_error(
                "pass_mark",
                _("The pass mark cannot exceed the maximum score (%(max)s).") % {"max": plain_number(maximum)},
            )
        return data

    def check_criteria(self) -> bool:
        """Valid criteria whose maxima add up to the part's maximum (when any criterion is given)."""
        if not self.criteria.is_valid():
            return False
        maxima = [form.cleaned_data["max_score"] for form in self.criteria if not form.is_blank]
        maximum = self.cleaned_data.get("max_score")
        if maxima and maximum is not None and sum(maxima) != maximum:
            self.add_error(
                None,
                _("The criteria's maxima add up to %(sum)s, not to the part's maximum score of %(max)s.")
                % {"sum": plain_number(sum(maxima)), "max": plain_number(maximum)},
            )
            return False
        return True

    def filled_criteria(self) -> list[dict[str, Any]]:
        return [form.cleaned_data for form in self.criteria if not form.is_blank]


class BasePartFormSet(forms.BaseFormSet):
    def __init__(self, *args: Any, criteria: list[list[dict[str, Any]]] | None = None, **kwargs: Any) -> None:
        self._criteria = criteria or []
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        kwargs = super().get_form_kwargs(index)
        if index is not None and index < len(self._criteria):
            kwargs["criteria"] = self._criteria[index]
        return kwargs

    def add_fields(self, form: forms.Form, index: int | None) -> None:
        super().add_fields(form, index)
        form.fields["DELETE"].label = _("Remove this part")
        if index is not None and index >= self.initial_form_count():
            form.fields["position"].initial = index + 1  # a new part goes last unless HR says otherwise

    def live_forms(self) -> list[PartForm]:
        """The parts that will be saved: neither deleted nor a blank extra row."""
        return [
            form
            for index, form in enumerate(self.forms)
            if not self._should_delete_form(form) and (index < self.initial_form_count() or form.has_changed())
        ]

    def clean(self) -> None:
        live = self.live_forms()
        if any(form.errors for form in live):  # a removed part's errors do not matter
            return
        if not live:
            raise forms.ValidationError(_("The rules need at least one part."))
        for field, message in (
            ("position", _("Two parts have the same order number.")),
            ("code", _("Two parts have the same code.")),
        ):
            seen: set[Any] = set()
            for form in live:
                value = form.cleaned_data[field]
                if value in seen:
                    form.add_error(field, message)
                seen.add(value)
        if all(form.cleaned_data["weight"] == 0 for form in live):
            raise forms.ValidationError(_("At least one part must have a weight above zero."))


PartFormSet = forms.formset_factory(
    PartForm, formset=BasePartFormSet, extra=1, can_delete=True, max_num=10, validate_max=True
)


class RulesEditor:
    """The whole draft on one page: settings, parts and their criteria. Nothing is written unless all is valid."""

    def __init__(self, data: Any, *, rules: ExamRules) -> None:
        self.rules = rules
        parts = list(rules.parts.prefetch_related("criteria"))
        self.form = RulesForm(data, initial=RulesForm.initial_for(rules))
        self.parts = PartFormSet(
            data,
            prefix="parts",
            initial=[{name: getattr(part, name) for name in PART_FIELDS} for part in parts],
            criteria=[[{"name": c.name, "max_score": c.max_score} for c in part.criteria.all()] for part in parts],
        )

    def is_valid(self) -> bool:
        settings_valid = self.form.is_valid()
        if not self.parts.is_valid():
            return False
        live = self.parts.live_forms()
        criteria_valid = all([form.check_criteria() for form in live])  # a list: every part shows its errors
        codes = {form.cleaned_data["code"] for form in live}
        decisive = self.form.cleaned_data.get("decisive_part")
        if decisive and decisive not in codes:
            self.form.add_error(
                "decisive_part",
                _("The decisive part must be one of the parts: %(codes)s.") % {"codes": ", ".join(sorted(codes))},
            )
        return settings_valid and criteria_valid and self.form.is_valid()

    @transaction.atomic
    def save(self, *, by: User) -> ExamRules:
        rules = ExamRules.objects.select_for_update().get(pk=self.rules.pk)
        if rules.status != ExamRules.Status.DRAFT:
            raise Refused(_("These rules are approved and frozen. Propose an amendment instead."), code="frozen")
        before = rules_snapshot(rules)
        for name in RULE_FIELDS:
            setattr(rules, name, self.form.cleaned_data[name])
        rules.save(update_fields=RULE_FIELDS)
        # A draft's parts are not referenced by anything yet: they are rewritten in the order given.
        rules.parts.all().delete()
        live = sorted(self.parts.live_forms(), key=lambda form: form.cleaned_data["position"])
        for position, form in enumerate(live, start=1):
            fields = {name: form.cleaned_data[name] for name in PART_FIELDS}
            part = ExamPart.objects.create(rules=rules, **{**fields, "position": position})
            RubricCriterion.objects.bulk_create(
                RubricCriterion(part=part, position=index, name=c["name"], max_score=c["max_score"])
                for index, c in enumerate(form.filled_criteria(), start=1)
            )
        rules.refresh_from_db()  # the audit records what is stored ("4.50"), not what was typed ("4,5")
        return record_rules_edit(rules=rules, by=by, before=before)


class AmendmentForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for the amendment"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Published with the new version once the chair approves it."),
    )


class ApprovalForm(forms.Form):
    fingerprint = forms.CharField(widget=forms.HiddenInput, max_length=64)


# --- Council and panels ------------------------------------------------------------------


def council_candidates() -> Any:
    return (
        User.objects.filter(is_active=True, groups__name__in=[Role.EXAMINER, Role.CHAIR])
        .distinct()
        .order_by("full_name", "email")
    )


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.get_full_name()} ({obj.email})"


class CouncilMemberForm(forms.Form):
    user = StaffChoiceField(label=_("Person"), queryset=User.objects.none())
    role = forms.ChoiceField(label=_("Role on the council"), choices=CouncilMember.Role.choices)

    def __init__(self, *args: Any, campaign: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.campaign = campaign
        self.fields["user"].queryset = council_candidates()
        self.fields["user"].help_text = _("Only people with the Examiner or Council chair role can sit on a council.")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        user, role = data.get("user"), data.get("role")
        if role == CouncilMember.Role.CHAIR and user is not None:
            other = CouncilMember.objects.filter(campaign=self.campaign, role=role).exclude(user=user).first()
            if other is not None:
                self.add_error(
                    "role",
                    _("The council already has a chair (%(name)s): make them a member first.")
                    % {"name": other.user.get_full_name()},
                )
        return data


class PersonForm(forms.Form):
    """Names one person in a removal (council seat or panel member)."""

    user = forms.ModelChoiceField(queryset=User.objects.all(), widget=forms.HiddenInput)


class PanelForm(forms.Form):
    name = forms.CharField(label=_("Name of the panel"), max_length=100)
    part_code = forms.ChoiceField(label=_("Part"))
    posts = forms.ModelMultipleChoiceField(
        label=_("Posts"),
        queryset=Post.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Optional: the posts whose candidates this panel examines."),
    )

    def __init__(self, *args: Any, campaign: Any, parts: list[ExamPart], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["part_code"].choices = [(part.code, f"{part.name} ({part.code})") for part in parts]
        self.fields["posts"].queryset = campaign.posts.order_by("title")

    def clean_name(self) -> str:
        return self.cleaned_data["name"].strip()


class PanelMemberForm(forms.Form):
    user = StaffChoiceField(
        label=_("Examiner"),
        queryset=User.objects.filter(is_active=True, groups__name=Role.EXAMINER).distinct().order_by("full_name"),
        help_text=_("Only people with the Examiner role can sit on a panel."),
    )


class AssignForm(forms.Form):
    posts = forms.ModelMultipleChoiceField(
        label=_("Posts"),
        queryset=Post.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one post.")},
    )

    def __init__(self, *args: Any, panel: Panel, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["posts"].queryset = panel.campaign.posts.order_by("title")
        if not self.is_bound:
            self.initial["posts"] = list(panel.posts.values_list("pk", flat=True))

    def applications(self) -> list[Application]:
        return list(
            Application.objects.filter(post__in=self.cleaned_data["posts"], status=Application.Status.ELIGIBLE)
            .select_related("post")
            .order_by("pk")
        )


class SeatForm(forms.Form):
    """Names one application of the panel, to take it out."""

    application = forms.UUIDField(widget=forms.HiddenInput)


class DeclarationFilterForm(forms.Form):
    panel = forms.ModelChoiceField(
        label=_("Panel"), queryset=Panel.objects.none(), required=False, empty_label=_("All panels")
    )

    def __init__(self, *args: Any, campaign: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["panel"].queryset = campaign.panels.order_by("part_code", "name")
