"""Demo organisations of Quảng Nam and a campaign with a few posts (idempotent)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from accounts.models import User
from exams.models import Campaign, Organisation, Post
from exams.services import approve_rules, create_rules_draft, current_rules

VN = ZoneInfo("Asia/Ho_Chi_Minh")

DEPARTMENTS = ("Sở Y tế", "Sở Nội vụ", "Sở Giáo dục và Đào tạo", "Sở Tài chính", "Sở Xây dựng")
DISTRICTS = ("UBND thành phố Tam Kỳ", "UBND thành phố Hội An")


def organisation(name: str, kind: str, parent: Organisation | None) -> Organisation:
    org, _ = Organisation.objects.update_or_create(name=name, parent=parent, defaults={"kind": kind})
    return org


def seed_organisations() -> dict[str, Organisation]:
    province = organisation("UBND tỉnh Quảng Nam", Organisation.Kind.PROVINCE, None)
    orgs = {province.name: province}
    for name in DEPARTMENTS:
        orgs[name] = organisation(name, Organisation.Kind.DEPARTMENT, province)
    for name in DISTRICTS:
        orgs[name] = organisation(name, Organisation.Kind.DISTRICT, province)
    orgs["Bệnh viện Đa khoa tỉnh Quảng Nam"] = organisation(
        "Bệnh viện Đa khoa tỉnh Quảng Nam", Organisation.Kind.UNIT, orgs["Sở Y tế"]
    )
    orgs["Phòng Nội vụ thành phố Tam Kỳ"] = organisation(
        "Phòng Nội vụ thành phố Tam Kỳ", Organisation.Kind.DIVISION, orgs["UBND thành phố Tam Kỳ"]
    )
    return orgs


STANDARDS = {
    "min_degree": 2,
    "min_political_theory": 3,
    "min_state_management": 2,
    "min_language": 3,
    "min_years_service": 5,
    "min_years_in_current_post": 2,
    "min_years_management": 2,
    "requires_plan_or_nomination": True,
    "requires_no_discipline": True,
    "min_rating_years": 3,
    "full_term_years": 5,
    "standards_text": (
        "Tốt nghiệp đại học trở lên; cao cấp lý luận chính trị; chương trình chuyên viên chính; "
        "ngoại ngữ bậc 3 (B1) trở lên; có ít nhất 5 năm công tác, 2 năm giữ chức vụ hiện tại; "
        "trong quy hoạch hoặc được đề cử; 3 năm liền kề hoàn thành tốt nhiệm vụ trở lên; "
        "đủ tuổi công tác trọn một nhiệm kỳ 5 năm."
    ),
}


PostSpec = tuple[Organisation, str, int]


def ensure_rules(campaign: Campaign, *, hr: User, chair: User) -> None:
    """Rules written by HR and approved by the chair, as the life cycle requires before announcing."""
    if current_rules(campaign) is None:
        draft = campaign.rule_versions.filter(status="draft").first() or create_rules_draft(campaign=campaign, by=hr)
        approve_rules(rules=draft, by=chair)


def ensure_campaign(
    *,
    title: str,
    authority: Organisation,
    status: str,
    opens: datetime,
    posts: tuple[PostSpec, ...],
    hr: User,
    chair: User,
) -> tuple[Campaign, list[Post]]:
    closes = opens + timedelta(days=30)
    campaign, _ = Campaign.objects.update_or_create(
        title=title,
        defaults={
            "authority": authority,
            "description": "Kỳ thi tuyển cạnh tranh các chức danh lãnh đạo cấp sở, cấp phòng và đơn vị sự nghiệp.",
            "status": status,
            "announced_at": opens - timedelta(days=7),
            "min_candidates_per_post": 2,
            "written_exam_date": (closes + timedelta(days=30)).date(),
            "oral_exam_date": (closes + timedelta(days=40)).date(),
            "results_date": (closes + timedelta(days=45)).date(),
        },
    )
    ensure_rules(campaign, hr=hr, chair=chair)
    result = []
    for organisation, post_title, vacancies in posts:
        post, _ = Post.objects.update_or_create(
            campaign=campaign,
            organisation=organisation,
            title=post_title,
            defaults={
                "vacancies": vacancies,
                "application_opens": opens,
                "application_closes": closes,
                "planned_appointment_date": (closes + timedelta(days=60)).date(),
                **STANDARDS,
            },
        )
        result.append(post)
    return campaign, result


def seed_campaigns(orgs: dict[str, Organisation], *, hr: User, chair: User) -> dict[str, list[Post]]:
    # Windows are anchored to the first day of the current month, so the demo stays the same on
    # every run within a month and the "open" campaign is open whenever the demo is started.
    today = timezone.localdate()
    month_start = datetime(today.year, today.month, 1, 8, 0, tzinfo=VN)
    _, open_posts = ensure_campaign(
        title="Thi tuyển chức danh lãnh đạo, quản lý tỉnh Quảng Nam năm 2026 (đợt 2)",
        authority=orgs["UBND tỉnh Quảng Nam"],
        status=Campaign.Status.ANNOUNCED,
        opens=month_start - timedelta(days=10),
        posts=(
            (orgs["Sở Y tế"], "Phó Giám đốc Sở Y tế", 1),
            (orgs["Sở Nội vụ"], "Phó Giám đốc Sở Nội vụ", 1),
            (orgs["Bệnh viện Đa khoa tỉnh Quảng Nam"], "Phó Giám đốc Bệnh viện Đa khoa tỉnh", 2),
        ),
        hr=hr,
        chair=chair,
    )
    _, screening_posts = ensure_campaign(
        title="Thi tuyển chức danh lãnh đạo, quản lý tỉnh Quảng Nam năm 2026 (đợt 1)",
        authority=orgs["UBND tỉnh Quảng Nam"],
        status=Campaign.Status.SCREENING,
        opens=month_start - timedelta(days=75),
        posts=(
            (orgs["Sở Tài chính"], "Phó Giám đốc Sở Tài chính", 1),
            (orgs["Phòng Nội vụ thành phố Tam Kỳ"], "Trưởng phòng Nội vụ thành phố Tam Kỳ", 1),
        ),
        hr=hr,
        chair=chair,
    )
    return {"open": open_posts, "screening": screening_posts}
