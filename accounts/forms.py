from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _

from accounts.models import User, normalise_name
from accounts.roles import STAFF_ROLES, Role


class SignupForm(forms.Form):
    """Extra fields of allauth's sign-up form (ACCOUNT_SIGNUP_FORM_CLASS)."""

    full_name = forms.CharField(label=_("Full name"), max_length=150)

    field_order = ["full_name", "email", "password1", "password2"]

    def clean_full_name(self) -> str:
        name = normalise_name(self.cleaned_data["full_name"])
        if len(name) < 2:
            raise forms.ValidationError(_("Enter your full name."))
        return name

    def signup(self, request: object, user: User) -> None:
        # The adapter already saved the name; nothing else to do here.
        pass


STAFF_ROLE_CHOICES = [(role.value, role.label) for role in Role if role in STAFF_ROLES]


def grantable_roles(user: User) -> frozenset[Role]:
    """The roles a user may give by invitation. HR invites examiners; the roles that check HR's work (the
    council chair, the supervisors, another HR officer for four eyes) are given by an administrator."""
    if user.is_superuser:
        return STAFF_ROLES
    return frozenset({Role.EXAMINER}) if user.has_role(Role.HR) else frozenset()


class StaffInviteForm(forms.Form):
    full_name = forms.CharField(label=_("Full name"), max_length=150)
    email = forms.EmailField(label=_("E-mail address"))
    roles = forms.MultipleChoiceField(label=_("Roles"), choices=STAFF_ROLE_CHOICES, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, inviter: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allowed = grantable_roles(inviter)
        self.fields["roles"].choices = [(value, label) for value, label in STAFF_ROLE_CHOICES if value in allowed]
        if allowed != STAFF_ROLES:
            self.fields["roles"].help_text = _(
                "Council chairs, supervisors and HR officers are appointed by an administrator: "
                "HR never chooses the people who check its work."
            )

    def clean_full_name(self) -> str:
        return normalise_name(self.cleaned_data["full_name"])

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(_("An account with this e-mail address already exists."))
        return email

    def clean_roles(self) -> list[Group]:
        return list(Group.objects.filter(name__in=self.cleaned_data["roles"]))
