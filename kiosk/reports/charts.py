"""The dashboard's two charts, as geometry: where each bar, segment, point and label goes. The
markup is drawn by the Jinja SVG templates ``dashboard/_chart_kecamatan.html`` and
``dashboard/_chart_hours.html``, which escape every name like any other page.

Fills stay distinct in black-and-white print (solid, dots, hatch, outline) and every bar and
point has its number written beside it: never colour alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from .coverage import STATUS_LABELS, STATUSES, StatusCount

STATUS_FILL = {
    "aktif": "#0b6b2f",
    "belum_aktif": "url(#pat-belum)",
    "berakhir": "url(#pat-berakhir)",
    "tanpa": "#ffffff",
}


@dataclass(frozen=True)
class Segment:
    """One status's part of a bar."""

    code: str
    x: float
    width: float
    fill: str


@dataclass(frozen=True)
class Bar:
    """One kecamatan: its label, its segments, and "active / total" written after them."""

    label: str
    y: int
    segments: list[Segment]
    counts: list[tuple[object, int]]  # (status label, count) for the bar's tooltip
    value_x: float
    value: str


@dataclass(frozen=True)
class LegendItem:
    code: str
    x: int
    fill: str
    label: object


@dataclass
class BarChart:
    """Stacked horizontal bars: workers per coverage status for each kecamatan."""

    width: int
    height: int
    label_width: int
    row_height: int
    top: int
    active: int
    total: int
    legend: list[LegendItem] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)


def coverage_bars(rows: Sequence[StatusCount]) -> BarChart:
    """The bar chart of ``coverage.coverage_summary`` rows (one per kecamatan)."""
    label_w, bar_w, number_w, row_h, top = 170, 420, 130, 26, 40
    peak = max([r.total for r in rows] + [1])
    chart = BarChart(
        width=label_w + bar_w + number_w, height=top + row_h * max(len(rows), 1) + 10,
        label_width=label_w, row_height=row_h, top=top,
        active=sum(r.aktif for r in rows), total=sum(r.total for r in rows),
    )
    legend_x = 0
    for code in STATUSES:
        chart.legend.append(LegendItem(code, legend_x, STATUS_FILL[code], STATUS_LABELS[code]))
        legend_x += 34 + 8 * len(str(STATUS_LABELS[code]))
    for i, row in enumerate(rows):
        x = float(label_w)
        segments = []
        for code in STATUSES:
            value = getattr(row, code)
            if value:
                width = bar_w * value / peak
                segments.append(Segment(code, round(x, 1), round(max(width, 1), 1), STATUS_FILL[code]))
                x += width
        chart.bars.append(Bar(
            label=row.label, y=top + i * row_h, segments=segments,
            counts=[(STATUS_LABELS[c], getattr(row, c)) for c in STATUSES],
            value_x=round(x + 6, 1), value=f"{row.aktif} / {row.total}",
        ))
    return chart


@dataclass(frozen=True)
class Point:
    hour: str  # "09"
    count: int
    x: float
    y: float


@dataclass
class LineChart:
    """Packages handed out per hour (Asia/Jakarta), each point labelled with its count."""

    width: int
    height: int
    left: int
    right: int
    bottom: int
    total: int
    busiest: Point | None
    gridlines: list[tuple[float, int]] = field(default_factory=list)  # (y, value)
    points: list[Point] = field(default_factory=list)

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


def collections_line(per_hour: Sequence[tuple[int, int]]) -> LineChart:
    """The line chart of ``dashboard.collections_per_hour``: (hour, packages) pairs."""
    width, height, left, right, top, bottom = 720, 260, 44, 30, 24, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([c for _, c in per_hour] + [1])
    n = max(len(per_hour) - 1, 1)
    points = [
        Point(f"{hour:02d}", count, round(left + plot_w * i / n, 1), round(top + plot_h * (1 - count / peak), 1))
        for i, (hour, count) in enumerate(per_hour)
    ]
    total = sum(p.count for p in points)
    return LineChart(
        width=width, height=height, left=left, right=right, bottom=bottom, total=total,
        busiest=max(points, key=lambda p: p.count) if total else None,
        gridlines=[(round(top + plot_h * (1 - frac), 1), round(peak * frac)) for frac in (0, 0.5, 1)],
        points=points,
    )
