"""One description of a chart, three outputs: inline SVG on screen, the same SVG in PDF
reports (WeasyPrint renders it), and table-and-div bars for email.

No JavaScript, no external fonts (generic sans-serif), every text escaped. The SVG carries
a <title> and a <desc> summing the data up, so a screen reader gets the gist without
reading every bar; each bar or point carries its own <title> with the exact value.
Bars with long labels (partner names) are drawn horizontally so the names stay readable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape

from django.utils.safestring import SafeString, mark_safe

# Colour-blind-safe palette (Okabe-Ito, starting with the app's blue).
PALETTE = ("#1f5fbf", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442",
           "#7f7f7f", "#000000")
FONT = "font-family:Helvetica,Arial,sans-serif"

CHART_KINDS = ("bar", "stacked", "line")


@dataclass
class Series:
    name: str
    values: list[float | int | None]


@dataclass
class ChartSpec:
    kind: str  # bar | stacked | line
    title: str
    labels: list[str]
    series: list[Series] = field(default_factory=list)
    unit: str = ""  # e.g. "referrals", "days", "%"

    def __post_init__(self) -> None:
        if self.kind not in CHART_KINDS:
            raise ValueError(f"Unknown chart kind {self.kind!r}.")
        for s in self.series:
            if len(s.values) != len(self.labels):
                raise ValueError(f"Series {s.name!r} has {len(s.values)} values for "
                                 f"{len(self.labels)} labels.")


def _num(v: float | int | None) -> float:
    return float(v) if v is not None else 0.0


def _fmt(v: float | int | None, unit: str = "") -> str:
    if v is None:
        return "no data"
    text = f"{v:,.1f}" if isinstance(v, float) and not v.is_integer() else f"{int(v):,}"
    if unit == "%":
        return f"{text}%"
    return f"{text} {unit}" if unit else text


def _nice_max(top: float) -> tuple[float, float]:
    """A round axis maximum and tick step above `top` (1, 2, 2.5, 5 x 10^n)."""
    if top <= 0:
        return 1.0, 1.0
    raw = top / 4
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        step = m * mag
        if step >= raw:
            break
    if step < 1 and top >= 1:
        step = 1
    return step * math.ceil(top / step), step


def _totals(spec: ChartSpec) -> list[float]:
    return [sum(_num(s.values[i]) for s in spec.series) for i in range(len(spec.labels))]


def _describe(spec: ChartSpec) -> str:
    if not spec.labels or not spec.series:
        return "No data."
    values = _totals(spec) if spec.kind == "stacked" else [_num(v) for v in spec.series[0].values]
    if not any(values):
        return f"All values are zero from {spec.labels[0]} to {spec.labels[-1]}."
    peak = max(range(len(values)), key=lambda i: values[i])
    what = "total" if spec.kind == "stacked" else spec.series[0].name
    names = ", ".join(s.name for s in spec.series)
    return (f"{len(spec.labels)} points ({spec.labels[0]} to {spec.labels[-1]}); series: "
            f"{names}. Highest {what}: {spec.labels[peak]} "
            f"({_fmt(values[peak], spec.unit)}).")


def _horizontal(spec: ChartSpec) -> bool:
    return spec.kind != "line" and any(len(label) > 10 for label in spec.labels)


def _short(label: str, n: int = 28) -> str:
    return label if len(label) <= n else label[: n - 1] + "\u2026"


def chart_svg(spec: ChartSpec, *, id_prefix: str = "chart") -> SafeString:
    """The chart as an inline <svg> element (screen and PDF)."""
    title_id, desc_id = f"{id_prefix}-title", f"{id_prefix}-desc"
    body = (_svg_horizontal(spec) if _horizontal(spec) else _svg_vertical(spec))
    width, height, parts = body
    legend, legend_h = _legend(spec, width, height) if len(spec.series) > 1 else ([], 0)
    height += legend_h
    out = [
        f'<svg class="report-chart" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'aria-labelledby="{escape(title_id)} {escape(desc_id)}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" style="{FONT};font-size:11px" '
        f'preserveAspectRatio="xMinYMin meet">',
        f'<title id="{escape(title_id)}">{escape(spec.title)}</title>',
        f'<desc id="{escape(desc_id)}">{escape(_describe(spec))}</desc>',
        f'<text class="chart-title" x="8" y="16" font-size="13" font-weight="bold" '
        f'fill="#1d2939">{escape(spec.title)}</text>',
        *parts,
        *legend,
        "</svg>",
    ]
    # Every piece of text went through escape(); the markup is ours.
    return mark_safe("".join(out))


def _legend(spec: ChartSpec, width: int, y0: int) -> tuple[list[str], int]:
    """Colour keys under the plot, wrapping to new rows at the chart's width."""
    parts, x, row = [], 8, 0
    for i, s in enumerate(spec.series):
        w = 24 + 7 * len(_short(s.name, 24))
        if x + w > width and x > 8:
            x, row = 8, row + 1
        y = y0 + row * 16
        parts.append(
            f'<g class="legend-item"><rect x="{x}" y="{y}" width="10" height="10" '
            f'fill="{PALETTE[i % len(PALETTE)]}"/><text x="{x + 14}" y="{y + 9}" '
            f'fill="#344054">{escape(_short(s.name, 24))}</text></g>')
        x += w
    return parts, 16 * (row + 1) + 8


def _svg_vertical(spec: ChartSpec) -> tuple[int, int, list[str]]:
    n = max(len(spec.labels), 1)
    left, top, plot_h, bottom = 52, 40, 160, 40
    slot = max(18, min(60, 720 // n))
    width = left + slot * n + 16
    height = top + plot_h + bottom
    base = top + plot_h
    if spec.kind == "stacked":
        top_value = max(_totals(spec), default=0)
    else:
        top_value = max((_num(v) for s in spec.series for v in s.values), default=0)
    axis_max, step = _nice_max(top_value)
    parts: list[str] = []
    ticks = int(round(axis_max / step))
    for t in range(ticks + 1):
        value = step * t
        y = base - value / axis_max * plot_h
        parts.append(f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{width - 16}" '
                     f'y2="{y:.1f}" stroke="#e4e7ec" stroke-width="1"/>')
        parts.append(f'<text class="tick" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" '
                     f'fill="#475467">{escape(_fmt(value))}</text>')
    if spec.unit:
        parts.append(f'<text class="unit" x="8" y="{top - 8}" fill="#475467">'
                     f'{escape(spec.unit)}</text>')
    parts.append(f'<line class="axis" x1="{left}" y1="{base}" x2="{width - 16}" y2="{base}" '
                 f'stroke="#98a2b3" stroke-width="1"/>')
    # Thin out the category labels so they never overlap (every k-th; each bar's own
    # <title> still names it).
    every = max(1, math.ceil(46 / slot))
    for i, label in enumerate(spec.labels):
        cx = left + slot * i + slot / 2
        if i % every == 0:
            parts.append(f'<text class="label" x="{cx:.1f}" y="{base + 14}" text-anchor="middle" '
                         f'fill="#344054">{escape(_short(label, 12))}</text>')

    def y_of(v: float) -> float:
        return base - v / axis_max * plot_h

    if spec.kind == "line":
        for si, s in enumerate(spec.series):
            colour = PALETTE[si % len(PALETTE)]
            points = [(left + slot * i + slot / 2, y_of(_num(v)), v, spec.labels[i])
                      for i, v in enumerate(s.values) if v is not None]
            if len(points) > 1:
                path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in points)
                parts.append(f'<polyline class="line" points="{path}" fill="none" '
                             f'stroke="{colour}" stroke-width="2"/>')
            for x, y, v, label in points:
                parts.append(f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="3" '
                             f'fill="{colour}"><title>{escape(s.name)}, {escape(label)}: '
                             f'{escape(_fmt(v, spec.unit))}</title></circle>')
        return width, height, parts

    k = len(spec.series) or 1
    bar_w = (slot * 0.7) / (1 if spec.kind == "stacked" else k)
    for i, label in enumerate(spec.labels):
        x0 = left + slot * i + slot * 0.15
        stack = 0.0
        parts.append(f'<g class="group" data-label="{escape(label)}">')
        for si, s in enumerate(spec.series):
            v = _num(s.values[i])
            colour = PALETTE[si % len(PALETTE)]
            if spec.kind == "stacked":
                y1, y2 = y_of(stack + v), y_of(stack)
                x = x0
                stack += v
            else:
                y1, y2 = y_of(v), base
                x = x0 + bar_w * si
            h = max(y2 - y1, 1.0 if v else 0.0)
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{y2 - h:.1f}" width="{bar_w:.1f}" '
                f'height="{h:.1f}" fill="{colour}" data-value="{v:g}"><title>'
                f'{escape(s.name)}, {escape(label)}: {escape(_fmt(s.values[i], spec.unit))}'
                f'</title></rect>')
        parts.append("</g>")
    return width, height, parts


def _svg_horizontal(spec: ChartSpec) -> tuple[int, int, list[str]]:
    n = max(len(spec.labels), 1)
    k = 1 if spec.kind == "stacked" else max(len(spec.series), 1)
    left, top, plot_w, right = 190, 30, 420, 60
    row_h = 8 + 12 * k
    width = left + plot_w + right
    height = top + row_h * n + 24
    if spec.kind == "stacked":
        top_value = max(_totals(spec), default=0)
    else:
        top_value = max((_num(v) for s in spec.series for v in s.values), default=0)
    axis_max, _ = _nice_max(top_value)
    parts: list[str] = []
    parts.append(f'<line class="axis" x1="{left}" y1="{top}" x2="{left}" '
                 f'y2="{top + row_h * n}" stroke="#98a2b3" stroke-width="1"/>')
    for i, label in enumerate(spec.labels):
        y0 = top + row_h * i + 4
        parts.append(f'<g class="group" data-label="{escape(label)}">')
        parts.append(f'<text class="label" x="{left - 6}" y="{y0 + row_h / 2}" '
                     f'text-anchor="end" fill="#344054">{escape(_short(label))}</text>')
        stack = 0.0
        for si, s in enumerate(spec.series):
            v = _num(s.values[i])
            colour = PALETTE[si % len(PALETTE)]
            w = v / axis_max * plot_w
            if v and w < 1:
                w = 1
            if spec.kind == "stacked":
                x, y = left + stack / axis_max * plot_w, y0
                stack += v
            else:
                x, y = left, y0 + 12 * si
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="11" '
                f'fill="{colour}" data-value="{v:g}"><title>{escape(s.name)}, '
                f'{escape(label)}: {escape(_fmt(s.values[i], spec.unit))}</title></rect>')
            if spec.kind != "stacked":
                parts.append(f'<text class="value" x="{x + w + 4:.1f}" y="{y + 9:.1f}" '
                             f'fill="#344054">{escape(_fmt(s.values[i]))}</text>')
        if spec.kind == "stacked":
            parts.append(f'<text class="value" x="{left + stack / axis_max * plot_w + 4:.1f}" '
                         f'y="{y0 + 9}" fill="#344054">{escape(_fmt(stack))}</text>')
        parts.append("</g>")
    if spec.unit:
        parts.append(f'<text class="unit" x="{left}" y="{top + row_h * n + 16}" '
                     f'fill="#475467">{escape(spec.unit)}</text>')
    return width, height, parts


def chart_html(spec: ChartSpec) -> SafeString:
    """The chart for email: a table with inline-styled div bars (no SVG, no images, no
    CSS classes), which every mail client shows, and the exact numbers beside the bars."""
    cell = "padding:2px 6px;font-size:12px;color:#344054;vertical-align:middle"
    out = [f'<table role="presentation" cellpadding="0" cellspacing="0" '
           f'style="border-collapse:collapse;{FONT}">',
           f'<caption style="text-align:left;font-weight:bold;font-size:14px;'
           f'padding:4px 6px">{escape(spec.title)}</caption>']
    if len(spec.series) > 1:
        keys = "".join(
            f'<span style="display:inline-block;width:10px;height:10px;'
            f'background:{PALETTE[i % len(PALETTE)]};margin:0 4px 0 8px"></span>{escape(s.name)}'
            for i, s in enumerate(spec.series))
        out.append(f'<tr><td colspan="3" style="{cell}">{keys}</td></tr>')
    top_value = max(_totals(spec) if spec.kind == "stacked" else
                    [_num(v) for s in spec.series for v in s.values], default=0) or 1
    for i, label in enumerate(spec.labels):
        bars = []
        if spec.kind == "stacked":
            segs = "".join(
                f'<td style="background:{PALETTE[si % len(PALETTE)]};height:12px;'
                f'width:{max(round(_num(s.values[i]) / top_value * 240), 1)}px;'
                f'font-size:1px;line-height:1px">&nbsp;</td>'
                for si, s in enumerate(spec.series) if _num(s.values[i]))
            bars.append(f'<table role="presentation" cellpadding="0" cellspacing="0"><tr>'
                        f'{segs or "<td></td>"}</tr></table>')
            values = _fmt(_totals(spec)[i], spec.unit)
        else:
            for si, s in enumerate(spec.series):
                w = round(_num(s.values[i]) / top_value * 240)
                bars.append(f'<div style="background:{PALETTE[si % len(PALETTE)]};height:10px;'
                            f'width:{max(w, 1) if _num(s.values[i]) else 0}px;'
                            f'margin:1px 0;font-size:1px;line-height:1px">&nbsp;</div>')
            values = " / ".join(_fmt(s.values[i], spec.unit) for s in spec.series)
        out.append(f'<tr><td style="{cell};text-align:right;white-space:nowrap">'
                   f'{escape(label)}</td><td style="{cell};width:250px">{"".join(bars)}</td>'
                   f'<td style="{cell};white-space:nowrap">{escape(values)}</td></tr>')
    if not spec.labels:
        out.append(f'<tr><td style="{cell}">No data.</td></tr>')
    out.append("</table>")
    return mark_safe("".join(out))
