"""Demo organisations of Quảng Nam and a campaign with a few posts (idempotent)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from exams.models import Campaign, Organisation, Post

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


def seed_campaigns(orgs: dict[str, Organisation]) -> list[Campaign]:
    # Fixed dates keep the demo identical on every run; the window is relative
    # to today's year so that it is open whenever the demo is started.
    today = timezone.localdate()
    opens = datetime(today.year, today.month, 1, 8, 0, tzinfo=VN) - timedelta(days=30)
    closes = opens + timedelta(days=120)
    campaign, _ = Campaign.objects.update_or_create(
        title="Thi tuyển chức danh lãnh đạo, quản lý tỉnh Quảng Nam năm 2026",
        defaults={
            "authority": orgs["UBND tỉnh Quảng Nam"],
            "description": "Kỳ thi tuyển cạnh tranh các chức danh lãnh đạo cấp sở, cấp phòng và đơn vị sự nghiệp.",
            "status": Campaign.Status.ANNOUNCED,
            "announced_at": opens - timedelta(days=7),
            "min_candidates_per_post": 2,
        },
    )
    posts = (
        ("Sở Y tế", "Phó Giám đốc Sở Y tế", 1),
        ("Sở Nội vụ", "Phó Giám đốc Sở Nội vụ", 1),
        ("Bệnh viện Đa khoa tỉnh Quảng Nam", "Phó Giám đốc Bệnh viện Đa khoa tỉnh", 2),
        ("Phòng Nội vụ thành phố Tam Kỳ", "Trưởng phòng Nội vụ thành phố Tam Kỳ", 1),
    )
    for org_name, title, vacancies in posts:
        Post.objects.update_or_create(
            campaign=campaign,
            organisation=orgs[org_name],
            title=title,
            defaults={"vacancies": vacancies, "application_opens": opens, "application_closes": closes},
        )
    return [campaign]
