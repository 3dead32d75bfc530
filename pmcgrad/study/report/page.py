"""HTML building blocks of the report: figures, tables, sections and the page shell.

Everything is inline: CSS in a ``<style>`` element, figures as base64 PNG ``data:`` URIs and
formulas as MathML, so the page opens offline and requests nothing from any host.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = [
    "Figure",
    "Section",
    "escape",
    "fmt",
    "fmt_pm",
    "html_table",
    "page_html",
    "png_bytes",
]

escape = html.escape


@dataclass(frozen=True)
class Figure:
    """One embedded figure.

    ``key`` names the PNG written to the figures directory (``{key}.png``); ``caption`` is HTML
    that says what to look at and what the figure shows in this run.
    """

    key: str
    png: bytes
    alt: str
    caption: str

    def html(self) -> str:
        data = base64.b64encode(self.png).decode("ascii")
        width, height = _png_size(self.png)
        return (
            f'<figure id="fig-{escape(self.key)}">'
            f'<img src="data:image/png;base64,{data}" alt="{escape(self.alt)}" '
            f'width="{width}" height="{height}" loading="eager">'
            f"<figcaption>{self.caption}</figcaption></figure>"
        )


@dataclass
class Section:
    """A report section: a stable ``id`` (the anchor tests look for), a title and its body."""

    id: str
    title: str
    body: list[str] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    highlights: list[str] = field(default_factory=list)

    def add(self, *fragments: str) -> None:
        self.body.extend(fragments)

    def add_figure(self, figure: Figure | None) -> None:
        if figure is not None:
            self.figures.append(figure)
            self.body.append(figure.html())

    def html(self) -> str:
        return (
            f'<section id="{escape(self.id)}"><h2>{escape(self.title)}</h2>'
            + "\n".join(self.body)
            + "</section>"
        )


def png_bytes(fig, *, dpi: int = 100) -> bytes:
    """Render a matplotlib figure to PNG bytes and close it."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", facecolor="white")
    plt.close(fig)
    return buffer.getvalue()


def _png_size(png: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def fmt(value, digits: int = 3) -> str:
    """A number for prose and tables: 3 significant digits, '—' for missing."""
    if value is None:
        return "—"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    try:
        x = float(value)
    except (TypeError, ValueError):
        return escape(str(value))
    if math.isnan(x):
        return "—"
    if x == 0:
        return "0"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    if 1e3 <= abs(x) < 1e5:
        return f"{x:,.0f}"
    if 1e-3 <= abs(x) < 1e3:
        return f"{x:.{digits}g}"
    mantissa, exponent = f"{x:.{digits - 1}e}".split("e")
    return f"{mantissa}×10<sup>{int(exponent)}</sup>"


def fmt_pm(value, error) -> str:
    """``value ± error`` (the error with 2 significant digits)."""
    if error is None or not np.isfinite(error) or error == 0:
        return fmt(value)
    return f"{fmt(value)} ± {fmt(error, 2)}"


def html_table(
    frame: pd.DataFrame,
    *,
    formats: dict[str, object] | None = None,
    raw: Sequence[str] = (),
    caption: str | None = None,
    table_id: str | None = None,
    numeric: Iterable[str] | None = None,
) -> str:
    """A DataFrame as an HTML table.

    Cells are escaped and numbers go through :func:`fmt` unless the column is listed in ``raw``
    (already HTML) or has its own formatter in ``formats``.
    """
    formats = dict(formats or {})
    numeric = set(numeric or [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])])
    head = "".join(f"<th>{escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for record in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, record, strict=True):
            if column in formats:
                text = formats[column](value)
            elif column in raw:
                text = str(value)
            else:
                text = fmt(value)
            cls = ' class="num"' if column in numeric else ""
            cells.append(f"<td{cls}>{text}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    attrs = f' id="{escape(table_id)}"' if table_id else ""
    cap = f"<caption>{caption}</caption>" if caption else ""
    return (
        f'<div class="table-wrap"><table{attrs}>{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


_CSS = """
:root { color-scheme: light; --ink: #1d232b; --muted: #5b6470; --rule: #d9dee4;
        --accent: #b3261e; --bg-soft: #f5f7f9; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans",
       sans-serif; color: var(--ink); background: white; }
main { max-width: 1220px; margin: 0 auto; padding: 1.5rem 1.5rem 4rem; }
header.top { border-bottom: 3px solid var(--ink); margin-bottom: 1rem; }
h1 { font-size: 2rem; margin: 0.2rem 0 0.3rem; }
h2 { font-size: 1.45rem; margin: 2.6rem 0 0.6rem; padding-top: 0.4rem;
     border-top: 1px solid var(--rule); }
h3 { font-size: 1.12rem; margin: 1.6rem 0 0.4rem; }
p, li { max-width: 78ch; }
.subtitle { color: var(--muted); margin: 0 0 0.8rem; }
nav.toc ol { columns: 3; margin: 0.4rem 0 0; padding-left: 0; list-style: none; }
nav.toc a { color: var(--ink); }
.highlights { background: var(--bg-soft); border-left: 4px solid var(--accent);
              padding: 0.6rem 1rem; margin: 1rem 0; }
.highlights h2 { border: 0; margin: 0.2rem 0; font-size: 1.1rem; padding: 0; }
.highlights ul { margin: 0.3rem 0; padding-left: 1.2rem; }
figure { margin: 1.2rem 0 1.8rem; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid var(--rule); }
figcaption { font-size: 0.93rem; color: #2f3640; margin-top: 0.45rem; max-width: 95ch; }
figcaption b.look { color: var(--ink); }
.table-wrap { overflow-x: auto; margin: 0.8rem 0 1.4rem; }
table { border-collapse: collapse; font-size: 0.88rem; }
caption { caption-side: top; text-align: left; color: var(--muted); padding-bottom: 0.3rem; }
th, td { padding: 0.25rem 0.6rem; border-bottom: 1px solid var(--rule); vertical-align: top;
         text-align: left; }
th { background: var(--bg-soft); font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td code, p code, li code { font-size: 0.85em; background: var(--bg-soft); padding: 0 0.2em; }
#estimator-table td:nth-child(3) { min-width: 19em; }
td .note { font-size: 0.8rem; }
pre { background: var(--bg-soft); padding: 0.8rem; overflow-x: auto; font-size: 0.82rem; }
math { font-size: 1.05em; font-family: "DejaVu Math TeX Gyre", "STIX Two Math",
       "Latin Modern Math", math; }
math[display="block"] { margin: 0.5rem 0 0.7rem; }
.formulas { display: grid; grid-template-columns: max-content 1fr; gap: 0.3rem 1.4rem;
            align-items: center; margin: 0.6rem 0 1rem; }
.formulas > .label { color: var(--muted); font-size: 0.92rem; }
.bad { color: var(--accent); font-weight: 600; }
.note { color: var(--muted); font-size: 0.92rem; }
footer { margin-top: 3rem; color: var(--muted); font-size: 0.85rem; }
"""


def page_html(
    *, title: str, subtitle: str, sections: Sequence[Section], highlights: Sequence[str],
    footer: str,
) -> str:
    """The whole page: header, key results of this run, table of contents and sections."""
    toc = "".join(
        f'<li><a href="#{escape(s.id)}">{escape(s.title)}</a></li>' for s in sections
    )
    key = "".join(f"<li>{item}</li>" for item in highlights)
    key_block = (
        f'<div class="highlights" id="key-results"><h2>Key results of this run</h2><ul>{key}</ul>'
        "</div>"
        if highlights
        else ""
    )
    body = "\n".join(section.html() for section in sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        # No request may leave the page: forbid every fetch except inline data.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "img-src data:; style-src 'unsafe-inline'\">"
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body><main>"
        f'<header class="top"><h1>{escape(title)}</h1><p class="subtitle">{subtitle}</p></header>'
        f"{key_block}"
        f'<nav class="toc" aria-label="Contents"><strong>Contents</strong><ol>{toc}</ol></nav>'
        f"{body}<footer>{footer}</footer></main></body></html>\n"
    )
