"""A measure's evolution drawn on the server as plain SVG: no JavaScript, no build step.

``build_chart`` turns a series into coordinates, ticks and a text description;
the template ``record/profile/_chart.html`` draws it with a <title> and <desc>
so screen readers announce what the chart shows (the table under it gives
every value).
"""

import math
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from django.utils import formats, timezone

from .reference import MeasureType, french_number

if TYPE_CHECKING:
    from .measures import MeasurePoint, Target

WIDTH, HEIGHT = 720, 320
LEFT, RIGHT, TOP, BOTTOM = 64, 24, 20, 56
# DSFR blue France and red Marianne; the two series also differ by marker shape.
COLOURS = ("#000091", "#c9191e")
MAX_POINTS = 400


@dataclass
class ChartPoint:
    x: float
    y: float
    label: str

    @property
    def corner_x(self) -> float:  # top-left corner of a 10 x 10 square marker
        return self.x - 5

    @property
    def corner_y(self) -> float:
        return self.y - 5


@dataclass
class Series:
    name: str
    colour: str
    shape: str  # "circle" or "square", so colour is never the only difference
    points: list[ChartPoint] = field(default_factory=list)

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


@dataclass
class Tick:
    position: float
    label: str
    anchor: str = "middle"  # the first and last dates stay inside the chart


@dataclass
class Chart:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    title: str
    description: str
    unit_label: str
    series: list[Series]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    target_lines: list[Tick]

    @property
    def plot_right(self) -> int:
        return self.width - self.right

    @property
    def plot_bottom(self) -> int:
        return self.height - self.bottom

    @property
    def x_axis_label_y(self) -> int:
        return self.height - 12

    @property
    def y_axis_label_x(self) -> int:
        return 16

    @property
    def mid_y(self) -> float:
        return (self.top + self.plot_bottom) / 2

    @property
    def mid_x(self) -> float:
        return (self.left + self.plot_right) / 2

    @property
    def point_count(self) -> int:
        return sum(len(s.points) for s in self.series)


def _nice_step(span: float, count: int = 5) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) giving about ``count`` ticks."""
    raw = span / max(count, 1)
    # int ** int is typed Any (a negative exponent gives a float); the value is kept as is.
    magnitude: float = 10 ** math.floor(math.log10(raw))
    for step in (1, 2, 2.5, 5):
        if raw <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high <= low:
        high = low + 1
    step = _nice_step(high - low, count)
    start = (low // step) * step
    values, value = [], start
    while value <= high + step * 0.001:
        values.append(round(value, 6))
        value += step
    if values[-1] < high:
        values.append(round(values[-1] + step, 6))
    return values


def _date_label(moment: datetime) -> str:
    return formats.date_format(timezone.localtime(moment), "j N Y")


def build_chart(
    measure: MeasureType,
    points: list["MeasurePoint"],
    target: "Target | None" = None,
) -> Chart | None:
    """Coordinates of ``points`` (MeasurePoint, any order); None when there is nothing to draw."""
    if not points:
        return None
    ordered = sorted(points, key=lambda p: p.measured_at)[-MAX_POINTS:]
    # Drawn in the unit of the latest value: who types g/L reads g/L.
    unit = measure.unit_for(ordered[-1].unit) or measure.unit
    scale = float(unit.factor)
    names = [c.label.split(" (")[0] for c in measure.components] or [measure.label]
    values = [[float(p.chart_value) / scale for p in ordered]]
    if measure.components:
        values.append([float(p.chart_second_value or 0) / scale for p in ordered])
    flat = [v for series in values for v in series]
    targets = []
    if target is not None:  # targets are kept in the type's first unit
        targets = [float(target.value) / scale]
        if target.second_value is not None:
            targets.append(float(target.second_value) / scale)
    low, high = min(flat + targets), max(flat + targets)
    padding = (high - low) * 0.1 or max(abs(high) * 0.05, 1)
    y_values = _ticks(max(low - padding, 0) if low >= 0 else low - padding, high + padding)
    y_min, y_max = y_values[0], y_values[-1]

    times = [p.measured_at.timestamp() for p in ordered]
    t_min, t_max = min(times), max(times)
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM

    def x_of(t: float) -> float:
        if t_max == t_min:
            return LEFT + plot_w / 2
        return LEFT + (t - t_min) / (t_max - t_min) * plot_w

    def y_of(v: float) -> float:
        return TOP + (1 - (v - y_min) / (y_max - y_min)) * plot_h

    series = []
    for index, (name, column) in enumerate(zip(names, values, strict=False)):
        s = Series(name, COLOURS[index % 2], "circle" if index == 0 else "square")
        for point, value in zip(ordered, column, strict=True):
            text = french_number(Decimal(str(value)), unit.decimals)
            if measure.components:
                label = f"{name} : {text} {unit.label}, le {_date_label(point.measured_at)}"
            else:
                label = f"{text} {unit.label}, le {_date_label(point.measured_at)}"
            s.points.append(ChartPoint(x_of(point.measured_at.timestamp()), y_of(value), label))
        series.append(s)

    x_ticks = []
    tick_count = min(len(ordered), 5)
    for i in range(tick_count):
        t = t_min if tick_count == 1 else t_min + (t_max - t_min) * i / (tick_count - 1)
        moment = datetime.fromtimestamp(t, tz=timezone.get_current_timezone())
        anchor = "middle" if 0 < i < tick_count - 1 else ("start" if i == 0 else "end")
        x_ticks.append(Tick(x_of(t), _date_label(moment), anchor if tick_count > 1 else "middle"))
    y_ticks = [Tick(y_of(v), french_number(Decimal(str(v)))) for v in y_values]
    target_lines = [Tick(y_of(v), french_number(Decimal(str(v)), unit.decimals)) for v in targets]

    first, last = ordered[0], ordered[-1]
    described = [f"{len(ordered)} mesure{'s' if len(ordered) > 1 else ''}"]
    if len(ordered) > 1:
        described.append(f"du {_date_label(first.measured_at)} au {_date_label(last.measured_at)}")
    else:
        described.append(f"le {_date_label(first.measured_at)}")
    for name, column in zip(names, values, strict=False):
        lo = french_number(Decimal(str(min(column))), unit.decimals)
        hi = french_number(Decimal(str(max(column))), unit.decimals)
        final = french_number(Decimal(str(column[-1])), unit.decimals)
        described.append(
            f"{name} : de {lo} à {hi} {unit.label}, dernière valeur {final} {unit.label}"
        )
    if targets:
        described.append(
            "objectif : "
            + "/".join(french_number(Decimal(str(t)), unit.decimals) for t in targets)
            + f" {unit.label}"
        )
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right=RIGHT,
        top=TOP,
        bottom=BOTTOM,
        title=f"Évolution : {measure.label.lower()}",
        description="Graphique de " + " ; ".join(described) + ".",
        unit_label=unit.label,
        series=series,
        x_ticks=x_ticks,
        y_ticks=y_ticks,
        target_lines=target_lines,
    )
