from __future__ import annotations

from collections.abc import Iterable

from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress
from allauth.account.utils import user_pk_to_url_str
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.forms import grantable_roles
from accounts.models import User, normalise_name
from accounts.notifications import notify
from audit.services import record
from config.errors import Refused


def build_password_setup_url(user: User) -> str:
    key = f"{user_pk_to_url_str(user)}-{default_token_generator.make_token(user)}"
    path = reverse("account_reset_password_from_key", kwargs={"uidb36": "UID", "key": "KEY"})
    return settings.SITE_URL + path.replace("UID-KEY", key)


@transaction.atomic
def invite_staff(*, invited_by: User, email: str, full_name: str, roles: Iterable[Group]) -> User:
    """Creates a staff account with no password and e-mails a link to choose one.

    The address is marked verified because only its owner can use the link; MFA
    setup is then forced at the first login by StaffMFARequiredMiddleware.
    """
    roles = list(roles)
    allowed = {role.value for role in grantable_roles(invited_by)}
    if not roles or any(group.name not in allowed for group in roles):
        raise Refused(_("You may not give this role."), code="role_not_grantable")
    user = User.objects.create_user(email=email, full_name=normalise_name(full_name))
    user.groups.set(roles)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    record(actor=invited_by, action="staff.invite", obj=user, after={"roles": sorted(g.name for g in roles)})
    notify(
        user=user,
        template="accounts/email/staff_invite",
        context={
            "invited_by": invited_by,
            "setup_url": build_password_setup_url(user),
            "roles": [group.name for group in roles],
        },
    )
    return user
