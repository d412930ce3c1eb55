"""Builders shared by the results and appeals tests: a campaign marked end to end through the real services.

Every written mark is entered by the two drawn markers (the same value, so the mean is that value),
every oral mark by the three panel members; identities are revealed by HR and the chair. No test here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.contrib.auth.models import Group
from django.utils import timezone

from accounts.models import User
from candidates.models import Application
from exams.models import Attendance, Campaign, ExamSession, Post
from scoring import results, services
from scoring.models import MarkerAssignment, ResultEntry, ResultSet, Script
from tests.scoring.builders import MarkingSetup, build_marking_setup, staff

Marks = dict[str, tuple[str | None, str | None]]  # name → (written, oral); None: no mark


@dataclass
class ResultsSetup:
    marking: MarkingSetup
    by_name: dict[str, Application]

    @property
    def campaign(self) -> Campaign:
        return self.marking.campaign

    @property
    def hr(self) -> User:
        return self.marking.hr

    @property
    def chair(self) -> User:
        return self.marking.chair

    @property
    def post(self) -> Post:
        return self.marking.applications[0].post


def mark_campaign(
    make_post,
    marks: Marks,
    *,
    vacancies: int = 1,
    absent_written: tuple[str, ...] = (),
    absent_oral: tuple[str, ...] = (),
    priority: dict[str, int] | None = None,
    reveal: bool = True,
    oral: bool = True,
) -> ResultsSetup:
    setup = build_marking_setup(make_post, names=list(marks))
    by_name = {a.profile_snapshot["full_name"]: a for a in setup.applications}
    Campaign.objects.filter(pk=setup.campaign.pk).update(status=Campaign.Status.EXAM)  # the builder left it a draft
    setup.campaign.refresh_from_db()
    candidates = Group.objects.get_or_create(name="Candidate")[0]
    for application in setup.applications:
        application.candidate.groups.add(candidates)
    post = setup.applications[0].post
    if post.vacancies != vacancies:
        post.vacancies = vacancies
        post.save()
    for name, value in (priority or {}).items():
        application = by_name[name]
        application.profile_snapshot = {**application.profile_snapshot, "priority": value}
        application.priority_accepted = True  # HR found the proof in the dossier
        application.save(update_fields=["profile_snapshot", "priority_accepted"])
    Attendance.objects.filter(application__in=[by_name[n] for n in absent_written]).update(
        status=Attendance.Status.ABSENT
    )
    services.create_scripts(campaign=setup.campaign, part_code="written", by=setup.hr)
    services.draw_markers(campaign=setup.campaign, part_code="written", by=setup.hr, seed="results")
    for script in Script.objects.filter(campaign=setup.campaign).select_related("application"):
        written = marks[script.application.profile_snapshot["full_name"]][0]
        if written is None:
            continue
        for assignment in MarkerAssignment.objects.filter(script=script).order_by("round"):
            services.save_mark(
                examiner=assignment.examiner,
                campaign=setup.campaign,
                part_code="written",
                key=script.code,
                raw_value=written,
                submit=True,
            )
    if reveal:
        request = services.request_reveal(campaign=setup.campaign, part_code="written", by=setup.hr)
        services.approve_reveal(reveal=request, by=setup.chair)
    if absent_oral:
        session = ExamSession.objects.create(
            campaign=setup.campaign, part_code="oral", starts_at=timezone.now() - timedelta(hours=2)
        )
        for name in absent_oral:
            Attendance.objects.create(
                session=session, application=by_name[name], status=Attendance.Status.ABSENT, recorded_by=setup.hr
            )
    if oral:
        services.draw_oral_order(panel=setup.oral_panel, by=setup.hr, seed="order")
        for slot in setup.oral_panel.oral_slots.select_related("application"):
            value = marks[slot.application.profile_snapshot["full_name"]][1]
            if value is None:
                continue
            for examiner in setup.examiners:
                services.save_mark(
                    examiner=examiner,
                    campaign=setup.campaign,
                    part_code="oral",
                    key=str(slot.pk),
                    raw_value=value,
                    submit=True,
                )
    return ResultsSetup(setup, by_name)


def publish(setup: ResultsSetup) -> ResultSet:
    draft = results.prepare_results(campaign=setup.campaign, by=setup.hr)
    approved = results.approve_results(result_set=draft, by=setup.chair)
    return results.publish_results(result_set=approved, by=setup.hr)


def entry_of(result_set: ResultSet, setup: ResultsSetup, name: str) -> ResultEntry:
    return result_set.entries.get(application=setup.by_name[name])


def hr_and_chair_in_one(email: str = "both@example.vn") -> User:
    return staff(email, "HR officer", "Council chair", name="Người Hai Vai")


def use_certificate_keys(settings, tmp_path: Path) -> None:
    """A signing key for the certificates issued on publication (none is configured in tests), and a
    scratch media directory for their PDFs."""
    from scoring.certificates import new_key_pair

    private, _public = new_key_pair()
    settings.CERT_SIGNING_KEY, settings.CERT_KEY_ID = private, "test-results"
    settings.MEDIA_ROOT = tmp_path / "media"


def generate_certificates(result_set: ResultSet) -> None:
    """What the background batch does, run here synchronously."""
    from scoring.certificates import generate_certificate

    for entry in result_set.entries.all():
        generate_certificate(entry)
