"""A campaign ready for marking, built through the real services (shared by the marking tests)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.auth.models import Group
from django.utils import timezone

from accounts.models import User
from candidates.models import Application
from exams import services as exam_services
from exams.models import Attendance, Campaign, ExamRules, ExamSession, Panel, Relation
from scoring import services
from scoring.models import Mark, Resolution, Script
from tests.candidates.builders import decided, submitted


@dataclass
class MarkingSetup:
    campaign: Campaign
    rules: ExamRules
    hr: User
    chair: User
    examiners: list[User]
    applications: list[Application]
    written_panel: Panel
    oral_panel: Panel
    extra: dict = field(default_factory=dict)


def staff(email: str, *roles: str, name: str = "") -> User:
    from allauth.mfa.totp.internal.auth import TOTP

    user = User.objects.create_user(email=email, full_name=name or email.split("@")[0], password="Correct-Horse-42")
    user.groups.set([Group.objects.get_or_create(name=r)[0] for r in roles])
    TOTP.activate(user, "JBSWY3DPEHPK3PXP")
    return user


def build_marking_setup(
    make_post, *, candidates: int = 4, examiners: int = 3, names: list[str] | None = None, declare: bool = True
) -> MarkingSetup:
    hr = staff("hr.marking@example.vn", "HR officer", name="Trần Thị Hà")
    chair = staff("chair.marking@example.vn", "Council chair", "Examiner", name="Nguyễn Văn Thanh")
    panel_examiners = [
        staff(f"examiner{i}.marking@example.vn", "Examiner", name=f"Giám khảo {i}") for i in range(1, examiners + 1)
    ]
    post = make_post(opens_in_days=-40, closes_in_days=-20)
    campaign = post.campaign
    campaign.status = Campaign.Status.DRAFT
    campaign.save()
    rules = exam_services.create_rules_draft(campaign=campaign, by=hr)
    rules = exam_services.approve_rules(rules=rules, by=chair)
    names = names or [f"Ứng Viên Số {i}" for i in range(1, candidates + 1)]
    applications = [decided(submitted(post, name), eligible=True, by=hr) for name in names]
    exam_services.set_council_member(campaign=campaign, user=chair, role="chair", by=hr)
    written = Panel.objects.create(campaign=campaign, part_code="written", name="Ban chấm thi viết")
    oral = Panel.objects.create(campaign=campaign, part_code="oral", name="Tiểu ban phỏng vấn")
    for examiner in panel_examiners:
        exam_services.add_panel_member(panel=written, user=examiner, by=hr)
        exam_services.add_panel_member(panel=oral, user=examiner, by=hr)
    exam_services.assign_to_panel(panel=written, applications=applications, by=hr)
    exam_services.assign_to_panel(panel=oral, applications=applications, by=hr)
    if declare:
        for examiner in panel_examiners:
            for application in applications:
                exam_services.declare_conflict(examiner=examiner, application=application, relation=Relation.NONE)
    session = ExamSession.objects.create(
        campaign=campaign, part_code="written", starts_at=timezone.now() - timedelta(days=1)
    )
    for application in applications:
        Attendance.objects.create(
            session=session, application=application, status=Attendance.Status.PRESENT, recorded_by=hr
        )
    return MarkingSetup(campaign, rules, hr, chair, panel_examiners, applications, written, oral)


def scripts_with_markers(setup: MarkingSetup, *, seed: str = "seed-1") -> None:
    services.create_scripts(campaign=setup.campaign, part_code="written", by=setup.hr)
    services.draw_markers(campaign=setup.campaign, part_code="written", by=setup.hr, seed=seed)


def markers_of(script: Script) -> list[User]:
    return [a.examiner for a in script.assignments.order_by("round")]


def mark(examiner: User, script: Script, value: str, *, submit: bool = True) -> Mark:
    """The examiner's mark of a script of the written part, through the marking service."""
    return services.save_mark(
        examiner=examiner,
        campaign=script.campaign,
        part_code="written",
        key=script.code,
        raw_value=value,
        submit=submit,
    )


def pending_chair(setup: MarkingSetup) -> Resolution:
    """The first script marked 60 and 67 (a spread of 7): its disagreement waits for the chair."""
    script = Script.objects.order_by("code").first()
    for examiner, value in zip(markers_of(script), ("60", "67"), strict=True):
        mark(examiner, script, value)
    return Resolution.objects.get(is_current=True)
