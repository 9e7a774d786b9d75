"""The report's pages, the HTML report and the Markdown Table 2, written from a JSON report's dict for a
session and for ``agorabench report``."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def write_pages(report: dict[str, Any], html: Path | None, md: Path | None) -> list[tuple[str, Path | str]]:
    """(what, the path written or why not) for each page asked for. The pages are views of a report that is
    already written: one that fails (a full disk, an odd value a hook put in the report) is said in one
    line, never a traceback that hides the run's summary."""
    from jinja2 import TemplateError

    from pytest_agorabench.report.html_page import write_html
    from pytest_agorabench.report.markdown_table import write_markdown

    pages: list[tuple[str, Path | str]] = []
    for what, target, write in (("HTML report", html, write_html), ("Markdown Table 2", md, write_markdown)):
        if target is None:
            continue
        try:
            pages.append((what, write(target, report)))
        except OSError as exc:
            pages.append((what, f"not written: cannot write {target}: {exc.strerror or exc}"))
        except (KeyError, TypeError, ValueError, AttributeError, TemplateError) as exc:
            pages.append((what, f"not written: the report holds a value it cannot show ({type(exc).__name__}: {exc})"))
    return pages
