"""Benchmark scoring.normalisation against its reference implementations.

Run from the project root: ``.venv/bin/python bench/normalisation.py``.
Seeds are fixed; fast timings are medians of several runs (the minimum is
shown too, since a shared 2-core machine adds noise). Takes well under
3 minutes, most of it in statsmodels and the dense reference solves.
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scoring import normalisation as nm  # noqa: E402

Design = tuple[np.ndarray, np.ndarray, np.ndarray]


def rotation(n_cand: int, n_rater: int, seed: int) -> Design:
    """Each candidate gets 3 distinct raters j, j+d, j+d+1 (mod R), where j
    cycles through the raters and d changes every round: a connected rotation."""
    rng = np.random.default_rng(seed)
    i = np.arange(n_cand)
    first = i % n_rater
    step = 1 + (i // n_rater) % (n_rater - 2)
    raters = np.stack([first, (first + step) % n_rater, (first + step + 1) % n_rater], axis=1)
    cands = np.repeat(i, 3)
    ability = rng.normal(60, 12, n_cand)
    leniency = rng.normal(0, 4, n_rater)
    scores = ability[cands] + leniency[raters.ravel()] + rng.normal(0, 5, cands.size)
    return cands, raters.ravel(), scores


def timed(fn: Callable[[], Any], repeats: int) -> tuple[float, float, Any]:
    """Median and minimum wall time over ``repeats`` runs, and the last result."""
    times = []
    result = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), result


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:9.2f} ms"


def dense_reference(cands: np.ndarray, raters: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, ...]:
    """Dense least squares with b_R = -sum(b_j), SEs from s²(X'X)^-1."""
    cu, ci = np.unique(cands, return_inverse=True)
    ru, ri = np.unique(raters, return_inverse=True)
    u, r, n = len(cu), len(ru), len(scores)
    t = np.vstack([np.eye(r - 1), -np.ones((1, r - 1))])
    x = np.zeros((n, u + r - 1))
    x[np.arange(n), ci] = 1.0
    x[:, u:] = t[ri]
    theta, *_ = np.linalg.lstsq(x, scores, rcond=None)
    resid = scores - x @ theta
    cov = resid @ resid / (n - (u + r - 1)) * np.linalg.inv(x.T @ x)
    return (
        theta[:u],
        t @ theta[u:],
        np.sqrt(np.diag(cov)[:u]),
        np.sqrt(np.diag(t @ cov[u:, u:] @ t.T)),
        cu,
        ru,
    )


def max_diff(ours: dict, ids: np.ndarray, ref: np.ndarray) -> float:
    return float(np.max(np.abs(np.array([ours[k] for k in ids.tolist()]) - ref)))


def bench_fit_additive_large() -> None:
    print("1. fit_additive: 100,000 candidates x 3 marks from 2,000 raters (connected rotation)")
    cands, raters, scores = rotation(100_000, 2_000, seed=1)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    fit = nm.fit_additive(cands, raters, scores)  # first call also warms BLAS up
    rss_growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    med, best, fit = timed(lambda: nm.fit_additive(cands, raters, scores), repeats=7)
    tracemalloc.start()
    nm.fit_additive(cands, raters, scores)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    print(f"   ours, marks ordered by candidate: {ms(med)} median of 7 (min {ms(best).strip()})")
    shuffle = np.random.default_rng(2).permutation(cands.size)
    c_s, r_s, y_s = cands[shuffle], raters[shuffle], scores[shuffle]
    med_s, best_s, _ = timed(lambda: nm.fit_additive(c_s, r_s, y_s), repeats=5)
    print(f"   ours, marks shuffled:             {ms(med_s)} median of 5 (min {ms(best_s).strip()})")
    print(f"   peak memory: {peak:.0f} MiB traced by tracemalloc; process RSS high-water grew {rss_growth:.0f} MiB")
    print(f"   components: {len(fit.components)}; residual SD {fit.residual_sd:.4f} (simulated 5)")

    # Exactness on the full design, which is too big for a dense solve: the
    # least-squares optimality conditions. Residuals must sum to zero over
    # every candidate's and every rater's marks (X'r = 0), and leniencies to
    # zero; together these determine the constrained solution uniquely.
    a = np.array(list(fit.ability.values()))[cands]
    b_all = np.array(list(fit.leniency.values()))
    resid = scores - a - b_all[raters]
    by_cand = np.abs(np.bincount(cands, weights=resid)).max()
    by_rater = np.abs(np.bincount(raters, weights=resid)).max()
    print(
        f"   optimality on the full design: max |sum of residuals| per candidate {by_cand:.1e}, "
        f"per rater {by_rater:.1e}; |sum of leniencies| {abs(b_all.sum()):.1e}"
    )

    sub = rotation(2_000, 40, seed=3)  # same rotation, same 50 candidates per rater
    fit_sub = nm.fit_additive(*sub)
    a, b, a_se, b_se, cu, ru = dense_reference(*sub)
    print("   vs dense lstsq on a 2,000-candidate subsample design (x 3 marks, 40 raters, 50 candidates/rater):")
    print(
        f"      max |diff| ability {max_diff(fit_sub.ability, cu, a):.1e}, "
        f"leniency {max_diff(fit_sub.leniency, ru, b):.1e}, "
        f"ability SE {max_diff(fit_sub.ability_se, cu, a_se):.1e}, "
        f"leniency SE {max_diff(fit_sub.leniency_se, ru, b_se):.1e}"
    )
    verdict = "PASS" if med < 0.25 and peak < 300 else "over target"
    print(f"   target < 250 ms and < 300 MB: {verdict}")


def bench_fit_additive_vs_statsmodels() -> None:
    import pandas as pd
    import statsmodels.formula.api as smf

    print(
        "2. fit_additive vs statsmodels OLS score ~ C(cand, Sum) + C(rater, Sum): 2,000 candidates x 3 marks, 40 raters"
    )
    cands, raters, scores = rotation(2_000, 40, seed=3)
    frame = pd.DataFrame({"cand": cands, "rater": raters, "score": scores})

    def statsmodels_fit() -> Any:
        return smf.ols("score ~ C(cand, Sum) + C(rater, Sum)", data=frame).fit()

    sm_time, _, res = timed(statsmodels_fit, repeats=1)
    ours_time, ours_best, fit = timed(lambda: nm.fit_additive(cands, raters, scores), repeats=9)
    u, r = 2_000, 40
    p = len(res.params)
    ab = np.zeros((u, p))
    ab[:, 0] = 1.0
    ab[np.arange(u - 1), 1 + np.arange(u - 1)] = 1.0
    ab[u - 1, 1:u] = -1.0
    le = np.zeros((r, p))
    le[np.arange(r - 1), u + np.arange(r - 1)] = 1.0
    le[r - 1, u : u + r - 1] = -1.0
    params, cov = res.params.to_numpy(), res.cov_params().to_numpy()
    levels_c, levels_r = np.arange(u), np.arange(r)
    diffs = {
        "ability": max_diff(fit.ability, levels_c, ab @ params),
        "leniency": max_diff(fit.leniency, levels_r, le @ params),
        "ability SE": max_diff(fit.ability_se, levels_c, np.sqrt(np.einsum("ij,jk,ik->i", ab, cov, ab))),
        "leniency SE": max_diff(fit.leniency_se, levels_r, np.sqrt(np.einsum("ij,jk,ik->i", le, cov, le))),
    }
    print(f"   statsmodels (formula + fit): {ms(sm_time)} (1 run)")
    print(f"   ours:                        {ms(ours_time)} median of 9 (min {ms(ours_best).strip()})")
    print(f"   speed ratio: {sm_time / ours_time:,.0f}x")
    print("   max |diff|: " + ", ".join(f"{k} {v:.1e}" for k, v in diffs.items()))


def bench_icc() -> None:
    import pandas as pd
    import pingouin

    print("3. icc vs pingouin.intraclass_corr: 10,000 targets x 5 raters")
    rng = np.random.default_rng(4)
    n, k = 10_000, 5
    ratings = rng.normal(60, 10, (n, 1)) + rng.normal(0, 3, (1, k)) + rng.normal(0, 6, (n, k))
    long = pd.DataFrame({"target": np.repeat(np.arange(n), k), "rater": np.tile(np.arange(k), n)})
    long["score"] = ratings.ravel()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas deprecation chatter inside pingouin
        peer_time, peer_best, ref = timed(
            lambda: pingouin.intraclass_corr(data=long, targets="target", raters="rater", ratings="score"), repeats=5
        )
    ours_time, ours_best, ours = timed(lambda: nm.icc(ratings), repeats=25)
    labels = {"ICC(1,1)": "ICC(1,1)", "ICC(2,1)": "ICC(A,1)", "ICC(3,1)": "ICC(C,1)"}
    labels |= {"ICC(1,k)": "ICC(1,k)", "ICC(2,k)": "ICC(A,k)", "ICC(3,k)": "ICC(C,k)"}
    by_type = dict(zip(ref["Type"], ref["ICC"], strict=True))
    diff = max(abs(ours[key] - by_type[label]) for key, label in labels.items())
    print(f"   pingouin: {ms(peer_time)} median of 5 (min {ms(peer_best).strip()})")
    print(f"   ours:     {ms(ours_time)} median of 25 (min {ms(ours_best).strip()})")
    print(f"   speed ratio: {peer_time / ours_time:,.0f}x (target >= 20x); max |diff| over the 6 ICCs {diff:.1e}")


def bench_krippendorff() -> None:
    import krippendorff

    print("4. krippendorff_alpha vs the krippendorff package: 2,000 units x 5 raters, 0-100 marks, 20% missing")
    rng = np.random.default_rng(5)
    truth = rng.normal(60, 12, 2_000)
    data = np.clip(np.rint(truth + rng.normal(0, 4, (5, 1)) + rng.normal(0, 6, (5, 2_000))), 0, 100)
    data[rng.random(data.shape) < 0.2] = np.nan
    print(f"   {np.unique(data[~np.isnan(data)]).size} distinct values")
    print("   level      package        ours           ratio     |diff|")
    levels: tuple[nm.Level, ...] = ("nominal", "ordinal", "interval", "ratio")
    for level in levels:
        peer_time, _, ref = timed(partial(krippendorff.alpha, data, level_of_measurement=level), repeats=3)
        ours_time, _, ours = timed(partial(nm.krippendorff_alpha, data, level), repeats=25)
        print(
            f"   {level:<9} {ms(peer_time)}   {ms(ours_time)}   {peer_time / ours_time:6,.0f}x   "
            f"{abs(ours - ref):.1e}  (alpha {ours:.4f})"
        )
    print("   (package: median of 3, ours: median of 25; target >= 50x, |diff| <= 1e-10)")


def main() -> None:
    import scipy

    print("scoring.normalisation benchmark")
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"{os.cpu_count()} CPUs, OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}"
    )
    print()
    start = time.perf_counter()
    bench_fit_additive_large()  # first: its RSS growth is then meaningful
    print()
    bench_fit_additive_vs_statsmodels()
    print()
    bench_icc()
    print()
    bench_krippendorff()
    print()
    print(f"total bench time {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
