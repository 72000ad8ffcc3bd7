"""A ``Document`` as a PDF (reportlab, pure Python): A4, wrapped tables, metadata set.

Greek letters and the other symbols the reports use need a Unicode font: DejaVu Sans is used
when the system has it; otherwise the built-in Helvetica, with those symbols spelled out
(``ε`` → ``epsilon``), so the PDF never shows missing glyphs.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path
from typing import Any, Final
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from sds_audit.rendering.document import Block, Document, Facts, Para

FONT_DIRS: Final = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/share/fonts/TTF"),
)
_SPELLED: Final = {
    "ε": "epsilon",
    "δ": "delta",
    "\u03c3": "sigma",
    "≈": "~",
    "≥": ">=",
    "≤": "<=",
    "→": "->",
    "…": "...",
    "·": "-",
}
_TONES: Final = {
    "note": colors.HexColor("#5b6475"),
    "good": colors.HexColor("#1e6b3a"),
    "warn": colors.HexColor("#b01c1c"),
}
_WIDTH: Final = A4[0] - 30 * mm


@functools.cache
def _fonts() -> tuple[str, str, bool]:
    """(regular, bold, unicode): DejaVu Sans when installed, else Helvetica."""
    for folder in FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            pdfmetrics.registerFont(TTFont("SdsSans", str(regular)))
            pdfmetrics.registerFont(TTFont("SdsSans-Bold", str(bold)))
            return "SdsSans", "SdsSans-Bold", True
    return "Helvetica", "Helvetica-Bold", False


def _text(value: str) -> str:
    if not _fonts()[2]:
        for symbol, words in _SPELLED.items():
            value = value.replace(symbol, words)
    return escape(value)


def _styles() -> dict[str, ParagraphStyle]:
    regular, bold, _ = _fonts()
    base = getSampleStyleSheet()
    body = ParagraphStyle(
        "sds-body", parent=base["BodyText"], fontName=regular, fontSize=9, leading=12
    )
    return {
        "title": ParagraphStyle(
            "sds-title", parent=base["Title"], fontName=bold, fontSize=16, leading=20
        ),
        "subtitle": ParagraphStyle("sds-sub", parent=body, textColor=_TONES["note"]),
        "h2": ParagraphStyle(
            "sds-h2", parent=base["Heading2"], fontName=bold, fontSize=12, leading=15
        ),
        "body": body,
        "cell": ParagraphStyle("sds-cell", parent=body, fontSize=7.5, leading=9.5),
        "head": ParagraphStyle("sds-head", parent=body, fontName=bold, fontSize=7.5, leading=9.5),
        **{
            tone: ParagraphStyle(f"sds-{tone}", parent=body, textColor=colour)
            for tone, colour in _TONES.items()
        },
    }


def render_pdf(document: Document) -> bytes:
    """Render ``document`` as PDF bytes; title, subject and keywords go in its metadata."""
    styles = _styles()
    sink = io.BytesIO()
    pdf = SimpleDocTemplate(
        sink,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=document.title,
        subject=document.subtitle,
        keywords=", ".join(document.keywords),
        author="Synthetic Data Studio",
        creator="Synthetic Data Studio audit service",
    )
    story: list[Any] = [
        Paragraph(_text(document.title), styles["title"]),
        Paragraph(_text(document.subtitle), styles["subtitle"]),
    ]
    for section in document.sections:
        story.append(Paragraph(_text(section.title), styles["h2"]))
        for block in section.blocks:
            story.append(_flowable(block, styles))
            story.append(Spacer(1, 2 * mm))
    story.append(Spacer(1, 6 * mm))
    story.append(Paragraph(_text(document.footer), styles["note"]))
    pdf.build(story)
    return sink.getvalue()


def _flowable(block: Block, styles: dict[str, ParagraphStyle]) -> Any:
    if isinstance(block, Para):
        return Paragraph(_text(block.text), styles[block.tone])
    if isinstance(block, Facts):
        rows = [
            [Paragraph(_text(label), styles["head"]), Paragraph(_text(value), styles["cell"])]
            for label, value in block.rows
        ]
        return _table(rows, widths=[0.3 * _WIDTH, 0.7 * _WIDTH], header=False)
    header = [Paragraph(_text(cell), styles["head"]) for cell in block.header]
    rows = [[Paragraph(_text(cell), styles["cell"]) for cell in row] for row in block.rows]
    weights = [
        max(4, min(40, max((len(r[i]) for r in block.rows), default=4)))
        for i in range(len(block.header))
    ]
    total = sum(weights)
    return _table([header, *rows], widths=[_WIDTH * w / total for w in weights], header=True)


def _table(rows: list[list[Any]], *, widths: list[float], header: bool) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1 if header else 0)
    style = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#d5d9e0")),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef1f5")))
    else:
        style.append(("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f6f7f9")))
    table.setStyle(TableStyle(style))
    return table
