from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """Roles are Django groups; the value is the group's name (created by a data migration)."""

    CANDIDATE = "Candidate", _("Candidate")
    HR = "HR officer", _("HR officer")
    CHAIR = "Council chair", _("Council chair")
    EXAMINER = "Examiner", _("Examiner")
    SUPERVISOR = "Supervisor", _("Supervisor")


STAFF_ROLES = frozenset({Role.HR, Role.CHAIR, Role.EXAMINER, Role.SUPERVISOR})
