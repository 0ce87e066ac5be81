"""Server-rendered SVG pictures (pygal): no script, no CDN, readable on paper.

pygal always writes a small configuration <script> for its optional tooltips; it is
removed here, so the pictures live under a script-src 'self' policy and print as drawn.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence

import pygal
from pygal.style import Style

ARM, SOLD = "#2563eb", "#ea580c"  # the plant's colours for the trades (as the tablet)
DANGER, OK, NEUTRAL, REPAIR = "#dc2626", "#16a34a", "#64748b", "#9333ea"
AGES = ("#a7f3d0", "#fde68a", "#fdba74", "#f87171")  # < 1 day … > 7 days

STYLE = dict(
    background="white",
    plot_background="white",
    foreground="#0f172a",
    foreground_strong="#0f172a",
    foreground_subtle="#cbd5e1",
    font_family="system-ui, 'Segoe UI', Roboto, Arial, sans-serif",
    label_font_size=13,
    major_label_font_size=14,
    legend_font_size=15,
    title_font_size=17,
    value_font_size=12,
    opacity="1",
    opacity_hover="1",
    transition="0s",
)
COMMON = dict(
    js=[],  # never a CDN
    disable_xml_declaration=True,  # inlined in the page
    width=900,
    height=360,
    legend_at_bottom=True,
    legend_at_bottom_columns=4,
    print_values=False,
    show_y_guides=True,
    margin=12,
    margin_bottom=36,  # room for the legend under the axis labels
    no_data_text="Sin datos",
    truncate_label=-1,
)


def _svg(chart: pygal.graph.graph.Graph) -> str:
    root = chart.render_tree()
    for defs in root.iter("defs"):
        for script in defs.findall("script"):
            defs.remove(script)
    return ET.tostring(root, encoding="unicode")


def _number(decimals: int, unit: str = "") -> Callable[[float], str]:
    """`12,5 PD`; counts (0 decimals) label only whole ticks (no `0,2 spools`)."""

    def format_(v: float) -> str:
        if decimals == 0 and not float(v).is_integer():
            return ""
        return f"{v:,.{decimals}f}{unit}".replace(",", " ").replace(".", ",")

    return format_


def _style(colors: Sequence[str]) -> Style:
    return Style(colors=tuple(colors), **STYLE)


def _labels(chart: pygal.graph.graph.Graph, labels: Sequence[str]) -> None:
    chart.x_labels = list(labels)
    if len(labels) > 16:  # a month of days: every other label, tilted
        chart.x_label_rotation = 40
        chart.x_labels_major_every = 2
        chart.show_minor_x_labels = False


def stacked_bars(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    colors: Sequence[str],
    *,
    unit: str = "",
    decimals: int = 1,
    horizontal: bool = False,
) -> str:
    """Bars per label, one colour per series stacked (PD per day: ARM below SOLD);
    `horizontal` for long labels (stages), the first label on top."""
    if horizontal:
        chart = pygal.HorizontalStackedBar(
            style=_style(colors), **{**COMMON, "height": 120 + 30 * max(3, len(labels))}
        )
        # pygal draws the first label at the bottom: reversed, they read top-down.
        chart.x_labels = list(reversed(labels))
        series = [(name, list(reversed(values))) for name, values in series]
    else:
        chart = pygal.StackedBar(style=_style(colors), **COMMON)
        _labels(chart, labels)
    chart.value_formatter = _number(decimals, unit)
    for name, values in series:
        chart.add(name, list(values))
    return _svg(chart)


def bars(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    colors: Sequence[str],
    *,
    line: float | None = None,
    percent: bool = False,
    decimals: int = 1,
) -> str:
    """Grouped bars; `line` draws a strong guide at that value (the repair-rate line)."""
    options = dict(COMMON)
    if line is not None:
        top = max([line * 2, *(v or 0 for _, vs in series for v in vs)])
        step = line
        options["y_labels"] = [step * i for i in range(int(top / step) + 2)]
        options["y_labels_major"] = [line]
        options["show_minor_y_labels"] = True
        options["range"] = (0, options["y_labels"][-1])
    chart = pygal.Bar(style=_style(colors), **options)
    _labels(chart, labels)
    chart.value_formatter = (
        (lambda v: f"{v:.1f} %".replace(".", ",")) if percent else _number(decimals)
    )
    for name, values in series:
        chart.add(name, list(values))
    svg = _svg(chart)
    if line is not None:  # the guide at the line, drawn strong (pygal marks it "major")
        svg = svg.replace(
            "</style>",
            f".axis.y .guides .major.guide.line{{stroke:{DANGER}!important;"
            "stroke-width:3px!important;stroke-dasharray:none!important;opacity:1!important}"
            f".axis.y .guides text.major{{fill:{DANGER};font-weight:700}}</style>",
            1,
        )
    return svg


def ranking(labels: Sequence[str], values: Sequence[float], color: str, *, name: str) -> str:
    """One horizontal bar per label, the first on top (reasons ranked)."""
    chart = pygal.HorizontalBar(
        style=_style([color]),
        **{**COMMON, "show_legend": False, "height": 80 + 36 * max(3, len(labels))},
    )
    # pygal draws the first label at the bottom: reversed, the largest reads first.
    chart.x_labels = list(reversed(labels))
    chart.print_values = True
    chart.value_formatter = _number(0)
    chart.add(name, list(reversed(values)))
    return _svg(chart)
