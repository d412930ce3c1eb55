"""Submitted applications built straight with the ORM, for screening tests (no dossier upload)."""

from __future__ import annotations

from datetime import timedelta
from itertools import count
from typing import Any

from django.utils import timezone

from accounts.models import User
from candidates.models import Application, CriterionCheck
from candidates.services import run_eligibility_check
from exams.models import Post
from tests.conftest import PROFILE_DEFAULTS

_numbers = count(1)


def snapshot(full_name: str, **fields: Any) -> dict[str, Any]:
    """A profile snapshot as `submit_application` stores it, meeting the usual standards."""
    number = next(_numbers)
    return {
        **PROFILE_DEFAULTS,
        "full_name": full_name,
        "citizen_id": f"0490800{number:05d}",
        "succession_plan_details": "Phó Giám đốc Sở Y tế",
        "nomination_details": "",
        "discipline_details": "",
        "work_history": [
            {
                "organisation": "Bệnh viện Đa khoa tỉnh",
                "position": "Trưởng khoa",
                "start": "2018-01-01",
                "end": None,
                "is_management": True,
            }
        ],
        "management_months": 96,
        "ratings": {},
        **fields,
    }


def submitted(post: Post, full_name: str, *, email: str | None = None, **fields: Any) -> Application:
    """A submitted application whose criteria were checked as at submission."""
    number = next(_numbers)
    user = User.objects.create_user(email=email or f"candidate{number}@example.vn", full_name=full_name)
    application = Application.objects.create(
        candidate=user,
        post=post,
        status=Application.Status.SUBMITTED,
        submitted_at=timezone.now() - timedelta(days=2, minutes=number),
        profile_snapshot=snapshot(full_name, **fields),
    )
    run_eligibility_check(application)
    application.save()
    return application


def decided(application: Application, *, eligible: bool, reason: str = "", by: User | None = None) -> Application:
    application.status = Application.Status.ELIGIBLE if eligible else Application.Status.NOT_ELIGIBLE
    application.decision_reason = reason
    application.decided_by, application.decided_at = by, timezone.now()
    application.save()
    return application


def bulk_submitted(post: Post, total: int, *, eligible: bool = False, prefix: str = "bulk") -> None:
    """`total` submitted (or eligible) applications with two criteria each, in a few bulk inserts."""
    now = timezone.now()
    users = User.objects.bulk_create(
        [User(email=f"{prefix}{i}@example.vn", full_name=f"Ứng Viên {i}") for i in range(total)], batch_size=2000
    )
    status = Application.Status.ELIGIBLE if eligible else Application.Status.SUBMITTED
    applications = Application.objects.bulk_create(
        [
            Application(
                candidate=user,
                post=post,
                status=status,
                submitted_at=now - timedelta(seconds=i),
                decided_at=now if eligible else None,
                auto_eligible=i % 3 != 0,
                profile_snapshot={
                    "full_name": f"Nguyễn Văn {i:05d}",
                    "date_of_birth": "1980-05-17",
                    "gender": "male",
                    "citizen_id": f"049080{i:06d}",
                    "current_organisation": "Sở Y tế",
                    "current_position": "Trưởng phòng",
                },
            )
            for i, user in enumerate(users)
        ],
        batch_size=2000,
    )
    if eligible:
        return
    if applications[0].pk is None:  # backends that do not return ids from bulk_create
        applications = list(Application.objects.filter(post=post).order_by("id"))
    checks = []
    for application in applications:
        checks.append(
            CriterionCheck(
                application=application,
                code="degree",
                position=0,
                auto_passed=bool(application.auto_eligible),
                required="bachelor's degree",
                actual="master's degree" if application.auto_eligible else "college degree",
                reason="Meets the minimum level." if application.auto_eligible else "Below the minimum level.",
                params={"required_level": "bachelor", "actual_level": "master"},
            )
        )
        checks.append(
            CriterionCheck(
                application=application,
                code="years_service",
                position=1,
                auto_passed=True,
                required="{required_years} years",
                actual="{actual_years} years {actual_months} months",
                reason="Enough years.",
                params={"required_years": 5, "actual_years": 21, "actual_months": 3, "shortfall_months": 0},
            )
        )
    CriterionCheck.objects.bulk_create(checks, batch_size=5000)
