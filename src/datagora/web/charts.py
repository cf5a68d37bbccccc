"""Charts drawn on the server as inline SVG (no JavaScript, no CDN): a bar chart of one series over time, with a
title and a description for assistive technology and the same numbers as a table for those who cannot see it
(WAI-ARIA ``role="img"`` with ``aria-labelledby``; WCAG 2.2 technique G73: a long description nearby)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 640
HEIGHT = 240
MARGIN_LEFT = 64
MARGIN_BOTTOM = 40
MARGIN_TOP = 12
_ids = itertools.count(1)


@dataclass(frozen=True)
class Bar:
    """One bar: its ``label`` under the axis (a date), its ``value`` and the ``text`` a person reads for it."""

    label: str
    value: float
    text: str


def bar_chart(bars: Sequence[Bar], *, title: str, description: str, value_label: Callable[[float], str]) -> Markup:
    """An SVG bar chart of ``bars`` (``width`` 100 % of its container, ``viewBox`` 640 x 240), labelled by
    ``title`` and ``description`` (``<title>`` / ``<desc>``), with the largest value marked on the axis through
    ``value_label``. An empty series gives a short sentence instead of a chart."""
    if not bars:
        return Markup("<p class='muted'>{}</p>").format(f"No data yet for “{title}”.")
    uid = next(_ids)
    top = max(b.value for b in bars) or 1.0
    plot_w, plot_h = WIDTH - MARGIN_LEFT - 8, HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    slot = plot_w / len(bars)
    bar_w = max(2.0, slot * 0.7)
    every = max(1, len(bars) // 8)  # at most ~8 labels under the axis
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        f'aria-labelledby="chart-{uid}-title chart-{uid}-desc" preserveAspectRatio="xMidYMid meet">',
        f'<title id="chart-{uid}-title">{escape(title)}</title>',
        f'<desc id="chart-{uid}-desc">{escape(description)}</desc>',
        f'<line x1="{MARGIN_LEFT}" y1="{MARGIN_TOP + plot_h}" x2="{WIDTH - 8}" y2="{MARGIN_TOP + plot_h}" '
        'class="axis" stroke="currentColor"/>',
        f'<line x1="{MARGIN_LEFT}" y1="{MARGIN_TOP}" x2="{MARGIN_LEFT}" y2="{MARGIN_TOP + plot_h}" '
        'class="axis" stroke="currentColor"/>',
        f'<text x="{MARGIN_LEFT - 6}" y="{MARGIN_TOP + 10}" text-anchor="end" font-size="12" '
        f'fill="currentColor">{escape(value_label(top))}</text>',
        f'<text x="{MARGIN_LEFT - 6}" y="{MARGIN_TOP + plot_h}" text-anchor="end" font-size="12" '
        'fill="currentColor">0</text>',
    ]
    for i, b in enumerate(bars):
        h = plot_h * (b.value / top)
        x = MARGIN_LEFT + i * slot + (slot - bar_w) / 2
        y = MARGIN_TOP + plot_h - h
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" class="bar">'
            f"<title>{escape(b.label)}: {escape(b.text)}</title></rect>"
        )
        if i % every == 0:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{HEIGHT - MARGIN_BOTTOM + 16}" text-anchor="middle" '
                f'font-size="12" fill="currentColor">{escape(b.label)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))
