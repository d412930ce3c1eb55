"""Demo of marking (idempotent): a campaign half-marked with one disagreement in each band, and one
whose written part is revealed and oral part complete. Everything goes through the real services, so
the audit trail, the draws and the resolutions are what a real council would produce.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from accounts.models import User
from candidates import services as candidate_services
from candidates.demo import attach_demo_dossier, submit_as_of
from candidates.models import Application
from exams import services as exam_services
from exams.demo import STANDARDS, ensure_rules
from exams.exam_day_demo import seed_exam_day
from exams.models import Campaign, ConflictDeclaration, Organisation, Panel, Post, Relation
from scoring import services
from scoring.models import Mark, MarkerAssignment, Script

VN = ZoneInfo("Asia/Ho_Chi_Minh")

# Marks of the first scripts (by code order): within 5 → the mean; 7 apart → the chair; 12 apart → a third marker.
HALF_MARKED = [("71", "74.5"), ("58", "65"), ("52", "64"), ("80", None)]


def _campaign(
    *, title: str, post_title: str, organisation: Organisation, hr: User, chair: User
) -> tuple[Campaign, Post]:
    month_start = timezone.localdate().replace(day=1)
    opens = datetime(month_start.year, month_start.month, 1, 8, tzinfo=VN) - timedelta(days=120)
    campaign, _ = Campaign.objects.get_or_create(
        title=title,
        defaults={
            "authority": organisation.parent or organisation,
            "description": "Kỳ thi minh họa giai đoạn chấm thi.",
            "status": Campaign.Status.DRAFT,
        },
    )
    ensure_rules(campaign, hr=hr, chair=chair)
    post, _ = Post.objects.get_or_create(
        campaign=campaign,
        organisation=organisation,
        title=post_title,
        defaults={
            "vacancies": 1,
            "application_opens": opens,
            "application_closes": opens + timedelta(days=30),
            "planned_appointment_date": (opens + timedelta(days=150)).date(),
            **{**STANDARDS, "min_rating_years": None},
        },
    )
    if campaign.status == Campaign.Status.DRAFT:
        campaign.status, campaign.announced_at = Campaign.Status.EXAM, opens - timedelta(days=7)
        campaign.save(update_fields=["status", "announced_at"])
    return campaign, post


def _eligible_list(post: Post, candidates: Sequence[User], hr: User) -> list[Application]:
    for user in candidates:
        application, created = Application.objects.get_or_create(candidate=user, post=post)
        if created:
            candidate_services.record_event(application=application, actor=user)
            attach_demo_dossier(application)
            submit_as_of(application, user, post.application_opens + timedelta(days=5))
            # The demo's candidates are chosen to qualify: HR confirms every criterion.
            for check in application.criteria.filter(auto_passed=False):
                candidate_services.review_criterion(
                    check=check, by=hr, passed=True, reason="Đã đối chiếu hồ sơ gốc: đạt tiêu chuẩn."
                )
            candidate_services.decide_application(application=application, by=hr, eligible=True, reason="")
    if not post.eligible_list_published_at:
        candidate_services.publish_eligible_list(post=post, by=hr)
    return list(post.applications.filter(status=Application.Status.ELIGIBLE))


def _council(
    campaign: Campaign, applications: list[Application], *, hr: User, chair: User, examiners: Sequence[User]
) -> None:
    exam_services.set_council_member(campaign=campaign, user=chair, role="chair", by=hr)
    for part_code, name in (("written", "Ban chấm thi viết"), ("oral", "Tiểu ban phỏng vấn")):
        panel, _ = Panel.objects.get_or_create(campaign=campaign, part_code=part_code, name=name)
        if not panel.marks.exists():
            for examiner in examiners:
                exam_services.add_panel_member(panel=panel, user=examiner, by=hr)
        exam_services.assign_to_panel(panel=panel, applications=applications, by=hr)
        for examiner in examiners:
            for application in applications:
                if not ConflictDeclaration.objects.filter(examiner=examiner, application=application).exists():
                    exam_services.declare_conflict(examiner=examiner, application=application, relation=Relation.NONE)


def _scripts(campaign: Campaign, hr: User) -> list[Script]:
    if not Script.objects.filter(campaign=campaign).exists():
        services.create_scripts(campaign=campaign, part_code="written", by=hr)
    if not MarkerAssignment.objects.filter(script__campaign=campaign).exists():
        services.draw_markers(campaign=campaign, part_code="written", by=hr, seed=f"demo-{campaign.pk}")
    return list(Script.objects.filter(campaign=campaign).order_by("code"))


def _mark(script: Script, round_number: int, value: str) -> None:
    examiner = script.assignments.get(round=round_number).examiner
    if not Mark.objects.filter(script=script, examiner=examiner, status=Mark.Status.SUBMITTED).exists():
        services.save_mark(
            examiner=examiner,
            campaign=script.campaign,
            part_code="written",
            key=script.code,
            raw_value=value,
            submit=True,
        )


def seed_marking_demo(
    *, hr: User, chair: User, examiners: Sequence[User], room_staff: Sequence[User], candidates: Sequence[User]
) -> dict[str, Campaign]:
    department = Organisation.objects.get(name="Sở Xây dựng")
    transport = Organisation.objects.get(name="Sở Tài chính")
    # 1. In marking: the written part half-marked, one disagreement in each band.
    marking, post = _campaign(
        title="Thi tuyển chức danh Phó Giám đốc Sở Xây dựng năm 2026 (đang chấm thi)",
        post_title="Phó Giám đốc Sở Xây dựng",
        organisation=department,
        hr=hr,
        chair=chair,
    )
    applications = _eligible_list(post, candidates[:8], hr)
    _council(marking, applications, hr=hr, chair=chair, examiners=examiners)
    seed_exam_day(campaign=marking, hr=hr, staff_users=room_staff)
    for script, (first, second) in zip(_scripts(marking, hr), HALF_MARKED, strict=False):
        _mark(script, 1, first)
        if second is not None:
            _mark(script, 2, second)
    # 2. Oral part complete: the written part fully marked and revealed, every member has voted.
    complete, post = _campaign(
        title="Thi tuyển chức danh Phó Giám đốc Sở Tài chính năm 2026 (đã thi vấn đáp)",
        post_title="Phó Giám đốc Sở Tài chính (vòng 2)",
        organisation=transport,
        hr=hr,
        chair=chair,
    )
    applications = _eligible_list(post, candidates[8:13], hr)
    _council(complete, applications, hr=hr, chair=chair, examiners=examiners)
    seed_exam_day(campaign=complete, hr=hr, staff_users=room_staff, written_in_days=-20, oral_in_days=-10)
    for index, script in enumerate(_scripts(complete, hr)):
        _mark(script, 1, str(62 + 3 * index))
        _mark(script, 2, str(64 + 3 * index))
    if not services.is_revealed(complete, "written"):
        reveal = complete.reveals.filter(part_code="written").first() or services.request_reveal(
            campaign=complete, part_code="written", by=hr
        )
        services.approve_reveal(reveal=reveal, by=chair)
    panel = complete.panels.get(part_code="oral")
    if not panel.oral_slots.exists():
        services.draw_oral_order(panel=panel, by=hr, seed=f"demo-oral-{complete.pk}")
    passed_written = set(services.final_marks(complete, "written"))
    for slot in panel.oral_slots.all():
        if slot.application_id not in passed_written:
            continue
        for offset, examiner in enumerate(examiners):
            if not Mark.objects.filter(
                application=slot.application, part_code="oral", examiner=examiner, status=Mark.Status.SUBMITTED
            ).exists():
                services.save_mark(
                    examiner=examiner, campaign=complete, part_code="oral", key=str(slot.pk),
                    raw_value=str(70 + slot.position + offset), submit=True,
                )  # fmt: skip
    return {"marking": marking, "oral_complete": complete}
