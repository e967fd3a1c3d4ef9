"""A report as a PDF (fpdf2), set in DejaVu Sans for the Vietnamese letters (Debian's
fonts-dejavu-core, installed by scripts/install-test-servers). Text from the database is drawn
as text; nothing in it is interpreted (fpdf2 markup is off)."""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

from reports.model import SHARE_FIGURES, Report
from reports.render import cell_text

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT, BOLD = FONT_DIR / "DejaVuSans.ttf", FONT_DIR / "DejaVuSans-Bold.ttf"


class FontMissing(RuntimeError):
    pass


def _percent(value: object) -> str:
    return f"{value * 100:.1f}%" if isinstance(value, float) else cell_text(value)


def to_pdf(report: Report) -> bytes:
    if not FONT.exists() or not BOLD.exists():
        raise FontMissing(f"thiếu phông chữ DejaVu Sans ({FONT}); cài gói Debian fonts-dejavu-core")
    pdf = FPDF(orientation="landscape", format="A4")
    pdf.add_font("DejaVu", "", str(FONT))
    pdf.add_font("DejaVu", "B", str(BOLD))
    pdf.set_title(f"{report.title} {report.period.start.isoformat()} – {report.period.end.isoformat()}")
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 15)
    pdf.cell(0, 10, report.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 10)
    pdf.cell(0, 7, f"Kỳ báo cáo: {report.period.start:%d/%m/%Y} – {report.period.end:%d/%m/%Y} (giờ Việt Nam)", new_x="LMARGIN", new_y="NEXT")
    if "all_met" in report.details:
        pdf.cell(0, 7, "Kết luận: " + ("đạt tất cả chỉ tiêu" if report.details["all_met"] else "chưa đạt tất cả chỉ tiêu"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    shares = SHARE_FIGURES
    lines = report.rows + ([report.total] if report.total else [])
    with pdf.table(headings_style=FontFace(emphasis="BOLD"), markdown=False, text_align="LEFT") as table:
        heading = table.row()
        for column in report.columns:
            heading.cell(column.heading)
        for line in lines:
            row = table.row()
            for column in report.columns:
                value = line.get(column.key)
                row.cell(_percent(value) if column.key in shares else cell_text(value))
    breaches = report.details.get("breaches")
    if breaches:
        labels = {row["group"]: row["label"] for row in report.rows}
        pdf.ln(4)
        pdf.set_font("DejaVu", "B", 12)
        pdf.cell(0, 8, "Các phiếu vi phạm chỉ tiêu", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", "", 10)
        for key, references in breaches.items():
            text = ", ".join(references) if references else "không có"
            pdf.multi_cell(0, 6, f"{labels.get(key, key)}: {text}", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
