"""Property-based checks of scoring.normalisation (hypothesis, no database)."""

from __future__ import annotations

from collections.abc import Callable

import krippendorff
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoring import normalisation as nm
from scoring.normalisation import DisconnectedDesignError

PROPERTY = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

Design = tuple[list[str], list[str], list[float]]


@st.composite
def connected_designs(draw: st.DrawFn, prefix: str = "") -> Design:
    """Candidates x raters with every rater linked: candidate i always gets
    rater i mod R and rater (i + 1) mod R (a rotation), plus random extras."""
    n_rater = draw(st.integers(1, 5))
    n_cand = draw(st.integers(max(2, n_rater), 10))
    mark = st.floats(0, 100, allow_nan=False, allow_infinity=False)
    cands: list[str] = []
    raters: list[str] = []
    scores: list[float] = []
    for i in range(n_cand):
        chosen = sorted({i % n_rater, (i + 1) % n_rater})
        chosen += draw(st.lists(st.integers(0, n_rater - 1), max_size=2))
        for j in chosen:
            cands.append(f"{prefix}c{i}")
            raters.append(f"{prefix}r{j}")
            scores.append(draw(mark))
    return cands, raters, scores


def close(a: dict, b: dict, tol: float = 1e-8) -> bool:
    # NaN only appears, by contract, as an SE of a saturated design.
    return a.keys() == b.keys() and all(abs(a[k] - b[k]) <= tol or (np.isnan(a[k]) and np.isnan(b[k])) for k in a)


@PROPERTY
@given(design=connected_designs(), data=st.data())
def test_permuting_the_marks_changes_nothing(design: Design, data: st.DataObject) -> None:
    cands, raters, scores = design
    order = data.draw(st.permutations(range(len(scores))))
    fit = nm.fit_additive(cands, raters, scores)
    shuffled = nm.fit_additive([cands[i] for i in order], [raters[i] for i in order], [scores[i] for i in order])
    assert close(fit.ability, shuffled.ability)
    assert close(fit.leniency, shuffled.leniency)
    assert close(fit.ability_se, shuffled.ability_se)
    assert close(fit.leniency_se, shuffled.leniency_se)
    assert set(fit.components) == set(shuffled.components)


@PROPERTY
@given(design=connected_designs(), data=st.data(), shift=st.floats(-30, 30))
def test_a_constant_added_to_one_rater_moves_only_that_rater(design: Design, data: st.DataObject, shift: float) -> None:
    cands, raters, scores = design
    target = data.draw(st.sampled_from(sorted(set(raters))))
    moved = [s + shift if r == target else s for r, s in zip(raters, scores, strict=True)]
    before = nm.fit_additive(cands, raters, scores)
    after = nm.fit_additive(cands, raters, moved)
    for other in before.leniency:
        if other == target:
            continue
        gap_before = before.leniency[target] - before.leniency[other]
        gap_after = after.leniency[target] - after.leniency[other]
        assert gap_after - gap_before == pytest.approx(shift, abs=1e-8)
    ids = sorted(before.ability, key=str)
    for a, b in zip(ids, ids[1:], strict=False):
        diff_before = before.ability[a] - before.ability[b]
        diff_after = after.ability[a] - after.ability[b]
        assert diff_after == pytest.approx(diff_before, abs=1e-8)


@PROPERTY
@given(parts=st.integers(1, 4).flatmap(lambda k: st.tuples(*[connected_designs(prefix=f"p{i}") for i in range(k)])))
def test_disconnected_designs_report_components_and_refuse_ranking(parts: tuple[Design, ...]) -> None:
    cands = [c for part in parts for c in part[0]]
    raters = [r for part in parts for r in part[1]]
    scores = [s for part in parts for s in part[2]]
    fit = nm.fit_additive(cands, raters, scores)
    assert len(fit.components) == len(parts)
    assert {comp for comp in fit.components} == {(frozenset(p[0]), frozenset(p[1])) for p in parts}
    for comp_cands, comp_raters in fit.components:
        assert abs(sum(fit.leniency[r] for r in comp_raters)) < 1e-8
        assert comp_cands  # never an empty side
    if len(parts) == 1:
        ranked = nm.rank_abilities(fit)
        assert {x.candidate for x in ranked} == set(cands)
        # Best first; abilities equal to 9 decimals are ties sharing a rank.
        for above, below in zip(ranked, ranked[1:], strict=False):
            assert above.ability >= below.ability - 1e-9
            assert above.rank <= below.rank
            assert (above.rank == below.rank) == (round(above.ability, 9) == round(below.ability, 9))
    else:
        with pytest.raises(DisconnectedDesignError):
            nm.rank_abilities(fit)


score_lists = st.lists(st.floats(0, 100, allow_nan=False, allow_infinity=False), min_size=3, max_size=25)


@PROPERTY
@given(groups=st.dictionaries(st.sampled_from("ABCDE"), score_lists, min_size=1, max_size=5))
@pytest.mark.parametrize("method", [nm.linear_equate, nm.robust_equate, nm.quantile_equate])
def test_equating_is_monotone_within_a_group(method: Callable[..., dict], groups: dict[str, list[float]]) -> None:
    try:
        out = method(groups)
    except nm.ZeroSpreadError:
        return  # a refused tie is the documented outcome, never a NaN
    for key, values in groups.items():
        x = np.asarray(values)
        y = out[key]
        assert y.shape == x.shape
        assert np.all(np.isfinite(y))
        order = np.argsort(x, kind="stable")
        assert np.all(np.diff(y[order]) >= -1e-9)
        # Equal marks stay equal.
        for v in np.unique(x):
            assert np.ptp(y[x == v]) <= 1e-9


@settings(max_examples=60, deadline=None)
@given(
    data=st.integers(2, 5).flatmap(
        lambda raters: st.lists(
            st.lists(st.one_of(st.none(), st.integers(0, 6)), min_size=raters, max_size=raters),
            min_size=2,
            max_size=15,
        )
    ),
    level=st.sampled_from(["nominal", "ordinal", "interval", "ratio"]),
)
def test_alpha_agrees_with_the_krippendorff_package(data: list[list[int | None]], level: nm.Level) -> None:
    table = np.array([[np.nan if v is None else v for v in unit] for unit in data], dtype=float).T
    try:
        ours = nm.krippendorff_alpha(table, level)
    except nm.NormalisationError:
        return  # no pairable values or no disagreement: refused, never NaN
    assert ours == pytest.approx(krippendorff.alpha(table, level_of_measurement=level), abs=1e-10)


@PROPERTY
@given(
    ratings=st.integers(2, 12).flatmap(
        lambda n: st.integers(2, 5).flatmap(
            lambda k: st.lists(
                st.lists(st.integers(0, 100), min_size=k, max_size=k),
                min_size=n,
                max_size=n,
            )
        )
    ),
    shift=st.integers(-50, 50),
)
def test_icc_is_invariant_to_shifting_every_mark(ratings: list[list[int]], shift: int) -> None:
    try:
        base = nm.icc(ratings)
    except nm.ZeroSpreadError:
        return
    moved = nm.icc(np.asarray(ratings, dtype=float) + shift)
    for key, value in base.items():
        assert moved[key] == pytest.approx(value, rel=1e-9, abs=1e-9)
