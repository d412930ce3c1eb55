"""T4: nothing identifying reaches an examiner of a blind part, in any page, partial, export, message or log.

Distinctive names, e-mails, citizen ids, dossier file names and PDF metadata are seeded for the
candidates, a real dossier document is uploaded, then everything such an examiner can reach is
walked and scanned. Names may appear on the declarations page only (a member declares relations
by name); that page must in turn show no script code.
"""

from __future__ import annotations

import io
import logging
import re
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponseBase
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from reportlab.pdfgen.canvas import Canvas

from accounts.roles import Role
from candidates.models import Application, Document
from candidates.services import snapshot_profile
from exams import services as exam_services
from exams.models import Attendance, Campaign, DocumentType, ExamSession, Panel, Relation
from scoring import services
from scoring.models import MarkerAssignment, Script
from tests.candidates.builders import decided
from tests.scoring.builders import staff

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
HTMX = {**EN, "HTTP_HX_REQUEST": "true"}

CANDIDATES = [
    {
        "name": "Zyxwabc Quỳnh Như",
        "email": "zyxwabc.quynh@leaktest.vn",
        "citizen_id": "079188812345",
        "file": "ho-so-ZYXFILE-mat.pdf",
        "author": "Authorqqzx Phạm",
        "title": "Titleqqzx Sơ yếu",
    },
    {
        "name": "Vutsrpq Minh Khôi",
        "email": "vutsrpq.khoi@leaktest.vn",
        "citizen_id": "079188867890",
        "file": "VUTFILE-cv.pdf",
        "author": "Authorzzqw Lê",
        "title": "Titlezzqw Lý lịch",
    },
    {
        "name": "Tsrqpon Thị Lan",
        "email": "tsrqpon.lan@leaktest.vn",
        "citizen_id": "079188854321",
        "file": "TSRFILE hồ sơ.pdf",
        "author": "Authorxxyy Đỗ",
        "title": "Titlexxyy Đề án",
    },
]
NAME_TOKENS = [c["name"] for c in CANDIDATES] + ["Zyxwabc", "Vutsrpq", "Tsrqpon"]
SECRET_TOKENS = [
    token
    for c in CANDIDATES
    for token in (c["email"], c["email"].split("@")[0], c["citizen_id"], c["file"], c["author"], c["title"])
] + ["ZYXFILE", "VUTFILE", "TSRFILE", "Authorqqzx", "Titleqqzx", "Authorzzqw", "Titlezzqw", "Authorxxyy", "leaktest"]


def pdf_with_metadata(author: str, title: str) -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer)
    canvas.setAuthor(author)
    canvas.setTitle(title)
    canvas.setSubject(title)
    canvas.drawString(72, 720, f"{title} — {author}")
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


@pytest.fixture
def blind_setup(make_user, make_profile, make_post) -> dict[str, Any]:
    post = make_post()
    campaign = post.campaign
    hr = staff("hr.leak@example.vn", "HR officer", name="Trần Thị Hà")
    chair = staff("chair.leak@example.vn", "Council chair", name="Nguyễn Văn Thanh")
    applications = []
    for seed in CANDIDATES:
        user = make_user(seed["email"], Role.CANDIDATE, full_name=seed["name"])
        profile = make_profile(user, citizen_id=seed["citizen_id"])
        client = Client()
        client.force_login(user)
        client.post(reverse("application_start", args=[post.pk]))
        application = Application.objects.get(candidate=user)
        upload = SimpleUploadedFile(seed["file"], pdf_with_metadata(seed["author"], seed["title"]))
        response = client.post(
            reverse("document_upload", args=[application.public_id]),
            {"doc_type": DocumentType.PERSONAL_RECORD, "file": upload},
        )
        assert response.status_code in (200, 302)
        application.status = Application.Status.SUBMITTED
        application.submitted_at = timezone.now()
        application.profile_snapshot = snapshot_profile(profile, at=timezone.localdate())
        application.save()
        applications.append(decided(application, eligible=True, by=hr))
    assert Document.objects.count() == len(CANDIDATES)
    assert {d.original_name for d in Document.objects.all()} >= {"VUTFILE-cv.pdf"}
    campaign.status = Campaign.Status.DRAFT
    campaign.save()
    rules = exam_services.approve_rules(rules=exam_services.create_rules_draft(campaign=campaign, by=hr), by=chair)
    assert rules.parts.filter(code="written").exists()
    # The examiner under test sits on the blind part only; two colleagues also sit on the oral panel.
    blind_examiner = staff("blind.examiner@example.vn", "Examiner", name="Phạm Giám Khảo")
    colleagues = [staff(f"colleague{i}@example.vn", "Examiner", name=f"Giám khảo {i}") for i in (1, 2)]
    written = Panel.objects.create(campaign=campaign, part_code="written", name="Ban chấm thi viết")
    oral = Panel.objects.create(campaign=campaign, part_code="oral", name="Tiểu ban phỏng vấn")
    for examiner in [blind_examiner, *colleagues]:
        exam_services.add_panel_member(panel=written, user=examiner, by=hr)
    for examiner in colleagues:
        exam_services.add_panel_member(panel=oral, user=examiner, by=hr)
    exam_services.assign_to_panel(panel=written, applications=applications, by=hr)
    exam_services.assign_to_panel(panel=oral, applications=applications, by=hr)
    for examiner in colleagues:
        for application in applications:
            exam_services.declare_conflict(examiner=examiner, application=application, relation=Relation.NONE)
    session = ExamSession.objects.create(
        campaign=campaign, part_code="written", starts_at=timezone.now() - timedelta(days=1)
    )
    for application in applications:
        Attendance.objects.create(
            session=session, application=application, status=Attendance.Status.PRESENT, recorded_by=hr
        )
    return {
        "campaign": campaign,
        "post": post,
        "hr": hr,
        "examiner": blind_examiner,
        "colleagues": colleagues,
        "applications": applications,
    }


def body(response: HttpResponseBase) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


def test_no_identity_reaches_the_examiner_of_a_blind_part(blind_setup, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    campaign, examiner = blind_setup["campaign"], blind_setup["examiner"]
    client = Client()
    client.force_login(examiner)
    seen: list[tuple[str, str]] = []  # (what, text) of every response the examiner got

    def visit(what: str, response: HttpResponseBase) -> str:
        text = body(response)
        seen.append((what, text))
        return text

    # Before the draw: the workspace and the declarations, made through the page.
    visit("home", client.get(reverse("home"), **EN))
    visit("login page", Client().get(reverse("account_login"), **EN))
    visit("examiner home", client.get(reverse("examiner_home"), follow=True, **EN))
    visit("workspace", client.get(reverse("marking_workspace"), **EN))
    declarations_url = reverse("marking_declarations", args=[campaign.pk])
    declarations = visit("declarations", client.get(declarations_url, **EN))
    for seed in CANDIDATES:
        assert seed["name"] in declarations  # members declare by name: the eligible list is public
    for application in blind_setup["applications"]:
        prefix = f"d-{application.public_id}"
        response = client.post(
            reverse("marking_declare", args=[campaign.pk, application.public_id]),
            {f"{prefix}-relation": Relation.NONE},
            follow=True,
            **EN,
        )
        visit("declarations", response)

    services.create_scripts(campaign=campaign, part_code="written", by=blind_setup["hr"])
    services.draw_markers(campaign=campaign, part_code="written", by=blind_setup["hr"], seed="leak")
    mine = list(MarkerAssignment.objects.filter(examiner=examiner).select_related("script").order_by("script__code"))
    others = Script.objects.exclude(assignments__examiner=examiner)
    codes = set(Script.objects.values_list("code", flat=True))
    assert len(mine) >= 2

    grid = reverse("marking_part", args=[campaign.pk, "written"])
    save = [reverse("marking_save", args=[campaign.pk, "written", a.script.code]) for a in mine]
    visit("workspace", client.get(reverse("marking_workspace"), **EN))
    visit("grid", client.get(grid, **EN))
    visit("valid draft partial", client.post(save[0], {"value": "71,5"}, **HTMX))
    visit("invalid mark partial", client.post(save[0], {"value": "171"}, **HTMX))
    visit("not a number partial", client.post(save[0], {"value": "abc"}, **HTMX))
    visit("too many decimals", client.post(save[0], {"value": "7.25"}, **HTMX))
    visit("submit partial", client.post(save[0], {"value": "72", "submit": "1"}, **HTMX))
    visit("second submit (409)", client.post(save[0], {"value": "72", "submit": "1"}, **HTMX))
    visit("draft on the next script", client.post(save[1], {"value": "64"}, **HTMX))
    visit("submit without htmx", client.post(save[1], {"value": "64", "submit": "1"}, follow=True, **EN))
    for script in others:
        url = reverse("marking_save", args=[campaign.pk, "written", script.code])
        response = client.post(url, {"value": "70", "submit": "1"}, **HTMX)
        assert response.status_code == 404
        visit("stranger's script (404)", response)
    visit("unknown code (404)", client.post(save[0].replace(mine[0].script.code, "ZZZZZZZZ"), {"value": "1"}, **HTMX))
    visit(
        "submit all drafts",
        client.post(reverse("marking_submit_drafts", args=[campaign.pk, "written"]), follow=True, **EN),
    )
    visit("csv export", client.get(reverse("marking_export", args=[campaign.pk, "written"]), **EN))
    visit("grid after marking", client.get(grid, **EN))
    visit("oral part (not a member)", client.get(reverse("marking_part", args=[campaign.pk, "oral"]), **EN))
    visit("chair page (403)", client.get(reverse("chair_disagreements"), **EN))
    visit("hr desk (403)", client.get(reverse("hr_marking", args=[campaign.pk]), **EN))
    visit("campaign page", client.get(reverse("campaign_detail", args=[campaign.pk]), **EN))
    visit("post page", client.get(reverse("post_detail", args=[blind_setup["post"].pk]), **EN))
    document = Document.objects.first()
    visit("dossier (404)", client.get(reverse("document_download", args=[document.public_id]), **EN))
    visit("application (404)", client.get(f"/hr/applications/{document.application.public_id}/", **EN))

    assert len(seen) >= 25
    for what, text in seen:
        lowered = text.lower()
        for token in SECRET_TOKENS:
            assert token.lower() not in lowered, f"{token!r} leaked in {what}"
        if what != "declarations":
            for token in NAME_TOKENS:
                assert token.lower() not in lowered, f"the name {token!r} leaked in {what}"
        else:
            assert not any(re.search(rf"\b{code}\b", text) for code in codes), "a script code on the declarations page"
    logs = caplog.text.lower()
    for token in SECRET_TOKENS + NAME_TOKENS:
        assert token.lower() not in logs, f"{token!r} leaked in the log"
    grid_text = next(text for what, text in seen if what == "grid after marking")
    assert all(a.script.code in grid_text for a in mine)
