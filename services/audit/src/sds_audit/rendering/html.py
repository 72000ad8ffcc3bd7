"""A ``Document`` as one self-contained HTML page: inline CSS, no scripts, no URLs.

The page must open offline and as a mail attachment, so nothing is fetched from elsewhere.
Every text is escaped.
"""

from __future__ import annotations

from html import escape
from typing import Final

from sds_audit.rendering.document import Block, Document, Facts, Para

_CSS: Final = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2330;
  margin: 0; background: #f6f7f9; }
main { max-width: 1100px; margin: 0 auto; padding: 24px; }
h1 { margin: 0 0 4px; font-size: 24px; }
h2 { margin-top: 32px; border-bottom: 2px solid #dfe3ea; padding-bottom: 6px; font-size: 19px; }
.sub { color: #5b6475; margin: 0 0 18px; }
p { line-height: 1.45; }
p.note { color: #5b6475; font-size: 13px; }
p.good { background: #e6f4ea; border-left: 6px solid #2e9d57; padding: 8px 12px; }
p.warn { background: #fde8e8; border-left: 6px solid #d23b3b; padding: 8px 12px;
  font-weight: 600; }
table { border-collapse: collapse; width: 100%; background: #fff; font-size: 13px;
  margin: 10px 0; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #e6e9ef;
  vertical-align: top; }
th { background: #eef1f5; }
table.facts th { width: 28%; background: #f6f7f9; font-weight: 600; }
footer { color: #6a7384; font-size: 12px; margin-top: 36px; }
"""


def render_html(document: Document) -> str:
    """Render ``document`` as one self-contained HTML page."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="keywords" content="{escape(", ".join(document.keywords))}">',
        f"<title>{escape(document.title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<main>",
        f"<h1>{escape(document.title)}</h1>",
        f'<p class="sub">{escape(document.subtitle)}</p>',
    ]
    for number, section in enumerate(document.sections, start=1):
        parts.append(f'<section id="s{number}">')
        parts.append(f"<h2>{escape(section.title)}</h2>")
        parts.extend(_block(block) for block in section.blocks)
        parts.append("</section>")
    parts += [f"<footer>{escape(document.footer)}</footer>", "</main>", "</body>", "</html>"]
    return "\n".join(parts) + "\n"


def _block(block: Block) -> str:
    if isinstance(block, Para):
        tone = f' class="{block.tone}"' if block.tone != "body" else ""
        return f"<p{tone}>{escape(block.text)}</p>"
    if isinstance(block, Facts):
        rows = "".join(
            f"<tr><th>{escape(label)}</th><td>{escape(value)}</td></tr>"
            for label, value in block.rows
        )
        return f'<table class="facts">{rows}</table>'
    header = "".join(f"<th>{escape(cell)}</th>" for cell in block.header)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in block.rows
    )
    return f"<table><tr>{header}</tr>{body}</table>"
