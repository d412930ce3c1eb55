"""Demo: a campaign marked end to end, its results published with certificates, and one appeal in progress.

Built through the real services (rules approved by the chair, blind double marking, reveal, oral ballot,
prepare → approve → publish), so every step is in the audit trail as it would be. Idempotent: the
campaign is found by its fixed title and left as it is once published.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from candidates import services as candidate_services
from candidates.models import Application
from exams import services as exam_services
from exams.models import Attendance, Campaign, ExamSession, Organisation, Panel, Post, Relation
from scoring import appeals, results, services
from scoring.models import Appeal, MarkerAssignment, ResultSet, Script

RESULTS_DEMO_TITLE = "Thi tuyển chức danh lãnh đạo, quản lý tỉnh Quảng Nam năm 2025 (đã công bố kết quả)"

# Post → candidates (index in the list given) → (written mark, oral mark); None: absent or not reached.
POSTS = (
    (
        "UBND thành phố Hội An",
        "Giám đốc Trung tâm Văn hóa - Thể thao thành phố Hội An",
        ((0, "78", "84"), (1, "71", "80"), (2, "45", None), (3, "66", "75")),
    ),
    (
        "Phòng Nội vụ thành phố Tam Kỳ",
        "Phó Trưởng phòng Nội vụ thành phố Tam Kỳ",
        ((4, "62", "79"), (5, None, None), (6, "58", "71")),
    ),
)
APPELLANT = 1  # appeals the written part; a re-marker is assigned, nothing decided yet


@transaction.atomic
def seed_results_demo(
    *,
    hr: User,
    chair: User,
    examiners: Sequence[User],
    candidates: Sequence[User],
    orgs: dict[str, Organisation] | None = None,
) -> Campaign:
    """`candidates`: the demo candidates; the seven from the 21st are used (the earlier ones are busy elsewhere)."""
    existing = Campaign.objects.filter(title=RESULTS_DEMO_TITLE).first()
    if existing is not None and results.current_published(existing) is not None:
        return existing
    people = list(candidates[20:27])
    if len(people) < 7 or len(examiners) < 3:
        raise ValueError("the results demo needs 7 candidates (from the 21st) and 3 examiners")
    campaign = _campaign(hr=hr, chair=chair, orgs=orgs or _orgs())
    applications = _applications(campaign, people, hr)
    _mark(campaign, applications, hr=hr, chair=chair, examiners=examiners)
    draft = results.prepare_results(campaign=campaign, by=hr)
    results.approve_results(result_set=draft, by=chair)
    published = results.publish_results(result_set=draft, by=hr)
    _generate_certificates(published)
    _appeal_in_progress(campaign, applications[APPELLANT], hr=hr, examiners=examiners)
    campaign.refresh_from_db()  # publication moved it to "results"
    return campaign


def _orgs() -> dict[str, Organisation]:
    from exams.demo import seed_organisations

    return seed_organisations()


def _campaign(*, hr: User, chair: User, orgs: dict[str, Organisation]) -> Campaign:
    now = timezone.now()
    campaign = Campaign.objects.create(
        title=RESULTS_DEMO_TITLE,
        authority=orgs["UBND tỉnh Quảng Nam"],
        description="Kỳ thi đã công bố kết quả: xem bảng xếp hạng, giấy chứng nhận và phúc khảo.",
        created_by=hr,
    )
    rules = exam_services.create_rules_draft(campaign=campaign, by=hr)
    exam_services.approve_rules(rules=rules, by=chair)
    for organisation, title, _rows in POSTS:
        Post.objects.create(
            campaign=campaign,
            organisation=orgs[organisation],
            title=title,
            vacancies=1,
            application_opens=now - timedelta(days=100),
            application_closes=now - timedelta(days=70),
            min_rating_years=None,
            eligible_list_published_at=now - timedelta(days=55),
            eligible_list_published_by=hr,
        )
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.EXAM, announced_at=now - timedelta(days=107))
    campaign.refresh_from_db()
    exam_services.set_council_member(campaign=campaign, user=chair, role="chair", by=hr)
    return campaign


def _applications(campaign: Campaign, people: list[User], hr: User) -> list[Application]:
    applications = []
    posts = {p.title: p for p in campaign.posts.all()}
    for _organisation, title, rows in POSTS:
        post = posts[title]
        for index, _written, _oral in rows:
            person = people[index]
            profile = getattr(person, "profile", None)
            snapshot = (
                candidate_services.snapshot_profile(profile, at=post.appointment_date)
                if profile is not None
                else {"full_name": person.full_name}
            )
            applications.append(
                Application.objects.create(
                    candidate=person,
                    post=post,
                    status=Application.Status.ELIGIBLE,
                    submitted_at=post.application_opens + timedelta(days=3 + index),
                    profile_snapshot=snapshot,
                    auto_eligible=True,
                    decided_by=hr,
                    decided_at=post.application_closes + timedelta(days=5),
                )
            )
    return applications


def _marks() -> dict[int, tuple[str | None, str | None]]:
    return {index: (written, oral) for _o, _t, rows in POSTS for index, written, oral in rows}


def _mark(
    campaign: Campaign, applications: list[Application], *, hr: User, chair: User, examiners: Sequence[User]
) -> None:
    marks = _marks()
    written = Panel.objects.create(campaign=campaign, part_code="written", name="Ban chấm thi viết")
    oral = Panel.objects.create(campaign=campaign, part_code="oral", name="Tiểu ban phỏng vấn")
    for panel in (written, oral):
        for examiner in examiners[:3]:
            exam_services.add_panel_member(panel=panel, user=examiner, by=hr)
        exam_services.assign_to_panel(panel=panel, applications=applications, by=hr)
    for examiner in examiners[:3]:
        for application in applications:
            exam_services.declare_conflict(examiner=examiner, application=application, relation=Relation.NONE)
    session = ExamSession.objects.create(
        campaign=campaign, part_code="written", starts_at=timezone.now() - timedelta(days=20)
    )
    for index, application in enumerate(applications):
        status = Attendance.Status.PRESENT if marks[index][0] is not None else Attendance.Status.ABSENT
        Attendance.objects.create(session=session, application=application, status=status, recorded_by=hr)
    services.create_scripts(campaign=campaign, part_code="written", by=hr)
    services.draw_markers(campaign=campaign, part_code="written", by=hr, seed="demo-results")
    index_of = {a.pk: i for i, a in enumerate(applications)}
    for script in Script.objects.filter(campaign=campaign):
        value = marks[index_of[script.application_id]][0]
        for round_number, assignment in enumerate(MarkerAssignment.objects.filter(script=script).order_by("round")):
            # Two markers a point apart: within the tolerance, the mean (x.5) is the official mark.
            services.save_mark(
                examiner=assignment.examiner,
                campaign=campaign,
                part_code="written",
                key=script.code,
                raw_value=str(int(value) + round_number),  # type: ignore[arg-type]
                submit=True,
            )
    reveal = services.request_reveal(campaign=campaign, part_code="written", by=hr)
    services.approve_reveal(reveal=reveal, by=chair)
    services.draw_oral_order(panel=oral, by=hr, seed="demo-results-oral")
    for slot in oral.oral_slots.all():
        value = marks[index_of[slot.application_id]][1]
        if value is None:
            continue
        for offset, examiner in zip((-1, 0, 1), examiners[:3], strict=True):
            services.save_mark(
                examiner=examiner,
                campaign=campaign,
                part_code="oral",
                key=str(slot.pk),
                raw_value=str(int(value) + offset),
                submit=True,
            )


def _generate_certificates(result_set: ResultSet) -> None:
    """Runs the queued batch's work now (the task body), so the demo has its PDFs without a worker."""
    batch = result_set.certificate_batches.order_by("-created_at").first()
    if batch is None:  # no signing key: publication stood, the certificates wait for HR's button
        return
    from scoring.certificates import run_batch

    run_batch(batch.pk)


def _appeal_in_progress(campaign: Campaign, application: Application, *, hr: User, examiners: Sequence[User]) -> Appeal:
    appeal = appeals.file_appeal(
        application=application,
        part_code="written",
        reason="Tôi cho rằng câu 3 của bài thi viết chưa được chấm đủ ý, đề nghị phúc khảo.",
        by=application.candidate,
    )
    remarker = next(e for e in examiners if e.pk not in appeals.original_markers(appeal))
    return appeals.assign_remarker(appeal=appeal, remarker=remarker, by=hr)
