"""Chart geometry for server-rendered SVG: scores over time against a target, and progress
ratings over sessions. Pure functions; the template (sessions/_chart.html) draws the result."""
import datetime as dt
from dataclasses import dataclass, field

WIDTH, HEIGHT = 560, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 16, 14, 34
BAND_SHADES = ("#e9f5ec", "#f6f6e4", "#fbf0df", "#fbe6dc", "#f8dcdc")


@dataclass
class Point:
    x: float
    y: float
    day: dt.date
    value: int
    label: str = ""


@dataclass
class Chart:
    key: str  # unique per page, for the title/desc ids
    title: str
    desc: str
    points: list[Point]
    y_ticks: list[tuple[float, int]]
    x_ticks: list[tuple[float, str]]
    target: tuple[float, str] | None = None
    bands: list[tuple[float, float, str, str]] = field(default_factory=list)  # y, height, label, fill
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


def _step(span: int) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100):
        if span / step <= 6:
            return step
    return max(1, span // 5)


def _scale(points, low, high):
    plot_w, plot_h = WIDTH - RIGHT - LEFT, HEIGHT - BOTTOM - TOP
    span = max(high - low, 1)

    def y_of(value):
        return TOP + plot_h * (1 - (value - low) / span)

    days = [day for day, _v in points]
    first, last = (min(days), max(days)) if days else (None, None)
    total = (last - first).days if days else 0

    def x_of(day, index, count):
        if total == 0:  # one day (or several scores on it): spread evenly
            return LEFT + plot_w * ((index + 1) / (count + 1))
        return LEFT + plot_w * ((day - first).days / total)
    return x_of, y_of


def _x_ticks(points_xy: list[Point]) -> list[tuple[float, str]]:
    if not points_xy:
        return []
    chosen = [points_xy[0], points_xy[-1]] if len(points_xy) > 1 else [points_xy[0]]
    if len(points_xy) > 2:
        chosen.insert(1, points_xy[len(points_xy) // 2])
    out, seen = [], set()
    for p in chosen:
        if p.day not in seen:
            seen.add(p.day)
            out.append((p.x, p.day.strftime("%d %b %Y")))
    return out


def line_chart(key: str, title: str, desc: str, values: list[tuple[dt.date, int]], low: int,
               high: int, labels: list[str] | None = None, target: tuple[int, str] | None = None,
               bands=()) -> Chart:
    """`values` are (day, value) in date order; `target` is (value, caption); `bands` are
    (low, high, label) ranges drawn as a light background."""
    x_of, y_of = _scale(values, low, high)
    points = [Point(x_of(day, i, len(values)), y_of(value), day, value,
                    (labels[i] if labels else ""))
              for i, (day, value) in enumerate(values)]
    step = _step(high - low)
    y_ticks = [(y_of(v), v) for v in range(low, high + 1, step)]
    if high - y_ticks[-1][1] >= step / 2:  # label the top unless it would crowd the last tick
        y_ticks.append((y_of(high), high))
    drawn_bands = []
    for i, (b_low, b_high, label) in enumerate(bands):
        top_y, bottom_y = y_of(min(b_high + 1, high) if b_high < high else high), y_of(b_low)
        drawn_bands.append((top_y, bottom_y - top_y, label, BAND_SHADES[min(i, len(BAND_SHADES) - 1)]))
    target_line = None
    if target is not None and low <= target[0] <= high:
        target_line = (y_of(target[0]), target[1])
    return Chart(key=key, title=title, desc=desc, points=points, y_ticks=y_ticks,
                 x_ticks=_x_ticks(points), target=target_line, bands=drawn_bands)


def score_chart(instrument, scores, target=None) -> Chart:
    """One instrument's scores over time. `instrument`: core.measures.Instrument; `scores`:
    MeasureScore rows in date order; `target`: core.measures.Target or None."""
    values = [(s.taken_on, s.score) for s in scores]
    caption = None
    if target is not None:
        caption = (target.value, f"Target: {target.op.replace('<=', '≤').replace('>=', '≥')} "
                                 f"{target.value}")
    summary = ", ".join(f"{s.score} on {s.taken_on:%d %b %Y}" for s in scores[-6:])
    desc = (f"{instrument.name} scores from {instrument.min_score} to {instrument.max_score} over "
            f"time: {summary or 'none yet'}."
            + (f" The target line is at {target.value}." if target else ""))
    return line_chart(f"score-{instrument.name}", f"{instrument.name} scores over time", desc, values,
                      instrument.min_score, instrument.max_score,
                      [instrument.band(s.score) for s in scores], caption, instrument.bands)


def rating_chart(key: str, goal_title: str, ratings: list[tuple[dt.date, int]]) -> Chart:
    summary = ", ".join(f"{r} on {d:%d %b %Y}" for d, r in ratings[-6:])
    return line_chart(key, f"Progress ratings: {goal_title}",
                      f"Session ratings from 0 to 10 for the goal \u201c{goal_title}\u201d: "
                      f"{summary or 'none yet'}.", ratings, 0, 10)
