"""Demo of the fairness report: three oral panels that mark visibly differently (idempotent).

Panel A sits two lenient examiners, panel B two harsh ones and panel C one of each, so C links A and
B and the design is connected. Marks come from a fixed seed, are submitted and resolved, and a run
of the additive model is computed synchronously, so the report shows something real: the panels'
severities, flagged examiners, and a winner who changes once severity is removed.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.demo import CANDIDATE_NAMES, candidate_email, ensure_user
from accounts.models import User
from accounts.roles import Role
from candidates.models import Application, CandidateProfile
from candidates.services import snapshot_profile
from exams import services as exam_services
from exams.demo import organisation
from exams.models import Campaign, ConflictDeclaration, Organisation, Panel, Post, Relation
from scoring import rules as rule_maths
from scoring.fairness import create_run, run_normalisation
from scoring.models import Mark, NormalisationRun, Resolution

FAIRNESS_DEMO_TITLE = "Thi tuyển Phó Giám đốc Sở Giáo dục và Đào tạo năm 2026 (minh họa chuẩn hóa điểm)"
PART = "oral"
SEED = 2026
NOISE_SD = 2.0
PER_PANEL = 10
# Examiners' leniency (points added to each of their marks) and panel membership by examiner index,
# for three or four examiners: A ends up lenient, B harsh, C neutral.
DESIGNS: dict[int, tuple[tuple[float, ...], tuple[tuple[str, tuple[int, ...]], ...]]] = {
    3: ((6.0, 0.0, -6.0), (("Tiểu ban A", (0, 1)), ("Tiểu ban B", (1, 2)), ("Tiểu ban C", (0, 2)))),
    4: ((4.5, 3.5, -3.5, -4.5), (("Tiểu ban A", (0, 1)), ("Tiểu ban B", (2, 3)), ("Tiểu ban C", (1, 2)))),
}
CHAIR_REASON = "Hội đồng đã thảo luận và thống nhất lấy điểm trung bình của các thành viên."


@transaction.atomic
def seed_fairness_demo(*, hr: User, chair: User, examiners: Sequence[User]) -> NormalisationRun:
    """The demo campaign and its finished additive run; running it again changes nothing."""
    campaign = Campaign.objects.filter(title=FAIRNESS_DEMO_TITLE).first()
    if campaign is None:
        campaign = _build_campaign(hr=hr, chair=chair, raters=_raters(chair, examiners))
    run = (
        NormalisationRun.objects.filter(
            campaign=campaign,
            part_code=PART,
            method=NormalisationRun.Method.ADDITIVE,
            status=NormalisationRun.Status.DONE,
        )
        .order_by("-version")
        .first()
    )
    if run is None:
        run = create_run(campaign=campaign, part_code=PART, method=NormalisationRun.Method.ADDITIVE, by=hr)
        run_normalisation(run_id=run.pk)
        run.refresh_from_db()
    return run


def _raters(chair: User, examiners: Sequence[User]) -> list[User]:
    people = {u.pk: u for u in [*examiners, chair] if u.has_role(Role.EXAMINER)}
    raters = list(people.values())[:4]
    if len(raters) < 3:
        raise ValueError("The fairness demo needs at least three examiners (the chair counts if an examiner).")
    return raters


def _build_campaign(*, hr: User, chair: User, raters: list[User]) -> Campaign:
    province = organisation("UBND tỉnh Quảng Nam", Organisation.Kind.PROVINCE, None)
    department = organisation("Sở Giáo dục và Đào tạo", Organisation.Kind.DEPARTMENT, province)
    now = timezone.now()
    campaign = Campaign.objects.create(
        title=FAIRNESS_DEMO_TITLE,
        authority=province,
        description="Ba tiểu ban phỏng vấn chấm lệch nhau: minh họa báo cáo chuẩn hóa điểm.",
        created_by=hr,
    )
    rules = exam_services.create_rules_draft(campaign=campaign, by=hr)
    rules = exam_services.approve_rules(rules=rules, by=chair)
    post = Post.objects.create(
        campaign=campaign,
        organisation=department,
        title="Phó Giám đốc Sở Giáo dục và Đào tạo",
        vacancies=1,
        application_opens=now - timedelta(days=75),
        application_closes=now - timedelta(days=45),
        requires_plan_or_nomination=False,
    )
    campaign.status, campaign.announced_at = Campaign.Status.EXAM, now - timedelta(days=80)
    campaign.save(update_fields=["status", "announced_at"])
    exam_services.set_council_member(campaign=campaign, user=chair, role="chair", by=hr)
    applications = [_application(post, index, hr) for index in range(1, 3 * PER_PANEL + 1)]
    part = next(p for p in rules.parts.all() if p.code == PART)
    leniency, layout = DESIGNS[len(raters)]
    rng = random.Random(SEED)
    abilities = _abilities(rng, applications)
    for number, (name, members) in enumerate(layout):
        panel = Panel.objects.create(campaign=campaign, part_code=PART, name=name)
        panel.posts.add(post)
        seated = applications[number * PER_PANEL : (number + 1) * PER_PANEL]
        for index in members:
            exam_services.add_panel_member(panel=panel, user=raters[index], by=hr)
        exam_services.assign_to_panel(panel=panel, applications=seated, by=hr)
        for application in seated:
            marks = []
            for index in members:
                ConflictDeclaration.objects.create(
                    campaign=campaign, examiner=raters[index], application=application, relation=Relation.NONE
                )
                value = abilities[application.pk] + leniency[index] + rng.gauss(0, NOISE_SD)
                marks.append(_mark(panel, application, raters[index], value))
            _resolve(marks, rules.mean_max_spread, rules.escalate_min_spread, part.decimals, chair)
    return campaign


def _abilities(rng: random.Random, applications: Sequence[Application]) -> dict[int, float]:
    """True abilities: most between 55 and 76; the best of panel A (81) is behind the best of
    panel B (83.5), whose harsh examiners hide it on raw marks."""
    values = [min(76.0, rng.gauss(66, 6)) for _ in applications]
    values[0], values[PER_PANEL] = 81.0, 83.5
    return {a.pk: value for a, value in zip(applications, values, strict=True)}


def _application(post: Post, index: int, hr: User) -> Application:
    user = User.objects.filter(email=candidate_email(index)).first() or ensure_user(
        email=candidate_email(index), full_name=CANDIDATE_NAMES[index - 1], roles=(Role.CANDIDATE,)
    )
    profile = CandidateProfile.objects.filter(user=user).first()
    snapshot = snapshot_profile(profile, at=post.appointment_date) if profile else {"full_name": user.full_name}
    return Application.objects.create(
        candidate=user,
        post=post,
        status=Application.Status.ELIGIBLE,
        submitted_at=post.application_opens + timedelta(days=2, minutes=index),
        profile_snapshot=snapshot,
        auto_eligible=True,
        decided_by=hr,
        decided_at=post.application_closes + timedelta(days=3),
    )


def _mark(panel: Panel, application: Application, examiner: User, value: float) -> Mark:
    moment = timezone.now() - timedelta(days=2)
    return Mark.objects.create(
        campaign=panel.campaign,
        part_code=PART,
        application=application,
        panel=panel,
        examiner=examiner,
        value=Decimal(str(round(min(100.0, max(0.0, value)), 1))),
        status=Mark.Status.SUBMITTED,
        source="import",
        saved_at=moment,
        submitted_at=moment,
    )


def _resolve(marks: list[Mark], mean_max: Decimal, escalate_min: Decimal, decimals: int, chair: User) -> None:
    values = [m.value for m in marks if m.value is not None]
    outcome = rule_maths.resolve(values, mean_max=mean_max, escalate_min=escalate_min, decimals=decimals)
    decided = outcome.band != rule_maths.Band.MEAN
    Resolution.objects.create(
        campaign=marks[0].campaign,
        part_code=PART,
        application=marks[0].application,
        marks=[[str(m.public_id), str(m.value)] for m in marks],
        spread=outcome.spread,
        band=outcome.band,
        status=Resolution.Status.FINAL,
        value=rule_maths.mean_of(values, decimals),
        method="mean" if not decided else "chair" if outcome.band == rule_maths.Band.CHAIR else "council",
        reason=CHAIR_REASON if decided else "",
        decided_by=chair if decided else None,
        decided_at=timezone.now() - timedelta(days=1),
    )
