"""The report's charts as PNG bytes: horizontal bars for a breakdown (grouped when the year before is
beside it), grouped columns for the months, the days to reply and the ratings.

Drawn with matplotlib's object API (``matplotlib.figure.Figure`` on the Agg canvas, never pyplot),
so each call builds its own figure and is safe in the server's worker threads. matplotlib is
imported inside the functions: importing this module (or the CLI) loads nothing of it.
Colours are the Okabe-Ito palette, told apart by people with any common colour-vision deficiency;
every bar also carries its number and every series after the first a hatch, so no chart relies on
colour alone. Every chart has a title and labelled axes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

#: Okabe-Ito: blue, orange, bluish green, vermillion, sky blue, reddish purple, yellow, black.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#000000")
#: The second and later series are hatched too: told apart without colour, and in grey print.
HATCHES = ("", "///", "...", "xxx", "\\\\\\", "ooo", "---", "+++")
INK, GRID = "#1d2330", "#d5d9e0"
WIDTH = 7.5  # inches, at DPI: 750 pixels wide
DPI = 100


def horizontal_bars(title: str, labels: Sequence[str], values: Sequence[float], *, xlabel: str,
                    ylabel: str = "") -> bytes:
    """One bar per label, the largest on top, each with its value at its end."""
    return horizontal_groups(title, labels, {"": values}, xlabel=xlabel, ylabel=ylabel)


def horizontal_groups(title: str, labels: Sequence[str], series: Mapping[str, Sequence[float | None]], *,
                      xlabel: str, ylabel: str = "") -> bytes:
    """One group of horizontal bars per label (the first label on top), one bar per series in ``series``
    order, each with its value at its end; a legend when there are several series. Series after the first
    are hatched as well as coloured, so they are told apart in grey print too. None draws no bar."""
    from matplotlib.ticker import MaxNLocator

    labels = list(labels)
    count = max(len(series), 1)
    height = 0.8 / count if count > 1 else 0.65
    figure = _figure(height=1.5 + (0.22 * count + 0.16) * max(len(labels), 1) + (0.3 if count > 1 else 0))
    axes = figure.add_subplot()
    top = max([1, *(v for values in series.values() for v in values if v is not None)])
    positions = list(range(len(labels)))[::-1]  # matplotlib draws the first bar at the bottom
    for i, (name, values) in enumerate(series.items()):
        values = list(values)
        offsets = [p + (count - 1) / 2 * height - i * height for p in positions] if count > 1 else positions
        bars = axes.barh(offsets, [v or 0 for v in values], color=OKABE_ITO[i % len(OKABE_ITO)], height=height,
                         label=name or None, hatch=HATCHES[i % len(HATCHES)], edgecolor="white", linewidth=0.5)
        axes.bar_label(bars, labels=["" if v is None else _number(v) for v in values], padding=3, color=INK,
                       fontsize=8 if count > 1 else 9)
    axes.set_yticks(positions, [_short(label) for label in labels])
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlim(0, top * 1.14)
    axes.grid(axis="x", color=GRID, linewidth=0.8)
    if count > 1:
        figure.legend(frameon=False, fontsize=9, loc="outside lower center", ncols=min(count, 4))
    _finish(axes, title, xlabel, ylabel)
    return _png(figure)


def grouped_columns(title: str, categories: Sequence[str], series: Mapping[str, Sequence[float]], *,
                    ylabel: str, xlabel: str = "Month") -> bytes:
    """Grouped columns: one group per category (a month, a rating...), one bar per series (in ``series``
    order, hatched after the first), with a legend when there are several series."""
    from matplotlib.ticker import MaxNLocator

    figure = _figure(height=3.9)
    axes = figure.add_subplot()
    count = max(len(series), 1)
    width = 0.8 / count
    top = max([1, *(v for values in series.values() for v in values)])
    for i, (name, values) in enumerate(series.items()):
        offsets = [m - 0.4 + width * (i + 0.5) for m in range(len(categories))]
        bars = axes.bar(offsets, list(values), width=width, label=name or None, color=OKABE_ITO[i % len(OKABE_ITO)],
                        hatch=HATCHES[i % len(HATCHES)], edgecolor="white", linewidth=0.5)
        if len(categories) * count <= 40:
            axes.bar_label(bars, labels=[_number(v) if v else "" for v in values], padding=1, fontsize=8, color=INK)
    step = max(1, math.ceil(len(categories) / 24))  # a long period labels every other month (or fewer)
    axes.set_xticks(range(0, len(categories), step), list(categories)[::step])
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylim(0, top * 1.15)
    axes.grid(axis="y", color=GRID, linewidth=0.8)
    if count > 1:
        figure.legend(frameon=False, fontsize=9, loc="outside lower center", ncols=min(count, 4))
    _finish(axes, title, xlabel, ylabel)
    return _png(figure)


# ---------------------------------------------------------------- plumbing
def _figure(height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(WIDTH, min(height, 12)), dpi=DPI, layout="constrained")


def _finish(axes, title: str, xlabel: str, ylabel: str) -> None:
    axes.set_title(title, loc="left", fontsize=12, fontweight="bold", color=INK)
    axes.set_xlabel(xlabel, color=INK)
    axes.set_ylabel(ylabel, color=INK)
    axes.set_axisbelow(True)
    axes.tick_params(colors=INK, labelsize=9)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)


def _png(figure) -> bytes:
    from io import BytesIO

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = BytesIO()
    figure.savefig(buffer, format="png", facecolor="white")
    return buffer.getvalue()


def _number(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _short(label: str, limit: int = 38) -> str:
    label = " ".join(str(label).split())
    return label if len(label) <= limit else label[: limit - 1] + "…"
