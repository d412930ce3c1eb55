"""Demo candidates' profiles, applications and generated dossiers (idempotent)."""

from __future__ import annotations

import hashlib
import io
import random
from datetime import date, timedelta

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from accounts.models import User
from candidates import services
from candidates.models import (
    Application,
    CandidateProfile,
    Document,
    PerformanceRating,
    PriorityCategory,
    Rating,
    WorkHistory,
)
from config.pdf import BOLD, REGULAR, nfc, register_fonts
from exams.models import DocumentType, Post

ORGANISATIONS = (
    "Sở Y tế tỉnh Quảng Nam",
    "Bệnh viện Đa khoa tỉnh Quảng Nam",
    "Sở Nội vụ tỉnh Quảng Nam",
    "UBND thành phố Tam Kỳ",
    "Trung tâm Kiểm soát bệnh tật tỉnh",
    "Sở Tài chính tỉnh Quảng Nam",
)
POSITIONS = ("Trưởng phòng", "Phó Trưởng phòng", "Chuyên viên chính", "Phó Giám đốc Trung tâm", "Trưởng khoa")
FIELDS = ("Y đa khoa", "Quản lý công", "Luật", "Kinh tế", "Quản trị nhân lực", "Y tế công cộng")
INSTITUTIONS = ("Đại học Y Dược Huế", "Đại học Đà Nẵng", "Học viện Hành chính Quốc gia", "Đại học Luật Hà Nội")


def render_demo_document(*, title: str, name: str, lines: list[str]) -> bytes:
    register_fonts()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=True)
    canvas.setTitle(nfc(title))
    canvas.setFont(BOLD, 16)
    canvas.drawString(60, 780, nfc(title))
    canvas.setFont(REGULAR, 12)
    canvas.drawString(60, 750, nfc(f"Họ và tên: {name}"))
    for index, line in enumerate(lines):
        canvas.drawString(60, 720 - 20 * index, nfc(line))
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def citizen_id_for(index: int, born: date, female: bool) -> str:
    century_gender = (born.year // 100 - 19) * 2 + (1 if female else 0)
    return f"049{century_gender}{born.year % 100:02d}{100000 + index:06d}"


def ensure_profile(user: User, index: int) -> CandidateProfile:
    existing = CandidateProfile.objects.filter(user=user).first()
    if existing:
        return existing
    rng = random.Random(index)  # one seed per candidate: the same profile on every run
    female = "Thị" in user.full_name.split(" ")
    born = date(1972 + rng.randrange(0, 15), rng.randrange(1, 13), rng.randrange(1, 28))
    service_start = date(born.year + 23 + rng.randrange(0, 3), rng.randrange(1, 13), 1)
    profile = CandidateProfile.objects.create(
        user=user,
        full_name=user.full_name,
        date_of_birth=born,
        gender="female" if female else "male",
        citizen_id=citizen_id_for(index, born, female),
        ethnicity="Kinh" if index % 9 else "Cơ Tu",
        phone=f"0905{100000 + index * 137:06d}",
        address=f"{10 + index} Phan Chu Trinh, Tam Kỳ, Quảng Nam",
        degree_level=2 + (index % 3 == 0),
        degree_field=rng.choice(FIELDS),
        degree_institution=rng.choice(INSTITUTIONS),
        degree_year=service_start.year - 1,
        political_theory=3 if index % 7 else 2,
        state_management=2 if index % 5 else 1,
        language_level=4 if index % 4 else 3,
        service_start=service_start,
        current_organisation=rng.choice(ORGANISATIONS),
        current_position=rng.choice(POSITIONS),
        current_post_since=date(2018 + index % 5, 6, 1),
        in_succession_plan=index % 6 != 0,
        succession_plan_details="Quy hoạch chức danh Phó Giám đốc Sở giai đoạn 2026–2031" if index % 6 else "",
        nominated=index % 3 == 0,
        nomination_details="Ban Giám đốc Sở Y tế đề cử" if index % 3 == 0 else "",
        discipline_in_force=index == 13,
        discipline_details="Khiển trách năm 2025" if index == 13 else "",
        priority_category=PriorityCategory.NONE if index % 9 else PriorityCategory.POLICY,  # Cơ Tu: ethnic minority
        priority_details="" if index % 9 else "Giấy khai sinh ghi dân tộc Cơ Tu",
    )
    WorkHistory.objects.create(
        profile=profile,
        organisation=profile.current_organisation,
        position="Chuyên viên",
        start=service_start,
        end=date(2014 + index % 4, 12, 31),
        is_management=False,
    )
    WorkHistory.objects.create(
        profile=profile,
        organisation=profile.current_organisation,
        position=profile.current_position,
        start=date(2015 + index % 4, 1, 1),
        end=None,
        is_management=True,
    )
    this_year = timezone.localdate().year
    for offset in range(0, 4):
        rating = Rating.GOOD if (index + offset) % 8 else Rating.COMPLETED
        PerformanceRating.objects.create(profile=profile, year=this_year - offset, rating=rating)
    return profile


def attach_demo_dossier(application: Application) -> None:
    name = application.candidate.full_name
    for code in application.post.required_documents:
        label = str(dict(DocumentType.choices)[code])
        data = render_demo_document(
            title=label, name=name, lines=[f"Chức danh dự tuyển: {application.post.title}", "Tài liệu minh họa."]
        )
        document = Document(
            application=application,
            doc_type=code,
            original_name=f"{code}.pdf",
            content_type="application/pdf",
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
        )
        document.file.save("demo.pdf", ContentFile(data), save=False)
        document.save()


@transaction.atomic
def seed_applications(*, open_posts: list[Post], screening_posts: list[Post], hr: User) -> None:
    candidates = list(
        User.objects.filter(email__startswith="ungvien", email__endswith="@demo.hientai.vn").order_by("email")
    )
    profiles = [ensure_profile(user, index) for index, user in enumerate(candidates, start=1)]
    # Campaign open for applications: a few drafts and submissions.
    for index, profile in enumerate(profiles[:8]):
        post = open_posts[index % len(open_posts)]
        application, created = Application.objects.get_or_create(candidate=profile.user, post=post)
        if created:
            services.record_event(application=application, actor=profile.user)
            if index % 2 == 0:
                attach_demo_dossier(application)
                submit_as_of(application, profile.user, post.application_opens + timedelta(days=3 + index))
    # Campaign in screening: the window has closed, every application submitted, some decided.
    for index, profile in enumerate(profiles[8:], start=8):
        post = screening_posts[index % len(screening_posts)]
        application, created = Application.objects.get_or_create(candidate=profile.user, post=post)
        if not created:
            continue
        services.record_event(application=application, actor=profile.user)
        attach_demo_dossier(application)
        submit_as_of(application, profile.user, post.application_opens + timedelta(days=2 + index % 10))
        if index % 3 == 0:
            application.refresh_from_db()
            eligible = bool(application.auto_eligible)
            reason = "" if eligible else "Không đáp ứng tiêu chuẩn theo kết quả kiểm tra tự động, đã đối chiếu hồ sơ."
            services.decide_application(application=application, by=hr, eligible=eligible, reason=reason)


def submit_as_of(application: Application, candidate: User, moment: object) -> None:
    """Submits as the candidate did on that day (the demo's windows may already be closed)."""
    application.profile_snapshot = services.snapshot_profile(candidate.profile, at=application.post.appointment_date)
    application.status = Application.Status.SUBMITTED
    application.submitted_at = moment
    services.run_eligibility_check(application)
    application.save()
    event = services.record_event(application=application, actor=candidate)
    event.at = moment
    event.save(update_fields=["at"])
