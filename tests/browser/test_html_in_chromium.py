"""The HTML report in a real headless browser (Debian's chromium; .ci/run installs it, and without it this
skips with the reason): the page loads with no console message (its Content-Security-Policy makes any
attempt to fetch something one), Table 2 has its nine cells and the cases table nine rows once the browser has
parsed it, and a screenshot is written."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pytest_agorabench.report.html_page import write_html
from tests.unit.report.nine_cases import nine_case_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="needs Debian's chromium for a headless browser (apt-get install chromium; .ci/run does)"
)
# As root, in a closed network: no sandbox, and none of Chromium's own background connections.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0")


def _chromium(tmp_path: Path, page: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def _console(stderr: str) -> list[str]:
    """What the page said on its console (chromium logs each message as ``CONSOLE``)."""
    return [line for line in stderr.splitlines() if "CONSOLE" in line]


def test_the_report_loads_cleanly_with_nine_case_rows_and_a_screenshot(tmp_path):
    page = write_html(tmp_path / "report.html", nine_case_report())
    dom = _chromium(tmp_path, page, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert _console(dom.stderr) == []
    cases_table = re.search(r'<table class="cases">(.*?)</table>', dom.stdout, re.S).group(1)
    assert len(re.findall(r"<tr>", cases_table.split("<tbody>")[1])) == 9
    table2 = re.search(r'<table class="table2">(.*?)</table>', dom.stdout, re.S).group(1)
    assert len(re.findall(r"<tr>", table2.split("<tbody>")[1])) == 4  # three methods and the means
    assert len(re.findall(r'<td class="num[^"]*"><a href="#', table2)) == 9  # nine cells, each linked to its case
    assert "undefined" in table2 and "reference-base gap below the minimum" in table2
    shot = tmp_path / "report.png"
    took = _chromium(tmp_path, page, f"--screenshot={shot}", "--window-size=1280,2000", "--hide-scrollbars")
    assert took.returncode == 0 and shot.stat().st_size > 10_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_console_check_sees_anything_the_page_would_fetch(tmp_path):
    # The page's Content-Security-Policy blocks any load and the browser logs it: a report that grew a
    # reference to a file, a font or a CDN would fail the check above.
    page = write_html(tmp_path / "report.html", nine_case_report())
    page.write_text(page.read_text().replace("</body>", '<img src="missing.png"></body>'))
    said = _console(_chromium(tmp_path, page, "--dump-dom").stderr)
    assert any("missing.png" in line and "Content Security Policy" in line for line in said)


def test_the_console_check_sees_a_broken_page(tmp_path):
    # The check above must be able to fail: a page whose script throws is caught.
    page = tmp_path / "broken.html"
    page.write_text("<html><body><script>notDefinedAnywhere()</script></body></html>")
    assert any("notDefinedAnywhere" in line for line in _console(_chromium(tmp_path, page, "--dump-dom").stderr))
