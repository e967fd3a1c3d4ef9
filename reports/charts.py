"""A report's chart as SVG, drawn on the server by pygal (no script: the web page shows it as an
image, so nothing in it runs, and the labels from the database are XML-escaped by pygal).

One chart per report, of the figures a manager compares across groups: volume over time or by
group, the time distributions (median and 90th percentile) of quality, SLA attainment per unit,
tickets handled per person, and each acceptance share against its target.
"""

from __future__ import annotations

from dataclasses import dataclass

import pygal
from pygal.style import Style

from reports.model import Report
from reports.period import TIME_GROUPS

STYLE = Style(
    background="white", plot_background="white", foreground="#1f2933", foreground_strong="#1f2933", foreground_subtle="#52606d",
    colors=("#1f5fa8", "#c05621", "#2f855a", "#6b46c1"), font_family="DejaVu Sans, sans-serif",
)  # fmt: skip
MAX_LABEL = 28


@dataclass(frozen=True)
class ChartSpec:
    title: str
    figures: tuple[str, ...]
    percent: bool = False


SPECS = {
    "volume": ChartSpec("Phiếu mới và thư người dân gửi", ("tickets", "messages")),
    "quality": ChartSpec("Thời gian phản hồi đầu và giải quyết (giờ làm việc)", ("first_response_median_h", "first_response_p90_h", "resolution_median_h", "resolution_p90_h")),
    "sla": ChartSpec("Tỉ lệ đơn vị trả lời đúng hạn", ("sla_attainment",), percent=True),
    "workload": ChartSpec("Phiếu đã xử lý theo người", ("tickets_handled", "answers_sent", "decisions")),
    "acceptance": ChartSpec("Tỉ lệ đạt so với yêu cầu", ("share", "target_share"), percent=True),
    "calls": ChartSpec("Cuộc gọi đã trả lời, gọi nhỡ và bỏ máy", ("answered", "missed", "abandoned")),
}


def _short(text: object) -> str:
    label = str(text)
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"


def chart_svg(report: Report) -> str | None:
    """The report's chart as an SVG document, or None when there is nothing to draw."""
    spec = SPECS.get(report.name)
    if spec is None or not report.rows:
        return None
    over_time = report.by in TIME_GROUPS
    chart_type = pygal.Line if over_time and len(report.rows) > 1 else pygal.Bar
    chart = chart_type(
        style=STYLE, title=spec.title, js=[], disable_xml_declaration=True, width=900, height=380, x_label_rotation=0 if over_time else 30,
        show_legend=len(spec.figures) > 1, legend_at_bottom=True, print_values=False, truncate_label=-1, explicit_size=False,
        value_formatter=(lambda v: f"{v:.0%}") if spec.percent else (lambda v: f"{v:g}"),
    )  # fmt: skip
    if spec.percent:
        chart.range = (0, 1)
    headings = {c.key: c.heading for c in report.columns}
    chart.x_labels = [_short(row.get("label")) for row in report.rows]
    for figure in spec.figures:
        chart.add(headings.get(figure, figure), [row.get(figure) for row in report.rows])
    svg = chart.render(is_unicode=True)
    return str(svg)


def chart_description(report: Report) -> str:
    """The chart in words (its image's alternative text): the figures of each group."""
    spec = SPECS.get(report.name)
    if spec is None or not report.rows:
        return ""
    headings = {c.key: c.heading for c in report.columns}
    parts = []
    for row in report.rows:
        values = []
        for figure in spec.figures:
            value = row.get(figure)
            text = "–" if value is None else f"{value:.0%}" if spec.percent else f"{value:g}"
            values.append(f"{headings.get(figure, figure)} {text}")
        parts.append(f"{row.get('label')}: " + ", ".join(values))
    return f"{spec.title}. " + "; ".join(parts)
