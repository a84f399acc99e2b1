"""Curves of the Training panel: a series book shared by the plots, and the WIDER AP plot.

Series are keyed (``"loss:small"``, ``"ap_easy"``); x is the optimiser step.
A point at a step not after the series' last one replaces the tail from that
step on (a resumed run re-draws from its checkpoint), so re-drawing history
and live records never doubles a curve.
"""

from __future__ import annotations

import math
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt

from app.canvas.overlays import BRANCH_COLORS, SETTING_COLORS

MAX_POINTS = 5000  # older points are thinned so long runs stay smooth

AP_PREFIX = "ap_"
BRANCH_PREFIX = "ap_branch_"


class CurveBook:
    """Series (x and y lists) and their plot items, on whichever plot each was created."""

    def __init__(self) -> None:
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.series: dict[str, tuple[list[float], list[float]]] = {}

    def add(self, plot: pg.PlotWidget, key: str, label: str, x: float, y: float, pen) -> None:
        if key not in self.curves:
            self.curves[key] = plot.plot([], [], pen=pen, name=label)
            self.series[key] = ([], [])
        xs, ys = self.series[key]
        if xs and x <= xs[-1]:  # history replaced from this step on
            cut = next(i for i, v in enumerate(xs) if v >= x)
            del xs[cut:], ys[cut:]
        xs.append(x)
        ys.append(y)
        if len(xs) > MAX_POINTS:  # keep every other old point: long runs stay light
            del xs[: MAX_POINTS // 2 : 2], ys[: MAX_POINTS // 2 : 2]
        self.curves[key].setData(xs, ys)

    def count(self, prefix: str) -> int:
        return sum(1 for k in self.curves if k.startswith(prefix))

    def clear(self) -> None:
        self.curves.clear()
        self.series.clear()


def eval_metrics(record: dict[str, Any]) -> dict[str, float]:
    """Numeric metrics of an eval record: the engine's nested ``metrics``, or flat keys."""
    source = record.get("metrics")
    if not isinstance(source, dict):
        source = {k: v for k, v in record.items() if k not in ("event", "step")}
    out = {}
    for key, value in source.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue  # e.g. "cancelled": true, or NaN written as a string
        out[key] = float(value)
    return out


def is_ap_metric(key: str) -> bool:
    return key.startswith(AP_PREFIX)


class ApPlot(pg.PlotWidget):
    """Official WIDER AP vs step: easy / medium / hard solid, each branch's own AP dashed.

    ``series`` maps ``"ap_easy"`` ... to ``(steps, APs)`` (what the tests read).
    """

    def __init__(self, parent=None) -> None:
        super().__init__(parent, title="WIDER AP on the evaluation split")
        self.setLabel("bottom", "step")
        self.setLabel("left", "AP")
        self.setYRange(0.0, 1.0)
        # bottom right (AP curves rise towards the top), over a dark backing
        self.addLegend(offset=(-10, -10), brush=pg.mkBrush(0, 0, 0, 170))
        self.showGrid(x=True, y=True, alpha=0.3)
        self.book = CurveBook()

    @property
    def series(self) -> dict[str, tuple[list[float], list[float]]]:
        return self.book.series

    @staticmethod
    def _pen(key: str):
        if key.startswith(BRANCH_PREFIX):
            color = BRANCH_COLORS.get(key[len(BRANCH_PREFIX) :])
            rgb = (color.red(), color.green(), color.blue()) if color is not None else (200, 200, 200)
            return pg.mkPen(color=rgb, width=1.5, style=Qt.PenStyle.DashLine)
        return pg.mkPen(color=SETTING_COLORS.get(key[len(AP_PREFIX) :], (200, 200, 200)), width=2.5)

    @staticmethod
    def _label(key: str) -> str:
        if key.startswith(BRANCH_PREFIX):
            return f"{key[len(BRANCH_PREFIX) :]} branch"
        return key[len(AP_PREFIX) :]

    def add_record(self, record: dict[str, Any]) -> bool:
        """Plot an eval record's APs; False when it has none (cancelled, quick metrics)."""
        step = record.get("step")
        if not isinstance(step, (int, float)):
            return False
        aps = {k: v for k, v in eval_metrics(record).items() if is_ap_metric(k) and math.isfinite(v)}
        # settings first, branches after: a stable legend order
        for key in sorted(aps, key=lambda k: (k.startswith(BRANCH_PREFIX), _order(k))):
            self.book.add(self, key, self._label(key), float(step), aps[key], self._pen(key))
        return bool(aps)

    def clear_curves(self) -> None:
        self.clear()
        self.book.clear()


def _order(key: str) -> tuple[int, str]:
    if key.startswith(BRANCH_PREFIX):
        name, ranking = key[len(BRANCH_PREFIX) :], ("small", "medium", "large")
    else:
        name, ranking = key[len(AP_PREFIX) :], ("easy", "medium", "hard", "all_faces")
    return (ranking.index(name) if name in ranking else len(ranking), name)


def _nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """About ``count`` round values (1, 2 or 5 × 10^k apart) between ``low`` and ``high``."""
    span = high - low
    if span <= 0 or not math.isfinite(span):
        return [low] if math.isfinite(low) else []
    magnitude = 10 ** math.floor(math.log10(span / count))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= span / count)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


class ValueAxis(pg.AxisItem):
    """A left axis whose log scale keeps values: pyqtgraph labels only decades and their
    2…9 multiples, so a loss moving within one decade (2.71 → 2.76) showed no value at all."""

    def logTickValues(self, minVal, maxVal, size, stdTicks):
        ticks = super().logTickValues(minVal, maxVal, size, stdTicks)
        inside = sum(minVal <= v <= maxVal for _, values in ticks for v in values)
        if inside >= 2:
            return ticks
        values = [v for v in _nice_ticks(10**minVal, 10**maxVal) if v > 0]
        return [(None, [math.log10(v) for v in values])]

    def logTickStrings(self, values, scale, spacing):
        numbers = [10 ** float(v) * scale for v in values]
        if all(1e-3 <= abs(x) < 1e4 for x in numbers):
            return [f"{x:.3g}" for x in numbers]
        return super().logTickStrings(values, scale, spacing)


def step_plot(title: str, value_label: str = "", log_y: bool = False) -> pg.PlotWidget:
    """A plot over optimiser steps whose left axis shows its values (a :class:`ValueAxis`)."""
    plot = pg.PlotWidget(title=title, axisItems={"left": ValueAxis("left")})
    plot.setLabel("bottom", "step")
    if value_label:
        plot.setLabel("left", value_label)
    axis = plot.getPlotItem().getAxis("left")
    axis.setWidth(48)  # room for "0.001" before the first points
    axis.enableAutoSIPrefix(False)  # a loss of 0.69 reads 0.69, not 690 × 0.001
    plot.setLogMode(y=log_y)
    plot.addLegend(offset=(-10, 10))
    plot.showGrid(x=True, y=True, alpha=0.3)
    return plot
