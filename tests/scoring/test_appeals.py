"""Appeals (phúc khảo): the window, what may be appealed, the blind re-mark, the outcome, the new version."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from audit.services import verify_chain
from config.errors import Refused
from exams.models import ConflictDeclaration, Relation
from scoring import appeals, results
from scoring.models import Appeal, Certificate, Mark, MarkerAssignment, Resolution, ResultSet, Script
from tests.conftest import client_for
from tests.scoring.builders import staff
from tests.scoring.test_results_support import (
    entry_of,
    generate_certificates,
    mark_campaign,
    publish,
    use_certificate_keys,
)

pytestmark = pytest.mark.django_db

AN, BINH = "Nguyễn Văn An", "Trần Thị Bình"


@pytest.fixture
def published(make_post, settings, tmp_path):
    use_certificate_keys(settings, tmp_path)
    setup = mark_campaign(make_post, {AN: ("70", "80"), BINH: ("72", "80")})
    result_set = publish(setup)
    generate_certificates(result_set)
    return setup, result_set


def file(setup, name: str = AN, part: str = "written", reason: str = "Tôi cho rằng bài thi bị chấm thấp"):
    application = setup.by_name[name]
    return appeals.file_appeal(application=application, part_code=part, reason=reason, by=application.candidate)


def code_of(refusal) -> str:
    return refusal.value.code


def remarker_for(setup, appeal: Appeal):
    """An examiner of the campaign who did not mark the script (the third of three), declared no conflict."""
    return next(e for e in setup.marking.examiners if e.pk not in appeals.original_markers(appeal))


# --- Filing ------------------------------------------------------------------------------------


def test_filing_inside_the_window_records_the_official_mark(published, mailoutbox) -> None:
    setup, result_set = published
    appeal = file(setup)
    assert appeal.status == "filed" and appeal.result_set == result_set
    assert appeal.original_value == Decimal("70")
    assert any("phúc khảo" in m.body or "appeal" in m.body.lower() for m in mailoutbox)


def test_filing_after_the_window_is_refused(published) -> None:
    setup, result_set = published
    ResultSet.objects.filter(pk=result_set.pk).update(published_at=timezone.now() - timedelta(days=15, minutes=1))
    with pytest.raises(Refused) as refused:
        file(setup)
    assert code_of(refused) == "window_closed"


def test_a_non_appealable_part_is_refused(published) -> None:
    setup, _ = published
    with pytest.raises(Refused) as refused:
        file(setup, part="oral")
    assert code_of(refused) == "not_appealable"


def test_a_second_appeal_of_the_same_part_is_refused(published) -> None:
    setup, _ = published
    file(setup)
    with pytest.raises(Refused) as refused:
        file(setup, reason="Lần nữa")
    assert code_of(refused) == "already_filed"
    assert Appeal.objects.count() == 1


def test_someone_elses_application_is_refused_and_answered_as_missing(published) -> None:
    setup, _ = published
    other = setup.by_name[BINH].candidate
    with pytest.raises(Refused) as refused:
        appeals.file_appeal(application=setup.by_name[AN], part_code="written", reason="x", by=other)
    assert code_of(refused) == "not_yours"
    client = client_for(other)
    url = reverse("appeal_file", args=[setup.by_name[AN].public_id])
    prefix = str(setup.by_name[AN].public_id)
    response = client.post(url, {f"{prefix}-part": "written", f"{prefix}-reason": "x"})
    assert response.status_code == 404
    assert not Appeal.objects.exists()


def test_an_unpublished_result_cannot_be_appealed(make_post) -> None:
    setup = mark_campaign(make_post, {AN: ("70", "80")})
    results.prepare_results(campaign=setup.campaign, by=setup.hr)
    with pytest.raises(Refused) as refused:
        file(setup)
    assert code_of(refused) == "not_published"


def test_the_candidate_files_through_the_page(published) -> None:
    setup, _ = published
    application = setup.by_name[AN]
    client = client_for(application.candidate)
    page = client.get(reverse("my_results"), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200 and b"File the appeal" in page.content
    prefix = str(application.public_id)
    response = client.post(
        reverse("appeal_file", args=[application.public_id]),
        {f"{prefix}-part": "written", f"{prefix}-reason": "Xin phúc khảo"},
        HTTP_ACCEPT_LANGUAGE="en",
        follow=True,
    )
    assert b"Your appeal is filed" in response.content
    again = client.post(
        reverse("appeal_file", args=[application.public_id]),
        {f"{prefix}-part": "written", f"{prefix}-reason": "Lần nữa"},
        HTTP_ACCEPT_LANGUAGE="en",
        follow=True,
    )
    assert b"Choose the part" in again.content or b"already appealed" in again.content
    assert Appeal.objects.count() == 1


# --- The re-marker ------------------------------------------------------------------------------


def test_an_original_marker_or_a_conflicted_examiner_cannot_re_mark(published) -> None:
    setup, _ = published
    appeal = file(setup)
    script = Script.objects.get(application=setup.by_name[AN])
    original = MarkerAssignment.objects.filter(script=script).first().examiner
    with pytest.raises(Refused) as refused:
        appeals.assign_remarker(appeal=appeal, remarker=original, by=setup.hr)
    assert code_of(refused) == "original_marker"
    outsider = staff("outsider@example.vn", "Examiner", name="Giám khảo Ngoài")
    ConflictDeclaration.objects.create(
        campaign=setup.campaign, examiner=outsider, application=setup.by_name[AN], relation=Relation.SIBLING
    )
    with pytest.raises(Refused) as refused:
        appeals.assign_remarker(appeal=appeal, remarker=outsider, by=setup.hr)
    assert code_of(refused) == "conflict"
    assert original not in appeals.possible_remarkers(appeal) and outsider not in appeals.possible_remarkers(appeal)
    with pytest.raises(Refused) as refused:
        appeals.assign_remarker(appeal=appeal, remarker=remarker_for(setup, appeal), by=setup.chair)
    assert code_of(refused) == "not_hr"


def test_the_appellant_hr_and_the_seated_chair_cannot_re_mark(published) -> None:
    setup, _ = published
    appeal = file(setup)
    appellant = setup.by_name[AN].candidate
    appellant.groups.add(Group.objects.get_or_create(name="Examiner")[0])  # a civil servant may be both
    hr_examiner = staff("hr.examiner@example.vn", "HR officer", "Examiner", name="Cán Bộ Hai Vai")
    seated_chair = setup.chair  # also an examiner, and the one who approves the outcome
    for person in (appellant, hr_examiner, seated_chair):
        assert person not in appeals.possible_remarkers(appeal)
        with pytest.raises(Refused) as refused:
            appeals.assign_remarker(appeal=appeal, remarker=person, by=setup.hr)
        assert code_of(refused) == "not_separate", person
    appeal.refresh_from_db()
    assert appeal.status == Appeal.Status.FILED and appeal.remarker is None


def test_a_re_marker_must_declare_before_re_marking_and_a_conflict_sends_it_back(published) -> None:
    setup, _ = published
    appeal = file(setup)
    outsider = staff("outsider@example.vn", "Examiner", name="Giám khảo Ngoài")
    appeals.assign_remarker(appeal=appeal, remarker=outsider, by=setup.hr)
    with pytest.raises(Refused) as refused:
        appeals.enter_remark(appeal=appeal, by=outsider, raw_value="75")
    assert code_of(refused) == "no_declaration"
    appeals.declare_for_remark(appeal=appeal, by=outsider, relation=Relation.SPOUSE)
    appeal.refresh_from_db()
    assert appeal.status == "filed" and appeal.remarker is None


def test_the_re_mark_page_is_blind(published) -> None:
    setup, _ = published
    appeal = file(setup)
    remarker = remarker_for(setup, appeal)
    appeals.assign_remarker(appeal=appeal, remarker=remarker, by=setup.hr)
    code = Script.objects.get(application=setup.by_name[AN]).code
    client = client_for(remarker)
    listing = client.get(reverse("remark_list"))
    page = client.get(reverse("remark_enter", args=[code]))
    for response in (listing, page):
        assert response.status_code == 200 and code.encode() in response.content
        for secret in (AN, setup.by_name[AN].candidate.email, str(setup.by_name[AN].public_id)):
            assert secret.encode() not in response.content
        # The official mark, as a number of its own (random tokens of the page may hold the digits "70").
        assert not re.search(rb"(?<![0-9A-Za-z])70(?![0-9A-Za-z])", response.content)
    # Any other key, or another examiner, is answered as missing.
    assert client.get(reverse("remark_enter", args=["ZZZZZZZZ"])).status_code == 404
    other = next(e for e in setup.marking.examiners if e != remarker)
    assert client_for(other).get(reverse("remark_enter", args=[code])).status_code == 404


# --- Outcome and the new version -------------------------------------------------------------------


def remark(setup, appeal: Appeal, value: str):
    remarker = remarker_for(setup, appeal)
    appeals.assign_remarker(appeal=appeal, remarker=remarker, by=setup.hr)
    if not appeals.has_declared_no_conflict(appeal, remarker):  # panel members declared before marking
        appeals.declare_for_remark(appeal=appeal, by=remarker, relation=Relation.NONE)
    return appeals.enter_remark(appeal=appeal, by=remarker, raw_value=value)


def test_a_re_mark_that_changes_the_mark_publishes_version_2(published, mailoutbox) -> None:
    setup, first = published
    assert entry_of(first, setup, BINH).outcome == "winner"
    old_certificates = set(Certificate.objects.values_list("pk", flat=True))
    appeal = remark(setup, file(setup), "75")  # spread 5 ≤ 5: the mean, 72.5
    original_marks = list(
        Mark.objects.filter(application=setup.by_name[AN], part_code="written").exclude(source="appeal")
    )
    appeal = appeals.decide_appeal(appeal=appeal, by=setup.hr)
    assert appeal.outcome_value == Decimal("72.5") and appeal.status == "decided"
    with pytest.raises(Refused) as refused:
        appeals.approve_appeal(appeal=appeal, by=setup.hr)
    assert code_of(refused) == "self_approval"
    mailoutbox.clear()
    approval = appeals.approve_appeal(appeal=appeal, by=setup.chair)
    assert approval.changed and approval.result_set is not None, approval.pending

    second = approval.result_set
    first.refresh_from_db()
    assert (first.version, first.status) == (1, "superseded") and first.superseded_at is not None
    assert (second.version, second.status) == (2, "published") and AN in second.reason
    assert second.prepared_by == setup.hr and second.approved_by == setup.chair
    # The raw marks are untouched; the re-mark sits beside them; a new resolution supersedes the old one.
    assert list(Mark.objects.filter(application=setup.by_name[AN], part_code="written").exclude(source="appeal")) == (
        original_marks
    )
    assert Mark.objects.get(source="appeal").value == Decimal("75")
    current = Resolution.objects.get(application=setup.by_name[AN], part_code="written", is_current=True)
    assert current.method == "appeal" and current.value == Decimal("72.5") and current.reason
    assert Resolution.objects.filter(application=setup.by_name[AN], part_code="written").count() == 2
    # The new ranking: An (72.5 + 80) / 2 = 76.3 now wins over Bình's 76.0.
    assert entry_of(second, setup, AN).part_marks["written"] == "72.5"
    assert (entry_of(second, setup, AN).outcome, entry_of(second, setup, BINH).outcome) == ("winner", "passed")
    assert entry_of(first, setup, AN).part_marks["written"] == "70.0"  # v1 still readable, unchanged
    assert results.snapshot_is_intact(first) and results.snapshot_is_intact(second)
    # Certificates of v1 superseded; v2's issued.
    assert set(Certificate.objects.filter(status="superseded").values_list("pk", flat=True)) == old_certificates
    generate_certificates(second)
    assert Certificate.objects.filter(entry__result_set=second, status="valid").count() == 2
    # The appellant is told.
    assert any(m.to == [setup.by_name[AN].candidate.email] and "72" in m.body for m in mailoutbox)
    assert verify_chain().ok


def test_the_old_version_stays_readable_and_marked_superseded(published) -> None:
    setup, first = published
    appeal = appeals.decide_appeal(appeal=remark(setup, file(setup), "75"), by=setup.hr)
    appeals.approve_appeal(appeal=appeal, by=setup.chair)
    client = client_for(setup.by_name[AN].candidate)
    old = client.get(reverse("results_post_version", args=[setup.post.pk, 1]), HTTP_ACCEPT_LANGUAGE="en")
    assert old.status_code == 200 and b'data-testid="superseded"' in old.content and b"70.0" in old.content
    current = client.get(reverse("results_post", args=[setup.post.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert b'data-version="2"' in current.content and b"72.5" in current.content
    assert reverse("results_post_version", args=[setup.post.pk, 1]).encode() in current.content


def test_outside_the_mean_band_hr_proposes_a_value_with_a_reason(published) -> None:
    setup, _ = published
    appeal = remark(setup, file(setup), "78")  # spread 8: the chair band
    assert appeals.proposal(appeal).value is None
    for value, reason, code in (("74", "", "reason_required"), ("79", "Sau trao đổi", "outside_marks")):
        with pytest.raises(Refused) as refused:
            appeals.decide_appeal(appeal=appeal, by=setup.hr, raw_value=value, reason=reason)
        assert code_of(refused) == code
    appeal = appeals.decide_appeal(appeal=appeal, by=setup.hr, raw_value="75", reason="Sau trao đổi với giám khảo")
    assert appeal.outcome_value == Decimal("75.0")
    approval = appeals.approve_appeal(appeal=appeal, by=setup.chair)
    assert approval.result_set.version == 2
    assert entry_of(approval.result_set, setup, AN).rank == 1  # (75 + 80) / 2 = 77.5 > 76.0


def test_an_unchanged_mark_publishes_no_new_version(published) -> None:
    setup, _ = published
    appeal = appeals.decide_appeal(appeal=remark(setup, file(setup), "70"), by=setup.hr)
    approval = appeals.approve_appeal(appeal=appeal, by=setup.chair)
    assert not approval.changed and approval.result_set is None
    assert list(ResultSet.objects.values_list("version", "status")) == [(1, "published")]


def test_the_appeals_desk_pages(published) -> None:
    setup, _ = published
    appeal = file(setup)
    hr = client_for(setup.hr)
    desk = hr.get(reverse("appeal_list", args=[setup.campaign.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert desk.status_code == 200 and b"Assign the re-marker" in desk.content
    remarker = remarker_for(setup, appeal)
    hr.post(reverse("appeal_assign", args=[appeal.public_id]), {"remarker": remarker.pk})
    appeal.refresh_from_db()
    assert appeal.remarker == remarker
    examiner = client_for(remarker)
    code = appeals.remark_key(appeal)
    examiner.post(reverse("remark_declare", args=[code]), {"relation": "none"})
    examiner.post(reverse("remark_enter", args=[code]), {"value": "75"})
    hr.post(reverse("appeal_decide", args=[appeal.public_id]), {"value": "", "reason": ""})
    chair = client_for(setup.chair)
    response = chair.post(reverse("appeal_approve", args=[appeal.public_id]), HTTP_ACCEPT_LANGUAGE="en", follow=True)
    assert b"version 2 of the results is published" in response.content
    assert (
        client_for(setup.by_name[AN].candidate).get(reverse("appeal_list", args=[setup.campaign.pk])).status_code == 403
    )
