from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.roles import Role

# One entry per role: a user with several roles sees each of them.
ROLE_HOMES: dict[Role, tuple[str, Any]] = {
    Role.CANDIDATE: ("candidate_home", _("My applications")),
    Role.HR: ("hr_home", _("HR office")),
    Role.CHAIR: ("chair_home", _("Council chair")),
    Role.EXAMINER: ("examiner_home", _("Marking")),
    Role.SUPERVISOR: ("supervisor_home", _("Supervision")),
}


def role_links(user: Any) -> list[dict[str, Any]]:
    if not user.is_authenticated:
        return []
    return [
        {"role": role, "url": reverse(url_name), "label": label}
        for role, (url_name, label) in ROLE_HOMES.items()
        if user.has_role(role)
    ]


def navigation(request: HttpRequest) -> dict[str, Any]:
    return {"role_links": role_links(request.user)}
