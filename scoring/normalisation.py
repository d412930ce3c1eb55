"""Score normalisation across raters and panels: arrays in, arrays out.

Pure NumPy/SciPy on purpose: no Django import, so the maths can be tested and
benchmarked without a database (see docs/fairness.md for the formulas).

Assumptions a caller must be able to defend when using each tool:

* Additive rater model (``fit_additive``): a mark is ``ability(candidate) +
  leniency(rater) + error``, with homoscedastic independent errors. Leniency is
  a constant shift: a rater who is harsh only on weak scripts, or who squeezes
  the range, is not modelled. Abilities are on the original scale "as if
  marked by an average rater", where "average" means the mean leniency of the
  raters in the same connected component is zero.
* Connectivity: rater effects are only comparable inside one connected
  component of the candidate-rater graph. Each extra component adds a free
  constant, so ``rank_abilities`` refuses to rank across components; link them
  with shared candidates, rotated raters or anchor scripts, or fall back to
  the random-groups equating below.
* Random groups (``linear_equate``, ``robust_equate``, ``quantile_equate``):
  every group (panel) is assumed to have received equally able candidates.
  If one panel got the stronger pool, equating erases a real difference.
* Reliability (``icc``, ``krippendorff_alpha``) follows Shrout & Fleiss (1979)
  and Krippendorff (2011); ``icc`` needs a complete targets x raters table,
  ``krippendorff_alpha`` accepts missing marks.

Every refusal raises a subclass of ``NormalisationError`` (itself a
``ValueError``) with a message meant for a human; no function returns NaN for
input it refused. The one documented NaN: the standard errors of an additive
fit whose design leaves no residual degrees of freedom (e.g. a single mark per
candidate), where the error variance does not exist to be estimated.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, TypeVar, cast

import numpy as np
import numpy.typing as npt
from scipy.linalg import lapack
from scipy.sparse import csr_array
from scipy.sparse.csgraph import connected_components
from scipy.stats import rankdata

__all__ = [
    "AdditiveFit",
    "DisconnectedDesignError",
    "EmptyInputError",
    "GroupTooSmallError",
    "InsufficientDataError",
    "InvalidInputError",
    "NormalisationError",
    "RankedCandidate",
    "ZeroSpreadError",
    "bland_altman_limits",
    "double_marking_tolerance",
    "fit_additive",
    "icc",
    "krippendorff_alpha",
    "linear_equate",
    "quantile_equate",
    "rank_abilities",
    "require_connected",
    "robust_equate",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
K = TypeVar("K", bound=Hashable)
Level = Literal["nominal", "ordinal", "interval", "ratio"]
# Mark-level ids: any hashables, or a NumPy array (integer keys take a fast path).
Ids = Sequence[Hashable] | npt.NDArray[Any]

# Normal-consistency constants from docs/fairness.md §1.2.
MAD_TO_SD = 1.4826
IQR_TO_SD = 1.349

# A connected component with R raters needs a dense R x R matrix (8·R² bytes);
# past this the caller should split the design rather than exhaust memory.
MAX_RATERS_PER_COMPONENT = 10_000

# Within-unit/within-candidate pairs are processed in chunks of about this
# many, so a script marked by every rater cannot blow up memory.
PAIR_CHUNK = 1 << 21


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


class NormalisationError(ValueError):
    """Base class: the input cannot be normalised as asked."""


class InvalidInputError(NormalisationError):
    """Malformed input: wrong shape, mismatched lengths, non-finite values."""


class InsufficientDataError(NormalisationError):
    """Well-formed input with too little information to estimate anything."""


class EmptyInputError(InsufficientDataError):
    """No data at all."""


class GroupTooSmallError(InsufficientDataError):
    """A group is too small for its own location and scale to mean anything."""


class ZeroSpreadError(NormalisationError):
    """All values are tied, so there is no scale to divide by."""


class DisconnectedDesignError(NormalisationError):
    """Candidates in different connected components cannot be ranked together."""


# --------------------------------------------------------------------------
# Input helpers
# --------------------------------------------------------------------------


def _as_vector(values: object, what: str) -> FloatArray:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{what} must be numbers.") from exc
    if arr.ndim != 1:
        raise InvalidInputError(f"{what} must be a flat sequence of numbers, got shape {arr.shape}.")
    if not np.isfinite(arr).all():
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise InvalidInputError(
            f"{what} contains a missing or infinite value (position {bad}); remove it or enter the mark."
        )
    return arr


def _as_matrix(values: object, what: str) -> FloatArray:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{what} must be a table of numbers.") from exc
    if arr.ndim != 2:
        raise InvalidInputError(f"{what} must be a 2-D table, got {arr.ndim} dimension(s).")
    if np.isinf(arr).any():
        raise InvalidInputError(f"{what} contains an infinite value.")
    return arr


def _negligible(spread: float, values: FloatArray) -> bool:
    """A spread at the level of rounding noise counts as zero: dividing by it
    would only amplify noise (or overflow)."""
    return spread <= 1e-12 * float(np.max(np.abs(values)))


def _sum_by(index: IntArray, weights: FloatArray, size: int) -> FloatArray:
    """Per-group sums (np.bincount with weights, whose stubs claim int)."""
    return cast(FloatArray, np.bincount(index, weights=weights, minlength=size))


def _factorize(values: Ids, what: str) -> tuple[IntArray, list[Hashable]]:
    """Codes 0..k-1 for the ids, and the ids in code order.

    Integer and string NumPy arrays take a vectorised path (database keys are
    the common case); anything else goes through a dict, so ids only need to
    be hashable, not orderable.
    """
    if isinstance(values, np.ndarray):
        if values.ndim != 1:
            raise InvalidInputError(f"{what} must be a flat sequence of ids.")
        if values.dtype.kind in "iu" and values.size:
            lo, hi = int(values.min()), int(values.max())
            if lo >= 0 and hi < 4 * values.size + 1024:
                # Dense lookup table: O(n), no sort.
                present = np.zeros(hi + 1, dtype=bool)
                present[values] = True
                lookup = np.cumsum(present, dtype=np.intp) - 1
                ids: list[Hashable] = list(np.flatnonzero(present).tolist())
                return lookup[values], ids
            uniq, codes = np.unique(values, return_inverse=True)
            return codes.astype(np.intp, copy=False), uniq.tolist()
        if values.dtype.kind == "U":
            uniq, codes = np.unique(values, return_inverse=True)
            return codes.astype(np.intp, copy=False), uniq.tolist()
        values = values.tolist()
    index: dict[Hashable, int] = {}
    try:
        codes = np.fromiter(
            (index.setdefault(v, len(index)) for v in values),
            dtype=np.intp,
            count=len(values),
        )
    except TypeError as exc:
        raise InvalidInputError(f"{what} must be hashable ids.") from exc
    return codes, list(index)


# --------------------------------------------------------------------------
# Reliability: ICC
# --------------------------------------------------------------------------


def icc(ratings: npt.ArrayLike) -> dict[str, float]:
    """Shrout & Fleiss (1979) intraclass correlations of a complete table.

    ``ratings`` is targets x raters. Returns the four mean squares and the six
    ICCs, keyed with Shrout & Fleiss names (``"ICC(2,1)"`` is McGraw & Wong's
    ICC(A,1), ``"ICC(3,1)"`` their ICC(C,1)).
    """
    x = _as_matrix(ratings, "ratings")
    if np.isnan(x).any():
        raise InvalidInputError(
            "ratings has missing marks; ICC needs every rater to mark every "
            "target. Use krippendorff_alpha for incomplete designs."
        )
    n, k = x.shape
    if n < 2:
        raise InsufficientDataError(f"ICC needs at least 2 targets, got {n}.")
    if k < 2:
        raise InsufficientDataError(f"ICC needs at least 2 raters, got {k}.")

    # Deviations rather than raw sums of squares: no cancellation on 0-100 data.
    row_mean = x.mean(axis=1)
    col_mean = x.mean(axis=0)
    grand = row_mean.mean()
    within = x - row_mean[:, None]
    resid = within - (col_mean - grand)[None, :]
    ss_rows = k * float(np.dot(row_mean - grand, row_mean - grand))
    ss_cols = n * float(np.dot(col_mean - grand, col_mean - grand))
    ss_within = float(np.vdot(within, within))
    ss_err = float(np.vdot(resid, resid))

    bms = ss_rows / (n - 1)
    wms = ss_within / (n * (k - 1))
    jms = ss_cols / (k - 1)
    ems = ss_err / ((n - 1) * (k - 1))
    if _negligible(math.sqrt(bms), x):
        raise ZeroSpreadError("All targets have the same mean rating (BMS = 0), so the ICC is undefined.")
    forms = {
        "ICC(1,1)": (bms - wms, bms + (k - 1) * wms),
        "ICC(2,1)": (bms - ems, bms + (k - 1) * ems + k * (jms - ems) / n),
        "ICC(3,1)": (bms - ems, bms + (k - 1) * ems),
        "ICC(1,k)": (bms - wms, bms),
        "ICC(2,k)": (bms - ems, bms + (jms - ems) / n),
        "ICC(3,k)": (bms - ems, bms),
    }
    out = {"BMS": bms, "WMS": wms, "JMS": jms, "EMS": ems}
    # Mean squares are non-negative, so their sum sets the rounding scale.
    noise = 1e-12 * (bms + wms + jms + ems)
    for key, (num, den) in forms.items():
        if abs(den) <= noise:
            raise ZeroSpreadError(f"{key} is undefined for these ratings: its denominator is zero.")
        out[key] = num / den
    return out


# --------------------------------------------------------------------------
# Reliability: Krippendorff's alpha
# --------------------------------------------------------------------------

_LEVELS: tuple[Level, ...] = ("nominal", "ordinal", "interval", "ratio")


def krippendorff_alpha(data: npt.ArrayLike, level: Level = "interval") -> float:
    """Krippendorff's alpha for ``data`` (raters x units, NaN = missing).

    Every formula below is ``alpha = 1 - (n - 1) * Do / De`` with
    ``Do = sum_u 1/(m_u - 1) sum_{i != j in u} delta(v_i, v_j)`` over units
    with at least two values and ``De = sum_{i != j} delta(v_i, v_j)`` over
    all n pairable values, i.e. Krippendorff (2011) with the 1/n factors
    cancelled. Interval and ordinal use closed forms (sums of squares),
    nominal uses category counts, ratio sums over within-unit pairs.
    """
    if level not in _LEVELS:
        raise InvalidInputError(f"level must be one of {', '.join(_LEVELS)}; got {level!r}.")
    x = _as_matrix(data, "data")
    present = ~np.isnan(x)
    m_all = present.sum(axis=0)
    pairable = m_all >= 2
    if not pairable.any():
        raise InsufficientDataError(
            "No unit has values from at least two raters, so there are no pairable values to compare."
        )
    sub = x[:, pairable].T  # units x raters
    vals = sub[present[:, pairable].T]  # row-major: grouped by unit
    m = m_all[pairable].astype(np.float64)
    unit = np.repeat(np.arange(m.size), m_all[pairable])
    n = vals.size

    if level == "ratio" and (vals < 0).any():
        raise InvalidInputError("The ratio level needs non-negative values.")

    if level in ("interval", "ordinal"):
        if level == "ordinal":
            # Ordinal delta (sum of n_g between c and k minus half the ends)²
            # equals the squared difference of mid-rank positions, so ordinal
            # alpha is interval alpha on those positions.
            _, inv, counts = np.unique(vals, return_inverse=True, return_counts=True)
            positions = np.cumsum(counts) - counts / 2.0
            vals = positions[inv]
        unit_mean = np.bincount(unit, weights=vals) / m
        dev = vals - unit_mean[unit]
        ssw = np.bincount(unit, weights=dev * dev)
        centred = vals - vals.mean()
        sst = float(np.dot(centred, centred))
        if _negligible(math.sqrt(sst / n), vals):
            raise _no_expected_disagreement()
        # sum_{i != j}(v_i - v_j)² = 2 m SSW within a unit, 2 n SST overall.
        d_o = 2.0 * float(np.sum(m * ssw / (m - 1.0)))
        d_e = 2.0 * n * sst
    elif level == "nominal":
        cats, inv = np.unique(vals, return_inverse=True)
        v = cats.size
        if v < 2:
            raise _no_expected_disagreement()
        # Count equal-value pairs per unit from (unit, category) cell counts.
        key = unit.astype(np.int64) * v + inv
        if m.size * v <= 8 * n + 4096:
            cell = np.bincount(key, minlength=m.size * v).astype(np.float64)
            unit_sq = (cell * cell).reshape(m.size, v).sum(axis=1)
        else:
            uniq, cnt = np.unique(key, return_counts=True)
            cnt_f = cnt.astype(np.float64)
            unit_sq = np.bincount(uniq // v, weights=cnt_f * cnt_f, minlength=m.size)
        n_c = np.bincount(inv).astype(np.float64)
        d_o = float(np.sum((m * m - unit_sq) / (m - 1.0)))
        d_e = float(n) * n - float(np.dot(n_c, n_c))
    else:
        d_o, d_e = _ratio_disagreements(vals, m_all[pairable])

    if d_e == 0.0:
        raise _no_expected_disagreement()
    return 1.0 - (n - 1) * d_o / d_e


def _no_expected_disagreement() -> ZeroSpreadError:
    return ZeroSpreadError("All pairable values are identical, so expected disagreement is 0 and alpha is undefined.")


def _ratio_delta(a: FloatArray, b: FloatArray) -> FloatArray:
    total = a + b
    diff = np.divide(a - b, total, out=np.zeros(np.broadcast(a, b).shape), where=total != 0)
    return diff * diff


def _ratio_disagreements(vals: FloatArray, counts: IntArray) -> tuple[float, float]:
    # Observed: all within-unit pairs, one dense block per unit size.
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    d_o = 0.0
    for size in np.unique(counts):
        s = int(size)
        iu, ju = np.triu_indices(s, 1)
        unit_starts = starts[counts == size]
        step = max(1, PAIR_CHUNK // iu.size)  # bound the pair temporaries
        for lo in range(0, unit_starts.size, step):
            block = vals[unit_starts[lo : lo + step, None] + np.arange(s)]
            d_o += 2.0 * float(_ratio_delta(block[:, iu], block[:, ju]).sum()) / (s - 1)

    # Expected: all pairs of distinct values weighted by their counts. The
    # ratio delta does not factorise, so this is O(V²) in the number of
    # distinct values, done in row chunks to bound memory.
    cats, n_c = np.unique(vals, return_counts=True)
    if cats.size < 2:
        return d_o, 0.0
    w = n_c.astype(np.float64)
    chunk = max(1, 2_000_000 // cats.size)
    d_e = 0.0
    for lo in range(0, cats.size, chunk):
        hi = min(lo + chunk, cats.size)
        delta = _ratio_delta(cats[lo:hi, None], cats[None, :])
        d_e += float(w[lo:hi] @ delta @ w)
    return d_o, d_e


# --------------------------------------------------------------------------
# Additive rater-severity model
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class AdditiveFit:
    """Result of ``fit_additive``; all dicts are keyed by the caller's ids."""

    ability: dict[Hashable, float]
    leniency: dict[Hashable, float]
    ability_se: dict[Hashable, float]
    leniency_se: dict[Hashable, float]
    residual_sd: float
    components: list[tuple[frozenset[Hashable], frozenset[Hashable]]]

    @property
    def is_connected(self) -> bool:
        return len(self.components) == 1


class RankedCandidate(NamedTuple):
    candidate: Hashable
    ability: float
    ability_se: float
    rank: int


def require_connected(fit: AdditiveFit) -> None:
    """Raise ``DisconnectedDesignError`` unless the design is one component."""
    if fit.is_connected:
        return
    sizes = ", ".join(f"{len(cands)} candidate(s)/{len(raters)} rater(s)" for cands, raters in fit.components)
    raise DisconnectedDesignError(
        f"The marking design falls into {len(fit.components)} unconnected "
        f"groups ({sizes}). Rater severities in different groups cannot be "
        "compared, so their candidates cannot be ranked together. Link the "
        "groups with shared candidates, rotated raters or anchor scripts, or "
        "equate the groups under a random-groups assumption."
    )


def rank_abilities(fit: AdditiveFit) -> list[RankedCandidate]:
    """Candidates from best to worst; refuses a disconnected design.

    Abilities equal to 9 decimals are tied and share the best rank of the tie
    ("1, 2, 2, 4"); tied candidates are listed in the order they first
    appeared in the marks, never in an arbitrary order.
    """
    require_connected(fit)
    ids = list(fit.ability)
    values = np.round(np.fromiter(fit.ability.values(), np.float64, len(ids)), 9)
    ranks = rankdata(-values, method="min").astype(int)
    order = np.lexsort((np.arange(len(ids)), -values))
    return [RankedCandidate(ids[i], fit.ability[ids[i]], fit.ability_se[ids[i]], int(ranks[i])) for i in order]


class _Design(NamedTuple):
    """Index bookkeeping shared by the solve and the standard errors."""

    n_comp: int
    rater_comp: IntArray  # component of each rater (components ordered)
    cand_comp: IntArray
    local: IntArray  # rater's index inside its component
    comp_raters: IntArray  # number of raters per component
    offset: npt.NDArray[np.int64]  # start of each component's R_c² block
    rater_order: IntArray  # raters sorted by component


def fit_additive(
    candidates: Ids,
    raters: Ids,
    scores: npt.ArrayLike,
    *,
    shrink: bool = False,
) -> AdditiveFit:
    """Least-squares fit of ``score = ability + leniency + error``.

    One entry per mark in each sequence. Leniencies sum to zero within each
    connected component (positive = lenient; severity is the negative), and an
    ability is the candidate's mean of ``score - leniency``. This is the exact
    constrained least-squares solution, identical to statsmodels'
    ``score ~ C(cand, Sum) + C(rater, Sum)``.

    Method: eliminating the abilities leaves, per component, the R x R Schur
    complement ``S = diag(m) - N' diag(1/n) N`` (N = candidate x rater mark
    counts) with ``S b = t``; S is singular along the all-ones vector, so we
    factorise ``A = S + (alpha/R) 11'``, which is positive definite and whose
    inverse minus ``11'/(alpha R)`` is exactly the covariance of the
    sum-to-zero parameterisation ``T (T'ST)^-1 T'`` with ``T = [I; -1']``.
    Ability variances come from the block formula
    ``Var(a_i) = s²(1/n_i + c_i' S+ c_i)`` with ``c_i`` the candidate's rater
    mix, so no U x U matrix is ever formed.

    With ``shrink=True`` leniencies are multiplied by the empirical-Bayes
    factor ``tau²/(tau² + s²/m_j)`` (m_j = the rater's number of marks, tau²
    by the method of moments from the unshrunk leniencies and their SEs,
    floored at 0), re-centred to keep the sum-to-zero constraint, and the
    abilities recomputed. The SEs are then the sampling SEs of that shrunk
    linear estimator given tau²; they ignore shrinkage bias.

    ``residual_sd`` and every SE are NaN when the design leaves no residual
    degrees of freedom (every mark fitted exactly, e.g. one mark per
    candidate), because the error variance is then not estimable.
    """
    y = _as_vector(scores, "scores")
    n_marks = y.size
    if len(candidates) != n_marks or len(raters) != n_marks:
        raise InvalidInputError(
            "candidates, raters and scores must have one entry per mark; got "
            f"{len(candidates)}, {len(raters)} and {n_marks} entries."
        )
    if n_marks == 0:
        raise EmptyInputError("No marks were given.")
    cand, cand_ids = _factorize(candidates, "candidates")
    rater, rater_ids = _factorize(raters, "raters")
    n_cand, n_rater = len(cand_ids), len(rater_ids)

    n_i = np.bincount(cand, minlength=n_cand).astype(np.float64)
    m_j = np.bincount(rater, minlength=n_rater).astype(np.float64)
    cand_mean = _sum_by(cand, y, n_cand) / n_i
    # Right-hand side of the reduced system: each rater's marks measured from
    # the candidates' raw means.
    t = _sum_by(rater, y - cand_mean[cand], n_rater)

    # Pairs of marks are formed per candidate, so group marks by candidate;
    # input already ordered by candidate (ORDER BY candidate) skips the sort.
    grouped = bool(np.all(cand[1:] >= cand[:-1]))
    rater_sorted = rater if grouped else rater[np.argsort(cand, kind="stable")]
    counts = np.bincount(cand, minlength=n_cand)
    starts = np.zeros(n_cand + 1, dtype=np.intp)
    np.cumsum(counts, out=starts[1:])
    design = _components(starts, rater_sorted, n_cand, n_rater)

    # Schur complement S = diag(m) - N' diag(1/n) N, per component, built as
    # diag(s_diag) minus the lower-triangle pair sums of N_ia N_ib / n_i
    # accumulated in ``flat``. Each pair (p,q) stands for (q,p) too, which
    # lands on the same lower-triangle cell except when one rater marked the
    # candidate twice (a diagonal cell, counted twice).
    # empty + fill rather than zeros: numpy's own allocator asks for huge
    # pages and the sequential fill faults them in cheaply, whereas calloc'd
    # pages would fault one by one under the scattered adds below.
    flat = np.empty(int(design.offset[-1]), dtype=np.float64)
    flat.fill(0.0)
    cached: list[_PairChunk] | None = []
    n_cached = 0
    for chunk in _pair_chunks(counts, starts, rater_sorted, design):
        np.add.at(flat, chunk.keys, 1.0 / chunk.size)
        if chunk.same.any():
            np.add.at(flat, chunk.keys[chunk.same], 1.0 / chunk.size)
        # Keep the keys for the SE pass unless that would cost memory.
        n_cached += chunk.keys.size
        if cached is not None and n_cached <= 4 * PAIR_CHUNK:
            cached.append(chunk)
        else:
            cached = None
    s_diag = m_j - _sum_by(rater, 1.0 / n_i[cand], n_rater)

    b, corr = _solve_components(flat, t, s_diag, design)
    a = cand_mean - _sum_by(cand, b[rater], n_cand) / n_i
    resid = y - a[cand] - b[rater]
    df = n_marks - (n_cand + n_rater - design.n_comp)
    sigma2 = float(np.dot(resid, resid)) / df if df > 0 else math.nan

    # flat now holds the inverse blocks A^-1 (lower triangles), S+ = A^-1 - corr.
    diag_idx = design.offset[design.rater_comp] + design.local * (design.comp_raters[design.rater_comp] + 1)
    b_var_unit = np.maximum(flat[diag_idx] - corr[design.rater_comp], 0.0)

    if shrink:
        if not df > 0:
            raise InsufficientDataError(
                "Cannot shrink leniencies: the design leaves no residual degrees "
                "of freedom to estimate the error variance."
            )
        b, corr = _shrink(flat, corr, b, b_var_unit, sigma2, m_j, design)
        a = cand_mean - _sum_by(cand, b[rater], n_cand) / n_i
        b_var_unit = np.maximum(flat[diag_idx] - corr[design.rater_comp], 0.0)

    # c_i' A^-1 c_i = (sum_p A^-1[r_p, r_p] + 2 sum_{p<q} A^-1[r_p, r_q]) / n_i².
    quad = _sum_by(cand, flat[diag_idx][rater], n_cand)
    chunks = cached if cached is not None else _pair_chunks(counts, starts, rater_sorted, design)
    for chunk in chunks:
        quad[chunk.cands] += 2.0 * flat[chunk.keys].sum(axis=1)
    quad /= n_i * n_i
    quad -= corr[design.cand_comp]
    a_var_unit = 1.0 / n_i + np.maximum(quad, 0.0)

    return AdditiveFit(
        ability=dict(zip(cand_ids, a.tolist(), strict=True)),
        leniency=dict(zip(rater_ids, b.tolist(), strict=True)),
        ability_se=dict(zip(cand_ids, np.sqrt(sigma2 * a_var_unit).tolist(), strict=True)),
        leniency_se=dict(zip(rater_ids, np.sqrt(sigma2 * b_var_unit).tolist(), strict=True)),
        residual_sd=math.sqrt(sigma2) if df > 0 else math.nan,
        components=_component_sets(cand_ids, rater_ids, design),
    )


def _components(starts: IntArray, rater_sorted: IntArray, n_cand: int, n_rater: int) -> _Design:
    # Bipartite candidate-rater graph, nodes 0..U-1 candidates then the raters;
    # the by-candidate mark order already is a CSR layout (one-way edges are
    # enough for undirected components).
    indptr = np.concatenate((starts, np.full(n_rater, rater_sorted.size, dtype=np.intp)))
    graph = csr_array(
        (np.ones(rater_sorted.size, dtype=np.int8), rater_sorted + n_cand, indptr),
        shape=(n_cand + n_rater, n_cand + n_rater),
    )
    n_comp, node_label = connected_components(graph, directed=False)
    node_label = node_label.astype(np.intp, copy=False)
    if n_comp > 1:
        # Stable, meaningful order: largest component (in candidates) first,
        # ties by first appearance of a candidate.
        sizes = np.bincount(node_label[:n_cand], minlength=n_comp)
        first_seen = np.full(n_comp, n_cand, dtype=np.intp)
        np.minimum.at(first_seen, node_label[:n_cand], np.arange(n_cand))
        rank = np.empty(n_comp, dtype=np.intp)
        rank[np.lexsort((first_seen, -sizes))] = np.arange(n_comp)
        node_label = rank[node_label]
    label = node_label[n_cand:]
    comp_raters = np.bincount(label, minlength=n_comp).astype(np.intp)
    if int(comp_raters.max()) > MAX_RATERS_PER_COMPONENT:
        raise InvalidInputError(
            f"A connected component has {int(comp_raters.max())} raters; the "
            f"dense solver supports at most {MAX_RATERS_PER_COMPONENT}."
        )
    rater_order = np.argsort(label, kind="stable")
    comp_start = np.concatenate(([0], np.cumsum(comp_raters)[:-1]))
    local = np.empty(n_rater, dtype=np.intp)
    local[rater_order] = np.arange(n_rater) - np.repeat(comp_start, comp_raters)
    offset = np.zeros(n_comp + 1, dtype=np.int64)
    np.cumsum(comp_raters.astype(np.int64) ** 2, out=offset[1:])
    return _Design(
        n_comp=int(n_comp),
        rater_comp=label,
        cand_comp=node_label[:n_cand],
        local=local,
        comp_raters=comp_raters,
        offset=offset,
        rater_order=rater_order,
    )


class _PairChunk(NamedTuple):
    cands: IntArray  # candidates in the chunk, all with ``size`` marks
    keys: npt.NDArray[np.int64]  # cells of the pairs p < q, shape (K, size(size-1)/2)
    same: npt.NDArray[np.bool_]  # pairs where one rater marked the candidate twice
    size: int


def _pair_chunks(counts: IntArray, starts: IntArray, rater_sorted: IntArray, design: _Design) -> Iterator[_PairChunk]:
    """Pairs p < q of each candidate's marks, by candidate mark count, chunked.

    A pair's key is the flat index of its cell in its component's R_c x R_c
    block, in the lower triangle (row = larger local rater index).
    """
    # bincount, not np.unique: the sizes are small integers.
    for size in np.flatnonzero(np.bincount(counts)):
        s = int(size)
        if s < 2:
            continue
        iu, ju = np.triu_indices(s, 1)
        of_size = np.flatnonzero(counts == size)
        step = max(1, PAIR_CHUNK // iu.size)
        for lo in range(0, of_size.size, step):
            cands = of_size[lo : lo + step]
            loc = design.local[rater_sorted[starts[cands][:, None] + np.arange(s)]]
            p, q = loc[:, iu], loc[:, ju]
            hi = np.maximum(p, q).astype(np.int64)
            low = np.minimum(p, q)
            if design.n_comp == 1:
                keys = hi * int(design.comp_raters[0]) + low
            else:
                comp = design.cand_comp[cands][:, None]
                keys = design.offset[comp] + hi * design.comp_raters[comp] + low
            yield _PairChunk(cands, keys, p == q, s)


def _solve_components(
    flat: FloatArray, t: FloatArray, s_diag: FloatArray, design: _Design
) -> tuple[FloatArray, FloatArray]:
    """Solve each component's reduced system in place.

    On entry ``flat`` holds, per component, the lower triangle of
    ``diag(s_diag) - S`` (the pair sums of N_ia N_ib / n_i); on exit it holds
    the lower triangles of the inverses of the regularised matrices A. Returns the leniencies
    (original rater order) and, per component, the constant 1/(alpha R_c)
    that turns A^-1 into S+.
    """
    b = np.zeros(t.size, dtype=np.float64)
    corr = np.zeros(design.n_comp, dtype=np.float64)
    start = 0
    for c in range(design.n_comp):
        r_c = int(design.comp_raters[c])
        members = design.rater_order[start : start + r_c]
        start += r_c
        block = flat[int(design.offset[c]) : int(design.offset[c + 1])].reshape(r_c, r_c)
        if r_c == 1:
            # A lone rater: its leniency is fixed at 0 by the constraint and
            # has no sampling variance.
            block[0, 0] = 0.0
            continue
        diag = block.reshape(-1)[:: r_c + 1]
        diag -= s_diag[members]
        # Adding alpha/R to every cell puts eigenvalue alpha (the mean
        # eigenvalue scale) on the all-ones null direction: A is SPD.
        alpha = -float(diag.sum()) / r_c
        np.subtract(alpha / r_c, block, out=block)
        # LAPACK is column-major: the C-order lower triangle is the Fortran
        # upper triangle of block.T (same memory, no copy).
        chol, info = lapack.dpotrf(block.T, lower=0, overwrite_a=1, clean=0)
        if info != 0:
            raise NormalisationError(
                "The rater system could not be factorised (numerically "
                "singular design); check for near-duplicate raters."
            )
        sol, info = lapack.dpotrs(chol, t[members], lower=0)
        if info != 0:
            raise NormalisationError("Solving the rater system failed.")
        inv, info = lapack.dpotri(chol, lower=0, overwrite_c=1)
        if info != 0:
            raise NormalisationError("Inverting the rater system failed.")
        if not np.shares_memory(inv, block):
            block[...] = inv.T
        b[members] = sol - sol.mean()  # exact sum-to-zero despite rounding
        corr[c] = 1.0 / (alpha * r_c)
    return b, corr


def _shrink(
    flat: FloatArray,
    corr: FloatArray,
    b: FloatArray,
    b_var_unit: FloatArray,
    sigma2: float,
    m_j: FloatArray,
    design: _Design,
) -> tuple[FloatArray, FloatArray]:
    """Empirical-Bayes shrinkage of leniencies; rewrites ``flat`` to hold the
    covariance (per unit sigma²) of the shrunk, re-centred leniencies."""
    multi = design.comp_raters[design.rater_comp] > 1
    dof = float(np.sum(design.comp_raters[design.comp_raters > 1] - 1))
    if dof == 0:
        return b, corr
    # E[sum b_j²] = (R - 1) tau² + sum se_j² under the sum-to-zero constraint.
    excess = float(np.sum(b[multi] ** 2)) - sigma2 * float(np.sum(b_var_unit[multi]))
    tau2 = max(0.0, excess / dof)
    factor = np.zeros_like(b) if tau2 == 0.0 else tau2 / (tau2 + sigma2 / m_j)

    shrunk = np.zeros_like(b)
    start = 0
    for c in range(design.n_comp):
        r_c = int(design.comp_raters[c])
        members = design.rater_order[start : start + r_c]
        start += r_c
        if r_c == 1:
            continue
        k = factor[members]
        kb = k * b[members]
        shrunk[members] = kb - kb.mean()
        # Cov of C K b with C the centring matrix: scale S+ by k k', then
        # double-centre.
        block = flat[int(design.offset[c]) : int(design.offset[c + 1])].reshape(r_c, r_c)
        lower = np.tril(block)
        sym = lower + lower.T
        sym.reshape(-1)[:: r_c + 1] -= np.diagonal(block)
        sym -= corr[c]
        sym *= k[:, None]
        sym *= k[None, :]
        row = sym.mean(axis=1)
        sym -= row[:, None]
        sym -= row[None, :]
        sym += row.mean()
        block[...] = sym
    return shrunk, np.zeros_like(corr)


def _component_sets(
    cand_ids: list[Hashable], rater_ids: list[Hashable], design: _Design
) -> list[tuple[frozenset[Hashable], frozenset[Hashable]]]:
    if design.n_comp == 1:
        return [(frozenset(cand_ids), frozenset(rater_ids))]
    cand_groups: list[list[Hashable]] = [[] for _ in range(design.n_comp)]
    rater_groups: list[list[Hashable]] = [[] for _ in range(design.n_comp)]
    for cid, comp in zip(cand_ids, design.cand_comp.tolist(), strict=True):
        cand_groups[comp].append(cid)
    for rid, comp in zip(rater_ids, design.rater_comp.tolist(), strict=True):
        rater_groups[comp].append(rid)
    return [(frozenset(cg), frozenset(rg)) for cg, rg in zip(cand_groups, rater_groups, strict=True)]


# --------------------------------------------------------------------------
# Equating under the random-groups assumption
# --------------------------------------------------------------------------


def _groups(scores_by_group: Mapping[K, Sequence[float]], min_group: int, floor: int) -> dict[K, FloatArray]:
    if not isinstance(scores_by_group, Mapping):
        raise InvalidInputError("scores_by_group must map each group to its scores.")
    if not scores_by_group:
        raise EmptyInputError("No groups were given.")
    if min_group < floor:
        raise InvalidInputError(f"min_group must be at least {floor}, got {min_group}.")
    groups: dict[K, FloatArray] = {}
    for key, values in scores_by_group.items():
        arr = _as_vector(values, f"Scores of group {key!r}")
        if arr.size < min_group:
            raise GroupTooSmallError(
                f"Group {key!r} has {arr.size} score(s); at least {min_group} are "
                "needed to equate it on its own. Pool it with another group or "
                "use fit_additive with raters shared across groups."
            )
        groups[key] = arr
    return groups


def _check_target(value: float | None, what: str, positive: bool) -> float | None:
    if value is None:
        return None
    v = float(value)
    if not math.isfinite(v) or (positive and v <= 0):
        need = "a positive finite number" if positive else "a finite number"
        raise InvalidInputError(f"{what} must be {need}, got {value!r}.")
    return v


def linear_equate(
    scores_by_group: Mapping[K, Sequence[float]],
    *,
    target_mean: float | None = None,
    target_sd: float | None = None,
    min_group: int = 3,
) -> dict[K, FloatArray]:
    """Mean/SD equating: ``M + S (y - m_p)/s_p`` per group (sample SDs).

    The target defaults to the pooled mean and SD of all scores.
    """
    groups = _groups(scores_by_group, min_group, floor=2)
    mean_t = _check_target(target_mean, "target_mean", positive=False)
    sd_t = _check_target(target_sd, "target_sd", positive=True)
    pooled = np.concatenate(list(groups.values()))
    big_m = float(pooled.mean()) if mean_t is None else mean_t
    big_s = float(pooled.std(ddof=1)) if sd_t is None else sd_t
    out: dict[K, FloatArray] = {}
    for key, arr in groups.items():
        sd = float(arr.std(ddof=1))
        if _negligible(sd, arr):
            raise ZeroSpreadError(
                f"All {arr.size} scores in group {key!r} are equal, so the group "
                "has no spread to standardise. Use robust_equate (which falls "
                "back to the pooled scale) or fit_additive."
            )
        out[key] = big_m + big_s * (arr - arr.mean()) / sd
    return out


def _robust_scale(arr: FloatArray) -> float:
    """1.4826·MAD, else IQR/1.349; 0 if both vanish (tied integer rubrics)."""
    med = np.median(arr)
    mad = MAD_TO_SD * float(np.median(np.abs(arr - med)))
    if not _negligible(mad, arr):
        return mad
    q75, q25 = np.percentile(arr, [75, 25])
    iqr = float(q75 - q25) / IQR_TO_SD
    return 0.0 if _negligible(iqr, arr) else iqr


def robust_equate(
    scores_by_group: Mapping[K, Sequence[float]],
    *,
    target_mean: float | None = None,
    target_sd: float | None = None,
    min_group: int = 3,
) -> dict[K, FloatArray]:
    """Median / robust-scale equating: ``M + S (y - median_p)/scale_p``.

    A group's scale is 1.4826·MAD, falling back to IQR/1.349 and then to the
    pooled scale (same chain, then the pooled SD) when the group is (mostly)
    tied. The target location and scale default to the pooled median and
    pooled robust scale, so identical groups come back unchanged.
    """
    groups = _groups(scores_by_group, min_group, floor=2)
    mean_t = _check_target(target_mean, "target_mean", positive=False)
    sd_t = _check_target(target_sd, "target_sd", positive=True)
    pooled = np.concatenate(list(groups.values()))
    pooled_scale = _robust_scale(pooled)
    if pooled_scale == 0.0 and not _negligible(float(pooled.std(ddof=1)), pooled):
        pooled_scale = float(pooled.std(ddof=1))
    big_m = float(np.median(pooled)) if mean_t is None else mean_t
    big_s = pooled_scale if sd_t is None else sd_t
    out: dict[K, FloatArray] = {}
    for key, arr in groups.items():
        scale = _robust_scale(arr) or pooled_scale
        if scale == 0.0:
            raise ZeroSpreadError(
                f"Group {key!r} is tied and so is every score pooled across "
                "groups: there is no scale at all to equate with."
            )
        out[key] = big_m + big_s * (arr - np.median(arr)) / scale
    return out


def quantile_equate(
    scores_by_group: Mapping[K, Sequence[float]],
    *,
    target_mean: float | None = None,
    target_sd: float | None = None,
    min_group: int = 3,
) -> dict[K, FloatArray]:
    """Equipercentile equating of continuous scores onto the pooled distribution.

    A score's percentile is its mid-rank ``(r - .5)/n`` in its group (ties
    share the average rank); it is mapped with linear interpolation into the
    pooled quantiles, placed at the same plotting positions. ``target_mean``
    and ``target_sd`` move and rescale that pooled shape. Needs large groups
    to be stable: with small panels prefer a linear method.
    """
    groups = _groups(scores_by_group, min_group, floor=1)
    mean_t = _check_target(target_mean, "target_mean", positive=False)
    sd_t = _check_target(target_sd, "target_sd", positive=True)
    target = np.sort(np.concatenate(list(groups.values())))
    if _negligible(float(target[-1] - target[0]), target):
        raise ZeroSpreadError(
            "Every score in every group is the same, so there is no target distribution to equate onto."
        )
    if mean_t is not None or sd_t is not None:
        centre = float(target.mean())
        scale = 1.0 if sd_t is None else sd_t / float(target.std(ddof=1))
        target = (centre if mean_t is None else mean_t) + scale * (target - centre)
    positions = (np.arange(1, target.size + 1) - 0.5) / target.size
    return {key: np.interp((rankdata(arr) - 0.5) / arr.size, positions, target) for key, arr in groups.items()}


# --------------------------------------------------------------------------
# Double marking
# --------------------------------------------------------------------------


def double_marking_tolerance(sd: float, reliability: float, z: float = 1.96) -> float:
    """Largest defensible gap between two marks: ``z·√2·SD·√(1 - rel)``.

    ``SD·√(1 - rel)`` is the standard error of measurement of one mark; the
    difference of two independent marks has √2 times that.
    """
    sd_f, rel_f, z_f = float(sd), float(reliability), float(z)
    if not math.isfinite(sd_f) or sd_f < 0:
        raise InvalidInputError(f"sd must be a non-negative number, got {sd!r}.")
    if not 0.0 <= rel_f <= 1.0:
        raise InvalidInputError(f"reliability must lie in [0, 1], got {reliability!r}.")
    if not math.isfinite(z_f) or z_f <= 0:
        raise InvalidInputError(f"z must be a positive number, got {z!r}.")
    return z_f * math.sqrt(2.0) * sd_f * math.sqrt(1.0 - rel_f)


def bland_altman_limits(
    first: Sequence[float] | npt.ArrayLike,
    second: Sequence[float] | npt.ArrayLike,
    *,
    z: float = 1.96,
) -> tuple[float, float, float]:
    """Mean difference (first - second) and its limits of agreement
    ``mean ± z·SD_diff`` (sample SD)."""
    a = _as_vector(first, "first marks")
    b = _as_vector(second, "second marks")
    if a.size != b.size:
        raise InvalidInputError(f"first and second must pair up; got {a.size} and {b.size} marks.")
    if a.size < 2:
        raise InsufficientDataError(f"Limits of agreement need at least 2 double-marked scripts, got {a.size}.")
    diff = a - b
    mean = float(diff.mean())
    half = float(z) * float(diff.std(ddof=1))
    return mean, mean - half, mean + half
