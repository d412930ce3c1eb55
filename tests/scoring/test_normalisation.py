"""scoring.normalisation against published values and reference implementations.

No database and no Django: these are plain functions on arrays.
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import krippendorff
import numpy as np
import pandas as pd
import pingouin
import pytest
import statsmodels.formula.api as smf

from scoring import normalisation as nm
from scoring.normalisation import (
    AdditiveFit,
    DisconnectedDesignError,
    EmptyInputError,
    GroupTooSmallError,
    InsufficientDataError,
    InvalidInputError,
    NormalisationError,
    ZeroSpreadError,
)

ROOT = Path(__file__).resolve().parents[2]
nan = np.nan

# Shrout & Fleiss (1979), Table 2: 6 targets x 4 judges.
SHROUT_FLEISS: list[list[float]] = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", 4 observers x 12 units.
KRIPPENDORFF_2011: list[list[float]] = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
    [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
]


# ---------------------------------------------------------------------------
# Module hygiene
# ---------------------------------------------------------------------------


def test_importing_the_module_imports_no_django() -> None:
    code = "import sys; import scoring.normalisation; assert not any(m.startswith('django') for m in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_every_error_is_a_normalisation_error_and_a_value_error() -> None:
    for exc in (
        InvalidInputError,
        InsufficientDataError,
        EmptyInputError,
        GroupTooSmallError,
        ZeroSpreadError,
        DisconnectedDesignError,
    ):
        assert issubclass(exc, NormalisationError)
        assert issubclass(exc, ValueError)


# ---------------------------------------------------------------------------
# ICC
# ---------------------------------------------------------------------------


def test_icc_reproduces_shrout_fleiss_1979() -> None:
    published = {
        "BMS": 11.24,
        "WMS": 6.26,
        "JMS": 32.49,
        "EMS": 1.02,
        "ICC(1,1)": 0.17,
        "ICC(2,1)": 0.29,
        "ICC(3,1)": 0.71,
        "ICC(1,k)": 0.44,
        "ICC(2,k)": 0.62,
        "ICC(3,k)": 0.91,
    }
    result = nm.icc(SHROUT_FLEISS)
    assert set(result) == set(published)
    for key, value in published.items():
        assert round(result[key], 2) == value, key


# pingouin 0.7 labels rows McGraw-Wong style; older versions used ICC1..ICC3k.
PINGOUIN_LABELS = {
    "ICC(1,1)": ("ICC(1,1)", "ICC1"),
    "ICC(2,1)": ("ICC(A,1)", "ICC2"),
    "ICC(3,1)": ("ICC(C,1)", "ICC3"),
    "ICC(1,k)": ("ICC(1,k)", "ICC1k"),
    "ICC(2,k)": ("ICC(A,k)", "ICC2k"),
    "ICC(3,k)": ("ICC(C,k)", "ICC3k"),
}


@pytest.mark.parametrize("seed", range(5))
def test_icc_matches_pingouin(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(3, 40)), int(rng.integers(2, 7))
    ratings = rng.normal(60, 10, (n, 1)) + rng.normal(0, 4, (1, k)) + rng.normal(0, 6, (n, k))
    long = pd.DataFrame(
        {"target": np.repeat(np.arange(n), k), "rater": np.tile(np.arange(k), n), "score": ratings.ravel()}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas deprecation chatter inside pingouin
        ref = pingouin.intraclass_corr(data=long, targets="target", raters="rater", ratings="score")
    by_type = dict(zip(ref["Type"], ref["ICC"], strict=True))
    ours = nm.icc(ratings)
    for key, labels in PINGOUIN_LABELS.items():
        expected = next(by_type[label] for label in labels if label in by_type)
        assert ours[key] == pytest.approx(expected, abs=1e-12), key


def test_icc_refuses_incomplete_or_too_small_tables() -> None:
    with pytest.raises(InvalidInputError, match="missing"):
        nm.icc([[1.0, 2.0], [3.0, nan], [4.0, 5.0]])
    with pytest.raises(InsufficientDataError, match="2 targets"):
        nm.icc([[1, 2, 3]])
    with pytest.raises(InsufficientDataError, match="2 raters"):
        nm.icc([[1], [2], [3]])
    with pytest.raises(InvalidInputError, match="2-D"):
        nm.icc([1, 2, 3])
    with pytest.raises(ZeroSpreadError):
        nm.icc([[5, 5], [5, 5], [5, 5]])
    with pytest.raises(InsufficientDataError):
        nm.icc(np.empty((0, 3)))


# ---------------------------------------------------------------------------
# Krippendorff's alpha
# ---------------------------------------------------------------------------


def test_alpha_reproduces_krippendorff_2011_published_values() -> None:
    assert round(nm.krippendorff_alpha(KRIPPENDORFF_2011, "nominal"), 3) == 0.743
    assert round(nm.krippendorff_alpha(KRIPPENDORFF_2011, "interval"), 3) == 0.849
    # Ordinal .815 and ratio .797 are also the values the krippendorff
    # package documents for this data (its doctests).
    assert round(nm.krippendorff_alpha(KRIPPENDORFF_2011, "ordinal"), 3) == 0.815
    assert round(nm.krippendorff_alpha(KRIPPENDORFF_2011, "ratio"), 3) == 0.797


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
def test_alpha_matches_the_krippendorff_package_on_the_published_data(level: nm.Level) -> None:
    expected = krippendorff.alpha(np.array(KRIPPENDORFF_2011), level_of_measurement=level)
    assert nm.krippendorff_alpha(KRIPPENDORFF_2011, level) == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
@pytest.mark.parametrize("seed", range(4))
def test_alpha_matches_the_krippendorff_package_with_missing_values(level: nm.Level, seed: int) -> None:
    rng = np.random.default_rng(seed)
    raters, units = int(rng.integers(2, 7)), int(rng.integers(5, 80))
    truth = rng.integers(0, 10, units)
    data = np.clip(truth + rng.integers(-2, 3, (raters, units)), 0, 12).astype(float)
    if seed % 2:  # half the runs on a finer, half-point scale
        data = data + rng.choice([0.0, 0.5], data.shape)
    data[rng.random(data.shape) < 0.3] = nan
    expected = krippendorff.alpha(data, level_of_measurement=level)
    assert nm.krippendorff_alpha(data, level) == pytest.approx(expected, abs=1e-10)


def test_alpha_interval_handles_many_distinct_values() -> None:
    rng = np.random.default_rng(7)
    data = rng.normal(60, 10, (1, 300)) + rng.normal(0, 5, (4, 300))
    data[rng.random(data.shape) < 0.2] = nan
    # Brute force from the definition (Krippendorff 2011), O(n²) pairs.
    units = [col[~np.isnan(col)] for col in data.T if np.sum(~np.isnan(col)) >= 2]
    values = np.concatenate(units)
    n = values.size
    d_o = sum(((u[:, None] - u[None, :]) ** 2).sum() / (len(u) - 1) for u in units) / n
    d_e = ((values[:, None] - values[None, :]) ** 2).sum() / (n * (n - 1))
    assert nm.krippendorff_alpha(data, "interval") == pytest.approx(1 - d_o / d_e, abs=1e-10)


def test_alpha_refuses_data_without_pairable_values_or_disagreement() -> None:
    with pytest.raises(InsufficientDataError, match="pairable"):
        nm.krippendorff_alpha([[1, nan, 3], [nan, 2, nan]])
    with pytest.raises(InsufficientDataError, match="pairable"):
        nm.krippendorff_alpha([[1, 2, 3]])  # a single rater
    with pytest.raises(InsufficientDataError, match="pairable"):
        nm.krippendorff_alpha(np.empty((0, 0)))
    for level in ("nominal", "ordinal", "interval", "ratio"):
        with pytest.raises(ZeroSpreadError, match="expected disagreement"):
            nm.krippendorff_alpha([[4.0, 4.0, nan], [4.0, 4.0, 7.0]], level)
    with pytest.raises(InvalidInputError, match="level"):
        nm.krippendorff_alpha(KRIPPENDORFF_2011, "cardinal")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="non-negative"):
        nm.krippendorff_alpha([[1, -2], [1, 3]], "ratio")
    with pytest.raises(InvalidInputError, match="infinite"):
        nm.krippendorff_alpha([[1.0, np.inf], [1.0, 3.0]])


# ---------------------------------------------------------------------------
# Additive model: references
# ---------------------------------------------------------------------------


def random_design(seed: int, n_cand: int = 40, n_rater: int = 8) -> tuple[list[str], list[str], np.ndarray]:
    """Connected design: 1-4 marks per candidate, some raters marking a script twice."""
    rng = np.random.default_rng(seed)
    cands: list[str] = []
    raters: list[str] = []
    for i in range(n_cand):
        k = int(rng.integers(1, 5))
        chosen = [i % n_rater, *rng.integers(0, n_rater, k - 1).tolist()]  # repeats allowed
        cands += [f"c{i:03d}"] * k
        raters += [f"r{j:02d}" for j in chosen]
    ability = {c: rng.normal(60, 10) for c in set(cands)}
    lenient = {r: rng.normal(0, 4) for r in set(raters)}
    scores = np.array([ability[c] + lenient[r] + rng.normal(0, 5) for c, r in zip(cands, raters, strict=True)])
    return cands, raters, scores


def dense_reference(
    cands: list[str], raters: list[str], scores: np.ndarray
) -> tuple[dict[str, float], dict[str, float], dict[str, float], dict[str, float], float]:
    """Dense least squares in the sum-to-zero parameterisation b_R = -sum(b_j)."""
    cu, ci = np.unique(cands, return_inverse=True)
    ru, ri = np.unique(raters, return_inverse=True)
    u, r, n = len(cu), len(ru), len(scores)
    t = np.vstack([np.eye(r - 1), -np.ones((1, r - 1))])
    x = np.zeros((n, u + r - 1))
    x[np.arange(n), ci] = 1.0
    b_cols = np.zeros((n, r))
    b_cols[np.arange(n), ri] = 1.0
    x[:, u:] = b_cols @ t
    theta, *_ = np.linalg.lstsq(x, scores, rcond=None)
    resid = scores - x @ theta
    sigma2 = resid @ resid / (n - (u + r - 1))
    cov = sigma2 * np.linalg.inv(x.T @ x)
    a, b = theta[:u], t @ theta[u:]
    a_se = np.sqrt(np.diag(cov)[:u])
    b_se = np.sqrt(np.diag(t @ cov[u:, u:] @ t.T))
    return (
        dict(zip(cu.tolist(), a, strict=True)),
        dict(zip(ru.tolist(), b, strict=True)),
        dict(zip(cu.tolist(), a_se, strict=True)),
        dict(zip(ru.tolist(), b_se, strict=True)),
        float(np.sqrt(sigma2)),
    )


def assert_dicts_close(ours: dict, ref: dict, atol: float) -> None:
    assert set(ours) == set(ref)
    worst = max(abs(ours[k] - ref[k]) for k in ref)
    assert worst <= atol, worst


@pytest.mark.parametrize("seed", range(4))
def test_fit_additive_matches_a_dense_least_squares_solve(seed: int) -> None:
    cands, raters, scores = random_design(seed)
    fit = nm.fit_additive(cands, raters, scores)
    a, b, a_se, b_se, sd = dense_reference(cands, raters, scores)
    assert fit.is_connected
    assert_dicts_close(fit.ability, a, 1e-8)
    assert_dicts_close(fit.leniency, b, 1e-8)
    assert_dicts_close(fit.ability_se, a_se, 1e-8)
    assert_dicts_close(fit.leniency_se, b_se, 1e-8)
    assert fit.residual_sd == pytest.approx(sd, abs=1e-10)
    assert abs(sum(fit.leniency.values())) < 1e-9


@pytest.mark.parametrize("seed", range(3))
def test_fit_additive_matches_statsmodels_sum_coded_ols(seed: int) -> None:
    cands, raters, scores = random_design(100 + seed, n_cand=30, n_rater=6)
    frame = pd.DataFrame({"cand": cands, "rater": raters, "score": scores})
    res = smf.ols("score ~ C(cand, Sum) + C(rater, Sum)", data=frame).fit()
    cand_levels = sorted(set(cands))
    rater_levels = sorted(set(raters))
    u, r, p = len(cand_levels), len(rater_levels), len(res.params)
    # Sum coding: ability_i = Intercept + effect_i, the last level's effect is
    # minus the sum of the others; the same for raters without intercept.
    ab = np.zeros((u, p))
    ab[:, 0] = 1.0
    ab[np.arange(u - 1), 1 + np.arange(u - 1)] = 1.0
    ab[u - 1, 1:u] = -1.0
    le = np.zeros((r, p))
    le[np.arange(r - 1), u + np.arange(r - 1)] = 1.0
    le[r - 1, u : u + r - 1] = -1.0
    params, cov = res.params.to_numpy(), res.cov_params().to_numpy()
    fit = nm.fit_additive(cands, raters, scores)

    assert_dicts_close(fit.ability, dict(zip(cand_levels, ab @ params, strict=True)), 1e-8)
    assert_dicts_close(fit.leniency, dict(zip(rater_levels, le @ params, strict=True)), 1e-8)
    a_se = np.sqrt(np.einsum("ij,jk,ik->i", ab, cov, ab))
    b_se = np.sqrt(np.einsum("ij,jk,ik->i", le, cov, le))
    assert_dicts_close(fit.ability_se, dict(zip(cand_levels, a_se, strict=True)), 1e-8)
    assert_dicts_close(fit.leniency_se, dict(zip(rater_levels, b_se, strict=True)), 1e-8)
    assert fit.residual_sd == pytest.approx(np.sqrt(res.scale), abs=1e-10)


def test_fit_additive_accepts_numpy_ids_and_returns_plain_keys() -> None:
    cands, raters, scores = random_design(3)
    cand_codes = np.array([int(c[1:]) for c in cands])
    rater_codes = np.array([int(r[1:]) * 1_000_003 for r in raters])  # sparse ids: sorted path
    fit_str = nm.fit_additive(cands, raters, scores)
    fit_np = nm.fit_additive(cand_codes, rater_codes, scores)
    for c in set(cands):
        assert fit_np.ability[int(c[1:])] == pytest.approx(fit_str.ability[c], abs=1e-10)
    assert all(type(k) is int for k in fit_np.ability)


def test_chunked_pair_processing_gives_the_same_results(monkeypatch: pytest.MonkeyPatch) -> None:
    cands, raters, scores = random_design(9, n_cand=50, n_rater=8)
    # An anchor script marked by every rater, twice by one of them.
    anchor_raters = [f"r{j:02d}" for j in range(8)] + ["r03"]
    cands += ["anchor"] * len(anchor_raters)
    raters += anchor_raters
    scores = np.concatenate([scores, np.linspace(50, 70, len(anchor_raters))])
    whole = nm.fit_additive(cands, raters, scores, shrink=True)
    levels: tuple[nm.Level, ...] = ("nominal", "ratio")
    alphas = {lv: nm.krippendorff_alpha(KRIPPENDORFF_2011, lv) for lv in levels}
    monkeypatch.setattr(nm, "PAIR_CHUNK", 4)  # many chunks, and too many to cache
    chunked = nm.fit_additive(cands, raters, scores, shrink=True)
    for field in ("ability", "leniency", "ability_se", "leniency_se"):
        assert_dicts_close(getattr(chunked, field), getattr(whole, field), 1e-10)
    for level, value in alphas.items():
        assert nm.krippendorff_alpha(KRIPPENDORFF_2011, level) == pytest.approx(value, abs=1e-12)


def test_disconnected_components_are_fitted_independently() -> None:
    c1, r1, y1 = random_design(11, n_cand=15, n_rater=4)
    c2, r2, y2 = random_design(12, n_cand=10, n_rater=3)
    c2 = [f"x{c}" for c in c2]
    r2 = [f"x{r}" for r in r2]
    joint = nm.fit_additive(c1 + c2, r1 + r2, np.concatenate([y1, y2]))
    assert not joint.is_connected
    assert joint.components == [(frozenset(c1), frozenset(r1)), (frozenset(c2), frozenset(r2))]
    for cands, raters, y in ((c1, r1, y1), (c2, r2, y2)):
        alone = nm.fit_additive(cands, raters, y)
        for c in cands:
            assert joint.ability[c] == pytest.approx(alone.ability[c], abs=1e-9)
        for r in raters:
            assert joint.leniency[r] == pytest.approx(alone.leniency[r], abs=1e-9)
        assert abs(sum(joint.leniency[r] for r in set(raters))) < 1e-9
    with pytest.raises(DisconnectedDesignError, match="2 unconnected"):
        nm.rank_abilities(joint)
    with pytest.raises(DisconnectedDesignError):
        nm.require_connected(joint)


# ---------------------------------------------------------------------------
# Additive model: shrinkage
# ---------------------------------------------------------------------------


def test_shrinkage_follows_the_empirical_bayes_recipe() -> None:
    cands, raters, scores = random_design(5, n_cand=60, n_rater=10)
    raw = nm.fit_additive(cands, raters, scores)
    fit = nm.fit_additive(cands, raters, scores, shrink=True)
    ids = sorted(raw.leniency, key=str)
    b = np.array([raw.leniency[r] for r in ids])
    se = np.array([raw.leniency_se[r] for r in ids])
    m = np.array([raters.count(str(r)) for r in ids])
    sigma2 = raw.residual_sd**2
    tau2 = max(0.0, (np.sum(b**2) - np.sum(se**2)) / (len(ids) - 1))
    kb = tau2 / (tau2 + sigma2 / m) * b
    expected = dict(zip(ids, kb - kb.mean(), strict=True))
    assert_dicts_close(fit.leniency, expected, 1e-10)
    assert abs(sum(fit.leniency.values())) < 1e-9
    for c in set(cands):
        marks = [s - fit.leniency[r] for cc, r, s in zip(cands, raters, scores, strict=True) if cc == c]
        assert fit.ability[c] == pytest.approx(np.mean(marks), abs=1e-9)
    assert fit.residual_sd == raw.residual_sd


def test_shrinkage_standard_errors_match_the_dense_linear_estimator() -> None:
    cands, raters, scores = random_design(6, n_cand=40, n_rater=7)
    raw = nm.fit_additive(cands, raters, scores)
    fit = nm.fit_additive(cands, raters, scores, shrink=True)
    cu, ci = np.unique(cands, return_inverse=True)
    ru, ri = np.unique(raters, return_inverse=True)
    u, r = len(cu), len(ru)
    m = np.bincount(ri)
    sigma2 = raw.residual_sd**2
    b = np.array([raw.leniency[x] for x in ru])
    se = np.array([raw.leniency_se[x] for x in ru])
    tau2 = max(0.0, (np.sum(b**2) - np.sum(se**2)) / (r - 1))
    k = tau2 / (tau2 + sigma2 / m)
    # Both estimators are linear in y: b_s = C K P y, a = D^-1 A'(y - B b_s).
    a_mat = np.zeros((len(scores), u))
    a_mat[np.arange(len(scores)), ci] = 1.0
    b_mat = np.zeros((len(scores), r))
    b_mat[np.arange(len(scores)), ri] = 1.0
    x = np.hstack([a_mat, b_mat])
    proj_b = (np.linalg.pinv(x.T @ x) @ x.T)[u:]  # minimum-norm rows; centred below
    centre = np.eye(r) - 1.0 / r
    lin_b = centre @ np.diag(k) @ centre @ proj_b
    lin_a = np.diag(1.0 / a_mat.sum(0)) @ a_mat.T @ (np.eye(len(scores)) - b_mat @ lin_b)
    assert_dicts_close(fit.leniency, dict(zip(ru.tolist(), lin_b @ scores, strict=True)), 1e-8)
    assert_dicts_close(fit.ability, dict(zip(cu.tolist(), lin_a @ scores, strict=True)), 1e-8)
    b_se = np.sqrt(sigma2 * np.sum(lin_b**2, axis=1))
    a_se = np.sqrt(sigma2 * np.sum(lin_a**2, axis=1))
    assert_dicts_close(fit.leniency_se, dict(zip(ru.tolist(), b_se, strict=True)), 1e-8)
    assert_dicts_close(fit.ability_se, dict(zip(cu.tolist(), a_se, strict=True)), 1e-8)


def test_shrinkage_with_no_rater_signal_sets_every_leniency_to_zero() -> None:
    # Raters identical up to tiny noise: tau² is floored at 0.
    cands = [f"c{i}" for i in range(20) for _ in range(2)]
    raters = [f"r{(i + j) % 5}" for i in range(20) for j in range(2)]
    rng = np.random.default_rng(0)
    scores = np.repeat(rng.normal(60, 10, 20), 2) + rng.normal(0, 1e-3, 40)
    scores[::2] += 3.0  # candidate-level noise dominates rater-level signal
    scores[1::2] -= 3.0
    fit = nm.fit_additive(cands, raters, scores, shrink=True)
    assert all(v == 0.0 for v in fit.leniency.values())
    for i in range(20):
        assert fit.ability[f"c{i}"] == pytest.approx(scores[2 * i : 2 * i + 2].mean(), abs=1e-12)


# ---------------------------------------------------------------------------
# Additive model: edges and guards
# ---------------------------------------------------------------------------


def test_single_rater_has_zero_leniency_and_raw_means() -> None:
    fit = nm.fit_additive(["a", "a", "b", "b", "c"], ["r"] * 5, [60, 64, 70, 72, 50])
    assert fit.leniency == {"r": 0.0}
    assert fit.leniency_se == {"r": 0.0}
    assert fit.ability == {"a": 62.0, "b": 71.0, "c": 50.0}
    assert fit.components == [(frozenset("abc"), frozenset({"r"}))]
    assert fit.is_connected
    assert fit.residual_sd == pytest.approx(np.sqrt((4 + 4 + 1 + 1) / 2))


def test_a_rater_whose_candidates_nobody_else_marked_is_its_own_component() -> None:
    cands, raters, scores = random_design(8, n_cand=12, n_rater=3)
    fit = nm.fit_additive([*cands, "lone1", "lone2"], [*raters, "solo", "solo"], [*scores, 55.0, 65.0])
    assert len(fit.components) == 2
    assert fit.components[1] == (frozenset({"lone1", "lone2"}), frozenset({"solo"}))
    assert fit.leniency["solo"] == 0.0
    assert fit.ability["lone1"] == 55.0
    assert np.isfinite(fit.ability_se["lone1"])
    with pytest.raises(DisconnectedDesignError):
        nm.rank_abilities(fit)


def test_saturated_design_has_no_error_variance() -> None:
    # One mark per candidate: abilities are the marks, the error variance is
    # not estimable, so the SEs are NaN by documented contract.
    fit = nm.fit_additive(["a", "b"], ["r", "r"], [60.0, 70.0])
    assert fit.ability == {"a": 60.0, "b": 70.0}
    assert np.isnan(fit.residual_sd)
    with pytest.raises(InsufficientDataError, match="degrees of freedom"):
        nm.fit_additive(["a", "b"], ["r", "r"], [60.0, 70.0], shrink=True)


def test_fit_additive_refuses_bad_input() -> None:
    with pytest.raises(EmptyInputError):
        nm.fit_additive([], [], [])
    with pytest.raises(InvalidInputError, match="one entry per mark"):
        nm.fit_additive(["a", "b"], ["r"], [1.0, 2.0])
    with pytest.raises(InvalidInputError, match="missing or infinite"):
        nm.fit_additive(["a", "b"], ["r", "s"], [1.0, nan])
    with pytest.raises(InvalidInputError, match="missing or infinite"):
        nm.fit_additive(["a", "b"], ["r", "s"], [1.0, np.inf])
    with pytest.raises(InvalidInputError, match="numbers"):
        nm.fit_additive(["a"], ["r"], ["ten"])
    with pytest.raises(InvalidInputError, match="hashable"):
        nm.fit_additive([["a"]], ["r"], [1.0])  # type: ignore[list-item]


def test_rank_abilities_orders_and_shares_ranks_on_ties() -> None:
    fit = AdditiveFit(
        ability={"a": 60.0, "b": 72.5, "c": 60.0, "d": 80.0},
        leniency={"r": 0.0},
        ability_se={"a": 1.0, "b": 1.0, "c": 1.0, "d": 1.0},
        leniency_se={"r": 0.0},
        residual_sd=1.0,
        components=[(frozenset("abcd"), frozenset("r"))],
    )
    ranked = nm.rank_abilities(fit)
    assert [(x.candidate, x.rank) for x in ranked] == [("d", 1), ("b", 2), ("a", 3), ("c", 3)]


# ---------------------------------------------------------------------------
# Equating
# ---------------------------------------------------------------------------

GROUPS = {"A": [55.0, 60.0, 62.0, 70.0, 81.0], "B": [40.0, 48.0, 50.0, 58.0], "C": [66.0, 71.0, 75.0]}


def test_linear_equating_puts_every_group_on_the_pooled_mean_and_sd() -> None:
    pooled = np.concatenate([np.array(v) for v in GROUPS.values()])
    out = nm.linear_equate(GROUPS)
    for key, values in out.items():
        assert values.mean() == pytest.approx(pooled.mean())
        assert values.std(ddof=1) == pytest.approx(pooled.std(ddof=1))
        z = (np.array(GROUPS[key]) - np.mean(GROUPS[key])) / np.std(GROUPS[key], ddof=1)
        np.testing.assert_allclose(values, pooled.mean() + pooled.std(ddof=1) * z)
    out = nm.linear_equate(GROUPS, target_mean=50, target_sd=10)
    assert out["B"].mean() == pytest.approx(50)
    assert out["B"].std(ddof=1) == pytest.approx(10)


def test_robust_equating_maps_medians_and_falls_back_when_mad_is_zero() -> None:
    out = nm.robust_equate(GROUPS, target_mean=50, target_sd=10)
    a = np.array(GROUPS["A"])
    np.testing.assert_allclose(out["A"], 50 + 10 * (a - 62.0) / (1.4826 * np.median(np.abs(a - 62.0))))
    # MAD = 0 (more than half the marks tied) but IQR > 0.
    tied = [5.0, 5.0, 5.0, 5.0, 6.0, 7.0, 8.0]
    out = nm.robust_equate({"T": tied, "A": GROUPS["A"]}, target_mean=0, target_sd=1)
    q75, q25 = np.percentile(tied, [75, 25])
    np.testing.assert_allclose(out["T"], (np.array(tied) - 5.0) / ((q75 - q25) / 1.349))
    # MAD = IQR = 0: the pooled scale is used; the tied marks sit on the target.
    all_tied = {"T": [5.0, 5.0, 5.0], "A": GROUPS["A"]}
    out = nm.robust_equate(all_tied, target_mean=50, target_sd=10)
    np.testing.assert_allclose(out["T"], [50.0, 50.0, 50.0])
    assert np.all(np.isfinite(out["A"]))


def test_identical_groups_are_left_unchanged() -> None:
    # (Linear equating is not exactly the identity here: sample SDs of the
    # pooled and group data use different n.)
    same = {"x": GROUPS["A"], "y": GROUPS["A"]}
    for method in (nm.robust_equate, nm.quantile_equate):
        out = method(same)
        np.testing.assert_allclose(out["x"], GROUPS["A"], err_msg=method.__name__)
        np.testing.assert_allclose(out["y"], GROUPS["A"], err_msg=method.__name__)


def test_quantile_equating_uses_mid_ranks_into_pooled_quantiles() -> None:
    groups = {"low": [10.0, 20.0, 20.0, 30.0], "high": [50.0, 60.0, 70.0, 80.0]}
    pooled = np.sort(np.concatenate([np.array(v) for v in groups.values()]))
    positions = (np.arange(1, 9) - 0.5) / 8
    out = nm.quantile_equate(groups)
    p_low = (np.array([1.0, 2.5, 2.5, 4.0]) - 0.5) / 4
    np.testing.assert_allclose(out["low"], np.interp(p_low, positions, pooled))
    assert out["low"][1] == out["low"][2]  # ties stay tied
    np.testing.assert_allclose(out["high"], np.interp((np.arange(1, 5) - 0.5) / 4, positions, pooled))
    rescaled = nm.quantile_equate(groups, target_mean=0.0, target_sd=1.0)
    target = (pooled - pooled.mean()) / pooled.std(ddof=1)
    np.testing.assert_allclose(rescaled["high"], np.interp((np.arange(1, 5) - 0.5) / 4, positions, target))


@pytest.mark.parametrize("method", [nm.linear_equate, nm.robust_equate, nm.quantile_equate])
def test_equating_refuses_small_groups_and_bad_input(method: Callable[..., dict]) -> None:
    for size in (0, 1, 2):
        with pytest.raises(GroupTooSmallError, match="at least 3"):
            method({"A": GROUPS["A"], "tiny": GROUPS["B"][:size]})
    with pytest.raises(EmptyInputError):
        method({})
    with pytest.raises(InvalidInputError, match="missing or infinite"):
        method({"A": [1.0, nan, 3.0]})
    with pytest.raises(InvalidInputError, match="target_sd"):
        method(GROUPS, target_sd=0.0)
    with pytest.raises(InvalidInputError, match="target_mean"):
        method(GROUPS, target_mean=nan)
    with pytest.raises(ZeroSpreadError):
        method({"A": [7.0, 7.0, 7.0], "B": [7.0, 7.0, 7.0, 7.0]})


def test_linear_equating_refuses_a_tied_group_without_returning_nan() -> None:
    with pytest.raises(ZeroSpreadError, match="equal"):
        nm.linear_equate({"A": GROUPS["A"], "T": [60.0, 60.0, 60.0]})
    with pytest.raises(InvalidInputError, match="min_group"):
        nm.linear_equate(GROUPS, min_group=1)


def test_two_member_groups_can_be_allowed_explicitly() -> None:
    out = nm.linear_equate({"A": GROUPS["A"], "pair": [40.0, 90.0]}, min_group=2, target_mean=0, target_sd=1)
    # The documented n = 2 pitfall: any pair maps onto ±0.707.
    np.testing.assert_allclose(out["pair"], [-np.sqrt(0.5), np.sqrt(0.5)])


# ---------------------------------------------------------------------------
# Double marking
# ---------------------------------------------------------------------------


def test_double_marking_tolerance() -> None:
    assert nm.double_marking_tolerance(10.0, 0.84) == pytest.approx(1.96 * np.sqrt(2) * 10 * 0.4)
    assert nm.double_marking_tolerance(10.0, 0.84, z=2.58) == pytest.approx(2.58 * np.sqrt(2) * 4)
    assert nm.double_marking_tolerance(10.0, 1.0) == 0.0
    with pytest.raises(InvalidInputError, match="reliability"):
        nm.double_marking_tolerance(10.0, 1.2)
    with pytest.raises(InvalidInputError, match="sd"):
        nm.double_marking_tolerance(-1.0, 0.8)
    with pytest.raises(InvalidInputError, match="z"):
        nm.double_marking_tolerance(10.0, 0.8, z=0)


def test_bland_altman_limits() -> None:
    first = [60.0, 72.0, 55.0, 81.0, 67.0]
    second = [58.0, 75.0, 50.0, 80.0, 70.0]
    diff = np.subtract(first, second)
    mean, lower, upper = nm.bland_altman_limits(first, second)
    assert mean == pytest.approx(diff.mean())
    assert lower == pytest.approx(diff.mean() - 1.96 * diff.std(ddof=1))
    assert upper == pytest.approx(diff.mean() + 1.96 * diff.std(ddof=1))
    with pytest.raises(InvalidInputError, match="pair up"):
        nm.bland_altman_limits([1.0, 2.0], [1.0])
    with pytest.raises(InsufficientDataError, match="at least 2"):
        nm.bland_altman_limits([1.0], [2.0])
