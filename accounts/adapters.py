from __future__ import annotations

import base64
import hashlib
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from cryptography.fernet import Fernet
from django.conf import settings
from django.contrib.auth.models import Group
from django.http import HttpRequest

from accounts.models import User, normalise_name
from accounts.roles import Role


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request: HttpRequest, user: User, form: Any, commit: bool = True) -> User:
        user = super().save_user(request, user, form, commit=False)
        user.full_name = normalise_name(form.cleaned_data.get("full_name", ""))
        if commit:
            user.save()
            # Self-service sign-ups are always candidates; staff are invited by HR.
            user.groups.add(Group.objects.get_or_create(name=Role.CANDIDATE)[0])
        return user


def _fernet() -> Fernet:
    digest = hashlib.sha256(("hientai-mfa:" + settings.MFA_ENCRYPTION_KEY).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


class MFAAdapter(DefaultMFAAdapter):
    def encrypt(self, text: str) -> str:
        # TOTP secrets are as sensitive as passwords: never store them in the clear.
        return _fernet().encrypt(text.encode()).decode()

    def decrypt(self, encrypted_text: str) -> str:
        return _fernet().decrypt(encrypted_text.encode()).decode()

    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        user: User = authenticator.user  # type: ignore[assignment]
        if user.is_staff_member and authenticator.type == Authenticator.Type.TOTP:
            return False
        return super().can_delete_authenticator(authenticator)
