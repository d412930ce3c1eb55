"""Plots of the fairness report, drawn server-side with matplotlib and returned as inline SVG strings.

Text stays text (``svg.fonttype = 'none'``), so it is searchable, selectable and read by screen readers;
the font is DejaVu Sans, which ships with matplotlib and covers Vietnamese. Nothing is fetched from the
internet. Each figure is built on its own ``Figure`` (no pyplot state), so drawing is thread-safe.
The caller gives the ids of the caption and data table that describe the plot (``aria-labelledby``).
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from django.utils.formats import number_format  # noqa: E402
from django.utils.translation import gettext as _  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

RAW_COLOUR = "#6b7785"
ADJUSTED_COLOUR = "#0b5cad"
FLAG_COLOUR = "#a3111b"
INK = "#1b1f24"

RC = {
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "text.parse_math": False,  # a "$" in a panel or examiner name is text, not TeX
    "axes.edgecolor": "#8a939e",
    "axes.labelcolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
    "text.color": INK,
    "svg.hashsalt": "hientai",  # deterministic output: the same data gives the same SVG
}


def _number(value: float, _position: object = None) -> str:
    # Tick labels follow the active language: a decimal comma in Vietnamese.
    return number_format(round(float(value), 1), 0 if float(value).is_integer() else 1)


def _svg(figure: Figure, labelledby: str) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    text = buffer.getvalue()
    text = text[text.index("<svg") :]  # drop the XML declaration and DOCTYPE: the SVG is inlined
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    # matplotlib numbers its elements figure_1, axes_1...: prefix every id (and reference to one) so
    # that two plots inlined in one page never share an id.
    prefix = labelledby.split()[0]
    text = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}-\1"', text)
    text = re.sub(r'(xlink:href="|href="|url\()#', rf"\1#{prefix}-", text)
    # Scale with the page (the viewBox keeps the aspect ratio) and name the image for assistive tech.
    return re.sub(
        r'<svg([^>]*?) width="[^"]*" height="[^"]*"',
        lambda m: f'<svg{m.group(1)} class="plot" role="img" aria-labelledby="{labelledby}" focusable="false"',
        text,
        count=1,
    )


def distributions_svg(
    names: Sequence[str], raw: Sequence[Sequence[float]], adjusted: Sequence[Sequence[float]], *, labelledby: str
) -> str:
    """Per panel, a box plot of the raw scores beside one of the adjusted scores, every candidate a dot."""
    with matplotlib.rc_context(RC):
        figure = Figure(figsize=(max(5.5, 1.3 * len(names) + 1.5), 4.2))
        axes = figure.subplots()
        rng = np.random.default_rng(0)  # fixed jitter: the same picture on every request
        for index, (before, after) in enumerate(zip(raw, adjusted, strict=True)):
            for offset, values, colour in ((-0.2, before, RAW_COLOUR), (0.2, after, ADJUSTED_COLOUR)):
                position = index + offset
                if len(values) >= 2:
                    axes.boxplot(
                        [values],
                        positions=[position],
                        widths=0.32,
                        showfliers=False,
                        patch_artist=True,
                        boxprops={"facecolor": "white", "edgecolor": colour, "linewidth": 1.4},
                        medianprops={"color": colour, "linewidth": 2},
                        whiskerprops={"color": colour},
                        capprops={"color": colour},
                    )
                jitter = rng.uniform(-0.08, 0.08, size=len(values))
                axes.scatter(position + jitter, values, s=14, color=colour, alpha=0.75, zorder=3, linewidths=0)
        axes.set_xticks(range(len(names)), list(names))
        if len(names) > 6:
            axes.tick_params(axis="x", labelrotation=35)
        axes.set_xlim(-0.6, len(names) - 0.4)
        axes.set_ylabel(_("Score (points)"))
        axes.yaxis.set_major_formatter(FuncFormatter(_number))
        axes.grid(axis="y", color="#e3e7ec")
        axes.set_axisbelow(True)
        axes.scatter([], [], color=RAW_COLOUR, label=_("Raw score"))
        axes.scatter([], [], color=ADJUSTED_COLOUR, label=_("Adjusted score"))
        axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12 if len(names) <= 6 else -0.3), ncols=2)
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
        return _svg(figure, labelledby)


def severity_svg(
    names: Sequence[str],
    severities: Sequence[float],
    standard_errors: Sequence[float | None],
    flagged: Sequence[bool],
    *,
    threshold: float,
    labelledby: str,
) -> str:
    """Each examiner's severity (positive = harsher) with a ±2 SE bar; the shaded band is ± the
    threshold in points; flagged examiners are drawn as red squares (shape, not only colour)."""
    count = len(names)
    with matplotlib.rc_context(RC):
        figure = Figure(figsize=(6.5, 1.2 + 0.38 * count))
        axes = figure.subplots()
        ys = np.arange(count)[::-1]
        axes.axvspan(-threshold, threshold, color="#eef1f4", zorder=0)
        axes.axvline(0, color="#8a939e", linewidth=1, zorder=1)
        for y, severity, se, flag in zip(ys, severities, standard_errors, flagged, strict=True):
            colour = FLAG_COLOUR if flag else ADJUSTED_COLOUR
            axes.errorbar(
                severity,
                y,
                xerr=None if se is None else 2 * se,
                fmt="s" if flag else "o",
                color=colour,
                ecolor=colour,
                elinewidth=1.6,
                capsize=3,
                markersize=6,
                zorder=3,
            )
        axes.set_yticks(ys, list(names))
        axes.set_ylim(-0.7, count - 0.3)
        reach = [abs(s) + 2 * (e or 0) + 0.5 for s, e in zip(severities, standard_errors, strict=True)]
        widest = max([threshold + 1, *reach])
        axes.set_xlim(-widest, widest)
        axes.xaxis.set_major_formatter(FuncFormatter(_number))
        axes.set_xlabel(_("← more lenient   Severity (points)   harsher →"))
        axes.grid(axis="x", color="#e3e7ec")
        axes.set_axisbelow(True)
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
        return _svg(figure, labelledby)
