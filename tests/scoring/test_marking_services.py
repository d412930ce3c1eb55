"""The marking services end to end: scripts, draws, blind double marks, bands, reopen, reveal."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.models import User
from audit.models import AuditEvent
from audit.services import verify_chain
from config.errors import Refused
from exams import services as exam_services
from exams.models import Relation
from scoring import services
from scoring.models import Draw, Mark, MarkerAssignment, ReopenRequest, Resolution, Script
from tests.scoring.builders import build_marking_setup, mark, markers_of, scripts_with_markers, staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(make_post):
    return build_marking_setup(make_post)


def test_each_present_candidate_gets_one_script_with_a_random_code_and_two_markers(setup) -> None:
    scripts_with_markers(setup)
    scripts = list(Script.objects.all())
    assert len(scripts) == 4
    assert len({s.code for s in scripts}) == 4 and all(len(s.code) == 8 for s in scripts)
    for script in scripts:
        assert script.assignments.count() == 2
    draw = Draw.objects.get(kind=Draw.Kind.MARKERS)
    assert draw.seed == "seed-1"


def test_the_draw_is_reproducible_from_its_seed(make_post) -> None:
    setup = build_marking_setup(make_post)
    services.create_scripts(campaign=setup.campaign, part_code="written", by=setup.hr)
    services.draw_markers(campaign=setup.campaign, part_code="written", by=setup.hr, seed="fixed")
    first = sorted((a.script.application_id, a.examiner_id, a.round) for a in MarkerAssignment.objects.all())
    MarkerAssignment.objects.all().delete()
    services.draw_markers(campaign=setup.campaign, part_code="written", by=setup.hr, seed="fixed")
    again = sorted((a.script.application_id, a.examiner_id, a.round) for a in MarkerAssignment.objects.all())
    assert first == again


def test_a_declared_conflict_keeps_the_examiner_out_of_the_draw(make_post) -> None:
    setup = build_marking_setup(make_post, declare=False)
    conflicted, target = setup.examiners[0], setup.applications[0]
    for examiner in setup.examiners:
        for application in setup.applications:
            relation = Relation.SIBLING if (examiner, application) == (conflicted, target) else Relation.NONE
            exam_services.declare_conflict(examiner=examiner, application=application, relation=relation)
    services.create_scripts(campaign=setup.campaign, part_code="written", by=setup.hr)
    for seed in ("a", "b", "c", "d"):
        MarkerAssignment.objects.all().delete()
        services.draw_markers(campaign=setup.campaign, part_code="written", by=setup.hr, seed=seed)
        assert not MarkerAssignment.objects.filter(examiner=conflicted, script__application=target).exists()


def test_the_draw_waits_for_every_declaration(make_post) -> None:
    setup = build_marking_setup(make_post, declare=False)
    services.create_scripts(campaign=setup.campaign, part_code="written", by=setup.hr)
    with pytest.raises(Refused) as refused:
        services.draw_markers(campaign=setup.campaign, part_code="written", by=setup.hr)
    assert refused.value.code == "declarations_missing"


def test_marks_within_the_tolerance_resolve_to_the_mean(setup) -> None:
    scripts_with_markers(setup)
    script = Script.objects.first()
    first, second = markers_of(script)
    mark(first, script, "70")
    assert not Resolution.objects.exists()  # the second mark is still missing
    mark(second, script, "74,5")
    resolution = Resolution.objects.get(is_current=True)
    assert resolution.status == Resolution.Status.FINAL and resolution.value == Decimal("72.3")  # 72.25 half-up
    assert resolution.band == "mean"


def test_a_spread_between_the_bands_waits_for_the_chair_who_must_give_a_reason(setup) -> None:
    scripts_with_markers(setup)
    script = Script.objects.first()
    first, second = markers_of(script)
    mark(first, script, "60")
    mark(second, script, "67")
    pending = Resolution.objects.get(is_current=True)
    assert pending.status == Resolution.Status.PENDING_CHAIR
    with pytest.raises(Refused):
        services.decide_disagreement(resolution=pending, by=setup.chair, raw_value="63", reason="")
    with pytest.raises(Refused):
        services.decide_disagreement(resolution=pending, by=setup.chair, raw_value="70", reason="outside")
    final = services.decide_disagreement(resolution=pending, by=setup.chair, raw_value="63", reason="Sau trao đổi")
    assert final.value == Decimal("63.0") and final.status == "final"
    assert Resolution.objects.count() == 2  # the pending record stays, superseded
    assert Mark.objects.filter(script=script).count() == 2  # raw marks untouched


def test_a_large_spread_draws_a_third_marker_and_takes_the_closest_pair(setup) -> None:
    script, _low, third = escalated(setup)
    assert Resolution.objects.get(is_current=True).status == Resolution.Status.PENDING_THIRD
    assert third not in markers_of(script)[:2]
    mark(third, script, "66")
    final = Resolution.objects.get(is_current=True)
    assert final.status == "final" and final.value == Decimal("68.0") and final.method == "closest_pair_mean"


def test_a_third_marker_is_drawn_only_among_members_who_declared_about_every_candidate(make_post) -> None:
    """A member drawn before declaring could learn whose script it is, from which declaration unblocks it."""
    setup = build_marking_setup(make_post, candidates=2, examiners=2)
    scripts_with_markers(setup)
    script = Script.objects.order_by("code").first()
    complete, partial = (staff(f"late{i}.marking@example.vn", "Examiner") for i in (1, 2))
    for examiner in (complete, partial):
        exam_services.add_panel_member(panel=setup.written_panel, user=examiner, by=setup.hr)
    exam_services.declare_conflict(examiner=partial, application=script.application, relation=Relation.NONE)
    first, second = markers_of(script)
    mark(first, script, "50")
    with pytest.raises(Refused) as refused:
        mark(second, script, "70")  # spread 20: a third marker is needed, and no one may be drawn yet
    assert refused.value.code == "no_marker" and "ask HR to add one" in str(refused.value.message)
    assert not Mark.objects.filter(examiner=second).exists()  # nothing saved
    for application in setup.applications:
        exam_services.declare_conflict(examiner=complete, application=application, relation=Relation.NONE)
    mark(second, script, "70")
    assert MarkerAssignment.objects.get(script=script, round=3).examiner == complete  # never `partial`
    mark(complete, script, "66")
    assert Resolution.objects.get(is_current=True).value == Decimal("68.0")
    assert verify_chain().ok


def test_every_save_of_a_mark_is_in_the_audit_chain_drafts_included(setup) -> None:
    scripts_with_markers(setup)
    script = Script.objects.first()
    first, _second = markers_of(script)
    mark(first, script, "", submit=False)
    mark(first, script, "64", submit=False)
    mark(first, script, "66")
    events = list(AuditEvent.objects.filter(object_type="scoring.mark").order_by("seq"))
    assert [(e.action, e.after["value"]) for e in events] == [
        ("mark.draft", None),
        ("mark.draft", "64.0"),
        ("mark.submit", "66.0"),
    ]
    assert events[2].before == {"value": "64.00", "status": "draft"} and all(e.actor == first for e in events)
    assert verify_chain().ok


def test_bad_marks_and_strangers_are_refused_and_nothing_is_saved(setup) -> None:
    scripts_with_markers(setup)
    script = Script.objects.first()
    first, _second = markers_of(script)
    stranger = next(e for e in setup.examiners if e not in markers_of(script))
    for value, code in (("101", "out_of_range"), ("7.55", "too_many_decimals"), ("abc", "not_a_number")):
        with pytest.raises(Refused) as refused:
            mark(first, script, value)
        assert refused.value.code == code
    with pytest.raises(Refused) as refused:
        mark(stranger, script, "70")
    assert refused.value.code == "not_assigned"
    assert not Mark.objects.exists()


def test_a_submitted_mark_is_locked_and_a_second_submission_is_refused(setup) -> None:
    scripts_with_markers(setup)
    script = Script.objects.first()
    first, _ = markers_of(script)
    mark(first, script, "70")
    with pytest.raises(Refused) as refused:
        mark(first, script, "70")
    assert refused.value.code == "already_submitted"
    assert Mark.objects.get().value == Decimal("70")


def test_reopen_needs_a_second_person_and_keeps_the_old_mark(setup) -> None:
    scripts_with_markers(setup)
    script = Script.objects.first()
    first, _ = markers_of(script)
    original = mark(first, script, "70")
    request = services.request_reopen(mark=original, by=setup.chair, reason="Cộng sai điểm thành phần")
    with pytest.raises(Refused) as refused:
        services.approve_reopen(request=request, by=setup.chair)
    assert refused.value.code == "self_approval"
    with pytest.raises(Refused) as refused:
        services.approve_reopen(request=request, by=setup.hr)  # not a chair
    assert refused.value.code == "not_chair"
    second_chair = staff("chair2.marking@example.vn", "Council chair")
    new = services.approve_reopen(request=request, by=second_chair)
    assert new.status == "draft" and new.supersedes == original
    original.refresh_from_db()
    assert not original.is_current and original.value == Decimal("70")
    mark(first, script, "72")
    assert Mark.objects.filter(script=script, examiner=first).count() == 2


def reopen(examiner_mark: Mark, chair) -> None:
    approver = User.objects.filter(email="chair2.marking@example.vn").first()
    request = services.request_reopen(mark=examiner_mark, by=chair, reason="Cộng sai điểm thành phần")
    services.approve_reopen(request=request, by=approver or staff("chair2.marking@example.vn", "Council chair"))


def escalated(setup) -> tuple[Script, Mark, User]:
    """A script marked 50 and 70 (spread 20): its first mark, and the third marker drawn for it."""
    scripts_with_markers(setup)
    script = Script.objects.first()
    first, second = markers_of(script)
    low = mark(first, script, "50")
    mark(second, script, "70")
    return script, low, MarkerAssignment.objects.get(script=script, round=3).examiner


def test_a_reopened_mark_of_a_third_marked_script_is_decided_again_by_the_two_closest(setup) -> None:
    script, low, third = escalated(setup)
    first = low.examiner
    mark(third, script, "66")
    assert Resolution.objects.get(is_current=True).value == Decimal("68.0")
    reopen(low, setup.chair)
    mark(first, script, "52")  # the three marks still spread 18: no fourth marker, the two closest decide
    final = Resolution.objects.get(is_current=True)
    assert (final.status, final.method, final.value) == ("final", "closest_pair_mean", Decimal("68.0"))
    assert MarkerAssignment.objects.filter(script=script).count() == 3
    reopen(Mark.objects.get(script=script, examiner=first, is_current=True), setup.chair)
    mark(first, script, "69")  # 66, 69, 70: the two closest are now 69 and 70
    final = Resolution.objects.get(is_current=True)
    assert (final.method, final.value) == ("closest_pair_mean", Decimal("69.5"))
    assert verify_chain().ok


def test_a_reopening_before_the_third_mark_leaves_the_script_waiting_for_it(setup) -> None:
    script, low, third = escalated(setup)
    reopen(low, setup.chair)
    mark(low.examiner, script, "55")
    assert not Resolution.objects.filter(is_current=True).exists()  # waiting for the third marker
    mark(third, script, "66")
    final = Resolution.objects.get(is_current=True)
    assert (final.method, final.value) == ("closest_pair_mean", Decimal("68.0"))


def test_reveal_waits_for_complete_marking_and_needs_two_people(setup) -> None:
    scripts_with_markers(setup)
    with pytest.raises(Refused) as refused:
        services.request_reveal(campaign=setup.campaign, part_code="written", by=setup.hr)
    assert refused.value.code == "not_complete"
    for script in Script.objects.all():
        a, b = markers_of(script)
        mark(a, script, "70")
        mark(b, script, "72")
    reveal = services.request_reveal(campaign=setup.campaign, part_code="written", by=setup.hr)
    with pytest.raises(Refused) as refused:
        services.approve_reveal(reveal=reveal, by=setup.hr)
    assert refused.value.code == "self_approval"
    services.approve_reveal(reveal=reveal, by=setup.chair)
    assert services.is_revealed(setup.campaign, "written")
    assert verify_chain().ok


def test_no_mark_is_reopened_once_identities_are_revealed_nor_revealed_while_a_reopening_waits(setup) -> None:
    scripts_with_markers(setup)
    for script in Script.objects.all():
        a, b = markers_of(script)
        mark(a, script, "70")
        mark(b, script, "72")
    one = Mark.objects.filter(part_code="written").order_by("pk").first()
    request = services.request_reopen(mark=one, by=setup.chair, reason="Cộng sai điểm")
    with pytest.raises(Refused) as refused:
        services.request_reveal(campaign=setup.campaign, part_code="written", by=setup.hr)
    assert refused.value.code == "reopen_pending"
    request.delete()  # withdrawn, for the rest of the test
    reveal = services.request_reveal(campaign=setup.campaign, part_code="written", by=setup.hr)
    late = services.request_reopen(mark=one, by=setup.chair, reason="Cộng sai điểm")  # after the request
    with pytest.raises(Refused) as refused:
        services.approve_reveal(reveal=reveal, by=setup.chair)
    assert refused.value.code == "reopen_pending"
    late.delete()
    services.approve_reveal(reveal=reveal, by=setup.chair)
    with pytest.raises(Refused) as refused:
        services.request_reopen(mark=one, by=setup.chair, reason="Cộng sai điểm")
    assert refused.value.code == "revealed"
    events = AuditEvent.objects.count()
    with pytest.raises(Refused) as refused:
        services.approve_reopen(
            request=ReopenRequest.objects.create(mark=one, reason="cũ", requested_by=setup.chair), by=setup.hr
        )  # a request left from before the reveal
    assert refused.value.code == "revealed"
    one.refresh_from_db()
    assert one.is_current and one.status == Mark.Status.SUBMITTED and AuditEvent.objects.count() == events


def test_oral_ballot_is_the_mean_once_every_member_has_voted(setup) -> None:
    draw = services.draw_oral_order(panel=setup.oral_panel, by=setup.hr, seed="order")
    slot = setup.oral_panel.oral_slots.first()
    values = ["80", "82", "84"]
    for examiner, value in zip(setup.examiners, values, strict=True):
        services.save_mark(
            examiner=examiner, campaign=setup.campaign, part_code="oral", key=str(slot.pk), raw_value=value, submit=True
        )
    resolution = Resolution.objects.get(part_code="oral", is_current=True)
    assert resolution.value == Decimal("82.0") and resolution.status == "final"
    assert draw.result["order"] == [s.application_id for s in setup.oral_panel.oral_slots.order_by("position")]


def test_an_oral_key_that_is_not_a_slot_of_the_examiners_panel_is_not_assigned(setup) -> None:
    services.draw_oral_order(panel=setup.oral_panel, by=setup.hr, seed="order")
    slot = setup.oral_panel.oral_slots.first()
    outsider = setup.hr  # on no panel
    attempts = [(setup.examiners[0], key) for key in ("abc", "²", "9" * 19, "-1", str(slot.pk + 10_000))]
    for examiner, key in [*attempts, (outsider, str(slot.pk))]:
        with pytest.raises(Refused) as refused:
            services.save_mark(
                examiner=examiner, campaign=setup.campaign, part_code="oral", key=key, raw_value="80", submit=True
            )
        assert refused.value.code == "not_assigned", key
    assert not Mark.objects.exists()


def test_rules_are_approved_by_another_person_and_then_frozen(make_post, hr_officer, chair) -> None:
    post = make_post(status="draft")
    rules = exam_services.create_rules_draft(campaign=post.campaign, by=chair)
    with pytest.raises(Refused) as refused:
        exam_services.approve_rules(rules=rules, by=chair)
    assert refused.value.code == "self_approval"
    rules.delete()
    rules = exam_services.create_rules_draft(campaign=post.campaign, by=hr_officer)
    exam_services.approve_rules(rules=rules, by=chair)
    with pytest.raises(Refused) as refused:
        exam_services.record_rules_edit(rules=rules, by=hr_officer, before=None)
    assert refused.value.code == "frozen"
    with pytest.raises(Refused):
        exam_services.create_rules_draft(campaign=post.campaign, by=hr_officer)  # an amendment needs a reason
    amendment = exam_services.create_rules_draft(campaign=post.campaign, by=hr_officer, reason="Sửa trọng số")
    assert amendment.version == 2 and amendment.parts.count() == 2


def test_a_chair_who_edited_the_draft_cannot_approve_it(make_post, hr_officer) -> None:
    post = make_post(status="draft")
    both = staff("both.rules@example.vn", "HR officer", "Council chair")
    rules = exam_services.create_rules_draft(campaign=post.campaign, by=hr_officer)
    before = exam_services.rules_snapshot(rules)
    rules.mean_max_spread = Decimal("4")
    rules.save()
    exam_services.record_rules_edit(rules=rules, by=both, before=before)  # the second pair of eyes wrote too
    with pytest.raises(Refused) as refused:
        exam_services.approve_rules(rules=rules, by=both)
    assert refused.value.code == "self_approval"
    rules.refresh_from_db()
    assert rules.status == "draft"


def test_an_amendment_approved_during_marking_applies_to_the_next_mark_at_once(setup) -> None:
    """The process keeps approved rules between requests; a newly approved version must still win at once."""
    scripts_with_markers(setup)
    first_script, second_script = Script.objects.order_by("code")[:2]
    examiner = markers_of(first_script)[0]
    mark(examiner, first_script, "80", submit=False)  # reads (and keeps) version 1: written out of 100
    draft = exam_services.create_rules_draft(campaign=setup.campaign, by=setup.hr, reason="Thang điểm 60")
    draft.parts.filter(code="written").update(max_score=Decimal("60"))
    exam_services.approve_rules(rules=draft, by=setup.chair)
    second_examiner = markers_of(second_script)[0]
    with pytest.raises(Refused) as refused:
        mark(second_examiner, second_script, "80", submit=False)
    assert refused.value.code == "out_of_range"
    assert mark(second_examiner, second_script, "60", submit=False).value == Decimal("60")


def test_rules_kept_by_the_process_are_never_taken_for_another_version(setup) -> None:
    first = exam_services.rules_in_force(setup.campaign)
    assert exam_services.rules_in_force(setup.campaign) is first  # kept: no second load
    draft = exam_services.create_rules_draft(campaign=setup.campaign, by=setup.hr, reason="Sửa đổi")
    amended = exam_services.approve_rules(rules=draft, by=setup.chair)
    in_force = exam_services.rules_in_force(setup.campaign)
    assert in_force is not None and in_force.pk == amended.pk != first.pk
    assert [p.code for p in in_force.parts.all()] == [p.code for p in first.parts.all()]


def test_a_mark_created_meanwhile_by_another_window_is_refused_and_nothing_is_written(setup, monkeypatch) -> None:
    """The race the unique constraint settles, made certain: another window inserts between read and write."""
    scripts_with_markers(setup)
    script = Script.objects.first()
    examiner = markers_of(script)[0]
    read_candidate_marks = services._candidate_marks

    def another_window_wins(application_id, part_code):  # type: ignore[no-untyped-def]
        found = read_candidate_marks(application_id, part_code)
        Mark.objects.create(
            campaign=script.campaign,
            part_code=part_code,
            application_id=application_id,
            script=script,
            panel=script.panel,
            examiner=examiner,
            value=Decimal("61"),
        )
        return found

    monkeypatch.setattr(services, "_candidate_marks", another_window_wins)
    events = AuditEvent.objects.count()
    with pytest.raises(Refused) as refused:
        mark(examiner, script, "70")
    assert refused.value.code == "concurrent_save"
    assert not Mark.objects.exists()  # the whole write was undone, the other window's row with it (same transaction)
    assert AuditEvent.objects.count() == events
