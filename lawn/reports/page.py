"""A report as a list of sections of blocks (text, bullets, tables, plots), rendered to one
HTML page (plots embedded as PNG data URIs) and to Markdown (plots as PNG files beside it).
Nothing here reads a clock: the same sections give the same bytes."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from lawn.report import RENDER_CHECK, STYLE


@dataclass
class Section:
    title: str
    blocks: list[tuple] = field(default_factory=list)

    def text(self, line: str) -> Section:
        self.blocks.append(("text", line))
        return self

    def bullets(self, lines: list[str], css: str = "", empty: str = "none") -> Section:
        self.blocks.append(("bullets", list(lines) or [empty], css))
        return self

    def table(self, frame: pd.DataFrame, empty: str = "no rows") -> Section:
        self.blocks.append(("table", frame.reset_index(drop=True), empty))
        return self

    def plot(self, name: str, png: bytes, caption: str) -> Section:
        self.blocks.append(("plot", name, png, caption))
        return self

    def code(self, text: str) -> Section:
        self.blocks.append(("code", text))
        return self

    def subtitle(self, line: str) -> Section:
        self.blocks.append(("subtitle", line))
        return self


@dataclass
class Report:
    cadence: str
    as_of: object
    start: object
    sections: list[Section]

    @property
    def title(self) -> str:
        return f"lawn {self.cadence} report: data through {self.as_of}"

    @property
    def plots(self) -> dict[str, bytes]:
        return {b[1]: b[2] for s in self.sections for b in s.blocks if b[0] == "plot"}


def fmt(value: object, digits: int = 3) -> str:
    """One cell as text: fixed digits for floats, '-' for missing, dates as ISO days."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    return str(value)


def _html_table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c).replace('_', ' '))}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(fmt(v))}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _md_cell(value: object) -> str:
    return fmt(value).replace("|", "\\|").replace("\n", " ")


def _md_table(frame: pd.DataFrame) -> list[str]:
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    return lines + [
        "| " + " | ".join(_md_cell(v) for v in row) + " |" for row in frame.itertuples(index=False)
    ]


def _b64(png: bytes) -> str:
    return base64.b64encode(png).decode()


def render_html(report: Report) -> str:
    parts = []
    for section in report.sections:
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        for block in section.blocks:
            kind = block[0]
            if kind == "text":
                parts.append(f"<p>{html.escape(block[1])}</p>")
            elif kind == "code":
                parts.append(f"<pre>{html.escape(block[1])}</pre>")
            elif kind == "subtitle":
                parts.append(f"<h3>{html.escape(block[1])}</h3>")
            elif kind == "bullets":
                css = f" class='{block[2]}'" if block[2] else ""
                parts.append("<ul>" + "".join(f"<li{css}>{html.escape(x)}</li>" for x in block[1]) + "</ul>")
            elif kind == "table":
                frame, empty = block[1], block[2]
                parts.append(_html_table(frame) if len(frame) else f"<p>{html.escape(empty)}</p>")
            elif kind == "plot":
                _, name, png, caption = block
                parts.append(
                    f'<figure><img class="plot" alt="{html.escape(name)}" src="data:image/png;base64,'
                    f'{_b64(png)}"><figcaption>{html.escape(caption)}</figcaption></figure>'
                )
    title = html.escape(report.title)
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>
<style>{STYLE}</style></head><body>
<h1>{title}</h1><p class="sub">{html.escape(report.cadence)} period {report.start} to {report.as_of};
<span id="render-check">plots not checked yet</span></p>
{chr(10).join(parts)}
{RENDER_CHECK}</body></html>
"""


def render_markdown(report: Report) -> str:
    lines = [
        f"# {report.title}",
        "",
        f"{report.cadence.capitalize()} period {report.start} to {report.as_of}.",
    ]
    for section in report.sections:
        while lines[-1] == "":
            lines.pop()
        lines += ["", f"## {section.title}", ""]
        for block in section.blocks:
            kind = block[0]
            if kind == "text":
                lines += [block[1], ""]
            elif kind == "subtitle":
                lines += [f"### {block[1]}", ""]
            elif kind == "code":
                lines += ["```diff", *block[1].splitlines(), "```", ""]
            elif kind == "bullets":
                lines += [*[f"- {x}" for x in block[1]], ""]
            elif kind == "table":
                lines += [*(_md_table(block[1]) if len(block[1]) else [block[2]]), ""]
            elif kind == "plot":
                lines += [f"![{block[3]}]({block[1]}.png)", ""]
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"


def report_folder(out_dir: Path, cadence: str, as_of: object) -> Path:
    """The dated folder a report is written to (and archived in): <out>/<cadence>/<as-of>/."""
    return out_dir / cadence / str(as_of)


def _keep_superseded(folder: Path, markdown: str, html_text: str) -> Path | None:
    """A report already archived in ``folder`` that differs from the new rendering (a mart
    rebuilt, data that arrived late) is moved to ``folder/superseded-<n>/``, not overwritten."""
    old_md, old_html = folder / "report.md", folder / "report.html"
    if not old_md.exists() or (
        old_md.read_text() == markdown and old_html.exists() and old_html.read_text() == html_text
    ):
        return None
    number = 1
    while (folder / f"superseded-{number}").exists():
        number += 1
    kept = folder / f"superseded-{number}"
    kept.mkdir()
    for path in sorted(folder.iterdir()):
        if path.is_file() and (path.suffix == ".png" or path.name in ("report.md", "report.html")):
            path.rename(kept / path.name)
    return kept


def write(report: Report, out_dir: Path) -> tuple[Path, Path, Path | None]:
    """Write report.html, report.md and the plot PNGs into the report's dated folder; returns
    their paths and where a different earlier report of the same day was kept (or None)."""
    folder = report_folder(out_dir, report.cadence, report.as_of)
    folder.mkdir(parents=True, exist_ok=True)
    markdown, html_text = render_markdown(report), render_html(report)
    kept = _keep_superseded(folder, markdown, html_text)
    for name, png in report.plots.items():
        (folder / f"{name}.png").write_bytes(png)
    html_path, md_path = folder / "report.html", folder / "report.md"
    html_path.write_text(html_text)
    md_path.write_text(markdown)
    return html_path, md_path, kept
