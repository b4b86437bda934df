"""Server-rendered SVG charts: no JavaScript, readable by screen readers, printable."""

from __future__ import annotations

from datetime import date
from html import escape

from django.utils.safestring import SafeString, mark_safe

# Fixed English month names: the server locale must not change what the chart says.
MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONTH_NAME = ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December")

SLOT = 30  # horizontal room per month
BAR = 20  # bar width inside the slot
PLOT_HEIGHT = 120
TOP = 18  # room for the value label above the tallest bar
BOTTOM = 34  # month label, then the year under January and under the first month
SIDE = 8


def _month(d: date) -> str:
    return f"{MONTH_NAME[d.month - 1]} {d.year}"


def _referrals(n: int) -> str:
    return f"{n} referral" if n == 1 else f"{n} referrals"


def _describe(counts: list[tuple[date, int]]) -> str:
    first, last = counts[0][0], counts[-1][0]
    total = sum(n for _, n in counts)
    span = f"{_month(first)} to {_month(last)}"
    if total == 0:
        return f"No referrals from {span}."
    peak_month, peak = max(counts, key=lambda c: (c[1], c[0]))
    return (f"{_referrals(total)} in total from {span}; the most in {_month(peak_month)} "
            f"({peak}).")


def monthly_bar_svg(
    counts: list[tuple[date, int]], *, title: str = "Referrals per month", id_prefix: str = "mbc"
) -> str:
    """An inline SVG bar chart of (first day of month, count) pairs, oldest first.

    Each bar carries its own value label and a hover title; the chart's <title> and <desc>
    (total, span, busiest month) give a screen reader the gist without reading 24 bars.
    `id_prefix` keeps the aria ids unique when a page shows more than one chart.
    """
    title_id, desc_id = f"{id_prefix}-title", f"{id_prefix}-desc"
    width = SIDE * 2 + SLOT * max(len(counts), 1)
    height = TOP + PLOT_HEIGHT + BOTTOM
    baseline = TOP + PLOT_HEIGHT
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'aria-labelledby="{escape(title_id)} {escape(desc_id)}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" preserveAspectRatio="xMinYMin meet">',
        f'<title id="{escape(title_id)}">{escape(title)}</title>',
        f'<desc id="{escape(desc_id)}">'
        f"{escape(_describe(counts) if counts else 'No data.')}</desc>",
        f'<line class="axis" x1="{SIDE}" y1="{baseline}" x2="{width - SIDE}" y2="{baseline}" '
        f'stroke="#98a2b3" stroke-width="1"/>',
    ]
    top_value = max((n for _, n in counts), default=0)
    for i, (month, n) in enumerate(counts):
        centre = SIDE + i * SLOT + SLOT / 2
        # A non-zero month never rounds down to an invisible bar.
        bar_height = round(n / top_value * PLOT_HEIGHT) if top_value else 0
        if n and bar_height < 1:
            bar_height = 1
        label = f"{MONTH_ABBR[month.month - 1]} {month.year}: {_referrals(n)}"
        parts.append(f'<g class="month" data-month="{month:%Y-%m}" data-count="{n}">')
        parts.append(f"<title>{escape(label)}</title>")
        parts.append(
            f'<rect class="bar" x="{centre - BAR / 2:g}" y="{baseline - bar_height}" '
            f'width="{BAR}" height="{bar_height}" fill="#1f5fbf"/>'
        )
        parts.append(
            f'<text class="value" x="{centre:g}" y="{baseline - bar_height - 4}" '
            f'text-anchor="middle">{n}</text>'
        )
        parts.append(
            f'<text class="label" x="{centre:g}" y="{baseline + 13}" '
            f'text-anchor="middle">{MONTH_ABBR[month.month - 1]}</text>'
        )
        if i == 0 or month.month == 1:
            parts.append(
                f'<text class="year" x="{centre:g}" y="{baseline + 27}" '
                f'text-anchor="middle">{month.year}</text>'
            )
        parts.append("</g>")
    parts.append("</svg>")
    # Every piece of text above went through escape(); the markup is ours.
    svg: SafeString = mark_safe("".join(parts))
    return svg
